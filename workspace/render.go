package workspace

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/databricks/databricks-sdk-go/service/sql"
	"gopkg.in/yaml.v3"

	"github.com/dbmon/dbmon/generator/spec"
)

// Placeholder is the value of a bundle field import could not guess.
const Placeholder = "CHANGE_ME"

func str(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }

func quoted(v string) *yaml.Node {
	n := str(v)
	n.Style = yaml.DoubleQuotedStyle
	return n
}

func integer(v int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(v)}
}

func withComment(n *yaml.Node, c string) *yaml.Node {
	n.LineComment = c
	return n
}

func mapping(flow bool, kv ...*yaml.Node) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: kv}
	if flow {
		n.Style = yaml.FlowStyle
	}
	return n
}

func sequence(flow bool, items ...*yaml.Node) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: items}
	if flow {
		n.Style = yaml.FlowStyle
	}
	return n
}

func strs(quote bool, values ...string) []*yaml.Node {
	out := make([]*yaml.Node, len(values))
	for i, v := range values {
		if quote {
			out[i] = quoted(v)
		} else {
			out[i] = str(v)
		}
	}
	return out
}

func stringMap(m map[string]string) *yaml.Node {
	n := mapping(true)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		n.Content = append(n.Content, str(k), str(m[k]))
	}
	return n
}

// teamNode renders a proposed team as a sequence item.
func teamNode(t TeamProposal) *yaml.Node {
	match := mapping(true)
	if len(t.Match.Tags) > 0 {
		match.Content = append(match.Content, str("tags"), stringMap(t.Match.Tags))
	}
	if len(t.Match.RunAs) > 0 {
		match.Content = append(match.Content, str("run_as"), sequence(true, strs(false, t.Match.RunAs...)...))
	}
	noun := "jobs"
	if len(t.Jobs) == 1 {
		noun = "job"
	}
	how := "tag"
	if t.ByCreator {
		how = "creator"
	}
	return mapping(false,
		str("name"), withComment(str(t.Name), fmt.Sprintf("by %s: %d %s (%s)", how, len(t.Jobs), noun, quoteList(t.Jobs, 3))),
		str("match"), match)
}

// slaNode renders a proposed SLA as a sequence item, each number with the
// comment that explains it.
func slaNode(s SLAProposal) *yaml.Node {
	sel := mapping(true)
	if len(s.Selector.Names) > 0 {
		sel.Content = append(sel.Content, str("names"), sequence(true, strs(false, s.Selector.Names...)...))
	} else {
		sel.Content = append(sel.Content, str("job_ids"), sequence(true, strs(true, s.Selector.JobIDs...)...))
	}
	n := mapping(false, str("name"), str(s.Name), str("jobs"), sel)
	sel.LineComment = s.Comments["jobs"]
	if s.Deadline != "" {
		n.Content = append(n.Content, str("deadline"), withComment(quoted(s.Deadline), s.Comments["deadline"]))
		if len(s.Days) > 0 {
			n.Content = append(n.Content, str("days"), withComment(sequence(true, strs(false, s.Days...)...), s.Comments["days"]))
		}
	}
	n.Content = append(n.Content, str("max_duration"), withComment(str(s.MaxDuration), s.Comments["max_duration"]))
	if s.MinSuccessRate > 0 {
		n.Content = append(n.Content, str("min_success_rate"), withComment(integer(s.MinSuccessRate), s.Comments["min_success_rate"]))
		if s.WindowDays > 0 {
			n.Content = append(n.Content, str("window_days"), withComment(integer(s.WindowDays), "the days of history the rate came from"))
		}
	}
	n.HeadComment = s.Note
	return n
}

func teamsComment(p Proposal, total int) string {
	var b strings.Builder
	creators := false
	for _, t := range p.Teams {
		creators = creators || t.ByCreator
	}
	if p.TagKey != "" {
		fmt.Fprintf(&b, "Teams proposed by dbmon import from the job tag %q, set on %d of %d jobs: one team per value.", p.TagKey, p.TagJobs, total)
		if creators {
			b.WriteString("\nJobs without the tag are matched by creator (run_as matches a job's run_as or creator).")
		}
	} else {
		b.WriteString("Teams proposed by dbmon import from job creators: no job has an owner tag (" + strings.Join(OwnerTagKeys[:5], ", ") + ", ...).")
	}
	b.WriteString("\nThe first team whose match holds owns a job. Rename them, merge them, add notify and monthly_budget.")
	return b.String()
}

func slasComment(p Proposal, days int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "SLAs proposed by dbmon import for scheduled jobs with at least %d successful runs in the\nlast %d days. The comments say where each number came from; change them to what you\nreally promise.", MinRuns, days)
	return b.String()
}

func skippedComment(p Proposal) string {
	if len(p.Skipped) == 0 {
		return ""
	}
	lines := []string{"No SLA proposed for:"}
	for _, s := range p.Skipped {
		lines = append(lines, "  "+s)
	}
	return strings.Join(lines, "\n")
}

// encode renders a node as YAML with the spec's two-space indentation.
func encode(n *yaml.Node) []byte {
	var b bytes.Buffer
	e := yaml.NewEncoder(&b)
	e.SetIndent(2)
	if err := e.Encode(n); err != nil {
		panic(fmt.Sprintf("encoding generated YAML: %v", err)) // only built nodes are encoded
	}
	e.Close()
	return b.Bytes()
}

// section renders one top-level key with its value.
func section(key string, head string, value *yaml.Node) []byte {
	k := str(key)
	k.HeadComment = head
	return encode(mapping(false, k, value))
}

// pickWarehouse prefers a running serverless warehouse, then any serverless,
// then any running one, then the first by name.
func pickWarehouse(whs []sql.EndpointInfo) (string, int) {
	var usable []sql.EndpointInfo
	for _, w := range whs {
		if w.State != sql.StateDeleted && w.State != sql.StateDeleting && w.Name != "" {
			usable = append(usable, w)
		}
	}
	if len(usable) == 0 {
		return "", 0
	}
	score := func(w sql.EndpointInfo) int {
		s := 0
		if w.EnableServerlessCompute {
			s += 2
		}
		if w.State == sql.StateRunning {
			s++
		}
		return s
	}
	sort.SliceStable(usable, func(i, k int) bool {
		if score(usable[i]) != score(usable[k]) {
			return score(usable[i]) > score(usable[k])
		}
		return usable[i].Name < usable[k].Name
	})
	return usable[0].Name, len(usable)
}

func bundleNode(inv *Inventory, tz string) *yaml.Node {
	cat := inv.DefaultCatalog
	catComment := "EDIT: an existing Unity Catalog catalog for the monitoring tables (this is the workspace's default catalog)"
	switch cat {
	case "", "hive_metastore", "system", "samples":
		cat = Placeholder
		catComment = "EDIT: an existing Unity Catalog catalog for the monitoring tables"
	}
	wh, n := pickWarehouse(inv.Warehouses)
	whComment := fmt.Sprintf("EDIT: SQL warehouse by name, for dashboards and alerts (1 of %d visible)", n)
	if wh == "" {
		wh = Placeholder
		whComment = "EDIT: the name of a SQL warehouse (none was visible), or use warehouse_id"
	}
	tzComment := "the time zone of most job schedules"
	if tz == "UTC" {
		tzComment = "IANA time zone for deadlines and daily rollups"
	}
	return mapping(false,
		str("name"), withComment(str("job-monitoring"), "EDIT: bundle name: lowercase letters, digits, _ and -"),
		str("catalog"), withComment(str(cat), catComment),
		str("schema"), withComment(str("job_monitoring"), "created by the bundle"),
		str("warehouse"), withComment(str(wh), whComment),
		str("timezone"), withComment(str(tz), tzComment),
	)
}

// freshSpec renders a new spec from the proposal.
func freshSpec(inv *Inventory, p Proposal) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# dbmon spec proposed by `dbmon import` from %s:\n", inv.Host)
	fmt.Fprintf(&b, "# %d jobs and %d finished runs of the last %d days.\n", len(inv.Jobs), inv.RunCount, inv.Days)
	b.WriteString("# Lines marked EDIT are guesses. Review the teams and SLAs, then run\n")
	b.WriteString("# `dbmon validate` and `dbmon doctor`. Reference: `dbmon schema`.\n")
	b.Write(encode(mapping(false, str("version"), integer(1))))
	b.WriteString("\n")
	b.Write(section("bundle", "", bundleNode(inv, p.Timezone)))
	if len(p.Teams) > 0 {
		b.WriteString("\n")
		b.Write(section("teams", teamsComment(p, len(inv.Jobs)), teamItems(p)))
	}
	if len(p.SLAs) > 0 {
		b.WriteString("\n")
		head := slasComment(p, inv.Days)
		if s := skippedComment(p); s != "" {
			head += "\n" + s
		}
		b.Write(section("slas", head, slaItems(p)))
	} else if s := skippedComment(p); s != "" {
		b.WriteString("\n")
		for _, line := range strings.Split(s, "\n") {
			b.WriteString("# " + line + "\n")
		}
	}
	return b.Bytes()
}

func teamItems(p Proposal) *yaml.Node {
	seq := sequence(false)
	for _, t := range p.Teams {
		seq.Content = append(seq.Content, teamNode(t))
	}
	return seq
}

func slaItems(p Proposal) *yaml.Node {
	seq := sequence(false)
	for _, s := range p.SLAs {
		seq.Content = append(seq.Content, slaNode(s))
	}
	return seq
}

// mergeSpec adds the proposal's teams and SLAs to an existing spec. The
// user's text is kept byte for byte: new items are inserted after the last
// item of an existing block list (at its indentation), and a missing list
// is appended at the end of the file. The result is checked against the
// same edit made on yaml.v3 nodes; when the text edit cannot be made safely
// (a flow-style or empty list, an unusual layout), the node-edited document
// is written instead, which keeps comments and order but not blank lines.
func mergeSpec(text []byte, inv *Inventory, p Proposal) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the existing spec is not a mapping")
	}
	root := doc.Content[0]
	type addition struct {
		key   string
		head  string
		items *yaml.Node
	}
	var adds []addition
	if len(p.Teams) > 0 {
		adds = append(adds, addition{"teams", teamsComment(p, p.Considered), teamItems(p)})
	}
	if len(p.SLAs) > 0 {
		adds = append(adds, addition{"slas", slasComment(p, inv.Days), slaItems(p)})
	}
	if len(adds) == 0 {
		return text, nil
	}

	crlf := bytes.Contains(text, []byte("\r\n"))
	lines := strings.SplitAfter(string(text), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	type insert struct {
		after int // insert after this many lines
		text  string
	}
	var inserts []insert
	var tail []string
	spliceOK := true
	for _, a := range adds {
		val := lookup(root, a.key)
		switch {
		case val == nil:
			tail = append(tail, string(section(a.key, a.head, a.items)))
		case val.Kind == yaml.SequenceNode && val.Style&yaml.FlowStyle == 0 && len(val.Content) > 0:
			first := val.Content[0]
			if first.Line < 1 || first.Line > len(lines) || first.Column < 2 {
				spliceOK = false
				break
			}
			dash := strings.LastIndex(lines[first.Line-1][:min(first.Column-1, len(lines[first.Line-1]))], "-")
			if dash < 0 {
				spliceOK = false
				break
			}
			var b strings.Builder
			for _, l := range strings.SplitAfter(string(encode(a.items)), "\n") {
				if strings.TrimSpace(l) != "" {
					b.WriteString(strings.Repeat(" ", dash) + l)
				}
			}
			inserts = append(inserts, insert{lastLine(val), b.String()})
		default:
			spliceOK = false
		}
	}

	// The same edit on nodes: the reference for the text edit, and the
	// fallback.
	for _, a := range adds {
		val := lookup(root, a.key)
		if val != nil && (val.Kind == yaml.SequenceNode && val.Style&yaml.FlowStyle != 0 || val.Tag == "!!null") {
			// A block list's line comment would be written after its
			// first item; keep it on the key's line.
			key := lookupKey(root, a.key)
			key.LineComment = strings.TrimSpace(key.LineComment + " " + val.LineComment)
			val.LineComment = ""
		}
		if val != nil && val.Kind == yaml.SequenceNode {
			val.Style &^= yaml.FlowStyle // block style: the new items carry comments
			val.Content = append(val.Content, a.items.Content...)
		} else if val != nil && val.Kind == yaml.ScalarNode && val.Tag == "!!null" {
			*val = *a.items
		} else if val == nil {
			k := str(a.key)
			k.HeadComment = a.head
			root.Content = append(root.Content, k, a.items)
		} else {
			return nil, fmt.Errorf("%s in the existing spec is not a list", a.key)
		}
	}
	nodeText := encode(&doc)

	if spliceOK {
		sort.SliceStable(inserts, func(i, k int) bool { return inserts[i].after > inserts[k].after })
		for _, in := range inserts {
			if in.after > len(lines) {
				spliceOK = false
				break
			}
			if in.after > 0 && !strings.HasSuffix(lines[in.after-1], "\n") {
				lines[in.after-1] += "\n"
			}
			lines = append(lines[:in.after], append([]string{in.text}, lines[in.after:]...)...)
		}
	}
	if spliceOK {
		out := strings.Join(lines, "")
		if len(tail) > 0 {
			if out != "" && !strings.HasSuffix(out, "\n") {
				out += "\n"
			}
			for _, t := range tail {
				out += "\n" + t
			}
		}
		if crlf {
			out = strings.ReplaceAll(strings.ReplaceAll(out, "\r\n", "\n"), "\n", "\r\n")
		}
		if sameSpec([]byte(out), nodeText) {
			return []byte(out), nil
		}
	}
	return nodeText, nil
}

// lookup returns the value of key in a mapping node, or nil.
func lookup(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// lookupKey returns the key node of key in a mapping node, or nil.
func lookupKey(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i]
		}
	}
	return nil
}

// lastLine is the last line (1-based) holding any content of n.
func lastLine(n *yaml.Node) int {
	last := n.Line
	if n.Kind == yaml.ScalarNode {
		extra := strings.Count(strings.TrimRight(n.Value, "\n"), "\n")
		if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			extra++ // the content starts on the line after the indicator
		}
		last += extra
	}
	for _, c := range n.Content {
		last = max(last, lastLine(c))
	}
	return last
}

// sameSpec reports whether two documents decode to the same spec.
func sameSpec(a, b []byte) bool {
	var sa, sb spec.Spec
	if yaml.Unmarshal(a, &sa) != nil || yaml.Unmarshal(b, &sb) != nil {
		return false
	}
	return reflect.DeepEqual(sa, sb)
}

package spec

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/dbmon/dbmon/generator/diag"
)

// MaxSize is the largest spec accepted. Real specs are a few kilobytes; the
// bound keeps a runaway file (or a YAML alias bomb) from exhausting memory.
const MaxSize = 1 << 20

// maxNodes bounds the number of values after alias expansion, and maxDepth
// their nesting (a real spec nests six levels deep); together they keep the
// cost of a hostile document linear and small.
const (
	maxNodes = 50_000
	maxDepth = 32
)

// Load parses, schema-checks and rule-checks a spec. file is the name used in
// diagnostics. On any problem it returns a nil Spec and every diagnostic.
func Load(file string, data []byte) (*Spec, diag.List) {
	return LoadWith(file, data)
}

// Problem is a finding of an extra check: the spec path (keys and indexes,
// e.g. "kpis", 0, "value") and a message for the person who wrote it.
type Problem struct {
	Path    []any
	Message string
}

// Check is an extra semantic check that needs more than the spec itself
// (such as running a KPI expression on the twin). It runs only on a spec that
// passed every other check.
type Check func(*Spec) ([]Problem, error)

// LoadWith is Load followed by extra checks, whose problems are reported at
// their path's position like every other diagnostic. A check's error is not
// a problem of the spec; it is returned as a diagnostic at line 1.
func LoadWith(file string, data []byte, checks ...Check) (*Spec, diag.List) {
	l := &loader{file: file, nodes: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	root, ok := l.parse(data)
	if !ok {
		return nil, l.diags.Sorted()
	}
	value := l.toJSON(root, nil)
	if len(l.diags) > 0 {
		return nil, l.diags.Sorted()
	}
	l.validateSchema(value)
	schemaOK := len(l.diags) == 0
	l.checkInterpolation(value, nil)

	var s Spec
	if err := root.Decode(&s); err != nil && schemaOK {
		// The schema accepted the document, so a decode failure is a bug in
		// the agreement between schema and types; still report it usefully.
		l.errorAt(nil, "", "cannot decode spec: %v", err)
	}
	l.checkRules(&s)
	if len(l.diags) > 0 {
		return nil, l.diags.Sorted()
	}
	for _, check := range checks {
		problems, err := check(&s)
		if err != nil {
			l.errorAt(nil, "", "%v", err)
		}
		for _, p := range problems {
			l.fail(ptr(p.Path...), "%s", p.Message)
		}
	}
	if len(l.diags) > 0 {
		return nil, l.diags.Sorted()
	}
	return &s, nil
}

type loader struct {
	file  string
	diags diag.List
	// nodes maps a JSON pointer ("/teams/0/name") to the value's node and
	// keys maps it to the key node of a mapping entry.
	nodes map[string]*yaml.Node
	keys  map[string]*yaml.Node
	count int
	// expanding holds the anchors whose aliases are being expanded, to
	// reject an alias inside its own anchor (infinite document).
	expanding map[*yaml.Node]bool
	// keyReported holds the keys (JSON pointers) already reported as
	// invalid, so a key two schema errors name is reported once.
	keyReported map[string]bool
}

func (l *loader) errorAt(n *yaml.Node, path string, format string, args ...any) {
	d := diag.Diagnostic{File: l.file, Path: Printable(path), Message: Printable(fmt.Sprintf(format, args...))}
	if n != nil {
		d.Line, d.Col = n.Line, n.Column
	} else {
		d.Line, d.Col = 1, 1
	}
	l.diags.Add(d)
}

// Printable escapes what a diagnostic quotes from the spec so that it stays
// one line of plain text: line breaks, control characters other than tab
// (an escape sequence would drive the terminal) and the bidirectional
// controls that reorder what a terminal shows become \u escapes.
func Printable(s string) string {
	if !strings.ContainsFunc(s, unprintable) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unprintable(r) {
			fmt.Fprintf(&b, "\\u%04X", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unprintable(r rune) bool {
	return r < 0x20 && r != '\t' || r == 0x7f || r >= 0x80 && r <= 0x9f || r == 0x2028 || r == 0x2029 ||
		r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f || r == 0x061c
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse checks the raw bytes and returns the document's root node.
func (l *loader) parse(data []byte) (*yaml.Node, bool) {
	if len(data) > MaxSize {
		l.errorAt(nil, "", "file is %s; a spec may be at most %s", humanSize(len(data)), humanSize(MaxSize))
		return nil, false
	}
	for i, line := range bytes.Split(data, []byte("\n")) {
		indent := line[:len(line)-len(bytes.TrimLeft(line, " \t"))]
		if j := bytes.IndexByte(indent, '\t'); j >= 0 {
			l.diags.Add(diag.Diagnostic{File: l.file, Line: i + 1, Col: j + 1,
				Message: "tab character in indentation; YAML indents with spaces"})
		}
	}
	l.checkCharacters(data)
	if len(l.diags) > 0 {
		return nil, false
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err.Error() == "EOF" {
			l.errorAt(nil, "", "file is empty; a spec needs at least version and bundle")
			return nil, false
		}
		l.yamlError(err, data)
		return nil, false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		l.errorAt(&extra, "", "more than one YAML document; a spec is a single document")
		return nil, false
	}
	if len(doc.Content) == 0 || (doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null") {
		l.errorAt(nil, "", "file is empty; a spec needs at least version and bundle")
		return nil, false
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		l.errorAt(root, "", "a spec must be a mapping of keys to values, not %s", kindName(root))
		return nil, false
	}
	return root, true
}

// checkCharacters reports bytes that are not UTF-8 and characters YAML
// does not allow in a file (C0 and C1 controls other than tab and line
// breaks, DEL, surrogates, U+FFFE and U+FFFF), each at its line and
// column: the YAML parser says only "control characters are not allowed",
// without a position. Inside double quotes such a character is written as
// an escape (\x07, \u0085), which the parser accepts.
func (l *loader) checkCharacters(data []byte) {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			l.diags.Add(diag.Diagnostic{File: l.file, Line: line, Col: col,
				Message: fmt.Sprintf("byte 0x%02X is not UTF-8; save the spec as UTF-8", data[i])})
			return
		case r == '\n':
			line, col = line+1, 0
		case r == '\t' || r == '\r' || r == 0xFEFF && i == 0:
		case r < 0x20 || r == 0x7F || r >= 0x80 && r <= 0x9F && r != 0x85 || r == 0xFFFE || r == 0xFFFF || r == 0xFEFF:
			l.diags.Add(diag.Diagnostic{File: l.file, Line: line, Col: col,
				Message: fmt.Sprintf("control character U+%04X is not allowed in YAML; inside double quotes write it as \\u%04X", r, r)})
			return
		}
		i += n
		col++
	}
}

// yamlError turns a yaml.v3 syntax error into a positioned diagnostic.
func (l *loader) yamlError(err error, data []byte) {
	msg := err.Error()
	for _, part := range strings.Split(msg, "\n") {
		part = strings.TrimSpace(part)
		if m := yamlLine.FindStringSubmatch(part); m != nil {
			line, _ := strconv.Atoi(m[1])
			msg := m[2]
			// yaml.v3 reports parser errors (not scanner errors) with a
			// 0-based line number; its parser messages all read "did not
			// find expected ...".
			if strings.HasPrefix(msg, "did not find expected") {
				line++
			}
			if strings.Contains(msg, "unexpected end of stream") {
				msg += " (an unclosed quote or bracket?)"
			}
			if lines := bytes.Split(data, []byte("\n")); line >= 1 && line <= len(lines) && utf8.RuneCount(lines[line-1]) > 1024 {
				msg += " (YAML allows a mapping key of at most 1024 characters; write a longer value as a value, not a key)"
			}
			l.diags.Add(diag.Diagnostic{File: l.file, Line: line, Col: 1, Message: "YAML syntax error: " + msg})
			return
		}
	}
	l.errorAt(nil, "", "YAML syntax error: %s", strings.TrimPrefix(msg, "yaml: "))
}

func humanSize(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!str":
			return "a string"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		case "!!null":
			return "null"
		}
		return "a scalar"
	}
	return "an alias"
}

// toJSON converts a node into the values encoding/json would produce, so the
// JSON Schema validator sees exactly what an editor's validator sees, and
// records every node by JSON pointer.
func (l *loader) toJSON(n *yaml.Node, ptr []string) any {
	l.count++
	if l.count > maxNodes {
		if l.count == maxNodes+1 {
			l.errorAt(n, "", "document expands to more than %d values (alias bomb?)", maxNodes)
		}
		return nil
	}
	if len(ptr) > maxDepth {
		l.errorAt(n, "", "document nests deeper than %d levels", maxDepth)
		l.count = maxNodes + 1 // stop expanding; one report is enough
		return nil
	}
	l.nodes[pointer(ptr)] = n
	switch n.Kind {
	case yaml.AliasNode:
		if l.expanding[n.Alias] {
			l.errorAt(n, PathString(ptr), "alias *%s refers to its own anchor", n.Value)
			return nil
		}
		if l.expanding == nil {
			l.expanding = map[*yaml.Node]bool{}
		}
		l.expanding[n.Alias] = true
		v := l.toJSON(n.Alias, ptr)
		delete(l.expanding, n.Alias)
		l.nodes[pointer(ptr)] = n
		return v
	case yaml.MappingNode:
		obj := map[string]any{}
		first := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" {
				l.errorAt(k, PathString(ptr), "merge keys (<<) are not supported; write the keys out")
				continue
			}
			if k.Kind != yaml.ScalarNode {
				l.errorAt(k, PathString(ptr), "keys must be plain strings, not %s", kindName(k))
				continue
			}
			if prev, dup := first[k.Value]; dup {
				l.errorAt(k, PathString(append(ptr, k.Value)), "duplicate key `%s` (first defined at line %d)", k.Value, prev.Line)
				continue
			}
			first[k.Value] = k
			child := append(append([]string(nil), ptr...), k.Value)
			l.keys[pointer(child)] = k
			obj[k.Value] = l.toJSON(v, child)
		}
		return obj
	case yaml.SequenceNode:
		arr := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			arr = append(arr, l.toJSON(c, append(append([]string(nil), ptr...), strconv.Itoa(i))))
		}
		return arr
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err == nil {
				return b
			}
		case "!!int":
			var i int64
			if err := n.Decode(&i); err == nil {
				return json.Number(strconv.FormatInt(i, 10))
			}
			fallthrough // beyond int64: treat as a float
		case "!!float":
			// Re-format rather than pass the literal through: the validator
			// parses numbers exactly, and a literal such as 1e-99999999 would
			// make it build a rational with a hundred-million-digit power.
			var f float64
			if err := n.Decode(&f); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
			}
		}
		return n.Value
	}
	return nil
}

// pointer renders path segments as a JSON pointer.
// pointerEscape escapes a JSON Pointer segment (RFC 6901). It is built once:
// a replacer per call made loading a 500-team spec spend a second here.
var pointerEscape = strings.NewReplacer("~", "~0", "/", "~1")

func pointer(segs []string) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(pointerEscape.Replace(s))
	}
	return b.String()
}

// PathString renders path segments the way users write them:
// teams[1].match.job_name.
func PathString(segs []string) string {
	var b strings.Builder
	for _, s := range segs {
		if _, err := strconv.Atoi(s); err == nil {
			b.WriteString("[" + s + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

// node returns the node at path, or the nearest ancestor that exists.
func (l *loader) node(segs []string) *yaml.Node {
	for i := len(segs); i >= 0; i-- {
		if n, ok := l.nodes[pointer(segs[:i])]; ok {
			return n
		}
	}
	return nil
}

// keyNode returns the key node of the mapping entry at path, falling back to
// the value node.
func (l *loader) keyNode(segs []string) *yaml.Node {
	if k, ok := l.keys[pointer(segs)]; ok {
		return k
	}
	return l.node(segs)
}

// blockAware returns the node to report a problem with the value at segs:
// the value itself, except that a block-style mapping or list (which starts
// on the line after its key) is reported at its key.
func (l *loader) blockAware(segs []string) *yaml.Node {
	n := l.node(segs)
	if n != nil && (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) && n.Style&yaml.FlowStyle == 0 {
		if k, ok := l.keys[pointer(segs)]; ok {
			return k
		}
	}
	return n
}

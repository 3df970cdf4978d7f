package spec_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/dbmon/dbmon/generator/spec"
	"github.com/dbmon/dbmon/generator/spec/hostile"
)

// schemaStringFields lists every place of the spec's JSON Schema that holds
// a string a person types: each string-typed property, list item, mapping
// value and mapping key, in the corpus's path notation. Enumerations and
// constants are choices, not text, and are left out.
func schemaStringFields(t *testing.T) []string {
	t.Helper()
	var root map[string]any
	if err := json.Unmarshal(spec.SchemaJSON, &root); err != nil {
		t.Fatal(err)
	}
	defs, _ := root["$defs"].(map[string]any)
	var out []string
	var walk func(n map[string]any, path string, depth int)
	walk = func(n map[string]any, path string, depth int) {
		if depth > 40 {
			t.Fatalf("schema recursion at %s", path)
		}
		if ref, ok := n["$ref"].(string); ok {
			merged := map[string]any{}
			for k, v := range defs[ref[strings.LastIndex(ref, "/")+1:]].(map[string]any) {
				merged[k] = v
			}
			for k, v := range n {
				if k != "$ref" {
					merged[k] = v
				}
			}
			n = merged
		}
		if _, ok := n["if"]; ok {
			for _, branch := range []string{"then", "else"} {
				b, _ := n[branch].(map[string]any)
				walk(b, path, depth+1)
			}
			return
		}
		_, enum := n["enum"]
		_, constant := n["const"]
		if enum || constant {
			return
		}
		switch n["type"] {
		case "string":
			out = append(out, path)
		case "array":
			items, _ := n["items"].(map[string]any)
			walk(items, path+"[]", depth+1)
		case "object":
			props, _ := n["properties"].(map[string]any)
			for k, v := range props {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(v.(map[string]any), p, depth+1)
			}
			if ap, ok := n["additionalProperties"].(map[string]any); ok {
				key := map[string]any{"type": "string"}
				if pn, ok := n["propertyNames"].(map[string]any); ok {
					for k, v := range pn {
						key[k] = v
					}
				}
				walk(key, path+".<key>", depth+1)
				walk(ap, path+".*", depth+1)
			}
		}
	}
	walk(root, "", 0)
	sort.Strings(out)
	return out
}

func corpus(t *testing.T) hostile.Corpus {
	t.Helper()
	c, err := hostile.Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestHostileCorpusCoversSchema: every string field of the spec's schema
// has a corpus field (so a field added to the schema without one fails
// here), the corpus names no field the schema lacks, and each placeholder
// of the base specs stands where its path says.
func TestHostileCorpusCoversSchema(t *testing.T) {
	c := corpus(t)
	fields := c.Fields
	inCorpus := map[string]bool{}
	for _, f := range fields {
		inCorpus[f.Path] = true
	}
	inSchema := map[string]bool{}
	for _, p := range schemaStringFields(t) {
		inSchema[p] = true
		if !inCorpus[p] {
			t.Errorf("string field %s of dbmon.schema.json has no hostile corpus case: add it to generator/spec/hostile/testdata/fields.json and a \"%%%%%s%%%%\" placeholder to a base spec there", p, p)
		}
	}
	for p := range inCorpus {
		if !inSchema[p] {
			t.Errorf("corpus field %s is not a string field of dbmon.schema.json", p)
		}
	}
	for _, b := range c.Bases {
		data, pos, err := hostile.Build(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, diags := spec.Load(b, data); len(diags) > 0 {
			t.Errorf("base spec %s with benign values is invalid:\n%s", b, diags)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		found := map[string][]hostile.Pos{}
		schemaPaths(doc.Content[0], "", found)
		for p, want := range pos {
			if !slices.Contains(found[p], want) {
				t.Errorf("%s: placeholder %s is at %v, but the values with that path are at %v", b, p, want, found[p])
			}
		}
	}
}

// schemaPaths records the position of every scalar (and mapping key) of
// the document under its schema-shaped path. Mappings whose keys are free
// (targets, tags, destinations, sku_discounts) use "*" and "<key>".
func schemaPaths(n *yaml.Node, path string, out map[string][]hostile.Pos) {
	free := strings.HasSuffix(path, "targets") || strings.HasSuffix(path, "tags") ||
		path == "destinations" || strings.HasSuffix(path, "sku_discounts")
	switch n.Kind {
	case yaml.ScalarNode:
		out[path] = append(out[path], hostile.Pos{Line: n.Line, Col: n.Column})
	case yaml.SequenceNode:
		for _, c := range n.Content {
			schemaPaths(c, path+"[]", out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			child := k.Value
			if free {
				out[path+".<key>"] = append(out[path+".<key>"], hostile.Pos{Line: k.Line, Col: k.Column})
				child = "*"
			}
			if path != "" {
				child = path + "." + child
			}
			schemaPaths(v, child, out)
		}
	}
}

// outcome is what the loader made of one value in one field.
type outcome struct {
	accepted bool
	message  string // the diagnostic at the value, for the table
}

// TestHostileLoad puts every corpus value into every string field and
// loads the spec: it is accepted, or refused by a diagnostic at the value's
// own line and column, never an internal error, never a panic. A value with
// ${ is refused wherever it would reach the pipeline's SQL or the bundle's
// YAML. The outcomes are kept in hostile/testdata/outcomes.txt, so a change
// in what the spec admits shows in review (DBMON_UPDATE=1 refreshes it).
func TestHostileLoad(t *testing.T) {
	c := corpus(t)
	values, fields := c.Values, c.Fields
	var table strings.Builder
	table.WriteString("# What the loader makes of each hostile value in each string field\n# (generated by TestHostileLoad; DBMON_UPDATE=1 go test ./generator/spec -run TestHostileLoad refreshes it).\n")
	for _, f := range fields {
		fmt.Fprintf(&table, "\n%s\n", f.Path)
		for _, v := range values {
			o := loadOne(t, f, v)
			if o.accepted {
				fmt.Fprintf(&table, "  %-22s ok\n", v.Name)
			} else {
				fmt.Fprintf(&table, "  %-22s %s\n", v.Name, o.message)
			}
			reaches := len(f.SQL) > 0 || len(f.YAML) > 0
			if strings.Contains(v.Text, "${") && reaches && o.accepted {
				t.Errorf("%s = %s: accepted a ${...} that the pipeline or the CLI would substitute", f.Path, v.Name)
			}
		}
	}
	const golden = "hostile/testdata/outcomes.txt"
	if os.Getenv("DBMON_UPDATE") != "" {
		if err := os.WriteFile(golden, []byte(table.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (DBMON_UPDATE=1 writes it)", err)
	}
	if string(want) != table.String() {
		t.Errorf("the hostile outcomes changed; review and refresh with DBMON_UPDATE=1 go test ./generator/spec -run TestHostileLoad:\n%s", lineDiff(string(want), table.String()))
	}
}

func loadOne(t *testing.T, f hostile.Field, v hostile.Value) outcome {
	t.Helper()
	data, pos, err := hostile.Build(f.Base, map[string]string{f.Path: v.Text})
	if err != nil {
		t.Fatal(err)
	}
	var s *spec.Spec
	var diags []string
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("%s = %s: Load panicked: %v", f.Path, v.Name, r)
			}
		}()
		sp, ds := spec.Load("hostile.yaml", data)
		s = sp
		for _, d := range ds {
			diags = append(diags, d.String())
			if strings.ContainsFunc(d.String(), func(r rune) bool {
				return unicode.IsControl(r) && r != '\t' || unicode.Is(unicode.Bidi_Control, r) || r == 0x2028 || r == 0x2029
			}) {
				t.Errorf("%s = %s: the diagnostic is not one line of plain text: %q", f.Path, v.Name, d.String())
			}
		}
	}()
	if s != nil {
		return outcome{accepted: true}
	}
	at := pos[f.Path]
	prefix := "hostile.yaml:" + strconv.Itoa(at.Line) + ":" + strconv.Itoa(at.Col) + ": "
	var own string
	for _, d := range diags {
		if strings.Contains(d, "internal error") {
			t.Errorf("%s = %s: %s", f.Path, v.Name, d)
		}
		if own == "" && strings.HasPrefix(d, prefix) {
			own = strings.TrimPrefix(d, prefix)
		}
		// The YAML parser gives a syntax error's line only: column 1.
		if syntax := "hostile.yaml:" + strconv.Itoa(at.Line) + ":1: YAML syntax error"; own == "" && strings.HasPrefix(d, syntax) {
			own = strings.TrimPrefix(d, "hostile.yaml:"+strconv.Itoa(at.Line)+":1: ")
		}
	}
	if own == "" {
		t.Errorf("%s = %s: refused, but not at the value (%s):\n  %s", f.Path, v.Name, prefix, strings.Join(diags, "\n  "))
		return outcome{message: "refused elsewhere"}
	}
	// The table shows the message with the value itself elided, so it
	// stays short and one line.
	own = strings.ReplaceAll(own, spec.Printable(f.Put(v.Text)), "<value>")
	own = strings.ReplaceAll(own, spec.Printable(v.Text), "<value>")
	if r := []rune(own); len(r) > 200 {
		own = string(r[:200]) + "..."
	}
	return outcome{message: strconv.Quote(own)[1 : len(strconv.Quote(own))-1]}
}

// lineDiff lists the lines of a and b that differ, for a failure message.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, fmt.Sprintf("line %d:\n  - %s\n  + %s", i+1, x, y))
		}
		if len(out) > 20 {
			out = append(out, "...")
			break
		}
	}
	return strings.Join(out, "\n")
}

// TestRawCharacters: characters YAML forbids raw in a file, and bytes that
// are not UTF-8, are reported at their line and column (the YAML parser
// names no position for them).
func TestRawCharacters(t *testing.T) {
	for _, c := range []struct{ raw, want string }{
		{"\x07", "spec.yaml:3:19: control character U+0007 is not allowed in YAML; inside double quotes write it as \\u0007"},
		{"\x7f", "spec.yaml:3:19: control character U+007F is not allowed in YAML; inside double quotes write it as \\u007F"},
		{"\u0086", "spec.yaml:3:19: control character U+0086 is not allowed in YAML; inside double quotes write it as \\u0086"},
		{"\xff", "spec.yaml:3:19: byte 0xFF is not UTF-8; save the spec as UTF-8"},
	} {
		data := "version: 1\nbundle:\n  warehouse: \"été " + c.raw + "\"\n"
		_, diags := spec.Load("spec.yaml", []byte(data))
		if len(diags) != 1 || diags[0].String() != c.want {
			t.Errorf("%q: got %v, want %s", c.raw, diags, c.want)
		}
	}
}

// Package docs writes the repository's user documentation that must not
// drift from the code: docs/spec.md from the spec's JSON Schema and
// docs/tables.md from the table declarations of package model. A test
// compares the committed files with what these functions produce
// (DBMON_UPDATE=1 rewrites them), so a schema or table change that is not
// in the docs fails CI.
package docs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// schemaNode is the part of a JSON Schema the spec's schema uses.
type schemaNode struct {
	Ref                  string                 `json:"$ref"`
	Description          string                 `json:"description"`
	Type                 string                 `json:"type"`
	Properties           map[string]*schemaNode `json:"properties"`
	Required             []string               `json:"required"`
	Items                *schemaNode            `json:"items"`
	AdditionalProperties json.RawMessage        `json:"additionalProperties"`
	PropertyNames        *schemaNode            `json:"propertyNames"`
	Enum                 []any                  `json:"enum"`
	Const                any                    `json:"const"`
	Default              any                    `json:"default"`
	Pattern              string                 `json:"pattern"`
	PatternRule          string                 `json:"x-dbmon-pattern"`
	Minimum              *float64               `json:"minimum"`
	Maximum              *float64               `json:"maximum"`
	ExclusiveMinimum     *float64               `json:"exclusiveMinimum"`
	MinLength            *int                   `json:"minLength"`
	MinProperties        *int                   `json:"minProperties"`
	If                   *schemaNode            `json:"if"`
	Then                 *schemaNode            `json:"then"`
	Else                 *schemaNode            `json:"else"`
	Defs                 map[string]*schemaNode `json:"$defs"`
	Title                string                 `json:"title"`

	order []string // property names in the order of the schema file
}

// mapValues is the schema of a map's values, or nil when the node is not a
// map (additionalProperties absent or false).
func (n *schemaNode) mapValues() *schemaNode {
	if len(n.AdditionalProperties) == 0 || string(n.AdditionalProperties) == "false" || string(n.AdditionalProperties) == "true" {
		return nil
	}
	var v schemaNode
	if err := decodeNode(n.AdditionalProperties, &v); err != nil {
		return nil
	}
	return &v
}

// decodeNode decodes a schema node and remembers the order of its
// properties, recursively: the reference lists fields as the schema does.
func decodeNode(data []byte, n *schemaNode) error {
	if err := json.Unmarshal(data, n); err != nil {
		return err
	}
	var raw struct {
		Properties json.RawMessage            `json:"properties"`
		Items      json.RawMessage            `json:"items"`
		Defs       map[string]json.RawMessage `json:"$defs"`
		If         json.RawMessage            `json:"if"`
		Then       json.RawMessage            `json:"then"`
		Else       json.RawMessage            `json:"else"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if len(raw.Properties) > 0 {
		order, err := keyOrder(raw.Properties)
		if err != nil {
			return err
		}
		n.order = order
		var props map[string]json.RawMessage
		_ = json.Unmarshal(raw.Properties, &props)
		for k, v := range props {
			var child schemaNode
			if err := decodeNode(v, &child); err != nil {
				return err
			}
			n.Properties[k] = &child
		}
	}
	for k, v := range raw.Defs {
		var child schemaNode
		if err := decodeNode(v, &child); err != nil {
			return err
		}
		n.Defs[k] = &child
	}
	for _, sub := range []struct {
		raw json.RawMessage
		dst **schemaNode
	}{{raw.Items, &n.Items}, {raw.If, &n.If}, {raw.Then, &n.Then}, {raw.Else, &n.Else}} {
		if len(sub.raw) > 0 {
			var child schemaNode
			if err := decodeNode(sub.raw, &child); err != nil {
				return err
			}
			*sub.dst = &child
		}
	}
	return nil
}

// keyOrder lists the keys of a JSON object in document order.
func keyOrder(obj json.RawMessage) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, t.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// specDoc renders the field reference.
type specDoc struct {
	root     *schemaNode
	sections strings.Builder
	// missing lists fields without a description anywhere: a test fails on
	// them, since the reference would say nothing about them.
	missing []string
}

func (d *specDoc) def(ref string) (string, *schemaNode) {
	name := strings.TrimPrefix(ref, "#/$defs/")
	return name, d.root.Defs[name]
}

// resolve follows a $ref to an object definition, which gets its own
// section; references to value types stay references.
func (d *specDoc) resolve(n *schemaNode) *schemaNode {
	if n.Ref != "" {
		if _, def := d.def(n.Ref); def != nil && def.Type == "object" {
			return def
		}
	}
	return n
}

// SpecReference returns docs/spec.md: the hand-written guide in this
// package followed by the field reference generated from schemaJSON (the
// spec's JSON Schema) and example (specs/example.yaml) as a full example.
func SpecReference(schemaJSON, example []byte) ([]byte, []string, error) {
	var root schemaNode
	if err := decodeNode(schemaJSON, &root); err != nil {
		return nil, nil, fmt.Errorf("spec schema: %w", err)
	}
	d := &specDoc{root: &root}
	d.object("Top level", "", &root)

	var out bytes.Buffer
	out.WriteString(specIntro)
	out.WriteString("\n## A complete example\n\n`specs/example.yaml` uses every field:\n\n```yaml\n")
	out.Write(bytes.TrimRight(example, "\n"))
	out.WriteString("\n```\n\n## Field reference\n\n")
	out.WriteString("Generated from the spec's JSON Schema (`dbmon schema`; source `generator/spec/dbmon.schema.json`). " +
		"Paths use `[]` for an item of a list and `<key>` for a key of a map. A field without a default is unset when omitted.\n\n")
	out.WriteString(d.sections.String())
	out.WriteString("## Value types\n\nField types above that name one of these:\n\n| type | meaning | rule |\n|---|---|---|\n")
	var names []string
	for name, def := range root.Defs {
		if def.Type != "object" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		def := root.Defs[name]
		fmt.Fprintf(&out, "| <a id=\"type-%s\"></a>`%s` | %s | %s |\n", name, name, cell(valueMeaning(def)), cell(d.rule(def)))
	}
	return out.Bytes(), d.missing, nil
}

func valueMeaning(def *schemaNode) string {
	if def.Description != "" {
		return def.Description
	}
	if len(def.Enum) > 0 {
		return "One of the values in the rule."
	}
	return def.Type
}

// object writes the section of one object and, after it, the sections of
// the objects it contains.
func (d *specDoc) object(title, path string, n *schemaNode) {
	heading := "`" + path + "`"
	if path == "" {
		heading = title
	}
	fmt.Fprintf(&d.sections, "### %s\n\n", heading)
	if n.Description != "" && path != "" {
		fmt.Fprintf(&d.sections, "%s\n\n", n.Description)
	}
	if n.MinProperties != nil {
		fmt.Fprintf(&d.sections, "Give at least %d of these fields.\n\n", *n.MinProperties)
	}
	d.sections.WriteString("| field | type | required | default | description |\n|---|---|---|---|---|\n")
	required := map[string]bool{}
	for _, r := range n.Required {
		required[r] = true
	}
	type nested struct {
		path string
		node *schemaNode
	}
	var children []nested
	for _, name := range n.order {
		p := n.Properties[name]
		full := join(path, name)
		typ, child, childPath := d.typeOf(p, full)
		if child != nil {
			children = append(children, nested{childPath, child})
		}
		desc := d.description(p)
		if desc == "" {
			d.missing = append(d.missing, full)
		}
		req := ""
		if required[name] {
			req = "yes"
		}
		fmt.Fprintf(&d.sections, "| `%s` | %s | %s | %s | %s |\n", name, cell(typ), req, cell(d.defaultOf(p)), cell(desc))
	}
	d.sections.WriteString("\n")
	for _, c := range children {
		d.object("", c.path, c.node)
	}
}

// description is a field's own description, else that of the type it
// refers to.
func (d *specDoc) description(p *schemaNode) string {
	if p.Description != "" {
		return p.Description
	}
	if p.Ref != "" {
		if _, def := d.def(p.Ref); def != nil {
			return def.Description
		}
	}
	return ""
}

func (d *specDoc) defaultOf(p *schemaNode) string {
	v := p.Default
	if v == nil && p.Ref != "" {
		if _, def := d.def(p.Ref); def != nil {
			v = def.Default
		}
	}
	if v == nil {
		return ""
	}
	return "`" + literal(v) + "`"
}

// typeOf describes a field's type and returns the object, if any, that
// needs a section of its own, with that section's path.
func (d *specDoc) typeOf(p *schemaNode, path string) (string, *schemaNode, string) {
	if p.Ref != "" {
		name, def := d.def(p.Ref)
		if def != nil && def.Type == "object" {
			return "object, see " + anchor(path), def, path
		}
		return fmt.Sprintf("[`%s`](#type-%s)", name, name), nil, ""
	}
	switch {
	case p.Const != nil:
		return p.Type + ", always `" + literal(p.Const) + "`", nil, ""
	case p.Type == "array" && p.Items != nil:
		item := d.resolve(p.Items)
		if item.Type == "object" && item.Properties != nil {
			return "list of objects, see " + anchor(path+"[]"), item, path + "[]"
		}
		t, _, _ := d.typeOf(p.Items, path+"[]")
		return "list of " + t, nil, ""
	case p.Type == "object" && p.Properties != nil:
		return "object, see " + anchor(path), p, path
	case p.Type == "object":
		key := "string"
		if p.PropertyNames != nil {
			if p.PropertyNames.Ref != "" {
				key, _, _ = d.typeOf(p.PropertyNames, path)
			} else if r := d.rule(p.PropertyNames); r != "" {
				key = "string (" + r + ")"
			}
		}
		vals := p.mapValues()
		if vals == nil {
			return "map of " + key, nil, ""
		}
		v := d.resolve(vals)
		if v.Type == "object" && v.Properties != nil {
			return "map of " + key + " to objects, see " + anchor(path+".<key>"), v, path + ".<key>"
		}
		t, _, _ := d.typeOf(vals, path)
		return "map of " + key + " to " + t, nil, ""
	}
	t := p.Type
	if r := d.rule(p); r != "" {
		t += "; " + r
	}
	return t, nil, ""
}

// rule states the constraints of a scalar as a sentence fragment.
func (d *specDoc) rule(n *schemaNode) string {
	var parts []string
	if len(n.Enum) > 0 {
		vals := make([]string, len(n.Enum))
		for i, v := range n.Enum {
			vals[i] = "`" + literal(v) + "`"
		}
		parts = append(parts, "one of "+strings.Join(vals, ", "))
	}
	if n.If != nil && n.Then != nil && n.Else != nil {
		// notify: a const string or a list.
		t, _, _ := d.typeOf(n.Else, "")
		parts = append(parts, "`"+literal(n.Then.Const)+"` or a "+t)
	}
	switch {
	case n.ExclusiveMinimum != nil && n.Maximum != nil:
		parts = append(parts, fmt.Sprintf("more than %s, at most %s", num(*n.ExclusiveMinimum), num(*n.Maximum)))
	case n.ExclusiveMinimum != nil:
		parts = append(parts, "more than "+num(*n.ExclusiveMinimum))
	case n.Minimum != nil && n.Maximum != nil:
		parts = append(parts, fmt.Sprintf("%s to %s", num(*n.Minimum), num(*n.Maximum)))
	case n.Minimum != nil:
		parts = append(parts, "at least "+num(*n.Minimum))
	case n.Maximum != nil:
		parts = append(parts, "at most "+num(*n.Maximum))
	}
	if n.MinLength != nil && *n.MinLength > 0 {
		parts = append(parts, "not empty")
	}
	if n.Pattern != "" {
		rule := "matches `" + n.Pattern + "`"
		if n.PatternRule != "" {
			rule = n.PatternRule + " (`" + n.Pattern + "`)"
		}
		parts = append(parts, rule)
	}
	return strings.Join(parts, "; ")
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// anchor links to the section of path, using the heading ids GitHub makes.
func anchor(path string) string {
	id := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return -1
	}, path)
	return "[`" + path + "`](#" + id + ")"
}

func literal(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return num(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = literal(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

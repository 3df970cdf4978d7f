package spec

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"gopkg.in/yaml.v3"
)

// SchemaJSON is the spec's JSON Schema, printed by `dbmon schema` for editors.
//
//go:embed dbmon.schema.json
var SchemaJSON []byte

const schemaURL = "https://dbmon.dev/schemas/dbmon.schema.json"

var (
	compileOnce sync.Once
	compiled    *jsonschema.Schema
	rawSchema   map[string]any
	compileErr  error
)

func schema() (*jsonschema.Schema, map[string]any, error) {
	compileOnce.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(SchemaJSON))
		if err != nil {
			compileErr = err
			return
		}
		rawSchema = doc.(map[string]any)
		c := jsonschema.NewCompiler()
		if err := c.AddResource(schemaURL, doc); err != nil {
			compileErr = err
			return
		}
		compiled, compileErr = c.Compile(schemaURL)
	})
	return compiled, rawSchema, compileErr
}

// validateSchema checks value against the embedded schema and turns each
// failure into a diagnostic at the offending node.
func (l *loader) validateSchema(value any) {
	sch, raw, err := schema()
	if err != nil {
		l.errorAt(nil, "", "internal error: embedded schema does not compile: %v", err)
		return
	}
	err = sch.Validate(value)
	if err == nil {
		return
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		l.errorAt(nil, "", "schema validation: %v", err)
		return
	}
	for _, leaf := range leaves(ve) {
		l.schemaError(leaf, raw)
	}
}

// leaves returns the innermost errors: the ones that say what is wrong. A
// mapping key's error is a leaf: its causes validate the key as a document
// of its own, so their locations are the root's.
func leaves(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if _, key := e.ErrorKind.(*kind.PropertyNames); key || len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

// schemaAt resolves the schema object a validation error refers to.
func schemaAt(raw map[string]any, url string) map[string]any {
	_, frag, _ := strings.Cut(url, "#")
	var cur any = raw
	for _, seg := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
		if seg == "" {
			continue
		}
		seg = strings.NewReplacer("~1", "/", "~0", "~").Replace(seg)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[seg]
	}
	m, _ := cur.(map[string]any)
	return m
}

func (l *loader) schemaError(e *jsonschema.ValidationError, raw map[string]any) {
	loc := e.InstanceLocation
	path := PathString(loc)
	at := l.blockAware(loc)
	switch k := e.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		known := propertyNames(schemaAt(raw, e.SchemaURL))
		for _, p := range k.Properties {
			child := append(append([]string(nil), loc...), p)
			l.errorAt(l.keyNode(child), PathString(child), "unknown key `%s`%s", p, suggest(p, known))
		}
	case *kind.Required:
		for _, m := range k.Missing {
			child := append(append([]string(nil), loc...), m)
			l.errorAt(at, PathString(child), "required key `%s` is missing", m)
		}
	case *kind.Type:
		hint := ""
		if len(k.Want) == 1 && k.Want[0] == "string" && (k.Got == "number" || k.Got == "integer" || k.Got == "boolean") {
			hint = "; put it in quotes to make it a string"
		}
		l.errorAt(at, path, "expected %s, got %s%s", typeNames(k.Want), describe(l.node(loc), k.Got), hint)
	case *kind.Enum:
		var want []string
		for _, w := range k.Want {
			want = append(want, fmt.Sprint(w))
		}
		l.errorAt(at, path, "`%v` is not allowed; use one of: %s%s", k.Got, strings.Join(want, ", "), didYouMean(fmt.Sprint(k.Got), want))
	case *kind.Const:
		if k.Want == "team" {
			l.errorAt(at, path, "expected `team` or a list of destination keys, got `%v`%s", k.Got, didYouMean(fmt.Sprint(k.Got), []string{"team"}))
		} else {
			l.errorAt(at, path, "must be %v, got %v", k.Want, k.Got)
		}
	case *kind.Pattern:
		msg := "must match " + k.Want
		if s := schemaAt(raw, e.SchemaURL); s != nil {
			if m, ok := s["x-dbmon-pattern"].(string); ok {
				msg = m
			}
		}
		l.errorAt(at, path, "%s, got `%s`", msg, k.Got)
	case *kind.PropertyNames:
		// The validator hands a key's error the location of a slice it
		// goes on reusing, so the mapping is found from the key and the
		// schema instead: the property whose propertyNames rejected it.
		_, frag, _ := strings.Cut(strings.TrimSuffix(e.SchemaURL, "/propertyNames"), "#")
		mapping := frag[strings.LastIndexByte(frag, '/')+1:]
		for _, child := range l.keysNamed(k.Property, mapping) {
			if l.keyReported[pointer(child)] {
				continue
			}
			if l.keyReported == nil {
				l.keyReported = map[string]bool{}
			}
			l.keyReported[pointer(child)] = true
			l.errorAt(l.keyNode(child), PathString(child), "invalid key `%s`: %s", k.Property, patternMessage(raw, e))
		}
	case *kind.MinLength:
		l.errorAt(at, path, "must not be empty")
	case *kind.MinProperties:
		l.errorAt(at, path, "must not be empty")
	case *kind.Minimum:
		l.errorAt(at, path, "must be at least %s, got %s", ratString(k.Want), ratString(k.Got))
	case *kind.Maximum:
		l.errorAt(at, path, "must be at most %s, got %s", ratString(k.Want), ratString(k.Got))
	case *kind.ExclusiveMinimum:
		l.errorAt(at, path, "must be greater than %s, got %s", ratString(k.Want), ratString(k.Got))
	default:
		l.errorAt(at, path, "%s", e.ErrorKind.LocalizedString(nil))
	}
}

// keysNamed returns the paths of the mapping keys named key whose mapping
// is the value of a property named mapping, sorted.
func (l *loader) keysNamed(key, mapping string) [][]string {
	var out [][]string
	for p := range l.keys {
		segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
		for i, s := range segs {
			segs[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(s)
		}
		if n := len(segs); n >= 2 && segs[n-1] == key && segs[n-2] == mapping {
			out = append(out, segs)
		}
	}
	sort.Slice(out, func(i, j int) bool { return pointer(out[i]) < pointer(out[j]) })
	return out
}

// patternMessage finds the friendly message of a propertyNames schema (the
// error's SchemaURL), written on it or on the definition it refers to.
func patternMessage(raw map[string]any, e *jsonschema.ValidationError) string {
	s := schemaAt(raw, e.SchemaURL)
	for range 2 {
		if s == nil {
			break
		}
		if m, ok := s["x-dbmon-pattern"].(string); ok {
			return m
		}
		ref, _ := s["$ref"].(string)
		s = schemaAt(raw, ref)
	}
	return "not an allowed key"
}

func ratString(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return fmt.Sprint(f)
}

func propertyNames(s map[string]any) []string {
	props, _ := s["properties"].(map[string]any)
	var out []string
	for k := range props {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var jsonTypeNames = map[string]string{
	"string": "a string", "integer": "an integer", "number": "a number", "boolean": "a boolean (true or false)",
	"array": "a list", "object": "a mapping", "null": "nothing",
}

func typeNames(want []string) string {
	var out []string
	for _, w := range want {
		if n, ok := jsonTypeNames[w]; ok {
			out = append(out, n)
		} else {
			out = append(out, w)
		}
	}
	return strings.Join(out, " or ")
}

// describe names what the user wrote, quoting short scalars.
func describe(n *yaml.Node, got string) string {
	name := jsonTypeNames[got]
	if name == "" {
		name = got
	}
	if n != nil && n.Kind == yaml.ScalarNode && got != "null" && len(n.Value) <= 40 {
		return fmt.Sprintf("%s (`%s`)", name, n.Value)
	}
	return name
}

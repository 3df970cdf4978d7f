package spec

import (
	"reflect"
	"sort"
	"strings"
	"testing"
)

// TestSchemaMatchesTypes walks the Go spec types and the embedded JSON Schema
// side by side: every yaml field must be a schema property of a compatible
// type and every schema property must be a field, so neither can drift.
func TestSchemaMatchesTypes(t *testing.T) {
	_, raw, err := schema()
	if err != nil {
		t.Fatal(err)
	}
	compareType(t, "spec", reflect.TypeOf(Spec{}), raw, raw)
}

func resolve(raw, s map[string]any) map[string]any {
	for s != nil {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		s = schemaAt(raw, ref)
	}
	return s
}

func compareType(t *testing.T, at string, typ reflect.Type, s, raw map[string]any) {
	t.Helper()
	s = resolve(raw, s)
	if s == nil {
		t.Errorf("%s: no schema", at)
		return
	}
	if typ == reflect.TypeOf(Notify{}) {
		if _, ok := s["if"]; !ok {
			t.Errorf("%s: Notify needs the string-or-list schema", at)
		}
		return
	}
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	want := map[reflect.Kind]string{
		reflect.String: "string", reflect.Int: "integer", reflect.Float64: "number", reflect.Bool: "boolean",
		reflect.Slice: "array", reflect.Map: "object", reflect.Struct: "object",
	}[typ.Kind()]
	if got, _ := s["type"].(string); got != want {
		t.Errorf("%s: Go %s wants schema type %q, schema has %q", at, typ, want, got)
		return
	}
	switch typ.Kind() {
	case reflect.Slice:
		items, _ := s["items"].(map[string]any)
		compareType(t, at+"[]", typ.Elem(), items, raw)
	case reflect.Map:
		ap, _ := s["additionalProperties"].(map[string]any)
		compareType(t, at+".*", typ.Elem(), ap, raw)
	case reflect.Struct:
		props, _ := s["properties"].(map[string]any)
		if s["additionalProperties"] != false {
			t.Errorf("%s: object schema must set additionalProperties: false", at)
		}
		fields := map[string]bool{}
		for _, f := range yamlFields(typ) {
			name := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if name == "" {
				t.Errorf("%s.%s: no yaml tag", at, f.Name)
				continue
			}
			fields[name] = true
			ps, ok := props[name].(map[string]any)
			if !ok {
				t.Errorf("%s.%s: field missing from the schema", at, name)
				continue
			}
			if resolve(raw, ps)["description"] == nil && ps["description"] == nil {
				t.Errorf("%s.%s: schema property has no description", at, name)
			}
			compareType(t, at+"."+name, f.Type, ps, raw)
		}
		var extra []string
		for name := range props {
			if !fields[name] {
				extra = append(extra, name)
			}
		}
		sort.Strings(extra)
		for _, name := range extra {
			t.Errorf("%s.%s: in the schema but not in the Go type", at, name)
		}
	}
}

// yamlFields lists a struct's fields, flattening ",inline" embedded structs
// the way yaml.v3 does.
func yamlFields(typ reflect.Type) []reflect.StructField {
	var out []reflect.StructField
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if strings.Contains(f.Tag.Get("yaml"), ",inline") {
			out = append(out, yamlFields(f.Type)...)
			continue
		}
		out = append(out, f)
	}
	return out
}

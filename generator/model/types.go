package model

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind is the kind of a column type, spelt as Databricks spells the type.
type Kind string

// The column types dbmon declares.
const (
	KindString    Kind = "string"
	KindInt       Kind = "int"
	KindBigint    Kind = "bigint"
	KindDouble    Kind = "double"
	KindBoolean   Kind = "boolean"
	KindDate      Kind = "date"
	KindTimestamp Kind = "timestamp"
	KindDecimal   Kind = "decimal"
	KindArray     Kind = "array"
	KindMap       Kind = "map"
	KindStruct    Kind = "struct"
)

// primitives maps every accepted spelling of a scalar type (lower case) to
// its kind. Databricks accepts the aliases integer and long.
var primitives = map[string]Kind{
	"string": KindString, "int": KindInt, "integer": KindInt, "bigint": KindBigint, "long": KindBigint,
	"double": KindDouble, "boolean": KindBoolean, "date": KindDate, "timestamp": KindTimestamp,
}

// Type is a parsed Databricks column type. Elem is the element of an array
// and the value of a map; Key the key of a map; Fields the fields of a
// struct; Precision and Scale those of a decimal.
type Type struct {
	Kind             Kind
	Elem, Key        *Type
	Fields           []StructField
	Precision, Scale int
}

// StructField is one field of a struct type.
type StructField struct {
	Name string
	Type Type
}

// ParseType parses a column type in Databricks SQL syntax, in any case:
// STRING, decimal(38,18), ARRAY<STRING>, map<string,bigint>,
// struct<a:string,b:array<int>>.
func ParseType(s string) (Type, error) {
	t := strings.TrimSpace(s)
	lower := strings.ToLower(t)
	if k, ok := primitives[lower]; ok {
		return Type{Kind: k}, nil
	}
	inner := func(prefix string) (string, bool) {
		if strings.HasPrefix(lower, prefix+"<") && strings.HasSuffix(t, ">") {
			return t[len(prefix)+1 : len(t)-1], true
		}
		return "", false
	}
	if in, ok := inner("array"); ok {
		el, err := ParseType(in)
		if err != nil {
			return Type{}, err
		}
		return Type{Kind: KindArray, Elem: &el}, nil
	}
	if in, ok := inner("map"); ok {
		kv := SplitTop(in, ',')
		if len(kv) != 2 {
			return Type{}, fmt.Errorf("map type %q needs a key and a value type", t)
		}
		k, err := ParseType(kv[0])
		if err != nil {
			return Type{}, err
		}
		v, err := ParseType(kv[1])
		if err != nil {
			return Type{}, err
		}
		return Type{Kind: KindMap, Key: &k, Elem: &v}, nil
	}
	if in, ok := inner("struct"); ok {
		out := Type{Kind: KindStruct}
		for _, f := range SplitTop(in, ',') {
			name, ft, ok := strings.Cut(f, ":")
			name = strings.TrimSpace(name)
			if !ok || name == "" {
				return Type{}, fmt.Errorf("struct field %q has no name and type", f)
			}
			ftype, err := ParseType(ft)
			if err != nil {
				return Type{}, err
			}
			out.Fields = append(out.Fields, StructField{Name: name, Type: ftype})
		}
		return out, nil
	}
	if strings.HasPrefix(lower, "decimal(") && strings.HasSuffix(lower, ")") {
		ps := strings.Split(lower[len("decimal("):len(lower)-1], ",")
		if len(ps) == 2 {
			p, err1 := strconv.Atoi(strings.TrimSpace(ps[0]))
			sc, err2 := strconv.Atoi(strings.TrimSpace(ps[1]))
			if err1 == nil && err2 == nil && p >= 1 && p <= 38 && sc >= 0 && sc <= p {
				return Type{Kind: KindDecimal, Precision: p, Scale: sc}, nil
			}
		}
		return Type{}, fmt.Errorf("decimal type %q needs a precision of 1 to 38 and a scale of 0 to the precision", t)
	}
	return Type{}, fmt.Errorf("unknown column type %q", t)
}

// MustParseType parses a declared type; a malformed declaration is a bug in
// the declarations, which are constants, so it panics.
func MustParseType(s string) Type {
	t, err := ParseType(s)
	if err != nil {
		panic("model: " + err.Error())
	}
	return t
}

// String prints the type in Databricks syntax, lower case and without
// spaces, as DESCRIBE TABLE prints it: map<string,string>, decimal(38,18).
func (t Type) String() string {
	switch t.Kind {
	case KindDecimal:
		return fmt.Sprintf("decimal(%d,%d)", t.Precision, t.Scale)
	case KindArray:
		return "array<" + t.Elem.String() + ">"
	case KindMap:
		return "map<" + t.Key.String() + "," + t.Elem.String() + ">"
	case KindStruct:
		fs := make([]string, len(t.Fields))
		for i, f := range t.Fields {
			fs[i] = f.Name + ":" + f.Type.String()
		}
		return "struct<" + strings.Join(fs, ",") + ">"
	}
	return string(t.Kind)
}

// Field returns the named field of a struct type, or false.
func (t Type) Field(name string) (StructField, bool) {
	for _, f := range t.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return StructField{}, false
}

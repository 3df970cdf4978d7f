package model

import (
	"reflect"
	"strings"
	"testing"
)

// declared lists every declared column of every table kind.
func declared() map[string][]Column {
	out := map[string][]Column{CollectorTable.Name: CollectorTable.Columns}
	for _, t := range SystemTables {
		out[t.FullName()] = t.Columns
	}
	for _, t := range PipelineTables() {
		out[t.Name] = t.Columns
	}
	return out
}

// TestDeclaredTypesParsed: every declared column carries its parsed type,
// which prints back as the declaration (up to case), so the DDL and the
// data dictionary (which print Type) and the twin and synth (which read
// Parsed) cannot disagree.
func TestDeclaredTypesParsed(t *testing.T) {
	n := 0
	for table, cols := range declared() {
		for _, c := range cols {
			n++
			if c.Parsed.Kind == "" {
				t.Errorf("%s.%s: no parsed type", table, c.Name)
				continue
			}
			if got := c.Parsed.String(); !strings.EqualFold(got, c.Type) {
				t.Errorf("%s.%s: declared %s, parsed prints %s", table, c.Name, c.Type, got)
			}
			again, err := ParseType(c.Parsed.String())
			if err != nil || !reflect.DeepEqual(again, c.Parsed) {
				t.Errorf("%s.%s: %s does not parse back to itself: %+v, %v", table, c.Name, c.Parsed, again, err)
			}
		}
	}
	if n < 200 {
		t.Errorf("only %d declared columns: are the tables declared?", n)
	}
}

func TestParseType(t *testing.T) {
	str := Type{Kind: KindString}
	cases := []struct {
		in   string
		want Type
	}{
		{"STRING", str},
		{" bigint ", Type{Kind: KindBigint}},
		{"long", Type{Kind: KindBigint}},
		{"Integer", Type{Kind: KindInt}},
		{"decimal(38, 18)", Type{Kind: KindDecimal, Precision: 38, Scale: 18}},
		{"ARRAY<STRING>", Type{Kind: KindArray, Elem: &str}},
		{"map<string,map<string,bigint>>", Type{Kind: KindMap, Key: &str,
			Elem: &Type{Kind: KindMap, Key: &str, Elem: &Type{Kind: KindBigint}}}},
		{"struct<a:string, b:array<struct<c:decimal(10,2)>>>", Type{Kind: KindStruct, Fields: []StructField{
			{"a", str},
			{"b", Type{Kind: KindArray, Elem: &Type{Kind: KindStruct, Fields: []StructField{
				{"c", Type{Kind: KindDecimal, Precision: 10, Scale: 2}}}}}}}}},
	}
	for _, c := range cases {
		got, err := ParseType(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseType(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	if got := MustParseType("struct<a:map<string,string>,b:decimal(38,18)>").String(); got != "struct<a:map<string,string>,b:decimal(38,18)>" {
		t.Errorf("String() = %s", got)
	}
	for _, bad := range []string{"", "varchar", "array<>", "map<string>", "map<string,int,int>", "struct<a>",
		"struct<:int>", "decimal(0,0)", "decimal(10,11)", "decimal(x,1)", "array<strin>", "array<string"} {
		if got, err := ParseType(bad); err == nil {
			t.Errorf("ParseType(%q) = %v, want an error", bad, got)
		}
	}
}

func TestNewColumnPanicsOnMalformedType(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewColumn accepted the type arry<string>")
		}
	}()
	NewColumn("x", "arry<string>", "")
}

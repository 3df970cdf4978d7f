package render

import (
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/Masterminds/sprig/v3"

	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/spec"
)

// TestFuncsLocked pins the template function map: adding or removing a
// function must be a deliberate change to testdata/funcs.txt, and no function
// that reads the clock, randomness or the environment may be present.
func TestFuncsLocked(t *testing.T) {
	var names []string
	for name := range Funcs() {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, banned := range append(nondeterministic, "now", "date", "env", "expandenv", "uuidv4", "randAlphaNum", "randAlpha", "randAscii", "randNumeric", "randBytes", "getHostByName") {
		if _, ok := Funcs()[banned]; ok {
			t.Errorf("non-deterministic function %q is in the FuncMap", banned)
		}
	}
	got := strings.Join(names, "\n") + "\n"
	want, err := os.ReadFile("testdata/funcs.txt")
	if os.Getenv("DBMON_UPDATE") != "" {
		if err := os.WriteFile("testdata/funcs.txt", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("FuncMap changed; review and run DBMON_UPDATE=1 go test ./generator/render\ngot:\n%s", got)
	}
}

func TestQuoting(t *testing.T) {
	for in, want := range map[string]string{
		"plain":           `'plain'`,
		"it's":            `'it\'s'`,
		`back\slash`:      `'back\\slash'`,
		"two\nlines":      `'two\nlines'`,
		"'; DROP TABLE x": `'\'; DROP TABLE x'`,
	} {
		if got := model.SQLString(in); got != want {
			t.Errorf("SQLString(%q) = %s, want %s", in, got, want)
		}
	}
	if got := yamlQuote("${var.catalog}"); got != `"${var.catalog}"` {
		t.Errorf("yamlQuote = %s", got)
	}
	if got := yamlQuote(`a "b" # c`); got != `"a \"b\" # c"` {
		t.Errorf("yamlQuote = %s", got)
	}
}

// TestDataDictionaryCoversEveryColumn: every column of every bronze source,
// silver, gold and collector table is a row of docs/data_dictionary.md.
func TestDataDictionaryCoversEveryColumn(t *testing.T) {
	s, diags := spec.Load("t.yaml", []byte("version: 1\nbundle: {name: t, catalog: c, schema: s, warehouse: w}\n"))
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	b, err := model.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	files, err := Render(b)
	if err != nil {
		t.Fatal(err)
	}
	var doc string
	for _, f := range files {
		if f.Path == "docs/data_dictionary.md" {
			doc = string(f.Data)
		}
	}
	section := func(table string) string {
		i := strings.Index(doc, "\n### "+table+"\n")
		if i < 0 {
			t.Fatalf("no section for %s", table)
		}
		rest := doc[i+1:]
		if j := strings.Index(rest[4:], "\n### "); j >= 0 {
			rest = rest[:j+4]
		}
		return rest
	}
	check := func(table string, cols []model.Column) {
		sec := section(table)
		for _, c := range cols {
			if !strings.Contains(sec, "| `"+c.Name+"` | `"+c.Type+"` |") {
				t.Errorf("%s.%s (%s) is not in the data dictionary", table, c.Name, c.Type)
			}
		}
	}
	for _, bt := range b.Bronze {
		check(bt.Name, bt.SourceColumns())
	}
	for _, pt := range b.Tables {
		check(pt.Name, pt.Columns)
		for _, c := range pt.Columns {
			if c.Comment == "" {
				t.Errorf("%s.%s has no comment", pt.Name, c.Name)
			}
		}
	}
	check(model.CollectorTable.Name, model.CollectorTable.Columns)
}

// TestMarkdownAndIdentifierQuoting: spec text shown in the README stays
// on one line, inside its code span or table cell, and inside its SQL
// identifier.
func TestMarkdownAndIdentifierQuoting(t *testing.T) {
	for _, c := range []struct {
		f        func(string) string
		in, want string
	}{
		{mdCode, "a`b", "``a`b``"},
		{mdCode, "`x``", "``` `x`` ```"},
		{mdCode, "a|b\nc", "`a\\|b c`"},
		{mdText, "x | *y* <b> [z]", `x \| \*y\* \<b\> \[z\]`},
		{mdText, "data_platform _em_", `data_platform \_em\_`},
		{mdText, "a\r\nb\u2028c", "a b c"},
		{sqlIdent, "svc`x", "`svc``x`"},
		{oneLine, "a\nb\rc", "a b c"},
		{yamlQuote, "del\x7f nel\u0085", `"del\u007f nel\u0085"`},
	} {
		if got := c.f(c.in); got != c.want {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}
}

// TestIndentIsSprigs: the FuncMap's indent, dbmon's own for speed, writes
// what sprig's does.
func TestIndentIsSprigs(t *testing.T) {
	sprigIndent := sprig.HermeticTxtFuncMap()["indent"].(func(int, string) string)
	for _, v := range []string{"", "a", "a\nb", "\n", "a\n\nb\n", "SELECT 1\n  FROM t\n"} {
		for _, n := range []int{0, 2, 8} {
			if got, want := indent(n, v), sprigIndent(n, v); got != want {
				t.Errorf("indent(%d, %q) = %q, sprig gives %q", n, v, got, want)
			}
		}
	}
}

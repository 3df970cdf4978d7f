package render

import (
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/dbmon/dbmon/generator/model"
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

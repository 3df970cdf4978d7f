package twin

import (
	"strings"
	"testing"
)

// TestMacroNames: the KPI check creates a macro only when the translated
// statement contains its name, so every macro must have a name macroNames
// can read, no two the same, and every function the twin renames to a
// dbx_ macro must be one of them (else a KPI calling it would fail to
// bind, and the check would blame the KPI).
func TestMacroNames(t *testing.T) {
	names := macroNames()
	if len(names) != len(Macros) {
		t.Fatalf("%d names for %d macros", len(names), len(Macros))
	}
	seen := map[string]bool{}
	for i, name := range names {
		if !strings.HasPrefix(name, "dbx_") || strings.ContainsAny(name, " (") {
			t.Errorf("macro %d: name %q", i, name)
		}
		if seen[name] {
			t.Errorf("macro %s created twice", name)
		}
		seen[name] = true
	}
	for fn, f := range functions {
		if strings.HasPrefix(f.duck, "dbx_") && !seen[f.duck] {
			t.Errorf("%s is renamed to %s, which no macro creates", fn, f.duck)
		}
	}
}

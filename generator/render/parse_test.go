package render

import "testing"

// TestParseAll: after ParseAll, every template of the manifest and every
// statement template the bundle embeds is parsed, so Render parses none.
func TestParseAll(t *testing.T) {
	parsed.Clear() // other tests of the package render
	ParseAll()
	names := []string{collectorQueryTemplate, alertQueryTemplate, bronzeCopyTemplate, historyMergeTemplate}
	for _, ft := range Manifest {
		names = append(names, ft.Template)
	}
	for _, name := range names {
		if _, ok := parsed.Load(name); !ok {
			t.Errorf("%s is not parsed", name)
		}
	}
	for _, name := range []string{"templates/partials/sql.tmpl", "templates/dashboards/shared.sql.tmpl"} {
		if _, ok := parsed.Load(name); ok {
			t.Errorf("%s was parsed as a template of its own", name)
		}
	}
}

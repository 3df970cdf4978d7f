package spec

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the loader: it must never panic, and it
// must either return a spec or at least one positioned diagnostic. The seed
// corpus is every example spec plus the invalid specs of the CLI tests.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("../../specs/*.yaml")
	for _, p := range seeds {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{
		"", "\t", "version: 1\n", "- a\n- b\n", "a: &x [*x]\n", "version: 1\nversion: 1\n",
		"version: 1\nbundle: {name: x, catalog: c, schema: s, warehouse: w, warehouse_id: abc}\n",
		"version: 1\nbundle: {name: x, catalog: c, schema: s, warehouse: w}\nteams: [{name: a, match: {job_name: '('}}]\n",
		"version: 1\nbundle: {name: x, catalog: c, schema: s, warehouse: w}\nslas: [{name: a, jobs: {}, deadline: '25:99'}]\n",
		"version: 1\nbundle: {name: x, catalog: c, schema: s, warehouse: w}\nrefresh: '0 0 * * *'\n",
		"version: 1\nbundle: {name: x, catalog: c, schema: s, warehouse: w}\nalerts: {job_failure: {notify: teams}}\n",
		"<<: {a: 1}\n", "? [a]\n: b\n", "a: !!binary aGVsbG8=\n", "x: 1e999\n", "---\n---\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, diags := Load("fuzz.yaml", data)
		if (s == nil) == (len(diags) == 0) {
			t.Fatalf("Load returned spec=%v with %d diagnostics", s != nil, len(diags))
		}
		for _, d := range diags {
			if d.Line < 1 || d.Col < 1 || d.Message == "" {
				t.Fatalf("diagnostic without position or message: %+v", d)
			}
		}
	})
}

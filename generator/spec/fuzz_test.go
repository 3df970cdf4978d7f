package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbmon/dbmon/generator/spec/hostile"
)

// rawControls undoes the escapes of control characters, for seeds that hold
// them raw, as a careless editor would.
var rawControls = strings.NewReplacer(`\u0007`, "\a", `\u001b`, "\x1b", `\u007f`, "\x7f", `\u0085`, "\u0085", `\t`, "\t", `\r`, "\r")

// FuzzLoad feeds arbitrary bytes to the loader: it must never panic, and it
// must either return a spec or at least one positioned diagnostic. The seed
// corpus is every example spec, the invalid specs of the CLI tests, and the
// hostile corpus: each value in every string field of its base specs, as
// written and with its control characters raw. CI runs it for 30 s
// (.ci/run); inputs it finds failing are kept under testdata/fuzz.
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
	c, err := hostile.Load()
	if err != nil {
		f.Fatal(err)
	}
	values, fields, bases := c.Values, c.Fields, c.Bases
	for _, v := range values {
		// A long value goes in whole into one field; in every field, a
		// seed of hundreds of kilobytes would make the fuzzer spend its
		// time minimizing.
		short := v.Text
		if r := []rune(short); len(r) > 200 {
			short = string(r[:200])
			data, _, err := hostile.Build("base.yaml", map[string]string{"teams[].match.tags.*": v.Text})
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
		for _, b := range bases {
			all := map[string]string{}
			for _, fl := range fields {
				all[fl.Path] = short
			}
			data, _, err := hostile.Build(b, all)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
			f.Add([]byte(rawControls.Replace(string(data))))
		}
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
			if strings.ContainsFunc(d.String(), unprintable) {
				t.Fatalf("diagnostic is not one line of plain text: %q", d.String())
			}
		}
	})
}

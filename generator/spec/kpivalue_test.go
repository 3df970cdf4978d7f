package spec

import (
	"strings"
	"testing"
)

// TestKPIValueChecksSeeOnlySQL: the `;` and statement-keyword checks look at
// the expression's SQL, not at the text of its string literals or quoted
// names, and a quote left open is its own message at the value's line.
func TestKPIValueChecksSeeOnlySQL(t *testing.T) {
	for _, c := range []struct{ value, want string }{
		{`count_if(error_message LIKE '%sync from s3%')`, ""},
		{`count_if(error_message = 'join; retry')`, ""},
		{`count_if(job_name = "select \" from")`, ""},
		{`count_if(error_message = 'it\'s a merge')`, ""},
		{"sum(`from`)", ""},
		{"count_if(error_message = 'a' || 'b') / count(*)", ""},
		{`(select count(*) from system.lakeflow.jobs)`, "`SELECT` is not allowed"},
		{`count(*) + 'x' ; drop table t`, "remove the `;`"},
		{`count_if(x = 'a') FROM t`, "`FROM` is not allowed"},
		{`count_if(error_message = 'unclosed)`, "quote that is never closed"},
		{`count_if(error_message = 'ends with \')`, "quote that is never closed"},
		{"sum(`from)", "quote that is never closed"},
	} {
		doc := "version: 1\nbundle: {name: demo, catalog: main, schema: mon, warehouse: Shared}\n" +
			"kpis:\n  - name: k\n    source: job_runs_enriched\n    value: " + yamlQuoted(c.value) + "\n"
		_, diags := Load("spec.yaml", []byte(doc))
		got := diags.Error()
		if c.want == "" {
			if len(diags) != 0 {
				t.Errorf("value %s: want accepted, got %s", c.value, got)
			}
			continue
		}
		if len(diags) != 1 || !strings.Contains(got, c.want) || !strings.HasPrefix(got, "spec.yaml:6:12: kpis[0].value: ") {
			t.Errorf("value %s: want one problem at 6:12 saying %q, got %s", c.value, c.want, got)
		}
	}
}

// yamlQuoted is s as a YAML double-quoted scalar.
func yamlQuoted(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

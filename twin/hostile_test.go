package twin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"strconv"
	"strings"
	"testing"

	"github.com/dbmon/dbmon/generator"
	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/spec/hostile"
	"github.com/dbmon/dbmon/preview"
	"github.com/dbmon/dbmon/preview/htmlreport"
	"github.com/dbmon/dbmon/twin"
)

// TestHostileSQLLiterals writes every corpus value as the bundle writes a
// string literal and selects it back on the twin: the bytes come back
// unchanged, ${ included (the twin substitutes ${key} as the pipeline does,
// and fails on a key it does not know).
func TestHostileSQLLiterals(t *testing.T) {
	values, err := hostile.Values()
	if err != nil {
		t.Fatal(err)
	}
	e, err := twin.Open(asOf)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, v := range values {
		lit := model.SQLString(v.Text)
		rows, err := e.Query("SELECT " + lit + " AS v, " + lit + " IN " + model.SQLList([]string{"x", v.Text}) + " AS listed")
		if err != nil {
			t.Errorf("%s: %v", v.Name, err)
			continue
		}
		if got, _ := rows[0][0].(string); got != v.Text {
			t.Errorf("%s: the literal %.80q reads back as %.80q, want %.80q", v.Name, lit, got, v.Text)
		}
		if listed, _ := rows[0][1].(bool); !listed {
			t.Errorf("%s: the value is not in its own SQL list", v.Name)
		}
	}
}

// TestHostileRoundTrip builds, for every corpus value, the corpus spec with
// the value in every field that accepts it, generates it with the KPI check
// validate runs, builds every table on the twin and runs every finding
// query, KPI, SLA summary, alert query and dashboard dataset; then each
// value is selected back from the config table columns its field reaches
// and compared byte for byte. A KPI value the twin refuses must be refused
// at its own line.
func TestHostileRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the pipeline once per corpus value")
	}
	c, err := hostile.Load()
	if err != nil {
		t.Fatal(err)
	}
	values, fields, accepted := c.Values, c.Fields, c.Accepted
	byPath := map[string]hostile.Field{}
	for _, f := range fields {
		byPath[f.Path] = f
	}
	const kpiValue = "kpis[].value"
	for _, v := range values {
		t.Run(v.Name, func(t *testing.T) {
			put := map[string]string{}
			var held []hostile.Field
			for _, p := range accepted[v.Name] {
				f := byPath[p]
				if f.Base != "base.yaml" {
					continue
				}
				if p == kpiValue && !kpiValueRuns(t, v) {
					continue
				}
				put[p] = v.Text
				held = append(held, f)
			}
			data, _, err := hostile.Build("base.yaml", put)
			if err != nil {
				t.Fatal(err)
			}
			res, diags, err := generator.Prepare("hostile.yaml", data, generator.WithKPICheck(twin.CheckKPIs))
			if err != nil || len(diags) > 0 {
				t.Fatalf("generate: %v\n%s", err, diags)
			}
			r, err := preview.Run(context.Background(), res, preview.Empty(), asOf)
			if err != nil {
				t.Fatalf("the bundle does not run on the twin: %v", err)
			}
			defer r.Close()
			if want := len(res.Bundle.Bronze) + len(res.Bundle.Tables); len(r.Tables) != want {
				t.Errorf("built %d tables, want %d", len(r.Tables), want)
			}
			if len(r.Alerts) != len(res.Bundle.Alerts) {
				t.Errorf("evaluated %d alerts, the bundle has %d", len(r.Alerts), len(res.Bundle.Alerts))
			}
			runDatasets(t, r.Engine, res)
			checkHTMLReport(t, r, res, v, put)
			for _, f := range held {
				want := f.Put(v.Text)
				for _, sink := range f.SQL {
					table, column, _ := strings.Cut(sink, ".")
					rows, err := r.Engine.Query("SELECT " + column + " FROM " + table)
					if err != nil {
						t.Fatalf("%s: %v", sink, err)
					}
					found := false
					for _, row := range rows {
						if s, _ := row[0].(string); s == want {
							found = true
						}
					}
					if !found {
						t.Errorf("the value of %s does not arrive in %s: it holds %s", f.Path, sink, shortRows(rows))
					}
				}
			}
		})
	}
}

// checkHTMLReport writes the preview's HTML file for the bundle: it is
// written, the KPI title arrives HTML-escaped, and no value containing
// markup appears raw.
func checkHTMLReport(t *testing.T, r *preview.Report, res *generator.Result, v hostile.Value, put map[string]string) {
	t.Helper()
	var b bytes.Buffer
	if err := htmlreport.Write(&b, htmlreport.Input{Report: r, Dashboards: htmlreport.DashboardFiles(res)}); err != nil {
		t.Fatalf("HTML report: %v", err)
	}
	page := b.String()
	if _, held := put["kpis[].title"]; held && !strings.Contains(page, html.EscapeString(v.Text)) {
		t.Errorf("the KPI title does not arrive (HTML-escaped) in the HTML report")
	}
	if strings.ContainsAny(v.Text, "<>&") && strings.Contains(page, v.Text) {
		t.Errorf("the HTML report holds the value unescaped")
	}
}

// kpiValueRuns reports whether validate, with the twin's KPI check, accepts
// v as a KPI's value; a refusal must be at the value's own line.
func kpiValueRuns(t *testing.T, v hostile.Value) bool {
	t.Helper()
	data, pos, err := hostile.Build("base.yaml", map[string]string{"kpis[].value": v.Text})
	if err != nil {
		t.Fatal(err)
	}
	_, diags, err := generator.Prepare("hostile.yaml", data, generator.WithKPICheck(twin.CheckKPIs))
	if err != nil {
		t.Fatalf("kpis[].value: internal failure: %v", err)
	}
	if len(diags) == 0 {
		return true
	}
	at := pos["kpis[].value"]
	prefix := "hostile.yaml:" + strconv.Itoa(at.Line) + ":" + strconv.Itoa(at.Col) + ": kpis[0].value: "
	for _, d := range diags {
		if !strings.HasPrefix(d.String(), prefix) || strings.Contains(d.String(), "internal error") {
			t.Errorf("kpis[].value refused, but not at the value (%s): %s", prefix, d)
		}
	}
	return false
}

// runDatasets runs every dataset of the generated dashboards on the twin.
func runDatasets(t *testing.T, e *twin.Engine, res *generator.Result) {
	t.Helper()
	for _, f := range res.Files {
		if !strings.HasSuffix(f.Path, ".lvdash.json") {
			continue
		}
		var d struct {
			Datasets []struct {
				Name       string   `json:"name"`
				QueryLines []string `json:"queryLines"`
			} `json:"datasets"`
		}
		if err := json.Unmarshal(f.Data, &d); err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		for _, ds := range d.Datasets {
			if _, err := e.Query(strings.Join(ds.QueryLines, "")); err != nil {
				t.Errorf("%s dataset %s: %v", f.Path, ds.Name, err)
			}
		}
	}
}

func shortRows(rows [][]any) string {
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%.60q", fmt.Sprint(r[0])))
	}
	return "[" + strings.Join(out, ", ") + "]"
}

// TestHostileTeamMatch: a team rule whose tag key and value, or run_as
// principal, is a corpus value owns exactly the jobs that carry that value
// byte for byte, and not a job whose value differs by one character.
func TestHostileTeamMatch(t *testing.T) {
	c, err := hostile.Load()
	if err != nil {
		t.Fatal(err)
	}
	values, accepted := c.Values, c.Accepted
	for _, v := range values {
		ok := map[string]bool{}
		for _, p := range accepted[v.Name] {
			ok[p] = true
		}
		if !ok["teams[].match.tags.*"] || !ok["teams[].match.run_as[]"] {
			continue
		}
		key := "team"
		if ok["teams[].match.tags.<key>"] {
			key = v.Text
		}
		t.Run(v.Name, func(t *testing.T) {
			q := hostile.Quote
			spec := baseSpec + "unassigned_team: nobody\nteams:\n" +
				"  - {name: by_tag, match: {tags: {" + q(key) + ": " + q(v.Text) + "}}}\n" +
				"  - {name: by_identity, match: {run_as: [" + q(v.Text) + "]}}\n"
			jobs := newFixture().add(tJobs,
				job("200", "1", "load", map[string]string{key: v.Text}, nil),
				job("200", "2", "load", nil, R{"run_as_user_name": v.Text}),
				job("200", "3", "load", map[string]string{key: v.Text + "x"}, R{"creator_user_name": "x" + v.Text}),
			)
			e := runSpec(t, spec, jobs)
			expectRows(t, e, "jobs_current", []string{"job_id", "team"}, "", []R{
				{"job_id": "1", "team": "by_tag"},
				{"job_id": "2", "team": "by_identity"},
				{"job_id": "3", "team": "nobody"},
			})
		})
	}
}

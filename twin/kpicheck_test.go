package twin_test

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/spec"
	"github.com/dbmon/dbmon/synth"
	"github.com/dbmon/dbmon/twin"
)

const kpiSpecHead = `version: 1
bundle: {name: demo, catalog: main, schema: mon, warehouse: Shared}
teams:
  - name: core
    match: {tags: {team: core}}
kpis:
`

func kpiBundle(t testing.TB, kpis string) *model.Bundle {
	t.Helper()
	s, diags := spec.Load("spec.yaml", []byte(kpiSpecHead+kpis))
	if len(diags) > 0 {
		t.Fatalf("spec: %v", diags)
	}
	b, err := model.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// kpiSources are the tables the spec's JSON Schema allows as a KPI source.
func kpiSources(t *testing.T) []string {
	var schema struct {
		Defs struct {
			KPI struct {
				Properties struct {
					Source struct {
						Enum []string `json:"enum"`
					} `json:"source"`
				} `json:"properties"`
			} `json:"kpi"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(spec.SchemaJSON, &schema); err != nil {
		t.Fatal(err)
	}
	sources := schema.Defs.KPI.Properties.Source.Enum
	if len(sources) == 0 {
		t.Fatal("the schema's $defs.kpi.properties.source has no enum")
	}
	return sources
}

// TestCheckKPIsEverySource checks a KPI over every table a KPI may read:
// each is created empty from its declaration, and a valid expression over
// its last column is no problem.
func TestCheckKPIsEverySource(t *testing.T) {
	var kpis strings.Builder
	for _, name := range kpiSources(t) {
		pt, ok := model.PipelineTableByName(name)
		if !ok {
			t.Fatalf("KPI source %s is not a declared pipeline table", name)
		}
		col := pt.Columns[len(pt.Columns)-1].Name
		kpis.WriteString("  - {name: k_" + name + ", source: " + name + ", value: \"count(" + col + ")\"}\n")
	}
	b := kpiBundle(t, kpis.String())
	problems, err := twin.CheckKPIs(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Errorf("valid KPIs reported: %v", problems)
	}
}

// TestCheckKPIsProblems: each bad KPI is reported at its own path, the good
// ones between them are not, and the bundle is left as it was.
func TestCheckKPIsProblems(t *testing.T) {
	b := kpiBundle(t, `  - {name: ok, source: job_runs_enriched, value: "avg(duration_seconds)", by: team}
  - {name: typo, source: job_runs_enriched, value: "sum(cost_nett)"}
  - {name: wrong_by, source: cost_by_workspace, value: "sum(cost_net)", by: job}
  - {name: no_such_function, source: job_summary_daily, value: "median_absolute(p95_duration_seconds)"}
  - {name: type_error, source: sla_compliance, value: "sum(sla_name)"}
  - {name: ok_too, source: sla_compliance, value: "avg(case when met then 1.0 else 0.0 end)"}
`)
	before := append([]model.KPI(nil), b.Monitor.KPIs...)
	problems, err := twin.CheckKPIs(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		path    []any
		message string
	}{
		{[]any{"kpis", 1, "value"}, "column `cost_nett` does not exist in job_runs_enriched, did you mean `cost_net`?"},
		{[]any{"kpis", 2, "by"}, "by: job needs column job_id, which cost_by_workspace does not have"},
		{[]any{"kpis", 3, "value"}, "function `median_absolute` is not a Databricks SQL function dbmon knows"},
		{[]any{"kpis", 4, "value"}, "value does not run on sla_compliance: "},
	}
	if len(problems) != len(want) {
		t.Fatalf("got %d problems, want %d: %v", len(problems), len(want), problems)
	}
	for i, w := range want {
		if !reflect.DeepEqual(problems[i].Path, w.path) || !strings.HasPrefix(problems[i].Message, w.message) {
			t.Errorf("problem %d = %v %q, want %v %q…", i, problems[i].Path, problems[i].Message, w.path, w.message)
		}
	}
	if !reflect.DeepEqual(b.Monitor.KPIs, before) {
		t.Error("CheckKPIs changed the bundle's KPIs")
	}
}

// TestCheckKPIsMacros: values calling the Databricks functions the twin
// supplies as macros bind, together and one by one. The check creates only
// the macros a statement calls, so a macro it failed to create would show
// here as a problem.
func TestCheckKPIsMacros(t *testing.T) {
	b := kpiBundle(t, `  - {name: divide, source: job_runs_enriched, value: "avg(try_divide(cost_net, duration_seconds))"}
  - {name: dates, source: job_runs_enriched, value: "max(datediff(date_add(run_date, 1), date_sub(to_date(end_time), dayofweek(run_date))))"}
  - {name: strings, source: job_runs_enriched, value: "count(concat(substring(job_name, 0, 3), regexp_extract(team, 'a(b)'), regexp_replace(team, 'a', 'b')))"}
  - {name: split, source: job_runs_enriched, value: "max(size(split(job_name, ',')))"}
  - {name: seconds, source: job_runs_enriched, value: "max(unix_timestamp(start_time) - unix_seconds(end_time))"}
  - {name: zones, source: job_runs_enriched, value: "max(convert_timezone('UTC', from_utc_timestamp(start_time, 'Europe/Paris')))"}
  - {name: alone, source: job_runs_enriched, value: "max(to_utc_timestamp(timestamp_seconds(duration_seconds), 'Asia/Tokyo'))"}
  - {name: broken, source: job_runs_enriched, value: "max(date_add(run_dte, 1))"}
`)
	problems, err := twin.CheckKPIs(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || !reflect.DeepEqual(problems[0].Path, []any{"kpis", 7, "value"}) {
		t.Errorf("problems %v, want one, at kpis[7].value", problems)
	}
}

// TestKPIStart: the check started ahead reports what CheckKPIs reports;
// Close after Check, a second Check and Close without Check all work.
func TestKPIStart(t *testing.T) {
	b := kpiBundle(t, `  - {name: ok, source: job_runs_enriched, value: "avg(duration_seconds)", by: team}
  - {name: typo, source: job_runs_enriched, value: "sum(cost_nett)"}
`)
	want, err := twin.CheckKPIs(b)
	if err != nil {
		t.Fatal(err)
	}
	k := twin.StartKPICheck()
	for range 2 { // the second opens a database of its own
		got, err := k.Check(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("started check: %v, want %v", got, want)
		}
	}
	if err := k.Close(); err != nil {
		t.Errorf("Close after Check: %v", err)
	}
	unused := twin.StartKPICheck()
	if err := unused.Close(); err != nil {
		t.Errorf("Close without Check: %v", err)
	}
	if err := unused.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// A bundle with no KPI to try does not take the database: Check
	// closes it.
	none := twin.StartKPICheck()
	if got, err := none.Check(kpiBundle(t, "  []\n")); err != nil || len(got) > 0 {
		t.Errorf("no KPIs: %v, %v", got, err)
	}
	if err := none.Close(); err != nil {
		t.Errorf("Close after Check of no KPIs: %v", err)
	}
}

// TestCheckKPIsOrdinarySpec checks the 20 KPIs of an ordinary company's
// spec (every source shape of synth.BigSpec): none is a problem.
func TestCheckKPIsOrdinarySpec(t *testing.T) {
	s, diags := spec.Load("big.yaml", synth.BigSpec(synth.SpecOrdinary))
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	b, err := model.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	problems, err := twin.CheckKPIs(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Errorf("BigSpec's KPIs reported: %v", problems)
	}
}

// BenchmarkCheckKPIs checks the KPIs of the example spec (3), the ordinary
// spec (20) and the large one (200), as generate does: DuckDB opened and
// the tables created each time.
func BenchmarkCheckKPIs(b *testing.B) {
	example, err := os.ReadFile("../specs/example.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for _, sp := range []struct {
		name string
		data []byte
	}{{"example", example}, {"ordinary", synth.BigSpec(synth.SpecOrdinary)}, {"large", synth.BigSpec(synth.SpecLarge)}} {
		s, diags := spec.Load(sp.name+".yaml", sp.data)
		if len(diags) > 0 {
			b.Fatal(diags)
		}
		bundle, err := model.Build(s)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(sp.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := twin.CheckKPIs(bundle); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestCheckKPIsNotJoinedAcross: two values that would only make SQL
// together (one opens a bracket, the next closes it) are each a problem at
// its own path, as when checked alone, while the valid KPIs around them,
// checked jointly, are not.
func TestCheckKPIsNotJoinedAcross(t *testing.T) {
	b := kpiBundle(t, `  - {name: good, source: job_runs_enriched, value: "avg(duration_seconds)"}
  - {name: opens, source: job_runs_enriched, value: "sum(duration_seconds"}
  - {name: closes, source: job_runs_enriched, value: "cost_net)"}
  - {name: good_too, source: job_runs_enriched, value: "sum(cost_net)"}
`)
	problems, err := twin.CheckKPIs(b)
	if err != nil {
		t.Fatal(err)
	}
	var paths []any
	for _, p := range problems {
		paths = append(paths, p.Path)
	}
	want := []any{[]any{"kpis", 1, "value"}, []any{"kpis", 2, "value"}}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("problems at %v, want %v: %v", paths, want, problems)
	}
}

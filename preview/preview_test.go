package preview

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbmon/dbmon/generator"
	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/synth"
	"github.com/dbmon/dbmon/twin"
)

var asOf = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func prepare(t *testing.T, path string) *generator.Result {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, diags, err := generator.Prepare(path, data)
	if err != nil || len(diags) > 0 {
		t.Fatalf("%s: %v %v", path, err, diags)
	}
	return res
}

func f(v float64) *float64 { return &v }
func b(v bool) *bool       { return &v }

// TestPrint prints a hand-built report: every section, each KPI format,
// targets below, above and on both sides, and the cut of a long breakdown.
func TestPrint(t *testing.T) {
	r := &Report{File: "spec.yaml", Source: "a fixture", AsOf: asOf, Synthetic: true,
		Tables: []twin.TableRun{{Name: "jobs_current", Rows: 3}},
		SLAs: []twin.SLAStatus{{Name: "nightly", Severity: "critical", Jobs: 2, Checked: 14, Met: 13,
			Breaches: []string{"load on 2026-11-26: deadline"}}},
		Findings:  []twin.Finding{{Family: "job_failure", Detail: "run 1 failed"}},
		Alerts:    []twin.AlertResult{{Key: "job_failure_core", Fired: true, Rows: []twin.Finding{{}}}, {Key: "budget_all"}},
		Incidents: []synth.Incident{{Kind: "failure_streak", Team: "core", Detail: "three in a row"}},
		Footprint: []twin.FootprintRow{{Component: "pipeline", Method: "measured", DBUs: 117.6, CostNet: 28.93},
			{Component: "alerts", Method: "estimated", DBUs: 42.46, CostNet: 19.154}},
		FootprintFrom: asOf.AddDate(0, 0, -7), Currency: "EUR",
		Reports: []twin.ReportCopy{
			{Report: "digest", Dashboard: "executive_overview", Cron: "0 0 8 ? * MON", Timezone: "Europe/Berlin", Task: "send",
				Subscribers: []model.Subscriber{{UserName: "cfo@example.com", Destination: "leaders"}, {DestinationID: "7a1b", Destination: "slack"}},
				Datasets:    []twin.ReportDataset{{Name: "a", Rows: [][]any{{1}, {2}}}, {Name: "b"}}},
			{Report: "failures", Dashboard: "failure_analysis", Cron: "0 30 7 ? * MON-FRI", Timezone: "UTC", Task: "core", Team: "core",
				Subscribers: []model.Subscriber{{UserName: "core@example.com", Destination: "core-mail"}},
				Datasets:    []twin.ReportDataset{{Name: "a", Filtered: "team", Rows: [][]any{{1}}}, {Name: "kpi"}}},
			{Report: "failures", Dashboard: "failure_analysis", Cron: "0 30 7 ? * MON-FRI", Timezone: "UTC", Task: "web", Team: "web",
				Subscribers: []model.Subscriber{{DestinationID: "9c9c", Destination: "web-slack"}},
				Datasets:    []twin.ReportDataset{{Name: "a", Filtered: "team"}, {Name: "kpi"}}},
		},
	}
	r.KPIs = append(r.KPIs,
		twin.KPIValue{Name: "share", Format: "percent", Breakdown: "all", Value: f(0.25), TargetMax: f(0.1), OnTarget: b(false)},
		twin.KPIValue{Name: "cost", Format: "currency", Breakdown: "all", Value: f(12.345), TargetMin: f(10), TargetMax: f(20), OnTarget: b(true)},
		twin.KPIValue{Name: "p95", Format: "duration", Breakdown: "all", Value: f(90)},
		twin.KPIValue{Name: "none", Format: "number", Breakdown: "all", TargetMin: f(1)},
	)
	for i := range maxKPIRows + 2 {
		r.KPIs = append(r.KPIs, twin.KPIValue{Name: "runs", Format: "number", Breakdown: string(rune('a' + i)), Value: f(float64(i))})
	}
	var out strings.Builder
	r.Print(&out)
	want := `dbmon preview: spec.yaml on a fixture, as of 2026-11-27 12:00 UTC

Tables (rows)
  jobs_current                            3

KPIs
  share                        all                        25.00%  target ≤ 10.00%: OFF TARGET
  cost                         all                         12.35  target ≥ 10.00 and ≤ 20.00: on target
  p95                          all                         1m30s  
  none                         all                           n/a  target ≥ 1: on target
  runs                         a                               0  
  runs                         b                               1  
  runs                         c                               2  
  runs                         d                               3  
  runs                         e                               4  
  runs                         f                               5  
  runs                         g                               6  
  runs                         h                               7  
  runs                         ... and 2 more (see kpis.json with --export)

SLA compliance (last 7 days)
  nightly                      critical    2 jobs    13/14   job-days met  load on 2026-11-26: deadline

Findings (1)
  job_failure       -                run 1 failed

Alerts (1 of 2 would fire)
  job_failure_core                                   1 finding(s)

Reports (2 jobs, 3 e-mails)
  digest: executive_overview, 0 0 8 ? * MON (Europe/Berlin), next Mon 2026-11-30 08:00
    all teams                2 datasets, 2 rows
      to cfo@example.com, slack (destination 7a1b)
  failures: failure_analysis, 0 30 7 ? * MON-FRI (UTC), next Mon 2026-11-30 07:30
    team core                2 datasets, 1 rows (1 datasets filtered to the team)
      to core@example.com
    team web                 2 datasets, 0 rows (1 datasets filtered to the team)
      to web-slack (destination 9c9c)

The monitor itself (7 full days from 2026-11-20, net cost in EUR)
  pipeline     measured       117.6 DBU      28.93
  alerts       estimated       42.5 DBU      19.15
  total                       160.1 DBU      48.08

Injected incidents (1)
  failure_streak    core             three in a row
`
	if got := out.String(); got != want {
		t.Errorf("Print:\n%s\nwant:\n%s", got, want)
	}
}

// TestRunEmptyAndExport runs the example spec on empty system tables and
// exports it: every table's CSV, the JSON files (empty lists as []), and no
// incidents.json for data that is not synthetic.
func TestRunEmptyAndExport(t *testing.T) {
	res := prepare(t, "../specs/example.yaml")
	r, err := Run(context.Background(), res, Empty(), asOf)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.File != "../specs/example.yaml" || r.Source != "empty system tables" || !r.AsOf.Equal(asOf) || r.Synthetic {
		t.Errorf("heading fields: %q %q %v synthetic=%v", r.File, r.Source, r.AsOf, r.Synthetic)
	}
	if want := len(res.Bundle.Bronze) + len(res.Bundle.Tables); len(r.Tables) != want {
		t.Errorf("built %d tables, want %d", len(r.Tables), want)
	}
	// The example's one KPI is by team: no rows, no teams.
	if len(r.KPIs) != 0 || len(r.SLAs) != len(res.Bundle.Monitor.SLAs) || len(r.Alerts) != len(res.Bundle.Alerts) {
		t.Errorf("%d KPI rows, %d SLAs, %d alerts", len(r.KPIs), len(r.SLAs), len(r.Alerts))
	}
	dir := t.TempDir()
	if err := r.Export(dir); err != nil {
		t.Fatal(err)
	}
	for _, tb := range res.Bundle.Tables {
		if _, err := os.Stat(filepath.Join(dir, tb.Name+".csv")); err != nil {
			t.Error(err)
		}
	}
	if r.ExportedTables() != len(res.Bundle.Tables) {
		t.Errorf("ExportedTables = %d, want %d", r.ExportedTables(), len(res.Bundle.Tables))
	}
	data, err := os.ReadFile(filepath.Join(dir, "findings.json"))
	if err != nil || string(data) != "[]\n" {
		t.Errorf("findings.json = %q, %v; want []", data, err)
	}
	var alerts []twin.AlertResult
	data, err = os.ReadFile(filepath.Join(dir, "alerts.json"))
	if err != nil || json.Unmarshal(data, &alerts) != nil || len(alerts) != len(res.Bundle.Alerts) {
		t.Errorf("alerts.json: %d alerts, want %d (%v)", len(alerts), len(res.Bundle.Alerts), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "incidents.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("incidents.json for data that is not synthetic: %v", err)
	}
}

// TestRunStops: a failing source and a cancelled context end the run with
// their error.
func TestRunStops(t *testing.T) {
	res := prepare(t, "../specs/minimal.yaml")
	boom := errors.New("boom")
	if _, err := Run(context.Background(), res, Rows("a broken fixture", func(*twin.Engine) error { return boom }), asOf); !errors.Is(err, boom) {
		t.Errorf("failing source: %v, want %v", err, boom)
	}
	if _, err := Run(context.Background(), res, Dir(t.TempDir()), asOf); err == nil || !strings.Contains(err.Error(), "holds no system.<schema>.<table>") {
		t.Errorf("empty folder: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, res, Empty(), asOf); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want context.Canceled", err)
	}
}

// TestSyntheticSourceSizesTheTwin: a synthetic account gets the twin's
// memory for its size (twin.SyntheticMemory); exported tables keep the
// twin's default.
func TestSyntheticSourceSizesTheTwin(t *testing.T) {
	big := Synthetic(synth.Config{Jobs: 10_000, Days: 90})
	if want := twin.SyntheticMemory(10_000, 90); big.memory != want || want <= twin.DefaultMemory {
		t.Errorf("10,000 jobs x 90 days: memory %d, want %d (above the default %d)", big.memory, want, twin.DefaultMemory)
	}
	if d := Dir(t.TempDir()); d.memory != 0 {
		t.Errorf("Dir: memory %d, want 0 (the twin's default)", d.memory)
	}
}

package twin_test

// The gold history (generator/model/history.go) on the twin: months of
// pipeline refreshes and maintenance runs, with bronze and silver losing
// every row older than retention.detail_days, and the daily, weekly and
// monthly gold facts still answering for retention.aggregate_days with their
// closed periods unchanged, while a correction inside the lateness window
// still moves its day.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dbmon/dbmon/generator"
	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/twin"
)

// historySpec keeps 45 days of detail and 150 days of aggregates, so a
// test covers both windows in a few simulated months. The SLA gives
// sla_compliance rows; the budget gives budget_status its months.
const historySpec = baseSpec + `
retention: {detail_days: 45, aggregate_days: 150}
teams:
  - name: data
    match: {job_name: "^etl$"}
    monthly_budget: 1000
slas:
  - name: etl-by-8
    jobs: {names: [etl]}
    deadline: "08:00"
    severity: warning
`

const historySKU = "PREMIUM_JOBS_COMPUTE"

// historyDay is the fixture of one local (UTC) day: the etl run from 06:00
// to 06:50, failed every fifth day, its hour of usage (10 DBUs at 0.5/DBU:
// cost 5) on cluster c1, and ten minutes of c1's node timeline.
func historyDay(d time.Time) map[string][]R {
	run := "r" + d.Format("20060102")
	start := d.Add(6 * time.Hour)
	state, code := "SUCCEEDED", "SUCCESS"
	if d.YearDay()%5 == 0 {
		state, code = "FAILED", "RUN_EXECUTION_ERROR"
	}
	meta := R{"job_id": "1", "job_run_id": run, "cluster_id": "c1"}
	return map[string][]R{
		tRuns:  {slice("100", "1", run, start.Format("2006-01-02T15:04"), start.Add(50*time.Minute).Format("2006-01-02T15:04"), state, code)},
		tUsage: {usage("100", "u"+run, historySKU, start.Format("2006-01-02T15:04"), 10, meta, nil)},
		// ten minutes of the job's cluster, busier on later days of the month
		tNodes: nodeMinutes("i1", true, start.Format("2006-01-02T15:04"), 10, float64(d.Day()), 1),
	}
}

// historyFacts are the gold facts that keep their closed periods.
func historyFacts(t *testing.T) []model.PipelineTable {
	t.Helper()
	facts := model.HistoryTables()
	if len(facts) == 0 {
		t.Fatal("no gold fact keeps its history")
	}
	out := make([]model.PipelineTable, len(facts))
	for i, h := range facts {
		g, ok := model.PipelineTableByName(strings.TrimSuffix(h.Name, "_history"))
		if !ok {
			t.Fatalf("history table %s has no gold table", h.Name)
		}
		out[i] = g
	}
	return out
}

// goldText is every row of a gold table whose date is in [from, through], each row as the text of all its columns (NULL as \N), in key
// order: "byte-unchanged" compares these.
func goldText(t *testing.T, e *twin.Engine, g model.PipelineTable, from, through time.Time) []string {
	t.Helper()
	cols := make([]string, len(g.Columns))
	for i, c := range g.Columns {
		cols[i] = `coalesce(CAST("` + c.Name + `" AS VARCHAR), '\N')`
	}
	q := fmt.Sprintf(`SELECT concat_ws('|', %s) FROM %s WHERE "%s" BETWEEN DATE '%s' AND DATE '%s' ORDER BY %s`,
		strings.Join(cols, ", "), g.Name, g.DateColumn, from.Format("2006-01-02"), through.Format("2006-01-02"), strings.Join(g.Keys, ", "))
	rows, err := e.DB.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func queryDate(t *testing.T, e *twin.Engine, q string) time.Time {
	t.Helper()
	var d time.Time
	if err := e.DB.QueryRow(q).Scan(&d); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return d
}

func queryFloat(t *testing.T, e *twin.Engine, q string) float64 {
	t.Helper()
	var f float64
	if err := e.DB.QueryRow(q).Scan(&f); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return f
}

// historyRun is the simulated deployment: its engine and bundle.
type historyRun struct {
	t   *testing.T
	e   *twin.Engine
	res *generator.Result
}

// load appends fixture rows to the system tables.
func (h historyRun) load(rows map[string][]R) {
	h.t.Helper()
	l, err := h.e.Loader()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, table := range []string{tJobs, tPrices, tRuns, tUsage, tNodes} {
		for _, r := range rows[table] {
			vals, err := rowValues(table, r)
			if err == nil {
				err = l.Append(table, vals)
			}
			if err != nil {
				l.Close()
				h.t.Fatal(err)
			}
		}
	}
	if err := l.Close(); err != nil {
		h.t.Fatal(err)
	}
}

// cycle is one day of the deployment at asOf: the retention task has
// deleted every source row older than detail_days (so bronze and silver
// hold none), the pipeline refreshes, and the maintenance job keeps the
// periods that closed.
func (h historyRun) cycle(asOf time.Time) {
	h.t.Helper()
	h.e.AsOf = asOf
	cutoff := asOf.AddDate(0, 0, -h.res.Bundle.Retention.DetailDays).Format("2006-01-02 15:04:05")
	for _, del := range []string{
		"DELETE FROM " + twinSystem + "lakeflow.job_run_timeline WHERE period_end_time < TIMESTAMPTZ '" + cutoff + "+00'",
		"DELETE FROM " + twinSystem + "billing.usage WHERE usage_end_time < TIMESTAMPTZ '" + cutoff + "+00'",
		"DELETE FROM " + twinSystem + "compute.node_timeline WHERE end_time < TIMESTAMPTZ '" + cutoff + "+00'",
	} {
		if _, err := h.e.DB.Exec(del); err != nil {
			h.t.Fatalf("%s: %v", del, err)
		}
	}
	h.refresh()
	if err := h.e.PersistHistory(h.res.Bundle, asOf); err != nil {
		h.t.Fatal(err)
	}
}

func (h historyRun) refresh() {
	h.t.Helper()
	if _, err := h.e.RunPipeline(h.res.Bundle, h.res.Files); err != nil {
		h.t.Fatal(err)
	}
}

// twinSystem is where the twin keeps the system catalog's tables (the
// pipeline's "system." names are translated to it).
const twinSystem = "dbx_system."

func TestHistory_GoldOutlivesDetail(t *testing.T) {
	res, diags, err := generator.Prepare("spec.yaml", []byte(historySpec))
	if err != nil || len(diags) > 0 {
		t.Fatalf("spec: %v %v", err, diags)
	}
	first := day("2026-06-01")
	start := day("2026-08-01").Add(12 * time.Hour) // the first maintenance run
	end := day("2026-11-27").Add(12 * time.Hour)   // "now" at the end
	e, err := twin.Open(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	h := historyRun{t: t, e: e, res: res}
	h.load(map[string][]R{
		tJobs:   {job("100", "1", "etl", nil, R{"change_time": ts("2026-05-01T00:00")})},
		tPrices: {price(historySKU, "AZURE", "2026-01-01T00:00", "", 0.5)},
	})

	// Weekly maintenance runs from 2026-08-01 to 2026-11-27 (a month is
	// kept on one of the days from 7 days after its end to detail_days - 2
	// after its start, so a weekly run meets every month), each after the
	// days up to it have arrived.
	// The aggregate window at the end: its first day.
	aggStart := end.Truncate(24*time.Hour).AddDate(0, 0, -res.Bundle.Retention.AggregateDays)
	var runs []time.Time
	for at := start; at.Before(end); at = at.AddDate(0, 0, 7) {
		runs = append(runs, at)
	}
	runs = append(runs, end)
	loaded := first
	snapshotAt := day("2026-09-26").Add(12 * time.Hour)
	var snapshot map[string][]string
	through := map[string]time.Time{}
	for _, at := range runs {
		for ; loaded.Before(at.Truncate(24 * time.Hour)); loaded = loaded.AddDate(0, 0, 1) {
			h.load(historyDay(loaded))
		}
		h.cycle(at)
		if at.Equal(snapshotAt) {
			// What gold says about every period kept so far.
			snapshot = map[string][]string{}
			for _, g := range historyFacts(t) {
				through[g.Name] = queryDate(t, e, "SELECT coalesce(max("+g.DateColumn+"), DATE '1970-01-01') FROM "+model.HistoryName(g.Name))
				snapshot[g.Name] = goldText(t, e, g, aggStart, through[g.Name])
			}
		}
	}
	if snapshot == nil {
		t.Fatal("no snapshot taken")
	}
	oldest := queryDate(t, e, "SELECT min(usage_date) FROM cost_by_workspace")
	t.Logf("at %s gold's oldest day is %s: cost_by_workspace %v, job_summary_daily %v runs; silver's oldest run_date %s",
		end.Format("2006-01-02 15:04"), oldest.Format("2006-01-02"),
		queryFloat(t, e, "SELECT sum(cost_net) FROM cost_by_workspace WHERE usage_date = DATE '"+oldest.Format("2006-01-02")+"'"),
		queryFloat(t, e, "SELECT sum(total_runs) FROM job_summary_daily WHERE run_date = DATE '"+oldest.Format("2006-01-02")+"'"),
		queryDate(t, e, "SELECT min(run_date) FROM job_runs_enriched").Format("2006-01-02"))

	// Bronze and silver hold detail_days only ...
	detailStart := end.AddDate(0, 0, -res.Bundle.Retention.DetailDays)
	if got := queryDate(t, e, "SELECT min(run_date) FROM job_runs_enriched"); got.Before(detailStart.Truncate(24 * time.Hour)) {
		t.Errorf("silver still holds %s, before the detail window (%s)", got.Format("2006-01-02"), detailStart.Format("2006-01-02"))
	}
	// ... while gold answers for aggregate_days: its oldest day is the
	// first of the aggregate window (the data reaches back further).
	for _, q := range []string{
		"SELECT min(run_date) FROM job_summary_daily",
		"SELECT min(usage_date) FROM cost_by_workspace",
		"SELECT min(usage_date) FROM cost_by_job_sku",
		"SELECT min(period_date) FROM sla_compliance",
		"SELECT min(usage_date) FROM cluster_efficiency",
	} {
		if got := queryDate(t, e, q); !got.Equal(aggStart) {
			t.Errorf("%s = %s, want the start of the aggregate window %s", q, got.Format("2006-01-02"), aggStart.Format("2006-01-02"))
		}
	}
	// Every day of the aggregate window is there once, history and live
	// joined without a gap or an overlap.
	var days, rows int
	if err := e.DB.QueryRow("SELECT count(DISTINCT run_date), count(*) FROM job_summary_daily").Scan(&days, &rows); err != nil {
		t.Fatal(err)
	}
	wantDays := int(end.Truncate(24*time.Hour).Sub(aggStart).Hours() / 24) // aggStart .. yesterday
	if days != wantDays || rows != wantDays {
		t.Errorf("job_summary_daily has %d days in %d rows, want %d days in as many rows", days, rows, wantDays)
	}
	if got := queryFloat(t, e, "SELECT sum(failed_runs) FROM job_summary_daily WHERE run_date < DATE '"+detailStart.Format("2006-01-02")+"'"); got == 0 {
		t.Error("no failed run counted before the detail window: history lost the failures")
	}
	if got := queryFloat(t, e, "SELECT coalesce(sum(failures), 0) FROM failure_analysis WHERE run_date < DATE '"+detailStart.Format("2006-01-02")+"'"); got == 0 {
		t.Error("failure_analysis lost the failures before the detail window")
	}
	if got := queryDate(t, e, "SELECT min(month) FROM budget_status_history"); !got.Equal(day("2026-07-01")) {
		t.Errorf("oldest kept month = %s, want 2026-07-01 (June's start was never in a whole detail window)", got.Format("2006-01-02"))
	}
	if got := queryDate(t, e, "SELECT min(week_start) FROM trend_metrics"); got.Before(aggStart.AddDate(0, 0, -1)) {
		t.Errorf("trend_metrics reaches back to %s, before the aggregate window", got.Format("2006-01-02"))
	}

	// The periods kept by 2026-09-26 are byte-for-byte what gold said then,
	// two months after their detail rows were deleted (compared from the
	// first day of the aggregate window at the end: older ones have aged
	// out of gold since).
	for _, g := range historyFacts(t) {
		if len(snapshot[g.Name]) == 0 {
			t.Errorf("%s: no kept period to compare", g.Name)
		}
		if diff := cmp.Diff(snapshot[g.Name], goldText(t, e, g, aggStart, through[g.Name])); diff != "" {
			t.Errorf("%s through %s changed since 2026-09-26 (-then +now):\n%s", g.Name, through[g.Name].Format("2006-01-02"), diff)
		}
	}

	// A RESTATEMENT for a day inside the lateness window (3 days ago) still
	// changes it: 10 DBUs retracted, 14 restated, cost 5 -> 7.
	open := day("2026-11-24")
	closed := day("2026-11-10")
	costOf := func(d time.Time) float64 {
		return queryFloat(t, e, "SELECT sum(cost_net) FROM cost_by_workspace WHERE usage_date = DATE '"+d.Format("2006-01-02")+"'")
	}
	if got := costOf(open); got != 5 {
		t.Fatalf("cost of %s before the correction = %v, want 5", open.Format("2006-01-02"), got)
	}
	closedBefore := costOf(closed)
	var corrections []R
	for _, d := range []time.Time{open, closed} {
		run := "r" + d.Format("20060102")
		at := d.Add(6 * time.Hour).Format("2006-01-02T15:04")
		meta := R{"job_id": "1", "job_run_id": run}
		corrections = append(corrections,
			usage("100", "x"+run, historySKU, at, -10, meta, R{"record_type": "RETRACTION"}),
			usage("100", "y"+run, historySKU, at, 14, meta, R{"record_type": "RESTATEMENT"}))
	}
	h.load(map[string][]R{tUsage: corrections})
	h.refresh()
	if got := costOf(open); got != 7 {
		t.Errorf("cost of %s after its RESTATEMENT = %v, want 7: a day inside the lateness window must still change", open.Format("2006-01-02"), got)
	}
	// A closed day is kept as it closed: a correction 17 days late does not
	// rewrite history (its detail rows still show it, in silver).
	if got := costOf(closed); got != closedBefore {
		t.Errorf("cost of the closed day %s moved from %v to %v", closed.Format("2006-01-02"), closedBefore, got)
	}
}

package twin_test

// Semantic tests of the generated pipeline SQL: each case builds a handful of
// system-table rows by hand, runs the pipeline of an inline spec on the twin
// and compares silver and gold rows with values worked out by hand from the
// documented semantics (shared/design/tables.md, reference/system-tables.md
// §3 and the column comments of generator/model/tables.go). The expected
// values are never computed by the code under test.

import (
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/dbmon/dbmon/generator"
	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/twin"
)

// semAsOf is "now" of every case: Friday 2026-11-27 12:00 UTC.
var semAsOf = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// baseSpec is the smallest valid spec; cases append what they need.
const baseSpec = "version: 1\nbundle: {name: t, catalog: c, schema: s, warehouse: w}\n"

const (
	tJobs     = "system.lakeflow.jobs"
	tRuns     = "system.lakeflow.job_run_timeline"
	tTasks    = "system.lakeflow.job_task_run_timeline"
	tUsage    = "system.billing.usage"
	tPrices   = "system.billing.list_prices"
	tClusters = "system.compute.clusters"
	tNodes    = "system.compute.node_timeline"
)

// R is one row by column name: a fixture row (missing columns are NULL) or an
// expected row (exactly the selected columns).
type R = map[string]any

// ts parses a UTC timestamp written "2006-01-02T15:04".
func ts(s string) time.Time {
	t, err := time.Parse("2006-01-02T15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

// day parses a date written "2006-01-02" (midnight UTC, as DuckDB returns DATEs).
func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func with(base R, extra R) R {
	out := R{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// ---------------------------------------------------------------------------
// Fixture rows

// job is one system.lakeflow.jobs version.
func job(ws, id, name string, tags map[string]string, extra R) R {
	r := R{"account_id": "acc", "workspace_id": ws, "job_id": id, "name": name,
		"change_time": ts("2026-11-01T00:00"), "create_time": ts("2026-11-01T00:00")}
	if tags != nil {
		r["tags"] = tags
	}
	return with(r, extra)
}

// slice is one job_run_timeline row; state and code are nil on a non-terminal slice.
func slice(ws, jobID, run, start, end string, state, code any) R {
	return R{"account_id": "acc", "workspace_id": ws, "job_id": jobID, "run_id": run,
		"period_start_time": ts(start), "period_end_time": ts(end),
		"trigger_type": "CRON", "run_type": "JOB_RUN", "result_state": state, "termination_code": code}
}

// usage is one hourly system.billing.usage record starting at start, on AZURE in DBUs.
func usage(ws, record, sku, start string, qty float64, meta R, extra R) R {
	s := ts(start)
	return with(R{"account_id": "acc", "workspace_id": ws, "record_id": record, "sku_name": sku,
		"cloud": "AZURE", "usage_start_time": s, "usage_end_time": s.Add(time.Hour),
		"usage_date": time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, time.UTC),
		"usage_unit": "DBU", "usage_quantity": qty, "usage_metadata": meta,
		"record_type": "ORIGINAL", "billing_origin_product": "JOBS"}, extra)
}

// price is one list_prices row; end "" is an open (current) price.
func price(sku, cloud, start, end string, p float64) R {
	var endTime any
	if end != "" {
		endTime = ts(end)
	}
	return R{"account_id": "acc", "price_start_time": ts(start), "price_end_time": endTime,
		"sku_name": sku, "cloud": cloud, "currency_code": "USD", "usage_unit": "DBU",
		"pricing": map[string]any{"default": p, "promotional": map[string]any{"default": nil},
			"effective_list": map[string]any{"default": p}}}
}

// ---------------------------------------------------------------------------
// Harness

// fixture collects system-table rows and raw SQL (for the collector's table).
type fixture struct {
	rows  map[string][]R
	order []string
	sql   []string
}

func newFixture() *fixture { return &fixture{rows: map[string][]R{}} }

func (f *fixture) add(table string, rows ...R) *fixture {
	if _, ok := f.rows[table]; !ok {
		f.order = append(f.order, table)
	}
	f.rows[table] = append(f.rows[table], rows...)
	return f
}

func (f *fixture) exec(sql string) *fixture {
	f.sql = append(f.sql, sql)
	return f
}

// rowValues turns a row by name into one value per declared column of the
// system table, in declaration order; an unknown column name is an error.
func rowValues(table string, r R) ([]any, error) {
	tab, ok := twin.SystemTable(table)
	if !ok {
		return nil, fmt.Errorf("no system table %s", table)
	}
	for k := range r {
		if _, ok := tab.Column(k); !ok {
			return nil, fmt.Errorf("%s has no column %s", table, k)
		}
	}
	out := make([]any, len(tab.Columns))
	for i, c := range tab.Columns {
		out[i] = r[c.Name]
	}
	return out, nil
}

// runSpec renders the spec, loads the fixture into a fresh twin and runs the
// whole pipeline.
func runSpec(t *testing.T, specYAML string, f *fixture) *twin.Engine {
	t.Helper()
	res, diags, err := generator.Prepare("spec.yaml", []byte(specYAML))
	if err != nil || len(diags) > 0 {
		t.Fatalf("spec: %v %v", err, diags)
	}
	e, err := twin.Open(semAsOf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	l, err := e.Loader()
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range f.order {
		for _, r := range f.rows[table] {
			vals, err := rowValues(table, r)
			if err != nil {
				l.Close()
				t.Fatal(err)
			}
			if err := l.Append(table, vals); err != nil {
				l.Close()
				t.Fatal(err)
			}
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, s := range f.sql {
		if _, err := e.DB.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if _, err := e.RunPipeline(res.Bundle, res.Files); err != nil {
		t.Fatal(err)
	}
	return e
}

// normalize maps what the DuckDB driver returns to plain Go values.
func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return int64(x)
	case *big.Int:
		return x.Int64()
	case float32:
		return float64(x)
	case duckdb.Decimal:
		return x.Float64()
	case []byte:
		return string(x)
	case duckdb.OrderedMap:
		m := map[string]string{}
		keys, vals := x.Keys(), x.Values()
		for i := range keys {
			m[fmt.Sprint(keys[i])] = fmt.Sprint(vals[i])
		}
		return m
	case duckdb.Map:
		m := map[string]string{}
		for k, val := range x {
			m[fmt.Sprint(k)] = fmt.Sprint(val)
		}
		return m
	case []any:
		s := make([]string, len(x))
		for i, e := range x {
			s[i] = fmt.Sprint(e)
		}
		return s
	}
	return v
}

// expectRows selects cols from table (optionally filtered by where), ordered
// by the table's keys, and compares them with want.
func expectRows(t *testing.T, e *twin.Engine, table string, cols []string, where string, want []R) {
	t.Helper()
	tab, ok := model.PipelineTableByName(table)
	if !ok {
		t.Fatalf("no pipeline table %s", table)
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = `"` + c + `"`
	}
	keys := make([]string, len(tab.Keys))
	for i, k := range tab.Keys {
		keys[i] = `"` + k + `"`
	}
	q := "SELECT " + strings.Join(quoted, ", ") + " FROM " + table
	if where != "" {
		q += " WHERE " + where
	}
	q += " ORDER BY " + strings.Join(keys, ", ")
	rows, err := e.DB.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	got := []R{}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		r := R{}
		for i, c := range cols {
			r[c] = normalize(vals[i])
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	norm := make([]R, len(want))
	for i, w := range want {
		norm[i] = R{}
		for _, c := range cols {
			v, present := w[c]
			if !present {
				t.Fatalf("expected row %d of %s lacks column %s", i, table, c)
			}
			norm[i][c] = normalize(v)
		}
		for c := range w {
			if !slices.Contains(cols, c) {
				t.Fatalf("expected row %d of %s has unselected column %s", i, table, c)
			}
		}
	}
	if diff := cmp.Diff(norm, got, cmpopts.EquateApprox(1e-9, 1e-9)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", q, diff)
	}
}

// colsOf lists the keys of an expected row, sorted: handy when every expected
// row has the same columns.
func colsOf(r R) []string {
	out := make([]string, 0, len(r))
	for k := range r {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ---------------------------------------------------------------------------
// 1. Hourly slicing

func TestSemantics_HourlySlicing(t *testing.T) {
	f := newFixture().
		add(tJobs, job("100", "1", "nightly", nil, nil)).
		add(tRuns,
			// A run 06:17 -> 08:40 sliced at clock hours; only the last slice is terminal.
			slice("100", "1", "r1", "2026-11-25T06:17", "2026-11-25T07:00", nil, nil),
			slice("100", "1", "r1", "2026-11-25T07:00", "2026-11-25T08:00", nil, nil),
			slice("100", "1", "r1", "2026-11-25T08:00", "2026-11-25T08:40", "SUCCEEDED", "SUCCESS"),
			// A run still in progress: no terminal row yet.
			slice("100", "1", "r2", "2026-11-27T10:00", "2026-11-27T11:00", nil, nil),
		)
	e := runSpec(t, baseSpec, f)
	want := []R{
		{"workspace_id": "100", "job_id": "1", "run_id": "r1", "job_name": "nightly", "team": "unassigned",
			"start_time": ts("2026-11-25T06:17"), "end_time": ts("2026-11-25T08:40"), "run_date": day("2026-11-25"),
			"duration_seconds": 8580, "result_state": "SUCCEEDED", "is_success": true, "is_failure": false,
			"repair_count": 0, "termination_code": "SUCCESS", "trigger_type": "CRON", "run_type": "JOB_RUN"},
		{"workspace_id": "100", "job_id": "1", "run_id": "r2", "job_name": "nightly", "team": "unassigned",
			"start_time": ts("2026-11-27T10:00"), "end_time": ts("2026-11-27T11:00"), "run_date": day("2026-11-27"),
			"duration_seconds": 3600, "result_state": nil, "is_success": false, "is_failure": false,
			"repair_count": 0, "termination_code": nil, "trigger_type": "CRON", "run_type": "JOB_RUN"},
	}
	expectRows(t, e, "job_runs_enriched", colsOf(want[0]), "", want)
}

// ---------------------------------------------------------------------------
// 2. Repairs

func TestSemantics_Repairs(t *testing.T) {
	f := newFixture().
		add(tJobs, job("100", "1", "etl", nil, nil)).
		add(tRuns,
			// rA: FAILED at 10:00, repaired: SUCCEEDED at 10:50.
			slice("100", "1", "rA", "2026-11-25T09:00", "2026-11-25T10:00", "FAILED", "RUN_EXECUTION_ERROR"),
			slice("100", "1", "rA", "2026-11-25T10:30", "2026-11-25T10:50", "SUCCEEDED", "SUCCESS"),
			// rB: FAILED, repaired, FAILED again.
			slice("100", "1", "rB", "2026-11-25T11:00", "2026-11-25T11:30", "FAILED", "RUN_EXECUTION_ERROR"),
			slice("100", "1", "rB", "2026-11-25T12:00", "2026-11-25T12:10", "FAILED", "DRIVER_ERROR"),
			// rC: a plain success.
			slice("100", "1", "rC", "2026-11-25T13:00", "2026-11-25T13:20", "SUCCEEDED", "SUCCESS"),
			// The next day: one finished run and one in progress.
			slice("100", "1", "rD", "2026-11-26T08:00", "2026-11-26T08:30", "SUCCEEDED", "SUCCESS"),
			slice("100", "1", "rE", "2026-11-26T10:00", "2026-11-26T11:00", nil, nil),
		)
	e := runSpec(t, baseSpec, f)

	runCols := []string{"run_id", "result_state", "is_success", "is_failure", "repair_count", "termination_code",
		"start_time", "end_time", "duration_seconds"}
	expectRows(t, e, "job_runs_enriched", runCols, "run_id IN ('rA', 'rB')", []R{
		{"run_id": "rA", "result_state": "SUCCEEDED", "is_success": true, "is_failure": false, "repair_count": 1,
			"termination_code": "SUCCESS", "start_time": ts("2026-11-25T09:00"), "end_time": ts("2026-11-25T10:50"),
			"duration_seconds": 3600 + 1200},
		{"run_id": "rB", "result_state": "FAILED", "is_success": false, "is_failure": true, "repair_count": 1,
			"termination_code": "DRIVER_ERROR", "start_time": ts("2026-11-25T11:00"), "end_time": ts("2026-11-25T12:10"),
			"duration_seconds": 1800 + 600},
	})

	// 11-25: rA (4800 s), rB (2400 s), rC (1200 s). p95 of [1200, 2400, 4800]
	// interpolated: rank 0.95*2 = 1.9 -> 2400 + 0.9*(4800-2400) = 4560.
	// 11-26: rD only; the in-progress rE is not a finished run.
	sumCols := []string{"run_date", "workspace_id", "team", "job_id", "job_name", "total_runs", "successful_runs",
		"failed_runs", "success_rate", "avg_duration_seconds", "p95_duration_seconds", "repairs"}
	expectRows(t, e, "job_summary_daily", sumCols, "", []R{
		{"run_date": day("2026-11-25"), "workspace_id": "100", "team": "unassigned", "job_id": "1", "job_name": "etl",
			"total_runs": 3, "successful_runs": 2, "failed_runs": 1, "success_rate": 200.0 / 3.0,
			"avg_duration_seconds": 2800.0, "p95_duration_seconds": 4560.0, "repairs": 2},
		{"run_date": day("2026-11-26"), "workspace_id": "100", "team": "unassigned", "job_id": "1", "job_name": "etl",
			"total_runs": 1, "successful_runs": 1, "failed_runs": 0, "success_rate": 100.0,
			"avg_duration_seconds": 1800.0, "p95_duration_seconds": 1800.0, "repairs": 0},
	})
}

// ---------------------------------------------------------------------------
// 3. SCD2 jobs

func TestSemantics_SCD2(t *testing.T) {
	f := newFixture().
		add(tJobs,
			// Newest version first: the order rows arrive in must not matter.
			job("100", "1", "new_name", map[string]string{"v": "2"}, R{"change_time": ts("2026-11-22T00:00"),
				"run_as_user_name": "new@acme.com", "creator_user_name": "c@acme.com"}),
			job("100", "1", "old_name", map[string]string{"v": "1"}, R{"change_time": ts("2026-11-20T00:00"),
				"run_as_user_name": "old@acme.com", "creator_user_name": "c@acme.com"}),
			job("100", "2", "gone", nil, R{"change_time": ts("2026-11-20T00:00")}),
			job("100", "2", "gone", nil, R{"change_time": ts("2026-11-23T00:00"), "delete_time": ts("2026-11-23T00:00")}),
		).
		add(tRuns,
			// Ran before the rename: still reported under the latest name.
			slice("100", "1", "r1", "2026-11-21T06:00", "2026-11-21T06:10", "SUCCEEDED", "SUCCESS"),
			slice("100", "1", "r2", "2026-11-24T06:00", "2026-11-24T06:10", "SUCCEEDED", "SUCCESS"),
		)
	e := runSpec(t, baseSpec, f)
	expectRows(t, e, "jobs_current",
		[]string{"workspace_id", "job_id", "job_name", "team", "tags", "run_as", "creator", "is_deleted", "change_time"}, "",
		[]R{
			{"workspace_id": "100", "job_id": "1", "job_name": "new_name", "team": "unassigned",
				"tags": map[string]string{"v": "2"}, "run_as": "new@acme.com", "creator": "c@acme.com",
				"is_deleted": false, "change_time": ts("2026-11-22T00:00")},
			{"workspace_id": "100", "job_id": "2", "job_name": "gone", "team": "unassigned",
				"tags": nil, "run_as": nil, "creator": nil,
				"is_deleted": true, "change_time": ts("2026-11-23T00:00")},
		})
	expectRows(t, e, "job_runs_enriched", []string{"run_id", "job_name"}, "", []R{
		{"run_id": "r1", "job_name": "new_name"},
		{"run_id": "r2", "job_name": "new_name"},
	})
}

// ---------------------------------------------------------------------------
// 4. Workspace-scoped keys

const workspaceKeysSpec = baseSpec + `
teams:
  - {name: ta, match: {tags: {team: a}}}
  - {name: tb, match: {tags: {team: b}}}
`

func TestSemantics_WorkspaceKeys(t *testing.T) {
	f := newFixture().
		add(tJobs,
			job("100", "42", "alpha", map[string]string{"team": "a"}, nil),
			job("200", "42", "beta", map[string]string{"team": "b"}, nil),
		).
		add(tRuns,
			// The same job id and even the same run id in both workspaces.
			slice("100", "42", "7", "2026-11-25T06:00", "2026-11-25T06:10", "SUCCEEDED", "SUCCESS"),
			slice("200", "42", "7", "2026-11-25T07:00", "2026-11-25T07:20", "FAILED", "RUN_EXECUTION_ERROR"),
		).
		add(tUsage,
			usage("100", "u1", "PREMIUM_JOBS_COMPUTE", "2026-11-25T06:00", 1, R{"job_id": "42", "job_run_id": "7"}, nil),
			usage("200", "u2", "PREMIUM_JOBS_COMPUTE", "2026-11-25T07:00", 3, R{"job_id": "42", "job_run_id": "7"}, nil),
		).
		add(tPrices, price("PREMIUM_JOBS_COMPUTE", "AZURE", "2026-01-01T00:00", "", 0.5))
	e := runSpec(t, workspaceKeysSpec, f)
	expectRows(t, e, "jobs_current", []string{"workspace_id", "job_id", "job_name", "team"}, "", []R{
		{"workspace_id": "100", "job_id": "42", "job_name": "alpha", "team": "ta"},
		{"workspace_id": "200", "job_id": "42", "job_name": "beta", "team": "tb"},
	})
	expectRows(t, e, "job_runs_enriched",
		[]string{"workspace_id", "job_id", "run_id", "job_name", "team", "duration_seconds", "result_state", "cost_list"}, "",
		[]R{
			{"workspace_id": "100", "job_id": "42", "run_id": "7", "job_name": "alpha", "team": "ta",
				"duration_seconds": 600, "result_state": "SUCCEEDED", "cost_list": 0.5},
			{"workspace_id": "200", "job_id": "42", "run_id": "7", "job_name": "beta", "team": "tb",
				"duration_seconds": 1200, "result_state": "FAILED", "cost_list": 1.5},
		})
	expectRows(t, e, "billing_enriched", []string{"workspace_id", "record_id", "team"}, "", []R{
		{"workspace_id": "100", "record_id": "u1", "team": "ta"},
		{"workspace_id": "200", "record_id": "u2", "team": "tb"},
	})
}

// ---------------------------------------------------------------------------
// 5. Price windows

func TestSemantics_PriceWindow(t *testing.T) {
	const sku = "PREMIUM_JOBS_COMPUTE"
	f := newFixture().
		add(tPrices,
			price(sku, "AZURE", "2026-11-01T00:00", "2026-11-25T00:00", 0.30),
			price(sku, "AZURE", "2026-11-25T00:00", "", 0.35),
			price(sku, "AWS", "2026-11-01T00:00", "", 9.99), // another cloud: never matches AZURE usage
		).
		add(tUsage,
			usage("100", "u1", sku, "2026-11-24T23:00", 2, R{"job_id": "1"}, nil),
			usage("100", "u2", sku, "2026-11-25T00:00", 1, R{"job_id": "1"}, nil), // on the boundary: the new price
			usage("100", "u3", sku, "2026-11-25T01:00", 2, R{"job_id": "1"}, nil),
		)
	e := runSpec(t, baseSpec, f)
	cols := []string{"record_id", "usage_date", "usage_start_time", "dbus", "list_price", "cost_list", "cost_net", "discount_percent"}
	expectRows(t, e, "billing_enriched", cols, "", []R{
		{"record_id": "u1", "usage_date": day("2026-11-24"), "usage_start_time": ts("2026-11-24T23:00"), "dbus": 2.0,
			"list_price": 0.30, "cost_list": 0.60, "cost_net": 0.60, "discount_percent": 0.0},
		{"record_id": "u2", "usage_date": day("2026-11-25"), "usage_start_time": ts("2026-11-25T00:00"), "dbus": 1.0,
			"list_price": 0.35, "cost_list": 0.35, "cost_net": 0.35, "discount_percent": 0.0},
		{"record_id": "u3", "usage_date": day("2026-11-25"), "usage_start_time": ts("2026-11-25T01:00"), "dbus": 2.0,
			"list_price": 0.35, "cost_list": 0.70, "cost_net": 0.70, "discount_percent": 0.0},
	})
}

// ---------------------------------------------------------------------------
// 6. Billing corrections

func TestSemantics_Corrections(t *testing.T) {
	const sku = "PREMIUM_JOBS_COMPUTE"
	meta := R{"job_id": "1", "job_run_id": "r1"}
	f := newFixture().
		add(tJobs, job("100", "1", "etl", nil, nil)).
		add(tRuns, slice("100", "1", "r1", "2026-11-25T06:00", "2026-11-25T06:50", "SUCCEEDED", "SUCCESS")).
		add(tPrices, price(sku, "AZURE", "2026-11-01T00:00", "", 0.5)).
		add(tUsage,
			usage("100", "u1", sku, "2026-11-25T06:00", 10, meta, nil),
			usage("100", "u2", sku, "2026-11-25T06:00", -10, meta, R{"record_type": "RETRACTION"}),
			usage("100", "u3", sku, "2026-11-25T06:00", 8, meta, R{"record_type": "RESTATEMENT"}),
		)
	e := runSpec(t, baseSpec, f)
	expectRows(t, e, "job_runs_enriched", []string{"run_id", "cost_list", "cost_net"}, "", []R{
		{"run_id": "r1", "cost_list": 4.0, "cost_net": 4.0},
	})
	expectRows(t, e, "cost_allocated",
		[]string{"usage_date", "workspace_id", "team", "job_id", "sku_name", "dbus", "cost_list", "cost_net", "allocation_method"}, "",
		[]R{
			{"usage_date": day("2026-11-25"), "workspace_id": "100", "team": "unassigned", "job_id": "1", "sku_name": sku,
				"dbus": 8.0, "cost_list": 4.0, "cost_net": 4.0, "allocation_method": "direct"},
		})
}

// ---------------------------------------------------------------------------
// 7. Discounts

const discountSpec = baseSpec + `
pricing:
  discount_percent: 10
  sku_discounts: {PREMIUM_JOBS: 20, PREMIUM_JOBS_SERVERLESS: 30}
`

func TestSemantics_Discounts(t *testing.T) {
	skus := []string{"PREMIUM_JOBS_SERVERLESS_COMPUTE_EUROPE_WEST", "PREMIUM_JOBS_COMPUTE", "PREMIUM_ALL_PURPOSE_COMPUTE"}
	f := newFixture()
	for i, sku := range skus {
		f.add(tPrices, price(sku, "AZURE", "2026-11-01T00:00", "", 0.5))
		f.add(tUsage, usage("100", fmt.Sprintf("u%d", i+1), sku, "2026-11-25T06:00", 10, R{}, nil))
	}
	e := runSpec(t, discountSpec, f)
	cols := []string{"record_id", "sku_name", "cost_list", "discount_percent", "cost_net"}
	expectRows(t, e, "billing_enriched", cols, "", []R{
		{"record_id": "u1", "sku_name": skus[0], "cost_list": 5.0, "discount_percent": 30.0, "cost_net": 3.5},
		{"record_id": "u2", "sku_name": skus[1], "cost_list": 5.0, "discount_percent": 20.0, "cost_net": 4.0},
		{"record_id": "u3", "sku_name": skus[2], "cost_list": 5.0, "discount_percent": 10.0, "cost_net": 4.5},
	})
}

// ---------------------------------------------------------------------------
// 8. All-purpose cluster cost apportioned by task time

const apportionSpec = baseSpec + `
teams:
  - {name: ta, match: {tags: {team: a}}}
  - {name: tb, match: {tags: {team: b}}}
`

func TestSemantics_AllPurposeApportioned(t *testing.T) {
	const sku = "PREMIUM_ALL_PURPOSE_COMPUTE"
	task := func(jobID, taskRun, jobRun, start, end string) R {
		return R{"account_id": "acc", "workspace_id": "100", "job_id": jobID, "run_id": taskRun, "job_run_id": jobRun,
			"period_start_time": ts(start), "period_end_time": ts(end), "task_key": "main",
			"compute_ids": []string{"c1"}, "result_state": "SUCCEEDED"}
	}
	f := newFixture().
		add(tJobs,
			job("100", "1", "job_a", map[string]string{"team": "a"}, nil),
			job("100", "2", "job_b", map[string]string{"team": "b"}, nil),
		).
		add(tClusters, R{"account_id": "acc", "workspace_id": "100", "cluster_id": "c1", "cluster_name": "shared",
			"cluster_source": "UI", "change_time": ts("2026-11-01T00:00"), "create_time": ts("2026-11-01T00:00")}).
		add(tTasks,
			task("1", "t1", "ra", "2026-11-25T09:10", "2026-11-25T09:40"), // 30 min
			task("2", "t2", "rb", "2026-11-25T09:40", "2026-11-25T09:50"), // 10 min
		).
		add(tPrices, price(sku, "AZURE", "2026-11-01T00:00", "", 0.5)).
		add(tUsage,
			usage("100", "u1", sku, "2026-11-25T09:00", 10, R{"cluster_id": "c1"}, R{"billing_origin_product": "ALL_PURPOSE"}),
			usage("100", "u2", sku, "2026-11-25T11:00", 4, R{"cluster_id": "c1"}, R{"billing_origin_product": "ALL_PURPOSE"}),
		)
	e := runSpec(t, apportionSpec, f)
	cols := []string{"usage_date", "workspace_id", "team", "job_id", "sku_name", "dbus", "cost_list", "cost_net", "allocation_method"}
	expectRows(t, e, "cost_allocated", cols, "", []R{
		{"usage_date": day("2026-11-25"), "workspace_id": "100", "team": "ta", "job_id": "1", "sku_name": sku,
			"dbus": 7.5, "cost_list": 3.75, "cost_net": 3.75, "allocation_method": "apportioned"},
		{"usage_date": day("2026-11-25"), "workspace_id": "100", "team": "tb", "job_id": "2", "sku_name": sku,
			"dbus": 2.5, "cost_list": 1.25, "cost_net": 1.25, "allocation_method": "apportioned"},
		{"usage_date": day("2026-11-25"), "workspace_id": "100", "team": "unassigned", "job_id": nil, "sku_name": sku,
			"dbus": 4.0, "cost_list": 2.0, "cost_net": 2.0, "allocation_method": "unattributed"},
	})
}

// ---------------------------------------------------------------------------
// 9. Team rules

// The tq tag value is `it's a\b` (YAML double-quoted "\\" is one backslash).
const teamRulesSpec = baseSpec + `
teams:
  - {name: t1, match: {tags: {team: x}}}
  - {name: t2, match: {job_name: "^etl_", run_as: [svc@acme.com]}}
  - {name: t3, match: {workspaces: ["111"]}}
  - {name: tq, match: {tags: {owner: "it's a\\b"}}}
unassigned_team: nobody
`

func TestSemantics_TeamRules(t *testing.T) {
	f := newFixture().
		add(tJobs,
			job("222", "1", "tagged", map[string]string{"team": "x"}, nil),
			job("222", "2", "etl_orders", nil, R{"run_as_user_name": "svc@acme.com"}),
			job("222", "3", "etl_other", nil, R{"run_as_user_name": "someone@acme.com"}), // name only: not t2
			job("222", "4", "orders", nil, R{"run_as_user_name": "svc@acme.com"}),        // run_as only: not t2
			job("111", "5", "anything", nil, nil),
			job("111", "6", "both", map[string]string{"team": "x"}, nil), // t1 and t3: the first wins
			job("222", "7", "quoted", map[string]string{"owner": `it's a\b`}, nil),
			job("222", "8", "unquoted", map[string]string{"owner": `it's ab`}, nil), // the backslash matters
			job("222", "9", "plain", map[string]string{"team": "y"}, nil),
		).
		add(tRuns,
			slice("222", "1", "r1", "2026-11-25T06:00", "2026-11-25T06:10", "SUCCEEDED", "SUCCESS"),
			slice("222", "9", "r9", "2026-11-25T06:00", "2026-11-25T06:10", "SUCCEEDED", "SUCCESS"),
			slice("222", "99", "r99", "2026-11-25T06:00", "2026-11-25T06:10", "SUCCEEDED", "SUCCESS"), // unknown job
		)
	e := runSpec(t, teamRulesSpec, f)
	expectRows(t, e, "jobs_current", []string{"workspace_id", "job_id", "team"}, "", []R{
		{"workspace_id": "111", "job_id": "5", "team": "t3"},
		{"workspace_id": "111", "job_id": "6", "team": "t1"},
		{"workspace_id": "222", "job_id": "1", "team": "t1"},
		{"workspace_id": "222", "job_id": "2", "team": "t2"},
		{"workspace_id": "222", "job_id": "3", "team": "nobody"},
		{"workspace_id": "222", "job_id": "4", "team": "nobody"},
		{"workspace_id": "222", "job_id": "7", "team": "tq"},
		{"workspace_id": "222", "job_id": "8", "team": "nobody"},
		{"workspace_id": "222", "job_id": "9", "team": "nobody"},
	})
	expectRows(t, e, "job_runs_enriched", []string{"job_id", "run_id", "team"}, "", []R{
		{"job_id": "1", "run_id": "r1", "team": "t1"},
		{"job_id": "9", "run_id": "r9", "team": "nobody"},
		{"job_id": "99", "run_id": "r99", "team": "nobody"},
	})
}

// ---------------------------------------------------------------------------
// 10. SLA deadline in the spec's timezone

const slaSpec = `version: 1
bundle: {name: t, catalog: c, schema: s, warehouse: w, timezone: Europe/Berlin}
slas:
  - name: ready-by-8
    jobs: {names: [daily_report]}
    deadline: "08:00"
    days: [mon, tue, wed, thu, fri]
    max_duration: 45m
    min_success_rate: 90
    window_days: 7
`

func TestSemantics_SLADeadlineTimezone(t *testing.T) {
	// November: Berlin is UTC+1. 2026-11-21 is a Saturday, 11-23 a Monday.
	f := newFixture().
		add(tJobs, job("100", "1", "daily_report", nil, nil)).
		add(tRuns,
			// Fri: the job's first run; days before it are not checked.
			slice("100", "1", "fri", "2026-11-20T05:30", "2026-11-20T06:00", "SUCCEEDED", "SUCCESS"),
			// Mon: ends 06:30 UTC = 07:30 Berlin, 30 min.
			slice("100", "1", "mon", "2026-11-23T06:00", "2026-11-23T06:30", "SUCCEEDED", "SUCCESS"),
			// Tue: ends 07:30 UTC = 08:30 Berlin: late (on time in UTC).
			slice("100", "1", "tue", "2026-11-24T07:00", "2026-11-24T07:30", "SUCCEEDED", "SUCCESS"),
			// Wed: no run.
			// Thu: starts Wed 23:10 UTC = Thu 00:10 Berlin, ends 01:00 Berlin: on time, but 50 min.
			slice("100", "1", "thu", "2026-11-25T23:10", "2026-11-26T00:00", "SUCCEEDED", "SUCCESS"),
		)
	e := runSpec(t, slaSpec, f)
	cols := []string{"sla_name", "severity", "workspace_id", "job_id", "job_name", "team", "period_date",
		"deadline_met", "duration_met", "success_rate_met", "success_rate", "met", "breach_reason"}
	row := func(date string, deadline, duration, rate any, successRate any, met bool, reason any) R {
		return R{"sla_name": "ready-by-8", "severity": "warning", "workspace_id": "100", "job_id": "1",
			"job_name": "daily_report", "team": "unassigned", "period_date": day(date),
			"deadline_met": deadline, "duration_met": duration, "success_rate_met": rate, "success_rate": successRate,
			"met": met, "breach_reason": reason}
	}
	expectRows(t, e, "sla_compliance", cols,
		"period_date IN ('2026-11-19', '2026-11-21', '2026-11-23', '2026-11-24', '2026-11-25', '2026-11-26')", []R{
			// 11-19 is before the first run: no row. Saturday: no deadline
			// that day, no runs; the window holds Friday's success.
			row("2026-11-21", nil, nil, true, 100.0, true, nil),
			row("2026-11-23", true, true, true, 100.0, true, nil),
			row("2026-11-24", false, true, true, 100.0, false, "deadline"),
			// A weekday without a run misses the deadline; window 11-19..11-25 has 2/2.
			row("2026-11-25", false, nil, true, 100.0, false, "deadline"),
			row("2026-11-26", true, false, true, 100.0, false, "max_duration"),
		})
}

// ---------------------------------------------------------------------------
// 11. Failure classes

const failureClassSpec = baseSpec + `
failure_classes:
  - {name: oom, error_regex: "(?i)OutOfMemory"}
  - {name: infra, termination_codes: [CLOUD_FAILURE]}
`

// collectorRow is an INSERT of one failed task run into the collector's table.
func collectorRow(ws, jobID, run, errText string) string {
	return fmt.Sprintf(`INSERT INTO bronze_api_job_runs (workspace_id, job_id, run_id, task_run_id, task_key,
		attempt_number, start_time, end_time, result_state, termination_code, termination_type, error, error_trace,
		run_page_url, collected_at) VALUES ('%s', '%s', '%s', '%s-t1', 'main', 0, TIMESTAMP '2026-11-25 06:00:00',
		TIMESTAMP '2026-11-25 06:10:00', 'FAILED', 'RUN_EXECUTION_ERROR', 'CLIENT_ERROR', '%s', NULL, NULL,
		TIMESTAMP '2026-11-25 07:00:00')`, ws, jobID, run, run, errText)
}

func TestSemantics_FailureClasses(t *testing.T) {
	t.Run("spec", func(t *testing.T) {
		f := newFixture().
			add(tJobs, job("100", "1", "a", nil, nil), job("100", "2", "b", nil, nil), job("100", "3", "c", nil, nil)).
			add(tRuns,
				slice("100", "1", "r1", "2026-11-25T06:00", "2026-11-25T06:10", "FAILED", "CLOUD_FAILURE"),
				slice("100", "2", "r2", "2026-11-25T06:00", "2026-11-25T06:10", "FAILED", "RUN_EXECUTION_ERROR"),
				slice("100", "1", "r3", "2026-11-25T07:00", "2026-11-25T07:10", "FAILED", "DRIVER_ERROR"),
				// Matches both rules: the first (oom) wins.
				slice("100", "3", "r4", "2026-11-25T06:00", "2026-11-25T06:10", "FAILED", "CLOUD_FAILURE"),
				slice("100", "3", "r5", "2026-11-25T08:00", "2026-11-25T08:10", "SUCCEEDED", "SUCCESS"),
			).
			exec(collectorRow("100", "2", "r2", "java.lang.OutOfMemoryError: heap")).
			exec(collectorRow("100", "3", "r4", "java.lang.OutOfMemoryError: heap"))
		e := runSpec(t, failureClassSpec, f)
		expectRows(t, e, "failure_classified",
			[]string{"workspace_id", "job_id", "run_id", "result_state", "termination_code", "error_message", "failure_class"}, "",
			[]R{
				{"workspace_id": "100", "job_id": "1", "run_id": "r1", "result_state": "FAILED", "termination_code": "CLOUD_FAILURE",
					"error_message": nil, "failure_class": "infra"},
				{"workspace_id": "100", "job_id": "1", "run_id": "r3", "result_state": "FAILED", "termination_code": "DRIVER_ERROR",
					"error_message": nil, "failure_class": "other"},
				{"workspace_id": "100", "job_id": "2", "run_id": "r2", "result_state": "FAILED", "termination_code": "RUN_EXECUTION_ERROR",
					"error_message": "java.lang.OutOfMemoryError: heap", "failure_class": "oom"},
				{"workspace_id": "100", "job_id": "3", "run_id": "r4", "result_state": "FAILED", "termination_code": "CLOUD_FAILURE",
					"error_message": "java.lang.OutOfMemoryError: heap", "failure_class": "oom"},
			})
		expectRows(t, e, "failure_analysis", []string{"run_date", "team", "failure_class", "failures", "affected_jobs"}, "",
			[]R{
				{"run_date": day("2026-11-25"), "team": "unassigned", "failure_class": "infra", "failures": 1, "affected_jobs": 1},
				{"run_date": day("2026-11-25"), "team": "unassigned", "failure_class": "oom", "failures": 2, "affected_jobs": 2},
				{"run_date": day("2026-11-25"), "team": "unassigned", "failure_class": "other", "failures": 1, "affected_jobs": 1},
			})
	})
	t.Run("builtin", func(t *testing.T) {
		f := newFixture().
			add(tJobs, job("100", "1", "a", nil, nil)).
			add(tRuns,
				slice("100", "1", "r1", "2026-11-25T06:00", "2026-11-25T06:10", "FAILED", "CLOUD_FAILURE"),
				slice("100", "1", "r2", "2026-11-25T07:00", "2026-11-25T07:10", "TIMED_OUT", nil),
				slice("100", "1", "r3", "2026-11-25T08:00", "2026-11-25T08:10", "FAILED", "RUN_EXECUTION_ERROR"),
				slice("100", "1", "r4", "2026-11-25T09:00", "2026-11-25T09:10", "ERROR", "INTERNAL_ERROR"),
			).
			exec(collectorRow("100", "1", "r3", "Container killed: exit code 137"))
		e := runSpec(t, baseSpec, f)
		expectRows(t, e, "failure_classified", []string{"run_id", "result_state", "failure_class"}, "", []R{
			{"run_id": "r1", "result_state": "FAILED", "failure_class": "cloud_capacity"},
			{"run_id": "r2", "result_state": "TIMED_OUT", "failure_class": "timeout"},
			{"run_id": "r3", "result_state": "FAILED", "failure_class": "out_of_memory"},
			{"run_id": "r4", "result_state": "ERROR", "failure_class": "internal"},
		})
		expectRows(t, e, "failure_analysis", []string{"run_date", "team", "failure_class", "failures", "affected_jobs"}, "",
			[]R{
				{"run_date": day("2026-11-25"), "team": "unassigned", "failure_class": "cloud_capacity", "failures": 1, "affected_jobs": 1},
				{"run_date": day("2026-11-25"), "team": "unassigned", "failure_class": "internal", "failures": 1, "affected_jobs": 1},
				{"run_date": day("2026-11-25"), "team": "unassigned", "failure_class": "out_of_memory", "failures": 1, "affected_jobs": 1},
				{"run_date": day("2026-11-25"), "team": "unassigned", "failure_class": "timeout", "failures": 1, "affected_jobs": 1},
			})
	})
}

// ---------------------------------------------------------------------------
// 12. Idle clusters

// nodeMinutes is one node_timeline row per minute of [from, from+n min).
func nodeMinutes(instance string, driver bool, from string, n int, cpuUser, cpuSystem float64) []R {
	var out []R
	start := ts(from)
	for i := 0; i < n; i++ {
		s := start.Add(time.Duration(i) * time.Minute)
		out = append(out, R{"account_id": "acc", "workspace_id": "100", "cluster_id": "c1", "instance_id": instance,
			"start_time": s, "end_time": s.Add(time.Minute), "driver": driver,
			"cpu_user_percent": cpuUser, "cpu_system_percent": cpuSystem, "mem_used_percent": 30.0})
	}
	return out
}

func TestSemantics_ClusterIdle(t *testing.T) {
	const sku = "PREMIUM_ALL_PURPOSE_COMPUTE"
	billing := func(f *fixture) *fixture {
		return f.add(tPrices, price(sku, "AZURE", "2026-11-01T00:00", "", 1.5)).
			add(tUsage,
				usage("100", "u1", sku, "2026-11-25T10:00", 3, R{"cluster_id": "c1"}, R{"billing_origin_product": "ALL_PURPOSE"}),
				usage("100", "u2", sku, "2026-11-25T11:00", 3, R{"cluster_id": "c1"}, R{"billing_origin_product": "ALL_PURPOSE"}),
			)
	}
	hourCols := []string{"workspace_id", "cluster_id", "hour", "usage_date", "nodes", "avg_cpu_percent", "max_cpu_percent",
		"avg_mem_percent", "up_minutes", "idle_minutes", "job_id", "team"}
	effCols := []string{"workspace_id", "cluster_id", "usage_date", "team", "job_id", "avg_cpu_percent", "up_minutes",
		"idle_minutes", "cost_net", "potential_savings"}

	t.Run("one_node", func(t *testing.T) {
		f := newFixture().
			add(tNodes, nodeMinutes("i1", true, "2026-11-25T10:00", 60, 1, 1)...).  // CPU 2%: idle
			add(tNodes, nodeMinutes("i1", true, "2026-11-25T11:00", 30, 40, 10)...) // CPU 50%
		e := runSpec(t, baseSpec, billing(f))
		expectRows(t, e, "cluster_usage_hourly", hourCols, "", []R{
			{"workspace_id": "100", "cluster_id": "c1", "hour": ts("2026-11-25T10:00"), "usage_date": day("2026-11-25"),
				"nodes": 1, "avg_cpu_percent": 2.0, "max_cpu_percent": 2.0, "avg_mem_percent": 30.0,
				"up_minutes": 60.0, "idle_minutes": 60.0, "job_id": nil, "team": "unassigned"},
			{"workspace_id": "100", "cluster_id": "c1", "hour": ts("2026-11-25T11:00"), "usage_date": day("2026-11-25"),
				"nodes": 1, "avg_cpu_percent": 50.0, "max_cpu_percent": 50.0, "avg_mem_percent": 30.0,
				"up_minutes": 30.0, "idle_minutes": 0.0, "job_id": nil, "team": "unassigned"},
		})
		// Cost 6 DBU x 1.5 = 9; idle share 60/90 -> 6. Mean CPU of the 90
		// records: (60*2 + 30*50)/90 = 18.
		expectRows(t, e, "cluster_efficiency", effCols, "", []R{
			{"workspace_id": "100", "cluster_id": "c1", "usage_date": day("2026-11-25"), "team": "unassigned", "job_id": nil,
				"avg_cpu_percent": 18.0, "up_minutes": 90.0, "idle_minutes": 60.0, "cost_net": 9.0, "potential_savings": 6.0},
		})
	})

	// A worker joins for the first half hour at 4%: the cluster-average CPU
	// (3%, then 2%) stays idle, and a minute counts once however many nodes
	// report it.
	t.Run("two_nodes", func(t *testing.T) {
		f := newFixture().
			add(tNodes, nodeMinutes("i1", true, "2026-11-25T10:00", 60, 1, 1)...).
			add(tNodes, nodeMinutes("i2", false, "2026-11-25T10:00", 30, 3, 1)...).
			add(tNodes, nodeMinutes("i1", true, "2026-11-25T11:00", 30, 40, 10)...)
		e := runSpec(t, baseSpec, billing(f))
		expectRows(t, e, "cluster_usage_hourly", hourCols, "", []R{
			// Mean over the hour's 90 node records: (60*2 + 30*4)/90.
			{"workspace_id": "100", "cluster_id": "c1", "hour": ts("2026-11-25T10:00"), "usage_date": day("2026-11-25"),
				"nodes": 2, "avg_cpu_percent": 240.0 / 90.0, "max_cpu_percent": 4.0, "avg_mem_percent": 30.0,
				"up_minutes": 60.0, "idle_minutes": 60.0, "job_id": nil, "team": "unassigned"},
			{"workspace_id": "100", "cluster_id": "c1", "hour": ts("2026-11-25T11:00"), "usage_date": day("2026-11-25"),
				"nodes": 1, "avg_cpu_percent": 50.0, "max_cpu_percent": 50.0, "avg_mem_percent": 30.0,
				"up_minutes": 30.0, "idle_minutes": 0.0, "job_id": nil, "team": "unassigned"},
		})
		// "Mean CPU (user + system) over the day's node records":
		// (60*2 + 30*4 + 30*50)/120 = 14.5.
		expectRows(t, e, "cluster_efficiency", effCols, "", []R{
			{"workspace_id": "100", "cluster_id": "c1", "usage_date": day("2026-11-25"), "team": "unassigned", "job_id": nil,
				"avg_cpu_percent": 14.5, "up_minutes": 90.0, "idle_minutes": 60.0, "cost_net": 9.0, "potential_savings": 6.0},
		})
	})
}

// ---------------------------------------------------------------------------
// 13. Weekly trends

const teamASpec = baseSpec + `
teams:
  - {name: ta, match: {tags: {team: a}}}
`

func TestSemantics_Trends(t *testing.T) {
	const sku = "PREMIUM_JOBS_COMPUTE"
	f := newFixture().
		add(tJobs, job("100", "1", "etl", map[string]string{"team": "a"}, nil)).
		add(tPrices, price(sku, "AZURE", "2026-11-01T00:00", "", 1.0))
	// Week of Mon 11-16: 4 finished runs, 1 failed; cost 10.
	for i, state := range []string{"SUCCEEDED", "FAILED", "SUCCEEDED", "SUCCEEDED"} {
		f.add(tRuns, slice("100", "1", fmt.Sprintf("w1r%d", i), fmt.Sprintf("2026-11-17T0%d:00", i), fmt.Sprintf("2026-11-17T0%d:30", i), state, nil))
	}
	f.add(tUsage, usage("100", "u1", sku, "2026-11-17T00:00", 10, R{"job_id": "1"}, nil))
	// Week of Mon 11-23: 5 finished runs, 2 failed, one in progress; cost 15.
	for i, state := range []string{"SUCCEEDED", "FAILED", "ERROR", "SUCCEEDED", "SUCCEEDED"} {
		f.add(tRuns, slice("100", "1", fmt.Sprintf("w2r%d", i), fmt.Sprintf("2026-11-24T0%d:00", i), fmt.Sprintf("2026-11-24T0%d:30", i), state, nil))
	}
	f.add(tRuns, slice("100", "1", "w2run", "2026-11-27T10:00", "2026-11-27T11:00", nil, nil))
	f.add(tUsage, usage("100", "u2", sku, "2026-11-24T00:00", 15, R{"job_id": "1"}, nil))
	e := runSpec(t, teamASpec, f)
	cols := []string{"week_start", "team", "runs", "failures", "cost_net", "cost_net_prev_week", "cost_change_pct",
		"failure_rate", "failure_rate_prev_week"}
	expectRows(t, e, "trend_metrics", cols, "", []R{
		{"week_start": day("2026-11-16"), "team": "ta", "runs": 4, "failures": 1, "cost_net": 10.0,
			"cost_net_prev_week": nil, "cost_change_pct": nil, "failure_rate": 0.25, "failure_rate_prev_week": nil},
		{"week_start": day("2026-11-23"), "team": "ta", "runs": 5, "failures": 2, "cost_net": 15.0,
			"cost_net_prev_week": 10.0, "cost_change_pct": 50.0, "failure_rate": 0.4, "failure_rate_prev_week": 0.25},
	})
}

// ---------------------------------------------------------------------------
// 14. KPIs

const kpiSpec = baseSpec + `
teams:
  - {name: ta, match: {tags: {team: a}}}
  - {name: tb, match: {tags: {team: b}}}
kpis:
  - name: fail_share
    source: job_runs_enriched
    value: "avg(case when is_failure then 1.0 else 0.0 end)"
    by: team
    window_days: 7
    target: {max: 0.2}
`

func TestSemantics_KPI(t *testing.T) {
	f := newFixture().add(tJobs,
		job("100", "1", "a", map[string]string{"team": "a"}, nil),
		job("100", "2", "b", map[string]string{"team": "b"}, nil),
	)
	n := 0
	runOn := func(jobID, date, state string) {
		n++
		f.add(tRuns, slice("100", jobID, fmt.Sprintf("r%d", n), date+"T06:00", date+"T06:10", state, nil))
	}
	// The window is the 7 local days ending today: 11-21 .. 11-27.
	runOn("1", "2026-11-20", "FAILED") // outside the window
	runOn("1", "2026-11-21", "SUCCEEDED")
	runOn("1", "2026-11-24", "SUCCEEDED")
	runOn("1", "2026-11-24", "SUCCEEDED")
	runOn("1", "2026-11-24", "FAILED")
	runOn("1", "2026-11-26", "SUCCEEDED") // ta: 1 of 5 -> 0.2, on target (max inclusive)
	runOn("2", "2026-11-25", "SUCCEEDED")
	runOn("2", "2026-11-25", "FAILED")
	runOn("2", "2026-11-25", "TIMED_OUT")
	runOn("2", "2026-11-25", "SUCCEEDED") // tb: 2 of 4 -> 0.5, off target
	e := runSpec(t, kpiSpec, f)
	cols := []string{"kpi_name", "period_end", "breakdown", "value", "target_min", "target_max", "on_target"}
	expectRows(t, e, "kpi_values", cols, "", []R{
		{"kpi_name": "fail_share", "period_end": day("2026-11-27"), "breakdown": "ta", "value": 0.2,
			"target_min": nil, "target_max": 0.2, "on_target": true},
		{"kpi_name": "fail_share", "period_end": day("2026-11-27"), "breakdown": "tb", "value": 0.5,
			"target_min": nil, "target_max": 0.2, "on_target": false},
	})
}

// ---------------------------------------------------------------------------
// 15. Budgets

const budgetSpec = baseSpec + `
teams:
  - {name: ta, match: {tags: {team: a}}, monthly_budget: 1000}
`

func TestSemantics_Budget(t *testing.T) {
	const sku = "PREMIUM_JOBS_COMPUTE"
	f := newFixture().
		add(tJobs, job("100", "1", "etl", map[string]string{"team": "a"}, nil)).
		add(tPrices, price(sku, "AZURE", "2026-10-01T00:00", "", 1.0)).
		add(tUsage,
			usage("100", "u0", sku, "2026-10-31T10:00", 50, R{"job_id": "1"}, nil), // last month
			usage("100", "u1", sku, "2026-11-02T10:00", 100, R{"job_id": "1"}, nil),
			usage("100", "u2", sku, "2026-11-15T10:00", 100, R{"job_id": "1"}, nil),
			usage("100", "u3", sku, "2026-11-26T10:00", 70, R{"job_id": "1"}, nil),
			usage("100", "u4", sku, "2026-11-27T01:00", 500, R{"job_id": "1"}, nil), // today: incomplete
		)
	e := runSpec(t, budgetSpec, f)
	cols := []string{"month", "team", "budget", "cost_net_to_date", "forecast_month_end", "pct_of_budget"}
	expectRows(t, e, "budget_status", cols, "", []R{
		// A past month reports its actual cost.
		{"month": day("2026-10-01"), "team": "ta", "budget": 1000.0, "cost_net_to_date": 50.0,
			"forecast_month_end": 50.0, "pct_of_budget": 5.0},
		// Only complete days count: at 12:00 on the 27th, with billing up to
		// 12 h late, the 26th is the latest complete day (today's 500 waits):
		// 270 over 26 days of a 30-day month.
		{"month": day("2026-11-01"), "team": "ta", "budget": 1000.0, "cost_net_to_date": 270.0,
			"forecast_month_end": 270.0 / 26 * 30, "pct_of_budget": 100 * (270.0 / 26 * 30) / 1000},
	})
}

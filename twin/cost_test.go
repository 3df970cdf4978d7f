package twin_test

// Cost attribution end to end on a hand-built account (issue 13): one usage
// record of every kind, the rows of cost_allocated, the cost of each attempt
// of a repaired run, and the reconciliation against the bill and against
// Databricks' published job-cost query. Every expected amount is worked out
// by hand in the comments from the documented allocation rules (column
// comments of usage_allocated and cost_allocated in generator/model/tables.go).

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/dbmon/dbmon/generator"
	"github.com/dbmon/dbmon/preview"
	"github.com/dbmon/dbmon/twin"
)

const (
	skuJobs = "PREMIUM_JOBS_COMPUTE"            // 0.50 USD (and a 0.46 EUR row that must not count)
	skuSrv  = "PREMIUM_JOBS_SERVERLESS_COMPUTE" // 1.00 USD
	skuAP   = "PREMIUM_ALL_PURPOSE_COMPUTE"     // 0.50 USD
	skuDLT  = "PREMIUM_DLT_CORE_COMPUTE"        // 0.25 USD
	skuSQL  = "PREMIUM_SQL_PRO_COMPUTE"         // 0.50 USD

	tUpdates = "system.lakeflow.pipeline_update_timeline"
)

const costSpec = baseSpec + `
teams:
  - {name: ta, match: {tags: {team: a}}}
  - {name: tb, match: {tags: {team: b}}}
`

// taskSlice is one job_task_run_timeline row.
func taskSlice(jobID, taskRun, jobRun, start, end string, computeIDs []string, compute []map[string]any) R {
	r := R{"account_id": "acc", "workspace_id": "100", "job_id": jobID, "run_id": taskRun, "job_run_id": jobRun,
		"period_start_time": ts(start), "period_end_time": ts(end), "task_key": "t_" + taskRun,
		"result_state": "SUCCEEDED"}
	if computeIDs != nil {
		r["compute_ids"] = computeIDs
	}
	if compute != nil {
		r["compute"] = compute
	}
	return r
}

// costFixture is the account, all on 2026-11-25 in workspace 100:
//
//	job 1 (ta) run r1 on jobs compute: attempt 1 is 09:00-10:00 and
//	  10:00-10:30 FAILED, the repair (attempt 2) 10:30-11:00 SUCCEEDED.
//	  Usage: 09:00 4 DBU; 10:00 6 DBU retracted (-6) and restated as 8;
//	  11:00 2 DBU (cluster shutdown after the last slice).
//	job 1 run r1c and job 2 (tb) run r2 share all-purpose cluster c1 at
//	  13:00 (15 and 45 task minutes); c1 also bills an idle hour at 15:00.
//	job 3 run r3's pipeline task starts update upd1 of pipeline p1; update
//	  upd2 of p1 was started by no job.
//	job 4 run r4's tasks ran on warehouse wh1 at 17:00 (one names it in
//	  compute_ids, one only in compute); wh1 also bills 19:00 with no task.
//	job 5 run r5 is serverless.
//	One record names nothing at all.
func costFixture() *fixture {
	jobsRun := func(jobID, run, start, end string, state any) R {
		return slice("100", jobID, run, start, end, state, nil)
	}
	dltMeta := func(update string) R { return R{"dlt_pipeline_id": "p1", "dlt_update_id": update} }
	eur := price(skuJobs, "AZURE", "2026-11-01T00:00", "", 0.46)
	eur["currency_code"] = "EUR"
	return newFixture().
		add(tJobs,
			job("100", "1", "job_one", map[string]string{"team": "a"}, nil),
			job("100", "2", "job_two", map[string]string{"team": "b"}, nil),
			job("100", "3", "pipeline_job", nil, nil),
			job("100", "4", "sql_job", nil, nil),
			job("100", "5", "serverless_job", nil, nil),
		).
		add(tClusters, R{"account_id": "acc", "workspace_id": "100", "cluster_id": "c1", "cluster_name": "shared",
			"cluster_source": "UI", "change_time": ts("2026-11-01T00:00"), "create_time": ts("2026-11-01T00:00")}).
		add(tRuns,
			jobsRun("1", "r1", "2026-11-25T09:00", "2026-11-25T10:00", nil),
			jobsRun("1", "r1", "2026-11-25T10:00", "2026-11-25T10:30", "FAILED"),
			jobsRun("1", "r1", "2026-11-25T10:30", "2026-11-25T11:00", "SUCCEEDED"),
			jobsRun("1", "r1c", "2026-11-25T13:00", "2026-11-25T13:20", "SUCCEEDED"),
			jobsRun("2", "r2", "2026-11-25T13:00", "2026-11-25T13:50", "SUCCEEDED"),
			jobsRun("3", "r3", "2026-11-25T16:00", "2026-11-25T16:30", "SUCCEEDED"),
			jobsRun("4", "r4", "2026-11-25T17:00", "2026-11-25T17:20", "SUCCEEDED"),
			jobsRun("5", "r5", "2026-11-25T08:00", "2026-11-25T08:40", "SUCCEEDED"),
		).
		add(tTasks,
			taskSlice("1", "t1c", "r1c", "2026-11-25T13:00", "2026-11-25T13:15", []string{"c1"}, nil),
			taskSlice("2", "t2", "r2", "2026-11-25T13:00", "2026-11-25T13:45", []string{"c1"}, nil),
			taskSlice("3", "t3", "r3", "2026-11-25T16:00", "2026-11-25T16:30", nil, nil),
			taskSlice("4", "t4a", "r4", "2026-11-25T17:00", "2026-11-25T17:20", []string{"wh1"}, nil),
			taskSlice("4", "t4b", "r4", "2026-11-25T17:00", "2026-11-25T17:10", nil,
				[]map[string]any{{"type": "WAREHOUSE", "cluster_id": nil, "warehouse_id": "wh1"}}),
		).
		add(tUpdates,
			R{"account_id": "acc", "workspace_id": "100", "pipeline_id": "p1", "update_id": "upd1", "update_type": "REFRESH",
				"trigger_type": "JOB_TASK", "result_state": "COMPLETED",
				"trigger_details":   map[string]any{"job_task": map[string]any{"job_id": "3", "job_run_id": "r3"}},
				"period_start_time": ts("2026-11-25T16:05"), "period_end_time": ts("2026-11-25T16:25")},
			R{"account_id": "acc", "workspace_id": "100", "pipeline_id": "p1", "update_id": "upd2", "update_type": "REFRESH",
				"trigger_type": "SCHEDULE", "result_state": "COMPLETED",
				"period_start_time": ts("2026-11-25T18:05"), "period_end_time": ts("2026-11-25T18:25")},
		).
		add(tPrices,
			price(skuJobs, "AZURE", "2026-11-01T00:00", "", 0.5), eur,
			price(skuSrv, "AZURE", "2026-11-01T00:00", "", 1.0),
			price(skuAP, "AZURE", "2026-11-01T00:00", "", 0.5),
			price(skuDLT, "AZURE", "2026-11-01T00:00", "", 0.25),
			price(skuSQL, "AZURE", "2026-11-01T00:00", "", 0.5),
		).
		add(tUsage,
			usage("100", "j1", skuJobs, "2026-11-25T09:00", 4, R{"job_id": "1", "job_run_id": "r1"}, nil),
			usage("100", "j2", skuJobs, "2026-11-25T10:00", 6, R{"job_id": "1", "job_run_id": "r1"}, nil),
			usage("100", "j2r", skuJobs, "2026-11-25T10:00", -6, R{"job_id": "1", "job_run_id": "r1"}, R{"record_type": "RETRACTION"}),
			usage("100", "j2s", skuJobs, "2026-11-25T10:00", 8, R{"job_id": "1", "job_run_id": "r1"}, R{"record_type": "RESTATEMENT"}),
			usage("100", "j3", skuJobs, "2026-11-25T11:00", 2, R{"job_id": "1", "job_run_id": "r1"}, nil),
			usage("100", "s5", skuSrv, "2026-11-25T08:00", 3, R{"job_id": "5", "job_run_id": "r5"}, nil),
			usage("100", "ap1", skuAP, "2026-11-25T13:00", 8, R{"cluster_id": "c1"}, R{"billing_origin_product": "ALL_PURPOSE"}),
			usage("100", "ap2", skuAP, "2026-11-25T15:00", 2, R{"cluster_id": "c1"}, R{"billing_origin_product": "ALL_PURPOSE"}),
			usage("100", "d1", skuDLT, "2026-11-25T16:00", 4, dltMeta("upd1"), R{"billing_origin_product": "DLT"}),
			usage("100", "d2", skuDLT, "2026-11-25T18:00", 2, dltMeta("upd2"), R{"billing_origin_product": "DLT"}),
			usage("100", "w1", skuSQL, "2026-11-25T17:00", 2, R{"warehouse_id": "wh1"}, R{"billing_origin_product": "SQL"}),
			usage("100", "w2", skuSQL, "2026-11-25T19:00", 1, R{"warehouse_id": "wh1"}, R{"billing_origin_product": "SQL"}),
			usage("100", "x1", skuJobs, "2026-11-25T20:00", 1, nil, nil),
		)
}

func TestCost_Allocation(t *testing.T) {
	e := runSpec(t, costSpec, costFixture())
	d := day("2026-11-25")
	row := func(team string, jobID any, sku string, dbus, cost float64, method string, reason any) R {
		return R{"usage_date": d, "workspace_id": "100", "team": team, "job_id": jobID, "sku_name": sku,
			"dbus": dbus, "cost_list": cost, "allocation_method": method, "unattributed_reason": reason}
	}
	cols := []string{"usage_date", "workspace_id", "team", "job_id", "sku_name", "dbus", "cost_list", "allocation_method", "unattributed_reason"}
	expectRows(t, e, "cost_allocated", cols, "", []R{
		// j1 4 + (6 - 6 + 8) + j3 2 = 14 DBU x 0.50 USD (the EUR row is not a second price).
		row("ta", "1", skuAP, 2, 1.0, "apportioned", nil), // ap1: 8 x 15/60
		row("ta", "1", skuJobs, 14, 7.0, "direct", nil),
		row("tb", "2", skuAP, 6, 3.0, "apportioned", nil), // ap1: 8 x 45/60
		row("unassigned", nil, skuAP, 2, 1.0, "unattributed", "all_purpose_no_task_in_hour"),
		row("unassigned", nil, skuDLT, 2, 0.5, "unattributed", "pipeline_update_not_started_by_job"),
		row("unassigned", nil, skuJobs, 1, 0.5, "unattributed", "no_job_in_usage_metadata"),
		row("unassigned", nil, skuSQL, 1, 0.5, "unattributed", "warehouse_no_task_in_hour"),
		row("unassigned", "3", skuDLT, 4, 1.0, "pipeline", nil),
		row("unassigned", "4", skuSQL, 2, 1.0, "warehouse", nil),
		row("unassigned", "5", skuSrv, 3, 3.0, "serverless", nil),
	})

	// Each record's shares sum to exactly 1: nothing lost, nothing counted twice.
	rows, err := e.Query(`SELECT count(*) FROM (SELECT workspace_id, record_id, sum(share) AS s FROM usage_allocated
GROUP BY workspace_id, record_id) x WHERE abs(s - 1) > 1e-12`)
	if err != nil {
		t.Fatal(err)
	}
	if n := rows[0][0].(int64); n != 0 {
		t.Errorf("%d usage records whose shares do not sum to 1", n)
	}
	if rows, err = e.Query(`SELECT count(DISTINCT record_id) FROM usage_allocated`); err != nil {
		t.Fatal(err)
	} else if n := rows[0][0].(int64); n != 13 {
		t.Errorf("usage_allocated covers %d records, want all 13", n)
	}

	// Hour 10 (8 DBU net) is split 30/30 minutes between the failed attempt
	// (10:00-10:30) and the repair (10:30-11:00); the 09:00-10:00 slice ends
	// on the hour and takes none of it. 11:00 has no slice: it goes to the
	// latest attempt started before 12:00, the repair.
	attemptCols := []string{"workspace_id", "job_id", "run_id", "attempt_no", "result_state", "is_failure", "cost_list"}
	attempt := func(jobID, run string, n int64, state string, failed bool, cost float64) R {
		return R{"workspace_id": "100", "job_id": jobID, "run_id": run, "attempt_no": n, "result_state": state,
			"is_failure": failed, "cost_list": cost}
	}
	expectRows(t, e, "job_run_attempts", attemptCols, "", []R{
		attempt("1", "r1", 1, "FAILED", true, 4.0),     // (4 + 4) x 0.5
		attempt("1", "r1", 2, "SUCCEEDED", false, 3.0), // (4 + 2) x 0.5
		attempt("1", "r1c", 1, "SUCCEEDED", false, 1.0),
		attempt("2", "r2", 1, "SUCCEEDED", false, 3.0),
		attempt("3", "r3", 1, "SUCCEEDED", false, 1.0),
		attempt("4", "r4", 1, "SUCCEEDED", false, 1.0),
		attempt("5", "r5", 1, "SUCCEEDED", false, 3.0),
	})

	// Runs carry every method's share (r1c and r2 ran only on the
	// all-purpose cluster); a repaired-to-success run keeps its failed
	// attempt's cost as failure cost.
	runCols := []string{"job_id", "run_id", "is_failure", "repair_count", "cost_list", "failed_attempts", "failed_attempt_cost_list"}
	run := func(jobID, id string, repairs int64, cost float64, failed int64, failedCost float64) R {
		return R{"job_id": jobID, "run_id": id, "is_failure": false, "repair_count": repairs, "cost_list": cost,
			"failed_attempts": failed, "failed_attempt_cost_list": failedCost}
	}
	expectRows(t, e, "job_runs_enriched", runCols, "", []R{
		run("1", "r1", 1, 7.0, 1, 4.0),
		run("1", "r1c", 0, 1.0, 0, 0),
		run("2", "r2", 0, 3.0, 0, 0),
		run("3", "r3", 0, 1.0, 0, 0),
		run("4", "r4", 0, 1.0, 0, 0),
		run("5", "r5", 0, 3.0, 0, 0),
	})

	// Σ over runs = Σ over cost_allocated, per job.
	rows, err = e.Query(`SELECT count(*) FROM (SELECT job_id, sum(cost_list) AS c FROM cost_allocated WHERE job_id IS NOT NULL GROUP BY job_id) a
FULL JOIN (SELECT job_id, sum(cost_list) AS c FROM job_runs_enriched GROUP BY job_id) r ON a.job_id = r.job_id
WHERE a.c IS NULL OR r.c IS NULL OR abs(a.c - r.c) > 1e-9`)
	if err != nil {
		t.Fatal(err)
	}
	if n := rows[0][0].(int64); n != 0 {
		t.Errorf("%d jobs whose runs do not sum to their cost_allocated", n)
	}
}

// reconcileFixture runs the whole preview of spec over the cost fixture and
// reconciles it.
func reconcileFixture(t *testing.T, specYAML string) *preview.Reconciliation {
	t.Helper()
	res, diags, err := generator.Prepare("spec.yaml", []byte(specYAML))
	if err != nil || len(diags) > 0 {
		t.Fatalf("spec: %v %v", err, diags)
	}
	f := costFixture()
	src := preview.Rows("cost fixture", func(e *twin.Engine) error {
		l, err := e.Loader()
		if err != nil {
			return err
		}
		for _, table := range f.order {
			for _, r := range f.rows[table] {
				vals, err := rowValues(table, r)
				if err == nil {
					err = l.Append(table, vals)
				}
				if err != nil {
					l.Close()
					return err
				}
			}
		}
		return l.Close()
	})
	r, err := preview.Run(context.Background(), res, src, semAsOf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	rec, err := r.Reconcile()
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestCost_Reconcile(t *testing.T) {
	rec := reconcileFixture(t, costSpec)
	var out strings.Builder
	rec.Print(&out)
	t.Log(out.String()) // go test -v -run TestCost_Reconcile shows the report
	// The bill: 7 + 3 + 5 (c1) + 1.5 (DLT) + 1.5 (SQL) + 0.5 = 18.5 USD.
	if !near(rec.UsageCostList, 18.5) || !near(rec.AllocatedCostList, 18.5) || !near(rec.ByWorkspaceCostList, 18.5) {
		t.Errorf("totals: usage %v allocated %v by workspace %v, want 18.5 each", rec.UsageCostList, rec.AllocatedCostList, rec.ByWorkspaceCostList)
	}
	if rec.UsageRecords != 13 || len(rec.Failures) != 0 {
		t.Errorf("records %d failures %v", rec.UsageRecords, rec.Failures)
	}
	wantMethods := map[string]float64{"direct": 7, "serverless": 3, "apportioned": 4, "pipeline": 1, "warehouse": 1, "unattributed": 2.5}
	if len(rec.ByMethod) != len(wantMethods) {
		t.Errorf("by_method %v, want %v", rec.ByMethod, wantMethods)
	}
	for m, v := range wantMethods {
		if !near(rec.ByMethod[m], v) {
			t.Errorf("by_method[%s] = %v, want %v", m, rec.ByMethod[m], v)
		}
	}
	// The published query: JOBS SKUs with a job id at pricing.default and no
	// currency condition, so job 1's 14 DBU are priced 0.50 + 0.46 EUR = 13.44
	// (price choice -6.44, the double count); job 5: 3; jobs 2, 3, 4 have
	// no JOBS usage.
	type want struct {
		dbmon, official float64
		causes          []string
	}
	wantJobs := map[string]want{
		"1": {8, 13.44, []string{"apportioned", "price choice"}},
		"2": {3, 0, []string{"apportioned"}},
		"3": {1, 0, []string{"pipeline"}},
		"4": {1, 0, []string{"warehouse"}},
		"5": {3, 3, []string{}},
	}
	if len(rec.Jobs) != len(wantJobs) {
		t.Fatalf("jobs %+v", rec.Jobs)
	}
	for _, j := range rec.Jobs {
		w := wantJobs[j.JobID]
		if j.WorkspaceID != "100" || !near(j.DbmonCostList, w.dbmon) || !near(j.OfficialCostList, w.official) ||
			len(j.Causes) != len(w.causes) {
			t.Errorf("job %s: %+v, want %+v", j.JobID, j, w)
			continue
		}
		for i := range w.causes {
			if j.Causes[i] != w.causes[i] {
				t.Errorf("job %s causes %v, want %v", j.JobID, j.Causes, w.causes)
			}
		}
	}
	if d := rec.Jobs[0].Differences["price choice"]; !near(d, 7-13.44) {
		t.Errorf("job 1 price choice %v, want %v", d, 7-13.44)
	}
}

// With pricing.currency EUR at 0.9 EUR per USD every amount is the USD
// list cost times 0.9; the EUR list price row still plays no part.
func TestCost_ExchangeRate(t *testing.T) {
	rec := reconcileFixture(t, costSpec+"pricing: {currency: EUR, exchange_rate: 0.9}\n")
	if !near(rec.UsageCostList, 18.5*0.9) || !near(rec.AllocatedCostList, 18.5*0.9) || len(rec.Failures) != 0 {
		t.Errorf("EUR totals: usage %v allocated %v failures %v, want %v", rec.UsageCostList, rec.AllocatedCostList, rec.Failures, 18.5*0.9)
	}
	if rec.Currency != "EUR" || rec.ExchangeRate != 0.9 {
		t.Errorf("currency %s rate %v", rec.Currency, rec.ExchangeRate)
	}
}

package twin_test

// The monitor's own footprint and freshness (issue 15 points 3-4) on a
// hand-built account: monitor_footprint sums exactly the usage that carries
// this bundle's tags, by component, and adds the documented estimate for
// alerts and dashboards; monitor_freshness measures each source's newest
// event against the refresh; monitor_health fires on a source older than
// max_lag plus its lateness, and not on a fresh one.

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbmon/dbmon/generator"
	"github.com/dbmon/dbmon/preview"
	"github.com/dbmon/dbmon/synth"
	"github.com/dbmon/dbmon/twin"
)

const (
	skuDLTServerless = "PREMIUM_DLT_SERVERLESS_COMPUTE" // 0.40 USD
	skuSQLServerless = "PREMIUM_SERVERLESS_SQL_COMPUTE" // 0.70 USD
)

// footprintSpec is bundle t with a 10% discount and the default refresh
// (1h): max_lag is 3h, so a job timeline may be 3.5h old (lateness.jobs
// 30m) and billing 15h (lateness.billing 12h).
const footprintSpec = baseSpec + "pricing: {discount_percent: 10}\n"

// footprintFixture: on 2026-11-26 at 10:00, 2 DBU of this bundle's pipeline,
// 1 DBU of its collector job, 3 DBU of another bundle's pipeline and 5 DBU
// of an ordinary serverless job; 10 DBU of a serverless SQL warehouse price
// the estimate. The newest job timeline row ends 2026-11-27 10:00, two
// hours before "now"; the newest usage ends 2026-11-26 11:00, 25 hours
// before; the task timeline is empty.
func footprintFixture() *fixture {
	tags := func(bundle, component string) R {
		return R{"custom_tags": map[string]string{"app": "dbmon", "dbmon_bundle": bundle, "dbmon_component": component}}
	}
	dlt := func(bundle string) R {
		return with(tags(bundle, "pipeline"), R{"billing_origin_product": "DLT"})
	}
	return newFixture().
		add(tJobs, job("100", "7", "t collector", map[string]string{"app": "dbmon", "dbmon_bundle": "t", "dbmon_component": "collector"}, nil),
			job("100", "8", "etl", nil, nil)).
		add(tRuns, slice("100", "8", "r8", "2026-11-27T09:00", "2026-11-27T10:00", "SUCCEEDED", "SUCCESS")).
		add(tPrices,
			price(skuDLTServerless, "AZURE", "2026-11-01T00:00", "", 0.4),
			price(skuSrv, "AZURE", "2026-11-01T00:00", "", 1.0),
			price(skuSQLServerless, "AZURE", "2026-11-01T00:00", "", 0.7)).
		add(tUsage,
			usage("100", "p1", skuDLTServerless, "2026-11-26T10:00", 2, R{"dlt_pipeline_id": "pl", "dlt_update_id": "u1"}, dlt("t")),
			usage("100", "c1", skuSrv, "2026-11-26T10:00", 1, R{"job_id": "7", "job_run_id": "r7"}, tags("t", "collector")),
			usage("100", "o1", skuDLTServerless, "2026-11-26T10:00", 3, R{"dlt_pipeline_id": "other"}, dlt("other")),
			usage("100", "x1", skuSrv, "2026-11-26T10:00", 5, R{"job_id": "8", "job_run_id": "r8"}, nil),
			usage("100", "w1", skuSQLServerless, "2026-11-26T10:00", 10, R{"warehouse_id": "wh"}, R{"billing_origin_product": "SQL"}))
}

func TestFootprint_OwnCostByComponent(t *testing.T) {
	e := runSpec(t, footprintSpec, footprintFixture())
	d := day("2026-11-26")
	row := func(component, method string, queries any, dbus, list float64) R {
		return R{"usage_date": d, "component": component, "method": method, "queries": queries,
			"dbus": dbus, "cost_list": list, "cost_net": list * 0.9}
	}
	cols := []string{"usage_date", "component", "method", "queries", "dbus", "cost_list", "cost_net"}
	expectRows(t, e, "monitor_footprint", cols, "", []R{
		// The spec has no destinations, so no alert: no evaluations.
		row("alerts", "estimated", 0.0, 0, 0),
		row("collector", "measured", nil, 1, 1.0), // 1 DBU x 1.00
		// 4 dashboards x 6 datasets x 24 refreshes a day = 576 queries x 5 s
		// = 0.8 h at 12 DBU/h = 9.6 DBU, at the day's SQL price 0.70.
		row("dashboards", "estimated", 576.0, 9.6, 6.72),
		row("pipeline", "measured", nil, 2, 0.8), // 2 DBU x 0.40; the other bundle's 3 DBU are not ours
	})
}

func TestFootprint_FreshnessAndMonitorHealth(t *testing.T) {
	e := runSpec(t, footprintSpec, footprintFixture())
	cols := []string{"layer", "table_name", "event_column", "newest_event_time", "newest_date", "lag_seconds", "lag_days", "max_lag_seconds"}
	src := func(table, column string, newest any, newestDate any, lag, lagDays, maxLag any) R {
		return R{"layer": "source", "table_name": table, "event_column": column, "newest_event_time": newest,
			"newest_date": newestDate, "lag_seconds": lag, "lag_days": lagDays, "max_lag_seconds": maxLag}
	}
	expectRows(t, e, "monitor_freshness", cols, "layer = 'source' AND table_name IN ('system.billing.usage', "+
		"'system.lakeflow.job_run_timeline', 'system.lakeflow.job_task_run_timeline', 'system.lakeflow.jobs')", []R{
		src("system.billing.usage", "usage_end_time", ts("2026-11-26T11:00"), day("2026-11-26"), int64(25*3600), int64(1), int64(15*3600)),
		src("system.lakeflow.job_run_timeline", "period_end_time", ts("2026-11-27T10:00"), day("2026-11-27"), int64(2*3600), int64(0), int64(3*3600+1800)),
		src("system.lakeflow.job_task_run_timeline", "period_end_time", nil, nil, nil, nil, int64(3*3600+1800)),
		// Job definitions change when someone edits a job: shown, not judged.
		src("system.lakeflow.jobs", "change_time", ts("2026-11-01T00:00"), day("2026-11-01"), int64(26*86400+12*3600), int64(26), nil),
	})
	expectRows(t, e, "monitor_freshness", []string{"layer", "table_name", "newest_event_time", "lag_seconds", "max_lag_seconds"},
		"layer = 'pipeline'", []R{
			{"layer": "pipeline", "table_name": "t monitoring pipeline", "newest_event_time": semAsOf, "lag_seconds": int64(0), "max_lag_seconds": int64(3 * 3600)},
		})
	expectRows(t, e, "monitor_freshness", []string{"layer", "table_name", "newest_event_time", "newest_date", "lag_days"},
		"table_name IN ('cost_by_workspace', 'monitor_footprint')", []R{
			{"layer": "gold", "table_name": "cost_by_workspace", "newest_event_time": nil, "newest_date": day("2026-11-26"), "lag_days": int64(1)},
			{"layer": "gold", "table_name": "monitor_footprint", "newest_event_time": nil, "newest_date": day("2026-11-26"), "lag_days": int64(1)},
		})

	// Billing is 25 h old, past its 15 h: the one monitor_health finding.
	// The job timeline (2 h of 3.5 h) and the empty task timeline are not.
	if got := healthSubjects(t, e, footprintSpec); len(got) != 1 || got[0] != "system.billing.usage" {
		t.Errorf("monitor_health flags %q, want [system.billing.usage]", got)
	}

	// Usage that ended an hour ago makes billing fresh: nothing fires.
	fresh := footprintFixture().add(tUsage,
		usage("100", "x2", skuSrv, "2026-11-27T10:00", 1, R{"job_id": "8", "job_run_id": "r8"}, nil))
	e = runSpec(t, footprintSpec, fresh)
	if got := healthSubjects(t, e, footprintSpec); len(got) != 0 {
		t.Errorf("monitor_health flags %q on fresh sources, want none", got)
	}

	// A max_lag of 1h: the job timeline's 2 h are now past 1h30m.
	tight := footprintSpec + "alerts: {monitor_health: {max_lag: 1h}}\n"
	e = runSpec(t, tight, fresh)
	if got := healthSubjects(t, e, tight); len(got) != 1 || got[0] != "system.lakeflow.job_run_timeline" {
		t.Errorf("monitor_health with max_lag 1h flags %q, want [system.lakeflow.job_run_timeline]", got)
	}
}

// healthSubjects runs the finding queries of the spec and returns
// monitor_health's subjects, in order.
func healthSubjects(t *testing.T, e *twin.Engine, specYAML string) []string {
	t.Helper()
	res, diags, err := generator.Prepare("spec.yaml", []byte(specYAML))
	if err != nil || len(diags) > 0 {
		t.Fatalf("spec: %v %v", err, diags)
	}
	findings, err := e.Findings(res.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range findings {
		if f.Family == "monitor_health" {
			out = append(out, f.Subject)
		}
	}
	return out
}

// TestFootprint_StaleSyntheticSourcesPage: the example's synthetic account
// (the monitor's own jobs included) whose system tables stopped arriving 4
// hours before the refresh. The job and task run timelines and the pipeline
// updates are past 3h30m (max_lag 3h plus lateness.jobs 30m): monitor_health
// flags those three and its alert fires; billing, allowed 15h, is not
// flagged, nor is the pipeline, which refreshed. (The same data up to the
// refresh flags nothing: TestCleanDataFlagsNothing.)
func TestFootprint_StaleSyntheticSourcesPage(t *testing.T) {
	res := prepare(t, "../specs/example.yaml")
	src := preview.Rows("synthetic data that stopped 4 hours ago", func(e *twin.Engine) error {
		l, err := e.Loader()
		if err != nil {
			return err
		}
		cfg := synth.Config{Seed: 7, Jobs: 20, Days: 10, NodeGrainMinutes: 60, AsOf: asOf.Add(-4 * time.Hour)}
		if _, err := synth.Generate(res.Spec, cfg, l); err != nil {
			l.Close()
			return err
		}
		return l.Close()
	})
	r := run(t, res, src)
	// Other families may flag too: a run that was in progress when the data
	// stopped looks like it is still running (a max_duration breach), which
	// is why a stale monitor must page.
	var flagged []string
	for _, f := range r.Findings {
		if f.Family == "monitor_health" {
			flagged = append(flagged, f.Subject)
		}
	}
	slices.Sort(flagged)
	want := []string{"system.lakeflow.job_run_timeline", "system.lakeflow.job_task_run_timeline", "system.lakeflow.pipeline_update_timeline"}
	if !slices.Equal(flagged, want) {
		t.Errorf("monitor_health flags %q, want %q", flagged, want)
	}
	fired := false
	for _, a := range r.Alerts {
		if strings.HasSuffix(a.Key, "_monitor_health") {
			fired = a.Fired
		}
	}
	if !fired {
		t.Error("the monitor_health alert does not fire on sources 4 hours behind")
	}
}

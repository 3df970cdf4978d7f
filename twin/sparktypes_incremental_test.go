package twin_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/dbmon/dbmon/twin"
)

// recomputed is the acknowledged table: the views that recompute in full on
// every pipeline update, and why (README, "The pipeline"). Views not listed
// have no reason the twin can see. The team, SLA-selector and failure-class
// rules count distinct matched conditions; the p95 duration is an exact
// percentile; the two bronze views read system tables, whose row tracking
// dbmon cannot set; monitor_freshness records when the refresh ran.
var recomputed = map[string][]string{
	"billing_enriched":     {"OPERATOR_NOT_INCREMENTALIZABLE: count(DISTINCT)"},
	"bronze_list_prices":   {"ROW_TRACKING_NOT_ENABLED: system.billing.list_prices"},
	"bronze_workspaces":    {"ROW_TRACKING_NOT_ENABLED: system.access.workspaces_latest"},
	"cluster_usage_hourly": {"OPERATOR_NOT_INCREMENTALIZABLE: count(DISTINCT)"},
	"failure_analysis":     {"OPERATOR_NOT_INCREMENTALIZABLE: count(DISTINCT)"},
	"failure_classified":   {"OPERATOR_NOT_INCREMENTALIZABLE: count(DISTINCT)"},
	"job_summary_daily":    {"OPERATOR_NOT_INCREMENTALIZABLE: percentile"},
	"jobs_current":         {"OPERATOR_NOT_INCREMENTALIZABLE: count(DISTINCT)"},
	"monitor_freshness":    {"EXPRESSION_NOT_DETERMINISTIC: current_timestamp()"},
	"sla_compliance":       {"OPERATOR_NOT_INCREMENTALIZABLE: count(DISTINCT)"},
}

// TestIncrementalRefresh lists, for every materialized view of every example
// spec's pipeline, the MATERIALIZED_VIEW_NOT_INCREMENTALIZABLE reasons its SQL
// gives, and compares them with the acknowledged table below: a change that
// makes a view recompute in full (or stops it doing so) fails here until the
// table and the README's pipeline section say so.
func TestIncrementalRefresh(t *testing.T) {
	for _, spec := range []string{"example", "minimal", "multi_workspace"} {
		t.Run(spec, func(t *testing.T) {
			res := prepare(t, "../specs/"+spec+".yaml")
			files := map[string]string{}
			for _, f := range res.Files {
				if strings.HasPrefix(f.Path, "src/pipeline/") && strings.HasSuffix(f.Path, ".sql") {
					files[f.Path] = string(f.Data)
				}
			}
			conf := map[string]string{}
			for _, kv := range res.Bundle.Pipeline.Configuration {
				conf[kv.Key] = kv.Value
			}
			got, err := twin.IncrementalReport(files, conf)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(res.Bundle.Tables)+2 { // + the two bronze views
				t.Errorf("%d materialized views, want %d", len(got), len(res.Bundle.Tables)+2)
			}
			for _, view := range slices.Sorted(maps.Keys(got)) {
				if !slices.Equal(got[view], recomputed[view]) {
					t.Errorf("%s: not incrementalizable because %q, acknowledged %q", view, got[view], recomputed[view])
				}
			}
			for view := range recomputed {
				if _, ok := got[view]; !ok {
					t.Errorf("acknowledged view %s is not a materialized view of the bundle", view)
				}
			}
		})
	}
}

// TestNotIncrementalizable: each reason the twin reports, and a
// non-deterministic function in WHERE, which is allowed.
func TestNotIncrementalizable(t *testing.T) {
	cases := []struct {
		sql  string
		want []string
	}{
		{"CREATE MATERIALIZED VIEW v AS SELECT job_id FROM jobs_current WHERE change_time > current_timestamp() - INTERVAL 1 DAY", nil},
		{"CREATE MATERIALIZED VIEW v AS SELECT job_id, current_date() AS d FROM jobs_current", []string{"EXPRESSION_NOT_DETERMINISTIC: current_date()"}},
		{"CREATE MATERIALIZED VIEW v AS SELECT x FROM (SELECT job_id AS x, rand() AS r FROM jobs_current WHERE now() > change_time) s",
			[]string{"EXPRESSION_NOT_DETERMINISTIC: rand()"}},
		{"CREATE MATERIALIZED VIEW v AS SELECT j.job_id FROM jobs_current j JOIN task_metrics m ON m.start_time < current_timestamp() WHERE j.is_deleted",
			[]string{"EXPRESSION_NOT_DETERMINISTIC: current_timestamp()"}},
		{"CREATE MATERIALIZED VIEW v AS SELECT team, count(DISTINCT job_id) AS n, percentile_approx(duration_seconds, 0.5) AS p FROM job_runs_enriched GROUP BY team",
			[]string{"OPERATOR_NOT_INCREMENTALIZABLE: count(DISTINCT)", "OPERATOR_NOT_INCREMENTALIZABLE: percentile_approx"}},
		{"CREATE MATERIALIZED VIEW v AS SELECT job_id, row_number() OVER (ORDER BY start_time) AS n, rank() OVER (PARTITION BY team ORDER BY start_time) AS r FROM job_runs_enriched",
			[]string{"WINDOW_WITHOUT_PARTITION_BY: OVER (ORDER BY start_time)"}},
		{"CREATE MATERIALIZED VIEW v AS SELECT * FROM system.lakeflow.jobs", []string{"ROW_TRACKING_NOT_ENABLED: system.lakeflow.jobs"}},
		{"CREATE MATERIALIZED VIEW v AS SELECT * FROM bronze_api_job_runs", nil}, // the collector creates its table with row tracking
		{"CREATE STREAMING TABLE v AS SELECT current_timestamp() AS t FROM STREAM(bronze_jobs)", nil},
	}
	for _, c := range cases {
		got, err := twin.NotIncrementalizable(c.sql, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.sql, got, c.want)
		}
	}
}

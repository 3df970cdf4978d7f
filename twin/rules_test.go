package twin_test

// Rule order on the twin: the spec's rules are rows of the config tables, and
// these cases pin how the statements pick among them (first team, longest
// SKU prefix, first failure class) and which jobs each SLA selector picks.
// Expected rows are worked out by hand from spec-v1; the harness is
// semantics_test.go's.

import (
	"fmt"
	"testing"
)

// teamOrderRules are five team rules; jobs below match several of them.
var teamOrderRules = []string{
	`{name: by_name, match: {job_name: "^etl_"}}`,
	`{name: by_tag, match: {tags: {team: x}}}`,
	`{name: two_tags, match: {tags: {team: y, env: prod}}}`,
	`{name: identity, match: {run_as: [svc@acme.com, ops@acme.com]}}`,
	`{name: by_ws, match: {workspaces: ["300"]}}`,
}

func teamOrderSpec(rules []string) string {
	s := baseSpec + "unassigned_team: nobody\nteams:\n"
	for _, r := range rules {
		s += "  - " + r + "\n"
	}
	return s
}

func teamOrderJobs() *fixture {
	return newFixture().add(tJobs,
		job("200", "1", "etl_orders", map[string]string{"team": "x"}, nil),                                      // by_name and by_tag
		job("200", "2", "load", map[string]string{"team": "x"}, nil),                                            // by_tag
		job("200", "3", "load", map[string]string{"team": "y", "env": "prod"}, nil),                             // two_tags
		job("200", "4", "load", map[string]string{"team": "y"}, nil),                                            // env missing: none
		job("200", "5", "load", map[string]string{"team": "y", "env": "dev"}, nil),                              // env differs: none
		job("200", "6", "load", nil, R{"run_as_user_name": "me@acme.com", "creator_user_name": "ops@acme.com"}), // creator
		job("300", "7", "etl_x", map[string]string{"team": "x"}, nil),                                           // by_name, by_tag, by_ws
		job("300", "8", "plain", nil, nil),                                                                      // by_ws
		job("200", "9", "", nil, R{"name": nil}),                                                                // nothing known: none
	)
}

func TestRules_FirstMatchingTeamWins(t *testing.T) {
	cols := []string{"workspace_id", "job_id", "team"}
	e := runSpec(t, teamOrderSpec(teamOrderRules), teamOrderJobs())
	expectRows(t, e, "jobs_current", cols, "", []R{
		{"workspace_id": "200", "job_id": "1", "team": "by_name"},
		{"workspace_id": "200", "job_id": "2", "team": "by_tag"},
		{"workspace_id": "200", "job_id": "3", "team": "two_tags"},
		{"workspace_id": "200", "job_id": "4", "team": "nobody"},
		{"workspace_id": "200", "job_id": "5", "team": "nobody"},
		{"workspace_id": "200", "job_id": "6", "team": "identity"},
		{"workspace_id": "200", "job_id": "9", "team": "nobody"},
		{"workspace_id": "300", "job_id": "7", "team": "by_name"},
		{"workspace_id": "300", "job_id": "8", "team": "by_ws"},
	})

	// The same rules in reverse order: where two match, the other wins.
	reversed := make([]string, len(teamOrderRules))
	for i, r := range teamOrderRules {
		reversed[len(reversed)-1-i] = r
	}
	e = runSpec(t, teamOrderSpec(reversed), teamOrderJobs())
	expectRows(t, e, "jobs_current", cols, "", []R{
		{"workspace_id": "200", "job_id": "1", "team": "by_tag"},
		{"workspace_id": "200", "job_id": "2", "team": "by_tag"},
		{"workspace_id": "200", "job_id": "3", "team": "two_tags"},
		{"workspace_id": "200", "job_id": "4", "team": "nobody"},
		{"workspace_id": "200", "job_id": "5", "team": "nobody"},
		{"workspace_id": "200", "job_id": "6", "team": "identity"},
		{"workspace_id": "200", "job_id": "9", "team": "nobody"},
		{"workspace_id": "300", "job_id": "7", "team": "by_ws"},
		{"workspace_id": "300", "job_id": "8", "team": "by_ws"},
	})
}

// Usage and clusters have no job name, so a job_name rule cannot hold for
// them even when it would match any name; clusters have no creator.
const ownerRulesSpec = baseSpec + `unassigned_team: nobody
teams:
  - {name: any_name, match: {job_name: "."}}
  - {name: finance, match: {tags: {cc: fin}}}
  - {name: alice, match: {run_as: [alice@acme.com]}}
  - {name: ws_400, match: {workspaces: ["400"]}}
`

func TestRules_TeamsOfUsageAndClusters(t *testing.T) {
	const sku = "PREMIUM_ALL_PURPOSE_COMPUTE"
	identity := func(runAs, createdBy any) R {
		return R{"identity_metadata": map[string]any{"run_as": runAs, "created_by": createdBy}}
	}
	f := newFixture().
		add(tJobs, job("100", "1", "etl", nil, nil)).
		add(tPrices, price(sku, "AZURE", "2026-11-01T00:00", "", 1.0)).
		add(tUsage,
			usage("100", "u1", sku, "2026-11-25T06:00", 1, R{}, R{"custom_tags": map[string]string{"cc": "fin"}}),
			usage("100", "u2", sku, "2026-11-25T06:00", 1, R{}, identity("alice@acme.com", nil)),
			usage("100", "u3", sku, "2026-11-25T06:00", 1, R{}, identity(nil, "alice@acme.com")),
			usage("100", "u4", sku, "2026-11-25T06:00", 1, R{}, nil),
			usage("100", "u5", sku, "2026-11-25T06:00", 1, R{"job_id": "1"}, R{"custom_tags": map[string]string{"cc": "fin"}}),
			// Tags and identity both match: the earlier rule (finance) wins.
			usage("100", "u6", sku, "2026-11-25T06:00", 1, R{}, with(R{"custom_tags": map[string]string{"cc": "fin"}},
				identity("alice@acme.com", nil))),
			usage("400", "u7", sku, "2026-11-25T06:00", 1, R{}, nil),
		).
		add(tClusters,
			R{"account_id": "acc", "workspace_id": "100", "cluster_id": "c1", "cluster_name": "a", "owned_by": "alice@acme.com",
				"cluster_source": "UI", "change_time": ts("2026-11-01T00:00"), "create_time": ts("2026-11-01T00:00")},
			R{"account_id": "acc", "workspace_id": "100", "cluster_id": "c2", "cluster_name": "b", "tags": map[string]string{"cc": "fin"},
				"cluster_source": "UI", "change_time": ts("2026-11-01T00:00"), "create_time": ts("2026-11-01T00:00")})
	// One node minute per cluster; c3 in workspace 400 has no clusters row.
	for _, c := range [][2]string{{"100", "c1"}, {"100", "c2"}, {"100", "c9"}, {"400", "c3"}} {
		for _, r := range nodeMinutes("i-"+c[1], true, "2026-11-25T06:00", 1, 50, 0) {
			r["workspace_id"], r["cluster_id"] = c[0], c[1]
			f.add(tNodes, r)
		}
	}
	e := runSpec(t, ownerRulesSpec, f)
	expectRows(t, e, "billing_enriched", []string{"workspace_id", "record_id", "team"}, "", []R{
		{"workspace_id": "100", "record_id": "u1", "team": "finance"},
		{"workspace_id": "100", "record_id": "u2", "team": "alice"},
		{"workspace_id": "100", "record_id": "u3", "team": "alice"},
		{"workspace_id": "100", "record_id": "u4", "team": "nobody"},
		{"workspace_id": "100", "record_id": "u5", "team": "any_name"}, // the job's team
		{"workspace_id": "100", "record_id": "u6", "team": "finance"},
		{"workspace_id": "400", "record_id": "u7", "team": "ws_400"},
	})
	expectRows(t, e, "cluster_usage_hourly", []string{"workspace_id", "cluster_id", "team"}, "", []R{
		{"workspace_id": "100", "cluster_id": "c1", "team": "alice"},
		{"workspace_id": "100", "cluster_id": "c2", "team": "finance"},
		{"workspace_id": "100", "cluster_id": "c9", "team": "nobody"},
		{"workspace_id": "400", "cluster_id": "c3", "team": "ws_400"},
	})
}

const longestPrefixSpec = baseSpec + `
pricing:
  discount_percent: 10
  sku_discounts: {P: 5, PREMIUM_JOBS: 20, PREMIUM_JOBS_SERVERLESS: 30, PREMIUM_JOBS_SERVERLESS_COMPUTE_US: 40}
`

func TestRules_LongestSKUPrefixWins(t *testing.T) {
	skus := []string{
		"PREMIUM_JOBS_SERVERLESS_COMPUTE_EUROPE_WEST", // PREMIUM_JOBS_SERVERLESS: the longer _US prefix does not match
		"PREMIUM_JOBS_SERVERLESS_COMPUTE_US_EAST",     // the longest prefix
		"PREMIUM_JOBS_COMPUTE",                        // PREMIUM_JOBS over P
		"PREMIUM_SQL_COMPUTE",                         // P
		"STANDARD_ALL_PURPOSE_COMPUTE",                // no prefix: the contract discount
	}
	f := newFixture()
	for i, sku := range skus {
		f.add(tPrices, price(sku, "AZURE", "2026-11-01T00:00", "", 1))
		f.add(tUsage, usage("100", fmt.Sprintf("u%d", i+1), sku, "2026-11-25T06:00", 10, R{}, nil))
	}
	e := runSpec(t, longestPrefixSpec, f)
	cols := []string{"record_id", "discount_percent", "cost_net"}
	expectRows(t, e, "billing_enriched", cols, "", []R{
		{"record_id": "u1", "discount_percent": 30.0, "cost_net": 7.0},
		{"record_id": "u2", "discount_percent": 40.0, "cost_net": 6.0},
		{"record_id": "u3", "discount_percent": 20.0, "cost_net": 8.0},
		{"record_id": "u4", "discount_percent": 5.0, "cost_net": 9.5},
		{"record_id": "u5", "discount_percent": 10.0, "cost_net": 9.0},
	})
}

// The first class needs both its error text and its termination code.
const failureOrderSpec = baseSpec + `
failure_classes:
  - {name: oom_on_driver, error_regex: "OutOfMemory", termination_codes: [DRIVER_ERROR]}
  - {name: oom, error_regex: "OutOfMemory"}
  - {name: driver, termination_codes: [DRIVER_ERROR, CLUSTER_ERROR]}
`

func TestRules_FirstFailureClassWins(t *testing.T) {
	f := newFixture().
		add(tJobs, job("100", "1", "a", nil, nil)).
		add(tRuns,
			slice("100", "1", "r1", "2026-11-25T06:00", "2026-11-25T06:10", "FAILED", "DRIVER_ERROR"),        // oom_on_driver
			slice("100", "1", "r2", "2026-11-25T07:00", "2026-11-25T07:10", "FAILED", "RUN_EXECUTION_ERROR"), // oom
			slice("100", "1", "r3", "2026-11-25T08:00", "2026-11-25T08:10", "FAILED", "DRIVER_ERROR"),        // driver: no error text
			slice("100", "1", "r4", "2026-11-25T09:00", "2026-11-25T09:10", "ERROR", "CLUSTER_ERROR"),        // driver
			slice("100", "1", "r5", "2026-11-25T10:00", "2026-11-25T10:10", "TIMED_OUT", nil),                // other
		).
		exec(collectorRow("100", "1", "r1", "java.lang.OutOfMemoryError")).
		exec(collectorRow("100", "1", "r2", "java.lang.OutOfMemoryError")).
		exec(collectorRow("100", "1", "r4", "lost contact"))
	e := runSpec(t, failureOrderSpec, f)
	expectRows(t, e, "failure_classified", []string{"run_id", "failure_class"}, "", []R{
		{"run_id": "r1", "failure_class": "oom_on_driver"},
		{"run_id": "r2", "failure_class": "oom"},
		{"run_id": "r3", "failure_class": "driver"},
		{"run_id": "r4", "failure_class": "driver"},
		{"run_id": "r5", "failure_class": "other"},
	})
}

// One SLA per selector kind, over jobs that each selector must or must not
// pick: deleted jobs never, the same job id in two workspaces both, a tag
// selector only with every tag.
const selectorSpec = baseSpec + `
teams:
  - {name: ta, match: {tags: {team: a}}}
slas:
  - {name: by_names, jobs: {names: [daily, weekly]}, max_duration: 1h}
  - {name: by_regex, jobs: {name_regex: "^etl_.*_hourly$"}, max_duration: 1h}
  - {name: by_ids, jobs: {job_ids: ["2", "7"]}, max_duration: 1h}
  - {name: by_tags, jobs: {tags: {tier: gold, team: a}}, max_duration: 1h}
  - {name: by_team, jobs: {team: ta}, max_duration: 1h}
`

func TestRules_SLASelectors(t *testing.T) {
	f := newFixture().add(tJobs,
		job("100", "1", "daily", nil, nil),
		job("100", "2", "weekly", map[string]string{"tier": "gold"}, nil),
		job("200", "2", "etl_orders_hourly", map[string]string{"tier": "gold", "team": "a"}, nil),
		job("100", "3", "etl_orders_hourly_v2", map[string]string{"team": "a"}, nil),
		job("100", "4", "Daily", map[string]string{"tier": "silver", "team": "a"}, nil),
		job("100", "5", "daily", nil, R{"delete_time": ts("2026-11-10T00:00")}),
		job("100", "6", "etl_x_hourly", map[string]string{"tier": "gold"}, R{"name": nil}),
	)
	e := runSpec(t, selectorSpec, f)
	// A job that never ran is checked today only: one row per selected job.
	sel := func(sla, ws, id string) R { return R{"sla_name": sla, "workspace_id": ws, "job_id": id} }
	expectRows(t, e, "sla_compliance", []string{"sla_name", "workspace_id", "job_id"}, "period_date = DATE '2026-11-27'", []R{
		sel("by_ids", "100", "2"),
		sel("by_ids", "200", "2"),
		sel("by_names", "100", "1"),
		sel("by_names", "100", "2"),
		sel("by_regex", "200", "2"),
		sel("by_tags", "200", "2"),
		sel("by_team", "100", "3"),
		sel("by_team", "100", "4"),
		sel("by_team", "200", "2"),
	})
}

// Two SLAs on one job with different window_days: each success rate is
// over its own window.
const windowSpec = baseSpec + `
slas:
  - {name: w2, jobs: {names: [etl]}, min_success_rate: 60, window_days: 2}
  - {name: w4, jobs: {names: [etl]}, min_success_rate: 60, window_days: 4}
`

func TestRules_SLAWindowsPerSLA(t *testing.T) {
	f := newFixture().add(tJobs, job("100", "1", "etl", nil, nil))
	for i, c := range []struct{ date, state string }{
		{"2026-11-23", "FAILED"}, {"2026-11-24", "FAILED"}, {"2026-11-25", "SUCCEEDED"}, {"2026-11-26", "SUCCEEDED"},
	} {
		f.add(tRuns, slice("100", "1", fmt.Sprintf("r%d", i), c.date+"T06:00", c.date+"T06:10", c.state, nil))
	}
	e := runSpec(t, windowSpec, f)
	row := func(sla, date string, rate any, met any) R {
		return R{"sla_name": sla, "period_date": day(date), "success_rate": rate, "success_rate_met": met}
	}
	expectRows(t, e, "sla_compliance", []string{"sla_name", "period_date", "success_rate", "success_rate_met"}, "", []R{
		row("w2", "2026-11-23", 0.0, false),
		row("w2", "2026-11-24", 0.0, false),
		row("w2", "2026-11-25", 50.0, false),
		row("w2", "2026-11-26", 100.0, true),
		row("w2", "2026-11-27", 100.0, true), // 11-26 and 11-27 (no run today)
		row("w4", "2026-11-23", 0.0, false),
		row("w4", "2026-11-24", 0.0, false),
		row("w4", "2026-11-25", 100.0/3, false),
		row("w4", "2026-11-26", 50.0, false),
		row("w4", "2026-11-27", 200.0/3, true), // 11-24 .. 11-27: 2 of 3
	})
}

package twin_test

import "testing"

// The alert semantics of issue 12 on sla_compliance, at the semantics
// tests' "now" (2026-11-27 12:00 UTC, 13:00 in Berlin).
const alertSemanticsSpec = `version: 1
bundle: {name: t, catalog: c, schema: s, warehouse: w, timezone: Europe/Berlin}
slas:
  - {name: by-1230, jobs: {names: [report]}, deadline: "12:30"}
  - {name: long-run, jobs: {names: [long]}, max_duration: 45m}
  - {name: fixed-run, jobs: {names: [fixed]}, max_duration: 45m}
`

// TestSemantics_SLADeadlineWaitsForData: 12:30 Berlin is 11:30 UTC, and the
// grace (default 15m) has passed at 12:00 UTC. While the newest job data
// is older than the deadline, a missing run may just not have arrived: the
// check is NULL, and so is met (no check applied). Once data from after the
// deadline has arrived, the deadline is missed, known at deadline + grace
// (breach_epoch counts Berlin wall-clock seconds: 12:45).
func TestSemantics_SLADeadlineWaitsForData(t *testing.T) {
	base := func() *fixture {
		return newFixture().
			add(tJobs, job("100", "1", "report", nil, nil), job("100", "2", "other", nil, nil)).
			add(tRuns, slice("100", "1", "r0", "2026-11-26T10:00", "2026-11-26T10:20", "SUCCEEDED", "SUCCESS"))
	}
	cols := []string{"sla_name", "period_date", "deadline_met", "met", "breach_epoch"}
	where := "sla_name = 'by-1230' AND period_date = '2026-11-27'"

	stale := base().add(tRuns, slice("100", "2", "o1", "2026-11-27T10:30", "2026-11-27T11:00", "SUCCEEDED", "SUCCESS"))
	expectRows(t, runSpec(t, alertSemanticsSpec, stale), "sla_compliance", cols, where, []R{
		{"sla_name": "by-1230", "period_date": day("2026-11-27"), "deadline_met": nil, "met": nil, "breach_epoch": nil},
	})

	fresh := base().add(tRuns, slice("100", "2", "o1", "2026-11-27T11:10", "2026-11-27T11:40", "SUCCEEDED", "SUCCESS"))
	expectRows(t, runSpec(t, alertSemanticsSpec, fresh), "sla_compliance", cols, where, []R{
		{"sla_name": "by-1230", "period_date": day("2026-11-27"), "deadline_met": false, "met": false,
			"breach_epoch": ts("2026-11-27T12:45").Unix()},
	})
}

// TestSemantics_SLAMaxDurationFirstAttempt: max_duration is checked on the
// run's first attempt, and on a run still in progress.
func TestSemantics_SLAMaxDurationFirstAttempt(t *testing.T) {
	f := newFixture().
		add(tJobs, job("100", "3", "long", nil, nil), job("100", "4", "fixed", nil, nil)).
		add(tRuns,
			// running since 10:30 UTC, no terminal row at 12:00: 90 min so far,
			// over 45m since 11:15
			slice("100", "3", "l1", "2026-11-27T10:30", "2026-11-27T11:30", nil, nil),
			// failed after 30 min, repaired 30 min later for 30 min: 60 min
			// summed, 90 min wall clock, but the first attempt is 30 min
			slice("100", "4", "f1", "2026-11-27T08:00", "2026-11-27T08:30", "FAILED", "RUN_EXECUTION_ERROR"),
			slice("100", "4", "f1", "2026-11-27T09:00", "2026-11-27T09:30", "SUCCEEDED", "SUCCESS"),
		)
	e := runSpec(t, alertSemanticsSpec, f)
	cols := []string{"sla_name", "period_date", "duration_met", "met", "breach_reason", "breach_epoch"}
	expectRows(t, e, "sla_compliance", cols, "sla_name IN ('long-run', 'fixed-run') AND period_date = '2026-11-27'", []R{
		{"sla_name": "fixed-run", "period_date": day("2026-11-27"), "duration_met": true, "met": true, "breach_reason": nil, "breach_epoch": nil},
		{"sla_name": "long-run", "period_date": day("2026-11-27"), "duration_met": false, "met": false, "breach_reason": "max_duration",
			"breach_epoch": ts("2026-11-27T12:15").Unix()},
	})
}

package twin_test

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dbmon/dbmon/generator"
	"github.com/dbmon/dbmon/generator/spec"
	"github.com/dbmon/dbmon/preview"
	"github.com/dbmon/dbmon/synth"
	"github.com/dbmon/dbmon/twin"
)

// replayScenario loads a small synthetic dataset for a spec and replays the
// last days of it. The incidents sit just before asOf (the end of the
// data), so the replay runs on to `past` after it: long enough for the last
// incident's rows to arrive, be refreshed and reach an alert. late, if not
// nil, makes chosen rows arrive later than DefaultLateness says.
func replayScenario(t *testing.T, path string, jobs, days int, replay, past time.Duration, incidents bool,
	late func(*twin.Engine, []synth.Incident) []twin.LateRows) (*replayRun, *twin.Timeline) {
	t.Helper()
	res := prepare(t, path)
	e, err := twin.Open(asOf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	loader, err := e.Loader()
	if err != nil {
		t.Fatal(err)
	}
	loader.Lazy = true // as preview --replay loads it
	cfg := synth.Config{Seed: 7, Jobs: jobs, Days: days, AsOf: asOf, NodeGrainMinutes: 60, Incidents: incidents}
	if !incidents {
		// no noise in the replayed days nor in any lookback before them: the
		// detectors' (a few days) and the KPIs' windows (30 days by default,
		// longer than the history), so the whole clean history is quiet
		cfg.QuietDays = max(int(replay/(24*time.Hour))+4, days)
	}
	injected, err := synth.Generate(res.Spec, cfg, loader)
	if err != nil {
		t.Fatal(err)
	}
	if err := loader.Close(); err != nil {
		t.Fatal(err)
	}
	lat := twin.DefaultLateness
	if late != nil {
		lat.Late = late(e, injected)
	}
	to := asOf.Add(past)
	start := time.Now()
	tl, err := e.Replay(res.Bundle, res.Files, to.Add(-replay), to, lat, res.Spec.Destinations)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	var refresh, slowest time.Duration
	for _, r := range tl.Refreshes {
		refresh += r.Elapsed
		slowest = max(slowest, r.Elapsed)
	}
	t.Logf("%s: replayed %s in %s: %d refreshes, %s each on average (slowest %s); the rest (alerts) %s",
		path, replay, elapsed.Round(time.Millisecond), len(tl.Refreshes), (refresh / time.Duration(len(tl.Refreshes))).Round(time.Millisecond),
		slowest.Round(time.Millisecond), (elapsed - refresh).Round(time.Millisecond))
	return &replayRun{res: res, e: e, lat: lat, injected: injected}, tl
}

// replayRun is what a replay ran on.
type replayRun struct {
	res      *generator.Result
	e        *twin.Engine // every source row again, after the replay
	lat      twin.Lateness
	injected []synth.Incident
}

// routedTo is where the spec routes an alert family's findings for a team:
// the family's notify list (default: team), or the SLA's own; "team" means
// the team's destinations, or monitor_notify for a team without any.
func routedTo(s *spec.Spec, family, team, sla string) []string {
	var notify []string
	if f := s.Alerts.Families()[family]; f != nil {
		notify = f.Notify
	}
	for _, x := range s.SLAs {
		if family == "sla_breach" && x.Name == sla && len(x.Notify) > 0 {
			notify = x.Notify
		}
	}
	if len(notify) == 0 {
		notify = []string{"team"}
	}
	var out []string
	for _, k := range notify {
		if k != "team" {
			out = append(out, k)
			continue
		}
		own := s.MonitorNotify
		for _, t := range s.Teams {
			if t.Name == team && len(t.Notify) > 0 {
				own = t.Notify
			}
		}
		out = append(out, own...)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// TestReplayExample replays 14 days of specs/example.yaml on a small
// synthetic account: one replay, many assertions.
//   - Every injected incident (each run of the failure streak) gets exactly
//     one TRIGGERED notification, to exactly the destinations the spec routes
//     it to, not before its data became visible and by its bound: the first
//     refresh after the data became visible plus one period of its alerts;
//     a deadline miss also by the deadline plus grace, alerts.lateness.jobs
//     and one refresh period (preview.IncidentTime).
//   - The budget overrun notifies exactly at the first budget evaluation
//     that reads a refresh made once its day was complete (the day the
//     forecast first crosses the warning).
//   - Late rows (Lateness.Late): the close call's timeline rows (a run that
//     succeeds 5 minutes before its deadline) arrive 40 minutes late: no
//     page; the cost spike's billing rows arrive 10 hours late: one page,
//     after they arrived.
//   - A run still running past max_duration pages while it runs; a repaired
//     run whose repair takes it past max_duration only when summed pages
//     nothing (max_duration checks the first attempt; the run succeeded).
func TestReplayExample(t *testing.T) {
	if testing.Short() {
		t.Skip("replays 14 days")
	}
	var closeCall, closeCallEnd, spikeRows string
	late := func(e *twin.Engine, injected []synth.Incident) []twin.LateRows {
		var out []twin.LateRows
		for _, in := range injected {
			switch in.Kind {
			case "sla_deadline_miss":
				// the close call: the job's run that succeeded in the 10 minutes before a deadline
				var deadline time.Duration
				for _, s := range prepare(t, "../specs/example.yaml").Bundle.Monitor.SLAs {
					if s.Name == in.SLA {
						deadline = time.Duration(s.DeadlineMinutes) * time.Minute
					}
				}
				rows, err := e.DB.Query("SELECT run_id, max(period_end_time) FROM dbx_system.lakeflow.job_run_timeline WHERE job_id = ? AND result_state = 'SUCCEEDED' GROUP BY run_id ORDER BY run_id", in.JobID)
				if err != nil {
					t.Fatal(err)
				}
				loc, _ := time.LoadLocation("Europe/Berlin")
				for rows.Next() {
					var id string
					var end time.Time
					if err := rows.Scan(&id, &end); err != nil {
						t.Fatal(err)
					}
					l := end.In(loc)
					due := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc).Add(deadline)
					if end.Before(due) && end.After(due.Add(-10*time.Minute)) {
						closeCall, closeCallEnd = id, end.UTC().Format(time.RFC3339)
					}
				}
				rows.Close()
				if closeCall == "" {
					t.Fatalf("no run of %s ends in the 10 minutes before the %s deadline of %s (synth's close call)", in.JobName, deadline, in.SLA)
				}
				out = append(out, twin.LateRows{Table: "system.lakeflow.job_run_timeline", Where: "run_id = '" + closeCall + "'", Lag: 40 * time.Minute})
			case "cost_spike":
				from := time.Date(in.Date.Year(), in.Date.Month(), in.Date.Day(), 0, 0, 0, 0, time.UTC).Add(-2 * time.Hour)
				spikeRows = "usage_metadata.job_id = '" + in.JobID + "' AND usage_start_time >= TIMESTAMPTZ '" + from.Format("2006-01-02 15:04:05") + "+00'" +
					" AND usage_start_time < TIMESTAMPTZ '" + from.Add(26*time.Hour).Format("2006-01-02 15:04:05") + "+00'"
				out = append(out, twin.LateRows{Table: "system.billing.usage", Where: spikeRows, Lag: 10 * time.Hour})
			}
		}
		return out
	}
	run, tl := replayScenario(t, "../specs/example.yaml", 12, 21, 14*24*time.Hour, 3*time.Hour, true, late)
	res, injected := run.res, run.injected
	var out strings.Builder
	if err := tl.Print(&out); err != nil {
		t.Fatal(err)
	}
	t.Logf("timeline:\n%s", out.String())
	kinds := map[string]synth.Incident{}
	for _, in := range injected {
		kinds[in.Kind] = in
	}
	if len(injected) != 7 || len(kinds) != 7 {
		t.Errorf("synth injected %d incidents, want the 7 kinds", len(injected))
	}
	times, err := preview.ReplayIncidents(run.e, res, injected, tl, run.lat)
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	if err := preview.PrintIncidentTimes(&table, times); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", table.String())
	for _, it := range times {
		name := it.Kind + " (" + it.Family + ", team " + it.Team + ", subject " + it.Subject + ")"
		if len(it.Notified) != 1 {
			t.Errorf("%s: %d TRIGGERED notifications %v, want exactly 1", name, len(it.Notified), it.Notified)
			continue
		}
		at := it.Notified[0]
		if it.Visible.IsZero() || at.Before(it.Visible) {
			t.Errorf("%s: notified %s, before its data became visible at %s", name, at.Format(time.RFC3339), it.Visible.Format(time.RFC3339))
		}
		if at.After(it.Bound) {
			t.Errorf("%s: notified %s, after its bound %s (data visible %s)", name, at.Format(time.RFC3339), it.Bound.Format(time.RFC3339), it.Visible.Format(time.RFC3339))
		}
		in := kinds[it.Kind]
		if want := routedTo(res.Spec, in.Family, in.Team, in.SLA); !slices.Equal(it.Destinations, want) {
			t.Errorf("%s: notified %v, the spec routes it to %v", name, it.Destinations, want)
		}
	}
	if n := len(times); n != 9 { // the streak's 3 runs, and one row per other incident
		t.Errorf("%d incident rows, want 9", n)
	}

	// budget overrun: exactly at the first budget evaluation that reads a
	// refresh started once the day was complete (ended alerts.lateness.billing ago)
	for _, it := range times {
		if it.Kind != "budget_overrun" || len(it.Notified) != 1 {
			continue
		}
		in := kinds[it.Kind]
		loc, _ := time.LoadLocation(res.Bundle.Timezone)
		complete := time.Date(in.Date.Year(), in.Date.Month(), in.Date.Day()+1, 0, 0, 0, 0, loc).Add(time.Duration(res.Bundle.Monitor.Alerts.BillingLatenessSecs) * time.Second)
		var want time.Time
		for _, a := range res.Bundle.Alerts {
			if a.Family != "budget" || !a.Covers(in.Team) {
				continue
			}
			refresh := firstFire(t, res.Bundle.RefreshJob.Cron, res.Bundle.RefreshJob.Timezone, complete.Add(-time.Second))
			want = firstFire(t, a.Cron, a.Timezone, refresh.Add(run.lat.PipelineUpdate-time.Second))
		}
		if !it.Notified[0].Equal(want) {
			t.Errorf("budget_overrun (team %s, forecast first over the warning on %s): notified %s, want %s (the first budget evaluation after the refresh that follows the day's completion at %s)",
				in.Team, in.Date.Format(time.DateOnly), it.Notified[0].Format(time.RFC3339), want.Format(time.RFC3339), complete.UTC().Format(time.RFC3339))
		}
	}

	// (a) late timeline row of a run that met its deadline: no SLA page
	// that day, beyond the miss the next SLA day
	miss := kinds["sla_deadline_miss"]
	for _, n := range tl.Notifications {
		if n.Family == "sla_breach" && slices.Contains(n.Subjects, miss.SLA) && n.Time.Before(miss.At) {
			t.Errorf("late timeline row (run %s of %s succeeded at %s before the deadline, its row 40 min late): SLA %s paged at %s",
				closeCall, miss.JobName, closeCallEnd, miss.SLA, n.Time.Format(time.RFC3339))
		}
	}
	// (b) cost spike with its billing rows 10 hours late: one page, after they arrived
	_, arrived, n, err := run.e.VisibleAt(run.lat, twin.Evidence{Table: "system.billing.usage", Where: spikeRows})
	if err != nil || n == 0 {
		t.Fatalf("the spike's late billing rows: %d rows, %v", n, err)
	}
	for _, it := range times {
		if it.Kind == "cost_spike" && (len(it.Notified) != 1 || !it.Notified[0].After(arrived)) {
			t.Errorf("cost spike with billing rows 10 h late (the last arrived %s): notified %v, want once after they arrived", arrived.Format(time.RFC3339), it.Notified)
		}
	}
	// running past max_duration: paged while the run still runs (the data
	// ends at asOf with the run unfinished; the page must come before that
	// run could have finished, and after it broke its limit)
	long := kinds["run_past_max_duration"]
	for _, it := range times {
		if it.Kind == "run_past_max_duration" && len(it.Notified) == 1 && (it.Notified[0].Before(long.At) || it.Notified[0].After(asOf.Add(time.Hour))) {
			t.Errorf("run past max_duration (run %s of %s, over its limit at %s, still running at %s): notified %s, want while it runs",
				long.Runs[0].ID, long.JobName, long.At.Format(time.RFC3339), asOf.Format(time.RFC3339), it.Notified[0].Format(time.RFC3339))
		}
	}
	// repaired run past max_duration only when summed: no SLA page (the
	// first attempt is within the limit) and exactly one job_failure page,
	// for the failed first attempt, sent before the repair ran
	repaired := repairedRun(t, run.e, long)
	failures := 0
	for _, n := range tl.Notifications {
		if n.Family == "sla_breach" && slices.Contains(n.Subjects, long.SLA) && n.Time.Before(long.At) {
			t.Errorf("repaired run %s of %s (first attempt %s, start to repaired end %s; max_duration checks the first attempt): SLA %s paged at %s",
				repaired.id, long.JobName, repaired.first, repaired.total, long.SLA, n.Time.Format(time.RFC3339))
		}
		if slices.Contains(n.Subjects, repaired.id) {
			if n.Family != "job_failure" {
				t.Errorf("repaired run %s of %s: %s %s paged %v", repaired.id, long.JobName, n.Time.Format(time.RFC3339), n.Alert, n.Subjects)
			}
			failures++
		}
	}
	if failures != 1 {
		t.Errorf("repaired run %s of %s: %d job_failure pages for its failed first attempt, want 1", repaired.id, long.JobName, failures)
	}
	t.Logf("repaired run %s of %s: first attempt %s, start to repaired end %s: no SLA page, %d job_failure page", repaired.id, long.JobName, repaired.first, repaired.total, failures)

	// A finding notifies once: no subject of an event family (job_failure,
	// duration_anomaly, sla_breach, whose findings are reported by one
	// evaluation each) is in two TRIGGERED notifications of one alert, and
	// those alerts never notify the move back to OK.
	byKey := map[string]int{}
	for i, a := range res.Bundle.Alerts {
		byKey[a.Key] = i
	}
	seen := map[string]time.Time{}
	for _, n := range tl.Notifications {
		a := res.Bundle.Alerts[byKey[n.Alert]]
		if !a.Events {
			continue
		}
		if n.State != twin.StateTriggered {
			t.Errorf("%s %s: an event alert notified %s", n.Time.Format(time.RFC3339), n.Alert, n.State)
			continue
		}
		for _, s := range n.Subjects {
			// an SLA's subject is its name: a second breach of it on another
			// day is a new finding, so SLA subjects may repeat a day apart
			k := n.Alert + "|" + s
			if prev, ok := seen[k]; ok && (a.Family != "sla_breach" || n.Time.Sub(prev) < 12*time.Hour) {
				t.Errorf("%s %s: subject %s notified again (first %s)", n.Time.Format(time.RFC3339), n.Alert, s, prev.Format(time.RFC3339))
			}
			seen[k] = n.Time
		}
	}
	// Every evaluation is a warehouse query: the count is the alerts'
	// schedules, whatever the data.
	want := 0
	for _, a := range res.Bundle.Alerts {
		want += firesIn(t, a.Cron, a.Timezone, tl.From, tl.To)
	}
	got := 0
	for _, d := range tl.Queries {
		got += d.Total
	}
	if got != want {
		t.Errorf("%d warehouse queries, the schedules fire %d times", got, want)
	}
	if len(tl.Refreshes) < 14*24 {
		t.Errorf("%d refreshes in 14 days of an hourly refresh", len(tl.Refreshes))
	}
	for i := 1; i < len(tl.Refreshes); i++ {
		if tl.Refreshes[i].VisibleRows < tl.Refreshes[i-1].VisibleRows {
			t.Errorf("refresh %s sees fewer rows (%d) than the one before (%d)", tl.Refreshes[i].Time, tl.Refreshes[i].VisibleRows, tl.Refreshes[i-1].VisibleRows)
		}
	}
	t.Logf("warehouse queries: %.0f a day", tl.QueriesPerDay())
}

// repaired is synth's repaired run of the long-run job: the job's run with
// two attempts.
type repaired struct {
	id           string
	first, total time.Duration
}

func repairedRun(t *testing.T, e *twin.Engine, long synth.Incident) repaired {
	t.Helper()
	var r repaired
	var start, firstEnd, end time.Time
	err := e.DB.QueryRow(`SELECT run_id, min(period_start_time), min(period_end_time) FILTER (WHERE result_state IS NOT NULL), max(period_end_time)
		FROM dbx_system.lakeflow.job_run_timeline WHERE job_id = ? GROUP BY run_id HAVING count(result_state) = 2`, long.JobID).Scan(&r.id, &start, &firstEnd, &end)
	if err != nil {
		t.Fatalf("the repaired run of %s: %v", long.JobName, err)
	}
	r.first, r.total = firstEnd.Sub(start), end.Sub(start)
	if r.first >= 2*time.Hour || r.total <= 2*time.Hour { // platform-jobs-fast: max_duration 2h
		t.Fatalf("repaired run %s: first attempt %s, in all %s: want within 2h, and over it when summed", r.id, r.first, r.total)
	}
	return r
}

// firstFire is a schedule's first fire time after t.
func firstFire(t *testing.T, cron, tz string, after time.Time) time.Time {
	next := schedule(t, cron, tz)
	return next(after).UTC()
}

// TestReplayClean replays 14 days of specs/example.yaml on clean synthetic
// data (no incidents, no noise in the replayed days): a monitor that pages
// only for real problems sends no notification at all.
func TestReplayClean(t *testing.T) {
	if testing.Short() {
		t.Skip("replays 14 days")
	}
	_, tl := replayScenario(t, "../specs/example.yaml", 8, 21, 14*24*time.Hour, 0, false, nil)
	for _, n := range tl.Notifications {
		t.Errorf("clean data: %s %s %s to %v, subjects %v", n.Time.Format(time.RFC3339), n.Alert, n.State, n.Destinations, n.Subjects)
	}
	for _, a := range tl.Alerts {
		if a.Errors > 0 {
			t.Errorf("alert %s: %d evaluations in ERROR", a.Alert, a.Errors)
		}
	}
}

// firesIn counts a schedule's fire times in (from, to].
func firesIn(t *testing.T, cron, tz string, from, to time.Time) int {
	next := schedule(t, cron, tz)
	n := 0
	for at := next(from); !at.IsZero() && !at.After(to); at = next(at) {
		n++
	}
	return n
}

// schedule is a Quartz cron in its time zone: the fire time after a given
// instant (zero when there is none).
func schedule(t *testing.T, cron, tz string) func(time.Time) time.Time {
	t.Helper()
	q, err := spec.ParseQuartzCron(cron)
	if err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	return func(after time.Time) time.Time { return q.Next(after, loc) }
}

// TestReplayQueriesPerDay replays one day of specs/multi_workspace.yaml and
// checks the warehouse queries its alert set costs a day.
func TestReplayQueriesPerDay(t *testing.T) {
	if testing.Short() {
		t.Skip("replays a day")
	}
	run, tl := replayScenario(t, "../specs/multi_workspace.yaml", 10, 10, 24*time.Hour, 0, true, nil)
	res := run.res
	perAlert := map[string]int{}
	for _, d := range tl.Queries {
		for k, n := range d.ByAlert {
			perAlert[k] += n
		}
	}
	total := 0
	for _, a := range res.Bundle.Alerts {
		want := firesIn(t, a.Cron, a.Timezone, tl.From, tl.To)
		if perAlert[a.Key] != want {
			t.Errorf("alert %s: %d queries in a day, its schedule %q fires %d times", a.Key, perAlert[a.Key], a.Cron, want)
		}
		// after_refresh and validate: never more often than the pipeline refreshes
		if refreshes := firesIn(t, res.Bundle.RefreshJob.Cron, res.Bundle.RefreshJob.Timezone, tl.From, tl.To); want > refreshes {
			t.Errorf("alert %s runs %d times a day, the pipeline refreshes %d times", a.Key, want, refreshes)
		}
		total += want
	}
	if got := tl.QueriesPerDay(); int(got+0.5) != total {
		t.Errorf("QueriesPerDay() = %.1f, want %d", got, total)
	}
	t.Logf("specs/multi_workspace.yaml: %d alerts, %d warehouse queries a day", len(res.Bundle.Alerts), total)
	// 5,914 a day (59 alerts, job failures every 5 minutes) before alert
	// schedules followed the refresh and SLAs shared their family's alerts.
	if total > 24*len(res.Bundle.Alerts) {
		t.Errorf("%d queries a day for %d alerts: more than one per hourly refresh each", total, len(res.Bundle.Alerts))
	}
}

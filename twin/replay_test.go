package twin_test

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dbmon/dbmon/generator"
	"github.com/dbmon/dbmon/generator/spec"
	"github.com/dbmon/dbmon/synth"
	"github.com/dbmon/dbmon/twin"
)

// replayScenario loads a small synthetic dataset for a spec and replays the
// last days of it. The incidents sit just before asOf (the end of the
// data), so the replay runs on to `past` after it: long enough for the last
// incident's rows to arrive, be refreshed and reach an alert.
func replayScenario(t *testing.T, path string, jobs, days int, replay, past time.Duration, incidents bool) (*generator.Result, []synth.Incident, *twin.Timeline) {
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
	to := asOf.Add(past)
	start := time.Now()
	tl, err := e.Replay(res.Bundle, res.Files, to.Add(-replay), to, twin.DefaultLateness, res.Spec.Destinations)
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
	return res, injected, tl
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
// synthetic account with the six injected incidents: every incident leads
// to a TRIGGERED notification of its family, from an alert that covers its
// team (and SLA), sent to exactly the destinations the spec routes it to.
func TestReplayExample(t *testing.T) {
	if testing.Short() {
		t.Skip("replays 14 days")
	}
	res, injected, tl := replayScenario(t, "../specs/example.yaml", 12, 21, 14*24*time.Hour, 3*time.Hour, true)
	var out strings.Builder
	if err := tl.Print(&out); err != nil {
		t.Fatal(err)
	}
	t.Logf("timeline:\n%s", out.String())
	if len(injected) != 6 {
		t.Fatalf("synth injected %d incidents, want the 6 kinds", len(injected))
	}
	byKey := map[string]int{}
	for i, a := range res.Bundle.Alerts {
		byKey[a.Key] = i
	}
	for _, in := range injected {
		want := routedTo(res.Spec, in.Family, in.Team, in.SLA)
		var got []string
		var first time.Time
		count := 0
		for _, n := range tl.Notifications {
			a := res.Bundle.Alerts[byKey[n.Alert]]
			if n.State != twin.StateTriggered || n.Family != in.Family || !a.Covers(in.Team) || (a.SLA != "" && a.SLA != in.SLA) {
				continue
			}
			if first.IsZero() {
				first = n.Time
			}
			count++
			got = append(got, n.Destinations...)
		}
		sort.Strings(got)
		got = slices.Compact(got)
		if count == 0 {
			t.Errorf("%s (%s, team %s, %s): no TRIGGERED notification", in.Kind, in.Family, in.Team, in.Detail)
			continue
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s (%s, team %s): notified %v, the spec routes it to %v", in.Kind, in.Family, in.Team, got, want)
		}
		// One notification per problem: each failure of the streak is a new
		// finding (3 failed runs, 3 notifications); every other incident is
		// one finding, notified once.
		wantCount := 1
		if in.Kind == "failure_streak" {
			wantCount = 3
		}
		if count != wantCount {
			t.Errorf("%s (%s, team %s): %d TRIGGERED notifications, want %d", in.Kind, in.Family, in.Team, count, wantCount)
		}
		t.Logf("%-18s %-16s team %-13s incident day %s: first TRIGGERED %s, %d TRIGGERED notifications, to %v",
			in.Kind, in.Family, in.Team, in.Date.Format(time.DateOnly), first.Format(time.RFC3339), count, got)
	}
	// A finding notifies once: no subject of an event family (job_failure,
	// duration_anomaly, sla_breach, whose findings are reported by one
	// evaluation each) is in two TRIGGERED notifications of one alert, and
	// those alerts never notify the move back to OK.
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

// TestReplayClean replays 14 days of specs/example.yaml on clean synthetic
// data (no incidents, no noise in the replayed days): a monitor that pages
// only for real problems sends no notification at all.
func TestReplayClean(t *testing.T) {
	if testing.Short() {
		t.Skip("replays 14 days")
	}
	_, _, tl := replayScenario(t, "../specs/example.yaml", 8, 21, 14*24*time.Hour, 0, false)
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
	q, err := spec.ParseQuartzCron(cron)
	if err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for at := q.Next(from, loc); !at.IsZero() && !at.After(to); at = q.Next(at, loc) {
		n++
	}
	return n
}

// TestReplayQueriesPerDay replays one day of specs/multi_workspace.yaml and
// checks the warehouse queries its alert set costs a day.
func TestReplayQueriesPerDay(t *testing.T) {
	if testing.Short() {
		t.Skip("replays a day")
	}
	res, _, tl := replayScenario(t, "../specs/multi_workspace.yaml", 10, 10, 24*time.Hour, 0, true)
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

package preview

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/dbmon/dbmon/generator"
	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/spec"
	"github.com/dbmon/dbmon/synth"
	"github.com/dbmon/dbmon/twin"
)

// IncidentTime is one injected incident in a replay (one per run for an
// incident of several runs, such as a failure streak): when it happened,
// when its data could show it, and what the alerts sent for it.
type IncidentTime struct {
	Kind    string `json:"kind"`
	Family  string `json:"family"`
	Team    string `json:"team"`
	Subject string `json:"subject"` // the finding subject that names it: run, job, SLA, cluster or team
	// Injected is when it happened (synth.Incident.At, or the run's end).
	Injected time.Time `json:"injected"`
	// Visible is when its data could show it: the last source row showing
	// it arrived (twin.Lateness); for a deadline, the deadline plus grace
	// once a job row from after the deadline arrived; for a run past its
	// max_duration, the limit once a row of the run arrived.
	Visible time.Time `json:"visible"`
	// Bound is the latest a notification is due: one alert period after the
	// evaluation that reads the first refresh at or after Visible (the
	// latest over the alerts that cover it); for a deadline, also the
	// deadline plus grace and alerts.lateness.jobs plus one refresh period,
	// whichever is earlier.
	Bound        time.Time   `json:"bound"`
	Notified     []time.Time `json:"notified"`     // its TRIGGERED notifications
	Destinations []string    `json:"destinations"` // of those notifications, sorted
}

// ReplayIncidents relates each injected incident to a replay's
// notifications. The engine must hold every source row again (Replay
// restores them), and lat must be the lateness the replay ran with.
func ReplayIncidents(e *twin.Engine, res *generator.Result, incidents []synth.Incident, tl *twin.Timeline, lat twin.Lateness) ([]IncidentTime, error) {
	b := res.Bundle
	loc, err := time.LoadLocation(cmp.Or(b.Timezone, "UTC"))
	if err != nil {
		return nil, err
	}
	refreshCron, err := spec.ParseQuartzCron(b.RefreshJob.Cron)
	if err != nil {
		return nil, err
	}
	refreshLoc, err := time.LoadLocation(cmp.Or(b.RefreshJob.Timezone, "UTC"))
	if err != nil {
		return nil, err
	}
	refreshPeriod, err := spec.ScheduleMaxInterval(b.RefreshJob.Cron)
	if err != nil {
		return nil, err
	}
	nextRefresh := func(t time.Time) time.Time { return refreshCron.Next(t.Add(-time.Second), refreshLoc).UTC() }
	alerts := map[string]model.Alert{}
	for _, a := range b.Alerts {
		alerts[a.Key] = a
	}
	var out []IncidentTime
	for _, in := range incidents {
		rows, err := incidentRows(e, b, loc, in, lat)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.Kind, err)
		}
		for _, r := range rows {
			if !r.Visible.IsZero() {
				// the evaluation that reads the first refresh after the data
				// arrived, or the one a period later
				ready := nextRefresh(r.Visible).Add(lat.PipelineUpdate)
				for _, a := range b.Alerts {
					if a.Family != in.Family || !a.Covers(in.Team) || (a.SLA != "" && a.SLA != in.SLA) {
						continue
					}
					cron, err := spec.ParseQuartzCron(a.Cron)
					if err != nil {
						return nil, err
					}
					aloc, err := time.LoadLocation(cmp.Or(a.Timezone, "UTC"))
					if err != nil {
						return nil, err
					}
					period, err := spec.ScheduleMaxInterval(a.Cron)
					if err != nil {
						return nil, err
					}
					r.Bound = maxTime(r.Bound, cron.Next(ready.Add(-time.Second), aloc).UTC().Add(period))
				}
			}
			if in.Kind == "sla_deadline_miss" {
				r.Bound = minTime(r.Bound, r.Injected.Add(time.Duration(grace(b, in.SLA)+b.Monitor.Alerts.JobsLatenessSecs)*time.Second+refreshPeriod))
			}
			for _, n := range tl.Notifications {
				a := alerts[n.Alert]
				if n.State != twin.StateTriggered || n.Family != in.Family || !a.Covers(in.Team) || !slices.Contains(n.Subjects, r.Subject) {
					continue
				}
				// an SLA names every breach of it: take those of the incident's day on
				if in.Family == "sla_breach" && (n.Time.Before(r.Injected) || n.Time.After(r.Injected.Add(24*time.Hour))) {
					continue
				}
				r.Notified = append(r.Notified, n.Time)
				r.Destinations = append(r.Destinations, n.Destinations...)
			}
			sort.Strings(r.Destinations)
			r.Destinations = slices.Compact(r.Destinations)
			out = append(out, r)
		}
	}
	return out, nil
}

func grace(b *model.Bundle, sla string) int {
	for _, s := range b.Monitor.SLAs {
		if s.Name == sla {
			return s.GraceSecs
		}
	}
	return 0
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// incidentRows are the rows of one incident with their subject, injected
// and visible times: the source rows that show it, and when they arrived.
func incidentRows(e *twin.Engine, b *model.Bundle, loc *time.Location, in synth.Incident, lat twin.Lateness) ([]IncidentTime, error) {
	row := IncidentTime{Kind: in.Kind, Family: in.Family, Team: in.Team, Injected: in.At}
	visible := func(ev twin.Evidence) (time.Time, error) {
		_, last, err := visibleAt(e, lat, ev)
		return last, err
	}
	day := func(d time.Time) (string, string) {
		start := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
		return twin.TimestampSQL(start), twin.TimestampSQL(start.AddDate(0, 0, 1))
	}
	job := "workspace_id = " + lit(in.WorkspaceID) + " AND job_id = " + lit(in.JobID)
	var err error
	switch in.Kind {
	case "failure_streak", "duration_outlier":
		var out []IncidentTime
		for _, r := range in.Runs {
			x := row
			x.Subject, x.Injected = r.ID, r.End
			if x.Visible, err = visible(twin.Evidence{Table: "system.lakeflow.job_run_timeline",
				Where: job + " AND run_id = " + lit(r.ID) + " AND result_state IS NOT NULL"}); err != nil {
				return nil, err
			}
			out = append(out, x)
		}
		return out, nil
	case "sla_deadline_miss":
		// any job row from after the deadline tells the pipeline the deadline passed
		row.Subject = in.SLA
		first, err := firstVisible(e, lat, "system.lakeflow.job_run_timeline", "period_end_time > "+twin.TimestampSQL(in.At))
		if err != nil {
			return nil, err
		}
		row.Visible = maxTime(in.At.Add(time.Duration(grace(b, in.SLA))*time.Second), first)
	case "run_past_max_duration":
		row.Subject = in.SLA
		first, err := firstVisible(e, lat, "system.lakeflow.job_run_timeline", job+" AND run_id = "+lit(in.Runs[0].ID))
		if err != nil {
			return nil, err
		}
		row.Visible = maxTime(in.At, first)
	case "cost_spike":
		row.Subject = in.JobID
		from, to := day(in.Date)
		row.Visible, err = visible(twin.Evidence{Table: "system.billing.usage",
			Where: "workspace_id = " + lit(in.WorkspaceID) + " AND usage_metadata.job_id = " + lit(in.JobID) +
				" AND usage_start_time >= " + from + " AND usage_start_time < " + to})
	case "budget_overrun":
		// the forecast counts the whole day: it shows once the day's billing is in
		row.Subject = in.Team
		from, to := day(in.Date)
		row.Visible, err = visible(twin.Evidence{Table: "system.billing.usage",
			Where: "usage_start_time >= " + from + " AND usage_start_time < " + to})
	case "idle_cluster":
		// idle for alerts.cluster_idle.min_idle_minutes from the session's start
		row.Subject = in.ClusterID
		idle := time.Duration(b.Monitor.Alerts.IdleMinMinutes) * time.Minute
		row.Visible, err = visible(twin.Evidence{Table: "system.compute.node_timeline",
			Where: "workspace_id = " + lit(in.WorkspaceID) + " AND cluster_id = " + lit(in.ClusterID) +
				" AND start_time >= " + twin.TimestampSQL(in.At) + " AND end_time <= " + twin.TimestampSQL(in.At.Add(idle))})
	default:
		return nil, fmt.Errorf("no evidence known for the incident kind %s", in.Kind)
	}
	return []IncidentTime{row}, err
}

// firstVisible is when the first of the rows arrived.
func firstVisible(e *twin.Engine, lat twin.Lateness, table, where string) (time.Time, error) {
	first, _, err := visibleAt(e, lat, twin.Evidence{Table: table, Where: where})
	return first, err
}

// visibleAt is when the first and the last of the evidence's rows arrived;
// evidence with no rows is an error (the incident left no trace to time).
func visibleAt(e *twin.Engine, lat twin.Lateness, ev twin.Evidence) (first, last time.Time, err error) {
	first, last, n, err := e.VisibleAt(lat, ev)
	if err == nil && n == 0 {
		err = fmt.Errorf("no rows in %s where %s", ev.Table, ev.Where)
	}
	return first, last, err
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// PrintIncidentTimes writes the incidents of a replay as a table.
func PrintIncidentTimes(w io.Writer, rows []IncidentTime) error {
	var sb strings.Builder
	sb.WriteString("\nIncidents (UTC): kind, subject, injected, data visible, notified, due by, destinations\n")
	for _, r := range rows {
		var sent []string
		for _, t := range r.Notified {
			sent = append(sent, t.UTC().Format(time.RFC3339))
		}
		notified := strings.Join(sent, " ")
		if notified == "" {
			notified = "never"
		}
		fmt.Fprintf(&sb, "  %-22s %-20s %s  %s  %s  %s  %s\n", r.Kind, r.Subject, fmtTime(r.Injected), fmtTime(r.Visible),
			notified, fmtTime(r.Bound), strings.Join(r.Destinations, ", "))
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// WriteIncidentTimes writes the rows to dir/replay_incidents.json.
func WriteIncidentTimes(dir string, rows []IncidentTime) error {
	if rows == nil {
		rows = []IncidentTime{}
	}
	data, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "replay_incidents.json"), append(data, '\n'), 0o644)
}

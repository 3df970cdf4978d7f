package model

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/dbmon/dbmon/generator/spec"
)

// Report is one scheduled e-mail of a dashboard: a job on the report's
// schedule whose dashboard tasks refresh the dashboard and send its
// snapshot. A job has one schedule, so each report is its own job; a
// per-team report has one task per team, each filtered to its team.
type Report struct {
	Name      string
	Dashboard string // the dashboard's name, e.g. executive_overview
	// DashboardKey is the dashboard's resource key in resources/dashboards.yml.
	DashboardKey string
	PerTeam      bool
	Job          Job
	Tasks        []ReportTask // spec team order for a per-team report
}

// ReportTask is one dashboard task: who receives the snapshot, its subject,
// and for a per-team report the team filter's value.
type ReportTask struct {
	Key         string
	Team        string // "" for a report over every team
	Subject     string // "" leaves Databricks' own subject
	Subscribers []Subscriber
	// Filters are dashboard_task.filters: the team filter's URL identifier
	// and a JSON array of the team. Empty for a report over every team.
	Filters []KV
}

// Subscriber is one recipient of a dashboard snapshot: exactly one of a
// notification destination's id and a workspace user's name (an e-mail).
type Subscriber struct {
	DestinationID string
	UserName      string
	Destination   string // the spec's destination key, for people to read
}

// The dashboards' global filters page and team filter widget. Their names
// make the team filter's URL identifier, by which a dashboard task's
// filters find it; package dashboard names them so.
const (
	FiltersPageName  = "global_filters"
	TeamFilterWidget = "filter_team"
)

// TeamFilterURLKey is the team filter's URL identifier: a dashboard URL
// carries a filter's value as f_<page name>~<widget name>=<value>.
const TeamFilterURLKey = "f_" + FiltersPageName + "~" + TeamFilterWidget

// reportTimeoutSeconds bounds one report run: a dashboard refresh on a
// warehouse that may have to start, then the e-mails. No retries: a retry
// after a partial send would mail some recipients twice.
const reportTimeoutSeconds = 30 * 60

// ReportsPerTeam reports whether any report sends one copy per team.
func (b *Bundle) ReportsPerTeam() bool {
	return slices.ContainsFunc(b.Reports, func(r Report) bool { return r.PerTeam })
}

// TeamFilterURLKey is the team filter's URL identifier, for templates.
func (b *Bundle) TeamFilterURLKey() string { return TeamFilterURLKey }

// DashboardKey is the resource key of the named dashboard.
func (b *Bundle) DashboardKey(name string) string { return b.Key + "_" + name }

// buildReports resolves spec.Reports; spec.Load checked every reference.
func (b *Bundle) buildReports(s *spec.Spec) error {
	for _, r := range s.Reports {
		cron, err := spec.ScheduleCron(r.Schedule)
		if err != nil {
			return fmt.Errorf("internal error: report %s schedule passed validation but %v", r.Name, err)
		}
		rep := Report{
			Name:         r.Name,
			Dashboard:    r.Dashboard,
			DashboardKey: b.DashboardKey(r.Dashboard),
			PerTeam:      orBool(r.PerTeam, defaultReportPerTeam),
			Job: Job{
				Key:            b.Key + "_report_" + ResourceKey(r.Name),
				Name:           b.Name + " report " + r.Name,
				Cron:           cron,
				Timezone:       b.Timezone,
				TimeoutSeconds: reportTimeoutSeconds,
				HealthSeconds:  reportTimeoutSeconds / 2,
				Notify:         b.RefreshJob.Notify,
				Tags:           ownTags(b.Name, ComponentReport),
				MainTask:       &Task{TimeoutSeconds: reportTimeoutSeconds},
			},
		}
		if !rep.PerTeam {
			rep.Tasks = []ReportTask{{Key: "send", Subject: r.Subject, Subscribers: subscribers(s, r.Recipients, s.Teams)}}
		}
		for _, t := range s.Teams {
			if !rep.PerTeam {
				break
			}
			subs := subscribers(s, r.Recipients, []spec.Team{t})
			if len(subs) == 0 {
				continue // nobody to send this team's copy to
			}
			value, err := json.Marshal([]string{t.Name})
			if err != nil {
				return err
			}
			rep.Tasks = append(rep.Tasks, ReportTask{Key: t.Name, Team: t.Name, Subject: or(r.Subject, r.Name) + " - " + t.Name,
				Subscribers: subs, Filters: []KV{{TeamFilterURLKey, string(value)}}})
		}
		b.Reports = append(b.Reports, rep)
	}
	return nil
}

// subscribers resolves recipients: a destination key gives its destination
// id or each of its e-mail addresses as a user; team gives the notify
// destinations of the given teams. Each recipient appears once, in order.
func subscribers(s *spec.Spec, recipients []string, teams []spec.Team) []Subscriber {
	var keys []string
	for _, k := range recipients {
		if k != "team" {
			keys = append(keys, k)
			continue
		}
		for _, t := range teams {
			keys = append(keys, t.Notify...)
		}
	}
	var out []Subscriber
	add := func(sub Subscriber) {
		same := func(o Subscriber) bool { return o.DestinationID == sub.DestinationID && o.UserName == sub.UserName }
		if !slices.ContainsFunc(out, same) {
			out = append(out, sub)
		}
	}
	for _, k := range keys {
		d := s.Destinations[k]
		if d.DestinationID != "" {
			add(Subscriber{DestinationID: d.DestinationID, Destination: k})
		}
		for _, e := range d.Emails {
			add(Subscriber{UserName: e, Destination: k})
		}
	}
	return out
}

// ReportUsers are the e-mail addresses that the spec's reports send to as
// workspace users, sorted and each once: a dashboard subscription's
// user_name must be a user of the workspace (doctor checks them). A
// per-team report's copies together reach exactly its recipients over
// every team.
func ReportUsers(s *spec.Spec) []string {
	var out []string
	for _, r := range s.Reports {
		for _, sub := range subscribers(s, r.Recipients, s.Teams) {
			if sub.UserName != "" && !slices.Contains(out, sub.UserName) {
				out = append(out, sub.UserName)
			}
		}
	}
	slices.Sort(out)
	return out
}

package model

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/dbmon/dbmon/generator/spec"
)

// Alert is one SQL alert (v2) resource: a finding query of its family,
// limited to some teams, an SLA or a KPI, on a schedule, with subscribers.
type Alert struct {
	Key         string
	Family      string // job_failure ... budget, or kpi
	DisplayName string
	// Teams limits the query to these teams; ExcludeTeams to every team but
	// these (the catch-all for teams without destinations). Both empty: all.
	Teams, ExcludeTeams []string
	SLA, KPI            string // limits the query to one SLA or KPI
	Severity            string // SLA alerts: the SLA's severity
	// SharedSLAs limits an sla_breach alert to the SLAs without a notify of
	// their own (config_slas.own_notify is false): the family's alerts
	// route those; an SLA with its own notify has its own alert.
	SharedSLAs bool
	// Events: the family's query reports each finding in one evaluation
	// only (a Window), so every TRIGGERED evaluation is news: it notifies
	// each time and not on the move back to OK.
	Events         bool
	Cron, Timezone string
	Subscriptions  []Subscription
	Summary        string
	Description    string
}

// Subscription is one alert subscriber: a notification destination or an
// email address.
type Subscription struct{ DestinationID, UserEmail string }

// Covers reports whether a finding of the team is in the alert's query.
func (a Alert) Covers(team string) bool {
	if len(a.Teams) > 0 {
		return slices.Contains(a.Teams, team)
	}
	return !slices.Contains(a.ExcludeTeams, team)
}

// FamilyDoc explains an alert family; the alerts' descriptions and the
// runbook print the same text.
type FamilyDoc struct {
	Title   string
	Meaning string
	Checks  []string // the first things to check, in order
}

// Families lists the alert families with their documentation, in the order
// they are generated. Their default settings are in specDefaults.
var Families = []struct {
	Name string
	Doc  FamilyDoc
}{
	{"job_failure", FamilyDoc{"Job failures",
		"A job run's final state was ERROR, FAILED or TIMED_OUT in the last 24 hours (repaired runs that succeeded do not count).",
		[]string{"Open the run (workspace URL /jobs/<job_id>/runs/<run_id>) and read the failed task's error; failure_classified has the class and the collector's error text.",
			"Check whether the job failed before: SELECT run_date, failed_runs, total_runs FROM job_summary_daily WHERE job_id = '<job_id>' ORDER BY run_date DESC.",
			"For cloud_capacity or internal failures, repair the run; for user_code, permissions or configuration, fix the job before the next schedule."}}},
	{"sla_breach", FamilyDoc{"SLA breaches",
		"An SLA check failed on one of the last 7 local days: no successful run by the deadline, a run longer than max_duration, or the success rate over window_days below min_success_rate.",
		[]string{"Read breach_reason in sla_compliance for the SLA and day to see which check failed.",
			"For a deadline miss, compare the run's start with its schedule (a late start, a queue, a repair) in job_runs_enriched.",
			"For max_duration or the success rate, look at the job's recent durations and failures in job_summary_daily and tell the SLA's consumers."}}},
	{"cost_anomaly", FamilyDoc{"Cost anomalies",
		"A job's net cost yesterday was more than threshold_sigma standard deviations (at least 10% of the mean) above its mean over baseline_days, and above min_daily_cost.",
		[]string{"Compare yesterday's runs with earlier ones in job_runs_enriched: more runs, longer runs, or a higher cost per run?",
			"Check cost_allocated by sku_name for a new SKU or a bigger cluster, and the job's definition changes in jobs_current.change_time.",
			"If the spend is intended, expect the alert to stop once the baseline includes it; otherwise revert the change or add a budget policy."}}},
	{"duration_anomaly", FamilyDoc{"Duration anomalies",
		"A run that ended in the last 24 hours took more than threshold_sigma standard deviations (at least 10% of the mean) longer than the job's previous baseline_runs runs.",
		[]string{"Open the run and compare its tasks' durations with a normal run in task_metrics.",
			"Check for more input data, a smaller or spot-evicted cluster, or queueing (queue and setup time on the run page).",
			"If the job is under an SLA with max_duration, check sla_compliance before the next run."}}},
	{"cluster_idle", FamilyDoc{"Idle clusters",
		"A cluster spent at least min_idle_minutes yesterday or today with its average CPU below max_cpu_percent.",
		[]string{"Find the cluster's owner and purpose: cluster_efficiency.job_id and team, or the cluster page.",
			"Lower its auto-termination minutes, or move its jobs to job clusters or serverless.",
			"potential_savings in cluster_efficiency is what the idle time cost; check the trend over the last weeks."}}},
	{"budget", FamilyDoc{"Budget warnings",
		"A team's month-end forecast (net cost so far / elapsed days x days in the month) reached warn_at_percent of its monthly_budget.",
		[]string{"See which jobs drive the month's cost: cost_allocated for the team, grouped by job_id, this month.",
			"Compare with last month in budget_status; a jump usually has one job behind it (see cost anomalies).",
			"Agree with the team whether to cut spend or raise monthly_budget in the spec."}}},
	{"monitor_health", FamilyDoc{"Monitor health",
		"dbmon itself is behind: a system table the monitor's own runs keep fresh (billing usage, job and task run timelines, pipeline updates) has no event newer than alerts.monitor_health.max_lag plus its lateness, or the pipeline has not refreshed for max_lag. Every other finding may be missing or late until this clears.",
		[]string{"Read monitor_freshness: layer pipeline is the pipeline's last refresh; each source row has its newest event and lag_seconds.",
			"If the pipeline is behind, open the refresh job's latest runs and the pipeline's update log; a failed or stuck update, a paused schedule or a lost permission stops every table.",
			"If one source is behind while the pipeline refreshes, check that its system schema is still enabled (dbmon doctor) and Databricks' status page; billing usage is normally hours late, so a billing lag beyond alerts.lateness.billing is news."}}},
}

// KPIDoc explains the KPI target alerts.
var KPIDoc = FamilyDoc{"KPI targets",
	"A KPI's value over its window left its target range.",
	[]string{"Read the KPI's value per breakdown in kpi_values and its definition in the spec.",
		"Open the KPI's source table for the window to see what moved it.",
		"Decide with the KPI's owner whether the target or the process needs to change."}}

func familyDoc(name string) FamilyDoc {
	for _, f := range Families {
		if f.Name == name {
			return f.Doc
		}
	}
	return KPIDoc
}

// routing resolves a notify list: the teams that get their own alert (each
// team with destinations, when the list says team) and the fixed
// destination keys.
type routing struct {
	byTeam bool
	fixed  []string
}

// route resolves n, or the family's default notify when n is empty.
func route(n spec.Notify, def string) routing {
	if len(n) == 0 {
		n = spec.Notify{def}
	}
	var r routing
	for _, k := range n {
		if k == "team" {
			r.byTeam = true
		} else {
			r.fixed = append(r.fixed, k)
		}
	}
	return r
}

func (b *Bundle) buildAlerts(s *spec.Spec) error {
	subs := func(keys []string) []Subscription {
		var out []Subscription
		for _, k := range keys {
			d := s.Destinations[k]
			if d.DestinationID != "" {
				out = append(out, Subscription{DestinationID: d.DestinationID})
			}
			for _, e := range d.Emails {
				out = append(out, Subscription{UserEmail: e})
			}
		}
		return out
	}
	var routed []string // teams with destinations, in spec order
	for _, t := range b.Teams {
		if len(t.Notify) > 0 {
			routed = append(routed, t.Name)
		}
	}
	// Findings of teams without destinations (and of unassigned jobs) must
	// reach someone: monitor_notify, else the first destination key.
	fallback := monitorKeys(s)
	settings := s.Alerts.Families()
	refresh := or(s.Refresh, defaultRefresh)
	add := func(base Alert, r routing) error {
		if r.byTeam {
			for _, t := range b.Teams {
				if len(t.Notify) == 0 {
					continue
				}
				a := base
				a.Teams = []string{t.Name}
				a.Key += "_" + ResourceKey(t.Name)
				a.DisplayName += " (" + t.Name + ")"
				a.Subscriptions = subs(t.Notify)
				b.Alerts = append(b.Alerts, a)
			}
			if len(fallback) > 0 {
				a := base
				a.ExcludeTeams = routed
				a.Key += "_other_teams"
				a.DisplayName += " (teams without destinations)"
				a.Subscriptions = subs(fallback)
				b.Alerts = append(b.Alerts, a)
			}
		}
		if len(r.fixed) > 0 {
			a := base
			a.Subscriptions = subs(r.fixed)
			b.Alerts = append(b.Alerts, a)
		}
		return nil
	}
	b.Monitor.Alerts.Windows = map[string]Window{}
	for _, f := range Families {
		def := familyDefault(f.Name)
		set := settings[f.Name]
		if set == nil {
			set = &spec.RoutedAlert{}
		}
		schedule, notify := or(set.Schedule, def.Schedule), set.Notify
		var after time.Duration
		if f.Name == "cost_anomaly" || f.Name == "budget" { // they judge complete billing days
			after = time.Duration(b.Monitor.Alerts.BillingLatenessSecs) * time.Second
		}
		cron, err := spec.AlertCronAfter(schedule, refresh, after)
		if err != nil {
			return fmt.Errorf("internal error: alerts.%s.schedule passed validation but %v", f.Name, err)
		}
		if eventFamilies[f.Name] {
			if err := b.setWindow(f.Name, cron, refresh); err != nil {
				return err
			}
		}
		if !orBool(set.Enabled, def.Enabled) {
			continue
		}
		_, events := b.Monitor.Alerts.Windows[f.Name]
		base := Alert{Key: b.Key + "_" + f.Name, Family: f.Name, Cron: cron, Timezone: b.Timezone, Events: events,
			DisplayName: b.Name + ": " + strings.ToLower(f.Doc.Title)}
		if f.Name == "monitor_health" { // about dbmon itself, so for whoever looks after it
			if err := add(base, routing{fixed: monitorKeys(s)}); err != nil {
				return err
			}
			continue
		}
		if f.Name != "sla_breach" {
			if err := add(base, route(notify, def.Notify)); err != nil {
				return err
			}
			continue
		}
		// One alert per SLA with its own notify; the family's routing (per
		// team, catch-all, fixed keys) covers every other SLA with one alert
		// per target, so the count grows with the teams, not teams x SLAs.
		shared := false
		for _, sla := range b.Monitor.SLAs {
			if len(sla.Notify) == 0 {
				shared = true
				continue
			}
			a := base
			a.SLA, a.Severity = sla.Name, sla.Severity
			a.Key = b.Key + "_sla_" + ResourceKey(sla.Name)
			a.DisplayName = fmt.Sprintf("%s: [%s] SLA %s breached", b.Name, strings.ToUpper(sla.Severity), sla.Name)
			if err := add(a, routing{fixed: sla.Notify}); err != nil {
				return err
			}
		}
		if shared {
			a := base
			a.SharedSLAs = true
			if err := add(a, route(notify, def.Notify)); err != nil {
				return err
			}
		}
	}
	// A KPI changes only when the pipeline refreshes: its alert runs after each.
	kpiCron, err := spec.AlertCron(spec.AfterRefresh, refresh)
	if err != nil {
		return fmt.Errorf("internal error: refresh passed validation but %v", err)
	}
	for _, k := range b.Monitor.KPIs {
		if len(k.Notify) == 0 || (k.Min == nil && k.Max == nil) {
			continue
		}
		b.Alerts = append(b.Alerts, Alert{Key: b.Key + "_kpi_" + ResourceKey(k.Name), Family: "kpi", KPI: k.Name,
			DisplayName: b.Name + ": KPI " + k.Title + " off target", Cron: kpiCron, Timezone: b.Timezone,
			Subscriptions: subs(k.Notify)})
	}
	for i := range b.Alerts {
		b.Alerts[i].Summary, b.Alerts[i].Description = alertText(b.Alerts[i])
	}
	sort.SliceStable(b.Alerts, func(i, j int) bool { return b.Alerts[i].Key < b.Alerts[j].Key })
	return nil
}

// eventFamilies report each finding once (see Window); the others report
// a state (a cost, a budget, an idle cluster, a KPI) while it lasts.
var eventFamilies = map[string]bool{"job_failure": true, "duration_anomaly": true, "sla_breach": true}

// EventFamily reports whether the family's alerts report each finding in
// one evaluation only (a window after the data can have arrived), rather
// than while a state lasts.
func EventFamily(family string) bool { return eventFamilies[family] }

// setWindow sets the finding window of an event family evaluated on cron:
// its longest gap between evaluations, and a lag of alerts.lateness.jobs
// plus the age of the tables an evaluation reads.
func (b *Bundle) setWindow(family, cron, refresh string) error {
	refreshCron, err := spec.ScheduleCron(refresh)
	if err != nil {
		return fmt.Errorf("internal error: refresh passed validation but %v", err)
	}
	period, err := spec.ScheduleMaxInterval(cron)
	if err != nil {
		return fmt.Errorf("internal error: alerts.%s: %v", family, err)
	}
	lag, err := spec.RefreshLag(cron, refreshCron)
	if err != nil {
		return fmt.Errorf("internal error: alerts.%s: %v", family, err)
	}
	b.Monitor.Alerts.Windows[family] = Window{LagSecs: b.Monitor.Alerts.JobsLatenessSecs + int(lag.Seconds()), PeriodSecs: int(period.Seconds())}
	return nil
}

// alertText is the alert's custom_summary and custom_description: what
// happened and what to do first. {{...}} are the alert's template variables.
func alertText(a Alert) (string, string) {
	doc := familyDoc(a.Family)
	scope := ""
	switch {
	case a.SLA != "":
		scope = " SLA " + a.SLA + " (" + a.Severity + ")"
	case a.KPI != "":
		scope = " KPI " + a.KPI
	}
	switch {
	case len(a.Teams) > 0:
		scope += " for " + strings.Join(a.Teams, ", ")
	case len(a.ExcludeTeams) > 0:
		scope += " for teams without their own destinations"
	}
	// No template variables ({{ALERT_STATUS}}, {{QUERY_RESULT_TABLE}}): the
	// v2 documentation does not list them and some destinations receive them
	// literally, so the text stands alone and each finding's detail column
	// says subject, team, what happened, when and where to look.
	summary := "dbmon: " + doc.Title + scope
	var d strings.Builder
	d.WriteString(doc.Meaning + "\n\nFirst:\n")
	for i, c := range doc.Checks {
		fmt.Fprintf(&d, "%d. %s\n", i+1, c)
	}
	d.WriteString("\nFindings: the alert's query result, one row each; its detail column names the subject, the team, what happened, when, and the run or job (/jobs/<job_id>/runs/<run_id>).\n\nRunbook: docs/runbook.md#" + anchor(doc.Title) + " in the monitoring bundle.")
	return summary, d.String()
}

func anchor(title string) string { return strings.ReplaceAll(strings.ToLower(title), " ", "-") }

// monitorKeys are the destinations told about dbmon itself: monitor_notify,
// else the first destination key in sorted order, else none.
func monitorKeys(s *spec.Spec) []string {
	if len(s.MonitorNotify) > 0 {
		return s.MonitorNotify
	}
	if keys := slices.Sorted(maps.Keys(s.Destinations)); len(keys) > 0 {
		return keys[:1]
	}
	return nil
}

// Notification is where a job's own failures go: notification destinations
// (webhook_notifications) and email addresses (email_notifications).
type Notification struct {
	DestinationIDs, Emails []string
}

func notification(s *spec.Spec, keys []string) Notification {
	var n Notification
	for _, k := range keys {
		d := s.Destinations[k]
		if d.DestinationID != "" {
			n.DestinationIDs = append(n.DestinationIDs, d.DestinationID)
		}
		n.Emails = append(n.Emails, d.Emails...)
	}
	return n
}

package model

import (
	"math"
	"testing"
)

// TestFootprintMaxLag: max_lag defaults to 3 x the longest gap between two
// refreshes and the spec's value replaces it; each judged source adds its
// lateness, and only the four sources the monitor's own runs keep fresh
// are judged.
func TestFootprintMaxLag(t *testing.T) {
	for _, c := range []struct {
		extra string
		want  int
	}{
		{"", 3 * 3600},
		{"refresh: 30m\n", 3 * 1800},
		{"refresh: \"0 0 0/6 * * ?\"\n", 3 * 6 * 3600},
		{"alerts: {monitor_health: {max_lag: 5h}}\n", 5 * 3600},
	} {
		b := load(t, base+c.extra)
		if b.Footprint.MaxLagSecs != c.want {
			t.Errorf("%q: max_lag %d s, want %d", c.extra, b.Footprint.MaxLagSecs, c.want)
		}
		judged := map[string]int{}
		for _, s := range b.Footprint.Sources {
			if s.MaxLagSecs != 0 {
				judged[s.Table] = s.MaxLagSecs
			}
		}
		jobs, billing := c.want+1800, c.want+12*3600 // alerts.lateness defaults
		want := map[string]int{"system.billing.usage": billing, "system.lakeflow.job_run_timeline": jobs,
			"system.lakeflow.job_task_run_timeline": jobs, "system.lakeflow.pipeline_update_timeline": jobs}
		if len(judged) != len(want) {
			t.Errorf("%q: judged sources %v, want %v", c.extra, judged, want)
		}
		for k, v := range want {
			if judged[k] != v {
				t.Errorf("%q: %s judged at %d s, want %d", c.extra, k, judged[k], v)
			}
		}
	}
}

// TestFootprintTags: the pipeline and every job carry the bundle's tags,
// each with its own component, which monitor_footprint groups by.
func TestFootprintTags(t *testing.T) {
	b := load(t, base+`destinations: {ops: {emails: [a@b.c]}}
reports: [{name: weekly, dashboard: executive_overview, schedule: "0 0 8 ? * MON", recipients: [ops]}]
`)
	got := map[string]string{}
	check := func(what string, tags []KV) {
		m := map[string]string{}
		for _, kv := range tags {
			m[kv.Key] = kv.Value
		}
		if m["app"] != "dbmon" || m["dbmon_bundle"] != "my-mon" {
			t.Errorf("%s tags %v lack app: dbmon and dbmon_bundle: my-mon", what, tags)
		}
		got[what] = m["dbmon_component"]
	}
	check("pipeline", b.Pipeline.Tags)
	check("refresh", b.RefreshJob.Tags)
	check("collector", b.CollectorJob.Tags)
	check("maintenance", b.MaintenanceJob.Tags)
	check("report", b.Reports[0].Job.Tags)
	for what, component := range got {
		if component != what {
			t.Errorf("%s has dbmon_component %q", what, component)
		}
	}
}

// TestFootprintEstimates: the alerts' estimate counts each alert's
// evaluations a day, the dashboards' one run of their datasets per refresh.
func TestFootprintEstimates(t *testing.T) {
	b := load(t, base+`destinations: {ops: {emails: [a@b.c]}}
monitor_notify: [ops]
alerts:
  job_failure: {notify: [ops]}
  sla_breach: {enabled: false}
  cost_anomaly: {enabled: false}
  duration_anomaly: {enabled: false}
  cluster_idle: {enabled: false}
  budget: {notify: [ops]}
dashboards: [executive_overview, cost_analysis]
refresh: 2h
`)
	// job_failure and monitor_health after each refresh (12 a day), budget
	// daily: 25 evaluations; 2 dashboards x 6 datasets x 12 refreshes.
	want := map[string]float64{ComponentAlerts: 25, ComponentDashboards: 2 * EstimateDatasetsPerDashboard * 12}
	if len(b.Alerts) != 3 {
		t.Fatalf("alerts %d, want 3", len(b.Alerts))
	}
	if len(b.Footprint.Estimates) != 2 {
		t.Fatalf("estimates %+v, want alerts and dashboards", b.Footprint.Estimates)
	}
	for _, e := range b.Footprint.Estimates {
		if e.QueriesPerDay != want[e.Component] {
			t.Errorf("%s: %v queries a day, want %v", e.Component, e.QueriesPerDay, want[e.Component])
		}
		dbus := want[e.Component] * EstimateQuerySeconds / 3600 * EstimateWarehouseDBUPerHour
		if math.Abs(e.DBUsPerDay-dbus) > 1e-9 {
			t.Errorf("%s: %v DBU a day, want %v", e.Component, e.DBUsPerDay, dbus)
		}
	}
}

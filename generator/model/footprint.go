package model

import (
	"fmt"
	"time"

	"github.com/dbmon/dbmon/generator/spec"
)

// The monitor's own footprint: what dbmon's resources cost and how far
// behind its sources and tables are (gold monitor_footprint and
// monitor_freshness, alert family monitor_health).
//
// The bundle's pipeline and jobs carry three tags, which Databricks copies
// into system.billing.usage.custom_tags (job tags and pipeline tags reach
// the usage of the compute they run on, serverless included): app: dbmon,
// dbmon_bundle: <bundle name> (two bundles in one account stay apart) and
// dbmon_component: what the resource is. monitor_footprint sums the usage
// carrying the bundle's tag by component. The pipeline's id is not known
// when the SQL is generated, so the tag, not usage_metadata.dlt_pipeline_id,
// finds its usage.
//
// The alerts and the dashboards run on a SQL warehouse that other queries
// share, and the pipeline does not read system.query.history, so their
// share is estimated (Footprint) and labelled so in the table.

// Components of the monitor, as the dbmon_component tag and
// monitor_footprint.component name them.
const (
	ComponentPipeline    = "pipeline"
	ComponentRefresh     = "refresh"
	ComponentCollector   = "collector"
	ComponentMaintenance = "maintenance"
	ComponentReport      = "report"
	ComponentAlerts      = "alerts"
	ComponentDashboards  = "dashboards"
)

// ownTags are the tags of one of the bundle's resources, sorted by key.
func ownTags(bundle, component string) []KV {
	return []KV{{"app", "dbmon"}, {"dbmon_bundle", bundle}, {"dbmon_component", component}}
}

// The estimate of the warehouse time of alerts and dashboards.
const (
	// EstimateQuerySeconds is the warehouse time one alert query or one
	// dashboard dataset takes: they read small gold tables (a few
	// thousand rows a day) and return at most a few hundred rows.
	EstimateQuerySeconds = 5
	// EstimateWarehouseDBUPerHour is the DBU rate of a Small serverless SQL
	// warehouse, the size the monitor's queries need.
	EstimateWarehouseDBUPerHour = 12
	// EstimateDatasetsPerDashboard is the datasets a dashboard load runs
	// (the generated dashboards have 3 to 9; a test keeps this their
	// rounded mean on specs/example.yaml). An AI/BI dashboard caches its results until its tables
	// change, so it runs them at most once per pipeline refresh however many
	// people look.
	EstimateDatasetsPerDashboard = 6
)

// Estimate is the estimated daily warehouse use of one component.
type Estimate struct {
	Component     string
	QueriesPerDay float64
	DBUsPerDay    float64 // QueriesPerDay x EstimateQuerySeconds at EstimateWarehouseDBUPerHour
}

// FreshnessSource is a system table whose newest event monitor_freshness
// reports, read from its bronze copy.
type FreshnessSource struct {
	Table, Bronze, Column string
	// MaxLagSecs is the lag past which monitor_health fires: max_lag plus
	// the source's lateness, for the sources the monitor's own runs keep
	// fresh (its jobs run every refresh, its pipeline updates, its usage is
	// billed hourly); 0 for the sources that change only when someone
	// changes a job or a cluster, whose age says nothing about the monitor.
	MaxLagSecs int
}

// Footprint holds what the footprint and freshness tables and the
// monitor_health alert compute from the spec.
type Footprint struct {
	// MaxLagSecs is alerts.monitor_health.max_lag: default 3 x the
	// longest gap between two refreshes.
	MaxLagSecs int
	Estimates  []Estimate // alerts, then dashboards
	Sources    []FreshnessSource
	// Gold are the gold tables with a date column whose newest date
	// monitor_freshness reports.
	Gold []PipelineTable
}

// buildFootprint runs after the alerts are built: their schedules set the
// estimate.
func (b *Bundle) buildFootprint(s *spec.Spec) error {
	refreshCron, err := spec.ScheduleCron(or(s.Refresh, defaultRefresh))
	if err != nil {
		return fmt.Errorf("internal error: refresh passed validation but %v", err)
	}
	gap, err := spec.ScheduleMaxInterval(refreshCron)
	if err != nil {
		return fmt.Errorf("internal error: refresh passed validation but %v", err)
	}
	f := Footprint{MaxLagSecs: 3 * int(gap.Seconds())}
	if m := s.Alerts.MonitorHealth; m != nil && m.MaxLag != "" {
		d, _ := time.ParseDuration(m.MaxLag) // validated
		f.MaxLagSecs = int(d.Seconds())
	}
	refreshes, err := firesPerDay(refreshCron)
	if err != nil {
		return err
	}
	var evaluations float64
	for _, a := range b.Alerts {
		n, err := firesPerDay(a.Cron)
		if err != nil {
			return err
		}
		evaluations += n
	}
	f.Estimates = []Estimate{estimate(ComponentAlerts, evaluations),
		estimate(ComponentDashboards, float64(len(b.Dashboards)*EstimateDatasetsPerDashboard)*refreshes)}

	lateness := map[string]int{"jobs": b.Monitor.Alerts.JobsLatenessSecs, "billing": b.Monitor.Alerts.BillingLatenessSecs}
	for _, t := range BronzeTables() {
		if t.EventColumn == "" {
			continue
		}
		s := FreshnessSource{Table: t.Source, Bronze: t.Name, Column: t.EventColumn}
		if t.Lateness != "" {
			s.MaxLagSecs = f.MaxLagSecs + lateness[t.Lateness]
		}
		f.Sources = append(f.Sources, s)
	}
	for _, t := range b.Tables {
		if t.Layer == "gold" && t.DateColumn != "" {
			f.Gold = append(f.Gold, t)
		}
	}
	b.Footprint = f
	return nil
}

func estimate(component string, queries float64) Estimate {
	return Estimate{Component: component, QueriesPerDay: queries,
		DBUsPerDay: queries * EstimateQuerySeconds / 3600 * EstimateWarehouseDBUPerHour}
}

// firesPerDay is how often a Quartz cron fires per day, averaged over a
// sample week (UTC).
func firesPerDay(cron string) (float64, error) {
	c, err := spec.ParseQuartzCron(cron)
	if err != nil {
		return 0, fmt.Errorf("internal error: schedule %q: %v", cron, err)
	}
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday
	end := start.AddDate(0, 0, 7)
	n := 0
	for t := c.Next(start.Add(-time.Second), time.UTC); !t.IsZero() && t.Before(end); t = c.Next(t, time.UTC) {
		n++
	}
	return float64(n) / 7, nil
}

// EstimateQuerySeconds is EstimateQuerySeconds, for the templates.
func (b *Bundle) EstimateQuerySeconds() int { return EstimateQuerySeconds }

// EstimateWarehouseDBUPerHour is EstimateWarehouseDBUPerHour, for the templates.
func (b *Bundle) EstimateWarehouseDBUPerHour() int { return EstimateWarehouseDBUPerHour }

// EstimateDatasetsPerDashboard is EstimateDatasetsPerDashboard, for the templates.
func (b *Bundle) EstimateDatasetsPerDashboard() int { return EstimateDatasetsPerDashboard }

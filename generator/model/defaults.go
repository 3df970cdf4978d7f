package model

import (
	"fmt"
	"slices"

	"github.com/dbmon/dbmon/generator/spec"
)

// specDefaults is every default of spec v1, by the field's path in the spec:
// names joined by dots, [] for any element of a list. Build applies them,
// and a test ties the table to the `default` keywords of the JSON Schema
// (generator/spec/dbmon.schema.json) in both directions, so editors show
// what dbmon does. Values have the JSON types of the schema: string, int,
// float64, bool, []string.
var specDefaults = map[string]any{
	"bundle.timezone":          "UTC",
	"unassigned_team":          "unassigned",
	"refresh":                  spec.DefaultRefresh,
	"dashboards":               []string{"executive_overview", "job_operations", "cost_analysis", "failure_analysis"},
	"pricing.currency":         "USD",
	"pricing.exchange_rate":    1.0,
	"pricing.discount_percent": 0.0,

	"slas[].days":        []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"},
	"slas[].window_days": 30,
	"slas[].severity":    "warning",
	"slas[].grace":       "15m",

	"kpis[].format":      "number",
	"kpis[].window_days": 30,
	"kpis[].dashboard":   "executive_overview",

	"alerts.job_failure.enabled":  true,
	"alerts.job_failure.schedule": spec.AfterRefresh,
	"alerts.job_failure.notify":   "team",

	"alerts.sla_breach.enabled":  true,
	"alerts.sla_breach.schedule": spec.AfterRefresh,
	"alerts.sla_breach.notify":   "team",

	"alerts.cost_anomaly.enabled":         true,
	"alerts.cost_anomaly.schedule":        "24h",
	"alerts.cost_anomaly.notify":          "team",
	"alerts.cost_anomaly.threshold_sigma": 3.0,
	"alerts.cost_anomaly.baseline_days":   28,
	"alerts.cost_anomaly.min_daily_cost":  50.0,

	"alerts.duration_anomaly.enabled":         true,
	"alerts.duration_anomaly.schedule":        spec.AfterRefresh,
	"alerts.duration_anomaly.notify":          "team",
	"alerts.duration_anomaly.threshold_sigma": 3.0,
	"alerts.duration_anomaly.baseline_runs":   20,

	"alerts.cluster_idle.enabled":          true,
	"alerts.cluster_idle.schedule":         spec.AfterRefresh,
	"alerts.cluster_idle.notify":           "team",
	"alerts.cluster_idle.max_cpu_percent":  10.0,
	"alerts.cluster_idle.min_idle_minutes": 60,

	"alerts.budget.enabled":         true,
	"alerts.budget.schedule":        "24h",
	"alerts.budget.notify":          "team",
	"alerts.budget.warn_at_percent": 80.0,

	"alerts.monitor_health.enabled":  true,
	"alerts.monitor_health.schedule": spec.AfterRefresh,

	"alerts.lateness.jobs":    "30m",
	"alerts.lateness.billing": "12h",

	"collector.enabled":       true,
	"collector.schedule":      "15m",
	"collector.lookback_days": 60,

	"retention.detail_days":    90,
	"retention.aggregate_days": 730,

	"reports[].per_team": false,
}

// SpecDefaults returns a copy of the defaults table, by spec path.
func SpecDefaults() map[string]any {
	out := make(map[string]any, len(specDefaults))
	for k, v := range specDefaults {
		if l, ok := v.([]string); ok {
			v = slices.Clone(l)
		}
		out[k] = v
	}
	return out
}

// defaultOf returns the default at path with type T. A path missing from
// the table or of another type is a bug in this package; the variables below
// read every entry they use at package initialisation, so any test finds it.
func defaultOf[T any](path string) T {
	v, ok := specDefaults[path].(T)
	if !ok {
		panic(fmt.Sprintf("model: no %T default for %s in specDefaults (have %#v)", v, path, specDefaults[path]))
	}
	return v
}

// Defaults read by Build, named as the spec names them.
var (
	defaultTimezone      = defaultOf[string]("bundle.timezone")
	defaultUnassigned    = defaultOf[string]("unassigned_team")
	defaultRefresh       = defaultOf[string]("refresh")
	defaultCurrency      = defaultOf[string]("pricing.currency")
	defaultDiscount      = defaultOf[float64]("pricing.discount_percent")
	defaultExchangeRate  = defaultOf[float64]("pricing.exchange_rate")
	defaultSLADays       = defaultOf[[]string]("slas[].days")
	defaultSLAWindowDays = defaultOf[int]("slas[].window_days")
	defaultSeverity      = defaultOf[string]("slas[].severity")
	defaultSLAGrace      = defaultOf[string]("slas[].grace")
	defaultJobsLateness  = defaultOf[string]("alerts.lateness.jobs")
	defaultBillLateness  = defaultOf[string]("alerts.lateness.billing")
	defaultKPIFormat     = defaultOf[string]("kpis[].format")
	defaultKPIWindowDays = defaultOf[int]("kpis[].window_days")
	defaultKPIDashboard  = defaultOf[string]("kpis[].dashboard")

	defaultCostSigma        = defaultOf[float64]("alerts.cost_anomaly.threshold_sigma")
	defaultCostBaselineDays = defaultOf[int]("alerts.cost_anomaly.baseline_days")
	defaultCostMinDaily     = defaultOf[float64]("alerts.cost_anomaly.min_daily_cost")
	defaultDurationSigma    = defaultOf[float64]("alerts.duration_anomaly.threshold_sigma")
	defaultDurationBaseline = defaultOf[int]("alerts.duration_anomaly.baseline_runs")
	defaultIdleMaxCPU       = defaultOf[float64]("alerts.cluster_idle.max_cpu_percent")
	defaultIdleMinMinutes   = defaultOf[int]("alerts.cluster_idle.min_idle_minutes")
	defaultBudgetWarnPct    = defaultOf[float64]("alerts.budget.warn_at_percent")

	defaultCollectorEnabled  = defaultOf[bool]("collector.enabled")
	defaultCollectorSchedule = defaultOf[string]("collector.schedule")
	defaultLookbackDays      = defaultOf[int]("collector.lookback_days")
	defaultDetailDays        = defaultOf[int]("retention.detail_days")
	defaultAggregateDays     = defaultOf[int]("retention.aggregate_days")
	defaultReportPerTeam     = defaultOf[bool]("reports[].per_team")

	// AllDashboards are the dashboards generated when the spec lists none.
	AllDashboards = defaultOf[[]string]("dashboards")
)

// familyDefaults are the defaults every alert family has.
type familyDefaults struct {
	Enabled  bool
	Schedule string
	Notify   string
}

// familyDefault returns the defaults of the named alert family.
// monitor_health has no notify: it always goes to monitor_notify.
func familyDefault(family string) familyDefaults {
	p := "alerts." + family + "."
	d := familyDefaults{Enabled: defaultOf[bool](p + "enabled"), Schedule: defaultOf[string](p + "schedule")}
	if family != "monitor_health" {
		d.Notify = defaultOf[string](p + "notify")
	}
	return d
}

func init() {
	for _, f := range Families { // read once, so a family without defaults fails every test
		familyDefault(f.Name)
	}
}

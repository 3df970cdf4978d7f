package model

import (
	"sort"
	"time"

	"github.com/dbmon/dbmon/generator/spec"
)

// Monitor holds what the silver and gold SQL compute from the spec: team
// rules, pricing, SLAs, KPIs, failure classes and alert thresholds, with
// defaults applied.
type Monitor struct {
	TeamRules      []TeamRule
	Pricing        Pricing
	SLAs           []SLA
	KPIs           []KPI
	FailureClasses []FailureClass
	Alerts         AlertSettings
	// Config is the rules above as the rows of the config tables.
	Config Config
}

// TeamRule is one team's match: all given conditions must hold.
type TeamRule struct {
	Team       string
	Tags       []KV // sorted by key
	JobName    string
	RunAs      []string
	Workspaces []string
}

// Pricing turns list cost into net cost.
type Pricing struct {
	Currency string
	// ExchangeRate is units of Currency per USD; the pipeline multiplies
	// every USD list price by it.
	ExchangeRate    float64
	DiscountPercent float64
	// SKUDiscounts are sorted longest prefix first, then by prefix.
	SKUDiscounts []SKUDiscount
}

// SKUDiscount overrides the discount for SKUs starting with Prefix.
type SKUDiscount struct {
	Prefix  string
	Percent float64
}

// SLA is a resolved service-level agreement.
type SLA struct {
	Name            string
	JobSelectorSpec spec.JobSelector
	SelectorTags    []KV
	DeadlineMinutes int   // minutes after local midnight; -1 without a deadline
	Days            []int // dayofweek numbers (1 = Sunday ... 7 = Saturday) the deadline applies to
	MaxDurationSecs int   // 0 without max_duration
	GraceSecs       int   // slas[].grace: how long after the deadline a miss is declared
	MinSuccessRate  *float64
	WindowDays      int
	Severity        string
	Notify          []string
}

// HasDeadline reports whether the SLA has a deadline check.
func (s SLA) HasDeadline() bool { return s.DeadlineMinutes >= 0 }

// KPI is a resolved analyst KPI.
type KPI struct {
	Name, Title, Source, Value, Format string
	WindowDays                         int
	By                                 string // team | workspace | job | ""
	ByColumn                           string // the source column of By
	DateColumn                         string // the source's date column; "" for jobs_current
	Min, Max                           *float64
	Dashboard                          string
	Notify                             []string
}

// FailureClass is one ordered failure rule; all given conditions must hold.
type FailureClass struct {
	Name             string
	ErrorRegex       string
	TerminationCodes []string
	ResultStates     []string // built-in rules only
}

// AlertSettings are the alert thresholds the gold tables and findings use.
type AlertSettings struct {
	CostSigma        float64
	CostBaselineDays int
	CostMinDaily     float64
	DurationSigma    float64
	DurationBaseline int
	IdleMaxCPU       float64
	IdleMinMinutes   int
	BudgetWarnPct    float64
	// JobsLatenessSecs and BillingLatenessSecs are alerts.lateness: data
	// younger than this may still be incomplete.
	JobsLatenessSecs, BillingLatenessSecs int
	// Windows are the event families' finding windows (job_failure,
	// duration_anomaly, sla_breach), set with the alerts' schedules.
	Windows map[string]Window
}

// Window is the finding window of an event family: an evaluation at now
// reports the events that happened in (now - Lag - Period, now - Lag], so
// with evaluations Period apart every event is reported by exactly one,
// once its rows have arrived (Lag covers the lateness and the time since
// the refresh the alert reads).
type Window struct{ LagSecs, PeriodSecs int }

// Window returns the named family's window.
func (a AlertSettings) Window(family string) Window { return a.Windows[family] }

// BuiltinFailureClasses apply when the spec lists none. Error text rules come
// first: an out-of-memory kill surfaces as a generic termination code.
var BuiltinFailureClasses = []FailureClass{
	{Name: "out_of_memory", ErrorRegex: `(?i)OutOfMemory|Container killed|exit code 137|GC overhead limit`},
	{Name: "timeout", ResultStates: []string{"TIMED_OUT"}},
	{Name: "cloud_capacity", TerminationCodes: []string{"CLOUD_FAILURE", "CLUSTER_ERROR", "CLUSTER_REQUEST_LIMIT_EXCEEDED", "INVALID_CLUSTER_REQUEST"}},
	{Name: "permissions", TerminationCodes: []string{"UNAUTHORIZED_ERROR", "STORAGE_ACCESS_ERROR"}},
	{Name: "dependencies", TerminationCodes: []string{"LIBRARY_INSTALLATION_ERROR", "REPOSITORY_CHECKOUT_FAILED"}},
	{Name: "limits", TerminationCodes: []string{"WORKSPACE_RUN_LIMIT_EXCEEDED", "MAX_CONCURRENT_RUNS_EXCEEDED", "MAX_JOB_QUEUE_SIZE_EXCEEDED", "MAX_SPARK_CONTEXTS_EXCEEDED", "BUDGET_POLICY_LIMIT_EXCEEDED"}},
	{Name: "configuration", TerminationCodes: []string{"INVALID_RUN_CONFIGURATION", "RESOURCE_NOT_FOUND", "FEATURE_DISABLED"}},
	{Name: "driver_error", TerminationCodes: []string{"DRIVER_ERROR"}},
	{Name: "user_code", TerminationCodes: []string{"RUN_EXECUTION_ERROR"}},
	{Name: "internal", TerminationCodes: []string{"INTERNAL_ERROR"}},
}

// kpiBy maps a KPI breakdown to its column.
var kpiBy = map[string]string{"team": "team", "workspace": "workspace_id", "job": "job_id"}

var weekdayNumber = map[string]int{"sun": 1, "mon": 2, "tue": 3, "wed": 4, "thu": 5, "fri": 6, "sat": 7}

func sortedKV(m map[string]string) []KV {
	out := make([]KV, 0, len(m))
	for k, v := range m {
		out = append(out, KV{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func buildMonitor(s *spec.Spec) Monitor {
	var m Monitor
	for _, t := range s.Teams {
		m.TeamRules = append(m.TeamRules, TeamRule{Team: t.Name, Tags: sortedKV(t.Match.Tags),
			JobName: t.Match.JobName, RunAs: t.Match.RunAs, Workspaces: t.Match.Workspaces})
	}
	m.Pricing = Pricing{Currency: or(s.Pricing.Currency, defaultCurrency)}
	m.Pricing.DiscountPercent = orFloat(s.Pricing.DiscountPercent, defaultDiscount)
	m.Pricing.ExchangeRate = orFloat(s.Pricing.ExchangeRate, defaultExchangeRate)
	for p, pct := range s.Pricing.SKUDiscounts {
		m.Pricing.SKUDiscounts = append(m.Pricing.SKUDiscounts, SKUDiscount{p, pct})
	}
	sort.Slice(m.Pricing.SKUDiscounts, func(i, j int) bool {
		a, b := m.Pricing.SKUDiscounts[i], m.Pricing.SKUDiscounts[j]
		if len(a.Prefix) != len(b.Prefix) {
			return len(a.Prefix) > len(b.Prefix)
		}
		return a.Prefix < b.Prefix
	})

	for _, sl := range s.SLAs {
		r := SLA{Name: sl.Name, JobSelectorSpec: sl.Jobs, SelectorTags: sortedKV(sl.Jobs.Tags), DeadlineMinutes: -1,
			MinSuccessRate: sl.MinSuccessRate, WindowDays: orInt(sl.WindowDays, defaultSLAWindowDays),
			Severity: or(sl.Severity, defaultSeverity), Notify: sl.Notify}
		if sl.Deadline != "" {
			t, _ := time.Parse("15:04", sl.Deadline) // validated HH:MM
			r.DeadlineMinutes = t.Hour()*60 + t.Minute()
			days := sl.Days
			if len(days) == 0 {
				days = defaultSLADays
			}
			for _, d := range days {
				r.Days = append(r.Days, weekdayNumber[d])
			}
			sort.Ints(r.Days)
		}
		grace, _ := time.ParseDuration(or(sl.Grace, defaultSLAGrace)) // validated
		r.GraceSecs = int(grace.Seconds())
		if sl.MaxDuration != "" {
			d, _ := time.ParseDuration(sl.MaxDuration) // validated
			r.MaxDurationSecs = int(d.Seconds())
		}
		m.SLAs = append(m.SLAs, r)
	}

	for _, k := range s.KPIs {
		src, _ := PipelineTableByName(k.Source) // the schema enumerates the sources
		r := KPI{Name: k.Name, Title: or(k.Title, k.Name), Source: k.Source, Value: k.Value,
			Format: or(k.Format, defaultKPIFormat), WindowDays: orInt(k.WindowDays, defaultKPIWindowDays),
			By: k.By, ByColumn: kpiBy[k.By], DateColumn: src.DateColumn,
			Dashboard: or(k.Dashboard, defaultKPIDashboard), Notify: k.Notify}
		if k.Target != nil {
			r.Min, r.Max = k.Target.Min, k.Target.Max
		}
		m.KPIs = append(m.KPIs, r)
	}

	for _, f := range s.FailureClasses {
		m.FailureClasses = append(m.FailureClasses, FailureClass{Name: f.Name, ErrorRegex: f.ErrorRegex, TerminationCodes: f.TerminationCodes})
	}
	if len(s.FailureClasses) == 0 {
		m.FailureClasses = BuiltinFailureClasses
	}

	budgets, routed := map[string]*float64{}, map[string]bool{}
	for _, t := range s.Teams {
		budgets[t.Name] = t.MonthlyBudget
		routed[t.Name] = len(t.Notify) > 0
	}
	m.Config = buildConfig(&m, budgets, routed)

	a := s.Alerts
	m.Alerts = AlertSettings{CostSigma: defaultCostSigma, CostBaselineDays: defaultCostBaselineDays, CostMinDaily: defaultCostMinDaily,
		DurationSigma: defaultDurationSigma, DurationBaseline: defaultDurationBaseline,
		IdleMaxCPU: defaultIdleMaxCPU, IdleMinMinutes: defaultIdleMinMinutes, BudgetWarnPct: defaultBudgetWarnPct}
	if c := a.CostAnomaly; c != nil {
		m.Alerts.CostSigma = orFloat(c.ThresholdSigma, defaultCostSigma)
		m.Alerts.CostBaselineDays = orInt(c.BaselineDays, defaultCostBaselineDays)
		m.Alerts.CostMinDaily = orFloat(c.MinDailyCost, defaultCostMinDaily)
	}
	if d := a.DurationAnomaly; d != nil {
		m.Alerts.DurationSigma = orFloat(d.ThresholdSigma, defaultDurationSigma)
		m.Alerts.DurationBaseline = orInt(d.BaselineRuns, defaultDurationBaseline)
	}
	if c := a.ClusterIdle; c != nil {
		m.Alerts.IdleMaxCPU = orFloat(c.MaxCPUPercent, defaultIdleMaxCPU)
		m.Alerts.IdleMinMinutes = orInt(c.MinIdleMinutes, defaultIdleMinMinutes)
	}
	if b := a.Budget; b != nil {
		m.Alerts.BudgetWarnPct = orFloat(b.WarnAtPercent, defaultBudgetWarnPct)
	}
	jobs, billing := defaultJobsLateness, defaultBillLateness
	if l := a.Lateness; l != nil {
		jobs, billing = or(l.Jobs, jobs), or(l.Billing, billing)
	}
	dj, _ := time.ParseDuration(jobs) // validated
	db, _ := time.ParseDuration(billing)
	m.Alerts.JobsLatenessSecs, m.Alerts.BillingLatenessSecs = int(dj.Seconds()), int(db.Seconds())
	return m
}

func orFloat(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

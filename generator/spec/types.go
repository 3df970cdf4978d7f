package spec

import "gopkg.in/yaml.v3"

// Spec is the dbmon spec, version 1, exactly as written in the YAML file:
// optional fields stay empty here and receive their defaults in package model.
// The yaml tags must match the embedded JSON Schema (dbmon.schema.json); a test
// walks both and fails when they disagree.
type Spec struct {
	Version        int                    `yaml:"version"`
	Bundle         Bundle                 `yaml:"bundle"`
	Workspaces     []Workspace            `yaml:"workspaces"`
	Pricing        Pricing                `yaml:"pricing"`
	Teams          []Team                 `yaml:"teams"`
	UnassignedTeam string                 `yaml:"unassigned_team"`
	Destinations   map[string]Destination `yaml:"destinations"`
	SLAs           []SLA                  `yaml:"slas"`
	KPIs           []KPI                  `yaml:"kpis"`
	Alerts         Alerts                 `yaml:"alerts"`
	FailureClasses []FailureClass         `yaml:"failure_classes"`
	Collector      Collector              `yaml:"collector"`
	Retention      Retention              `yaml:"retention"`
	Refresh        string                 `yaml:"refresh"`
	Dashboards     []string               `yaml:"dashboards"`
	MonitorNotify  []string               `yaml:"monitor_notify"`
	Reports        []Report               `yaml:"reports"`
}

// Bundle names the bundle and where its tables and queries live.
type Bundle struct {
	Name        string            `yaml:"name"`
	Catalog     string            `yaml:"catalog"`
	Schema      string            `yaml:"schema"`
	Warehouse   string            `yaml:"warehouse"`
	WarehouseID string            `yaml:"warehouse_id"`
	Timezone    string            `yaml:"timezone"`
	Targets     map[string]Target `yaml:"targets"`
}

// Target is one deployment target of the bundle.
type Target struct {
	Mode        string       `yaml:"mode"`
	Default     *bool        `yaml:"default"`
	Host        string       `yaml:"host"`
	RootPath    string       `yaml:"root_path"`
	RunAs       *RunAs       `yaml:"run_as"`
	Permissions []Permission `yaml:"permissions"`
}

// RunAs is the identity deployed jobs and pipelines run as.
type RunAs struct {
	ServicePrincipalName string `yaml:"service_principal_name"`
	UserName             string `yaml:"user_name"`
}

// Permission grants a level to one principal.
type Permission struct {
	Level                string `yaml:"level"`
	GroupName            string `yaml:"group_name"`
	UserName             string `yaml:"user_name"`
	ServicePrincipalName string `yaml:"service_principal_name"`
}

// Workspace is a monitored workspace and its display name.
type Workspace struct {
	ID          string `yaml:"id"`
	Name        string `yaml:"name"`
	Host        string `yaml:"host"`
	TokenSecret string `yaml:"token_secret"`
}

// Pricing turns list prices into net cost.
type Pricing struct {
	Currency        string             `yaml:"currency"`
	ExchangeRate    *float64           `yaml:"exchange_rate"`
	DiscountPercent *float64           `yaml:"discount_percent"`
	SKUDiscounts    map[string]float64 `yaml:"sku_discounts"`
}

// Team owns the jobs its match selects.
type Team struct {
	Name          string   `yaml:"name"`
	Match         Match    `yaml:"match"`
	Notify        []string `yaml:"notify"`
	MonthlyBudget *float64 `yaml:"monthly_budget"`
}

// Match is a conjunction of conditions on a job.
type Match struct {
	Tags       map[string]string `yaml:"tags"`
	JobName    string            `yaml:"job_name"`
	RunAs      []string          `yaml:"run_as"`
	Workspaces []string          `yaml:"workspaces"`
}

// Destination is where alerts go: an admin-created notification destination
// or a list of email addresses.
type Destination struct {
	DestinationID string   `yaml:"destination_id"`
	Emails        []string `yaml:"emails"`
}

// SLA is a service-level agreement on the jobs its selector picks.
type SLA struct {
	Name           string      `yaml:"name"`
	Jobs           JobSelector `yaml:"jobs"`
	Deadline       string      `yaml:"deadline"`
	Days           []string    `yaml:"days"`
	MaxDuration    string      `yaml:"max_duration"`
	Grace          string      `yaml:"grace"`
	MinSuccessRate *float64    `yaml:"min_success_rate"`
	WindowDays     int         `yaml:"window_days"`
	Severity       string      `yaml:"severity"`
	Notify         []string    `yaml:"notify"`
}

// JobSelector picks jobs by exactly one criterion.
type JobSelector struct {
	Names     []string          `yaml:"names"`
	NameRegex string            `yaml:"name_regex"`
	JobIDs    []string          `yaml:"job_ids"`
	Tags      map[string]string `yaml:"tags"`
	Team      string            `yaml:"team"`
}

// KPI is an analyst-defined metric over a documented table.
type KPI struct {
	Name       string     `yaml:"name"`
	Title      string     `yaml:"title"`
	Source     string     `yaml:"source"`
	Value      string     `yaml:"value"`
	Format     string     `yaml:"format"`
	WindowDays int        `yaml:"window_days"`
	By         string     `yaml:"by"`
	Target     *KPITarget `yaml:"target"`
	Dashboard  string     `yaml:"dashboard"`
	Notify     []string   `yaml:"notify"`
}

// KPITarget is a KPI's target range; either bound may be omitted.
type KPITarget struct {
	Min *float64 `yaml:"min"`
	Max *float64 `yaml:"max"`
}

// Report is a dashboard e-mailed on a schedule: a job's dashboard task
// refreshes the dashboard and sends its snapshot to the recipients.
type Report struct {
	Name       string `yaml:"name"`
	Dashboard  string `yaml:"dashboard"`
	Schedule   string `yaml:"schedule"`
	Recipients Notify `yaml:"recipients"`
	Subject    string `yaml:"subject"`
	PerTeam    *bool  `yaml:"per_team"`
}

// Alerts configures the built-in alert families.
type Alerts struct {
	JobFailure      *RoutedAlert          `yaml:"job_failure"`
	SLABreach       *RoutedAlert          `yaml:"sla_breach"`
	CostAnomaly     *CostAnomalyAlert     `yaml:"cost_anomaly"`
	DurationAnomaly *DurationAnomalyAlert `yaml:"duration_anomaly"`
	ClusterIdle     *ClusterIdleAlert     `yaml:"cluster_idle"`
	Budget          *BudgetAlert          `yaml:"budget"`
	MonitorHealth   *MonitorHealthAlert   `yaml:"monitor_health"`
	Lateness        *Lateness             `yaml:"lateness"`
}

// MonitorHealthAlert fires when dbmon's own sources or pipeline fall
// behind; it always notifies monitor_notify, so it has no notify.
type MonitorHealthAlert struct {
	Enabled  *bool  `yaml:"enabled"`
	Schedule string `yaml:"schedule"`
	MaxLag   string `yaml:"max_lag"`
}

// Lateness is how late the system tables' rows may arrive: durations.
type Lateness struct {
	Jobs    string `yaml:"jobs"`
	Billing string `yaml:"billing"`
}

// Families returns the common settings of each configured family by key;
// a family the spec omits maps to nil.
func (a Alerts) Families() map[string]*RoutedAlert {
	out := map[string]*RoutedAlert{"job_failure": a.JobFailure, "sla_breach": a.SLABreach}
	if a.CostAnomaly != nil {
		out["cost_anomaly"] = &a.CostAnomaly.RoutedAlert
	}
	if a.DurationAnomaly != nil {
		out["duration_anomaly"] = &a.DurationAnomaly.RoutedAlert
	}
	if a.ClusterIdle != nil {
		out["cluster_idle"] = &a.ClusterIdle.RoutedAlert
	}
	if a.Budget != nil {
		out["budget"] = &a.Budget.RoutedAlert
	}
	if m := a.MonitorHealth; m != nil {
		out["monitor_health"] = &RoutedAlert{Enabled: m.Enabled, Schedule: m.Schedule}
	}
	return out
}

// RoutedAlert holds the settings every alert family has.
type RoutedAlert struct {
	Enabled  *bool  `yaml:"enabled"`
	Schedule string `yaml:"schedule"`
	Notify   Notify `yaml:"notify"`
}

// CostAnomalyAlert fires on a daily cost far above its baseline.
type CostAnomalyAlert struct {
	RoutedAlert    `yaml:",inline"`
	ThresholdSigma *float64 `yaml:"threshold_sigma"`
	BaselineDays   int      `yaml:"baseline_days"`
	MinDailyCost   *float64 `yaml:"min_daily_cost"`
}

// DurationAnomalyAlert fires on a run far longer than the job's baseline.
type DurationAnomalyAlert struct {
	RoutedAlert    `yaml:",inline"`
	ThresholdSigma *float64 `yaml:"threshold_sigma"`
	BaselineRuns   int      `yaml:"baseline_runs"`
}

// ClusterIdleAlert fires on a cluster that ran idle for long.
type ClusterIdleAlert struct {
	RoutedAlert    `yaml:",inline"`
	MaxCPUPercent  *float64 `yaml:"max_cpu_percent"`
	MinIdleMinutes int      `yaml:"min_idle_minutes"`
}

// BudgetAlert fires when a team's forecast passes a share of its budget.
type BudgetAlert struct {
	RoutedAlert   `yaml:",inline"`
	WarnAtPercent *float64 `yaml:"warn_at_percent"`
}

// FailureClass names failures that match its rule.
type FailureClass struct {
	Name             string   `yaml:"name"`
	ErrorRegex       string   `yaml:"error_regex"`
	TerminationCodes []string `yaml:"termination_codes"`
}

// Collector configures the Jobs API collector.
type Collector struct {
	Enabled      *bool  `yaml:"enabled"`
	Schedule     string `yaml:"schedule"`
	LookbackDays int    `yaml:"lookback_days"`
}

// Retention bounds how long monitoring rows are kept.
type Retention struct {
	DetailDays    int `yaml:"detail_days"`
	AggregateDays int `yaml:"aggregate_days"`
}

// Notify is an alert family's routing: the word "team" (route to the owning
// team's destinations) or a list of destination keys, which may include "team".
// Both spellings decode to a list.
type Notify []string

// UnmarshalYAML accepts a scalar as a one-element list.
func (n *Notify) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind == yaml.ScalarNode {
		*n = Notify{node.Value}
		return nil
	}
	var list []string
	if err := node.Decode(&list); err != nil {
		return err
	}
	*n = list
	return nil
}

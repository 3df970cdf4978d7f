package dashboard

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/dbmon/dbmon/generator/model"
)

// dashboards builds the canvas page of each dashboard; New adds the header,
// the KPI section and the global filters.
var dashboards = map[string]func(*builder){
	"executive_overview": executiveOverview,
	"job_operations":     jobOperations,
	"cost_analysis":      costAnalysis,
	"failure_analysis":   failureAnalysis,
}

// Windows of the ranked tables ("slowest jobs", "top jobs by cost", ...):
// they aggregate inside the SQL, so the date-range filter cannot apply.
const rankDays = 30

var rankWindow = "(last " + strconv.Itoa(rankDays) + " days)"

// ---- shared datasets ----
//
// Each dataset's query is the template block of its name: the shared ones
// in templates/dashboards/shared.sql.tmpl, the others in
// templates/dashboards/<dashboard>.sql.tmpl.

func (d *builder) costDaily() string {
	const name = "ds_cost_daily"
	if d.hasDataset(name) {
		return name
	}
	return d.dataset(name, "Daily cost by workspace and team", filterable{date: "usage_date", team: true, workspace: true})
}

func (d *builder) slaDaily() string {
	const name = "ds_sla_daily"
	if d.hasDataset(name) {
		return name
	}
	return d.dataset(name, "SLA checks per job and day", filterable{date: "period_date", team: true, workspace: true})
}

func (d *builder) jobsDaily() string {
	const name = "ds_jobs_daily"
	if d.hasDataset(name) {
		return name
	}
	return d.dataset(name, "Daily runs per job", filterable{date: "run_date", team: true, workspace: true})
}

// ---- executive_overview ----

func executiveOverview(d *builder) {
	money := d.money()
	month := d.dataset("ds_cost_month", "Cost this month and last month", filterable{team: true, workspace: true})
	d.counter("cost_this_month", "Cost this month (to date)", month,
		axis{field: sum("cost_this_month"), display: "This month", format: money},
		&axis{field: sum("cost_last_month_to_date"), display: "Same days last month", format: money}, 2, 3)
	d.counter("cost_last_month", "Cost last month", month,
		axis{field: sum("cost_last_month"), display: "Last month", format: money}, nil, 2, 3)
	d.counter("sla_compliance", "SLA compliance", d.slaDaily(),
		axis{field: avg("met_ratio"), display: "SLA-days met", format: percent}, nil, 1, 3)
	rate := d.dataset("ds_failure_rate", "Failure rate "+rankWindow, filterable{})
	d.counter("failure_rate", "Failure rate "+rankWindow, rate,
		axis{field: col("failure_rate"), display: "Failed runs", format: percent}, nil, 1, 3)
	d.kpiSection()

	d.section("Spend and budgets")
	budget := d.dataset("ds_budget", "Budget burn this month", filterable{team: true})
	d.table("budget_burn", "Budget burn per team (this month)", budget, []column{
		{"team", "Team", nil},
		{"budget", "Monthly budget", money},
		{"cost_net_to_date", "Spent to date", money},
		{"forecast_month_end", "Forecast month end", money},
		{"forecast_share_of_budget", "Forecast % of budget", percent},
	}, 3, 6)
	d.chart(Line, "cost_trend_by_team", "Weekly cost by team", d.costDaily(),
		axis{field: weekly("usage_date"), scale: ScaleTemporal, display: "Week"},
		axis{field: sum("cost_net"), scale: ScaleQuantitative, display: "Net cost", format: money},
		&axis{field: col("team"), scale: ScaleCategorical, display: "Team"}, 3, 6)

	// What watching costs, and whether the numbers above are current.
	d.section("The monitor itself")
	own := d.dataset("ds_monitor_footprint", "The monitor's own cost per day and component", filterable{date: "usage_date"})
	d.chart(Bar, "monitor_cost", "The monitor's cost per day (alerts and dashboards estimated)", own,
		axis{field: daily("usage_date"), scale: ScaleTemporal, display: "Day"},
		axis{field: sum("cost_net"), scale: ScaleQuantitative, display: "Net cost", format: money},
		&axis{field: col("component"), scale: ScaleCategorical, display: "Component"}, 3, 6)
	fresh := d.dataset("ds_monitor_freshness", "How far behind each source and table is", filterable{})
	d.table("monitor_freshness", "Freshness at the last refresh", fresh, []column{
		{"layer", "Layer", nil},
		{"table_name", "Table", nil},
		{"newest_event_time", "Newest event (UTC)", nil},
		{"newest_date", "Newest day", nil},
		{"lag_hours", "Behind (hours)", minutes},
		{"max_lag_hours", "Alert at (hours)", minutes},
	}, 3, 6)
}

// ---- job_operations ----

func jobOperations(d *builder) {
	jobs := d.jobsDaily()
	d.counter("total_runs", "Finished runs", jobs, axis{field: sum("total_runs"), display: "Runs", format: count}, nil, 2, 3)
	d.counter("failed_runs", "Failed runs", jobs, axis{field: sum("failed_runs"), display: "Failed", format: count}, nil, 2, 3)
	d.counter("repairs", "Repairs", jobs, axis{field: sum("repairs"), display: "Repairs", format: count}, nil, 2, 3)

	d.section("Runs")
	status := d.dataset("ds_runs_by_status", "Daily runs by final status", filterable{date: "run_date", team: true, workspace: true})
	d.chart(Bar, "runs_by_status", "Runs by status", status,
		axis{field: daily("run_date"), scale: ScaleTemporal, display: "Day"},
		axis{field: sum("runs"), scale: ScaleQuantitative, display: "Runs", format: count},
		&axis{field: col("status"), scale: ScaleCategorical, display: "Status"}, 3, 6)
	d.chart(Line, "p95_duration_trend", "p95 run duration (minutes, mean over jobs)", jobs,
		axis{field: daily("run_date"), scale: ScaleTemporal, display: "Day"},
		axis{field: avg("p95_duration_minutes"), scale: ScaleQuantitative, display: "p95 duration (min)", format: minutes},
		&axis{field: col("team"), scale: ScaleCategorical, display: "Team"}, 3, 6)

	d.section("SLAs")
	d.chart(Line, "sla_compliance_trend", "SLA compliance", d.slaDaily(),
		axis{field: daily("period_date"), scale: ScaleTemporal, display: "Day"},
		axis{field: avg("met_ratio"), scale: ScaleQuantitative, display: "SLA-days met", format: percent},
		nil, 2, 6)
	breaches := d.dataset("ds_sla_breaches", "SLAs breached on the latest day", filterable{team: true, workspace: true})
	d.table("sla_breaches_today", "SLAs breached today", breaches, []column{
		{"severity", "Severity", nil},
		{"sla_name", "SLA", nil},
		{"job_name", "Job", nil},
		{"team", "Team", nil},
		{"workspace_name", "Workspace", nil},
		{"breach_reason", "Failed checks", nil},
		{"success_rate", "Success rate (window)", percent},
	}, 4, 6)

	d.section("Jobs " + rankWindow)
	slowest := d.dataset("ds_slowest_jobs", "Slowest jobs "+rankWindow, filterable{team: true, workspace: true})
	d.table("slowest_jobs", "Slowest jobs "+rankWindow, slowest, []column{
		{"job_name", "Job", nil},
		{"team", "Team", nil},
		{"workspace_name", "Workspace", nil},
		{"runs", "Runs", nil},
		{"avg_duration_minutes", "Mean duration (min)", minutes},
		{"max_p95_duration_minutes", "Worst daily p95 (min)", minutes},
	}, 3, 8)
	repaired := d.dataset("ds_repaired_jobs", "Most-repaired jobs "+rankWindow, filterable{team: true, workspace: true})
	d.table("most_repaired_jobs", "Most-repaired jobs "+rankWindow, repaired, []column{
		{"job_name", "Job", nil},
		{"team", "Team", nil},
		{"workspace_name", "Workspace", nil},
		{"repairs", "Repairs", nil},
		{"runs", "Runs", nil},
		{"failed_runs", "Failed runs", nil},
	}, 3, 8)
}

// ---- cost_analysis ----

func costAnalysis(d *builder) {
	money := d.money()
	cost := d.costDaily()
	d.counter("net_cost", "Net cost", cost, axis{field: sum("cost_net"), display: "Net", format: money}, nil, 2, 3)
	d.counter("list_cost", "List cost", cost, axis{field: sum("cost_list"), display: "List", format: money}, nil, 2, 3)
	d.counter("dbus", "DBUs", cost, axis{field: sum("dbus"), display: "DBUs", format: count}, nil, 2, 3)
	// Which currency and rate the amounts are in (issue 13): list prices are
	// USD and the pipeline converts them.
	p := d.b.Monitor.Pricing
	d.text("pricing_basis", fmt.Sprintf("Amounts in %s: USD list prices (system.billing.list_prices) x %s %s per USD (pricing.exchange_rate); net cost after the spec's discounts.",
		p.Currency, strconv.FormatFloat(p.ExchangeRate, 'f', -1, 64), p.Currency), 1)

	d.section("Cost over time")
	week := axis{field: weekly("usage_date"), scale: ScaleTemporal, display: "Week"}
	net := axis{field: sum("cost_net"), scale: ScaleQuantitative, display: "Net cost", format: money}
	d.chart(Bar, "cost_by_team", "Cost by team", cost, week, net,
		&axis{field: col("team"), scale: ScaleCategorical, display: "Team"}, 3, 6)
	d.chart(Bar, "cost_by_workspace", "Cost by workspace", cost, week, net,
		&axis{field: col("workspace_name"), scale: ScaleCategorical, display: "Workspace"}, 3, 6)
	sku := d.dataset("ds_cost_sku", "Daily cost by SKU", filterable{date: "usage_date", team: true, workspace: true})
	d.chart(Area, "cost_by_sku", "Cost by SKU", sku, week, net,
		&axis{field: col("sku_name"), scale: ScaleCategorical, display: "SKU"}, 6, 6)

	d.section("Jobs and shared clusters")
	top := d.dataset("ds_top_jobs_cost", "Top jobs by cost "+rankWindow, filterable{team: true, workspace: true})
	d.table("top_jobs_by_cost", "Top jobs by cost "+rankWindow, top, []column{
		{"job_name", "Job", nil},
		{"team", "Team", nil},
		{"workspace_name", "Workspace", nil},
		{"cost_net", "Net cost", money},
		{"runs", "Runs", nil},
		{"cost_per_run", "Cost per run", money},
	}, 3, 8)
	shared := d.dataset("ds_cost_apportioned", "All-purpose cluster cost apportioned to jobs", filterable{date: "usage_date", team: true, workspace: true})
	d.counter("apportioned_cost", "Apportioned all-purpose cost", shared,
		axis{field: sum("cost_net"), display: "Apportioned", format: money}, nil, 3, 2)
	d.table("apportioned_cost_detail", "Apportioned cost per job and day", shared, []column{
		{"usage_date", "Day", nil},
		{"job_name", "Job", nil},
		{"team", "Team", nil},
		{"workspace_name", "Workspace", nil},
		{"sku_name", "SKU", nil},
		{"cost_net", "Net cost", money},
	}, 3, 6)

	d.section("Idle clusters")
	clusters := d.dataset("ds_cluster_daily", "Daily cluster utilization and idle cost", filterable{date: "usage_date", team: true, workspace: true})
	d.counter("potential_savings", "Idle-cluster waste (potential savings)", clusters,
		axis{field: sum("potential_savings"), display: "Idle cost", format: money}, nil, 2, 3)
	d.counter("idle_hours", "Idle cluster hours", clusters,
		axis{field: sum("idle_hours"), display: "Idle hours", format: count}, nil, 2, 3)
	d.counter("cluster_cost", "Cluster cost", clusters,
		axis{field: sum("cost_net"), display: "Net cost", format: money}, nil, 2, 3)
	d.chart(Bar, "savings_by_team", "Idle cost by team", clusters,
		axis{field: weekly("usage_date"), scale: ScaleTemporal, display: "Week"},
		axis{field: sum("potential_savings"), scale: ScaleQuantitative, display: "Idle cost", format: money},
		&axis{field: col("team"), scale: ScaleCategorical, display: "Team"}, 3, 6)
	idle := d.dataset("ds_idle_clusters", "Clusters with idle cost "+rankWindow, filterable{team: true, workspace: true})
	d.table("idle_clusters", "Clusters with idle cost "+rankWindow, idle, []column{
		{"cluster_id", "Cluster", nil},
		{"team", "Team", nil},
		{"workspace_name", "Workspace", nil},
		{"idle_hours", "Idle hours", minutes},
		{"avg_cpu", "Mean CPU", percent},
		{"cost_net", "Net cost", money},
		{"potential_savings", "Potential savings", money},
	}, 3, 6)
}

// ---- failure_analysis ----

func failureAnalysis(d *builder) {
	money := d.money()
	failures := d.dataset("ds_failures_daily", "Daily failures by team and class", filterable{date: "run_date", team: true})
	failing := d.dataset("ds_failing_jobs", "Top failing jobs "+rankWindow, filterable{team: true, workspace: true})
	d.counter("failed_runs", "Failed runs", failures, axis{field: sum("failures"), display: "Failed runs", format: count}, nil, 2, 3)
	d.counter("failure_cost", "Cost of failed runs", failures, axis{field: sum("cost_net"), display: "Net cost", format: money}, nil, 2, 3)
	d.counter("failing_jobs", "Jobs with failures "+rankWindow, failing,
		axis{field: agg("count", "job_id"), display: "Jobs", format: count}, nil, 2, 3)

	d.section("Failures over time")
	day := axis{field: daily("run_date"), scale: ScaleTemporal, display: "Day"}
	n := axis{field: sum("failures"), scale: ScaleQuantitative, display: "Failed runs", format: count}
	class := axis{field: col("failure_class"), scale: ScaleCategorical, display: "Failure class"}
	d.chart(Bar, "failures_by_class", "Failures by class", failures, day, n, &class, 3, 6)
	d.chart(Bar, "failures_by_team", "Failures by team", failures, day, n,
		&axis{field: col("team"), scale: ScaleCategorical, display: "Team"}, 3, 6)
	d.pie("failure_mix", "Failure mix", failures, n, class, 2, 6)
	d.chart(Bar, "failure_cost_by_class", "Cost of failed runs by class", failures,
		axis{field: weekly("run_date"), scale: ScaleTemporal, display: "Week"},
		axis{field: sum("cost_net"), scale: ScaleQuantitative, display: "Net cost", format: money}, &class, 4, 6)

	d.section("Jobs")
	d.table("top_failing_jobs", "Top failing jobs "+rankWindow, failing, []column{
		{"job_name", "Job", nil},
		{"team", "Team", nil},
		{"workspace_name", "Workspace", nil},
		{"failed_runs", "Failed runs", nil},
		{"runs", "Runs", nil},
		{"failure_rate", "Failure rate", percent},
		{"last_failure_date", "Last failure", nil},
	}, 6, 6)

	recent := d.dataset("ds_recent_failures", "Failed runs with error text", filterable{date: "run_date", team: true, workspace: true})
	d.table("recent_failures", "Recent failures", recent, []column{
		{"end_time", "Ended (UTC)", nil},
		{"job_name", "Job", nil},
		{"team", "Team", nil},
		{"workspace_name", "Workspace", nil},
		{"failure_class", "Class", nil},
		{"termination_code", "Termination code", nil},
		{"error_message", "Error", nil},
		{"cost_net", "Net cost", money},
		{"run_url", "Run", nil},
	}, 6, 9)
}

// ---- KPIs ----

// kpisFor lists the spec KPIs shown on the named dashboard: those whose
// dashboard it is. A KPI whose dashboard is not generated (only possible for
// the default, executive_overview, when the spec lists other dashboards)
// goes to the first generated dashboard rather than nowhere.
func kpisFor(b *model.Bundle, name string) []model.KPI {
	generated := map[string]bool{}
	for _, n := range b.Dashboards {
		generated[n] = true
	}
	var out []model.KPI
	for _, k := range b.Monitor.KPIs {
		home := k.Dashboard
		if !generated[home] && len(b.Dashboards) > 0 {
			home = b.Dashboards[0]
		}
		if home == name {
			out = append(out, k)
		}
	}
	return out
}

// kpiSection adds one counter per KPI of this dashboard, titled with its
// target, reading the latest kpi_values row(s). A KPI with a breakdown shows
// its worst value (the highest against a max target, the lowest against a
// min-only target) and a bar per breakdown value beside it.
func (d *builder) kpiSection() {
	d.kpisPlaced = true
	kpis := kpisFor(d.b, d.name)
	if len(kpis) == 0 {
		return
	}
	d.section("KPIs")
	used := map[string]bool{}
	for _, k := range kpis {
		key := model.ResourceKey(k.Name)
		for i := 2; used[key]; i++ {
			key = model.ResourceKey(k.Name) + "_" + strconv.Itoa(i)
		}
		used[key] = true
		d.kpi(k, key)
	}
}

func (d *builder) kpi(k model.KPI, key string) {
	format := number
	switch k.Format {
	case "percent":
		format = percent
	case "currency":
		format = d.money()
	case "duration": // seconds in kpi_values; the kpi block shows minutes
		format = minutes
	}
	f := filterable{}
	category := axis{field: col("breakdown"), scale: ScaleCategorical}
	switch k.By {
	case "team":
		category = axis{field: col("team"), scale: ScaleCategorical, display: "Team"}
		f.team = true
	case "workspace":
		category = axis{field: col("workspace_name"), scale: ScaleCategorical, display: "Workspace"}
		f.workspace = true
	case "job":
		category.display = "Job id"
	}
	byName := strings.ToLower(category.display)
	ds := d.datasetFrom("ds_kpi_"+key, "KPI: "+k.Title, "kpi", sqlData{KPI: k}, f)

	title := k.Title
	if t := targetText(k, d.b.Monitor.Pricing.Currency); t != "" {
		title += " (target " + t + ")"
	}
	if k.Format == "duration" {
		title += ", minutes"
	}
	aggregate, display := maxf("value"), k.Title
	if k.By != "" {
		display = "Highest " + byName
		if k.Max == nil && k.Min != nil {
			aggregate, display = minf("value"), "Lowest "+byName
		}
	}
	if k.By == "" {
		d.counter("kpi_"+key, title, ds, axis{field: aggregate, display: display, format: format}, nil, 2, 3)
		return
	}
	d.grid.section()
	d.counter("kpi_"+key, title, ds, axis{field: aggregate, display: display, format: format}, nil, 2, 5)
	d.chart(Bar, "kpi_"+key+"_by_"+k.By, k.Title+" by "+byName, ds, category,
		axis{field: maxf("value"), scale: ScaleQuantitative, display: k.Title, format: format}, nil, 4, 5)
	d.grid.section()
}

// targetText renders a KPI target as its title shows it: "≤ 5%", "≥ 1,000
// USD", "≥ 0.9 and ≤ 1.1"; "" without a target.
func targetText(k model.KPI, currency string) string {
	show := func(v float64) string {
		switch k.Format {
		case "percent":
			return trimFloat(v*100) + "%"
		case "currency":
			return trimFloat(v) + " " + currency
		case "duration":
			s := time.Duration(math.Round(v * float64(time.Second))).String()
			if strings.HasSuffix(s, "m0s") {
				s = strings.TrimSuffix(s, "0s")
			}
			if strings.HasSuffix(s, "h0m") {
				s = strings.TrimSuffix(s, "0m")
			}
			return s
		}
		return trimFloat(v)
	}
	switch {
	case k.Min != nil && k.Max != nil:
		return "≥ " + show(*k.Min) + " and ≤ " + show(*k.Max)
	case k.Max != nil:
		return "≤ " + show(*k.Max)
	case k.Min != nil:
		return "≥ " + show(*k.Min)
	}
	return ""
}

// trimFloat prints v with at most 6 decimals and no trailing zeros, so
// 0.05*100 prints as 5, not 5.000000000000001.
func trimFloat(v float64) string {
	return strconv.FormatFloat(math.Round(v*1e6)/1e6, 'f', -1, 64)
}

package dashboard

import (
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
// SQL placeholders ({today}, {ws_name}, {ws_join}) are listed at
// sqlReplacer. Every dataset with a workspace exposes workspace_name,
// computed as cost_by_workspace computes it, so the workspace filter sees the
// same values everywhere.

func (d *builder) costDaily() string {
	const name = "ds_cost_daily"
	if d.hasDataset(name) {
		return name
	}
	return d.dataset(name, "Daily cost by workspace and team", `
		SELECT usage_date, workspace_id, workspace_name, team, dbus, cost_list, cost_net
		FROM cost_by_workspace
	`, filterable{date: "usage_date", team: true, workspace: true})
}

func (d *builder) slaDaily() string {
	const name = "ds_sla_daily"
	if d.hasDataset(name) {
		return name
	}
	// One row per (SLA, job, day) with at least one check evaluated; the
	// average of met_ratio is the share of checked SLA-days that were met,
	// whatever the filters keep.
	return d.dataset(name, "SLA checks per job and day", `
		SELECT
		  x.period_date,
		  x.sla_name,
		  x.severity,
		  x.team,
		  {ws_name} AS workspace_name,
		  x.job_id,
		  x.job_name,
		  CASE WHEN x.met THEN CAST(1 AS DOUBLE) ELSE CAST(0 AS DOUBLE) END AS met_ratio
		FROM sla_compliance x
		{ws_join}
		WHERE x.deadline_met IS NOT NULL OR x.duration_met IS NOT NULL OR x.success_rate_met IS NOT NULL
	`, filterable{date: "period_date", team: true, workspace: true})
}

func (d *builder) jobsDaily() string {
	const name = "ds_jobs_daily"
	if d.hasDataset(name) {
		return name
	}
	return d.dataset(name, "Daily runs per job", `
		SELECT
		  x.run_date,
		  x.team,
		  {ws_name} AS workspace_name,
		  x.job_id,
		  x.job_name,
		  x.total_runs,
		  x.successful_runs,
		  x.failed_runs,
		  x.repairs,
		  x.p95_duration_seconds / 60 AS p95_duration_minutes,
		  x.cost_net
		FROM job_summary_daily x
		{ws_join}
	`, filterable{date: "run_date", team: true, workspace: true})
}

// perJobSelect and perJobFrom frame the ranked per-job tables over
// job_summary_daily x: one row per job over the last rankDays days.
const perJobSelect = `
		SELECT
		  x.team,
		  {ws_name} AS workspace_name,
		  x.job_id,
		  max_by(x.job_name, x.run_date) AS job_name,`

const perJobFrom = `
		FROM job_summary_daily x
		{ws_join}
		WHERE x.run_date > date_sub({today}, {rank_days})
		GROUP BY x.team, x.workspace_id, w.workspace_name, x.job_id`

// ---- executive_overview ----

func executiveOverview(d *builder) {
	money := d.money()
	month := d.dataset("ds_cost_month", "Cost this month and last month", `
		-- Month boundaries are local dates in the spec's timezone. The
		-- comparison period is the same days of last month.
		SELECT
		  x.team,
		  x.workspace_name,
		  sum(CASE WHEN x.usage_date >= m.month_start THEN x.cost_net ELSE 0 END) AS cost_this_month,
		  sum(CASE WHEN x.usage_date < m.month_start AND x.usage_date < date_add(m.prev_month_start, day(m.local_today))
		    THEN x.cost_net ELSE 0 END) AS cost_last_month_to_date,
		  sum(CASE WHEN x.usage_date < m.month_start THEN x.cost_net ELSE 0 END) AS cost_last_month
		FROM cost_by_workspace x
		CROSS JOIN (
		  SELECT local_today, month_start, CAST(date_trunc('MONTH', date_sub(month_start, 1)) AS DATE) AS prev_month_start
		  FROM (
		    SELECT local_today, CAST(date_trunc('MONTH', local_today) AS DATE) AS month_start
		    FROM (SELECT {today} AS local_today) t0
		  ) t1
		) m
		WHERE x.usage_date >= m.prev_month_start AND x.usage_date <= m.local_today
		GROUP BY x.team, x.workspace_name
	`, filterable{team: true, workspace: true})
	d.counter("cost_this_month", "Cost this month (to date)", month,
		axis{field: sum("cost_this_month"), display: "This month", format: money},
		&axis{field: sum("cost_last_month_to_date"), display: "Same days last month", format: money}, 2, 3)
	d.counter("cost_last_month", "Cost last month", month,
		axis{field: sum("cost_last_month"), display: "Last month", format: money}, nil, 2, 3)
	d.counter("sla_compliance", "SLA compliance", d.slaDaily(),
		axis{field: avg("met_ratio"), display: "SLA-days met", format: percent}, nil, 1, 3)
	rate := d.dataset("ds_failure_rate", "Failure rate "+rankWindow, `
		SELECT try_divide(sum(failed_runs), sum(total_runs)) AS failure_rate
		FROM job_summary_daily
		WHERE run_date > date_sub({today}, {rank_days})
	`, filterable{})
	d.counter("failure_rate", "Failure rate "+rankWindow, rate,
		axis{field: col("failure_rate"), display: "Failed runs", format: percent}, nil, 1, 3)
	d.kpiSection()

	d.section("Spend and budgets")
	budget := d.dataset("ds_budget", "Budget burn this month", `
		SELECT
		  team,
		  budget,
		  cost_net_to_date,
		  forecast_month_end,
		  pct_of_budget / 100 AS forecast_share_of_budget
		FROM budget_status
		WHERE month = CAST(date_trunc('MONTH', {today}) AS DATE)
		ORDER BY forecast_share_of_budget DESC, team
	`, filterable{team: true})
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
}

// ---- job_operations ----

func jobOperations(d *builder) {
	jobs := d.jobsDaily()
	d.counter("total_runs", "Finished runs", jobs, axis{field: sum("total_runs"), display: "Runs", format: count}, nil, 2, 3)
	d.counter("failed_runs", "Failed runs", jobs, axis{field: sum("failed_runs"), display: "Failed", format: count}, nil, 2, 3)
	d.counter("repairs", "Repairs", jobs, axis{field: sum("repairs"), display: "Repairs", format: count}, nil, 2, 3)

	d.section("Runs")
	status := d.dataset("ds_runs_by_status", "Daily runs by final status", `
		SELECT
		  x.run_date,
		  x.team,
		  {ws_name} AS workspace_name,
		  s.status,
		  CASE s.status
		    WHEN 'Succeeded' THEN x.successful_runs
		    WHEN 'Failed' THEN x.failed_runs
		    ELSE x.total_runs - x.successful_runs - x.failed_runs
		  END AS runs
		FROM job_summary_daily x
		{ws_join}
		CROSS JOIN (
		  SELECT 'Succeeded' AS status
		  UNION ALL SELECT 'Failed' AS status
		  UNION ALL SELECT 'Other' AS status
		) s
	`, filterable{date: "run_date", team: true, workspace: true})
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
	breaches := d.dataset("ds_sla_breaches", "SLAs breached on the latest day", `
		SELECT
		  x.sla_name,
		  x.severity,
		  x.team,
		  {ws_name} AS workspace_name,
		  x.job_id,
		  x.job_name,
		  x.breach_reason,
		  x.success_rate / 100 AS success_rate
		FROM sla_compliance x
		{ws_join}
		WHERE NOT x.met AND x.period_date = (SELECT max(period_date) FROM sla_compliance)
		ORDER BY CASE x.severity WHEN 'critical' THEN 1 WHEN 'warning' THEN 2 ELSE 3 END, x.sla_name, x.job_name
	`, filterable{team: true, workspace: true})
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
	slowest := d.dataset("ds_slowest_jobs", "Slowest jobs "+rankWindow, perJobSelect+`
		  sum(x.total_runs) AS runs,
		  try_divide(sum(x.avg_duration_seconds * x.total_runs), sum(x.total_runs)) / 60 AS avg_duration_minutes,
		  max(x.p95_duration_seconds) / 60 AS max_p95_duration_minutes`+perJobFrom+`
		ORDER BY max_p95_duration_minutes DESC, job_name
	`, filterable{team: true, workspace: true})
	d.table("slowest_jobs", "Slowest jobs "+rankWindow, slowest, []column{
		{"job_name", "Job", nil},
		{"team", "Team", nil},
		{"workspace_name", "Workspace", nil},
		{"runs", "Runs", nil},
		{"avg_duration_minutes", "Mean duration (min)", minutes},
		{"max_p95_duration_minutes", "Worst daily p95 (min)", minutes},
	}, 3, 8)
	repaired := d.dataset("ds_repaired_jobs", "Most-repaired jobs "+rankWindow, perJobSelect+`
		  sum(x.repairs) AS repairs,
		  sum(x.total_runs) AS runs,
		  sum(x.failed_runs) AS failed_runs`+perJobFrom+`
		HAVING sum(x.repairs) > 0
		ORDER BY repairs DESC, job_name
	`, filterable{team: true, workspace: true})
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

	d.section("Cost over time")
	week := axis{field: weekly("usage_date"), scale: ScaleTemporal, display: "Week"}
	net := axis{field: sum("cost_net"), scale: ScaleQuantitative, display: "Net cost", format: money}
	d.chart(Bar, "cost_by_team", "Cost by team", cost, week, net,
		&axis{field: col("team"), scale: ScaleCategorical, display: "Team"}, 3, 6)
	d.chart(Bar, "cost_by_workspace", "Cost by workspace", cost, week, net,
		&axis{field: col("workspace_name"), scale: ScaleCategorical, display: "Workspace"}, 3, 6)
	sku := d.dataset("ds_cost_sku", "Daily cost by SKU", `
		SELECT
		  x.usage_date,
		  x.team,
		  {ws_name} AS workspace_name,
		  x.sku_name,
		  sum(x.dbus) AS dbus,
		  sum(x.cost_net) AS cost_net
		FROM cost_allocated x
		{ws_join}
		GROUP BY x.usage_date, x.team, x.workspace_id, w.workspace_name, x.sku_name
	`, filterable{date: "usage_date", team: true, workspace: true})
	d.chart(Area, "cost_by_sku", "Cost by SKU", sku, week, net,
		&axis{field: col("sku_name"), scale: ScaleCategorical, display: "SKU"}, 6, 6)

	d.section("Jobs and shared clusters")
	top := d.dataset("ds_top_jobs_cost", "Top jobs by cost "+rankWindow, perJobSelect+`
		  sum(x.cost_net) AS cost_net,
		  sum(x.total_runs) AS runs,
		  try_divide(sum(x.cost_net), sum(x.total_runs)) AS cost_per_run`+perJobFrom+`
		ORDER BY cost_net DESC, job_name
	`, filterable{team: true, workspace: true})
	d.table("top_jobs_by_cost", "Top jobs by cost "+rankWindow, top, []column{
		{"job_name", "Job", nil},
		{"team", "Team", nil},
		{"workspace_name", "Workspace", nil},
		{"cost_net", "Net cost", money},
		{"runs", "Runs", nil},
		{"cost_per_run", "Cost per run", money},
	}, 3, 8)
	shared := d.dataset("ds_cost_apportioned", "All-purpose cluster cost apportioned to jobs", `
		-- Jobs on all-purpose clusters carry no job_id in the usage; their
		-- share of the cluster cost is apportioned by task run time.
		SELECT
		  x.usage_date,
		  x.team,
		  {ws_name} AS workspace_name,
		  x.job_id,
		  coalesce(j.job_name, x.job_id) AS job_name,
		  x.sku_name,
		  x.dbus,
		  x.cost_net
		FROM cost_allocated x
		{ws_join}
		LEFT JOIN jobs_current j ON j.workspace_id = x.workspace_id AND j.job_id = x.job_id
		WHERE x.allocation_method = 'apportioned'
		ORDER BY x.usage_date DESC, x.cost_net DESC
	`, filterable{date: "usage_date", team: true, workspace: true})
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
	clusters := d.dataset("ds_cluster_daily", "Daily cluster utilization and idle cost", `
		SELECT
		  x.usage_date,
		  x.team,
		  {ws_name} AS workspace_name,
		  x.cluster_id,
		  x.job_id,
		  x.avg_cpu_percent / 100 AS avg_cpu,
		  x.up_minutes / 60 AS up_hours,
		  x.idle_minutes / 60 AS idle_hours,
		  x.cost_net,
		  x.potential_savings
		FROM cluster_efficiency x
		{ws_join}
	`, filterable{date: "usage_date", team: true, workspace: true})
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
	idle := d.dataset("ds_idle_clusters", "Clusters with idle cost "+rankWindow, `
		SELECT
		  x.team,
		  {ws_name} AS workspace_name,
		  x.cluster_id,
		  sum(x.idle_minutes) / 60 AS idle_hours,
		  sum(x.up_minutes) / 60 AS up_hours,
		  try_divide(sum(x.avg_cpu_percent * x.up_minutes), sum(x.up_minutes)) / 100 AS avg_cpu,
		  sum(x.cost_net) AS cost_net,
		  sum(x.potential_savings) AS potential_savings
		FROM cluster_efficiency x
		{ws_join}
		WHERE x.usage_date > date_sub({today}, {rank_days})
		GROUP BY x.team, x.workspace_id, w.workspace_name, x.cluster_id
		HAVING sum(x.potential_savings) > 0
		ORDER BY potential_savings DESC, x.cluster_id
	`, filterable{team: true, workspace: true})
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
	failures := d.dataset("ds_failures_daily", "Daily failures by team and class", `
		SELECT run_date, team, failure_class, failures, affected_jobs, cost_net
		FROM failure_analysis
	`, filterable{date: "run_date", team: true})
	failing := d.dataset("ds_failing_jobs", "Top failing jobs "+rankWindow, perJobSelect+`
		  sum(x.failed_runs) AS failed_runs,
		  sum(x.total_runs) AS runs,
		  try_divide(sum(x.failed_runs), sum(x.total_runs)) AS failure_rate,
		  max(CASE WHEN x.failed_runs > 0 THEN x.run_date END) AS last_failure_date`+perJobFrom+`
		HAVING sum(x.failed_runs) > 0
		ORDER BY failed_runs DESC, job_name
	`, filterable{team: true, workspace: true})
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

	recent := d.dataset("ds_recent_failures", "Failed runs with error text", `
		-- Drill-down detail from silver: one row per failed run, newest first,
		-- with a link to the run page.
		SELECT
		  x.run_date,
		  x.end_time,
		  x.team,
		  {ws_name} AS workspace_name,
		  x.job_id,
		  x.job_name,
		  x.run_id,
		  x.failure_class,
		  x.result_state,
		  x.termination_code,
		  x.error_message,
		  x.cost_net,
		  w.workspace_url || '/jobs/' || x.job_id || '/runs/' || x.run_id AS run_url
		FROM failure_classified x
		{ws_join}
		ORDER BY x.end_time DESC, x.job_id, x.run_id
	`, filterable{date: "run_date", team: true, workspace: true})
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
	format, value := number, "x.value AS value"
	switch k.Format {
	case "percent":
		format = percent
	case "currency":
		format = d.money()
	case "duration": // seconds in kpi_values, shown in minutes
		format, value = minutes, "x.value / 60 AS value"
	}
	selects := []string{"x.breakdown", value}
	join, f := "", filterable{}
	category := axis{field: col("breakdown"), scale: ScaleCategorical}
	switch k.By {
	case "team":
		selects = append(selects, "x.breakdown AS team")
		category = axis{field: col("team"), scale: ScaleCategorical, display: "Team"}
		f.team = true
	case "workspace":
		selects = append(selects, "coalesce("+d.b.WorkspaceNameCase("x.breakdown")+", w.workspace_name, x.breakdown) AS workspace_name")
		join = "\nLEFT JOIN bronze_workspaces w ON w.workspace_id = x.breakdown"
		category = axis{field: col("workspace_name"), scale: ScaleCategorical, display: "Workspace"}
		f.workspace = true
	case "job":
		category.display = "Job id"
	}
	byName := strings.ToLower(category.display)
	name := model.SQLString(k.Name)
	ds := d.dataset("ds_kpi_"+key, "KPI: "+k.Title,
		"-- kpis."+strings.ReplaceAll(k.Name, "\n", " ")+": the latest value per breakdown.\n"+
			"SELECT "+strings.Join(selects, ", ")+"\n"+
			"FROM kpi_values x"+join+"\n"+
			"WHERE x.kpi_name = "+name+"\n"+
			"  AND x.period_end = (SELECT max(period_end) FROM kpi_values WHERE kpi_name = "+name+")\n", f)

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

package model

import (
	"strings"
	"sync"
)

// Column is one column of a declared table (system, bronze, silver, gold or
// collector): its Databricks type as declared, which the pipeline DDL and the
// data dictionary print, the same type parsed once at declaration, which the
// twin and the synthetic data read, and the comment.
type Column struct {
	Name    string
	Type    string // as declared, e.g. DOUBLE or map<string,string>
	Parsed  Type   // Type, parsed
	Comment string
}

// NewColumn declares a column; it panics on a malformed type (declarations
// are constants, and a test parses every one).
func NewColumn(name, typ, comment string) Column {
	typ = strings.TrimSpace(typ)
	return Column{Name: name, Type: typ, Parsed: MustParseType(typ), Comment: comment}
}

// PipelineTable is a silver or gold table of tables.md. The pipeline source
// header (column list with types and comments, CLUSTER BY, COMMENT) is
// generated from this definition; the query body is a template of the same
// name under templates/pipeline/<layer>/.
type PipelineTable struct {
	Name    string
	Layer   string // silver | gold
	Grain   string // what one row is
	Comment string
	Columns []Column
	// Keys order exported rows and identify a row; they are the grain.
	Keys []string
	// DateColumn is the date a row belongs to: KPI windows and the gold
	// retention filter use it. Empty for dimension tables.
	DateColumn string
	ClusterBy  []string
	// History is the period a gold fact's DateColumn starts (day, week or
	// month) when its closed periods are kept in a history table for
	// retention.aggregate_days (HistoryTables); empty for tables that are
	// detail, snapshots or dimensions and live only as long as silver.
	History string
}

// File is the pipeline source of the table, relative to the bundle root.
// The history tables share one Python source (HistorySource).
func (t PipelineTable) File() string {
	if t.Layer == LayerHistory {
		return HistorySource
	}
	return "src/pipeline/" + t.Layer + "/" + t.Name + ".sql"
}

// Template is the template of the table's query.
func (t PipelineTable) Template() string {
	return "templates/pipeline/" + t.Layer + "/" + t.Name + ".sql.tmpl"
}

// ColumnNames lists the column names in order.
func (t PipelineTable) ColumnNames() []string {
	out := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = c.Name
	}
	return out
}

// HasColumn reports whether the table has the named column.
func (t PipelineTable) HasColumn(name string) bool {
	for _, c := range t.Columns {
		if c.Name == name {
			return true
		}
	}
	return false
}

// c parses "name TYPE: comment".
func c(def string) Column {
	head, comment, _ := strings.Cut(def, ": ")
	name, typ, _ := strings.Cut(head, " ")
	return NewColumn(name, typ, comment)
}

func columns(defs ...string) []Column {
	out := make([]Column, len(defs))
	for i, d := range defs {
		out[i] = c(d)
	}
	return out
}

// Shared column definitions, so one column means the same everywhere.
var (
	colWorkspace    = "workspace_id STRING: Workspace id (as in the system tables)."
	colJob          = "job_id STRING: Job id; unique only within its workspace."
	colJobName      = "job_name STRING: Job name from its latest definition."
	colTeam         = "team STRING: Owning team from the spec's ordered team rules; never NULL (unmatched jobs get unassigned_team)."
	colCostList     = "cost_list DOUBLE: Cost at list price in pricing.currency (usage quantity times the USD list price in force at the usage hour, times pricing.exchange_rate)."
	colCostNet      = "cost_net DOUBLE: Cost after the spec's contract and per-SKU discounts, in pricing.currency."
	colDBUs         = "dbus DOUBLE: Usage quantity (DBUs for compute), all record types summed."
	colSLAName      = "sla_name STRING: SLA name from the spec."
	colFailureClass = "failure_class STRING: Failure class name."

	colAllocationMethod = "allocation_method STRING: How the usage was attributed: direct (usage_metadata.job_id: jobs compute), serverless (usage_metadata.job_run_id on serverless usage), " +
		"pipeline (dlt_update_id of an update a job's pipeline task started, via pipeline_update_timeline.trigger_details; split between the run's attempts by time), " +
		"apportioned (all-purpose cluster hour shared by task run time of the runs on it), warehouse (SQL-warehouse hour shared by task run time of the tasks whose compute_ids or compute.warehouse_id name it), " +
		"unattributed (no job accounts for it; see unattributed_reason)."
	colUnattributedReason = "unattributed_reason STRING: Why usage is unattributed: no_job_in_usage_metadata, all_purpose_no_task_in_hour, warehouse_no_task_in_hour, pipeline_update_not_started_by_job; NULL when attributed."
)

// PipelineTables lists every config, silver and gold table in dependency-free
// order (config first, then silver, then gold; within a layer by name). The
// twin derives the execution order from the SQL itself, not from this list.
func PipelineTables() []PipelineTable {
	return append(ConfigTables(), []PipelineTable{
		{Name: "billing_enriched", Layer: "silver", Grain: "one row per usage record",
			Comment:    "Billable usage with list price, net cost, job and team.",
			Keys:       []string{"workspace_id", "record_id"},
			DateColumn: "usage_date", ClusterBy: []string{"usage_date"},
			Columns: columns(colWorkspace,
				"record_id STRING: Usage record id.",
				"usage_date DATE: Local date (spec timezone) of the usage hour.",
				"usage_start_time TIMESTAMP: Start of the hourly usage window (UTC).",
				"usage_end_time TIMESTAMP: End of the usage window (UTC).",
				"sku_name STRING: Billing SKU.",
				"billing_origin_product STRING: Product that produced the usage (JOBS, ALL_PURPOSE, SQL, DLT, ...).",
				"record_type STRING: ORIGINAL, RETRACTION or RESTATEMENT; all are summed.",
				"job_id STRING: usage_metadata.job_id; NULL for jobs on all-purpose clusters.",
				"job_run_id STRING: usage_metadata.job_run_id.",
				"cluster_id STRING: usage_metadata.cluster_id (classic compute).",
				"warehouse_id STRING: usage_metadata.warehouse_id (SQL warehouses).",
				"dlt_pipeline_id STRING: usage_metadata.dlt_pipeline_id (pipelines).",
				"dlt_update_id STRING: usage_metadata.dlt_update_id (the pipeline update the usage belongs to).",
				colDBUs,
				"list_price DOUBLE: USD list price per unit in force at usage_start_time (the list_prices row with currency_code USD), times pricing.exchange_rate; NULL when no price row matches.",
				colCostList, colCostNet,
				"discount_percent DOUBLE: Discount applied: the longest matching sku_discounts prefix, else discount_percent.",
				colTeam,
				"is_serverless BOOLEAN: Serverless usage (product_features.is_serverless, else a SERVERLESS SKU).")},
		{Name: "cluster_job_hours", Layer: "silver", Grain: "one row per (cluster, hour, job)",
			Comment:    "Task run time per job on each cluster and clock hour: the basis for apportioning shared cluster cost.",
			Keys:       []string{"workspace_id", "cluster_id", "hour", "job_id"},
			DateColumn: "usage_date", ClusterBy: []string{"usage_date"},
			Columns: columns(colWorkspace,
				"cluster_id STRING: Cluster (or warehouse) id from the task's compute_ids.",
				"hour TIMESTAMP: Clock hour (UTC) of the task run slice.",
				"usage_date DATE: Local date (spec timezone) of the hour.",
				colJob,
				"task_seconds BIGINT: Task run time of the job on the cluster in that hour.")},
		{Name: "cluster_usage_hourly", Layer: "silver", Grain: "one row per (cluster, hour)",
			Comment:    "Node utilization per cluster and clock hour, with the job that used the cluster most that hour.",
			Keys:       []string{"workspace_id", "cluster_id", "hour"},
			DateColumn: "usage_date", ClusterBy: []string{"usage_date"},
			Columns: columns(colWorkspace,
				"cluster_id STRING: Cluster id.",
				"hour TIMESTAMP: Clock hour (UTC) the row covers.",
				"usage_date DATE: Local date (spec timezone) of the hour.",
				"nodes BIGINT: Distinct instances seen that hour (driver and workers).",
				"node_records BIGINT: node_timeline records in the hour (one per node per interval).",
				"avg_cpu_percent DOUBLE: Mean of cpu_user_percent + cpu_system_percent over the hour's node records.",
				"max_cpu_percent DOUBLE: Highest cpu_user_percent + cpu_system_percent of a node record.",
				"avg_mem_percent DOUBLE: Mean mem_used_percent.",
				"up_minutes DOUBLE: Minutes the cluster had at least one node record in the hour.",
				"idle_minutes DOUBLE: Minutes whose cluster-average CPU was below alerts.cluster_idle.max_cpu_percent.",
				"job_id STRING: Job with the most task run time on the cluster that hour; NULL if none.",
				colTeam)},
		{Name: "cost_allocated", Layer: "silver", Grain: "one row per (usage_date, workspace_id, team, job_id, sku_name, allocation_method, unattributed_reason)",
			Comment:    "Cost per job and team per day: usage_allocated summed, so every usage record is counted exactly once and the total equals the bill.",
			Keys:       []string{"usage_date", "workspace_id", "team", "job_id", "sku_name", "allocation_method", "unattributed_reason"},
			DateColumn: "usage_date", ClusterBy: []string{"usage_date"},
			Columns: columns(
				"usage_date DATE: Local date (spec timezone) of the usage.",
				colWorkspace, colTeam,
				"job_id STRING: Job the cost belongs to; NULL for unattributed usage.",
				"sku_name STRING: Billing SKU.",
				colDBUs, colCostList, colCostNet,
				colAllocationMethod, colUnattributedReason)},
		{Name: "failure_classified", Layer: "silver", Grain: "one row per failed job run",
			Comment:    "Failed job runs with their failure class from the spec's ordered rules (built-in rules when the spec has none).",
			Keys:       []string{"workspace_id", "job_id", "run_id"},
			DateColumn: "run_date", ClusterBy: []string{"run_date"},
			Columns: columns(colWorkspace, colJob,
				"run_id STRING: Job run id.",
				colJobName, colTeam,
				"end_time TIMESTAMP: When the run ended (UTC).",
				"run_date DATE: Local date (spec timezone) the run started.",
				"result_state STRING: Final result state (ERROR, FAILED or TIMED_OUT).",
				"termination_code STRING: Termination code of the final terminal row.",
				"error_message STRING: Error text from the Jobs API collector (first failed task); NULL when not collected.",
				"failure_class STRING: First matching failure class; other when none matches.",
				colCostList, colCostNet)},
		{Name: "job_run_attempts", Layer: "silver", Grain: "one row per (workspace_id, job_id, run_id, attempt_no)",
			Comment:    "Each attempt of a job run (the original, then one per repair) with its outcome and cost.",
			Keys:       []string{"workspace_id", "job_id", "run_id", "attempt_no"},
			DateColumn: "", ClusterBy: []string{"workspace_id", "job_id"},
			Columns: columns(colWorkspace, colJob,
				"run_id STRING: Job run id.",
				"attempt_no BIGINT: 1 for the original run, n+1 for the nth repair: the slices after the previous terminal row up to this attempt's terminal row.",
				"start_time TIMESTAMP: Start of the attempt's first slice (UTC).",
				"end_time TIMESTAMP: End of the attempt's last slice (UTC).",
				"duration_seconds BIGINT: Sum of the attempt's slice lengths.",
				"result_state STRING: The attempt's terminal result_state; NULL while it is in progress.",
				"is_failure BOOLEAN: result_state IN (ERROR, FAILED, TIMED_OUT).",
				"cost_list DOUBLE: List cost of the attempt (pricing.currency): the run's usage_allocated fragments of this attempt. A usage hour is split between attempts by the run's slice seconds in that hour, so a slice that ends on the hour never takes the next hour's usage.",
				"cost_net DOUBLE: cost_list after discounts.")},
		{Name: "job_runs_enriched", Layer: "silver", Grain: "one row per job run",
			Comment:    "Job runs with hourly slices collapsed: final state from the latest terminal row, repairs counted, duration summed, cost and team attached.",
			Keys:       []string{"workspace_id", "job_id", "run_id"},
			DateColumn: "run_date", ClusterBy: []string{"run_date"},
			Columns: columns(colWorkspace, colJob,
				"run_id STRING: Job run id.",
				colJobName, colTeam,
				"start_time TIMESTAMP: Start of the first slice (UTC).",
				"end_time TIMESTAMP: End of the last slice (UTC).",
				"run_date DATE: Local date (spec timezone) of start_time.",
				"duration_seconds BIGINT: Sum of the slices' lengths, repairs included.",
				"result_state STRING: Result of the latest terminal row; NULL while the run is in progress.",
				"is_success BOOLEAN: result_state = SUCCEEDED.",
				"is_failure BOOLEAN: result_state IN (ERROR, FAILED, TIMED_OUT).",
				"repair_count BIGINT: Terminal rows minus one.",
				"termination_code STRING: Termination code of the latest terminal row.",
				"trigger_type STRING: How the run was triggered.",
				"run_type STRING: JOB_RUN, SUBMIT_RUN or WORKFLOW_RUN.",
				"cost_list DOUBLE: The run's list cost in pricing.currency: every usage_allocated fragment of the run (its own usage and its share of all-purpose, pipeline and warehouse usage), all attempts.",
				"cost_net DOUBLE: cost_list after discounts.",
				"failed_attempts BIGINT: Attempts (original or repair) that ended ERROR, FAILED or TIMED_OUT, even if a later repair succeeded.",
				"failed_attempt_cost_list DOUBLE: List cost of the failed attempts (job_run_attempts): spend wasted on failures.",
				"failed_attempt_cost_net DOUBLE: Net cost of the failed attempts.")},
		{Name: "jobs_current", Layer: "silver", Grain: "one row per job (latest SCD2 version)",
			Comment:   "The latest definition of every job, with its owning team; deleted jobs are kept with is_deleted.",
			Keys:      []string{"workspace_id", "job_id"},
			ClusterBy: []string{"workspace_id", "job_id"},
			Columns: columns(colWorkspace, colJob, colJobName, colTeam,
				"tags MAP<STRING,STRING>: Job tags.",
				"run_as STRING: Who the job runs as, by name, in this order: run_as_user_name of the latest system.lakeflow.jobs row (empty on rows written before late 2025); else identity_metadata.run_as of the job's latest system.billing.usage record that has one (a user name or a service principal's application id); else the run_as principal id. teams[].match.run_as compares with it.",
				"creator STRING: creator_user_name, else the creator principal id.",
				"is_deleted BOOLEAN: The latest version has delete_time set.",
				"change_time TIMESTAMP: When the latest version was written.",
				"schedule_cron STRING: Quartz cron of the job's schedule trigger, if any.",
				"paused BOOLEAN: The schedule is paused.")},
		{Name: "task_metrics", Layer: "silver", Grain: "one row per task run",
			Comment:    "Task runs with hourly slices collapsed.",
			Keys:       []string{"workspace_id", "job_id", "job_run_id", "task_run_id"},
			DateColumn: "run_date", ClusterBy: []string{"run_date"},
			Columns: columns(colWorkspace, colJob,
				"job_run_id STRING: Parent job run id.",
				"task_run_id STRING: Task run id.",
				"task_key STRING: Task key, unique within the job.",
				colTeam,
				"start_time TIMESTAMP: Start of the first slice (UTC).",
				"end_time TIMESTAMP: End of the last slice (UTC).",
				"run_date DATE: Local date (spec timezone) of start_time.",
				"duration_seconds BIGINT: Sum of the slices' lengths.",
				"result_state STRING: Result of the latest terminal row.",
				"is_failure BOOLEAN: result_state IN (ERROR, FAILED, TIMED_OUT).",
				"compute_ids ARRAY<STRING>: Clusters and warehouses the task ran on.")},

		{Name: "usage_allocated", Layer: "silver", Grain: "one row per (workspace_id, record_id, job_id, run_id, attempt_no): a share of one usage record",
			Comment:    "Every usage record split into the job run attempts it is attributed to; each record's shares sum to exactly 1.",
			Keys:       []string{"workspace_id", "record_id", "job_id", "run_id", "attempt_no"},
			DateColumn: "usage_date", ClusterBy: []string{"usage_date"},
			Columns: columns(colWorkspace,
				"record_id STRING: Usage record id.",
				"usage_date DATE: Local date (spec timezone) of the usage hour.",
				"usage_start_time TIMESTAMP: Start of the hourly usage window (UTC).",
				"sku_name STRING: Billing SKU.",
				"record_type STRING: ORIGINAL, RETRACTION or RESTATEMENT.",
				"job_id STRING: Job the share belongs to; NULL when unattributed.",
				"run_id STRING: Job run the share belongs to; NULL when unattributed or the usage names a job but no run.",
				"attempt_no BIGINT: Attempt of the run (job_run_attempts.attempt_no); NULL when the run is not in the timeline.",
				colTeam, colAllocationMethod, colUnattributedReason,
				"share DOUBLE: Fraction of the record in this row; a record's shares sum to 1.",
				"dbus DOUBLE: The record's usage quantity times share.",
				"cost_list DOUBLE: The record's list cost times share (pricing.currency).",
				"cost_net DOUBLE: The record's net cost times share (pricing.currency).")},
		{Name: "budget_status", Layer: "gold", Grain: "one row per (month, team)",
			Comment:    "Monthly net cost per team against its budget, with a linear month-end forecast.",
			Keys:       []string{"month", "team"},
			DateColumn: "month", History: "month", ClusterBy: []string{"month"},
			Columns: columns(
				"month DATE: First day of the local month.",
				colTeam,
				"budget DOUBLE: The team's monthly_budget; NULL when it has none.",
				"cost_net_to_date DOUBLE: Net cost in the month so far.",
				"forecast_month_end DOUBLE: cost_net_to_date / elapsed days * days in month for the current month; the actual for past months.",
				"pct_of_budget DOUBLE: forecast_month_end as a percentage of budget.")},
		{Name: "cluster_efficiency", Layer: "gold", Grain: "one row per (workspace_id, cluster_id, usage_date)",
			Comment:    "Daily utilization, idle time and the cost of idle time per cluster.",
			Keys:       []string{"workspace_id", "cluster_id", "usage_date"},
			DateColumn: "usage_date", History: "day", ClusterBy: []string{"usage_date"},
			Columns: columns(colWorkspace,
				"cluster_id STRING: Cluster id.",
				"usage_date DATE: Local date (spec timezone).",
				colTeam,
				"job_id STRING: Job with the most task run time on the cluster that day; NULL if none.",
				"avg_cpu_percent DOUBLE: Mean CPU (user + system) over the day's node records.",
				"up_minutes DOUBLE: Minutes the cluster was up.",
				"idle_minutes DOUBLE: Minutes the cluster-average CPU was below alerts.cluster_idle.max_cpu_percent.",
				"is_all_purpose BOOLEAN: The cluster's latest system.compute.clusters row has cluster_source UI or API (an all-purpose cluster, which idles until it auto-terminates); FALSE for job and pipeline clusters, which end with their run, and for clusters without a row.",
				colCostNet,
				"potential_savings DOUBLE: cost_net * idle_minutes / up_minutes: what the idle time cost.")},
		{Name: "cost_by_job_sku", Layer: "gold", Grain: "one row per (usage_date, workspace_id, team, job_id, sku_name, allocation_method)",
			Comment:    "Daily cost per job and SKU as allocated (direct, or apportioned from all-purpose clusters), with the job's name.",
			Keys:       []string{"usage_date", "workspace_id", "team", "job_id", "sku_name", "allocation_method"},
			DateColumn: "usage_date", History: "day", ClusterBy: []string{"usage_date"},
			Columns: columns(
				"usage_date DATE: Local date (spec timezone) of the usage.",
				colWorkspace, colTeam,
				"job_id STRING: Job the cost belongs to; NULL for usage no job accounts for.",
				"job_name STRING: Job name from its latest definition, else the job id; NULL without a job.",
				"sku_name STRING: Billing SKU.",
				"allocation_method STRING: direct (the usage names the job, or no job) or apportioned (all-purpose cluster cost shared by task run time).",
				colDBUs, colCostList, colCostNet)},
		{Name: "cost_by_workspace", Layer: "gold", Grain: "one row per (usage_date, workspace_id, team)",
			Comment:    "Daily cost per workspace and team.",
			Keys:       []string{"usage_date", "workspace_id", "team"},
			DateColumn: "usage_date", History: "day", ClusterBy: []string{"usage_date"},
			Columns: columns(
				"usage_date DATE: Local date (spec timezone).",
				colWorkspace,
				"workspace_name STRING: Name from the spec, else system.access.workspaces_latest, else the id.",
				colTeam, colDBUs, colCostList, colCostNet)},
		{Name: "failure_analysis", Layer: "gold", Grain: "one row per (run_date, team, failure_class)",
			Comment:    "Daily failures per team and failure class.",
			Keys:       []string{"run_date", "team", "failure_class"},
			DateColumn: "run_date", History: "day", ClusterBy: []string{"run_date"},
			Columns: columns(
				"run_date DATE: Local date (spec timezone) the failed runs started.",
				colTeam,
				"failure_class STRING: Failure class.",
				"failures BIGINT: Failed runs.",
				"affected_jobs BIGINT: Distinct jobs with a failed run.",
				colCostNet)},
		{Name: "job_summary_daily", Layer: "gold", Grain: "one row per (run_date, workspace_id, team, job_id)",
			Comment:    "Daily run counts, success rate, duration and cost per job (finished runs).",
			Keys:       []string{"run_date", "workspace_id", "team", "job_id"},
			DateColumn: "run_date", History: "day", ClusterBy: []string{"run_date"},
			Columns: columns(
				"run_date DATE: Local date (spec timezone) the runs started.",
				colWorkspace, colTeam, colJob, colJobName,
				"total_runs BIGINT: Finished runs.",
				"successful_runs BIGINT: Runs whose final state is SUCCEEDED.",
				"failed_runs BIGINT: Runs whose final state is ERROR, FAILED or TIMED_OUT.",
				"success_rate DOUBLE: Percent (0-100) of finished runs that succeeded; every rate in dbmon is a percent.",
				"avg_duration_seconds DOUBLE: Mean run duration.",
				"p95_duration_seconds DOUBLE: 95th percentile of run duration (exact, interpolated).",
				"repairs BIGINT: Repairs of the day's runs.",
				colCostList, colCostNet,
				"failed_attempt_cost_net DOUBLE: Net cost of the runs' failed attempts, repaired runs included.")},
		{Name: "kpi_values", Layer: "gold", Grain: "one row per (kpi_name, period_end, breakdown)",
			Comment:    "Each spec KPI over its window ending today, per breakdown value.",
			Keys:       []string{"kpi_name", "period_end", "breakdown"},
			DateColumn: "period_end", ClusterBy: []string{"kpi_name"},
			Columns: columns(
				"kpi_name STRING: KPI name from the spec.",
				"period_end DATE: Last local date of the window (today).",
				"breakdown STRING: Value of the KPI's `by` column (team, workspace or job); 'all' without one.",
				"value DOUBLE: The KPI's value expression over the window.",
				"target_min DOUBLE: Lower bound of the target; NULL when none.",
				"target_max DOUBLE: Upper bound of the target; NULL when none.",
				"on_target BOOLEAN: value within the target; NULL without a target or a value.")},
		{Name: "monitor_footprint", Layer: "gold", Grain: "one row per (usage_date, component)",
			Comment:    "The monitor's own cost per local day and component: its pipeline and jobs measured from billing usage carrying the bundle's dbmon_component tag, the warehouse time of its alerts and dashboards estimated.",
			Keys:       []string{"usage_date", "component"},
			DateColumn: "usage_date", History: "day", ClusterBy: []string{"usage_date"},
			Columns: columns(
				"usage_date DATE: Local date (spec timezone) of the usage.",
				"component STRING: pipeline, refresh, collector, maintenance and report (the dbmon_component tag of the bundle's pipeline and jobs), alerts and dashboards (their SQL warehouse time).",
				"method STRING: measured (billing usage whose custom_tags carry dbmon_bundle = this bundle) or estimated (alerts and dashboards: queries a day x 5 s on a Small serverless SQL warehouse at 12 DBU/h; see the data dictionary).",
				"queries DOUBLE: Estimated warehouse queries that day (alert evaluations, or dashboard datasets x refreshes); NULL when measured.",
				colDBUs,
				"cost_list DOUBLE: Cost at list price in pricing.currency; an estimate prices its DBUs at the day's serverless SQL list price per DBU in billing usage, NULL on a day without serverless SQL usage.",
				"cost_net DOUBLE: cost_list after the spec's discounts (for an estimate, the day's serverless SQL net price per DBU).")},
		{Name: "monitor_freshness", Layer: "gold", Grain: "one row per (layer, table_name)",
			Comment:   "How far behind each system table the pipeline reads, the pipeline itself and each dated gold table are, as of the refresh; the monitor_health alert compares the sources and the pipeline with alerts.monitor_health.max_lag at its own evaluation time.",
			Keys:      []string{"layer", "table_name"},
			ClusterBy: []string{"layer"},
			Columns: columns(
				"layer STRING: source (a system table, read through its bronze copy), pipeline (the refresh that computed this table) or gold.",
				"table_name STRING: The system table's full name, the pipeline's name, or the gold table's name.",
				"event_column STRING: The column whose newest value is measured (for the pipeline, refresh).",
				"newest_event_time TIMESTAMP: Newest value of event_column (UTC); for the pipeline, when this refresh ran; NULL for gold tables and for a source without rows.",
				"newest_date DATE: Local date (spec timezone) of newest_event_time; for a gold table, the newest value of its date column.",
				"as_of TIMESTAMP: When the refresh that computed the row ran (UTC).",
				"lag_seconds BIGINT: as_of minus newest_event_time; NULL for gold tables and for a source without rows.",
				"lag_days INT: Local days from newest_date to the local date of as_of.",
				"max_lag_seconds BIGINT: Lag at which monitor_health fires: max_lag plus alerts.lateness for the sources the monitor's own runs keep fresh, max_lag for the pipeline; NULL where it does not judge (sources that change only when a job or cluster changes, gold tables).")},
		{Name: "recent_failures", Layer: "gold", Grain: "one row per failed job run of the last 30 local days",
			Comment:    "Failed runs of the last 30 days with failure class, error text and a link to the run: the failure drill-down.",
			Keys:       []string{"workspace_id", "job_id", "run_id"},
			DateColumn: "run_date", ClusterBy: []string{"run_date"},
			Columns: columns(colWorkspace, colJob,
				"run_id STRING: Job run id.",
				"run_date DATE: Local date (spec timezone) the run started.",
				"end_time TIMESTAMP: When the run ended (UTC).",
				colJobName, colTeam,
				"workspace_name STRING: Name from workspaces (the spec's, else the account's, else the id).",
				"failure_class STRING: First matching failure class; other when none matches.",
				"result_state STRING: Final result state (ERROR, FAILED or TIMED_OUT).",
				"termination_code STRING: Termination code of the final terminal row.",
				"error_message STRING: Error text from the Jobs API collector (first failed task); NULL when not collected.",
				colCostNet,
				"run_url STRING: The run page: workspace_url/jobs/<job_id>/runs/<run_id>; NULL when the workspace's URL is unknown.")},
		{Name: "sla_compliance", Layer: "gold", Grain: "one row per (sla_name, workspace_id, job_id, period_date)",
			Comment:    "Per SLA, job and local day: which of the SLA's checks held.",
			Keys:       []string{"sla_name", "workspace_id", "job_id", "period_date"},
			DateColumn: "period_date", History: "day", ClusterBy: []string{"period_date"},
			Columns: columns(
				"sla_name STRING: SLA name from the spec.",
				"severity STRING: critical, warning or info.",
				colWorkspace, colJob, colJobName, colTeam,
				"period_date DATE: Local date (spec timezone) checked.",
				"deadline_met BOOLEAN: A successful run ended by the deadline that day; FALSE once the deadline plus grace has passed and job data newer than the deadline has arrived without one; NULL when the SLA has no deadline, the day is not listed, or the miss cannot be told yet.",
				"duration_met BOOLEAN: Every run started that day stayed within max_duration: its first attempt (start to first terminal state; repairs not added), or its time so far while in progress; NULL without max_duration or runs.",
				"success_rate_met BOOLEAN: Success rate over window_days ending that day reached min_success_rate; NULL without the check or finished runs.",
				"success_rate DOUBLE: Success rate, percent (0-100), over the window.",
				"met BOOLEAN: No applicable check failed; NULL when no check applied that day (so KPIs over met skip the day).",
				"breach_epoch BIGINT: When the breach could first be known, in local wall-clock seconds since 1970-01-01 00:00: the deadline plus grace, the start of the run plus max_duration, or the end of the local day for the success rate (the earliest failed check); NULL when met.",
				"breach_reason STRING: Failed checks, comma-separated (deadline, max_duration, min_success_rate); NULL when met.")},
		{Name: "trend_metrics", Layer: "gold", Grain: "one row per (week_start, team)",
			Comment:    "Weekly runs, failures and cost per team with the previous week for comparison.",
			Keys:       []string{"week_start", "team"},
			DateColumn: "week_start", History: "week", ClusterBy: []string{"week_start"},
			Columns: columns(
				"week_start DATE: Monday of the local week.",
				colTeam,
				"runs BIGINT: Finished runs.",
				"failures BIGINT: Failed runs.",
				colCostNet,
				"cost_net_prev_week DOUBLE: cost_net of the week before.",
				"cost_change_pct DOUBLE: Week-over-week change of cost_net in percent; NULL without a previous week.",
				"failure_rate DOUBLE: failures / runs.",
				"failure_rate_prev_week DOUBLE: failure_rate of the week before.")},
		{Name: "workspaces", Layer: "gold", Grain: "one row per workspace",
			Comment:   "The monitored workspaces with the name the dashboards show and the URL run links start with.",
			Keys:      []string{"workspace_id"},
			ClusterBy: []string{"workspace_id"},
			Columns: columns(colWorkspace,
				"workspace_name STRING: Name from the spec, else system.access.workspaces_latest, else the id.",
				"workspace_url STRING: system.access.workspaces_latest.workspace_url without trailing slashes; NULL when unknown.")},
	}...)
}

// ConfigTables are the spec's rules as rows: small materialized views of
// inline VALUES that the silver and gold statements join. They are pipeline
// tables rather than VALUES repeated inside each statement because the team
// rules feed three statements and every rule should have one home that the
// data dictionary documents and an operator can query; and because a rule is
// a row, no statement grows with the number of teams, SLAs or failure
// classes. Multi-valued conditions are child rows: a rule holds for a subject
// when the distinct conditions its values satisfy number the rule's
// conditions.
func ConfigTables() []PipelineTable {
	return []PipelineTable{
		{Name: "config_failure_class_conditions", Layer: "config", Grain: "one row per value a failure class accepts",
			Comment: "The termination codes and result states of each failure class (failure_classes[].termination_codes; result states in the built-in list only).",
			Keys:    []string{"failure_class", "attribute", "value"},
			Columns: columns(colFailureClass,
				"attribute STRING: termination_code or result_state: the failed run's column the value is compared with.",
				"value STRING: A value the attribute may equal; any value of the class's list will do.",
				"condition_no INT: The class's condition the value satisfies: 1 is error_regex, 2 termination_code, 3 result_state.")},
		{Name: "config_failure_classes", Layer: "config", Grain: "one row per failure class",
			Comment: "The spec's failure classes in match order (dbmon's built-in list when the spec has none): a failed run gets the first class whose every condition holds, else other.",
			Keys:    []string{"failure_class"},
			Columns: columns(
				"class_order INT: Position of the class in the list (1 = first); the first class that matches wins.",
				colFailureClass,
				"error_regex STRING: RE2 regular expression on the collector's error text; NULL when the class has none.",
				"conditions INT: Conditions of the class that must all hold: error_regex, termination codes, result states (each when given).")},
		{Name: "config_sku_discounts", Layer: "config", Grain: "one row per pricing.sku_discounts entry",
			Comment: "Per-SKU discounts: a SKU takes the discount of its longest matching prefix, else the contract discount (pricing.discount_percent).",
			Keys:    []string{"prefix"},
			Columns: columns(
				"prefix STRING: SKU name prefix.",
				"discount_percent DOUBLE: Discount in percent for SKUs starting with prefix.")},
		{Name: "config_sla_days", Layer: "config", Grain: "one row per (SLA, weekday its deadline applies to)",
			Comment: "The weekdays each SLA's deadline applies to (slas[].days; every day when not given). SLAs without a deadline have no rows.",
			Keys:    []string{"sla_name", "day_of_week"},
			Columns: columns(colSLAName,
				"day_of_week INT: Local weekday as dayofweek numbers it: 1 = Sunday ... 7 = Saturday.")},
		{Name: "config_sla_selectors", Layer: "config", Grain: "one row per value an SLA's job selector accepts",
			Comment: "The values of each SLA's job selector (names, job_ids, tags or team); a name_regex selector is a column of config_slas.",
			Keys:    []string{"sla_name", "attribute", "tag_key", "value"},
			Columns: columns(colSLAName,
				"attribute STRING: The jobs_current column compared: job_name, job_id, tag (a key of tags) or team.",
				"tag_key STRING: The tag's key for a tag value; NULL otherwise.",
				"value STRING: The value the attribute must equal.",
				"condition_no INT: The SLA's selector condition the value satisfies: each tag is its own condition; names and job ids share one.")},
		{Name: "config_slas", Layer: "config", Grain: "one row per SLA",
			Comment: "The spec's SLAs: selector, checks and limits; NULL where the SLA does not define a check.",
			Keys:    []string{"sla_name"},
			Columns: columns(colSLAName,
				"severity STRING: critical, warning or info.",
				"selector STRING: The kind of job selector: names, name_regex, job_ids, tags or team.",
				"name_regex STRING: RE2 regular expression on the job name for a name_regex selector; NULL otherwise.",
				"conditions INT: Selector conditions a job must satisfy (config_sla_selectors.condition_no values, or 1 for name_regex).",
				"deadline_minutes INT: Deadline in minutes after local midnight; NULL without a deadline.",
				"max_duration_seconds BIGINT: max_duration in seconds; NULL without the check.",
				"min_success_rate DOUBLE: min_success_rate in percent; NULL without the check.",
				"window_days INT: Local days (ending on the checked day) the success rate is computed over.",
				"own_notify BOOLEAN: The SLA has its own notify and so its own alert; the sla_breach family's alerts cover the SLAs where this is false.",
				"grace_seconds INT: slas[].grace in seconds: how long after the deadline (and after job data newer than it) a missing run is a miss.")},
		{Name: "config_team_conditions", Layer: "config", Grain: "one row per value a team rule accepts",
			Comment: "The tags, run_as principals and workspaces of each team rule (teams[].match).",
			Keys:    []string{"team", "attribute", "tag_key", "value"},
			Columns: columns(
				"team STRING: Team whose rule this is.",
				"attribute STRING: tag (a key of the tags), run_as (the run_as or the creator) or workspace (the workspace id).",
				"tag_key STRING: The tag's key for a tag value; NULL otherwise.",
				"value STRING: The value the attribute must equal.",
				"condition_no INT: The rule's condition the value satisfies: each tag is its own condition; the run_as values share one, the workspaces another (job_name is condition 0).")},
		{Name: "config_teams", Layer: "config", Grain: "one row per team",
			Comment: "The spec's teams in match order: a job belongs to the first team whose every condition holds, else to unassigned_team.",
			Keys:    []string{"team"},
			Columns: columns(
				"rule_order INT: Position of the team in the spec (1 = first): the match order.",
				"team STRING: Team name.",
				"job_name STRING: RE2 regular expression the job name must match; NULL when the rule has none.",
				"conditions INT: Conditions of the rule that must all hold: one per tag, and one each for job_name, run_as and workspaces when given.",
				"monthly_budget DOUBLE: The team's monthly_budget; NULL when it has none.",
				"own_notify BOOLEAN: Whether the team has destinations of its own (teams[].notify); the findings of the others go to the alerts for teams without destinations.")},
		{Name: "config_workspaces", Layer: "config", Grain: "one row per spec workspace",
			Comment: "The spec's workspaces and their display names.",
			Keys:    []string{"workspace_id"},
			Columns: columns(colWorkspace,
				"workspace_name STRING: Name from the spec; NULL when the spec gives none (system.access.workspaces_latest then names it).")},
	}
}

// PipelineTableByName returns the named silver or gold table. Its slices
// are shared with every other caller: read them, do not change them.
func PipelineTableByName(name string) (PipelineTable, bool) {
	for _, t := range declaredPipelineTables() {
		if t.Name == name {
			return t, true
		}
	}
	return PipelineTable{}, false
}

// declaredPipelineTables is PipelineTables built once: each build parses
// every column's type, and the model and the KPI check look a table up
// once per KPI.
var declaredPipelineTables = sync.OnceValue(PipelineTables)

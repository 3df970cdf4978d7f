package model

import (
	"slices"
	"strings"
)

// BronzeTable is an incremental copy of one system table, filtered to the
// monitored workspaces and the detail retention window. The same definition
// drives the generated pipeline source and the docs.
type BronzeTable struct {
	Name   string // bronze_<source table>
	Source string // fully qualified system table
	// Streaming tables are read incrementally with skipChangeCommits, as the
	// system-tables docs require: the source deletes old rows, and a plain
	// stream fails on the first delete. Sources that do not support streaming
	// (list_prices, workspaces_latest) become materialized views.
	Streaming bool
	// TimeColumn is filtered to the retention window; empty for SCD2
	// dimensions, whose latest row must be kept however old it is.
	TimeColumn string
	// TimeIsDate says TimeColumn is a DATE (else a TIMESTAMP).
	TimeIsDate bool
	// HasWorkspace says the source has workspace_id (list_prices does not).
	HasWorkspace bool
	// EventColumn is the event time whose newest value monitor_freshness
	// reports; empty for a source without one (workspaces_latest).
	EventColumn string
	// Lateness names the alerts.lateness allowance ("jobs" or "billing")
	// with which monitor_health judges the source's age: the monitor's own
	// runs, updates and usage keep these sources fresh. Empty: the source
	// changes only when someone changes a job or a cluster, so its age says
	// nothing about the monitor.
	Lateness  string
	Keys      []string // must be non-null; rows without them are dropped
	ClusterBy []string
	Comment   string
}

// File is the pipeline source file of the table, relative to the bundle root.
func (t BronzeTable) File() string {
	if t.Streaming {
		return "src/pipeline/bronze/" + t.Name + ".py"
	}
	return "src/pipeline/bronze/" + t.Name + ".sql"
}

// BronzeTables lists every bronze table, sorted by name.
func BronzeTables() []BronzeTable {
	return []BronzeTable{
		{Name: "bronze_billing_usage", EventColumn: "usage_end_time", Lateness: "billing", Source: "system.billing.usage", Streaming: true,
			TimeColumn: "usage_date", TimeIsDate: true, HasWorkspace: true,
			Keys: []string{"record_id", "workspace_id"}, ClusterBy: []string{"usage_date"},
			Comment: "Hourly billable usage records (global: every region of the account)."},
		{Name: "bronze_clusters", EventColumn: "change_time", Source: "system.compute.clusters", Streaming: true,
			HasWorkspace: true, Keys: []string{"workspace_id", "cluster_id"}, ClusterBy: []string{"workspace_id", "cluster_id"},
			Comment: "Cluster configurations, one row per change (SCD2)."},
		{Name: "bronze_job_run_timeline", EventColumn: "period_end_time", Lateness: "jobs", Source: "system.lakeflow.job_run_timeline", Streaming: true,
			TimeColumn: "period_start_time", HasWorkspace: true,
			Keys: []string{"workspace_id", "job_id", "run_id"}, ClusterBy: []string{"period_start_time"},
			Comment: "Job run slices: runs longer than an hour span several rows; the terminal row carries result_state."},
		{Name: "bronze_job_task_run_timeline", EventColumn: "period_end_time", Lateness: "jobs", Source: "system.lakeflow.job_task_run_timeline", Streaming: true,
			TimeColumn: "period_start_time", HasWorkspace: true,
			Keys: []string{"workspace_id", "job_id", "run_id"}, ClusterBy: []string{"period_start_time"},
			Comment: "Task run slices; run_id is the task run, job_run_id its parent job run."},
		{Name: "bronze_job_tasks", EventColumn: "change_time", Source: "system.lakeflow.job_tasks", Streaming: true,
			HasWorkspace: true, Keys: []string{"workspace_id", "job_id", "task_key"}, ClusterBy: []string{"workspace_id", "job_id"},
			Comment: "Job task definitions, one row per change (SCD2)."},
		{Name: "bronze_jobs", EventColumn: "change_time", Source: "system.lakeflow.jobs", Streaming: true,
			HasWorkspace: true, Keys: []string{"workspace_id", "job_id"}, ClusterBy: []string{"workspace_id", "job_id"},
			Comment: "Job definitions, one row per change (SCD2); delete_time marks deleted jobs."},
		{Name: "bronze_list_prices", EventColumn: "price_start_time", Source: "system.billing.list_prices",
			Keys: []string{"sku_name", "cloud", "price_start_time"}, ClusterBy: []string{"sku_name"},
			Comment: "List prices per SKU and cloud over time; price_end_time NULL means current."},
		{Name: "bronze_node_timeline", EventColumn: "end_time", Source: "system.compute.node_timeline", Streaming: true,
			TimeColumn: "start_time", HasWorkspace: true,
			Keys: []string{"workspace_id", "cluster_id", "instance_id"}, ClusterBy: []string{"start_time"},
			Comment: "Per-minute utilization of classic compute nodes (90-day source retention)."},
		{Name: "bronze_pipeline_update_timeline", EventColumn: "period_end_time", Lateness: "jobs", Source: "system.lakeflow.pipeline_update_timeline", Streaming: true,
			TimeColumn: "period_start_time", HasWorkspace: true,
			Keys: []string{"workspace_id", "pipeline_id", "update_id"}, ClusterBy: []string{"period_start_time"},
			Comment: "Pipeline update slices (Public Preview, columns UNCONFIRMED): links pipeline usage (dlt_update_id) to the job run whose pipeline task started the update."},
		{Name: "bronze_workspaces", Source: "system.access.workspaces_latest", HasWorkspace: true,
			Keys: []string{"workspace_id"}, ClusterBy: []string{"workspace_id"},
			Comment: "Workspace names and URLs (updated in place, so read in batch)."},
	}
}

// CollectorTable is bronze_api_job_runs: one row per failed task run the
// Jobs API collector stored, keyed by (workspace_id, run_id, task_run_id).
// The system tables drive it (job_task_run_timeline's failed task runs that
// have no row here yet); the API fills what they lack: error text, the
// attempt, the run page and, for repaired runs, the repair.
var CollectorTable = PipelineTable{
	Name: "bronze_api_job_runs", Layer: "bronze", Grain: "one row per (workspace_id, run_id, task_run_id)",
	Comment: "Failed task runs from job_task_run_timeline, with their error text from the Jobs API (runs/get-output, runs/get for repairs), written by the collector.",
	Keys:    []string{"workspace_id", "run_id", "task_run_id"},
	Columns: columns(colWorkspace, colJob,
		"run_id STRING: Job run id.",
		"task_run_id STRING: Task run id.",
		"task_key STRING: Task key.",
		"attempt_number BIGINT: Retry attempt of the task run (0 = first), from runs/get-output; NULL when not fetched.",
		"start_time TIMESTAMP: Task run start (UTC).",
		"end_time TIMESTAMP: Task run end (UTC).",
		"result_state STRING: job_task_run_timeline result state (FAILED, ERROR, TIMED_OUT).",
		"termination_code STRING: job_task_run_timeline termination_code.",
		"termination_type STRING: job_task_run_timeline termination_type, else the API's termination_details.type.",
		"error STRING: runs/get-output error, else the termination message; NULL when not fetched.",
		"error_trace STRING: runs/get-output error_trace, truncated.",
		"run_page_url STRING: Link to the run.",
		"collected_at TIMESTAMP: When the collector wrote the row.",
		"collect_status STRING: ok, permission denied (HTTP 403: the collector's identity may not view the job) or not found (the API no longer has the run); NULL on rows written before dbmon recorded it. Rows are never fetched again: delete them to refetch.",
		"repair_attempt BIGINT: 0 for a task run of the original run, n for the n-th repair (runs/get repair_history); NULL when the system tables show no repair."),
}

// CollectorTableProperties are the Delta properties of the collector's
// table. Row tracking lets the materialized views that read it refresh
// incrementally; without it they recompute in full on every update
// (MATERIALIZED_VIEW_NOT_INCREMENTALIZABLE: ROW_TRACKING_NOT_ENABLED).
var CollectorTableProperties = []KV{{Key: "delta.enableRowTracking", Value: "true"}}

// RowTracking reports whether the collector's table is created with row
// tracking.
func (Collector) RowTracking() bool {
	for _, kv := range CollectorTableProperties {
		if kv.Key == "delta.enableRowTracking" {
			return kv.Value == "true"
		}
	}
	return false
}

// TableProperties is the TBLPROPERTIES clause of the collector table's
// CREATE TABLE.
func (Collector) TableProperties() string {
	var kvs []string
	for _, kv := range CollectorTableProperties {
		kvs = append(kvs, SQLString(kv.Key)+" = "+SQLString(kv.Value))
	}
	return "TBLPROPERTIES (" + strings.Join(kvs, ", ") + ")"
}

// SourceColumns are the columns of the system table the bronze table copies.
func (t BronzeTable) SourceColumns() []Column {
	st, _ := SystemTableByName(t.Source)
	return st.Columns
}

// Table is the collector's table.
func (Collector) Table() PipelineTable { return CollectorTable }

// MergeSQL upserts the rows of source (a table or view with the collector
// table's columns) into target, keyed by (workspace_id, run_id,
// task_run_id): a re-run or an overlapping window updates rows, never
// duplicates them. Columns are listed explicitly so the statement means the
// same on Databricks and on the twin.
func (Collector) MergeSQL(target, source string) string {
	t := CollectorTable
	var on, set, cols, vals []string
	for _, k := range t.Keys {
		on = append(on, "t."+k+" = s."+k)
	}
	for _, c := range t.Columns {
		cols = append(cols, c.Name)
		vals = append(vals, "s."+c.Name)
		if !slices.Contains(t.Keys, c.Name) {
			set = append(set, c.Name+" = s."+c.Name)
		}
	}
	return "MERGE INTO " + target + " AS t\nUSING " + source + " AS s\nON " + strings.Join(on, " AND ") +
		"\nWHEN MATCHED THEN UPDATE SET\n  " + strings.Join(set, ",\n  ") +
		"\nWHEN NOT MATCHED THEN INSERT (" + strings.Join(cols, ", ") + ")\n  VALUES (" + strings.Join(vals, ", ") + ")"
}

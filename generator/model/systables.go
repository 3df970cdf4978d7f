package model

import "strings"

// SystemTable is one Databricks system table; its columns are typed in
// Databricks SQL syntax exactly as DESCRIBE TABLE prints them
// (reference/system-tables.md §2).
type SystemTable struct {
	Schema  string // billing, lakeflow, compute, access
	Name    string
	Comment string
	Columns []Column
}

// FullName is the three-part name the pipeline reads, system.<schema>.<table>.
func (t SystemTable) FullName() string { return "system." + t.Schema + "." + t.Name }

// Column returns the named column, or false.
func (t SystemTable) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

func sysCols(spec string) []Column {
	// spec is "name type; name type; ..." with types that may contain
	// spaces only inside <...>; a comment follows "--" to the end of an entry.
	var out []Column
	for _, entry := range SplitTop(spec, ';') {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		comment := ""
		if i := strings.Index(entry, "--"); i >= 0 {
			comment = strings.TrimSpace(entry[i+2:])
			entry = strings.TrimSpace(entry[:i])
		}
		name, typ, ok := strings.Cut(entry, " ")
		if !ok {
			panic("twin: column without type: " + entry)
		}
		out = append(out, NewColumn(name, typ, comment))
	}
	return out
}

// SplitTop splits s at sep outside <...> and (...): the fields of a type
// such as struct<a:map<string,string>,b:int>.
func SplitTop(s string, sep rune) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '<', '(':
			depth++
		case '>', ')':
			depth--
		case sep:
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

const usageMetadata = "struct<cluster_id:string,job_id:string,warehouse_id:string,instance_pool_id:string," +
	"node_type:string,job_run_id:string,notebook_id:string,dlt_pipeline_id:string,endpoint_name:string," +
	"endpoint_id:string,dlt_update_id:string,dlt_maintenance_id:string,run_name:string,job_name:string," +
	"notebook_path:string,central_clean_room_id:string,source_region:string,destination_region:string," +
	"app_id:string,app_name:string,metastore_id:string,private_endpoint_name:string,storage_api_type:string," +
	"budget_policy_id:string,ai_runtime_pool_id:string,catalog_id:string,schema_id:string,usage_policy_id:string>"

const productFeatures = "struct<jobs_tier:string,sql_tier:string,dlt_tier:string,is_serverless:boolean," +
	"is_photon:boolean,serving_type:string,performance_target:string>"

const jobTrigger = "struct<file_arrival:struct<url:string,min_time_between_triggers_seconds:int," +
	"wait_after_last_change_seconds:int>,periodic:struct<interval:int,units:string>," +
	"continuous:struct<enabled:boolean>,table_update:struct<table_names:array<string>," +
	"min_time_between_triggers_seconds:bigint,wait_after_last_change_seconds:bigint,condition:string>," +
	"schedule:struct<quartz_cron_expression:string,timezone_id:string>>"

const healthRules = "array<struct<metric:string,operator:string,value:bigint>>"
const runCompute = "array<struct<type:string,cluster_id:string,warehouse_id:string>>"

// SystemTables declares every system table dbmon knows, with every column of
// reference/system-tables.md. The twin creates them, the synthetic generator
// fills them, and the data dictionary describes them from this one list.
var SystemTables = []SystemTable{
	{Schema: "lakeflow", Name: "jobs", Comment: "Jobs, one row per change (SCD2).", Columns: sysCols(`
		account_id string; workspace_id string; job_id string -- unique only within a workspace;
		name string; description string; creator_id string; tags map<string,string>;
		change_time timestamp -- orders the SCD2 versions;
		delete_time timestamp -- set when the job was deleted;
		run_as string; trigger ` + jobTrigger + `; trigger_type string; run_as_user_name string;
		creator_user_name string; paused boolean; timeout_seconds bigint; health_rules ` + healthRules + `;
		deployment struct<kind:string,metadata_file_path:string>; create_time timestamp`)},
	{Schema: "lakeflow", Name: "job_tasks", Comment: "Job tasks, one row per change (SCD2).", Columns: sysCols(`
		account_id string; workspace_id string; job_id string; task_key string;
		depends_on_keys array<string>; change_time timestamp; delete_time timestamp;
		timeout_seconds bigint; health_rules ` + healthRules)},
	{Schema: "lakeflow", Name: "job_run_timeline", Comment: "Job runs, sliced hourly; the terminal slice carries result_state.", Columns: sysCols(`
		account_id string; workspace_id string; job_id string; run_id string;
		period_start_time timestamp; period_end_time timestamp; trigger_type string; run_type string;
		run_name string; compute_ids array<string>; result_state string; termination_code string;
		job_parameters map<string,string>; source_task_run_id string; root_task_run_id string;
		compute ` + runCompute + `; termination_type string; setup_duration_seconds bigint;
		queue_duration_seconds bigint; run_duration_seconds bigint; cleanup_duration_seconds bigint;
		execution_duration_seconds bigint`)},
	{Schema: "lakeflow", Name: "job_task_run_timeline", Comment: "Task runs, sliced hourly; run_id is the task run.", Columns: sysCols(`
		account_id string; workspace_id string; job_id string; run_id string -- the task run;
		job_run_id string; parent_run_id string; period_start_time timestamp; period_end_time timestamp;
		task_key string; compute_ids array<string>; result_state string; termination_code string;
		compute ` + runCompute + `; termination_type string; task_parameters map<string,string>;
		setup_duration_seconds bigint; cleanup_duration_seconds bigint; execution_duration_seconds bigint`)},
	{Schema: "lakeflow", Name: "pipelines", Comment: "Pipelines, one row per change (SCD2; columns UNCONFIRMED).", Columns: sysCols(`
		account_id string; workspace_id string; pipeline_id string; pipeline_type string; name string;
		created_by string; run_as string; tags map<string,string>;
		settings struct<photon:boolean,development:boolean,continuous:boolean,serverless:boolean,edition:string,channel:string>;
		configuration map<string,string>; change_time timestamp; delete_time timestamp`)},
	{Schema: "lakeflow", Name: "pipeline_update_timeline", Comment: "Pipeline updates, sliced (columns UNCONFIRMED).", Columns: sysCols(`
		account_id string; workspace_id string; pipeline_id string; update_id string; update_type string;
		request_id string; run_as_user_name string; trigger_type string;
		trigger_details struct<job_task:struct<job_id:string,job_run_id:string>> -- UNCONFIRMED shape: the job run whose pipeline task started the update;
		result_state string; period_start_time timestamp; period_end_time timestamp`)},
	{Schema: "billing", Name: "usage", Comment: "Billable usage, hourly aggregates, every region of the account.", Columns: sysCols(`
		account_id string; workspace_id string; record_id string; sku_name string; cloud string;
		usage_start_time timestamp; usage_end_time timestamp; usage_date date; custom_tags map<string,string>;
		usage_unit string; usage_quantity decimal(38,18) -- units, not money;
		usage_metadata ` + usageMetadata + `;
		identity_metadata struct<run_as:string,created_by:string,owned_by:string,run_by:string>;
		record_type string -- ORIGINAL, RETRACTION or RESTATEMENT;
		ingestion_date date; billing_origin_product string; product_features ` + productFeatures + `;
		usage_type string`)},
	{Schema: "billing", Name: "list_prices", Comment: "List prices per SKU and cloud; price_end_time NULL is current.", Columns: sysCols(`
		account_id string; price_start_time timestamp; price_end_time timestamp; sku_name string; cloud string;
		currency_code string; usage_unit string;
		pricing struct<default:decimal(38,18),promotional:struct<default:decimal(38,18)>,effective_list:struct<default:decimal(38,18)>>`)},
	{Schema: "compute", Name: "clusters", Comment: "Cluster configurations, one row per change (SCD2).", Columns: sysCols(`
		account_id string; workspace_id string; cluster_id string; cluster_name string; owned_by string;
		create_time timestamp; delete_time timestamp; driver_node_type string; worker_node_type string;
		worker_count bigint; min_autoscale_workers bigint; max_autoscale_workers bigint;
		auto_termination_minutes bigint; enable_elastic_disk boolean; tags map<string,string>;
		cluster_source string -- UI, API, JOB, ...;
		init_scripts array<string>; aws_attributes struct<availability:string,zone_id:string>;
		azure_attributes struct<availability:string>; gcp_attributes struct<availability:string>;
		driver_instance_pool_id string; worker_instance_pool_id string; dbr_version string;
		change_time timestamp; change_date date; data_security_mode string; policy_id string`)},
	{Schema: "compute", Name: "node_timeline", Comment: "Per-minute utilization of classic compute nodes.", Columns: sysCols(`
		account_id string; workspace_id string; cluster_id string; instance_id string;
		start_time timestamp; end_time timestamp; driver boolean; cpu_user_percent double;
		cpu_system_percent double; cpu_wait_percent double; mem_used_percent double; mem_swap_percent double;
		network_sent_bytes bigint; network_received_bytes bigint;
		disk_free_bytes_per_mount_point map<string,bigint>; node_type string`)},
	{Schema: "compute", Name: "node_types", Comment: "Node types and their sizes.", Columns: sysCols(`
		account_id string; node_type string; core_count double; memory_mb bigint; gpu_count bigint`)},
	{Schema: "compute", Name: "warehouse_events", Comment: "SQL warehouse scaling events.", Columns: sysCols(`
		account_id string; workspace_id string; warehouse_id string; event_type string; cluster_count int;
		event_time timestamp`)},
	{Schema: "compute", Name: "warehouses", Comment: "SQL warehouses, one row per change (SCD2).", Columns: sysCols(`
		warehouse_id string; workspace_id string; account_id string; warehouse_name string;
		warehouse_type string; warehouse_channel string; warehouse_size string; min_clusters int;
		max_clusters int; auto_stop_minutes int; tags map<string,string>; change_time timestamp;
		delete_time timestamp`)},
	{Schema: "access", Name: "audit", Comment: "Audit log events.", Columns: sysCols(`
		account_id string; workspace_id string; version string; event_time timestamp; event_date date;
		source_ip_address string; user_agent string; session_id string;
		user_identity struct<email:string,subject_name:string>; service_name string; action_name string;
		request_id string; request_params map<string,string>;
		response struct<status_code:int,error_message:string,result:string>; audit_level string;
		event_id string;
		identity_metadata struct<run_by:string,run_as:string,acting_resource:string,run_by_display_name:string,run_as_display_name:string>`)},
	{Schema: "access", Name: "workspaces_latest", Comment: "Workspaces, updated in place.", Columns: sysCols(`
		account_id string; workspace_id string; workspace_name string; workspace_url string;
		create_time timestamp; status string`)},
}

// SystemTable returns the declared table with the full name system.<schema>.<table>.
func SystemTableByName(fullName string) (SystemTable, bool) {
	for _, t := range SystemTables {
		if t.FullName() == fullName {
			return t, true
		}
	}
	return SystemTable{}, false
}

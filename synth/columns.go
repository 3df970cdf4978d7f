package synth

import (
	"fmt"
	"reflect"

	"github.com/dbmon/dbmon/generator/model"
)

// Rows are built by column name. Each table the generator writes has a
// struct of column positions whose fields name their column in a `col` tag;
// bind resolves every name against the table's declaration once, at package
// init, and panics on a name the declaration lacks. A row is then a slice in
// declaration order that code fills as r[jobCol.Name] = v, so reordering or
// extending a declaration never shifts a value into the wrong column, and a
// renamed column fails every test at init instead of loading silently wrong.
// Columns no field names stay NULL.

// Sink receives a dataset.
//
// Append adds one row to a declared system table (model.SystemTables) or to
// a plan table (Plans) made by Plan: one value per declared column, in
// declaration order, typed by the synth row convention (string, int64,
// int32, float64 for double and decimal, bool, time.Time in UTC, maps,
// []string, []map[string]any for arrays of structs, map[string]any for
// structs). Rows may share map and slice values (a job's tags, say), so a
// Sink must not modify them.
//
// The highest-volume table, node_timeline, is not appended row by row: the
// generator appends compact plan rows (one per cluster session) and then
// asks the sink to Expand them with a query the sink's engine runs, which
// is what makes a 1,000-job preview take seconds rather than minutes.
type Sink interface {
	Append(table string, row []any) error
	// Plan creates an empty plan table with the declared columns (types
	// in Databricks syntax); it lives until the sink is closed.
	Plan(name string, columns []model.Column) error
	// Expand inserts into the system table the rows of query (a DuckDB
	// SELECT over plan tables only, naming every output column after a
	// column of table), after every row appended so far is visible.
	Expand(table, query string) error
}

// PlanTable declares a plan table: scratch rows a Sink expands into a
// system table. Column types are Databricks types, as in model.SystemTables.
type PlanTable struct {
	Name    string
	Columns []model.Column
}

// columnsOf returns the declared columns of a system or plan table.
func columnsOf(table string) ([]model.Column, bool) {
	if t, ok := model.SystemTableByName(table); ok {
		return t.Columns, true
	}
	for _, p := range Plans {
		if p.Name == table {
			return p.Columns, true
		}
	}
	return nil, false
}

// bind fills the int fields of *positions with the declaration positions of
// the columns their `col` tags name, and returns the table's width.
func bind(table string, positions any) int {
	cols, ok := columnsOf(table)
	if !ok {
		panic("synth: no declared table " + table)
	}
	v := reflect.ValueOf(positions).Elem()
	seen := map[string]bool{}
	for i := range v.NumField() {
		name := v.Type().Field(i).Tag.Get("col")
		pos := -1
		for k, c := range cols {
			if c.Name == name {
				pos = k
			}
		}
		if pos < 0 || seen[name] {
			panic(fmt.Sprintf("synth: %s has no column %q (or it is bound twice)", table, name))
		}
		seen[name] = true
		v.Field(i).SetInt(int64(pos))
	}
	return len(cols)
}

// Column positions of the tables the generator writes (see bind).
var (
	workspaceCol struct {
		AccountID   int `col:"account_id"`
		WorkspaceID int `col:"workspace_id"`
		Name        int `col:"workspace_name"`
		URL         int `col:"workspace_url"`
		CreateTime  int `col:"create_time"`
		Status      int `col:"status"`
	}
	priceCol struct {
		AccountID int `col:"account_id"`
		Start     int `col:"price_start_time"`
		End       int `col:"price_end_time"`
		SKU       int `col:"sku_name"`
		Cloud     int `col:"cloud"`
		Currency  int `col:"currency_code"`
		Unit      int `col:"usage_unit"`
		Pricing   int `col:"pricing"`
	}
	jobCol struct {
		AccountID      int `col:"account_id"`
		WorkspaceID    int `col:"workspace_id"`
		JobID          int `col:"job_id"`
		Name           int `col:"name"`
		Description    int `col:"description"`
		CreatorID      int `col:"creator_id"`
		Tags           int `col:"tags"`
		ChangeTime     int `col:"change_time"`
		DeleteTime     int `col:"delete_time"`
		RunAs          int `col:"run_as"`
		Trigger        int `col:"trigger"`
		TriggerType    int `col:"trigger_type"`
		RunAsUserName  int `col:"run_as_user_name"`
		CreatorName    int `col:"creator_user_name"`
		Paused         int `col:"paused"`
		TimeoutSeconds int `col:"timeout_seconds"`
		HealthRules    int `col:"health_rules"`
		Deployment     int `col:"deployment"`
		CreateTime     int `col:"create_time"`
	}
	taskCol struct {
		AccountID      int `col:"account_id"`
		WorkspaceID    int `col:"workspace_id"`
		JobID          int `col:"job_id"`
		TaskKey        int `col:"task_key"`
		DependsOn      int `col:"depends_on_keys"`
		ChangeTime     int `col:"change_time"`
		DeleteTime     int `col:"delete_time"`
		TimeoutSeconds int `col:"timeout_seconds"`
	}
	runCol struct {
		AccountID       int `col:"account_id"`
		WorkspaceID     int `col:"workspace_id"`
		JobID           int `col:"job_id"`
		RunID           int `col:"run_id"`
		Start           int `col:"period_start_time"`
		End             int `col:"period_end_time"`
		TriggerType     int `col:"trigger_type"`
		RunType         int `col:"run_type"`
		RunName         int `col:"run_name"`
		ComputeIDs      int `col:"compute_ids"`
		ResultState     int `col:"result_state"`
		TerminationCode int `col:"termination_code"`
		Parameters      int `col:"job_parameters"`
		Compute         int `col:"compute"`
		TerminationType int `col:"termination_type"`
		Setup           int `col:"setup_duration_seconds"`
		Queue           int `col:"queue_duration_seconds"`
		Run             int `col:"run_duration_seconds"`
		Cleanup         int `col:"cleanup_duration_seconds"`
		Execution       int `col:"execution_duration_seconds"`
	}
	taskRunCol struct {
		AccountID       int `col:"account_id"`
		WorkspaceID     int `col:"workspace_id"`
		JobID           int `col:"job_id"`
		RunID           int `col:"run_id"`
		JobRunID        int `col:"job_run_id"`
		ParentRunID     int `col:"parent_run_id"`
		Start           int `col:"period_start_time"`
		End             int `col:"period_end_time"`
		TaskKey         int `col:"task_key"`
		ComputeIDs      int `col:"compute_ids"`
		ResultState     int `col:"result_state"`
		TerminationCode int `col:"termination_code"`
		Compute         int `col:"compute"`
		TerminationType int `col:"termination_type"`
		Setup           int `col:"setup_duration_seconds"`
		Cleanup         int `col:"cleanup_duration_seconds"`
		Execution       int `col:"execution_duration_seconds"`
	}
	usageCol struct {
		AccountID  int `col:"account_id"`
		Workspace  int `col:"workspace_id"`
		RecordID   int `col:"record_id"`
		SKU        int `col:"sku_name"`
		Cloud      int `col:"cloud"`
		Start      int `col:"usage_start_time"`
		End        int `col:"usage_end_time"`
		Date       int `col:"usage_date"`
		Tags       int `col:"custom_tags"`
		Unit       int `col:"usage_unit"`
		Quantity   int `col:"usage_quantity"`
		Metadata   int `col:"usage_metadata"`
		Identity   int `col:"identity_metadata"`
		RecordType int `col:"record_type"`
		Ingestion  int `col:"ingestion_date"`
		Origin     int `col:"billing_origin_product"`
		Features   int `col:"product_features"`
		UsageType  int `col:"usage_type"`
	}
	clusterCol struct {
		AccountID    int `col:"account_id"`
		WorkspaceID  int `col:"workspace_id"`
		ClusterID    int `col:"cluster_id"`
		Name         int `col:"cluster_name"`
		Owner        int `col:"owned_by"`
		CreateTime   int `col:"create_time"`
		DriverType   int `col:"driver_node_type"`
		WorkerType   int `col:"worker_node_type"`
		Workers      int `col:"worker_count"`
		AutoTerm     int `col:"auto_termination_minutes"`
		ElasticDisk  int `col:"enable_elastic_disk"`
		Tags         int `col:"tags"`
		Source       int `col:"cluster_source"`
		Azure        int `col:"azure_attributes"`
		DBR          int `col:"dbr_version"`
		ChangeTime   int `col:"change_time"`
		ChangeDate   int `col:"change_date"`
		SecurityMode int `col:"data_security_mode"`
	}
	sessionCol struct {
		SID         int `col:"sid"`
		Seed        int `col:"seed"`
		AccountID   int `col:"account_id"`
		WorkspaceID int `col:"workspace_id"`
		ClusterID   int `col:"cluster_id"`
		Session     int `col:"session"`
		Nodes       int `col:"nodes"`
		NodeType    int `col:"node_type"`
		UpStart     int `col:"up_start"`
		UpEnd       int `col:"up_end"`
		FirstBucket int `col:"first_bucket"`
		Grain       int `col:"grain_seconds"`
		AllBusy     int `col:"all_busy"`
	}
	busyCol struct {
		SID   int `col:"sid"`
		Start int `col:"busy_start"`
		End   int `col:"busy_end"`
	}
)

// width is the column count of each table the generator writes.
var width = map[string]int{}

func init() {
	for table, positions := range map[string]any{
		tWorkspaces: &workspaceCol, tPrices: &priceCol, tJobs: &jobCol, tJobTasks: &taskCol,
		tRunTimeline: &runCol, tTaskTimline: &taskRunCol, tUsage: &usageCol, tClusters: &clusterCol,
		tNodeSessions: &sessionCol, tNodeBusy: &busyCol,
	} {
		width[table] = bind(table, positions)
	}
}

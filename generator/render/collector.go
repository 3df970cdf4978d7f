package render

import (
	"github.com/dbmon/dbmon/generator/model"
)

const collectorQueryTemplate = "templates/collector/failed_task_runs.sql.tmpl"

// CollectorSchemaPlaceholder stands for the monitoring schema
// ("`catalog`.`schema`.") in the collector's query; the collector replaces
// it at run time, as it does the MERGE's target.
const CollectorSchemaPlaceholder = "__DBMON_SCHEMA__."

// collectorQueryData is what collectorQueryTemplate sees.
type collectorQueryData struct {
	Prefix string // prepended to every table name
	Table  string // the collector's table
}

// CollectorQuery is the Jobs API collector's work list: the failed task
// runs of job_task_run_timeline (through bronze) that the collector's table
// has no row for. Its parameters are :workspace_id (STRING) and
// :window_start (TIMESTAMP). The collector embeds it with
// CollectorSchemaPlaceholder as prefix; the twin runs it with none.
func CollectorQuery(prefix string) (string, error) {
	return executeSQL(collectorQueryTemplate, collectorQueryData{Prefix: prefix, Table: model.CollectorTable.Name})
}

// collectorFiles makes the collector, with its query, when it is enabled.
func collectorFiles(b *model.Bundle) ([]Instance, error) {
	if !b.Collector.Enabled {
		return nil, nil
	}
	query, err := CollectorQuery(CollectorSchemaPlaceholder)
	if err != nil {
		return nil, err
	}
	return []Instance{{Path: "src/collector/jobs_api_collector.py", Data: collectorData{Bundle: b, Query: query}}}, nil
}

// collectorData is what the collector's template sees.
type collectorData struct {
	*model.Bundle
	Query string
}

package render

import (
	"strings"

	"github.com/dbmon/dbmon/generator/model"
)

// ReconcileQueries are the two queries a reconciliation runs beside dbmon's
// own tables: the bill straight from bronze (usage_cost) and Databricks'
// published job-cost query (official_job_cost), keyed by template name.
// prefix qualifies table names as in Findings. Like finding queries they run
// outside the pipeline, so its configuration references are resolved here.
func ReconcileQueries(b *model.Bundle, prefix string) (map[string]string, error) {
	out := map[string]string{}
	for _, name := range []string{"usage_cost", "official_job_cost"} {
		sql, err := executeSQL("templates/reconcile/"+name+".sql.tmpl", findingData{Bundle: b, Prefix: prefix})
		if err != nil {
			return nil, err
		}
		for _, kv := range b.Pipeline.Configuration {
			sql = strings.ReplaceAll(sql, "${"+kv.Key+"}", kv.Value)
		}
		out[name] = sql
	}
	return out, nil
}

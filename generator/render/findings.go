package render

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/dbmon/dbmon"
	"github.com/dbmon/dbmon/generator/model"
)

// FindingFamilies are the detectors over the gold and silver tables, in the
// order findings are reported. Each yields rows of the same shape: family,
// team, workspace_id, job_id, job_name, subject, value, threshold, detail.
var FindingFamilies = []string{"job_failure", "sla_breach", "cost_anomaly", "duration_anomaly", "cluster_idle", "budget", "kpi"}

// Query is one rendered finding query.
type Query struct {
	Family string
	SQL    string
}

type findingData struct {
	Bundle *model.Bundle
	// Prefix qualifies table names: empty inside the pipeline's schema (the
	// twin), "${var.catalog}.${var.schema}." for a query run elsewhere.
	Prefix string
}

// Findings renders the finding query of every family.
func Findings(b *model.Bundle, prefix string) ([]Query, error) {
	var out []Query
	for _, f := range FindingFamilies {
		tmpl, err := parse(dbmon.Templates, "templates/findings/"+f+".sql.tmpl")
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, findingData{Bundle: b, Prefix: prefix}); err != nil {
			return nil, fmt.Errorf("execute finding %s: %w", f, err)
		}
		// A finding query runs outside the pipeline, where nothing substitutes
		// the pipeline configuration, so its references are resolved here.
		sql := string(normalize(buf.Bytes()))
		for _, kv := range b.Pipeline.Configuration {
			sql = strings.ReplaceAll(sql, "${"+kv.Key+"}", kv.Value)
		}
		out = append(out, Query{Family: f, SQL: sql})
	}
	return out, nil
}

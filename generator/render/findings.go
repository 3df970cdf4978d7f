package render

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/dbmon/dbmon"
	"github.com/dbmon/dbmon/generator/model"
)

// findingFamilies are the detectors over the gold and silver tables, in the
// order findings are reported: the alert families of the model, then KPI
// targets. Each yields rows of the same shape: family, team, workspace_id,
// job_id, job_name, subject, value, threshold, detail.
func findingFamilies() []string {
	var out []string
	for _, f := range model.Families {
		out = append(out, f.Name)
	}
	return append(out, "kpi")
}

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
	for _, f := range findingFamilies() {
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

// AlertQueries are the query_text of every alert of the bundle, in the
// order of b.Alerts: its family's finding query, limited to the alert's
// teams, SLA or KPI. prefix qualifies table names as in Findings, which
// render once for all alerts.
func AlertQueries(b *model.Bundle, prefix string) ([]string, error) {
	queries, err := Findings(b, prefix)
	if err != nil {
		return nil, err
	}
	byFamily := map[string]string{}
	for _, q := range queries {
		byFamily[q.Family] = q.SQL
	}
	out := make([]string, len(b.Alerts))
	for i, a := range b.Alerts {
		finding, ok := byFamily[a.Family]
		if !ok {
			return nil, fmt.Errorf("alert %s: no finding query for family %s", a.Key, a.Family)
		}
		out[i] = alertQuery(a, finding)
	}
	return out, nil
}

// alertQuery limits a finding query to the alert's scope.
func alertQuery(a model.Alert, finding string) string {
	var where []string
	switch {
	case len(a.Teams) > 0:
		where = append(where, "team IN "+model.SQLList(a.Teams))
	case len(a.ExcludeTeams) > 0:
		where = append(where, "coalesce(team, '') NOT IN "+model.SQLList(a.ExcludeTeams))
	}
	if a.SLA != "" {
		where = append(where, "subject = "+model.SQLString(a.SLA))
	}
	if a.KPI != "" {
		where = append(where, fmt.Sprintf("left(subject, %d) = %s", len(a.KPI)+1, model.SQLString(a.KPI+":")))
	}
	var sb strings.Builder
	sb.WriteString("SELECT family, team, workspace_id, job_id, job_name, subject, value, threshold, detail\nFROM (\n")
	for _, line := range strings.Split(strings.TrimRight(finding, "\n"), "\n") {
		if line != "" {
			line = "  " + line
		}
		sb.WriteString(line + "\n")
	}
	sb.WriteString(") finding")
	if len(where) > 0 {
		sb.WriteString("\nWHERE " + strings.Join(where, "\n  AND "))
	}
	return sb.String() + "\n"
}

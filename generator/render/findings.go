package render

import (
	"bytes"
	"fmt"
	"strings"

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
	// Windowed limits an event family to the findings new in one alert
	// evaluation (model.Window); without it the query lists every recent
	// finding (the last 24 hours, or 7 days for SLAs), as a preview shows.
	Windowed bool
}

// Findings renders the finding query of every family, listing every recent
// finding; an alert's query (AlertQueries) reports each finding once.
func Findings(b *model.Bundle, prefix string) ([]Query, error) {
	return findings(b, prefix, false)
}

func findings(b *model.Bundle, prefix string, windowed bool) ([]Query, error) {
	var out []Query
	for _, f := range findingFamilies() {
		tmpl, err := parse("templates/findings/" + f + ".sql.tmpl")
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, findingData{Bundle: b, Prefix: prefix, Windowed: windowed}); err != nil {
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

// alertQueryTemplate limits a finding query to one alert's scope.
const alertQueryTemplate = "templates/alerts/query.sql.tmpl"

// alertQueryData is what alertQueryTemplate sees.
type alertQueryData struct {
	Alert   model.Alert
	Finding string // the family's finding query, indented by two spaces
	Prefix  string // qualifies table names, as in findingData
}

// AlertQueries are the query_text of every alert of the bundle, in the
// order of b.Alerts: its family's finding query, limited to the alert's
// teams, SLA or KPI by alertQueryTemplate. prefix qualifies table names as
// in Findings, which render once for all alerts.
func AlertQueries(b *model.Bundle, prefix string) ([]string, error) {
	queries, err := findings(b, prefix, true)
	if err != nil {
		return nil, err
	}
	// Each family's query is indented once, not once per alert: a large
	// spec has thousands of alerts per family.
	byFamily := map[string]string{}
	for _, q := range queries {
		byFamily[q.Family] = indentLines(q.SQL, "  ")
	}
	tmpl, err := parse(alertQueryTemplate)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(b.Alerts))
	var buf bytes.Buffer
	for i, a := range b.Alerts {
		finding, ok := byFamily[a.Family]
		if !ok {
			return nil, fmt.Errorf("alert %s: no finding query for family %s", a.Key, a.Family)
		}
		buf.Reset()
		if err := tmpl.Execute(&buf, alertQueryData{Alert: a, Finding: finding, Prefix: prefix}); err != nil {
			return nil, fmt.Errorf("execute %s for alert %s: %w", alertQueryTemplate, a.Key, err)
		}
		out[i] = string(append(bytes.TrimRight(buf.Bytes(), "\n"), '\n')) // one copy per alert
	}
	return out, nil
}

// indentLines prefixes every non-empty line of text with prefix and drops
// the final newline.
func indentLines(text, prefix string) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}

// bronzeCopyTemplate is a bronze table as one pipeline SQL statement.
const bronzeCopyTemplate = "templates/bronze/filtered_copy.sql.tmpl"

// BronzeCopySQL is the bronze table t as pipeline SQL: the statement the
// twin runs in place of a streaming table's Python source, with the same
// source, key expectations and filters.
func BronzeCopySQL(b *model.Bundle, t model.BronzeTable) (string, error) {
	sql, err := executeSQL(bronzeCopyTemplate, tableData{Bundle: b, Table: t})
	if err != nil {
		return "", fmt.Errorf("%s: %w", t.Name, err)
	}
	return sql, nil
}

package twin

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/render"
)

// Finding is one row of a finding query: something a detector flagged.
type Finding struct {
	Family      string  `json:"family"`
	Team        string  `json:"team,omitempty"`
	WorkspaceID string  `json:"workspace_id,omitempty"`
	JobID       string  `json:"job_id,omitempty"`
	JobName     string  `json:"job_name,omitempty"`
	Subject     string  `json:"subject"`
	Value       float64 `json:"value"`
	Threshold   float64 `json:"threshold"`
	Detail      string  `json:"detail"`
}

// Findings runs every finding query on the built tables.
func (e *Engine) Findings(b *model.Bundle) ([]Finding, error) {
	queries, err := render.Findings(b, "")
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, q := range queries {
		rows, err := e.findingRows(q.SQL)
		if err != nil {
			return nil, fmt.Errorf("finding %s: %w", q.Family, err)
		}
		out = append(out, rows...)
	}
	return out, nil
}

// findingRows runs a query of the findings' shape, in a stable order.
func (e *Engine) findingRows(databricksSQL string) ([]Finding, error) {
	st, err := Translate(databricksSQL, Context{AsOf: e.AsOf})
	if err != nil {
		return nil, err
	}
	rows, err := e.DB.Query("SELECT * FROM (" + st.Query + ") ORDER BY family, team, workspace_id, job_id, subject")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Finding
	for rows.Next() {
		var f Finding
		var team, ws, job, name, subject, detail sql.NullString
		var value, threshold sql.NullFloat64
		if err := rows.Scan(&f.Family, &team, &ws, &job, &name, &subject, &value, &threshold, &detail); err != nil {
			return nil, err
		}
		f.Team, f.WorkspaceID, f.JobID, f.JobName = team.String, ws.String, job.String, name.String
		f.Subject, f.Detail, f.Value, f.Threshold = subject.String, detail.String, value.Float64, threshold.Float64
		out = append(out, f)
	}
	return out, rows.Err()
}

// KPIValue is one row of kpi_values.
type KPIValue struct {
	Name      string   `json:"kpi_name"`
	Title     string   `json:"title"`
	Format    string   `json:"format"`
	PeriodEnd string   `json:"period_end"`
	Breakdown string   `json:"breakdown"`
	Value     *float64 `json:"value"`
	TargetMin *float64 `json:"target_min"`
	TargetMax *float64 `json:"target_max"`
	OnTarget  *bool    `json:"on_target"`
}

// KPIs reads kpi_values, in spec order then by breakdown.
func (e *Engine) KPIs(b *model.Bundle) ([]KPIValue, error) {
	var out []KPIValue
	for _, k := range b.Monitor.KPIs {
		rows, err := e.DB.Query(`SELECT CAST(period_end AS VARCHAR), breakdown, value, target_min, target_max, on_target
			FROM kpi_values WHERE kpi_name = ? ORDER BY breakdown`, k.Name)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			v := KPIValue{Name: k.Name, Title: k.Title, Format: k.Format}
			var value, lo, hi sql.NullFloat64
			var on sql.NullBool
			if err := rows.Scan(&v.PeriodEnd, &v.Breakdown, &value, &lo, &hi, &on); err != nil {
				rows.Close()
				return nil, err
			}
			v.Value, v.TargetMin, v.TargetMax = nullFloat(value), nullFloat(lo), nullFloat(hi)
			if on.Valid {
				v.OnTarget = &on.Bool
			}
			out = append(out, v)
		}
		rows.Close()
	}
	return out, nil
}

func nullFloat(n sql.NullFloat64) *float64 {
	if !n.Valid {
		return nil
	}
	return &n.Float64
}

// Export writes every silver and gold table as CSV with a header, sorted by
// its key, plus kpis.json. Doubles are rounded to 6 decimals: DuckDB sums in
// parallel, and the last bits of a float sum depend on the order. They are
// rounded to 9 decimals first, so that order noise (around 1e-15 relative)
// cannot tip a value lying exactly on a 6-decimal half (7.6680625, common
// with list prices of few digits) one way in one run and the other way in
// the next.
func (e *Engine) Export(dir string, b *model.Bundle) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, t := range b.Tables {
		cols := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			cols[i] = `"` + c.Name + `"`
			switch c.Type {
			case "DOUBLE":
				cols[i] = `round(round("` + c.Name + `", 9), 6) AS "` + c.Name + `"`
			case "TIMESTAMP": // UTC wall clock, whatever the session zone
				cols[i] = `timezone('UTC', "` + c.Name + `") AS "` + c.Name + `"`
			}
		}
		file := filepath.Join(dir, t.Name+".csv")
		q := fmt.Sprintf("COPY (SELECT %s FROM %s ORDER BY %s) TO '%s' (HEADER, DELIMITER ',')",
			strings.Join(cols, ", "), t.Name, strings.Join(t.Keys, ", "), strings.ReplaceAll(file, "'", "''"))
		if _, err := e.DB.Exec(q); err != nil {
			return fmt.Errorf("export %s: %w", t.Name, err)
		}
	}
	kpis, err := e.KPIs(b)
	if err != nil {
		return err
	}
	if kpis == nil {
		kpis = []KPIValue{}
	}
	data, err := json.MarshalIndent(kpis, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "kpis.json"), append(data, '\n'), 0o644)
}

// SLAStatus summarizes one SLA over recent days.
type SLAStatus struct {
	Name, Severity string
	Jobs           int
	Checked, Met   int      // job-days with at least one defined check evaluated
	Breaches       []string // "job on date: reason", oldest first
}

// SLASummary reads sla_compliance for the last days local days.
func (e *Engine) SLASummary(b *model.Bundle, days int) ([]SLAStatus, error) {
	var out []SLAStatus
	for _, s := range b.Monitor.SLAs {
		st := SLAStatus{Name: s.Name, Severity: s.Severity}
		// DuckDB's count_if over no rows is NULL (Spark's is 0): an SLA
		// that selects no job yet must still summarize.
		err := e.DB.QueryRow(`SELECT count(DISTINCT workspace_id || ':' || job_id),
				coalesce(count_if(coalesce(deadline_met, duration_met, success_rate_met) IS NOT NULL), 0),
				coalesce(count_if(met AND coalesce(deadline_met, duration_met, success_rate_met) IS NOT NULL), 0)
			FROM sla_compliance WHERE sla_name = ? AND period_date > (SELECT max(period_date) FROM sla_compliance) - CAST(? AS INTEGER)`,
			s.Name, days).Scan(&st.Jobs, &st.Checked, &st.Met)
		if err != nil {
			return nil, err
		}
		rows, err := e.DB.Query(`SELECT coalesce(job_name, job_id) || ' on ' || CAST(period_date AS VARCHAR) || ': ' || breach_reason
			FROM sla_compliance WHERE sla_name = ? AND NOT met AND period_date > (SELECT max(period_date) FROM sla_compliance) - CAST(? AS INTEGER)
			ORDER BY period_date, job_name, job_id`, s.Name, days)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				rows.Close()
				return nil, err
			}
			st.Breaches = append(st.Breaches, line)
		}
		rows.Close()
		out = append(out, st)
	}
	return out, nil
}

// FootprintRow is the monitor's own use of one component over a few days
// (monitor_footprint summed).
type FootprintRow struct {
	Component, Method string
	DBUs, CostNet     float64
}

// Footprint sums monitor_footprint per component over the days local days
// before the newest one (the newest, today, is still filling), and returns
// the first day summed.
func (e *Engine) Footprint(days int) ([]FootprintRow, time.Time, error) {
	var from time.Time
	var out []FootprintRow
	rows, err := e.DB.Query(`SELECT component, method, sum(dbus), coalesce(sum(cost_net), 0), min(usage_date)
		FROM monitor_footprint
		WHERE usage_date < (SELECT max(usage_date) FROM monitor_footprint)
		  AND usage_date >= (SELECT max(usage_date) FROM monitor_footprint) - CAST(? AS INTEGER)
		GROUP BY component, method ORDER BY method DESC, component`, days)
	if err != nil {
		return nil, from, err
	}
	defer rows.Close()
	for rows.Next() {
		var f FootprintRow
		var first time.Time
		if err := rows.Scan(&f.Component, &f.Method, &f.DBUs, &f.CostNet, &first); err != nil {
			return nil, from, err
		}
		if from.IsZero() || first.Before(from) {
			from = first
		}
		out = append(out, f)
	}
	return out, from, rows.Err()
}

// Query translates a Databricks SQL query (bare table names, no pipeline
// configuration) and returns every row.
func (e *Engine) Query(databricksSQL string) ([][]any, error) {
	_, rows, err := e.queryColumns(databricksSQL)
	return rows, err
}

// AlertResult is one alert evaluated on the twin: its query run as the
// deployed alert would run it, fired when it returns a row.
type AlertResult struct {
	Key       string    `json:"key"`
	Family    string    `json:"family"`
	Team      string    `json:"team,omitempty"` // the team the alert is limited to; "" for all or other teams
	SLA       string    `json:"sla,omitempty"`
	KPI       string    `json:"kpi,omitempty"`
	Fired     bool      `json:"fired"`
	Value     float64   `json:"value"` // the evaluated value: COUNT(subject)
	Threshold float64   `json:"threshold"`
	Rows      []Finding `json:"rows"`
}

// EvaluateAlerts runs every alert of the bundle on the built tables.
func (e *Engine) EvaluateAlerts(b *model.Bundle) ([]AlertResult, error) {
	queries, err := render.AlertQueries(b, "")
	if err != nil {
		return nil, err
	}
	var out []AlertResult
	for i, a := range b.Alerts {
		rows, err := e.findingRows(queries[i])
		if err != nil {
			return nil, fmt.Errorf("alert %s: %w", a.Key, err)
		}
		r := AlertResult{Key: a.Key, Family: a.Family, SLA: a.SLA, KPI: a.KPI, Rows: rows,
			Value: float64(len(rows)), Fired: len(rows) > 0}
		if len(a.Teams) == 1 {
			r.Team = a.Teams[0]
		}
		if r.Rows == nil {
			r.Rows = []Finding{}
		}
		out = append(out, r)
	}
	return out, nil
}

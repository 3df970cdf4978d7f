package render

import (
	"strings"
	"testing"

	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/spec"
)

func bundle(t *testing.T, extra string) *model.Bundle {
	t.Helper()
	s, diags := spec.Load("t.yaml", []byte("version: 1\nbundle: {name: a, catalog: c, schema: s, warehouse: w}\n"+extra))
	if len(diags) > 0 {
		t.Fatal(diags.Error())
	}
	b, err := model.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBronzeCopySQL: the statement the twin runs for a bronze table keeps
// the source's stream, every key expectation and both filters, and drops a
// filter the table cannot have.
func TestBronzeCopySQL(t *testing.T) {
	b := bundle(t, "")
	want := map[string]string{
		"bronze_job_run_timeline": `CREATE OR REFRESH STREAMING TABLE bronze_job_run_timeline (
  CONSTRAINT workspace_id_present EXPECT (workspace_id IS NOT NULL) ON VIOLATION DROP ROW,
  CONSTRAINT job_id_present EXPECT (job_id IS NOT NULL) ON VIOLATION DROP ROW,
  CONSTRAINT run_id_present EXPECT (run_id IS NOT NULL) ON VIOLATION DROP ROW
)
AS SELECT *
FROM STREAM(system.lakeflow.job_run_timeline)
WHERE period_start_time >= timestamp_seconds(CAST(unix_date(date_sub(date_from_unix_date(CAST(floor(unix_seconds(current_timestamp()) / 86400) AS INT)), ${dbmon.retention.detail_days})) AS BIGINT) * 86400)
  AND ('${dbmon.workspace_ids}' = '' OR array_contains(split('${dbmon.workspace_ids}', ','), workspace_id))
`,
		"bronze_jobs": `CREATE OR REFRESH STREAMING TABLE bronze_jobs (
  CONSTRAINT workspace_id_present EXPECT (workspace_id IS NOT NULL) ON VIOLATION DROP ROW,
  CONSTRAINT job_id_present EXPECT (job_id IS NOT NULL) ON VIOLATION DROP ROW
)
AS SELECT *
FROM STREAM(system.lakeflow.jobs)
WHERE ('${dbmon.workspace_ids}' = '' OR array_contains(split('${dbmon.workspace_ids}', ','), workspace_id))
`,
		"bronze_list_prices": `CREATE OR REFRESH MATERIALIZED VIEW bronze_list_prices (
  CONSTRAINT sku_name_present EXPECT (sku_name IS NOT NULL) ON VIOLATION DROP ROW,
  CONSTRAINT cloud_present EXPECT (cloud IS NOT NULL) ON VIOLATION DROP ROW,
  CONSTRAINT price_start_time_present EXPECT (price_start_time IS NOT NULL) ON VIOLATION DROP ROW
)
AS SELECT *
FROM system.billing.list_prices
`,
	}
	for _, bt := range b.Bronze {
		w, ok := want[bt.Name]
		if !ok {
			continue
		}
		delete(want, bt.Name)
		got, err := BronzeCopySQL(b, bt)
		if err != nil {
			t.Fatal(err)
		}
		if got != w {
			t.Errorf("%s:\n%s\nwant:\n%s", bt.Name, got, w)
		}
	}
	if len(want) > 0 {
		t.Errorf("no bronze tables %v", want)
	}
}

// TestAlertQueryScope: each alert's query_text wraps its family's finding
// query and limits it to the alert's teams, SLA or KPI, every spec string
// an escaped literal.
func TestAlertQueryScope(t *testing.T) {
	b := bundle(t, `destinations:
  ops: {emails: [ops@example.com]}
  data: {emails: [data@example.com]}
monitor_notify: [ops]
teams:
  - {name: data-eng, match: {job_name: "^etl"}, notify: [data]}
  - {name: other, match: {job_name: "^x"}}
slas:
  - {name: nightly, jobs: {team: data-eng}, deadline: "06:00"}
  - {name: own-route, jobs: {team: data-eng}, deadline: "07:00", notify: [ops]}
kpis:
  - {name: spend, source: job_summary_daily, value: "sum(cost_net)", target: {max: 1}, notify: [ops]}
`)
	queries, err := AlertQueries(b, "")
	if err != nil {
		t.Fatal(err)
	}
	findings, err := findings(b, "", true) // an alert reports each finding once
	if err != nil {
		t.Fatal(err)
	}
	finding := map[string]string{}
	for _, f := range findings {
		finding[f.Family] = f.SQL
	}
	wantWhere := map[string]string{
		"a_job_failure_data_eng": "WHERE team IN ('data-eng')\n",
		// the catch-all excludes the teams with destinations, by data
		"a_job_failure_other_teams": "WHERE coalesce(team, '') NOT IN (SELECT team FROM config_teams WHERE own_notify)\n",
		// the family's alerts cover the SLAs without their own notify, by data
		"a_sla_breach_data_eng": "WHERE team IN ('data-eng')\n  AND subject IN (SELECT sla_name FROM config_slas WHERE NOT own_notify)\n",
		"a_sla_own_route":       "WHERE subject = 'own-route'\n",
		"a_kpi_spend":           "WHERE left(subject, 6) = 'spend:'\n",
	}
	for i, a := range b.Alerts {
		q := queries[i]
		head := "SELECT family, team, workspace_id, job_id, job_name, subject, value, threshold, detail\nFROM (\n"
		body := strings.TrimSuffix(finding[a.Family], "\n")
		var indented []string
		for _, l := range strings.Split(body, "\n") {
			if l != "" {
				l = "  " + l
			}
			indented = append(indented, l)
		}
		if !strings.HasPrefix(q, head+strings.Join(indented, "\n")+"\n) finding\n") {
			t.Errorf("%s: the query does not wrap the %s finding query:\n%s", a.Key, a.Family, q)
		}
		if w, ok := wantWhere[a.Key]; ok {
			delete(wantWhere, a.Key)
			if !strings.HasSuffix(q, ") finding\n"+w) {
				t.Errorf("%s: the query ends\n%s\nwant\n%s", a.Key, q[strings.LastIndex(q, ") finding"):], w)
			}
		}
	}
	for key := range wantWhere {
		t.Errorf("no alert %s", key)
	}
}

package twin_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dbmon/dbmon/generator/render"
	"github.com/dbmon/dbmon/twin"
)

// TestSparkTypes feeds the Spark type check one dataset per rule and
// compares every reported problem, with its line and column in the
// statement as written.
func TestSparkTypes(t *testing.T) {
	conf := map[string]string{"dbmon.timezone": "Europe/Berlin"}
	header := func(cols string) string {
		return "-- a generated header\nCREATE OR REFRESH MATERIALIZED VIEW m (\n  " + cols + "\n)\nCOMMENT 'x'\nAS\n"
	}
	cases := []struct {
		name, sql string
		want      []string
	}{
		{"x / 60.0 declared DOUBLE is DECIMAL",
			header("minutes DOUBLE COMMENT 'Minutes.'") + "SELECT\n  x / 60.0 AS minutes\nFROM (VALUES (1)) AS v(x)",
			[]string{"8:3: column minutes is declared DOUBLE but Spark types x / 60.0 as DECIMAL(17,6); write CAST(... AS DOUBLE)"}},
		{"BIGINT / DECIMAL through a CTE and sum",
			header("up DOUBLE") + "WITH i AS (\n  SELECT (unix_timestamp(end_time) - unix_timestamp(start_time)) / 60.0 AS minutes FROM bronze_node_timeline\n)\nSELECT sum(i.minutes) AS up FROM i",
			[]string{"10:8: column up is declared DOUBLE but Spark types sum(i.minutes) as DECIMAL(37,6); write CAST(... AS DOUBLE)"}},
		{"accepted CAST",
			header("minutes DOUBLE") + "SELECT CAST(x / 60.0 AS DOUBLE) AS minutes FROM (VALUES (1)) AS v(x)", nil},
		{"accepted DOUBLE operand",
			header("minutes DOUBLE") + "SELECT x / CAST(60 AS DOUBLE) AS minutes FROM (VALUES (1)) AS v(x)", nil},
		{"accepted bare references of the right type, through a subquery and a CTE",
			header("cost_net DOUBLE, usage_date DATE, tags MAP<STRING,STRING>, job_id STRING") +
				"WITH j AS (SELECT * FROM jobs_current)\nSELECT b.cost_net, usage_date, j.tags, b.job_id\nFROM (SELECT cost_net, usage_date, job_id FROM billing_enriched) b\nJOIN j ON j.job_id = b.job_id", nil},
		{"bare reference of another type",
			header("usage_date STRING") + "SELECT b.usage_date FROM billing_enriched b",
			[]string{"7:8: column usage_date is declared STRING but Spark types b.usage_date as DATE; write CAST(... AS STRING)"}},
		{"DECIMAL arithmetic on a system table column",
			header("dbus DOUBLE") + "SELECT usage_quantity * 2 AS dbus FROM system.billing.usage",
			[]string{"7:8: column dbus is declared DOUBLE but Spark types usage_quantity * 2 as DECIMAL(38,16); write CAST(... AS DOUBLE)"}},
		{"sum of a DECIMAL",
			header("dbus DOUBLE") + "SELECT sum(u.usage_quantity) AS dbus FROM bronze_billing_usage u",
			[]string{"7:8: column dbus is declared DOUBLE but Spark types sum(u.usage_quantity) as DECIMAL(38,18); write CAST(... AS DOUBLE)"}},
		{"uncast count(*) declared DOUBLE",
			header("n DOUBLE") + "SELECT count(*) AS n FROM billing_enriched",
			[]string{"7:8: column n is declared DOUBLE but Spark types count(*) as BIGINT; write CAST(... AS DOUBLE)"}},
		{"avg of BIGINT, integral division and percentile are DOUBLE",
			header("a DOUBLE, r DOUBLE, p DOUBLE, n BIGINT") +
				"SELECT avg(duration_seconds) AS a, count_if(is_success) / count(*) AS r, percentile(duration_seconds, 0.95) AS p, count(*) AS n FROM job_runs_enriched", nil},
		{"datediff is INT",
			header("days BIGINT") + "SELECT datediff(end_time, start_time) AS days FROM job_runs_enriched",
			[]string{"7:8: column days is declared BIGINT but Spark types datediff(end_time, start_time) as INT; write CAST(... AS BIGINT)"}},
		{"coalesce and CASE widen INT to DOUBLE and BIGINT",
			header("c DOUBLE, k BIGINT, ok BOOLEAN") +
				"SELECT coalesce(cost_net, 0) AS c, CASE WHEN is_failure THEN repair_count ELSE 0 END AS k,\n  CASE WHEN is_failure THEN NULL ELSE cost_net > 1 END AS ok FROM job_runs_enriched", nil},
		{"a function the twin cannot type",
			header("h STRING") + "SELECT mystery(job_id) AS h FROM jobs_current",
			[]string{"7:8: column h is computed without a CAST to its declared type STRING: the twin cannot prove Spark's type of mystery(job_id)"}},
		{"an uncast NULL",
			header("h STRING") + "SELECT NULL AS h",
			[]string{"7:8: column h is computed without a CAST to its declared type STRING: the twin cannot prove Spark's type of NULL"}},
		{"every branch of a UNION ALL, positions after ${key}",
			header("d DATE, v DOUBLE") +
				"SELECT CAST(from_utc_timestamp(end_time, '${dbmon.timezone}') AS DATE) AS d, 1.5 AS v FROM job_runs_enriched\nUNION ALL\nSELECT CAST(NULL AS DATE) AS d, 0.5 AS v",
			[]string{"7:78: column v is declared DOUBLE but Spark types 1.5 as DECIMAL(2,1); write CAST(... AS DOUBLE)",
				"9:33: column v is declared DOUBLE but Spark types 0.5 as DECIMAL(1,1); write CAST(... AS DOUBLE)"}},
		{"column count",
			header("a STRING, b STRING") + "SELECT job_id AS a FROM jobs_current",
			[]string{"7:1: the query yields 1 columns, the header declares 2"}},
		{"no column list: nothing to check",
			"CREATE OR REFRESH MATERIALIZED VIEW m AS SELECT 1 / 60.0 AS x", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs, err := twin.CheckSparkTypes(c.sql, conf)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
			}
		})
	}
}

// TestSparkTypesInPipelineRun: the check runs wherever the twin builds a
// bundle's pipeline, and points into the generated file. The generated
// cluster_usage_hourly casts its DECIMAL minutes; without the cast the
// pipeline is rejected before anything runs.
func TestSparkTypesInPipelineRun(t *testing.T) {
	res := prepare(t, "../specs/minimal.yaml")
	if _, err := twin.Statements(res.Bundle, res.Files, asOf); err != nil {
		t.Fatalf("the generated pipeline fails the Spark type check: %v", err)
	}
	const path = "src/pipeline/silver/cluster_usage_hourly.sql"
	files := slices.Clone(res.Files)
	line := 0
	for i, f := range files {
		if f.Path != path {
			continue
		}
		src := string(f.Data)
		cast := "  CAST(h.up_minutes AS DOUBLE) AS up_minutes,"
		at := strings.Index(src, cast)
		if at < 0 {
			t.Fatalf("%s has no %q", path, cast)
		}
		line = 1 + strings.Count(src[:at], "\n")
		files[i] = render.File{Path: f.Path, Data: []byte(strings.Replace(src, cast, "  h.up_minutes,", 1))}
	}
	if line == 0 {
		t.Fatalf("no %s", path)
	}
	_, err := twin.Statements(res.Bundle, files, asOf)
	want := fmt.Sprintf("%s:%d:3: column up_minutes is declared DOUBLE but Spark types h.up_minutes as DECIMAL(37,6)", path, line)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want an error containing %q", err, want)
	}
	e, err := twin.Open(asOf)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.RunPipeline(res.Bundle, files); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("RunPipeline: got %v, want an error containing %q", err, want)
	}
}

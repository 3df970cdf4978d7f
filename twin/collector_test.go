package twin_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/render"
	"github.com/dbmon/dbmon/twin"
)

// TestCollectorMergeIsIdempotent runs the collector's MERGE on the twin:
// merging the same page twice leaves one row per (workspace_id, run_id,
// task_run_id), and a row seen again with new values is updated in place.
func TestCollectorMergeIsIdempotent(t *testing.T) {
	e, err := twin.Open(asOf)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	page := func(errorText string) {
		t.Helper()
		if _, err := e.DB.Exec(`CREATE OR REPLACE TEMP TABLE incoming AS SELECT * FROM bronze_api_job_runs WHERE false`); err != nil {
			t.Fatal(err)
		}
		_, err := e.DB.Exec(`INSERT INTO incoming (workspace_id, job_id, run_id, task_run_id, task_key, result_state, error)
			VALUES ('1', '42', '900', '901', 'ingest', 'SUCCESS', NULL), ('1', '42', '900', '902', 'load', 'FAILED', ?),
			       ('2', '42', '900', '901', 'ingest', 'SUCCESS', NULL)`, errorText)
		if err != nil {
			t.Fatal(err)
		}
		st, err := twin.Translate(model.Collector{}.MergeSQL("bronze_api_job_runs", "incoming"), twin.Context{AsOf: asOf})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.DB.Exec(st.SQL); err != nil {
			t.Fatalf("%s: %v", st.SQL, err)
		}
	}
	page("first error")
	page("first error")
	page("OutOfMemoryError after repair")
	var n int
	var msg string
	if err := e.DB.QueryRow(`SELECT count(*) FROM bronze_api_job_runs`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("%d rows after three merges of the same 3 task runs, want 3", n)
	}
	if err := e.DB.QueryRow(`SELECT error FROM bronze_api_job_runs WHERE task_run_id = '902'`).Scan(&msg); err != nil {
		t.Fatal(err)
	}
	if msg != "OutOfMemoryError after repair" {
		t.Errorf("error = %q, want the latest page's value", msg)
	}
}

// TestCollectorWorkList runs the collector's work-list query
// (render.CollectorQuery) on the twin over bronze copies of
// job_task_run_timeline and job_run_timeline: it lists each failed task run
// of the workspace (ERROR, FAILED, TIMED_OUT on its last slice) that ended
// inside the window and has no collector row, once, with its first slice's
// start and whether its job run was repaired, newest first, times in epoch
// milliseconds.
func TestCollectorWorkList(t *testing.T) {
	e, err := twin.Open(asOf)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for bronze, source := range map[string]string{
		"bronze_job_task_run_timeline": "system.lakeflow.job_task_run_timeline",
		"bronze_job_run_timeline":      "system.lakeflow.job_run_timeline",
	} {
		st, ok := twin.SystemTable(source)
		if !ok {
			t.Fatalf("no system table %s", source)
		}
		var cols []string
		for _, c := range st.Columns {
			cols = append(cols, c.Name+" "+twin.DuckTypeOf(c.Parsed))
		}
		if _, err := e.DB.Exec("CREATE TABLE " + bronze + " (" + strings.Join(cols, ", ") + ")"); err != nil {
			t.Fatal(err)
		}
	}
	// Task runs of workspace 1 (hours before asOf: start, end; result on
	// the last slice), and one of workspace 2.
	exec := func(q string) {
		t.Helper()
		if _, err := e.DB.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO bronze_job_task_run_timeline (workspace_id, job_id, job_run_id, run_id, task_key, period_start_time, period_end_time, result_state, termination_code, termination_type) VALUES
		-- 101: failed after two hourly slices: one entry, started at the first slice.
		('1', '7', '100', '101', 'load', TIMESTAMP '2026-11-27 08:00:00', TIMESTAMP '2026-11-27 09:00:00', NULL, NULL, NULL),
		('1', '7', '100', '101', 'load', TIMESTAMP '2026-11-27 09:00:00', TIMESTAMP '2026-11-27 09:30:00', 'FAILED', 'RUN_EXECUTION_ERROR', 'CLIENT_ERROR'),
		-- 102: succeeded; 103: cancelled: not failures.
		('1', '7', '100', '102', 'ingest', TIMESTAMP '2026-11-27 07:00:00', TIMESTAMP '2026-11-27 07:50:00', 'SUCCEEDED', 'SUCCESS', 'SUCCESS'),
		('1', '7', '100', '103', 'report', TIMESTAMP '2026-11-27 09:30:00', TIMESTAMP '2026-11-27 09:31:00', 'CANCELLED', 'CANCELED', NULL),
		-- 201, 202: ERROR and TIMED_OUT in a repaired job run.
		('1', '8', '200', '201', 'a', TIMESTAMP '2026-11-27 10:00:00', TIMESTAMP '2026-11-27 10:10:00', 'ERROR', 'CLUSTER_ERROR', 'CLOUD_FAILURE'),
		('1', '8', '200', '202', 'a', TIMESTAMP '2026-11-27 11:00:00', TIMESTAMP '2026-11-27 11:10:00', 'TIMED_OUT', 'RUN_EXECUTION_ERROR', 'CLIENT_ERROR'),
		-- 301: already collected; 401: ended before the window; 501: another workspace.
		('1', '9', '300', '301', 'x', TIMESTAMP '2026-11-27 06:00:00', TIMESTAMP '2026-11-27 06:10:00', 'FAILED', NULL, NULL),
		('1', '9', '400', '401', 'x', TIMESTAMP '2026-11-20 06:00:00', TIMESTAMP '2026-11-20 06:10:00', 'FAILED', NULL, NULL),
		('2', '7', '100', '501', 'load', TIMESTAMP '2026-11-27 09:00:00', TIMESTAMP '2026-11-27 09:30:00', 'FAILED', NULL, NULL)`)
	exec(`INSERT INTO bronze_job_run_timeline (workspace_id, job_id, run_id, period_start_time, period_end_time, result_state) VALUES
		('1', '7', '100', TIMESTAMP '2026-11-27 07:00:00', TIMESTAMP '2026-11-27 09:31:00', 'FAILED'),
		('1', '8', '200', TIMESTAMP '2026-11-27 10:00:00', TIMESTAMP '2026-11-27 10:11:00', 'ERROR'),
		('1', '8', '200', TIMESTAMP '2026-11-27 11:00:00', TIMESTAMP '2026-11-27 11:11:00', 'TIMED_OUT')`)
	exec(`INSERT INTO bronze_api_job_runs (workspace_id, job_id, run_id, task_run_id, collect_status) VALUES ('1', '9', '300', '301', 'permission denied')`)

	query, err := render.CollectorQuery("")
	if err != nil {
		t.Fatal(err)
	}
	// The collector binds :workspace_id and :window_start (here the last
	// two days) as Spark parameters.
	query = strings.NewReplacer(":workspace_id", "'1'", ":window_start", "TIMESTAMP '2026-11-25 12:00:00'").Replace(query)
	st, err := twin.Translate(query, twin.Context{AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := e.DB.Query(st.SQL)
	if err != nil {
		t.Fatalf("%s: %v", st.SQL, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	want := []string{"workspace_id", "job_id", "run_id", "task_run_id", "task_key", "start_ms", "end_ms",
		"result_state", "termination_code", "termination_type", "repaired"}
	if strings.Join(cols, ",") != strings.Join(want, ",") {
		t.Fatalf("columns %v, want %v (the collector reads them by name)", cols, want)
	}
	var got []string
	for rows.Next() {
		var ws, job, run, task, key, state string
		var code, ttype *string
		var start, end int64
		var repaired bool
		if err := rows.Scan(&ws, &job, &run, &task, &key, &start, &end, &state, &code, &ttype, &repaired); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s/%s/%s/%s %s %s-%s %s %v repaired=%v", ws, job, run, task, key,
			time.UnixMilli(start).UTC().Format("15:04"), time.UnixMilli(end).UTC().Format("15:04"), state, deref(code), repaired))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	wantRows := []string{
		"1/8/200/202 a 11:00-11:10 TIMED_OUT RUN_EXECUTION_ERROR repaired=true",
		"1/8/200/201 a 10:00-10:10 ERROR CLUSTER_ERROR repaired=true",
		"1/7/100/101 load 08:00-09:30 FAILED RUN_EXECUTION_ERROR repaired=false",
	}
	if strings.Join(got, "\n") != strings.Join(wantRows, "\n") {
		t.Errorf("work list:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantRows, "\n"))
	}
}

func deref(s *string) string {
	if s == nil {
		return "NULL"
	}
	return *s
}

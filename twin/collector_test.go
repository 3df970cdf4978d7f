package twin_test

import (
	"testing"

	"github.com/dbmon/dbmon/generator/model"
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

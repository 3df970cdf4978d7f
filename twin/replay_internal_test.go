package twin

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// findingResult is a query result of the findings' shape with one row per
// subject.
func findingResult(subjects ...string) QueryResult {
	r := QueryResult{Columns: []string{"family", "subject", "value"}}
	for _, s := range subjects {
		r.Rows = append(r.Rows, []any{"job_failure", s, 1.0})
	}
	return r
}

// countAlert is the generated alerts' evaluation: COUNT(subject) > 0.
func countAlert(notifyOnOK bool, retrigger int, empty string) AlertSettings {
	return AlertSettings{Key: "a", Operator: "GREATER_THAN", Source: "subject", Aggregation: "COUNT",
		Threshold: 0, EmptyResultState: empty, NotifyOnOK: notifyOnOK, RetriggerSeconds: retrigger}
}

func TestAlertEvaluate(t *testing.T) {
	cases := []struct {
		name string
		s    AlertSettings
		r    QueryResult
		want string
	}{
		{"rows trigger", countAlert(false, 0, "OK"), findingResult("x"), StateTriggered},
		{"empty result is empty_result_state OK", countAlert(false, 0, "OK"), findingResult(), StateOK},
		{"empty result is empty_result_state TRIGGERED", countAlert(false, 0, "TRIGGERED"), findingResult(), StateTriggered},
		{"empty result without empty_result_state is UNKNOWN", countAlert(false, 0, ""), findingResult(), StateUnknown},
		{"a failing query is ERROR", countAlert(false, 0, "OK"), QueryResult{Err: errors.New("no such table")}, StateError},
		{"a missing source column is ERROR", AlertSettings{Operator: "GREATER_THAN", Source: "nope", Aggregation: "COUNT"}, findingResult("x"), StateError},
		{"COUNT skips NULL subjects", countAlert(false, 0, "OK"), QueryResult{Columns: []string{"subject"}, Rows: [][]any{{nil}}}, StateOK},
		{"SUM above threshold", AlertSettings{Operator: "GREATER_THAN_OR_EQUAL", Source: "value", Aggregation: "SUM", Threshold: 2}, findingResult("x", "y"), StateTriggered},
		{"MAX below threshold", AlertSettings{Operator: "GREATER_THAN", Source: "value", Aggregation: "MAX", Threshold: 2}, findingResult("x", "y"), StateOK},
		{"first row value", AlertSettings{Operator: "LESS_THAN", Source: "value", Threshold: 2}, findingResult("x"), StateTriggered},
	}
	for _, c := range cases {
		got, _ := c.s.Evaluate(c.r)
		if got != c.want {
			t.Errorf("%s: state %s, want %s", c.name, got, c.want)
		}
	}
}

// TestAlertMachine runs sequences of evaluation states through the v2 state
// machine and checks when it notifies.
func TestAlertMachine(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	every15 := func(states ...string) []step {
		out := make([]step, len(states))
		for i, s := range states {
			out[i] = step{t0.Add(time.Duration(i) * 15 * time.Minute), s}
		}
		return out
	}
	cases := []struct {
		name  string
		s     AlertSettings
		steps []step
		want  []int // indexes of the steps that notify
	}{
		{"OK to TRIGGERED notifies", countAlert(false, 0, "OK"), every15("OK", "TRIGGERED"), []int{1}},
		{"the first evaluation TRIGGERED notifies", countAlert(false, 0, "OK"), every15("TRIGGERED"), []int{0}},
		{"staying TRIGGERED without retrigger does not", countAlert(false, 0, "OK"), every15("TRIGGERED", "TRIGGERED", "TRIGGERED", "TRIGGERED"), []int{0}},
		{"retrigger 1800 re-notifies every 30 minutes", countAlert(false, 1800, "OK"), every15("TRIGGERED", "TRIGGERED", "TRIGGERED", "TRIGGERED", "TRIGGERED"), []int{0, 2, 4}},
		{"retrigger 1 notifies on every evaluation", countAlert(false, 1, "OK"), every15("TRIGGERED", "TRIGGERED", "TRIGGERED"), []int{0, 1, 2}},
		{"back to OK notifies with notify_on_ok", countAlert(true, 0, "OK"), every15("TRIGGERED", "OK", "OK"), []int{0, 1}},
		{"back to OK is silent without notify_on_ok", countAlert(false, 0, "OK"), every15("TRIGGERED", "OK"), []int{0}},
		{"UNKNOWN to OK is silent even with notify_on_ok", countAlert(true, 0, "OK"), every15("OK", "OK"), nil},
		{"flapping notifies on every move", countAlert(true, 0, "OK"), every15("OK", "TRIGGERED", "OK", "TRIGGERED"), []int{1, 2, 3}},
		{"ERROR does not notify; TRIGGERED after ERROR does", countAlert(true, 0, "OK"), every15("TRIGGERED", "ERROR", "TRIGGERED", "ERROR", "OK"), []int{0, 2}},
		{"retrigger counts from the last notification", countAlert(false, 3600, "OK"), every15("TRIGGERED", "OK", "TRIGGERED", "TRIGGERED", "TRIGGERED", "TRIGGERED", "TRIGGERED", "TRIGGERED"), []int{0, 2, 6}},
	}
	for _, c := range cases {
		m := NewAlertMachine(c.s)
		var got []int
		for i, st := range c.steps {
			if m.Step(st.at, st.state) {
				got = append(got, i)
			}
			if m.State != st.state {
				t.Errorf("%s: step %d: state %s, want %s", c.name, i, m.State, st.state)
			}
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: notified at steps %v, want %v", c.name, got, c.want)
		}
	}
}

type step struct {
	at    time.Time
	state string
}

// TestLateness loads one row per kind of arrival, hides late rows, and
// checks each is invisible until its visible time and visible from then on;
// an override makes one run's row 40 minutes late, another billing rows 10
// hours late; rows without an event time are always visible.
func TestLateness(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.DateTime, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	e, err := Open(at("2026-01-02 00:00:00"))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	insert := []string{
		`INSERT INTO dbx_system.billing.usage (record_id, usage_end_time, record_type) VALUES
			('orig', TIMESTAMP '2026-01-01 10:00:00', 'ORIGINAL'),
			('retr', TIMESTAMP '2026-01-01 10:00:00', 'RETRACTION'),
			('late', TIMESTAMP '2026-01-01 10:00:00', 'ORIGINAL')`,
		`INSERT INTO dbx_system.lakeflow.job_run_timeline (run_id, period_end_time) VALUES
			('1', TIMESTAMP '2026-01-01 10:00:00'), ('2', TIMESTAMP '2026-01-01 10:00:00')`,
		`INSERT INTO dbx_system.lakeflow.jobs (job_id, change_time) VALUES ('j', TIMESTAMP '2026-01-01 10:00:00')`,
		`INSERT INTO dbx_system.compute.node_timeline (instance_id, end_time) VALUES ('n', TIMESTAMP '2026-01-01 10:00:00')`,
		`INSERT INTO dbx_system.billing.list_prices (sku_name, price_start_time) VALUES ('SKU', TIMESTAMP '2026-06-01 00:00:00')`,
	}
	for _, s := range insert {
		if _, err := e.DB.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	lat := Lateness{
		BillingOriginal:   Lag{Min: time.Hour, Max: 12 * time.Hour},
		BillingCorrection: Lag{Min: 24 * time.Hour, Max: 24 * time.Hour},
		Lakeflow:          15 * time.Minute,
		Compute:           5 * time.Minute,
		Late: []LateRows{
			{Table: "system.lakeflow.job_run_timeline", Where: "run_id = '2'", Lag: 40 * time.Minute},
			{Table: "system.billing.usage", Where: "record_id = 'late'", Lag: 10 * time.Hour},
		},
	}
	views, err := e.hideLateRows(lat)
	if err != nil {
		t.Fatal(err)
	}
	visible := func(cut time.Time, table, where string) bool {
		t.Helper()
		if err := views.setVisible(time.Time{}, cut); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := e.DB.QueryRow("SELECT count(*) FROM " + duckName(table) + " WHERE " + where).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	// The ORIGINAL row's lag is spread over [1h, 12h] by its record_id:
	// find it, and check it is within the range.
	var origAt time.Time
	if err := e.DB.QueryRow("SELECT __visible_at FROM dbx_system.billing.usage__all WHERE record_id = 'orig'").Scan(&origAt); err != nil {
		t.Fatal(err)
	}
	if lag := origAt.Sub(at("2026-01-01 10:00:00")); lag < time.Hour || lag > 12*time.Hour {
		t.Errorf("ORIGINAL usage row visible %s after usage_end_time, want 1h to 12h", lag)
	}
	checks := []struct {
		table, where string
		visibleAt    time.Time
	}{
		{"system.billing.usage", "record_id = 'orig'", origAt},
		{"system.billing.usage", "record_id = 'retr'", at("2026-01-02 10:00:00")},
		{"system.billing.usage", "record_id = 'late'", at("2026-01-01 20:00:00")},
		{"system.lakeflow.job_run_timeline", "run_id = '1'", at("2026-01-01 10:15:00")},
		{"system.lakeflow.job_run_timeline", "run_id = '2'", at("2026-01-01 10:40:00")},
		{"system.lakeflow.jobs", "job_id = 'j'", at("2026-01-01 10:15:00")},
		{"system.compute.node_timeline", "instance_id = 'n'", at("2026-01-01 10:05:00")},
	}
	for _, c := range checks {
		if visible(c.visibleAt.Add(-time.Second), c.table, c.where) {
			t.Errorf("%s %s is visible a second before %s", c.table, c.where, c.visibleAt)
		}
		if !visible(c.visibleAt, c.table, c.where) || !visible(c.visibleAt.Add(24*time.Hour), c.table, c.where) {
			t.Errorf("%s %s is not visible at and after %s", c.table, c.where, c.visibleAt)
		}
	}
	if !visible(at("2025-01-01 00:00:00"), "system.billing.list_prices", "sku_name = 'SKU'") {
		t.Errorf("list_prices rows must always be visible")
	}
	// A streaming append window (after, by] shows only what arrived in it.
	if err := views.setVisible(at("2026-01-01 10:15:00"), at("2026-01-01 10:40:00")); err != nil {
		t.Fatal(err)
	}
	var ids string
	if err := e.DB.QueryRow("SELECT string_agg(run_id, ',' ORDER BY run_id) FROM dbx_system.lakeflow.job_run_timeline").Scan(&ids); err != nil {
		t.Fatal(err)
	}
	if ids != "2" {
		t.Errorf("rows arriving in (10:15, 10:40]: %q, want run 2 only", ids)
	}
	if err := views.restore(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := e.DB.QueryRow("SELECT (SELECT count(*) FROM dbx_system.billing.usage) + (SELECT count(*) FROM dbx_system.lakeflow.job_run_timeline)").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Errorf("after restore the tables hold %d usage and run rows, want all 5", n)
	}
}

func TestLatenessUnknownTable(t *testing.T) {
	if _, err := tableArrival("system.nope.nothing"); err == nil {
		t.Fatal("a table without an arrival model must be an error")
	}
	for _, name := range sources() {
		if _, err := tableArrival(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestNotificationsJSON writes notifications.json and checks its keys and
// time format exactly.
func TestNotificationsJSON(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	tl := &Timeline{Notifications: []Notification{{Time: time.Date(2026, 11, 27, 9, 15, 0, 0, berlin), Alert: "a_job_failure_x",
		Family: "job_failure", State: StateTriggered, Destinations: []string{"team-slack"}, Subjects: []string{"42"}},
		{Time: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC), Alert: "a_job_failure_x", Family: "job_failure", State: StateOK}}}
	dir := t.TempDir()
	if err := tl.WriteNotifications(dir); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "notifications.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"time": "2026-11-27T08:15:00Z", "alert": "a_job_failure_x", "family": "job_failure", "state": "TRIGGERED", "destinations": []any{"team-slack"}, "subjects": []any{"42"}},
		{"time": "2026-11-27T10:00:00Z", "alert": "a_job_failure_x", "family": "job_failure", "state": "OK", "destinations": []any{}, "subjects": []any{}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("notifications.json:\n%s\nwant %v", data, want)
	}
	if !strings.HasPrefix(string(data), "[\n  {\n    \"time\"") {
		t.Errorf("time is not the first key:\n%s", data)
	}
}

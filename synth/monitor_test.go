package synth

import (
	"testing"
	"time"
)

// TestOwnJobs: the monitor's own jobs are in the data with the bundle's
// tags, the refresh job runs once per refresh (example: hourly) and always
// succeeds, each of its runs starts one pipeline update, and the usage of
// the pipeline and of the jobs carries their dbmon_component tag, so the
// footprint table can find them.
func TestOwnJobs(t *testing.T) {
	d := fixture(t, "example.yaml", exampleConfig(false))
	bundle := d.spec.Bundle.Name
	components := map[string]string{} // job id -> component
	for _, r := range latestJobs(d) {
		tags, _ := r[col(tJobs, "tags")].(map[string]string)
		if tags["dbmon_bundle"] == bundle && tags["app"] == "dbmon" {
			components[r[col(tJobs, "job_id")].(string)] = tags["dbmon_component"]
		}
	}
	want := map[string]bool{"refresh": true, "collector": true, "maintenance": true, "report": true}
	got := map[string]bool{}
	for _, c := range components {
		got[c] = true
	}
	for c := range want {
		if !got[c] {
			t.Errorf("no own job with dbmon_component %s (have %v)", c, components)
		}
	}

	refreshRuns := map[string]bool{}
	for _, r := range d.c.rows[tRunTimeline] {
		if components[r[col(tRunTimeline, "job_id")].(string)] != "refresh" {
			continue
		}
		refreshRuns[r[col(tRunTimeline, "run_id")].(string)] = true
		if s := r[col(tRunTimeline, "result_state")]; s != nil && s != "SUCCEEDED" {
			t.Errorf("own refresh run ended %v", s)
		}
	}
	// Config.Days defaults to 45: history starts at local midnight 45 days
	// before AsOf's date.
	first := time.Date(asOf.Year(), asOf.Month(), asOf.Day()-45, 0, 0, 0, 0, time.UTC)
	hours := int(d.cfg.AsOf.Sub(first).Hours())
	if n := len(refreshRuns); n < hours-48 || n > hours+48 {
		t.Errorf("%d refresh runs, want about one an hour (%d)", n, hours)
	}

	updates := map[string]bool{}
	for _, r := range d.c.rows[tPipelineUpdates] {
		trig, _ := r[8].(map[string]any)
		jt, _ := trig["job_task"].(map[string]any)
		if run, _ := jt["job_run_id"].(string); refreshRuns[run] {
			updates[r[3].(string)] = true
		}
	}
	if len(updates) < len(refreshRuns)-1 { // the latest may not have started
		t.Errorf("%d pipeline updates for %d refresh runs", len(updates), len(refreshRuns))
	}

	tagged := map[string]float64{}
	for _, r := range d.c.rows[tUsage] {
		tags, _ := r[col(tUsage, "custom_tags")].(map[string]string)
		if tags["dbmon_bundle"] == bundle {
			tagged[tags["dbmon_component"]] += r[col(tUsage, "usage_quantity")].(float64)
		}
	}
	for _, c := range []string{"pipeline", "collector", "maintenance"} {
		if tagged[c] <= 0 {
			t.Errorf("no usage tagged dbmon_component %s (have %v)", c, tagged)
		}
	}
}

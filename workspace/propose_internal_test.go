package workspace

import (
	"reflect"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go/service/jobs"

	"github.com/dbmon/dbmon/generator/spec"
)

func TestParseDaily(t *testing.T) {
	for _, tc := range []struct {
		expr string
		ok   bool
		h, m int
		days []string
	}{
		{"0 0 6 * * ?", true, 6, 0, nil},
		{"0 30 1 ? * *", true, 1, 30, nil},
		{"0 0 3 ? * MON-FRI", true, 3, 0, []string{"mon", "tue", "wed", "thu", "fri"}},
		{"0 0 3 ? * 2-6", true, 3, 0, []string{"mon", "tue", "wed", "thu", "fri"}},
		{"0 15 9 ? * SAT,sun", true, 9, 15, []string{"sat", "sun"}},
		{"0 15 9 ? * FRI-MON", true, 9, 15, []string{"mon", "fri", "sat", "sun"}},
		{"0 15 9 ? * 1-7", true, 9, 15, nil},
		{"0 0 6 * * ? *", true, 6, 0, nil},
		{"0 0 * * * ?", false, 0, 0, nil},
		{"0 0 6,18 * * ?", false, 0, 0, nil},
		{"0 0/30 6 * * ?", false, 0, 0, nil},
		{"0 0 6 1 * ?", false, 0, 0, nil},
		{"0 0 6 ? * MON#1", false, 0, 0, nil},
		{"0 0 6 * JAN ?", false, 0, 0, nil},
		{"0 0 6 * * ? 2027", false, 0, 0, nil},
		{"0 0 24 * * ?", false, 0, 0, nil},
		{"0 6 * * *", false, 0, 0, nil},
	} {
		d, ok := parseDaily(tc.expr)
		if ok != tc.ok || ok && (d.hour != tc.h || d.minute != tc.m || !reflect.DeepEqual(d.days, tc.days)) {
			t.Errorf("parseDaily(%q) = %+v, %v", tc.expr, d, ok)
		}
	}
}

func TestSlugAndNames(t *testing.T) {
	for in, want := range map[string]string{
		"Nightly ETL":          "nightly-etl",
		"revenue_daily":        "revenue_daily",
		"  --Data  Science!! ": "data-science",
		"2024 backfill":        "job-2024-backfill",
		"_hidden":              "hidden",
		"日本語":                  "job",
		"Ünïcode Jöb":          "n-code-j-b",
	} {
		if got := slug(in, "job"); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"alice@example.com":                    "alice",
		"Bob.Smith@example.com":                "bob-smith",
		"9f5c2c1e-1111-2222-3333-444444444444": "sp-9f5c2c1e",
		"42@example.com":                       "user-42",
	} {
		if got := creatorName(in); got != want {
			t.Errorf("creatorName(%q) = %q, want %q", in, got, want)
		}
	}
	taken := map[string]bool{"a": true, "a-2": true}
	if got := unique("a", taken); got != "a-3" || !taken["a-3"] {
		t.Errorf("unique = %q", got)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		5 * time.Minute:   "5m",
		55 * time.Minute:  "55m",
		time.Hour:         "1h",
		100 * time.Minute: "1h40m",
		5 * time.Hour:     "5h",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestOwnerTagKey(t *testing.T) {
	js := []Job{
		{Tags: map[string]string{"cost_center": "a", "env": "prod"}},
		{Tags: map[string]string{"cost_center": "b", "env": "prod"}},
		{Tags: map[string]string{"Team": "x", "env": "dev"}},
		{Tags: map[string]string{"env": "dev"}},
	}
	if k, n := ownerTagKey(js); k != "cost_center" || n != 2 {
		t.Errorf("ownerTagKey = %q, %d; want cost_center (env is not an owner key)", k, n)
	}
	js = append(js, Job{Tags: map[string]string{"Team": "y"}})
	if k, n := ownerTagKey(js); k != "Team" || n != 2 {
		t.Errorf("ownerTagKey = %q, %d; want Team (team is preferred on a tie)", k, n)
	}
	if k, _ := ownerTagKey([]Job{{Tags: map[string]string{"owner": ""}}}); k != "" {
		t.Errorf("an empty tag value is no owner: %q", k)
	}
}

// The team rules mirror the generated SQL: first match wins, every
// condition must hold, run_as matches run_as or creator.
func TestTeamMatcher(t *testing.T) {
	s := &spec.Spec{Teams: []spec.Team{
		{Name: "a", Match: spec.Match{Tags: map[string]string{"team": "x"}, JobName: "^etl"}},
		{Name: "b", Match: spec.Match{RunAs: []string{"svc@example.com"}}},
		{Name: "c", Match: spec.Match{Workspaces: []string{"1"}, JobName: "report"}},
	}, UnassignedTeam: "nobody"}
	m := newTeamMatcher(s)
	for _, tc := range []struct {
		j    Job
		want string
	}{
		{Job{Name: "etl_daily", Tags: map[string]string{"team": "x"}}, "a"},
		{Job{Name: "daily_etl", Tags: map[string]string{"team": "x"}}, "nobody"},
		{Job{Name: "etl", Creator: "svc@example.com"}, "b"},
		{Job{Name: "etl", RunAs: "svc@example.com", Creator: "bob@example.com"}, "b"},
		{Job{Name: "weekly report", Workspace: "1"}, "c"},
		{Job{Name: "weekly report", Workspace: "2"}, "nobody"},
	} {
		if got := m.owner(tc.j); got != tc.want {
			t.Errorf("owner(%+v) = %q, want %q", tc.j, got, tc.want)
		}
	}
	js := []Job{{ID: 1, Name: "etl_daily", Tags: map[string]string{"team": "x"}}, {ID: 2, Name: "x"}}
	if got := selectJobs(spec.JobSelector{Team: "nobody"}, js, m); len(got) != 1 || got[0].ID != 2 {
		t.Errorf("unassigned selector: %v", got)
	}
	if got := selectJobs(spec.JobSelector{JobIDs: []string{"1"}}, js, m); len(got) != 1 || got[0].ID != 1 {
		t.Errorf("job_ids selector: %v", got)
	}
}

// A run's duration: run_duration, else setup + execution + cleanup, else
// end - start; success is the SUCCESS result only.
func TestRunFromAPI(t *testing.T) {
	base := jobs.BaseRun{StartTime: 1_000_000, EndTime: 1_600_000,
		Status: &jobs.RunStatus{TerminationDetails: &jobs.TerminationDetails{Code: jobs.TerminationCodeCodeSuccess}}}
	r, ok := runFromAPI(base)
	if !ok || r.Duration != 600*time.Second || !r.Success {
		t.Errorf("end - start: %+v %v", r, ok)
	}
	base.RunDuration = 300_000
	if r, _ := runFromAPI(base); r.Duration != 300*time.Second {
		t.Errorf("run_duration: %s", r.Duration)
	}
	legacy := jobs.BaseRun{StartTime: 1, EndTime: 2, SetupDuration: 1000, ExecutionDuration: 2000, CleanupDuration: 3000,
		State: &jobs.RunState{ResultState: jobs.RunResultStateCanceled}}
	if r, ok := runFromAPI(legacy); !ok || r.Duration != 6*time.Second || r.Success {
		t.Errorf("legacy: %+v", r)
	}
	if _, ok := runFromAPI(jobs.BaseRun{StartTime: 1}); ok {
		t.Errorf("a run without an end is not finished")
	}
}

package model

import (
	"testing"

	"github.com/dbmon/dbmon/generator/spec"
)

// The cases follow the pipeline's SQL (jobs_current's team CASE and the
// SLA selectors); twin/match_test.go checks the same evaluator against the
// pipeline's output on synthetic data.
func TestMatcherTeams(t *testing.T) {
	s := &spec.Spec{UnassignedTeam: "nobody", Teams: []spec.Team{
		{Name: "tagged", Match: spec.Match{Tags: map[string]string{"team": "data", "tier": "gold"}}},
		{Name: "regex", Match: spec.Match{JobName: "^ingest_"}},
		{Name: "people", Match: spec.Match{RunAs: []string{"svc@x.com", ""}}},
		{Name: "ws", Match: spec.Match{Workspaces: []string{"111"}, JobName: "etl"}},
		{Name: "shadowed", Match: spec.Match{JobName: "^ingest_orders$"}},
	}}
	m, err := NewMatcher(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		j    MatchJob
		want string
	}{
		{MatchJob{Name: "a", Tags: map[string]string{"team": "data", "tier": "gold", "x": "y"}}, "tagged"},
		{MatchJob{Name: "a", Tags: map[string]string{"team": "data"}}, "nobody"},                             // every tag must hold
		{MatchJob{Name: "a", Tags: map[string]string{"team": "data", "tier": "Gold"}}, "nobody"},             // values are exact
		{MatchJob{Name: "ingest_orders", Tags: map[string]string{"team": "data", "tier": "gold"}}, "tagged"}, // first rule wins
		{MatchJob{Name: "ingest_orders"}, "regex"},                                                           // and shadows a later one
		{MatchJob{Name: "raw_ingest_x"}, "nobody"},                                                           // anchored regex
		{MatchJob{Name: "x", RunAs: "svc@x.com"}, "people"},
		{MatchJob{Name: "x", RunAs: "someone@x.com", Creator: "svc@x.com"}, "people"}, // run_as OR creator
		{MatchJob{Name: "x"}, "nobody"},                                               // no run_as: "" is NULL, never listed
		{MatchJob{Name: "nightly_etl_v2", WorkspaceID: "111"}, "ws"},                  // unanchored regex matches inside
		{MatchJob{Name: "nightly_etl_v2", WorkspaceID: "222"}, "nobody"},              // and workspace must hold too
		{MatchJob{Name: "nightly_etl_v2"}, "nobody"},
	} {
		if got := m.Team(&tc.j); got != tc.want {
			t.Errorf("%+v: team %s, want %s", tc.j, got, tc.want)
		}
	}
	if m.Unassigned() != "nobody" {
		t.Errorf("unassigned %s", m.Unassigned())
	}
	def, _ := NewMatcher(&spec.Spec{})
	if got := def.Team(&MatchJob{Name: "x"}); got != "unassigned" {
		t.Errorf("no teams: %s", got)
	}
}

func TestMatcherSelectors(t *testing.T) {
	s := &spec.Spec{Teams: []spec.Team{{Name: "core", Match: spec.Match{JobName: "^core_"}}}, SLAs: []spec.SLA{
		{Name: "names", Jobs: spec.JobSelector{Names: []string{"core_a", "b"}}},
		{Name: "regex", Jobs: spec.JobSelector{NameRegex: "_daily$"}},
		{Name: "ids", Jobs: spec.JobSelector{JobIDs: []string{"42"}}},
		{Name: "tags", Jobs: spec.JobSelector{Tags: map[string]string{"tier": "gold", "env": "prod"}}},
		{Name: "team", Jobs: spec.JobSelector{Team: "core"}},
		{Name: "unassigned", Jobs: spec.JobSelector{Team: "unassigned"}},
		{Name: "empty"},
	}}
	m, err := NewMatcher(s)
	if err != nil {
		t.Fatal(err)
	}
	jobs := []MatchJob{
		{JobID: "1", Name: "core_a"},
		{JobID: "42", Name: "b_daily", Tags: map[string]string{"tier": "gold", "env": "prod"}},
		{JobID: "7", Name: "c", Tags: map[string]string{"tier": "gold"}},
	}
	want := map[string][]bool{ // per SLA, per job
		"names": {true, false, false}, "regex": {false, true, false}, "ids": {false, true, false},
		"tags": {false, true, false}, "team": {true, false, false}, "unassigned": {false, true, true},
		"empty": {false, false, false},
	}
	for i, sl := range s.SLAs {
		for k := range jobs {
			if got := m.Selects(i, &jobs[k], m.Team(&jobs[k])); got != want[sl.Name][k] {
				t.Errorf("SLA %s, job %s: %v", sl.Name, jobs[k].Name, got)
			}
			sel, err := CompileSelector(sl.Jobs)
			if err != nil {
				t.Fatal(err)
			}
			if got := sel.Selects(&jobs[k], m.Team(&jobs[k])); got != want[sl.Name][k] {
				t.Errorf("CompileSelector %s, job %s: %v", sl.Name, jobs[k].Name, got)
			}
		}
	}
	if _, err := NewMatcher(&spec.Spec{SLAs: []spec.SLA{{Name: "bad", Jobs: spec.JobSelector{NameRegex: "("}}}}); err == nil {
		t.Error("a bad regex compiled")
	}
}

package twin_test

import (
	"fmt"
	"github.com/dbmon/dbmon/generator/model"
	"path/filepath"
	"testing"

	"github.com/dbmon/dbmon/generator"
	"github.com/dbmon/dbmon/preview"
	"github.com/dbmon/dbmon/synth"
	"github.com/dbmon/dbmon/twin"
)

// matches says whether a finding is the detection of an incident: the family
// meant for it, the same team, and the same job, cluster, SLA or budget.
func matches(f twin.Finding, in synth.Incident) bool {
	if f.Family != in.Family || f.Team != in.Team {
		return false
	}
	switch in.Kind {
	case "sla_deadline_miss", "run_past_max_duration":
		return f.Subject == in.SLA && f.JobID == in.JobID && f.WorkspaceID == in.WorkspaceID
	case "idle_cluster":
		return f.Subject == in.ClusterID && f.WorkspaceID == in.WorkspaceID
	case "budget_overrun":
		return f.Subject == in.Team
	default: // failure_streak, cost_spike, duration_outlier
		return f.JobID == in.JobID && f.WorkspaceID == in.WorkspaceID
	}
}

// scenario is one synthetic run: what was injected, what the detectors
// found, and how every alert of the bundle evaluated.
type scenario struct {
	res      *generator.Result
	found    []twin.Finding
	alerts   []twin.AlertResult
	injected []synth.Incident
}

func findings(t *testing.T, specPath string, incidents bool) ([]twin.Finding, []synth.Incident) {
	sc := runScenario(t, specPath, incidents)
	return sc.found, sc.injected
}

func runScenario(t *testing.T, specPath string, incidents bool) scenario {
	t.Helper()
	res := prepare(t, specPath)
	// Five-minute node records keep the test quick; the detectors weigh
	// records by their length, so the grain does not change what they find.
	cfg := synth.Config{Seed: 7, Jobs: 60, Days: 45, NodeGrainMinutes: 5, Incidents: incidents}
	r := run(t, res, preview.Synthetic(cfg))
	return scenario{res: res, found: r.Findings, alerts: r.Alerts, injected: r.Incidents}
}

// TestIncidentsDetected injects the synthetic incidents and asserts that
// each is found by its family, for its team, and that nothing else is
// flagged.
func TestIncidentsDetected(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the pipeline on 60 jobs x 45 days")
	}
	found, injected := findings(t, "../specs/example.yaml", true)
	kinds := map[string]bool{}
	for _, in := range injected {
		kinds[in.Kind] = true
	}
	for _, k := range []string{"sla_deadline_miss", "failure_streak", "cost_spike", "idle_cluster", "duration_outlier", "budget_overrun", "run_past_max_duration"} {
		if !kinds[k] {
			t.Errorf("specs/example.yaml should allow the %s incident, but synth did not inject it", k)
		}
	}
	for _, in := range injected {
		hit := false
		for _, f := range found {
			hit = hit || matches(f, in)
		}
		if !hit {
			t.Errorf("incident not detected: %s (%s) team %s job %s: %s", in.Kind, in.Family, in.Team, in.JobID, in.Detail)
		}
	}
	for _, f := range found {
		explained := false
		for _, in := range injected {
			explained = explained || matches(f, in)
		}
		if !explained {
			t.Errorf("false positive: %s team %s job %s subject %s: %s", f.Family, f.Team, f.JobID, f.Subject, f.Detail)
		}
	}
}

// TestCleanDataFlagsNothing runs every example spec on clean synthetic data:
// no detector may fire.
func TestCleanDataFlagsNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the pipeline on synthetic data")
	}
	specs, _ := filepath.Glob("../specs/*.yaml")
	for _, path := range specs {
		t.Run(filepath.Base(path), func(t *testing.T) {
			sc := runScenario(t, path, false)
			if len(sc.injected) > 0 {
				t.Errorf("a clean run injected %d incidents", len(sc.injected))
			}
			for _, f := range sc.found {
				t.Errorf("flagged on clean data: %s", fmt.Sprintf("%s team %s job %s: %s", f.Family, f.Team, f.JobID, f.Detail))
			}
			for _, a := range sc.alerts {
				if a.Fired {
					t.Errorf("alert %s fired on clean data: %v", a.Key, a.Rows)
				}
			}
		})
	}
}

// TestAlertsFireForIncidents evaluates every alert resource of the example
// specs on the incident scenario at one instant: each incident of a state
// family (cost, budget, idle cluster) fires an alert of its family whose
// routing covers the incident's team, and every row of every fired alert is
// one of the incidents, of a team the alert covers. Event families (job_failure, duration_anomaly,
// sla_breach) report a finding only in the one evaluation after its data can
// have arrived, so one instant cannot show them; TestReplayExample proves
// each of their incidents notifies exactly once, to its routed destinations.
func TestAlertsFireForIncidents(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the pipeline on 60 jobs x 45 days")
	}
	for _, path := range []string{"../specs/example.yaml", "../specs/multi_workspace.yaml"} {
		t.Run(filepath.Base(path), func(t *testing.T) { alertsFireForIncidents(t, path) })
	}
}

func alertsFireForIncidents(t *testing.T, path string) {
	sc := runScenario(t, path, true)
	byKey := map[string]int{}
	for i, a := range sc.res.Bundle.Alerts {
		byKey[a.Key] = i
	}
	for _, in := range sc.injected {
		if model.EventFamily(in.Family) {
			continue
		}
		fired := false
		for _, r := range sc.alerts {
			a := sc.res.Bundle.Alerts[byKey[r.Key]]
			if r.Fired && r.Family == in.Family && a.Covers(in.Team) {
				fired = true
			}
		}
		if !fired {
			t.Errorf("no %s alert covering team %s fired for the %s incident: %s", in.Family, in.Team, in.Kind, in.Detail)
		}
	}
	fired := 0
	for _, r := range sc.alerts {
		if !r.Fired {
			continue
		}
		fired++
		a := sc.res.Bundle.Alerts[byKey[r.Key]]
		for _, row := range r.Rows {
			// An alert reads its own teams only: a per-team alert its team,
			// the one for teams without destinations none that has them.
			if !a.Covers(row.Team) {
				t.Errorf("alert %s returned a row of team %q, which it does not cover: %+v", r.Key, row.Team, row)
			}
			explained := false
			for _, in := range sc.injected {
				explained = explained || matches(row, in)
			}
			if !explained {
				t.Errorf("alert %s fired on a row that is no incident: %+v", r.Key, row)
			}
		}
	}
	t.Logf("%d of %d alerts fired for %d incidents", fired, len(sc.alerts), len(sc.injected))
}

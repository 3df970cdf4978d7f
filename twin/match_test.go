package twin_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/synth"
	"github.com/dbmon/dbmon/twin"
)

// rulesSpec has rules that shadow each other, an unanchored regex, a
// run_as rule that creators satisfy, tag and workspace conditions, and
// every kind of SLA selector.
const rulesSpec = `version: 1
bundle: {name: rules, catalog: c, schema: s, warehouse: w}
workspaces: [{id: "1111111111111111", name: a}, {id: "2222222222222222", name: b}]
teams:
  - {name: gold, match: {tags: {tier: gold}}}
  - {name: loaders, match: {job_name: "load"}}
  - {name: people, match: {run_as: [anna.schmidt@example.com, ben.carter@example.com]}}
  - {name: west, match: {workspaces: ["2222222222222222"], job_name: "^[a-m]"}}
  - {name: shadowed, match: {job_name: "^orders_load$"}}
slas:
  - {name: by-name, jobs: {names: [orders_load]}, deadline: "06:00"}
  - {name: by-regex, jobs: {name_regex: "_(sync|export)"}, max_duration: 2h}
  - {name: by-tag, jobs: {tags: {tier: gold}}, min_success_rate: 90}
  - {name: by-team, jobs: {team: people}, min_success_rate: 90}
  - {name: leftovers, jobs: {team: unassigned}, min_success_rate: 50}
`

// TestMatcherAgreesWithPipeline checks model.Matcher, the Go evaluator of
// team rules and SLA selectors that synth and import use, against what the
// pipeline's SQL computes on synthetic data: every job's team in
// jobs_current and every SLA's jobs in sla_compliance.
func TestMatcherAgreesWithPipeline(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rules, []byte(rulesSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"../specs/example.yaml", "../specs/multi_workspace.yaml", rules} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			res := prepare(t, path)
			e, err := twin.Open(asOf)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			loader, err := e.Loader()
			if err != nil {
				t.Fatal(err)
			}
			cfg := synth.Config{Seed: 4, Jobs: 80, Days: 10, AsOf: asOf, NodeGrainMinutes: 60}
			if _, err := synth.Generate(res.Spec, cfg, loader); err != nil {
				t.Fatal(err)
			}
			if err := loader.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := e.RunPipeline(res.Bundle, res.Files); err != nil {
				t.Fatal(err)
			}
			m, err := model.NewMatcher(res.Spec)
			if err != nil {
				t.Fatal(err)
			}
			jobs, err := e.Query("SELECT workspace_id, job_id, job_name, team, tags, run_as, creator, is_deleted FROM jobs_current")
			if err != nil {
				t.Fatal(err)
			}
			str := func(v any) string { s, _ := v.(string); return s }
			want := map[[3]string]bool{} // sla, workspace, job
			teams := map[string]bool{}
			for _, r := range jobs {
				tags := map[string]string{}
				if om, ok := r[4].(duckdb.OrderedMap); ok {
					vals := om.Values()
					for i, k := range om.Keys() {
						tags[k.(string)] = vals[i].(string)
					}
				}
				j := model.MatchJob{WorkspaceID: str(r[0]), JobID: str(r[1]), Name: str(r[2]), RunAs: str(r[5]),
					Creator: str(r[6]), Tags: tags}
				team := m.Team(&j)
				teams[team] = true
				if team != str(r[3]) {
					t.Errorf("job %s (%s): pipeline team %s, Matcher %s", j.Name, j.JobID, r[3], team)
				}
				for i, sl := range res.Spec.SLAs {
					if deleted, _ := r[7].(bool); !deleted && m.Selects(i, &j, team) {
						want[[3]string{sl.Name, j.WorkspaceID, j.JobID}] = true
					}
				}
			}
			if len(jobs) < 80 || len(teams) < 2 {
				t.Fatalf("%d jobs in %d teams: too few to compare", len(jobs), len(teams))
			}
			got := map[[3]string]bool{}
			rows, err := e.Query("SELECT DISTINCT sla_name, workspace_id, job_id FROM sla_compliance")
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				k := [3]string{str(r[0]), str(r[1]), str(r[2])}
				got[k] = true
				if !want[k] {
					t.Errorf("the pipeline's SLA %s selects %s/%s, Matcher does not", k[0], k[1], k[2])
				}
			}
			for k := range want {
				if !got[k] {
					t.Errorf("Matcher's SLA %s selects %s/%s, the pipeline does not", k[0], k[1], k[2])
				}
			}
		})
	}
}

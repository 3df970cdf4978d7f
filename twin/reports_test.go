package twin_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/preview"
	"github.com/dbmon/dbmon/synth"
)

// TestReportsOnTheTwin runs every report of every example spec on synthetic
// data: each dataset of the report's dashboard runs, a per-team copy's
// filter reaches the dashboard's team filter by its URL identifier and
// leaves only that team's rows in every dataset with a team column, and
// every team has rows in its copy of some dashboard. A per-team report is
// also tried on every other generated dashboard, so each dashboard's team
// filter is checked.
func TestReportsOnTheTwin(t *testing.T) {
	specs, _ := filepath.Glob("../specs/*.yaml")
	reports := 0
	for _, path := range specs {
		t.Run(filepath.Base(path), func(t *testing.T) {
			res := prepare(t, path)
			b := res.Bundle
			if len(b.Reports) == 0 {
				if len(b.Teams) > 0 {
					t.Fatalf("%s has teams but no report; the check would see nothing", path)
				}
				return
			}
			var perTeam *model.Report
			for i := range b.Reports {
				if b.Reports[i].PerTeam {
					perTeam = &b.Reports[i]
				}
			}
			if perTeam != nil {
				for _, name := range b.Dashboards {
					if name == perTeam.Dashboard {
						continue
					}
					extra := *perTeam
					extra.Name, extra.Dashboard, extra.DashboardKey = perTeam.Name+"-on-"+name, name, b.DashboardKey(name)
					b.Reports = append(b.Reports, extra)
				}
			}
			r := run(t, res, preview.Synthetic(synth.Config{Seed: 5, Jobs: 16, Days: 35, NodeGrainMinutes: 60}))
			byReport := map[string]int{}
			teamsWithRows := map[string]map[string]bool{}
			for _, c := range r.Reports {
				byReport[c.Report]++
				if len(c.Datasets) == 0 {
					t.Errorf("report %s task %s: no datasets", c.Report, c.Task)
				}
				for _, ds := range c.Datasets {
					hasTeam := slices.Contains(ds.Columns, "team")
					switch {
					case c.Team == "" && ds.Filtered != "":
						t.Errorf("report %s: dataset %s is filtered by %s in a copy over every team", c.Report, ds.Name, ds.Filtered)
					case c.Team != "" && hasTeam && ds.Filtered != "team":
						t.Errorf("report %s team %s: dataset %s has a team column but the team filter does not reach it", c.Report, c.Team, ds.Name)
					case c.Team != "" && !hasTeam && ds.Filtered != "":
						t.Errorf("report %s team %s: dataset %s without a team column is filtered by %s", c.Report, c.Team, ds.Name, ds.Filtered)
					}
					if ds.Filtered == "" {
						continue
					}
					i := slices.Index(ds.Columns, "team")
					for _, row := range ds.Rows {
						if row[i] != c.Team {
							t.Errorf("report %s team %s: dataset %s keeps a row of team %v", c.Report, c.Team, ds.Name, row[i])
							break
						}
					}
					if len(ds.Rows) > 0 {
						if teamsWithRows[c.Report] == nil {
							teamsWithRows[c.Report] = map[string]bool{}
						}
						teamsWithRows[c.Report][c.Team] = true
					}
				}
			}
			for _, rep := range b.Reports {
				reports++
				if byReport[rep.Name] != len(rep.Tasks) {
					t.Errorf("report %s: %d copies on the twin, %d tasks in the bundle", rep.Name, byReport[rep.Name], len(rep.Tasks))
				}
				if !rep.PerTeam {
					continue
				}
				// A team may have no failures, say, but every copy of a report
				// being empty means the filter matches nothing; and every team
				// has rows on some dashboard.
				if len(teamsWithRows[rep.Name]) == 0 {
					t.Errorf("report %s: every team's copy is empty in every filtered dataset", rep.Name)
				}
				for _, task := range rep.Tasks {
					if !slices.ContainsFunc(b.Reports, func(o model.Report) bool { return teamsWithRows[o.Name][task.Team] }) {
						t.Errorf("team %s: its copy of every per-team report is empty", task.Team)
					}
				}
			}
		})
	}
	if reports == 0 {
		t.Fatal("no example spec has a report")
	}
}

// TestReportFilterMustMatch: a filter key that is not the URL identifier of
// one of the dashboard's filters is an error, since Databricks would ignore
// it and mail every team's rows.
func TestReportFilterMustMatch(t *testing.T) {
	res := prepare(t, "../specs/example.yaml")
	for i, rep := range res.Bundle.Reports {
		if rep.PerTeam {
			res.Bundle.Reports[i].Tasks[0].Filters[0].Key = "f_global_filters~filter_tema"
		}
	}
	r, err := preview.Run(t.Context(), res, preview.Empty(), asOf)
	if err == nil {
		r.Close()
		t.Fatal("a filter key that names no filter passed")
	}
	if !strings.Contains(err.Error(), "filter f_global_filters~filter_tema matches no filter of dashboard failure_analysis") {
		t.Errorf("error %q does not name the filter", err)
	}
}

package dashboard_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbmon/dbmon/generator"
	"github.com/dbmon/dbmon/generator/dashboard"
	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/synth"
	"github.com/dbmon/dbmon/twin"
)

var asOf = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func prepareData(t *testing.T, path string, data []byte) *generator.Result {
	t.Helper()
	res, diags, err := generator.Prepare(path, data)
	if err != nil || len(diags) > 0 {
		t.Fatalf("%s: %v %v", path, err, diags)
	}
	return res
}

func prepare(t *testing.T, path string) *generator.Result {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return prepareData(t, path, data)
}

func build(t *testing.T, b *model.Bundle) []dashboard.File {
	t.Helper()
	files, err := dashboard.Build(b)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func parse(t *testing.T, f dashboard.File) *dashboard.Dashboard {
	t.Helper()
	var d dashboard.Dashboard
	if err := json.Unmarshal(f.JSON, &d); err != nil {
		t.Fatalf("%s: %v", f.Path, err)
	}
	return &d
}

func specs(t *testing.T) []string {
	t.Helper()
	paths, _ := filepath.Glob("../../specs/*.yaml")
	if len(paths) == 0 {
		t.Fatal("no specs")
	}
	return paths
}

// TestEverySpecValid builds every dashboard of every example spec and
// validates it.
func TestEverySpecValid(t *testing.T) {
	for _, path := range specs(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			res := prepare(t, path)
			files := build(t, res.Bundle)
			if len(files) != len(res.Bundle.Dashboards) {
				t.Fatalf("%d files for %d dashboards", len(files), len(res.Bundle.Dashboards))
			}
			for i, f := range files {
				if f.Name != res.Bundle.Dashboards[i] {
					t.Errorf("file %d is %s, want %s", i, f.Name, res.Bundle.Dashboards[i])
				}
				if want := "src/dashboards/" + f.Name + ".lvdash.json"; f.Path != want {
					t.Errorf("path %s, want %s", f.Path, want)
				}
				if f.DisplayName == "" {
					t.Errorf("%s has no display name", f.Name)
				}
				for _, p := range dashboard.Validate(f) {
					t.Errorf("%s: %s", f.Name, p)
				}
				if !bytes.HasSuffix(f.JSON, []byte("}\n")) || !bytes.HasPrefix(f.JSON, []byte("{\n  \"datasets\"")) {
					t.Errorf("%s: not 2-space indented JSON ending in a newline", f.Name)
				}
				d := parse(t, f)
				last := d.Pages[len(d.Pages)-1]
				if last.PageType != dashboard.PageGlobalFilters {
					t.Errorf("%s: the last page is %s, want the global filters page", f.Name, last.PageType)
				}
				var kinds []string
				for _, item := range last.Layout {
					kinds = append(kinds, item.Widget.Spec.WidgetType)
				}
				if !slices.Contains(kinds, dashboard.FilterDateRange) || !slices.Contains(kinds, dashboard.FilterMulti) {
					t.Errorf("%s: global filters %v lack a date range or a multi-select", f.Name, kinds)
				}
			}
		})
	}
}

// TestValidateCatches breaks a valid dashboard one way at a time and expects
// Validate to name the problem, so the validation above can fail.
func TestValidateCatches(t *testing.T) {
	res := prepare(t, "../../specs/example.yaml")
	// canvas returns the first canvas page and the index of its first data
	// widget of the given type.
	find := func(d *dashboard.Dashboard, widgetType string) (*dashboard.Page, int) {
		pg := &d.Pages[0]
		for i, item := range pg.Layout {
			if item.Widget.Spec != nil && item.Widget.Spec.WidgetType == widgetType {
				return pg, i
			}
		}
		t.Fatalf("no %s widget", widgetType)
		return nil, 0
	}
	cases := []struct {
		name   string
		want   string
		break_ func(d *dashboard.Dashboard)
	}{
		{"overlap", "overlap", func(d *dashboard.Dashboard) {
			pg, i := find(d, dashboard.Counter)
			pg.Layout[i+1].Position = pg.Layout[i].Position
		}},
		{"bad datasetName", `datasetName "ds_nope"`, func(d *dashboard.Dashboard) {
			pg, i := find(d, dashboard.Line)
			pg.Layout[i].Widget.Queries[0].Query.DatasetName = "ds_nope"
		}},
		{"unknown fieldName", `fieldName "sum(nope)"`, func(d *dashboard.Dashboard) {
			pg, i := find(d, dashboard.Counter)
			pg.Layout[i].Widget.Spec.Encodings.Value.FieldName = "sum(nope)"
		}},
		{"unused field", "is used by no encoding", func(d *dashboard.Dashboard) {
			pg, i := find(d, dashboard.Table)
			q := &pg.Layout[i].Widget.Queries[0].Query
			q.Fields = append(q.Fields, dashboard.Field{Name: "extra", Expression: "`extra`"})
		}},
		{"wrong version", "needs spec version 2, not 3", func(d *dashboard.Dashboard) {
			pg, i := find(d, dashboard.Counter)
			pg.Layout[i].Widget.Spec.Version = 3
		}},
		{"wrong chart version", "needs spec version 3, not 2", func(d *dashboard.Dashboard) {
			pg, i := find(d, dashboard.Line)
			pg.Layout[i].Widget.Spec.Version = 2
		}},
		{"x+width > 6", "exceeds the 6-column grid", func(d *dashboard.Dashboard) {
			pg, i := find(d, dashboard.Table)
			pg.Layout[i].Position.X = 4
		}},
		{"negative y", "is negative", func(d *dashboard.Dashboard) {
			d.Pages[0].Layout[0].Position.Y = -1
		}},
		{"no pageType", "has no pageType", func(d *dashboard.Dashboard) {
			d.Pages[0].PageType = ""
		}},
		{"duplicate widget name", "the name is also used", func(d *dashboard.Dashboard) {
			pg, i := find(d, dashboard.Counter)
			pg.Layout[i+1].Widget.Name = pg.Layout[i].Widget.Name
		}},
		{"duplicate dataset", "is used twice", func(d *dashboard.Dashboard) {
			d.Datasets = append(d.Datasets, d.Datasets[0])
		}},
		{"queryLine without newline", "does not end in a newline", func(d *dashboard.Dashboard) {
			d.Datasets[0].QueryLines[0] = strings.TrimSuffix(d.Datasets[0].QueryLines[0], "\n")
		}},
		{"filter queryName", `names query "nope"`, func(d *dashboard.Dashboard) {
			pg := &d.Pages[len(d.Pages)-1]
			pg.Layout[0].Widget.Spec.Encodings.Fields[0].QueryName = "nope"
		}},
		{"filter fieldName", `fieldName "nope"`, func(d *dashboard.Dashboard) {
			pg := &d.Pages[len(d.Pages)-1]
			pg.Layout[1].Widget.Spec.Encodings.Fields[0].FieldName = "nope"
		}},
		{"unknown widget type", `unknown widgetType "gauge"`, func(d *dashboard.Dashboard) {
			pg, i := find(d, dashboard.Bar)
			pg.Layout[i].Widget.Spec.WidgetType = "gauge"
		}},
		{"no pages", "top-level pages is missing", func(d *dashboard.Dashboard) {
			d.Pages = nil
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, name := range res.Bundle.Dashboards {
				d, err := dashboard.New(res.Bundle, name)
				if err != nil {
					t.Fatal(err)
				}
				if p := dashboard.ValidateDashboard(d); len(p) > 0 {
					t.Fatalf("%s is invalid before breaking it: %v", name, p)
				}
				if name != "job_operations" { // has every widget type the cases need
					continue
				}
				c.break_(d)
				data, err := dashboard.Marshal(d)
				if err != nil {
					t.Fatal(err)
				}
				problems := dashboard.Validate(dashboard.File{Name: name, Path: "src/dashboards/" + name + ".lvdash.json", JSON: data})
				found := false
				for _, p := range problems {
					found = found || strings.Contains(p, c.want)
				}
				if !found {
					t.Errorf("want a problem containing %q, got %q", c.want, problems)
				}
			}
		})
	}
	if p := dashboard.Validate(dashboard.File{JSON: []byte(`{"datasets": []}`)}); len(p) == 0 {
		t.Error("a file without pages validates")
	}
	if p := dashboard.Validate(dashboard.File{JSON: []byte(`[1]`)}); len(p) == 0 {
		t.Error("a JSON array validates")
	}
}

// TestDeterministic builds twice and compares the bytes.
func TestDeterministic(t *testing.T) {
	for _, path := range specs(t) {
		a := build(t, prepare(t, path).Bundle)
		b := build(t, prepare(t, path).Bundle)
		if len(a) != len(b) {
			t.Fatalf("%s: %d files, then %d", path, len(a), len(b))
		}
		for i := range a {
			if a[i].Path != b[i].Path || !bytes.Equal(a[i].JSON, b[i].JSON) {
				t.Errorf("%s: %s differs between two builds", path, a[i].Path)
			}
		}
	}
}

// TestOnlyListedDashboards: a spec listing one dashboard gets exactly that
// file, and a KPI left on the default (ungenerated) executive_overview
// shows up on it rather than nowhere.
func TestOnlyListedDashboards(t *testing.T) {
	data, err := os.ReadFile("../../specs/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, []byte(`
kpis:
  - name: spend
    source: job_runs_enriched
    value: "sum(cost_net)"
    format: currency
    target: {max: 1000}
dashboards: [cost_analysis]
`)...)
	res := prepareData(t, "cost_only.yaml", data)
	files := build(t, res.Bundle)
	if len(files) != 1 || files[0].Name != "cost_analysis" || files[0].Path != "src/dashboards/cost_analysis.lvdash.json" {
		var names []string
		for _, f := range files {
			names = append(names, f.Path)
		}
		t.Fatalf("got %v, want only src/dashboards/cost_analysis.lvdash.json", names)
	}
	if !bytes.Contains(files[0].JSON, []byte(`"title": "spend (target ≤ 1000 USD)"`)) {
		t.Error("the KPI counter is missing from cost_analysis")
	}
}

// TestKPITargetsInTitles: example.yaml's KPI has target max 0.05 as a
// percent and lives on executive_overview.
func TestKPITargetsInTitles(t *testing.T) {
	res := prepare(t, "../../specs/example.yaml")
	for _, f := range build(t, res.Bundle) {
		has := bytes.Contains(f.JSON, []byte(`"title": "Spend wasted on failed runs (target ≤ 5%)"`))
		if has != (f.Name == "executive_overview") {
			t.Errorf("%s: KPI counter present = %v", f.Name, has)
		}
	}
}

// backticked finds the column references of a field expression.
var backticked = regexp.MustCompile("`([^`]+)`")

// mayBeEmpty are the datasets that need an incident on the latest day or a
// rare event, so a synthetic month can leave them empty.
var mayBeEmpty = map[string]bool{
	"ds_sla_breaches": true, // a breach on the latest day
}

// TestDatasetsRunOnTwin builds the pipeline on synthetic data and runs
// every dataset of every dashboard of every example spec: it must translate
// (only functions the twin knows), read only pipeline tables, and yield every
// column a widget field refers to. On specs/example.yaml the datasets must
// also return rows.
func TestDatasetsRunOnTwin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the pipeline on 40 jobs x 40 days per spec")
	}
	for _, path := range specs(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			runOnTwin(t, path, filepath.Base(path) == "example.yaml")
		})
	}
}

func runOnTwin(t *testing.T, path string, wantRows bool) {
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
	cfg := synth.Config{Seed: 1, Jobs: 40, Days: 40, AsOf: asOf, NodeGrainMinutes: 60, Incidents: true}
	if _, err := synth.Generate(res.Spec, cfg, loader); err != nil {
		t.Fatal(err)
	}
	if err := loader.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.RunPipeline(res.Bundle, res.Files); err != nil {
		t.Fatal(err)
	}

	readable := map[string]bool{"bronze_workspaces": true}
	for _, tb := range res.Bundle.Tables {
		readable[tb.Name] = true
	}
	for _, f := range build(t, res.Bundle) {
		d := parse(t, f)
		columns := map[string][]string{}
		for _, ds := range d.Datasets {
			sql := strings.Join(ds.QueryLines, "")
			st, err := twin.Translate(sql, twin.Context{AsOf: e.AsOf})
			if err != nil {
				t.Errorf("%s/%s: %v\n%s", f.Name, ds.Name, err, sql)
				continue
			}
			for _, ref := range st.Refs {
				if !readable[ref] {
					t.Errorf("%s/%s reads %s, not a pipeline table", f.Name, ds.Name, ref)
				}
			}
			rows, err := e.DB.Query("SELECT * FROM (" + st.Query + ") LIMIT 0")
			if err != nil {
				t.Errorf("%s/%s: %v\n%s", f.Name, ds.Name, err, st.Query)
				continue
			}
			columns[ds.Name], err = rows.Columns()
			rows.Close()
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Query(sql)
			if err != nil {
				t.Errorf("%s/%s: %v", f.Name, ds.Name, err)
				continue
			}
			t.Logf("%s/%s: %d rows", f.Name, ds.Name, len(got))
			if wantRows && len(got) == 0 && !mayBeEmpty[ds.Name] {
				t.Errorf("%s/%s returns no rows on the synthetic data", f.Name, ds.Name)
			}
		}
		for _, pg := range d.Pages {
			for _, item := range pg.Layout {
				for _, q := range item.Widget.Queries {
					cols, ok := columns[q.Query.DatasetName]
					if !ok {
						continue // reported above
					}
					for _, field := range q.Query.Fields {
						for _, m := range backticked.FindAllStringSubmatch(field.Expression, -1) {
							if m[1] != "*" && !slices.Contains(cols, m[1]) {
								t.Errorf("%s: widget %s: field %s refers to %s, not a column of %s %v",
									f.Name, item.Widget.Name, field.Name, m[1], q.Query.DatasetName, cols)
							}
						}
					}
				}
			}
		}
	}
}

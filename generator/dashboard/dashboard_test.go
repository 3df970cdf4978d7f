package dashboard_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbmon/dbmon/generator/dashboard"
	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/render"
	"github.com/dbmon/dbmon/generator/spec"
	"github.com/dbmon/dbmon/synth"
	"github.com/dbmon/dbmon/twin"
)

var asOf = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// loaded is a spec with its bundle and its dashboard files.
type loaded struct {
	spec   *spec.Spec
	bundle *model.Bundle
	files  []dashboard.File
}

func loadData(t *testing.T, path string, data []byte) loaded {
	t.Helper()
	s, diags := spec.Load(path, data)
	if len(diags) > 0 {
		t.Fatalf("%s: %v", path, diags)
	}
	b, err := model.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	files, err := render.Dashboards(b)
	if err != nil {
		t.Fatal(err)
	}
	return loaded{s, b, files}
}

func load(t *testing.T, path string) loaded {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return loadData(t, path, data)
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

// ---- Validate ----

// valid is a small hand-written dashboard with one widget of each kind
// Validate inspects; each case of TestValidateRejects breaks one thing.
func valid() *dashboard.Dashboard {
	fields := func(names ...string) []dashboard.Field {
		var out []dashboard.Field
		for _, n := range names {
			out = append(out, dashboard.Field{Name: n, Expression: "`" + n + "`"})
		}
		return out
	}
	main := func(fs ...string) []dashboard.WidgetQuery {
		return []dashboard.WidgetQuery{{Name: "main_query", Query: dashboard.Query{DatasetName: "ds", Fields: fields(fs...)}}}
	}
	enc := func(f string) *dashboard.Encoding { return &dashboard.Encoding{FieldName: f} }
	return &dashboard.Dashboard{
		Datasets: []dashboard.Dataset{{Name: "ds", DisplayName: "DS", QueryLines: []string{"SELECT 1 AS a,\n", "2 AS b\n"}}},
		Pages: []dashboard.Page{
			{Name: "main", DisplayName: "Main", PageType: dashboard.PageCanvas, Layout: []dashboard.LayoutItem{
				{Widget: dashboard.Widget{Name: "text", MultilineTextboxSpec: &dashboard.TextboxSpec{Lines: []string{"# T"}}},
					Position: dashboard.Position{X: 0, Y: 0, Width: 6, Height: 1}},
				{Widget: dashboard.Widget{Name: "counter", Queries: main("a"),
					Spec: &dashboard.Spec{Version: 2, WidgetType: dashboard.Counter, Encodings: dashboard.Encodings{Value: enc("a")}}},
					Position: dashboard.Position{X: 0, Y: 1, Width: 2, Height: 2}},
				{Widget: dashboard.Widget{Name: "bar", Queries: main("a", "b"),
					Spec: &dashboard.Spec{Version: 3, WidgetType: dashboard.Bar, Encodings: dashboard.Encodings{X: enc("a"), Y: enc("b")}}},
					Position: dashboard.Position{X: 2, Y: 1, Width: 4, Height: 2}},
				{Widget: dashboard.Widget{Name: "table", Queries: main("a"),
					Spec: &dashboard.Spec{Version: dashboard.TableVersion, WidgetType: dashboard.Table,
						Encodings: dashboard.Encodings{Columns: []dashboard.TableColumn{{FieldName: "a", DisplayName: "A"}}}}},
					Position: dashboard.Position{X: 0, Y: 3, Width: 6, Height: 2}},
			}},
			{Name: "filters", DisplayName: "Filters", PageType: dashboard.PageGlobalFilters, Layout: []dashboard.LayoutItem{
				{Widget: dashboard.Widget{Name: "filter",
					Queries: []dashboard.WidgetQuery{{Name: "q_a", Query: dashboard.Query{DatasetName: "ds", Fields: fields("a")}}},
					Spec: &dashboard.Spec{Version: 2, WidgetType: dashboard.FilterMulti,
						Encodings: dashboard.Encodings{Fields: []dashboard.FilterField{{FieldName: "a", DisplayName: "A", QueryName: "q_a"}}}}},
					Position: dashboard.Position{X: 0, Y: 0, Width: 2, Height: 2}},
			}},
		},
	}
}

func file(t *testing.T, d *dashboard.Dashboard) dashboard.File {
	t.Helper()
	data, err := dashboard.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return dashboard.File{Name: "x", Path: "src/dashboards/x.lvdash.json", JSON: data}
}

// TestValidateRejects breaks a valid dashboard one way per check of
// Validate and expects exactly the problems that name the break.
func TestValidateRejects(t *testing.T) {
	if p := dashboard.Validate(file(t, valid())); len(p) > 0 {
		t.Fatalf("the base dashboard is invalid: %q", p)
	}
	canvas := func(d *dashboard.Dashboard, i int) *dashboard.LayoutItem { return &d.Pages[0].Layout[i] }
	filter := func(d *dashboard.Dashboard) *dashboard.Widget { return &d.Pages[1].Layout[0].Widget }
	const counter, bar, table = 1, 2, 3
	cases := []struct {
		name   string
		break_ func(d *dashboard.Dashboard)
		want   []string
	}{
		{"no datasets", func(d *dashboard.Dashboard) {
			d.Datasets = []dashboard.Dataset{}
			for i := range d.Pages[0].Layout[1:] {
				canvas(d, i+1).Widget.Queries[0].Query.DatasetName = ""
			}
			filter(d).Queries[0].Query.DatasetName = ""
		}, []string{"the dashboard has no datasets",
			`page main: widget counter: query main_query: datasetName "" is not a dataset of the dashboard`,
			`page main: widget bar: query main_query: datasetName "" is not a dataset of the dashboard`,
			`page main: widget table: query main_query: datasetName "" is not a dataset of the dashboard`,
			`page filters: widget filter: query q_a: datasetName "" is not a dataset of the dashboard`}},
		{"no pages", func(d *dashboard.Dashboard) { d.Pages = nil },
			[]string{"top-level pages is missing", "the dashboard has no pages"}},
		{"dataset without name", func(d *dashboard.Dashboard) {
			d.Datasets = append(d.Datasets, dashboard.Dataset{DisplayName: "D", QueryLines: []string{"SELECT 1\n"}})
		}, []string{"dataset 1 () has no name"}},
		{"dataset twice", func(d *dashboard.Dashboard) { d.Datasets = append(d.Datasets, d.Datasets[0]) },
			[]string{"dataset name ds is used twice"}},
		{"dataset without displayName", func(d *dashboard.Dashboard) { d.Datasets[0].DisplayName = "" },
			[]string{"dataset 0 (ds) has no displayName"}},
		{"dataset without queryLines", func(d *dashboard.Dashboard) { d.Datasets[0].QueryLines = nil },
			[]string{"dataset 0 (ds) has no queryLines"}},
		{"queryLine without newline", func(d *dashboard.Dashboard) { d.Datasets[0].QueryLines[0] = "SELECT 1 AS a," },
			[]string{`dataset 0 (ds): queryLines[0] does not end in a newline, so it runs into the next line: "SELECT 1 AS a,"`}},
		{"page without name", func(d *dashboard.Dashboard) { d.Pages[1].Name = "" },
			[]string{"a page has no name"}},
		{"page twice", func(d *dashboard.Dashboard) { d.Pages[1].Name = "main" },
			[]string{"page name main is used twice"}},
		{"no pageType", func(d *dashboard.Dashboard) { d.Pages[0].PageType = "" },
			[]string{"page main has no pageType"}},
		{"unknown pageType", func(d *dashboard.Dashboard) { d.Pages[0].PageType = "PAGE_TYPE_X" },
			[]string{`page main has unknown pageType "PAGE_TYPE_X"`}},
		{"widget without name", func(d *dashboard.Dashboard) { canvas(d, counter).Widget.Name = "" },
			[]string{"page main: layout[1] has no widget name"}},
		{"widget name on two pages", func(d *dashboard.Dashboard) { filter(d).Name = "bar" },
			[]string{"page filters: widget bar: the name is also used on page main"}},
		{"negative x", func(d *dashboard.Dashboard) { canvas(d, counter).Position.X = -1 },
			[]string{"page main: widget counter: x = -1 is negative"}},
		{"negative y", func(d *dashboard.Dashboard) { canvas(d, table).Position.Y = -1 },
			[]string{"page main: widget table: y = -1 is negative",
				"page main: widgets text (x=0 y=0 w=6 h=1) and table (x=0 y=-1 w=6 h=2) overlap"}},
		{"zero width", func(d *dashboard.Dashboard) { canvas(d, table).Position.Width = 0 },
			[]string{"page main: widget table: width = 0 is less than 1"}},
		{"zero height", func(d *dashboard.Dashboard) { canvas(d, table).Position.Height = 0 },
			[]string{"page main: widget table: height = 0 is less than 1"}},
		{"wider than the grid", func(d *dashboard.Dashboard) { canvas(d, table).Position.X = 1 },
			[]string{"page main: widget table: x + width = 7 exceeds the 6-column grid"}},
		{"overlap", func(d *dashboard.Dashboard) { canvas(d, bar).Position.X = 1 },
			[]string{"page main: widgets counter (x=0 y=1 w=2 h=2) and bar (x=1 y=1 w=4 h=2) overlap"}},
		{"text widget with a spec", func(d *dashboard.Dashboard) {
			canvas(d, 0).Widget.Spec = &dashboard.Spec{Version: 2, WidgetType: dashboard.Counter}
		}, []string{"page main: widget text: a text widget has no spec or queries"}},
		{"neither spec nor text", func(d *dashboard.Dashboard) { canvas(d, counter).Widget.Spec = nil },
			[]string{"page main: widget counter has neither a spec nor a multilineTextboxSpec"}},
		{"no widgetType", func(d *dashboard.Dashboard) { canvas(d, table).Widget.Spec.WidgetType = "" },
			[]string{"page main: widget table has no widgetType"}},
		{"unknown widgetType", func(d *dashboard.Dashboard) { canvas(d, table).Widget.Spec.WidgetType = "gauge" },
			[]string{`page main: widget table has unknown widgetType "gauge"`}},
		{"wrong counter version", func(d *dashboard.Dashboard) { canvas(d, counter).Widget.Spec.Version = 3 },
			[]string{"page main: widget counter: a counter widget needs spec version 2, not 3"}},
		{"wrong chart version", func(d *dashboard.Dashboard) { canvas(d, bar).Widget.Spec.Version = 2 },
			[]string{"page main: widget bar: a bar widget needs spec version 3, not 2"}},
		{"chart on the filters page", func(d *dashboard.Dashboard) {
			d.Pages[1].Layout = append(d.Pages[1].Layout, *canvas(d, counter))
			d.Pages[1].Layout[1].Widget.Name = "counter2"
			d.Pages[1].Layout[1].Position.Y = 2
		}, []string{"page filters: widget counter2: only filters belong on the global filters page, not a counter"}},
		{"no queries", func(d *dashboard.Dashboard) { canvas(d, table).Widget.Queries = nil },
			[]string{"page main: widget table has no queries",
				`page main: widget table: encoding columns[0] names query "", which the widget does not have`}},
		{"query without name", func(d *dashboard.Dashboard) {
			filter(d).Queries[0].Name = ""
			filter(d).Spec.Encodings.Fields[0].QueryName = ""
		}, []string{"page filters: widget filter: a query has no name"}},
		{"query twice", func(d *dashboard.Dashboard) { filter(d).Queries = append(filter(d).Queries, filter(d).Queries[0]) },
			[]string{"page filters: widget filter: query name q_a is used twice"}},
		{"unknown datasetName", func(d *dashboard.Dashboard) { canvas(d, bar).Widget.Queries[0].Query.DatasetName = "nope" },
			[]string{`page main: widget bar: query main_query: datasetName "nope" is not a dataset of the dashboard`}},
		{"query without fields", func(d *dashboard.Dashboard) { canvas(d, table).Widget.Queries[0].Query.Fields = nil },
			[]string{"page main: widget table: query main_query has no fields",
				`page main: widget table: encoding columns[0] uses fieldName "a", which is not a field of query main_query`}},
		{"field without expression", func(d *dashboard.Dashboard) { canvas(d, table).Widget.Queries[0].Query.Fields[0].Expression = "" },
			[]string{`page main: widget table: query main_query: a field needs a name and an expression (name "a", expression "")`}},
		{"field twice", func(d *dashboard.Dashboard) {
			q := &canvas(d, table).Widget.Queries[0].Query
			q.Fields = append(q.Fields, q.Fields[0])
		}, []string{"page main: widget table: query main_query: field name a is used twice"}},
		{"encoding names another query", func(d *dashboard.Dashboard) { filter(d).Spec.Encodings.Fields[0].QueryName = "nope" },
			[]string{`page filters: widget filter: encoding fields[0] names query "nope", which the widget does not have`,
				"page filters: widget filter: field a of query q_a is used by no encoding"}},
		{"encoding without fieldName", func(d *dashboard.Dashboard) { canvas(d, bar).Widget.Spec.Encodings.Y.FieldName = "" },
			[]string{"page main: widget bar: encoding y has no fieldName",
				"page main: widget bar: field b of query main_query is used by no encoding"}},
		{"unknown fieldName", func(d *dashboard.Dashboard) { canvas(d, counter).Widget.Spec.Encodings.Value.FieldName = "sum(a)" },
			[]string{`page main: widget counter: encoding value uses fieldName "sum(a)", which is not a field of query main_query`,
				"page main: widget counter: field a of query main_query is used by no encoding"}},
		{"filter without fields", func(d *dashboard.Dashboard) { filter(d).Spec.Encodings.Fields = nil },
			[]string{"page filters: widget filter: a filter needs encodings.fields",
				"page filters: widget filter: field a of query q_a is used by no encoding"}},
		{"two queries on a chart", func(d *dashboard.Dashboard) {
			w := &canvas(d, counter).Widget
			w.Queries = append(w.Queries, dashboard.WidgetQuery{Name: "second", Query: w.Queries[0].Query})
		}, []string{"page main: widget counter: a counter widget has one query, not 2",
			"page main: widget counter: field a of query second is used by no encoding"}},
		{"filter fields on a table", func(d *dashboard.Dashboard) {
			canvas(d, table).Widget.Spec.Encodings.Fields = []dashboard.FilterField{{FieldName: "a", QueryName: "main_query"}}
		}, []string{"page main: widget table: encodings.fields belongs to filters, not a table"}},
		{"bar without y", func(d *dashboard.Dashboard) {
			w := &canvas(d, bar).Widget
			w.Spec.Encodings.Y = nil
			w.Queries[0].Query.Fields = w.Queries[0].Query.Fields[:1]
		}, []string{"page main: widget bar: a bar widget needs a y encoding"}},
		{"counter without value", func(d *dashboard.Dashboard) {
			w := &canvas(d, counter).Widget
			w.Spec.Encodings.Value, w.Spec.Encodings.X = nil, &dashboard.Encoding{FieldName: "a"}
		}, []string{"page main: widget counter: a counter widget needs a value encoding"}},
		{"table without columns", func(d *dashboard.Dashboard) {
			w := &canvas(d, table).Widget
			w.Spec.Encodings.Columns, w.Spec.Encodings.X = nil, &dashboard.Encoding{FieldName: "a"}
		}, []string{"page main: widget table: a table needs encodings.columns"}},
		{"unused field", func(d *dashboard.Dashboard) {
			q := &canvas(d, table).Widget.Queries[0].Query
			q.Fields = append(q.Fields, dashboard.Field{Name: "b", Expression: "`b`"})
		}, []string{"page main: widget table: field b of query main_query is used by no encoding"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := valid()
			c.break_(d)
			got := dashboard.Validate(file(t, d))
			if !slices.Equal(got, c.want) {
				t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
			}
		})
	}

	// What only the file can get wrong.
	good := file(t, valid())
	fileCases := []struct {
		name string
		f    dashboard.File
		want string
	}{
		{"not JSON", dashboard.File{JSON: []byte("[1]\n")}, "not a JSON object: "},
		{"no datasets key", dashboard.File{JSON: []byte(`{"pages": []}` + "\n")}, "top-level datasets is missing"},
		{"no final newline", dashboard.File{Name: "x", Path: good.Path, JSON: bytes.TrimSuffix(good.JSON, []byte("\n"))},
			"the file does not end in a newline"},
		{"wrong path", dashboard.File{Name: "x", Path: "src/x.lvdash.json", JSON: good.JSON},
			"path src/x.lvdash.json is not src/dashboards/x.lvdash.json"},
		{"wrong shape", dashboard.File{JSON: []byte(`{"datasets": 1, "pages": []}` + "\n")}, "does not decode as a dashboard: "},
	}
	for _, c := range fileCases {
		got := dashboard.Validate(c.f)
		if !slices.ContainsFunc(got, func(p string) bool { return strings.HasPrefix(p, c.want) }) {
			t.Errorf("%s: problems %q, want one starting %q", c.name, got, c.want)
		}
	}
}

// TestBuildRenderErrors: a dataset query template that fails fails Build,
// naming the dataset.
func TestBuildRenderErrors(t *testing.T) {
	l := load(t, "../../specs/minimal.yaml")
	boom := errors.New("boom")
	_, err := dashboard.Build(l.bundle, func(block string, _ any) (string, error) {
		if block == "ds_cost_daily" {
			return "", boom
		}
		return "SELECT 1\n", nil
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "dataset ds_cost_daily") {
		t.Errorf("Build with a failing block: %v", err)
	}
}

// ---- what Build makes ----

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
	files := loadData(t, "cost_only.yaml", data).files
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
	for _, f := range load(t, "../../specs/example.yaml").files {
		has := bytes.Contains(f.JSON, []byte(`"title": "Spend wasted on failed runs (target ≤ 5%)"`))
		if has != (f.Name == "executive_overview") {
			t.Errorf("%s: KPI counter present = %v", f.Name, has)
		}
	}
}

// TestGlobalFilters: every dashboard of the example ends with the global
// filters page: a date range, a team and a workspace multi-select, each
// bound to at least one dataset.
func TestGlobalFilters(t *testing.T) {
	for _, f := range load(t, "../../specs/example.yaml").files {
		d := parse(t, f)
		last := d.Pages[len(d.Pages)-1]
		if last.PageType != dashboard.PageGlobalFilters {
			t.Errorf("%s: the last page is %s, want the global filters page", f.Name, last.PageType)
			continue
		}
		kinds := map[string]string{}
		for _, item := range last.Layout {
			if len(item.Widget.Queries) > 0 {
				kinds[item.Widget.Name] = item.Widget.Spec.WidgetType
			}
		}
		want := map[string]string{"filter_date": dashboard.FilterDateRange, "filter_team": dashboard.FilterMulti,
			"filter_workspace": dashboard.FilterMulti}
		for name, kind := range want {
			if kinds[name] != kind {
				t.Errorf("%s: filter %s is %q, want a %s bound to a dataset", f.Name, name, kinds[name], kind)
			}
		}
	}
}

// TestKPIDataset: a KPI name reaches its dataset only as an
// escaped literal, and in the comment without a line break.
func TestKPIDataset(t *testing.T) {
	data, err := os.ReadFile("../../specs/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, []byte(`
kpis:
  - {name: slow_runs, source: job_runs_enriched, value: "avg(duration_seconds)", format: duration, by: workspace}
`)...)
	l := loadData(t, "kpi.yaml", data)
	var sql string
	for _, f := range l.files {
		for _, ds := range parse(t, f).Datasets {
			if ds.Name == "ds_kpi_slow_runs" {
				sql = strings.Join(ds.QueryLines, "")
			}
		}
	}
	for _, want := range []string{
		"SELECT x.breakdown, x.value / 60 AS value, coalesce(w.workspace_name, x.breakdown) AS workspace_name\n",
		"LEFT JOIN workspaces w ON w.workspace_id = x.breakdown\n",
		"WHERE x.kpi_name = 'slow_runs'\n",
	} {
		if !strings.Contains(sql, want) {
			t.Errorf("the KPI dataset lacks %q:\n%s", want, sql)
		}
	}
}

// translated is every dataset of every dashboard of a spec, translated for
// the twin.
func translated(t *testing.T, l loaded) map[string]map[string]twin.Statement {
	t.Helper()
	out := map[string]map[string]twin.Statement{}
	for _, f := range l.files {
		out[f.Name] = map[string]twin.Statement{}
		for _, ds := range parse(t, f).Datasets {
			sql := strings.Join(ds.QueryLines, "")
			st, err := twin.Translate(sql, twin.Context{AsOf: asOf})
			if err != nil {
				t.Errorf("%s/%s: %v\n%s", f.Name, ds.Name, err, sql)
				continue
			}
			out[f.Name][ds.Name] = st
		}
	}
	return out
}

// TestDatasetsReadDocumentedTables: as the package documents, datasets read
// gold tables only: a bronze, config or silver table, or anything the model
// does not declare, fails. Every gold table meant for the dashboards is read.
func TestDatasetsReadDocumentedTables(t *testing.T) {
	read := map[string]bool{}
	for _, path := range specs(t) {
		l := load(t, path)
		for dash, sets := range translated(t, l) {
			for name, st := range sets {
				if len(st.Refs) == 0 {
					t.Errorf("%s: %s/%s reads no table", filepath.Base(path), dash, name)
				}
				for _, ref := range st.Refs {
					if tb, ok := model.PipelineTableByName(ref); !ok || tb.Layer != "gold" {
						t.Errorf("%s: %s/%s reads %s, which is not a gold table", filepath.Base(path), dash, name, ref)
					}
					read[ref] = true
				}
			}
		}
	}
	for _, name := range []string{"workspaces", "recent_failures", "cost_by_job_sku"} {
		if !read[name] {
			t.Errorf("no dataset reads gold table %s", name)
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
// every dataset of every dashboard of every example spec: each must yield
// every column a widget field refers to, numbers where a widget sums or
// averages, dates where it truncates to a day or week. On specs/example.yaml
// the datasets must also return rows.
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

// fieldKinds is what a widget field's expression needs of its column.
var fieldKinds = []struct {
	prefix string
	types  []string
}{
	{"SUM(", []string{"DOUBLE", "BIGINT", "HUGEINT", "INTEGER", "DECIMAL"}},
	{"AVG(", []string{"DOUBLE", "BIGINT", "HUGEINT", "INTEGER", "DECIMAL"}},
	{"DATE_TRUNC(", []string{"DATE", "TIMESTAMP"}},
}

func runOnTwin(t *testing.T, path string, wantRows bool) {
	l := load(t, path)
	files, err := render.Render(l.bundle)
	if err != nil {
		t.Fatal(err)
	}
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
	if _, err := synth.Generate(l.spec, cfg, loader); err != nil {
		t.Fatal(err)
	}
	if err := loader.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.RunPipeline(l.bundle, files); err != nil {
		t.Fatal(err)
	}

	for _, f := range l.files {
		d := parse(t, f)
		types := map[string]map[string]string{} // dataset -> column -> DuckDB type
		for _, ds := range d.Datasets {
			sql := strings.Join(ds.QueryLines, "")
			st, err := twin.Translate(sql, twin.Context{AsOf: e.AsOf})
			if err != nil {
				t.Errorf("%s/%s: %v\n%s", f.Name, ds.Name, err, sql)
				continue
			}
			rows, err := e.DB.Query("SELECT * FROM (" + st.Query + ") LIMIT 0")
			if err != nil {
				t.Errorf("%s/%s: %v\n%s", f.Name, ds.Name, err, st.Query)
				continue
			}
			cts, err := rows.ColumnTypes()
			rows.Close()
			if err != nil {
				t.Fatal(err)
			}
			types[ds.Name] = map[string]string{}
			for _, ct := range cts {
				types[ds.Name][ct.Name()] = ct.DatabaseTypeName()
			}
			got, err := e.Query(sql)
			if err != nil {
				t.Errorf("%s/%s: %v", f.Name, ds.Name, err)
				continue
			}
			if wantRows && len(got) == 0 && !mayBeEmpty[ds.Name] {
				t.Errorf("%s/%s returns no rows on the synthetic data", f.Name, ds.Name)
			}
		}
		for _, pg := range d.Pages {
			for _, item := range pg.Layout {
				for _, q := range item.Widget.Queries {
					cols, ok := types[q.Query.DatasetName]
					if !ok {
						continue // reported above
					}
					for _, field := range q.Query.Fields {
						for _, m := range backticked.FindAllStringSubmatch(field.Expression, -1) {
							typ, ok := cols[m[1]]
							if !ok {
								t.Errorf("%s: widget %s: field %s refers to %s, not a column of %s",
									f.Name, item.Widget.Name, field.Name, m[1], q.Query.DatasetName)
								continue
							}
							for _, k := range fieldKinds {
								base, _, _ := strings.Cut(typ, "(")
								if strings.HasPrefix(field.Expression, k.prefix) && !slices.Contains(k.types, base) {
									t.Errorf("%s: widget %s: field %s needs %v, %s.%s is %s",
										f.Name, item.Widget.Name, field.Name, k.types, q.Query.DatasetName, m[1], typ)
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestEstimateDatasetsPerDashboard: monitor_footprint estimates the
// dashboards' warehouse time from model.EstimateDatasetsPerDashboard, which
// must stay the rounded mean of what the dashboards really run.
func TestEstimateDatasetsPerDashboard(t *testing.T) {
	l := load(t, filepath.Join("..", "..", "specs", "example.yaml"))
	n := 0
	for _, f := range l.files {
		n += len(parse(t, f).Datasets)
	}
	mean := float64(n) / float64(len(l.files))
	if got := int(math.Round(mean)); got != model.EstimateDatasetsPerDashboard {
		t.Errorf("the example's %d dashboards run %.2f datasets on average; model.EstimateDatasetsPerDashboard is %d",
			len(l.files), mean, model.EstimateDatasetsPerDashboard)
	}
}

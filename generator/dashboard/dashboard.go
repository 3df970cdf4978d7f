// Package dashboard builds the AI/BI (Lakeview) dashboards of a bundle: one
// .lvdash.json file per name in model.Bundle.Dashboards.
//
// The file format has no published schema. The types below follow the shapes
// in shared/reference/bundle-format.md §3 and the real export
// shared/reference/examples/nyc_taxi_trip_analysis.lvdash.json: datasets with
// queryLines, pages with a pageType, layout items that hold the widget inline,
// and a 6-column grid (no layoutVersion). Validate checks the rules the server
// only reports at deploy time, or not at all (an unknown fieldName renders an
// empty widget).
//
// Datasets read the pipeline's gold tables only, by bare name (the bundle's
// dataset_catalog / dataset_schema qualify them): workspace names and URLs
// come from the gold workspaces table and the failure drill-down from
// recent_failures, so a viewer needs SELECT on gold alone and a change to
// bronze or silver cannot break a dashboard. Every dataset runs on the twin
// (package twin), so it may only call the Databricks functions the twin knows.
//
// The dataset queries are templates (templates/dashboards/*.sql.tmpl, one
// named block per dataset) that package render executes for this package:
// Go here builds the JSON structure, never SQL text.
package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dbmon/dbmon/generator/model"
)

// File is one generated dashboard file.
type File struct {
	Name        string // dashboard name from the spec, e.g. cost_analysis
	DisplayName string // the dashboard's title
	Path        string // relative to the bundle root: src/dashboards/<name>.lvdash.json
	JSON        []byte // the .lvdash.json content: 2-space indented, ending in a newline
}

// Dashboard is the top level of a .lvdash.json file. Struct field order is
// the JSON key order, so the output is deterministic.
type Dashboard struct {
	Datasets []Dataset `json:"datasets"`
	Pages    []Page    `json:"pages"`
}

// Dataset is a named SQL query. The server concatenates queryLines verbatim,
// so every line ends in "\n".
type Dataset struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"displayName"`
	QueryLines  []string `json:"queryLines"`
}

// Page types.
const (
	PageCanvas        = "PAGE_TYPE_CANVAS"
	PageGlobalFilters = "PAGE_TYPE_GLOBAL_FILTERS"
)

// Page is a canvas page or the global filters page.
type Page struct {
	Name        string       `json:"name"`
	DisplayName string       `json:"displayName"`
	PageType    string       `json:"pageType"`
	Layout      []LayoutItem `json:"layout"`
}

// LayoutItem places one widget on the page's grid.
type LayoutItem struct {
	Widget   Widget   `json:"widget"`
	Position Position `json:"position"`
}

// GridColumns is the width of a page without layoutVersion (bundle-format.md
// §3: every export has max x+width = 6; the 12-column GRID_V1 is unconfirmed).
const GridColumns = 6

// Position is a cell range of the grid.
type Position struct {
	X      int `json:"x"`
	Y      int `json:"y"`
	Width  int `json:"width"`
	Height int `json:"height"`
}

// Widget is a data widget (queries and spec) or a text widget
// (multilineTextboxSpec, no spec).
type Widget struct {
	Name                 string        `json:"name"`
	Queries              []WidgetQuery `json:"queries,omitempty"`
	Spec                 *Spec         `json:"spec,omitempty"`
	MultilineTextboxSpec *TextboxSpec  `json:"multilineTextboxSpec,omitempty"`
}

// TextboxSpec is markdown; the lines are concatenated.
type TextboxSpec struct {
	Lines []string `json:"lines"`
}

// WidgetQuery is one named query of a widget: "main_query" for charts,
// counters and tables; one per target dataset for filters.
type WidgetQuery struct {
	Name  string `json:"name"`
	Query Query  `json:"query"`
}

// Query selects fields of a dataset. Disaggregated means raw rows; otherwise
// the widget groups by the plain fields and aggregates the others.
type Query struct {
	DatasetName   string  `json:"datasetName"`
	Fields        []Field `json:"fields"`
	Disaggregated bool    `json:"disaggregated"`
}

// Field is a named expression over the dataset's columns, e.g.
// {"sum(cost_net)", "SUM(`cost_net`)"}. Encodings refer to it by Name.
type Field struct {
	Name       string `json:"name"`
	Expression string `json:"expression"`
}

// Spec is a data widget's visualization.
type Spec struct {
	Version    int       `json:"version"`
	WidgetType string    `json:"widgetType"`
	Encodings  Encodings `json:"encodings"`
	Frame      *Frame    `json:"frame,omitempty"`
}

// Frame is the widget's title bar.
type Frame struct {
	ShowTitle       bool   `json:"showTitle"`
	Title           string `json:"title"`
	ShowDescription bool   `json:"showDescription,omitempty"`
	Description     string `json:"description,omitempty"`
}

// Encodings map fields to visual channels; which ones apply depends on the
// widget type (counter: value, target; bar/line/area: x, y, color; pie:
// angle, color; table: columns; filters: fields).
type Encodings struct {
	X       *Encoding     `json:"x,omitempty"`
	Y       *Encoding     `json:"y,omitempty"`
	Color   *Encoding     `json:"color,omitempty"`
	Angle   *Encoding     `json:"angle,omitempty"`
	Value   *Encoding     `json:"value,omitempty"`
	Target  *Encoding     `json:"target,omitempty"`
	Label   *Label        `json:"label,omitempty"`
	Columns []TableColumn `json:"columns,omitempty"`
	Fields  []FilterField `json:"fields,omitempty"`
}

// Encoding binds one field to a channel.
type Encoding struct {
	FieldName   string  `json:"fieldName"`
	Scale       *Scale  `json:"scale,omitempty"`
	DisplayName string  `json:"displayName,omitempty"`
	Format      *Format `json:"format,omitempty"`
}

// Scale types.
const (
	ScaleTemporal     = "temporal"
	ScaleQuantitative = "quantitative"
	ScaleCategorical  = "categorical"
)

// Scale is an encoding's scale.
type Scale struct {
	Type string `json:"type"`
}

// Label toggles data labels on a chart.
type Label struct {
	Show bool `json:"show"`
}

// TableColumn is one column of a version-2 table: fieldName and displayName
// are all it needs; format for money and percentages.
type TableColumn struct {
	FieldName   string  `json:"fieldName"`
	DisplayName string  `json:"displayName"`
	Format      *Format `json:"format,omitempty"`
}

// FilterField binds a filter to one field of one of its queries.
type FilterField struct {
	FieldName   string `json:"fieldName"`
	DisplayName string `json:"displayName"`
	QueryName   string `json:"queryName"`
}

// Format is a number format.
type Format struct {
	Type          string         `json:"type"` // number-plain | number-currency | number-percent
	CurrencyCode  string         `json:"currencyCode,omitempty"`
	Abbreviation  string         `json:"abbreviation,omitempty"`
	DecimalPlaces *DecimalPlaces `json:"decimalPlaces,omitempty"`
}

// DecimalPlaces: "max" drops trailing zeros, "exact" keeps them.
type DecimalPlaces struct {
	Type   string `json:"type"`
	Places int    `json:"places"`
}

// Widget types and their spec versions.
const (
	Counter         = "counter"
	Bar             = "bar"
	Line            = "line"
	Area            = "area"
	Pie             = "pie"
	Table           = "table"
	FilterMulti     = "filter-multi-select"
	FilterSingle    = "filter-single-select"
	FilterDateRange = "filter-date-range-picker"
)

// TableVersion is the table spec version dbmon emits. All exports seen use
// version 1, which carries about twenty display properties per column (type,
// displayAs, numberFormat, order, link templates, ...); Databricks' own
// dashboard skill (2026-08, newer than the exports) documents version 2,
// whose columns need only fieldName and displayName, and bundle-format.md §3
// recommends it. Version 2 is chosen because the generator then never has to
// guess per-column display types that the server would have to agree with;
// if a workspace turns out to need version 1, only the table builder changes.
const TableVersion = 2

// SpecVersions is the spec version each widget type needs
// (bundle-format.md §3).
var SpecVersions = map[string]int{
	Counter:         2,
	Bar:             3,
	Line:            3,
	Area:            3,
	Pie:             3,
	"scatter":       3,
	"heatmap":       3,
	"histogram":     3,
	"pivot":         3,
	"combo":         1,
	Table:           TableVersion,
	FilterMulti:     2,
	FilterSingle:    2,
	FilterDateRange: 2,
	"range-slider":  2,
}

// isFilter reports whether a widget type is a filter.
func isFilter(widgetType string) bool {
	return strings.HasPrefix(widgetType, "filter-") || widgetType == "range-slider"
}

// Marshal encodes a dashboard: keys in struct order, 2-space indent, no HTML
// escaping (titles hold "≤" and "&"), a final newline.
func Marshal(d *Dashboard) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil { // Encode ends with "\n"
		return nil, err
	}
	return buf.Bytes(), nil
}

// Titles are the human names of the dashboards.
var Titles = map[string]string{
	"executive_overview": "Executive overview",
	"job_operations":     "Job operations",
	"cost_analysis":      "Cost analysis",
	"failure_analysis":   "Failure analysis",
}

// SQL renders the dataset query template named block (a dataset name, or
// kpi) with data, a sqlData. Package render supplies it: the blocks of
// templates/dashboards/*.sql.tmpl, executed with the render FuncMap.
type SQL func(block string, data any) (string, error)

// sqlData is what a dataset query template sees.
type sqlData struct {
	Bundle *model.Bundle
	// RankDays is the window of the ranked tables, in days.
	RankDays int
	// KPI is the KPI of a kpi dataset; zero for the others.
	KPI model.KPI
}

// Build generates one file per name in b.Dashboards, in that order. Every
// dashboard is validated; a problem is a generator bug and fails the build.
func Build(b *model.Bundle, sql SQL) ([]File, error) {
	var out []File
	for _, name := range b.Dashboards {
		d, err := New(b, name, sql)
		if err != nil {
			return nil, err
		}
		data, err := Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", name, err)
		}
		f := File{Name: name, DisplayName: DisplayName(b, name), Path: Path(name), JSON: data}
		if problems := Validate(f); len(problems) > 0 {
			return nil, fmt.Errorf("internal error: dashboard %s is invalid:\n  %s", name, strings.Join(problems, "\n  "))
		}
		out = append(out, f)
	}
	return out, nil
}

// DisplayName is the dashboard's title in the workspace.
func DisplayName(b *model.Bundle, name string) string { return Titles[name] + " - " + b.Name }

// Path is the dashboard file, relative to the bundle root.
func Path(name string) string { return "src/dashboards/" + name + ".lvdash.json" }

// New builds the named dashboard; sql renders its dataset queries.
func New(b *model.Bundle, name string, sql SQL) (*Dashboard, error) {
	build, ok := dashboards[name]
	if !ok {
		return nil, fmt.Errorf("unknown dashboard %q", name)
	}
	d := newBuilder(b, name, sql)
	d.text("header", "# "+Titles[name], 1)
	build(d)
	if !d.kpisPlaced { // the dashboard did not place them itself
		d.kpiSection()
	}
	if d.err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", name, d.err)
	}
	return d.dashboard(), nil
}

// ---- builder ----

// builder accumulates one dashboard's datasets and its canvas page.
type builder struct {
	b        *model.Bundle
	name     string
	datasets []dataset
	grid     grid
	widgets  map[string]bool
	sql      SQL
	err      error // the first dataset query that failed to render
	// kpisPlaced is set once the KPI section is on the page; a dashboard
	// may place it where it fits, else it goes last.
	kpisPlaced bool
}

// dataset is a Dataset with what the global filters need to know about its
// result columns.
type dataset struct {
	Dataset
	date      string // the date column the date-range filter applies to; "" for none
	team      bool   // has a team column
	workspace bool   // has a workspace_name column
}

// filterable declares which global filters apply to a dataset.
type filterable struct {
	date            string
	team, workspace bool
}

func newBuilder(b *model.Bundle, name string, sql SQL) *builder {
	return &builder{b: b, name: name, widgets: map[string]bool{}, sql: sql}
}

// dataset adds the dataset whose query is the template block of its name
// and returns the name.
func (d *builder) dataset(name, displayName string, f filterable) string {
	return d.datasetFrom(name, displayName, name, sqlData{}, f)
}

// datasetFrom adds a dataset whose query is the template block, rendered
// with data (Bundle and RankDays are filled in), and returns its name.
func (d *builder) datasetFrom(name, displayName, block string, data sqlData, f filterable) string {
	for _, ds := range d.datasets {
		if ds.Name == name {
			panic("dashboard: duplicate dataset " + name) // a bug in this package
		}
	}
	data.Bundle, data.RankDays = d.b, rankDays
	sql, err := d.sql(block, data)
	if err != nil && d.err == nil {
		d.err = fmt.Errorf("dataset %s: %w", name, err)
	}
	d.datasets = append(d.datasets, dataset{
		Dataset: Dataset{Name: name, DisplayName: displayName, QueryLines: queryLines(sql)},
		date:    f.date, team: f.team, workspace: f.workspace,
	})
	return name
}

// hasDataset reports whether the dashboard already has the dataset (shared
// datasets are added by the first widget that needs them).
func (d *builder) hasDataset(name string) bool {
	for _, ds := range d.datasets {
		if ds.Name == name {
			return true
		}
	}
	return false
}

// queryLines splits SQL into lines ending in "\n", dropping the common
// indentation and leading and trailing blank lines.
func queryLines(sql string) []string {
	sql = strings.TrimLeft(sql, "\n")
	sql = strings.TrimRight(sql, " \t\n")
	lines := strings.Split(sql, "\n")
	indent := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " \t"))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if len(l) >= indent && indent > 0 {
			l = l[indent:]
		}
		out = append(out, l+"\n")
	}
	return out
}

// widgetName returns name, made unique within the dashboard.
func (d *builder) widgetName(name string) string {
	n := name
	for i := 2; d.widgets[n]; i++ {
		n = fmt.Sprintf("%s_%d", name, i)
	}
	d.widgets[n] = true
	return n
}

// place puts a widget on the canvas grid.
func (d *builder) place(w Widget, width, height int) {
	d.grid.put(w, width, height)
}

// section starts a new band: later widgets go below everything placed so far.
func (d *builder) section(title string) {
	d.grid.section()
	if title != "" {
		d.text("section_"+model.ResourceKey(title), "## "+title, 1)
	}
}

// text adds a full-width markdown text widget.
func (d *builder) text(name, markdown string, height int) {
	d.grid.section()
	d.place(Widget{Name: d.widgetName(name), MultilineTextboxSpec: &TextboxSpec{Lines: []string{markdown}}}, GridColumns, height)
}

// counter adds a counter. The value is aggregated over the dataset's rows
// (disaggregated false), unless it is a bare column: then the dataset has
// one row, read as is. target, if set, is the comparison the counter shows
// the change against.
func (d *builder) counter(name, title, ds string, value axis, target *axis, width, height int) {
	fields := []Field{value.field}
	enc := Encodings{Value: &Encoding{FieldName: value.field.Name, DisplayName: value.display, Format: value.format}}
	if target != nil {
		fields = append(fields, target.field)
		enc.Target = &Encoding{FieldName: target.field.Name, DisplayName: target.display, Format: target.format}
	}
	d.place(Widget{
		Name:    d.widgetName(name),
		Queries: mainQuery(ds, fields, isPlain(value.field)),
		Spec:    &Spec{Version: SpecVersions[Counter], WidgetType: Counter, Encodings: enc, Frame: frame(title)},
	}, width, height)
}

// axis is one channel of a widget: a field, its scale (charts only), its
// label and its number format.
type axis struct {
	field   Field
	scale   string
	display string
	format  *Format
}

func (a axis) encoding() *Encoding {
	e := &Encoding{FieldName: a.field.Name, DisplayName: a.display, Format: a.format}
	if a.scale != "" {
		e.Scale = &Scale{Type: a.scale}
	}
	return e
}

// chart adds a bar, line or area chart; color may be nil.
func (d *builder) chart(kind, name, title, ds string, x, y axis, color *axis, width, height int) {
	fields := []Field{x.field, y.field}
	enc := Encodings{X: x.encoding(), Y: y.encoding()}
	if color != nil {
		fields = append(fields, color.field)
		enc.Color = color.encoding()
	}
	d.place(Widget{
		Name:    d.widgetName(name),
		Queries: mainQuery(ds, fields, false),
		Spec:    &Spec{Version: SpecVersions[kind], WidgetType: kind, Encodings: enc, Frame: frame(title)},
	}, width, height)
}

// pie adds a pie chart: angle is the measure, color the category.
func (d *builder) pie(name, title, ds string, angle, color axis, width, height int) {
	d.place(Widget{
		Name:    d.widgetName(name),
		Queries: mainQuery(ds, []Field{angle.field, color.field}, false),
		Spec: &Spec{Version: SpecVersions[Pie], WidgetType: Pie, Frame: frame(title),
			Encodings: Encodings{Angle: angle.encoding(), Color: color.encoding(), Label: &Label{Show: true}}},
	}, width, height)
}

// column is one table column: a dataset column shown as is.
type column struct {
	name, display string
	format        *Format
}

// table adds a table of the dataset's rows, in the dataset's order.
func (d *builder) table(name, title, ds string, cols []column, width, height int) {
	fields := make([]Field, len(cols))
	enc := make([]TableColumn, len(cols))
	for i, c := range cols {
		fields[i] = col(c.name)
		enc[i] = TableColumn{FieldName: c.name, DisplayName: c.display, Format: c.format}
	}
	d.place(Widget{
		Name:    d.widgetName(name),
		Queries: mainQuery(ds, fields, true),
		Spec: &Spec{Version: SpecVersions[Table], WidgetType: Table, Frame: frame(title),
			Encodings: Encodings{Columns: enc}},
	}, width, height)
}

func mainQuery(ds string, fields []Field, disaggregated bool) []WidgetQuery {
	return []WidgetQuery{{Name: "main_query", Query: Query{DatasetName: ds, Fields: fields, Disaggregated: disaggregated}}}
}

func frame(title string) *Frame { return &Frame{ShowTitle: true, Title: title} }

// Field helpers, named as the UI names them: sum(x) is SUM(`x`).
func col(name string) Field { return Field{Name: name, Expression: "`" + name + "`"} }
func agg(fn, name string) Field {
	return Field{Name: fn + "(" + name + ")", Expression: strings.ToUpper(fn) + "(`" + name + "`)"}
}
func sum(name string) Field  { return agg("sum", name) }
func avg(name string) Field  { return agg("avg", name) }
func maxf(name string) Field { return agg("max", name) }
func minf(name string) Field { return agg("min", name) }
func daily(name string) Field {
	return Field{Name: "daily(" + name + ")", Expression: `DATE_TRUNC("DAY", ` + "`" + name + "`)"}
}
func weekly(name string) Field {
	return Field{Name: "weekly(" + name + ")", Expression: `DATE_TRUNC("WEEK", ` + "`" + name + "`)"}
}

// isPlain reports whether a field is a bare column (no aggregate).
func isPlain(f Field) bool { return f.Expression == "`"+f.Name+"`" }

// Formats.
func (d *builder) money() *Format {
	return &Format{Type: "number-currency", CurrencyCode: d.b.Monitor.Pricing.Currency, Abbreviation: "compact",
		DecimalPlaces: &DecimalPlaces{Type: "max", Places: 2}}
}

var (
	percent = &Format{Type: "number-percent", DecimalPlaces: &DecimalPlaces{Type: "max", Places: 1}}
	count   = &Format{Type: "number-plain", Abbreviation: "compact", DecimalPlaces: &DecimalPlaces{Type: "max", Places: 1}}
	number  = &Format{Type: "number-plain", DecimalPlaces: &DecimalPlaces{Type: "max", Places: 2}}
	minutes = &Format{Type: "number-plain", DecimalPlaces: &DecimalPlaces{Type: "max", Places: 1}}
)

// ---- grid ----

// grid packs widgets skyline-style on the 6-column grid: each widget goes to
// the lowest free spot, leftmost on ties, so nothing ever overlaps.
type grid struct {
	top   [GridColumns]int
	items []LayoutItem
}

func (g *grid) put(w Widget, width, height int) {
	bestX, bestY := 0, -1
	for x := 0; x+width <= GridColumns; x++ {
		y := 0
		for _, t := range g.top[x : x+width] {
			y = max(y, t)
		}
		if bestY < 0 || y < bestY {
			bestX, bestY = x, y
		}
	}
	for x := bestX; x < bestX+width; x++ {
		g.top[x] = bestY + height
	}
	g.items = append(g.items, LayoutItem{Widget: w, Position: Position{X: bestX, Y: bestY, Width: width, Height: height}})
}

func (g *grid) section() {
	m := 0
	for _, t := range g.top {
		m = max(m, t)
	}
	for i := range g.top {
		g.top[i] = m
	}
}

// ---- assembly ----

// dashboard assembles the canvas page and the global filters page.
func (d *builder) dashboard() *Dashboard {
	out := &Dashboard{Pages: []Page{{Name: d.name, DisplayName: Titles[d.name], PageType: PageCanvas, Layout: d.grid.items}}}
	for _, ds := range d.datasets {
		out.Datasets = append(out.Datasets, ds.Dataset)
	}
	if filters := d.filters(); len(filters) > 0 {
		out.Pages = append(out.Pages, Page{Name: model.FiltersPageName, DisplayName: "Filters", PageType: PageGlobalFilters, Layout: filters})
	}
	return out
}

// filters builds the global filters: a date range over each dataset's date
// column, and team and workspace multi-selects over the datasets that have
// those columns. Each has one query per dataset it filters, named
// dashboards/<dashboard>/datasets/<dataset>_<field> as in the exports.
func (d *builder) filters() []LayoutItem {
	type target struct{ ds, field string }
	var dates, teams, workspaces []target
	for _, ds := range d.datasets {
		if ds.date != "" {
			dates = append(dates, target{ds.Name, ds.date})
		}
		if ds.team {
			teams = append(teams, target{ds.Name, "team"})
		}
		if ds.workspace {
			workspaces = append(workspaces, target{ds.Name, "workspace_name"})
		}
	}
	var g grid
	add := func(name, kind, title string, targets []target) {
		if len(targets) == 0 {
			return
		}
		w := Widget{Name: name, Spec: &Spec{Version: SpecVersions[kind], WidgetType: kind, Frame: frame(title)}}
		for _, t := range targets {
			qn := "dashboards/" + d.name + "/datasets/" + t.ds + "_" + t.field
			w.Queries = append(w.Queries, WidgetQuery{Name: qn,
				Query: Query{DatasetName: t.ds, Fields: []Field{col(t.field)}, Disaggregated: false}})
			w.Spec.Encodings.Fields = append(w.Spec.Encodings.Fields, FilterField{FieldName: t.field, DisplayName: title, QueryName: qn})
		}
		g.section()
		g.put(w, 2, 2)
	}
	add("filter_date", FilterDateRange, "Date range", dates)
	// A per-team report's dashboard task finds this filter by its URL
	// identifier, model.TeamFilterURLKey, made of the page's and this name.
	add(model.TeamFilterWidget, FilterMulti, "Team", teams)
	add("filter_workspace", FilterMulti, "Workspace", workspaces)
	return g.items
}

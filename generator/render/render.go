package render

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"text/template"

	"github.com/dbmon/dbmon"
	"github.com/dbmon/dbmon/generator/dashboard"
	"github.com/dbmon/dbmon/generator/model"
)

// File is one generated file.
type File struct {
	Path string // slash-separated, relative to the bundle root
	Data []byte
}

// FileTemplate maps one template to the files it makes. Each returns the
// output path and the data the template sees, once per file.
type FileTemplate struct {
	Template string
	Files    func(b *model.Bundle) ([]Instance, error)
}

// Instance is one file a FileTemplate makes.
type Instance struct {
	Path string
	Data any
}

// tableData is what the per-table pipeline templates see.
type tableData struct {
	Bundle *model.Bundle
	Table  model.BronzeTable
}

// pipelineTableData is what a silver or gold table's template sees.
type pipelineTableData struct {
	Bundle *model.Bundle
	Table  model.PipelineTable
}

// partials are parsed into every template: shared named blocks such as the
// pipeline table header.
const partials = "templates/partials/*.tmpl"

func single(path string) func(b *model.Bundle) ([]Instance, error) {
	return func(b *model.Bundle) ([]Instance, error) { return []Instance{{Path: path, Data: b}}, nil }
}

// Manifest is the table of templates and the files they make.
var Manifest = []FileTemplate{
	{Template: "databricks.yml.tmpl", Files: single("databricks.yml")},
	{Template: "templates/bundle/README.md.tmpl", Files: single("README.md")},
	{Template: "templates/resources/schema.yml.tmpl", Files: single("resources/schema.yml")},
	{Template: "templates/resources/pipeline.yml.tmpl", Files: single("resources/pipeline.yml")},
	{Template: "templates/resources/jobs.yml.tmpl", Files: single("resources/jobs.yml")},
	{Template: "templates/resources/alerts.yml.tmpl", Files: alertFiles},
	{Template: "templates/resources/dashboards.yml.tmpl", Files: dashboardResources},
	{Template: "templates/collector/jobs_api_collector.py.tmpl", Files: collectorFiles},
	{Template: "templates/maintenance/retention.py.tmpl", Files: single("src/maintenance/retention.py")},
	{Template: "templates/maintenance/history.py.tmpl", Files: historyFiles},
	{Template: "templates/pipeline/gold_history.py.tmpl", Files: single(model.HistorySource)},
	{Template: "templates/docs/data_dictionary.md.tmpl", Files: single("docs/data_dictionary.md")},
	{Template: "templates/docs/runbook.md.tmpl", Files: runbookFiles},
	{Template: "templates/pipeline/bronze_streaming.py.tmpl", Files: bronzeFiles(true)},
	{Template: "templates/pipeline/bronze_batch.sql.tmpl", Files: bronzeFiles(false)},
}

func init() {
	// One template per silver and gold table, each making one file.
	for _, t := range model.PipelineTables() {
		name := t.Name
		Manifest = append(Manifest, FileTemplate{Template: t.Template(), Files: func(b *model.Bundle) ([]Instance, error) {
			for _, bt := range b.Tables {
				if bt.Name == name {
					return []Instance{{Path: bt.File(), Data: pipelineTableData{Bundle: b, Table: bt}}}, nil
				}
			}
			return nil, nil
		}})
	}
}

// dashboardResources makes resources/dashboards.yml for the dashboards that
// package dashboard builds (their .lvdash.json files are added by Render).
func dashboardResources(b *model.Bundle) ([]Instance, error) {
	if len(b.Dashboards) == 0 {
		return nil, nil
	}
	type resource struct{ Key, DisplayName, Path string }
	var rs []resource
	for _, name := range b.Dashboards {
		rs = append(rs, resource{Key: b.DashboardKey(name), DisplayName: dashboard.DisplayName(b, name), Path: dashboard.Path(name)})
	}
	return []Instance{{Path: "resources/dashboards.yml", Data: struct{ Dashboards []resource }{rs}}}, nil
}

// renderedAlert is an alert with its query_text.
type renderedAlert struct {
	Alert model.Alert
	Query string
}

// alertFiles makes resources/alerts.yml, or nothing when the spec routes no
// alert anywhere.
func alertFiles(b *model.Bundle) ([]Instance, error) {
	if len(b.Alerts) == 0 {
		return nil, nil
	}
	queries, err := AlertQueries(b, "${var.catalog}.${var.schema}.")
	if err != nil {
		return nil, err
	}
	var alerts []renderedAlert
	for i, a := range b.Alerts {
		alerts = append(alerts, renderedAlert{Alert: a, Query: queries[i]})
	}
	return []Instance{{Path: "resources/alerts.yml", Data: struct {
		Bundle *model.Bundle
		Alerts []renderedAlert
	}{b, alerts}}}, nil
}

// runbookFamily is one section of the runbook.
type runbookFamily struct {
	Doc    model.FamilyDoc
	Alerts []model.Alert
	Why    string // why no alert was generated
	Query  string
}

// runbookFiles makes docs/runbook.md: per alert family (and KPI targets)
// what it means, what to check first, its alerts and its query.
func runbookFiles(b *model.Bundle) ([]Instance, error) {
	queries, err := Findings(b, b.Catalog+"."+b.Schema+".")
	if err != nil {
		return nil, err
	}
	var families []runbookFamily
	for _, q := range queries {
		doc := model.KPIDoc
		for _, f := range model.Families {
			if f.Name == q.Family {
				doc = f.Doc
			}
		}
		rf := runbookFamily{Doc: doc, Query: q.SQL,
			Why: "the family is disabled, or neither its notify list nor any team it routes to has destinations."}
		if q.Family == "kpi" {
			rf.Why = "no KPI has both a target and notify."
		}
		for _, a := range b.Alerts {
			if a.Family == q.Family {
				rf.Alerts = append(rf.Alerts, a)
			}
		}
		families = append(families, rf)
	}
	return []Instance{{Path: "docs/runbook.md", Data: struct {
		Bundle   *model.Bundle
		Families []runbookFamily
	}{b, families}}}, nil
}

func bronzeFiles(streaming bool) func(b *model.Bundle) ([]Instance, error) {
	return func(b *model.Bundle) ([]Instance, error) {
		var out []Instance
		for _, t := range b.Bronze {
			if t.Streaming == streaming {
				out = append(out, Instance{Path: t.File(), Data: tableData{Bundle: b, Table: t}})
			}
		}
		return out, nil
	}
}

// Render executes every template of the manifest and returns the files sorted
// by path. It fails on the first template error, naming the template.
func Render(b *model.Bundle) ([]File, error) {
	var dashboards []dashboard.File
	var dashErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		dashboards, dashErr = Dashboards(b)
	}()
	files, err := renderTemplates(Manifest, b)
	<-done
	if err != nil {
		return nil, err
	}
	if dashErr != nil {
		return nil, dashErr
	}
	for _, d := range dashboards {
		files = append(files, File{Path: d.Path, Data: d.JSON})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// Dashboards builds the dashboard files. Their structure is JSON built from
// Go values (package dashboard), not templates: a template cannot keep a
// 6-column grid or field names consistent, and Build validates both. Their
// dataset queries are templates, the named blocks of dashboardTemplates.
func Dashboards(b *model.Bundle) ([]dashboard.File, error) {
	sql, err := dashboardSQL()
	if err != nil {
		return nil, err
	}
	return dashboard.Build(b, sql)
}

// dashboardTemplates are the dataset queries of the dashboards: one named
// block per dataset, parsed into one set.
const dashboardTemplates = "templates/dashboards/*.sql.tmpl"

// dashboardSQL parses dashboardTemplates with the render FuncMap, once per
// process, and returns the function that renders one block of it.
var dashboardSQL = sync.OnceValues(func() (dashboard.SQL, error) {
	tmpl, err := template.New("dashboards").Funcs(funcs()).Option("missingkey=error").ParseFS(dbmon.Templates, dashboardTemplates)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", dashboardTemplates, err)
	}
	return func(block string, data any) (string, error) {
		var buf bytes.Buffer
		if err := tmpl.ExecuteTemplate(&buf, block, data); err != nil {
			return "", fmt.Errorf("execute %s block %q: %w", dashboardTemplates, block, err)
		}
		return buf.String(), nil
	}, nil
})

// RenderTemplate renders only the files of one manifest template (the KPI
// check needs kpi_values alone, not the whole bundle).
func RenderTemplate(b *model.Bundle, template string) ([]File, error) {
	for _, ft := range Manifest {
		if ft.Template == template {
			return renderTemplates([]FileTemplate{ft}, b)
		}
	}
	return nil, fmt.Errorf("no template %q in the manifest", template)
}

// renderTemplates renders each template of manifest on its own goroutine:
// they only read the bundle, and a large bundle's alerts.yml alone takes a
// tenth of a second. The results are then taken in manifest order, so the
// files and the first error are those of rendering one after another.
func renderTemplates(manifest []FileTemplate, b *model.Bundle) ([]File, error) {
	results := make([]rendered, len(manifest))
	var wg sync.WaitGroup
	for i, ft := range manifest {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = renderOne(ft, b)
		}()
	}
	wg.Wait()
	seen := map[string]string{}
	var files []File
	for i, r := range results {
		for _, p := range r.paths {
			if prev, dup := seen[p]; dup {
				return nil, fmt.Errorf("templates %q and %q both make %s", prev, manifest[i].Template, p)
			}
			seen[p] = manifest[i].Template
		}
		if r.err != nil {
			return nil, r.err
		}
		files = append(files, r.files...)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// rendered is what one manifest template made: the path of every instance
// it reached and the files it rendered, or the error that stopped it at
// its last path.
type rendered struct {
	paths []string
	files []File
	err   error
}

func renderOne(ft FileTemplate, b *model.Bundle) rendered {
	tmpl, err := parse(ft.Template)
	if err != nil {
		return rendered{err: err}
	}
	instances, err := ft.Files(b)
	if err != nil {
		return rendered{err: fmt.Errorf("template %q: %w", ft.Template, err)}
	}
	var r rendered
	for _, inst := range instances {
		r.paths = append(r.paths, inst.Path)
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, inst.Data); err != nil {
			r.err = fmt.Errorf("execute template %q for %s: %w", ft.Template, inst.Path, err)
			return r
		}
		r.files = append(r.files, File{Path: inst.Path, Data: normalize(buf.Bytes())})
	}
	return r
}

// executeSQL renders the template name with data into one normalized text:
// the statements that the twin, the collector and the maintenance job
// take one by one rather than as bundle files.
func executeSQL(name string, data any) (string, error) {
	tmpl, err := parse(name)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		return "", fmt.Errorf("execute %s: %w", name, err)
	}
	return string(normalize(buf.Bytes())), nil
}

// normalize trims trailing spaces on each line and ends the file with exactly
// one newline, so template whitespace never shows up as a diff. It works in
// place (the text only shrinks), so data must be the caller's to give: a
// large bundle's alerts.yml is megabytes, and copying it line by line was a
// tenth of the generator's time.
func normalize(data []byte) []byte {
	out := data[:0]
	for rest := data; ; {
		line, after, more := bytes.Cut(rest, []byte("\n"))
		out = append(out, bytes.TrimRight(line, " \t")...)
		if !more {
			break
		}
		out = append(out, '\n')
		rest = after
	}
	return append(bytes.TrimRight(out, "\n"), '\n')
}

// parsed holds every template parsed so far, by name. The templates are
// embedded, so a name always parses to the same template, and a parsed
// template may be executed concurrently: each is parsed once per process,
// however often it is rendered (the KPI check renders kpi_values once per
// KPI, preview renders the finding queries again).
var parsed sync.Map // name -> *template.Template

// funcs is the function map every template is parsed with.
var funcs = sync.OnceValue(Funcs)

// ParseAll parses every template Render and the SQL it embeds may execute,
// so that a later Render only executes them. Generate runs it on its own
// goroutine while the spec is loaded and the KPIs checked, when a second
// core has little else to do; in the 120 ms of example's generate, parsing
// was some 8 ms of CPU on the rendering's critical path. A template it
// fails to parse is left for Render to report.
func ParseAll() {
	_, _ = dashboardSQL()
	_ = fs.WalkDir(dbmon.Templates, ".", func(name string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return nil
		case d.IsDir() && (name == path.Dir(partials) || name == path.Dir(dashboardTemplates)):
			return fs.SkipDir // parsed into the others, and as one set
		case !d.IsDir() && strings.HasSuffix(name, ".tmpl"):
			_, _ = parse(name)
		}
		return nil
	})
}

// base is the shared partials, parsed once per process with the render
// FuncMap; parse clones it for each template. Parsing the partials into
// every template anew was most of the time of the first render: they are
// parsed some fifty times for one bundle. No template defines a block a
// partial defines, so the template's blocks added to the clone are the
// same set as partials added to the template.
var base = sync.OnceValues(func() (*template.Template, error) {
	// missingkey=error: a template that names a field the model lacks
	// fails here instead of printing "<no value>" into a bundle.
	t := template.New(partials).Funcs(funcs()).Option("missingkey=error")
	if matches, _ := fs.Glob(dbmon.Templates, partials); len(matches) > 0 {
		if _, err := t.ParseFS(dbmon.Templates, partials); err != nil {
			return nil, fmt.Errorf("parse partials %s: %w", partials, err)
		}
	}
	return t, nil
})

// parse returns the template name of dbmon.Templates with the shared
// partials, parsing it on first use.
func parse(name string) (*template.Template, error) {
	if t, ok := parsed.Load(name); ok {
		return t.(*template.Template), nil
	}
	src, err := fs.ReadFile(dbmon.Templates, name)
	if err != nil {
		return nil, fmt.Errorf("read template %q: %w", name, err)
	}
	shared, err := base()
	if err != nil {
		return nil, err
	}
	set, err := shared.Clone()
	if err != nil {
		return nil, fmt.Errorf("parse template %q: %w", name, err)
	}
	tmpl, err := set.New(name).Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("parse template %q: %w", name, err)
	}
	t, _ := parsed.LoadOrStore(name, tmpl)
	return t.(*template.Template), nil
}

package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Validate checks a dashboard file and returns every problem found, each
// located by page, widget or dataset; nil means none. It checks what the
// server would reject at deploy time ("failed to parse serialized
// dashboard", "Invalid widget definition") and what it would silently
// render as an empty widget (a fieldName that names no field).
func Validate(f File) []string {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(f.JSON, &top); err != nil {
		return []string{"not a JSON object: " + err.Error()}
	}
	var problems []string
	for _, key := range []string{"datasets", "pages"} {
		if v, ok := top[key]; !ok || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			problems = append(problems, "top-level "+key+" is missing")
		}
	}
	if !bytes.HasSuffix(f.JSON, []byte("\n")) {
		problems = append(problems, "the file does not end in a newline")
	}
	if f.Path != "" && f.Name != "" && f.Path != "src/dashboards/"+f.Name+".lvdash.json" {
		problems = append(problems, fmt.Sprintf("path %s is not src/dashboards/%s.lvdash.json", f.Path, f.Name))
	}
	var d Dashboard
	if err := json.Unmarshal(f.JSON, &d); err != nil {
		return append(problems, "does not decode as a dashboard: "+err.Error())
	}
	return append(problems, ValidateDashboard(&d)...)
}

// ValidateDashboard checks a parsed dashboard; see Validate.
func ValidateDashboard(d *Dashboard) []string {
	var p problems
	if len(d.Datasets) == 0 {
		p.add("the dashboard has no datasets")
	}
	if len(d.Pages) == 0 {
		p.add("the dashboard has no pages")
	}

	datasets := map[string]bool{}
	for i, ds := range d.Datasets {
		where := fmt.Sprintf("dataset %d (%s)", i, ds.Name)
		switch {
		case ds.Name == "":
			p.add("%s has no name", where)
		case datasets[ds.Name]:
			p.add("dataset name %s is used twice", ds.Name)
		}
		datasets[ds.Name] = true
		if ds.DisplayName == "" {
			p.add("%s has no displayName", where)
		}
		if len(ds.QueryLines) == 0 {
			p.add("%s has no queryLines", where)
		}
		for j, l := range ds.QueryLines {
			if !strings.HasSuffix(l, "\n") {
				p.add("%s: queryLines[%d] does not end in a newline, so it runs into the next line: %q", where, j, l)
			}
		}
	}

	pages, widgets := map[string]bool{}, map[string]string{}
	for _, pg := range d.Pages {
		where := "page " + pg.Name
		switch {
		case pg.Name == "":
			p.add("a page has no name")
		case pages[pg.Name]:
			p.add("page name %s is used twice", pg.Name)
		}
		pages[pg.Name] = true
		switch pg.PageType {
		case PageCanvas, PageGlobalFilters:
		case "":
			p.add("%s has no pageType", where)
		default:
			p.add("%s has unknown pageType %q", where, pg.PageType)
		}
		for i, item := range pg.Layout {
			w := item.Widget
			wWhere := fmt.Sprintf("%s: widget %s", where, w.Name)
			if w.Name == "" {
				wWhere = fmt.Sprintf("%s: layout[%d]", where, i)
				p.add("%s has no widget name", wWhere)
			} else if other, dup := widgets[w.Name]; dup {
				p.add("%s: the name is also used on page %s", wWhere, other)
			} else {
				widgets[w.Name] = pg.Name
			}
			p.position(wWhere, item.Position)
			p.widget(wWhere, w, datasets, pg.PageType)
		}
		p.overlaps(where, pg.Layout)
	}
	return p.list
}

type problems struct{ list []string }

func (p *problems) add(format string, args ...any) {
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

func (p *problems) position(where string, pos Position) {
	if pos.X < 0 {
		p.add("%s: x = %d is negative", where, pos.X)
	}
	if pos.Y < 0 {
		p.add("%s: y = %d is negative", where, pos.Y)
	}
	if pos.Width < 1 {
		p.add("%s: width = %d is less than 1", where, pos.Width)
	}
	if pos.Height < 1 {
		p.add("%s: height = %d is less than 1", where, pos.Height)
	}
	if pos.X+pos.Width > GridColumns {
		p.add("%s: x + width = %d exceeds the %d-column grid", where, pos.X+pos.Width, GridColumns)
	}
}

// overlaps reports every pair of layout items of a page that share a cell.
func (p *problems) overlaps(where string, layout []LayoutItem) {
	for i := range layout {
		for j := i + 1; j < len(layout); j++ {
			a, b := layout[i].Position, layout[j].Position
			if a.X < b.X+b.Width && b.X < a.X+a.Width && a.Y < b.Y+b.Height && b.Y < a.Y+a.Height {
				p.add("%s: widgets %s (x=%d y=%d w=%d h=%d) and %s (x=%d y=%d w=%d h=%d) overlap", where,
					layout[i].Widget.Name, a.X, a.Y, a.Width, a.Height, layout[j].Widget.Name, b.X, b.Y, b.Width, b.Height)
			}
		}
	}
}

func (p *problems) widget(where string, w Widget, datasets map[string]bool, pageType string) {
	if w.MultilineTextboxSpec != nil {
		if w.Spec != nil || len(w.Queries) > 0 {
			p.add("%s: a text widget has no spec or queries", where)
		}
		return
	}
	if w.Spec == nil {
		p.add("%s has neither a spec nor a multilineTextboxSpec", where)
		return
	}
	s := w.Spec
	want, known := SpecVersions[s.WidgetType]
	switch {
	case s.WidgetType == "":
		p.add("%s has no widgetType", where)
	case !known:
		p.add("%s has unknown widgetType %q", where, s.WidgetType)
	case s.Version != want:
		p.add("%s: a %s widget needs spec version %d, not %d", where, s.WidgetType, want, s.Version)
	}
	if pageType == PageGlobalFilters && !isFilter(s.WidgetType) {
		p.add("%s: only filters belong on the global filters page, not a %s", where, s.WidgetType)
	}

	if len(w.Queries) == 0 {
		p.add("%s has no queries", where)
	}
	fields := map[string]map[string]bool{} // query name -> field names
	queryNames := make([]string, 0, len(w.Queries))
	for _, q := range w.Queries {
		qWhere := fmt.Sprintf("%s: query %s", where, q.Name)
		if q.Name == "" {
			p.add("%s: a query has no name", where)
		} else if fields[q.Name] != nil {
			p.add("%s: query name %s is used twice", where, q.Name)
		}
		if !datasets[q.Query.DatasetName] {
			p.add("%s: datasetName %q is not a dataset of the dashboard", qWhere, q.Query.DatasetName)
		}
		if len(q.Query.Fields) == 0 {
			p.add("%s has no fields", qWhere)
		}
		names := map[string]bool{}
		for _, f := range q.Query.Fields {
			if f.Name == "" || f.Expression == "" {
				p.add("%s: a field needs a name and an expression (name %q, expression %q)", qWhere, f.Name, f.Expression)
			}
			if names[f.Name] {
				p.add("%s: field name %s is used twice", qWhere, f.Name)
			}
			names[f.Name] = true
		}
		fields[q.Name] = names
		queryNames = append(queryNames, q.Name)
	}

	// refs are the (query, field) pairs the encodings use.
	used := map[string]map[string]bool{}
	use := func(query, field, channel string) {
		names, ok := fields[query]
		switch {
		case !ok:
			p.add("%s: encoding %s names query %q, which the widget does not have", where, channel, query)
			return
		case field == "":
			p.add("%s: encoding %s has no fieldName", where, channel)
			return
		case !names[field]:
			p.add("%s: encoding %s uses fieldName %q, which is not a field of query %s", where, channel, field, query)
			return
		}
		if used[query] == nil {
			used[query] = map[string]bool{}
		}
		used[query][field] = true
	}

	e := s.Encodings
	if isFilter(s.WidgetType) {
		if len(e.Fields) == 0 {
			p.add("%s: a filter needs encodings.fields", where)
		}
		for i, f := range e.Fields {
			use(f.QueryName, f.FieldName, fmt.Sprintf("fields[%d]", i))
		}
	} else {
		if len(w.Queries) > 1 {
			p.add("%s: a %s widget has one query, not %d", where, s.WidgetType, len(w.Queries))
		}
		main := ""
		if len(queryNames) > 0 {
			main = queryNames[0]
		}
		channels := []struct {
			name string
			enc  *Encoding
		}{{"x", e.X}, {"y", e.Y}, {"color", e.Color}, {"angle", e.Angle}, {"value", e.Value}, {"target", e.Target}}
		for _, c := range channels {
			if c.enc != nil {
				use(main, c.enc.FieldName, c.name)
			}
		}
		for i, c := range e.Columns {
			use(main, c.FieldName, fmt.Sprintf("columns[%d]", i))
		}
		if len(e.Fields) > 0 {
			p.add("%s: encodings.fields belongs to filters, not a %s", where, s.WidgetType)
		}
		need := map[string][]string{
			Counter: {"value"}, Bar: {"x", "y"}, Line: {"x", "y"}, Area: {"x", "y"}, Pie: {"angle", "color"},
		}[s.WidgetType]
		present := map[string]bool{"x": e.X != nil, "y": e.Y != nil, "color": e.Color != nil, "angle": e.Angle != nil, "value": e.Value != nil}
		for _, ch := range need {
			if !present[ch] {
				p.add("%s: a %s widget needs a %s encoding", where, s.WidgetType, ch)
			}
		}
		if s.WidgetType == Table && len(e.Columns) == 0 {
			p.add("%s: a table needs encodings.columns", where)
		}
	}
	for _, q := range queryNames {
		var unused []string
		for f := range fields[q] {
			if !used[q][f] {
				unused = append(unused, f)
			}
		}
		sort.Strings(unused)
		for _, f := range unused {
			p.add("%s: field %s of query %s is used by no encoding", where, f, q)
		}
	}
}

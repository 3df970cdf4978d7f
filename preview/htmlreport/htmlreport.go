// Package htmlreport writes a preview as one self-contained HTML file: every
// page and widget of the generated dashboards, drawn from their .lvdash.json
// definitions with the twin's results, and the alerts that fired, SLA
// compliance, KPIs against their targets and, from a replay, the
// notification timeline.
//
// The file references nothing outside itself: styles are inline, charts are
// inline SVG drawn here, there is no script, and a Content-Security-Policy
// forbids loading anything, so a browser that opens it offline (or from a
// mail attachment) shows all of it. The same inputs give the same bytes:
// nothing depends on the clock, map order or the machine.
//
// Each widget's query is evaluated the way the dashboard evaluates it:
// the dataset's SQL runs on the twin engine, and the widget's field
// expressions (SUM(`col`), DATE_TRUNC("WEEK", `col`), ...) run on the twin
// over it, grouped by the fields without an aggregate.
package htmlreport

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/dbmon/dbmon/generator"
	"github.com/dbmon/dbmon/generator/dashboard"
	"github.com/dbmon/dbmon/generator/render"
	"github.com/dbmon/dbmon/preview"
	"github.com/dbmon/dbmon/twin"
)

//go:embed style.css
var css string

// Input is what the HTML file shows.
type Input struct {
	Report *preview.Report
	// Dashboards are the generated .lvdash.json files, in the order the
	// file shows them (DashboardFiles picks them from a bundle).
	Dashboards []render.File
	// Replay is the notification timeline of a replay; nil leaves the
	// section out.
	Replay *Replay
	// Progress, if set, is called after each widget query with how many of
	// total are done.
	Progress func(done, total int)
}

// Replay is a replay's notification timeline: twin.Timeline reduced to
// what the file shows (ReplayOf).
type Replay struct {
	From, To      time.Time
	Notifications []Notification // in time order
}

// ReplayOf reduces a replay's timeline (twin.Engine.Replay) to what the
// file shows.
func ReplayOf(tl *twin.Timeline) *Replay {
	rp := &Replay{From: tl.From, To: tl.To}
	for _, n := range tl.Notifications {
		rp.Notifications = append(rp.Notifications, Notification{Time: n.Time, Alert: n.Alert, Family: n.Family,
			State: n.State, Destinations: n.Destinations, Subjects: n.Subjects})
	}
	return rp
}

// Notification is one notification a replay sent.
type Notification struct {
	Time         time.Time
	Alert        string
	Family       string
	State        string // TRIGGERED or OK
	Destinations []string
	Subjects     []string
}

// DashboardFiles returns the bundle's .lvdash.json files in the order of
// the bundle's dashboards.
func DashboardFiles(res *generator.Result) []render.File {
	byPath := map[string]render.File{}
	for _, f := range res.Files {
		byPath[f.Path] = f
	}
	var out []render.File
	for _, name := range res.Bundle.Dashboards {
		if f, ok := byPath[dashboard.Path(name)]; ok {
			out = append(out, f)
		}
	}
	return out
}

// Limits of what the file shows; the export has every row.
const (
	maxTableRows  = 100 // per table widget
	maxKPIRows    = 8   // breakdown values per KPI
	maxBreaches   = 3   // per SLA
	maxSLAs       = 25  // SLAs listed, worst first
	maxFilterVals = 12  // values listed per filter
	maxTimeline   = 24  // alerts drawn on the timeline
	maxNotified   = 200 // notifications listed
)

// Grid geometry in CSS pixels at a laptop width (1366 px): the SVG charts
// are drawn at this size and scale with their cell.
const (
	colPx   = 206
	rowPx   = 44
	gapPx   = 12
	titlePx = 24
)

// parsed is one dashboard file, parsed.
type parsed struct {
	name string // from the file name
	d    dashboard.Dashboard
}

// Write renders the file to w.
func Write(w io.Writer, in Input) error {
	var dashes []parsed
	total := 0
	for _, f := range in.Dashboards {
		var p parsed
		p.name = strings.TrimSuffix(f.Path[strings.LastIndex(f.Path, "/")+1:], ".lvdash.json")
		if err := json.Unmarshal(f.Data, &p.d); err != nil {
			return fmt.Errorf("%s: %w", f.Path, err)
		}
		for _, pg := range p.d.Pages {
			for _, it := range pg.Layout {
				total += len(it.Widget.Queries)
			}
		}
		dashes = append(dashes, p)
	}
	wr := &writer{in: in, total: total}
	wr.head(dashes)
	wr.summary()
	for _, p := range dashes {
		if err := wr.dashboard(p); err != nil {
			return fmt.Errorf("%s: %w", dashboard.Path(p.name), err)
		}
	}
	wr.printf("</main>\n<footer>Written by dbmon preview from %s on %s. Charts, filters and tables are computed on the embedded twin; tables show at most %d rows (--export writes them all).</footer>\n</body>\n</html>\n",
		esc(in.Report.File), esc(in.Report.Source), maxTableRows)
	_, err := w.Write(wr.buf.Bytes())
	return err
}

// WriteFile renders the file to path.
func WriteFile(path string, in Input) error {
	var buf bytes.Buffer
	if err := Write(&buf, in); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// writer accumulates the document.
type writer struct {
	in          Input
	buf         bytes.Buffer
	done, total int
}

func (wr *writer) printf(format string, args ...any) { fmt.Fprintf(&wr.buf, format, args...) }
func (wr *writer) write(s string)                    { wr.buf.WriteString(s) }

func esc(s string) string { return html.EscapeString(s) }

// queried counts one widget query for the progress callback.
func (wr *writer) queried() {
	wr.done++
	if wr.in.Progress != nil {
		wr.in.Progress(wr.done, wr.total)
	}
}

func (wr *writer) head(dashes []parsed) {
	r := wr.in.Report
	wr.write("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	wr.write("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	// Nothing may load: a reference that slipped in fails visibly (a
	// console error) instead of phoning home.
	wr.write("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n")
	wr.write("<meta name=\"color-scheme\" content=\"light dark\">\n")
	wr.printf("<title>dbmon preview: %s</title>\n<style>\n%s</style>\n</head>\n<body>\n", esc(r.File), css)
	wr.printf("<header class=\"top\">\n<h1>dbmon preview: %s</h1>\n<p class=\"meta\">%s, as of %s</p>\n<nav>",
		esc(r.File), esc(r.Source), esc(r.AsOf.Format("2006-01-02 15:04 MST")))
	wr.write(`<a href="#summary">Alerts, SLAs and KPIs</a>`)
	if wr.in.Replay != nil {
		wr.write(`<a href="#replay">Notifications</a>`)
	}
	for _, p := range dashes {
		wr.printf(`<a href="#d-%s">%s</a>`, esc(p.name), esc(canvasTitle(p)))
	}
	wr.write("</nav>\n</header>\n<main>\n")
}

// canvasTitle is the dashboard's title: its first canvas page's name.
func canvasTitle(p parsed) string {
	for _, pg := range p.d.Pages {
		if pg.PageType == dashboard.PageCanvas {
			return pg.DisplayName
		}
	}
	return p.name
}

// ---- dashboards ----

// dashboard writes the filters page as the strip of filters in effect,
// then each canvas page on the 6-column grid.
func (wr *writer) dashboard(p parsed) error {
	ev := newEvaluator(wr.in.Report.Engine, &p.d)
	wr.printf("<section class=\"dashboard\" id=\"d-%s\" data-dashboard=\"%s\">\n<div class=\"dfile\">%s</div>\n",
		esc(p.name), esc(p.name), esc(dashboard.Path(p.name)))
	pages := append([]dashboard.Page(nil), p.d.Pages...)
	// The filters apply to every page, so they come first.
	sort.SliceStable(pages, func(i, j int) bool {
		return pages[i].PageType == dashboard.PageGlobalFilters && pages[j].PageType != dashboard.PageGlobalFilters
	})
	for _, pg := range pages {
		items := append([]dashboard.LayoutItem(nil), pg.Layout...)
		sort.SliceStable(items, func(i, j int) bool {
			a, b := items[i].Position, items[j].Position
			if a.Y != b.Y {
				return a.Y < b.Y
			}
			return a.X < b.X
		})
		id := "p-" + p.name + "-" + pg.Name
		if pg.PageType == dashboard.PageGlobalFilters {
			wr.printf("<div class=\"page filters\" id=\"%s\" data-page=\"%s\" aria-label=\"%s\"><span class=\"lead\">%s in effect:</span>\n",
				esc(id), esc(pg.Name), esc(pg.DisplayName), esc(pg.DisplayName))
			for _, it := range items {
				if err := wr.filter(ev, it.Widget); err != nil {
					return fmt.Errorf("page %s: widget %s: %w", pg.Name, it.Widget.Name, err)
				}
			}
			wr.write("</div>\n")
			continue
		}
		wr.printf("<div class=\"page grid\" id=\"%s\" data-page=\"%s\" aria-label=\"%s\">\n", esc(id), esc(pg.Name), esc(pg.DisplayName))
		for _, it := range items {
			if err := wr.widget(ev, it); err != nil {
				return fmt.Errorf("page %s: widget %s: %w", pg.Name, it.Widget.Name, err)
			}
		}
		wr.write("</div>\n")
	}
	wr.write("</section>\n")
	return nil
}

// widget writes one layout item in its grid cell.
func (wr *writer) widget(ev *evaluator, it dashboard.LayoutItem) error {
	w, pos := it.Widget, it.Position
	kind := "text"
	if w.Spec != nil {
		kind = w.Spec.WidgetType
	}
	wr.printf("<div class=\"w w-%s\" data-widget=\"%s\" data-type=\"%s\" style=\"--x:%d;--y:%d;--w:%d;--h:%d\">",
		esc(kind), esc(w.Name), esc(kind), pos.X+1, pos.Y+1, pos.Width, pos.Height)
	defer wr.write("</div>\n")
	if w.MultilineTextboxSpec != nil {
		wr.write(markdown(strings.Join(w.MultilineTextboxSpec.Lines, "")))
		return nil
	}
	if w.Spec == nil {
		return fmt.Errorf("neither a spec nor text")
	}
	if f := w.Spec.Frame; f != nil && f.ShowTitle {
		wr.printf(`<div class="wt" title="%s">%s</div>`, esc(f.Title), esc(f.Title))
	}
	if len(w.Queries) != 1 {
		return fmt.Errorf("a %s widget has %d queries, want 1", kind, len(w.Queries))
	}
	q := w.Queries[0].Query
	rows, err := ev.widgetRows(q)
	if err != nil {
		return err
	}
	wr.queried()
	enc := w.Spec.Encodings
	bx := box{w: float64(pos.Width*colPx + (pos.Width-1)*gapPx - 24), h: float64(pos.Height*rowPx + (pos.Height-1)*gapPx - titlePx - 18)}
	wr.write(`<div class="body">`)
	defer wr.write("</div>")
	switch kind {
	case dashboard.Counter:
		return wr.counter(enc, rows)
	case dashboard.Table:
		return wr.table(enc, rows)
	case dashboard.Bar, dashboard.Line, dashboard.Area:
		c, err := newChart(kind, enc, q, rows)
		if err != nil {
			return err
		}
		if len(c.xs) == 0 {
			wr.write(`<div class="empty">No data</div>`)
			return nil
		}
		if enc.Color != nil {
			bx.h -= 20
			wr.legend(c.series, c.hidden)
		}
		wr.write(c.svg(bx))
		return nil
	case dashboard.Pie:
		if len(rows.rows) == 0 {
			wr.write(`<div class="empty">No data</div>`)
			return nil
		}
		bx.h -= 20
		svg, slices, err := pieSVG(enc, rows, bx)
		if err != nil {
			return err
		}
		wr.legend(slices, 0)
		wr.write(svg)
		return nil
	}
	return fmt.Errorf("widget type %q is not drawn", kind)
}

func (wr *writer) legend(ss []series, hidden int) {
	wr.write(`<ul class="legend">`)
	for _, s := range ss {
		wr.printf(`<li><i style="background:%s"></i>%s</li>`, s.color, esc(s.name))
	}
	if hidden > 0 {
		wr.printf(`<li>+%d more not drawn</li>`, hidden)
	}
	wr.write(`</ul>`)
}

// counter shows the value and, with a target, the value it is compared
// with and the change.
func (wr *writer) counter(enc dashboard.Encodings, r rowset) error {
	if enc.Value == nil {
		return fmt.Errorf("a counter needs a value encoding")
	}
	vi := r.index(enc.Value.FieldName)
	if vi < 0 {
		return fmt.Errorf("value %q is not a field of the query", enc.Value.FieldName)
	}
	var v any
	if len(r.rows) > 0 {
		v = r.rows[0][vi]
	}
	wr.printf(`<div class="counter"><div class="value">%s</div><div class="sub">%s</div>`, esc(formatValue(v, enc.Value.Format)), esc(enc.Value.DisplayName))
	if enc.Target != nil {
		ti := r.index(enc.Target.FieldName)
		if ti < 0 {
			return fmt.Errorf("target %q is not a field of the query", enc.Target.FieldName)
		}
		var t any
		if len(r.rows) > 0 {
			t = r.rows[0][ti]
		}
		change := ""
		fv, ok1 := toFloat(v)
		ft, ok2 := toFloat(t)
		if ok1 && ok2 && ft != 0 {
			d := (fv - ft) / math.Abs(ft)
			cls, arrow := "down", "▼"
			if d >= 0 {
				cls, arrow = "up", "▲"
			}
			change = fmt.Sprintf(` <span class="%s">%s %s</span>`, cls, arrow,
				formatNumber(math.Abs(d), &dashboard.Format{Type: "number-percent", DecimalPlaces: &dashboard.DecimalPlaces{Type: "max", Places: 1}}))
		}
		wr.printf(`<div class="sub">%s: %s%s</div>`, esc(enc.Target.DisplayName), esc(formatValue(t, enc.Target.Format)), change)
	}
	wr.write("</div>")
	return nil
}

// table shows the columns of the encoding, in the dataset's row order.
func (wr *writer) table(enc dashboard.Encodings, r rowset) error {
	idx := make([]int, len(enc.Columns))
	numeric := make([]bool, len(enc.Columns))
	for i, c := range enc.Columns {
		if idx[i] = r.index(c.FieldName); idx[i] < 0 {
			return fmt.Errorf("column %q is not a field of the query", c.FieldName)
		}
		for _, row := range r.rows {
			if row[idx[i]] != nil {
				_, numeric[i] = toFloat(row[idx[i]])
				break
			}
		}
	}
	if len(r.rows) == 0 {
		wr.write(`<div class="empty">No rows</div>`)
		return nil
	}
	wr.write("<table><thead><tr>")
	for i, c := range enc.Columns {
		wr.printf(`<th%s>%s</th>`, numClass(numeric[i]), esc(c.DisplayName))
	}
	wr.write("</tr></thead><tbody>")
	for n, row := range r.rows {
		if n == maxTableRows {
			break
		}
		wr.write("<tr>")
		for i, c := range enc.Columns {
			s := formatValue(row[idx[i]], c.Format)
			wr.printf(`<td%s title="%s">%s</td>`, numClass(numeric[i]), esc(s), esc(s))
		}
		wr.write("</tr>")
	}
	wr.write("</tbody></table>")
	if len(r.rows) > maxTableRows {
		wr.printf(`<div class="more">Showing %d of %d rows</div>`, maxTableRows, len(r.rows))
	}
	return nil
}

func numClass(numeric bool) string {
	if numeric {
		return ` class="num"`
	}
	return ""
}

// filter shows a global filter with the values in effect: a dashboard
// opens with every filter at "all", so that is the range or the set of
// values its queries return on the twin.
func (wr *writer) filter(ev *evaluator, w dashboard.Widget) error {
	if w.Spec == nil {
		return fmt.Errorf("a filter needs a spec")
	}
	title := w.Name
	if w.Spec.Frame != nil && w.Spec.Frame.Title != "" {
		title = w.Spec.Frame.Title
	}
	var vals []any
	seen := map[string]bool{}
	for _, wq := range w.Queries {
		vs, err := ev.distinct(wq.Query)
		if err != nil {
			return err
		}
		wr.queried()
		for _, v := range vs {
			if k := key(v); !seen[k] {
				seen[k] = true
				vals = append(vals, v)
			}
		}
	}
	sortValues(vals)
	wr.printf(`<div class="filter" data-widget="%s" data-type="%s"><span class="wt">%s</span>`, esc(w.Name), esc(w.Spec.WidgetType), esc(title))
	switch {
	case len(vals) == 0:
		wr.write(`<span class="chip">All (no values)</span>`)
	case w.Spec.WidgetType == dashboard.FilterDateRange:
		wr.printf(`<span class="chip">All dates: %s – %s</span>`, esc(formatValue(vals[0], nil)), esc(formatValue(vals[len(vals)-1], nil)))
	default:
		wr.printf(`<span class="chip">All (%d)</span>`, len(vals))
		for i, v := range vals {
			if i == maxFilterVals {
				wr.printf(`<span class="chip">+%d more</span>`, len(vals)-maxFilterVals)
				break
			}
			wr.printf(`<span class="chip">%s</span>`, esc(formatValue(v, nil)))
		}
	}
	wr.write("</div>\n")
	return nil
}

// markdown renders the headings and paragraphs of a text widget.
func markdown(md string) string {
	var b strings.Builder
	for _, line := range strings.Split(md, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, "### "):
			b.WriteString("<h4>" + esc(line[4:]) + "</h4>")
		case strings.HasPrefix(line, "## "):
			b.WriteString("<h3>" + esc(line[3:]) + "</h3>")
		case strings.HasPrefix(line, "# "):
			b.WriteString("<h2>" + esc(line[2:]) + "</h2>")
		default:
			b.WriteString("<p>" + esc(line) + "</p>")
		}
	}
	return b.String()
}

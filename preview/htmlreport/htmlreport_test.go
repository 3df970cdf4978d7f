package htmlreport

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbmon/dbmon/generator"
	"github.com/dbmon/dbmon/generator/dashboard"
	"github.com/dbmon/dbmon/preview"
	"github.com/dbmon/dbmon/synth"
	"github.com/dbmon/dbmon/twin"
)

var asOf = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// synthetic is the data of every test here and of docs/preview.png (the
// README gives the same flags).
var synthetic = synth.Config{Seed: 1, Jobs: 40, Days: 40, NodeGrainMinutes: 60, Incidents: true}

// built is one spec run on the twin and written as HTML.
type built struct {
	res  *generator.Result
	r    *preview.Report
	html []byte
}

var (
	cacheMu sync.Mutex
	cache   = map[string]*built{}
)

// build runs a spec on synthetic data and writes its HTML, once per spec
// for the whole test binary (the report stays open: tests query it).
func build(t *testing.T, path string) *built {
	t.Helper()
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if b, ok := cache[path]; ok {
		return b
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, diags, err := generator.Prepare(path, data)
	if err != nil || len(diags) > 0 {
		t.Fatalf("%s: %v %v", path, err, diags)
	}
	r, err := preview.Run(context.Background(), res, preview.Synthetic(synthetic), asOf)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	calls, last := 0, 0
	in := Input{Report: r, Dashboards: DashboardFiles(res), Progress: func(done, total int) { calls, last = done, total }}
	if err := Write(&buf, in); err != nil {
		t.Fatal(err)
	}
	if calls == 0 || calls != last {
		t.Errorf("%s: progress ended at %d of %d", path, calls, last)
	}
	b := &built{res: res, r: r, html: buf.Bytes()}
	cache[path] = b
	return b
}

func specs(t *testing.T) []string {
	t.Helper()
	paths, _ := filepath.Glob("../../specs/*.yaml")
	if len(paths) == 0 {
		t.Fatal("no specs")
	}
	return paths
}

// rawDashboard is the part of a .lvdash.json file the tests read, parsed
// independently of the package's types.
type rawDashboard struct {
	Pages []struct {
		Name     string `json:"name"`
		PageType string `json:"pageType"`
		Layout   []struct {
			Widget struct {
				Name string `json:"name"`
				Spec *struct {
					WidgetType string `json:"widgetType"`
				} `json:"spec"`
			} `json:"widget"`
		} `json:"layout"`
	} `json:"pages"`
}

// section returns the HTML of one dashboard's section.
func section(t *testing.T, page []byte, name string) string {
	t.Helper()
	s := string(page)
	start := strings.Index(s, `<section class="dashboard" id="d-`+name+`" data-dashboard="`+name+`">`)
	if start < 0 {
		t.Fatalf("no section for dashboard %s", name)
	}
	end := strings.Index(s[start:], "</section>")
	return s[start : start+end]
}

// widgetHTML returns one widget's element, from its opening tag to the
// next widget.
func widgetHTML(sec, name string) string {
	i := strings.Index(sec, `data-widget="`+name+`"`)
	if i < 0 {
		return ""
	}
	rest := sec[i+1:]
	if j := strings.Index(rest, `data-widget="`); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// TestEveryWidget: every widget of every page of every dashboard of every
// example spec is in the file once, in its dashboard's section, on its
// page; charts are SVG with tick labels and axis titles, tables have rows
// or say they have none, filters show values.
func TestEveryWidget(t *testing.T) {
	for _, path := range specs(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			b := build(t, path)
			files := DashboardFiles(b.res)
			if len(files) != len(b.res.Bundle.Dashboards) || len(files) == 0 {
				t.Fatalf("%d dashboard files for %d dashboards", len(files), len(b.res.Bundle.Dashboards))
			}
			widgets := 0
			for _, f := range files {
				var d rawDashboard
				if err := json.Unmarshal(f.Data, &d); err != nil {
					t.Fatal(err)
				}
				name := strings.TrimSuffix(filepath.Base(f.Path), ".lvdash.json")
				sec := section(t, b.html, name)
				for _, pg := range d.Pages {
					if !strings.Contains(sec, `data-page="`+pg.Name+`"`) {
						t.Errorf("%s: page %s is missing", name, pg.Name)
					}
					for _, it := range pg.Layout {
						widgets++
						w := it.Widget
						if n := strings.Count(sec, `data-widget="`+w.Name+`"`); n != 1 {
							t.Errorf("%s/%s: widget %s appears %d times", name, pg.Name, w.Name, n)
							continue
						}
						el := widgetHTML(sec, w.Name)
						kind := "text"
						if w.Spec != nil {
							kind = w.Spec.WidgetType
						}
						if !strings.Contains(el, `data-type="`+kind+`"`) {
							t.Errorf("%s: widget %s is not drawn as a %s", name, w.Name, kind)
						}
						checkDrawn(t, name+"/"+w.Name, kind, el)
					}
				}
			}
			t.Logf("%d widgets in %d bytes", widgets, len(b.html))
		})
	}
}

var (
	tickRe  = regexp.MustCompile(`<text class="tick"[^>]*>[^<]+</text>`)
	labelRe = regexp.MustCompile(`<text class="label"[^>]*>[^<]+</text>`)
)

func checkDrawn(t *testing.T, what, kind, el string) {
	t.Helper()
	if strings.Contains(el, `class="empty"`) {
		return // the twin returned no rows: the widget says so
	}
	switch kind {
	case dashboard.Bar, dashboard.Line, dashboard.Area:
		if !strings.Contains(el, "<svg") || len(tickRe.FindAllString(el, -1)) < 3 || len(labelRe.FindAllString(el, -1)) != 2 {
			t.Errorf("%s: a %s chart without an SVG with ticks and two axis titles:\n%.600s", what, kind, el)
		}
		mark := map[string]string{dashboard.Bar: "<rect ", dashboard.Line: "<path d=\"M", dashboard.Area: "<polygon "}[kind]
		if !strings.Contains(el, mark) {
			t.Errorf("%s: a %s chart draws no %s", what, kind, mark)
		}
	case dashboard.Pie:
		if !strings.Contains(el, "<svg") || !strings.Contains(el, `class="slice"`) && !strings.Contains(el, "<circle") {
			t.Errorf("%s: a pie without slices", what)
		}
	case dashboard.Table:
		if !strings.Contains(el, "<th") || !strings.Contains(el, "<td") {
			t.Errorf("%s: a table without header and rows", what)
		}
	case dashboard.Counter:
		if !regexp.MustCompile(`<div class="value">[^<]+</div>`).MatchString(el) {
			t.Errorf("%s: a counter without a value", what)
		}
	case dashboard.FilterDateRange:
		if !regexp.MustCompile(`All dates: \d{4}-\d\d-\d\d – \d{4}-\d\d-\d\d`).MatchString(el) {
			t.Errorf("%s: a date filter without its range:\n%s", what, el)
		}
	case dashboard.FilterMulti:
		if !regexp.MustCompile(`All \(\d+\)`).MatchString(el) {
			t.Errorf("%s: a multi-select without its values:\n%s", what, el)
		}
	}
}

// TestWidgetValues checks drawn numbers against the same data read another
// way: a counter's SUM against the dataset's rows summed in Go, a date
// filter's range against the dataset's min and max, a table's row count.
func TestWidgetValues(t *testing.T) {
	b := build(t, "../../specs/example.yaml")
	dsRows := func(dash, ds string) ([]string, [][]any) {
		t.Helper()
		for _, f := range DashboardFiles(b.res) {
			if !strings.Contains(f.Path, "/"+dash+".") {
				continue
			}
			var d dashboard.Dashboard
			if err := json.Unmarshal(f.Data, &d); err != nil {
				t.Fatal(err)
			}
			ev := newEvaluator(b.r.Engine, &d)
			r, err := ev.dataset(ds)
			if err != nil {
				t.Fatal(err)
			}
			return r.cols, r.rows
		}
		t.Fatalf("no dashboard %s", dash)
		return nil, nil
	}
	cols, rows := dsRows("cost_analysis", "ds_cost_daily")
	ci := -1
	for i, c := range cols {
		if c == "cost_net" {
			ci = i
		}
	}
	total := 0.0
	for _, r := range rows {
		v, _ := toFloat(r[ci])
		total += v
	}
	if total <= 0 {
		t.Fatalf("ds_cost_daily sums to %v: the synthetic data has no cost", total)
	}
	sec := section(t, b.html, "cost_analysis")
	money := &dashboard.Format{Type: "number-currency", CurrencyCode: "USD", Abbreviation: "compact", DecimalPlaces: &dashboard.DecimalPlaces{Type: "max", Places: 2}}
	want := `<div class="value">` + formatNumber(total, money) + `</div>`
	if el := widgetHTML(sec, "net_cost"); !strings.Contains(el, want) {
		t.Errorf("net_cost: want %s in\n%s", want, el)
	}
	var dates []any
	for i, c := range cols {
		if c == "usage_date" {
			for _, r := range rows {
				dates = append(dates, r[i])
			}
		}
	}
	sortValues(dates)
	if el := widgetHTML(sec, "filter_date"); !strings.Contains(el, "All dates: "+formatValue(dates[0], nil)+" – ") {
		t.Errorf("filter_date: want the earliest date %s in\n%s", formatValue(dates[0], nil), el)
	}
	_, top := dsRows("cost_analysis", "ds_top_jobs_cost")
	el := widgetHTML(sec, "top_jobs_by_cost")
	if got, want := strings.Count(el, "<tr><td"), min(len(top), maxTableRows); got != want {
		t.Errorf("top_jobs_by_cost: %d rows, want %d", got, want)
	}
}

// TestSelfContained: the file loads nothing: no src, no href but in-page
// anchors, no @import, no url() but data:, no script, no link element.
func TestSelfContained(t *testing.T) {
	for _, path := range specs(t) {
		b := build(t, path)
		s := string(b.html)
		for _, re := range []*regexp.Regexp{
			regexp.MustCompile(`(?i)\ssrc\s*=`),
			regexp.MustCompile(`(?i)\shref\s*=\s*["']?[^"'#\s]`),
			regexp.MustCompile(`(?i)@import`),
			regexp.MustCompile(`(?i)url\(\s*["']?[^"'\s)]*`),
			regexp.MustCompile(`(?i)<script`),
			regexp.MustCompile(`(?i)<link`),
			regexp.MustCompile(`(?i)<(iframe|object|embed|img)\b`),
		} {
			for _, m := range re.FindAllString(s, -1) {
				if strings.HasPrefix(strings.ToLower(m), "url(data:") {
					continue
				}
				t.Errorf("%s: the file references something outside itself: %q", path, m)
			}
		}
		if !strings.Contains(s, "default-src 'none'") {
			t.Errorf("%s: no Content-Security-Policy", path)
		}
	}
}

// TestReportsSection: the file lists every e-mail of the example spec's
// reports with its recipients, and a per-team copy's team-filtered
// datasets hold as many rows as the twin kept for that team.
func TestReportsSection(t *testing.T) {
	b := build(t, "../../specs/example.yaml")
	s := string(b.html)
	if len(b.r.Reports) == 0 {
		t.Fatal("the example spec has no report copies")
	}
	for _, c := range b.r.Reports {
		start := strings.Index(s, fmt.Sprintf(`<details data-report="%s" data-team="%s">`, c.Report, c.Team))
		if start < 0 {
			t.Errorf("report %s team %q is not in the file", c.Report, c.Team)
			continue
		}
		panel := s[start : start+strings.Index(s[start:], "</details>")]
		for _, sub := range c.Subscribers {
			who := sub.UserName
			if who == "" {
				who = sub.Destination
			}
			if !strings.Contains(panel, who) {
				t.Errorf("report %s team %q: recipient %s is not listed", c.Report, c.Team, who)
			}
		}
		for _, ds := range c.Datasets {
			row := fmt.Sprintf(`<tr><td>%s</td><td class="num">%d</td>`, html.EscapeString(ds.DisplayName), len(ds.Rows))
			if !strings.Contains(panel, row) {
				t.Errorf("report %s team %q: no row %s", c.Report, c.Team, row)
			}
			if c.Team != "" && ds.Filtered == "team" && !strings.Contains(panel, "team = "+c.Team) {
				t.Errorf("report %s team %q: the team filter is not shown", c.Report, c.Team)
			}
		}
	}
}

// TestDeterministic: two runs of the same spec on the same data give the
// same bytes.
func TestDeterministic(t *testing.T) {
	path := "../../specs/multi_workspace.yaml"
	first := build(t, path)
	data, _ := os.ReadFile(path)
	res, _, err := generator.Prepare(path, data)
	if err != nil {
		t.Fatal(err)
	}
	r, err := preview.Run(context.Background(), res, preview.Synthetic(synthetic), asOf)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var buf bytes.Buffer
	if err := Write(&buf, Input{Report: r, Dashboards: DashboardFiles(res)}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), first.html) {
		a, b := first.html, buf.Bytes()
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		t.Fatalf("two runs differ at byte %d: %q vs %q", i, a[i:min(len(a), i+80)], b[i:min(len(b), i+80)])
	}
}

// TestReplayTimeline: a replay's notifications are drawn on the timeline
// and listed; alerts are lanes in name order.
func TestReplayTimeline(t *testing.T) {
	b := build(t, "../../specs/minimal.yaml")
	from := asOf.Add(-72 * time.Hour)
	rp := &Replay{From: from, To: asOf, Notifications: []Notification{
		{Time: from.Add(26 * time.Hour), Alert: "zeta_failure", State: "TRIGGERED", Destinations: []string{"ops"}, Subjects: []string{"job 1"}},
		{Time: from.Add(30 * time.Hour), Alert: "alpha_cost", State: "TRIGGERED", Destinations: []string{"finance"}},
		{Time: from.Add(50 * time.Hour), Alert: "zeta_failure", State: "OK", Destinations: []string{"ops"}},
	}}
	var buf bytes.Buffer
	if err := Write(&buf, Input{Report: b.r, Dashboards: DashboardFiles(b.res), Replay: rp}); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	for _, want := range []string{
		`<a href="#replay">Notifications</a>`,
		"Notifications of the replay (2026-11-24 12:00 – 2026-11-27 12:00): 3",
		"<title>2026-11-25 14:00 zeta_failure TRIGGERED → ops</title>",
		"<title>2026-11-26 14:00 zeta_failure OK → ops</title>",
		`<span class="badge good">OK</span>`,
		"<td>job 1</td>",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q", want)
		}
	}
	if a, z := strings.Index(s, ">alpha_cost</text>"), strings.Index(s, ">zeta_failure</text>"); a < 0 || z < a {
		t.Errorf("lanes not in name order: alpha at %d, zeta at %d", a, z)
	}
	if strings.Contains(string(b.html), `id="replay"`) {
		t.Error("a file without a replay has a replay section")
	}
}

// TestRealReplay renders the timeline of a real replay of the example spec
// on the twin: every notification it sent is a point and a row.
func TestRealReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("replays a day of the example spec")
	}
	path := "../../specs/example.yaml"
	data, _ := os.ReadFile(path)
	res, _, err := generator.Prepare(path, data)
	if err != nil {
		t.Fatal(err)
	}
	r, err := preview.Run(context.Background(), res, preview.Synthetic(synthetic), asOf)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tl, err := r.Engine.Replay(res.Bundle, res.Files, asOf.Add(-24*time.Hour), asOf, twin.DefaultLateness, res.Spec.Destinations)
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.Notifications) == 0 {
		t.Fatal("a day of the example spec with incidents sent no notification")
	}
	var buf bytes.Buffer
	if err := Write(&buf, Input{Report: r, Dashboards: DashboardFiles(res), Replay: ReplayOf(tl)}); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	if want := fmt.Sprintf("): %d</h3>", len(tl.Notifications)); !strings.Contains(s, want) {
		t.Errorf("the replay heading does not count %d notifications", len(tl.Notifications))
	}
	for _, n := range tl.Notifications {
		tip := "<title>" + n.Time.UTC().Format("2006-01-02 15:04") + " " + n.Alert + " " + n.State
		if !strings.Contains(s, tip) {
			t.Errorf("notification %s %s at %s is not on the timeline", n.Alert, n.State, n.Time)
		}
	}
	t.Logf("%d notifications", len(tl.Notifications))
}

func TestFormatNumber(t *testing.T) {
	money := &dashboard.Format{Type: "number-currency", CurrencyCode: "USD", Abbreviation: "compact", DecimalPlaces: &dashboard.DecimalPlaces{Type: "max", Places: 2}}
	eur := &dashboard.Format{Type: "number-currency", CurrencyCode: "CHF", DecimalPlaces: &dashboard.DecimalPlaces{Type: "exact", Places: 2}}
	pct := &dashboard.Format{Type: "number-percent", DecimalPlaces: &dashboard.DecimalPlaces{Type: "max", Places: 1}}
	for _, c := range []struct {
		v    float64
		f    *dashboard.Format
		want string
	}{
		{18850.4, money, "$18.85K"},
		{999, money, "$999"},
		{2.5e6, money, "$2.5M"},
		{-1500, money, "-$1.5K"},
		{1234.5, eur, "CHF 1,234.50"},
		{0.0661, pct, "6.6%"},
		{1, pct, "100%"},
		{1234567.891, nil, "1,234,567.89"},
		{-0.001, nil, "0"},
	} {
		if got := formatNumber(c.v, c.f); got != c.want {
			t.Errorf("formatNumber(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}

func TestNiceTicks(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		n      int
		want   string
	}{
		{0, 2430, 4, "[0 1000 2000 3000]"},
		{0, 0.0066, 4, "[0 0.002 0.004 0.006 0.008]"},
		{0, 0, 4, "[0 0.25 0.5 0.75 1]"},
		{-30, 95, 5, "[-50 -25 0 25 50 75 100]"},
	} {
		if got := fmt.Sprint(niceTicks(c.lo, c.hi, c.n)); got != c.want {
			t.Errorf("niceTicks(%v, %v, %d) = %s, want %s", c.lo, c.hi, c.n, got, c.want)
		}
	}
}

// TestTerminalProgress: a pipe, a file or a buffer gets no progress line.
func TestTerminalProgress(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, out := range map[string]any{"pipe": w, "file": f, "buffer": &bytes.Buffer{}} {
		if p := TerminalProgress(out.(interface{ Write([]byte) (int, error) }), "html"); p != nil {
			t.Errorf("%s: a progress callback for something that is not a terminal", name)
		}
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		if TerminalProgress(tty, "html") == nil {
			t.Error("/dev/tty: no progress callback on a terminal")
		}
	}
}

package twin

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/render"
	"github.com/dbmon/dbmon/generator/spec"
)

// Notification is one message an alert sent: what notifications.json holds.
type Notification struct {
	Time         time.Time `json:"time"` // UTC
	Alert        string    `json:"alert"`
	Family       string    `json:"family"`
	State        string    `json:"state"`        // TRIGGERED or OK
	Destinations []string  `json:"destinations"` // destination keys of the spec
	Subjects     []string  `json:"subjects"`     // the finding subjects of the evaluation
}

// Change is one evaluation of an alert that moved its state or notified.
type Change struct {
	Time     time.Time
	Alert    string
	Family   string
	From, To string
	Notified bool
	Error    string   // the query's error, for a move to ERROR
	Subjects []string // the finding subjects of the evaluation
}

// RefreshSummary is one pipeline update of the replay.
type RefreshSummary struct {
	Time        time.Time        `json:"time"`         // when it started: "now" for its tables, and the cutoff of visible rows
	VisibleRows int64            `json:"visible_rows"` // source rows visible at Time
	ByTable     map[string]int64 `json:"by_table"`     // the same per source table (tables with rows)
	Findings    int              `json:"findings"`     // rows of every family's finding query at Time
	Elapsed     time.Duration    `json:"-"`            // wall time to rebuild the pipeline and count findings
}

// DayQueries counts the warehouse queries of one UTC day: every alert
// evaluation is one.
type DayQueries struct {
	Day     string         `json:"day"` // YYYY-MM-DD, UTC
	Total   int            `json:"total"`
	ByAlert map[string]int `json:"by_alert"`
}

// AlertActivity sums up one alert over the replay.
type AlertActivity struct {
	Alert, Family string
	Evaluations   int
	Notifications int // TRIGGERED and OK
	Triggers      int // moves into TRIGGERED
	Errors        int // evaluations in ERROR
}

// Timeline is the outcome of a replay.
type Timeline struct {
	From, To      time.Time
	Notifications []Notification // in time order, then by alert key
	Changes       []Change       // every state change and notification, in the same order
	Refreshes     []RefreshSummary
	Queries       []DayQueries // one per UTC day that had an evaluation
	Alerts        []AlertActivity
	Paused        []string // alerts whose schedule is PAUSED: never evaluated
}

// Replay runs the deployed system over simulated time on an engine loaded
// with the full source data: from `from` to `to` (the preview's --as-of),
// source rows become visible as lat says, the pipeline is rebuilt at every
// fire time of the refresh job's schedule over the rows visible then (with
// "now" the refresh time), and every alert of the bundle is evaluated at
// every fire time of its own schedule in (from, to], with "now" the
// evaluation time, against the tables of the latest refresh that has
// finished (started PipelineUpdate earlier). The state before `from` is the
// refresh at the last fire time at or before it.
//
// dests (the spec's destinations) names each alert's subscribers by key.
// The engine's system tables hold every row again when Replay returns; its
// pipeline tables are those of the last refresh.
func (e *Engine) Replay(b *model.Bundle, files []render.File, from, to time.Time, lat Lateness, dests map[string]spec.Destination) (tl *Timeline, err error) {
	from, to = from.UTC(), to.UTC()
	if !to.After(from) {
		return nil, fmt.Errorf("twin: replay from %s to %s: the end must be after the start", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	alerts, err := replayAlerts(b, files)
	if err != nil {
		return nil, err
	}
	stmts, err := e.nowStatements(b, files)
	if err != nil {
		return nil, err
	}
	findings, err := findingTemplates(b)
	if err != nil {
		return nil, err
	}
	refreshTimes, err := refreshSchedule(b, from, to)
	if err != nil {
		return nil, err
	}

	// The events, in time order: a refresh counts at the time its tables
	// are ready, and before an evaluation at the same time.
	type event struct {
		at      time.Time
		refresh time.Time // the refresh's start; zero for an evaluation
		alert   int
	}
	var events []event
	for i, r := range refreshTimes {
		ready := r.Add(lat.PipelineUpdate)
		if i == 0 { // the state the replay starts from
			ready = from
		}
		if ready.After(to) { // its tables would serve no evaluation
			continue
		}
		events = append(events, event{at: ready, refresh: r, alert: -1})
	}
	tl = &Timeline{From: from, To: to}
	for i, a := range alerts {
		if a.settings.Paused {
			tl.Paused = append(tl.Paused, a.key)
			continue
		}
		for t := a.cron.Next(from, a.loc); !t.IsZero() && !t.After(to); t = a.cron.Next(t, a.loc) {
			events = append(events, event{at: t.UTC(), alert: i})
		}
	}
	sort.SliceStable(events, func(i, j int) bool {
		x, y := events[i], events[j]
		if !x.at.Equal(y.at) {
			return x.at.Before(y.at)
		}
		if (x.alert < 0) != (y.alert < 0) {
			return x.alert < 0
		}
		return x.alert < y.alert
	})

	// Every statement of a replay reads little data: one DuckDB thread runs
	// it with a third less CPU than two, which a shared machine notices.
	var threads int64
	if err := e.DB.QueryRow("SELECT current_setting('threads')").Scan(&threads); err != nil {
		return nil, err
	}
	if _, err := e.DB.Exec("SET threads = 1"); err != nil {
		return nil, err
	}
	defer e.DB.Exec(fmt.Sprintf("SET threads = %d", threads))
	views, err := e.hideLateRows(lat)
	defer func() {
		if rerr := views.restore(); rerr != nil && err == nil {
			tl, err = nil, rerr
		}
	}()
	if err != nil {
		return nil, err
	}
	ref := &refresher{e: e, views: views, stmts: stmts, findings: findings}

	machines := make([]*AlertMachine, len(alerts))
	activity := make([]AlertActivity, len(alerts))
	for i, a := range alerts {
		machines[i] = NewAlertMachine(a.settings)
		activity[i] = AlertActivity{Alert: a.key, Family: a.family}
	}
	queries := map[string]*DayQueries{}
	cache := map[string]QueryResult{} // alert query text (with "now" filled in) -> result, for the current refresh
	for i, ev := range events {
		if ev.alert < 0 {
			sum, err := ref.refresh(ev.refresh)
			if err != nil {
				return nil, err
			}
			tl.Refreshes = append(tl.Refreshes, sum)
			clear(cache)
			continue
		}
		a, m := alerts[ev.alert], machines[ev.alert]
		q := a.query.at(ev.at)
		res, ok := cache[q]
		if !ok {
			// Run this evaluation's query with every other one due at the
			// same time, in as few statements as their columns allow.
			if err := views.setVisible(time.Time{}, ev.at); err != nil {
				return nil, err
			}
			var due []*replayAlert
			var texts []string
			for j := i; j < len(events) && events[j].alert >= 0 && events[j].at.Equal(ev.at); j++ {
				t := alerts[events[j].alert].query.at(ev.at)
				if _, done := cache[t]; !done && !slices.Contains(texts, t) {
					due = append(due, &alerts[events[j].alert])
					texts = append(texts, t)
				}
			}
			for k, r := range e.queryBatch(due, texts) {
				cache[texts[k]] = r
			}
			res = cache[q]
		}
		day := ev.at.Format(time.DateOnly)
		if queries[day] == nil {
			queries[day] = &DayQueries{Day: day, ByAlert: map[string]int{}}
		}
		queries[day].Total++
		queries[day].ByAlert[a.key]++
		activity[ev.alert].Evaluations++

		state, evalErr := m.Settings.Evaluate(res)
		prev := m.State
		notify := m.Step(ev.at, state)
		if state == StateError {
			activity[ev.alert].Errors++
		}
		if state == StateTriggered && prev != StateTriggered {
			activity[ev.alert].Triggers++
		}
		if state == prev && !notify {
			continue
		}
		subjects := subjectsOf(res)
		c := Change{Time: ev.at, Alert: a.key, Family: a.family, From: prev, To: state, Notified: notify, Subjects: subjects}
		if evalErr != nil {
			c.Error = evalErr.Error()
		}
		tl.Changes = append(tl.Changes, c)
		if notify {
			activity[ev.alert].Notifications++
			tl.Notifications = append(tl.Notifications, Notification{Time: ev.at, Alert: a.key, Family: a.family,
				State: state, Destinations: destinationKeys(a.settings.Subscriptions, dests), Subjects: subjects})
		}
	}
	for _, d := range queries {
		tl.Queries = append(tl.Queries, *d)
	}
	sort.Slice(tl.Queries, func(i, j int) bool { return tl.Queries[i].Day < tl.Queries[j].Day })
	tl.Alerts = activity
	return tl, nil
}

// replayAlert is one alert ready to evaluate.
type replayAlert struct {
	key, family string
	settings    AlertSettings
	cron        *spec.QuartzCron
	loc         *time.Location
	query       nowSQL
	columns     string // the result's column names and types, once known: alerts alike can share a statement
}

// replayAlerts joins each alert of the model with its deployed settings and
// its query, in the model's (key) order.
func replayAlerts(b *model.Bundle, files []render.File) ([]replayAlert, error) {
	settings, err := ReadAlertSettings(files)
	if err != nil {
		return nil, err
	}
	texts, err := render.AlertQueries(b, "")
	if err != nil {
		return nil, err
	}
	out := make([]replayAlert, 0, len(b.Alerts))
	for i, a := range b.Alerts {
		s, ok := settings[a.Key]
		if !ok {
			return nil, fmt.Errorf("twin: alert %s is not in %s", a.Key, AlertsFile)
		}
		cron, err := spec.ParseQuartzCron(s.Cron)
		if err != nil {
			return nil, fmt.Errorf("twin: alert %s: %w", a.Key, err)
		}
		loc, err := time.LoadLocation(s.Timezone)
		if err != nil {
			return nil, fmt.Errorf("twin: alert %s: %w", a.Key, err)
		}
		q, err := translateNow(texts[i], Context{}, func(st Statement) string { return st.Query })
		if err != nil {
			return nil, fmt.Errorf("twin: alert %s: %w", a.Key, err)
		}
		out = append(out, replayAlert{key: a.Key, family: a.Family, settings: s, cron: cron, loc: loc, query: q})
	}
	if len(settings) != len(b.Alerts) {
		return nil, fmt.Errorf("twin: %s declares %d alerts, the model %d", AlertsFile, len(settings), len(b.Alerts))
	}
	return out, nil
}

// refreshSchedule is the refresh job's fire times that matter: the last at
// or before from (the starting state), then every one in (from, to].
func refreshSchedule(b *model.Bundle, from, to time.Time) ([]time.Time, error) {
	cron, err := spec.ParseQuartzCron(b.RefreshJob.Cron)
	if err != nil {
		return nil, fmt.Errorf("twin: refresh schedule: %w", err)
	}
	loc, err := time.LoadLocation(cmp.Or(b.RefreshJob.Timezone, "UTC"))
	if err != nil {
		return nil, fmt.Errorf("twin: refresh schedule: %w", err)
	}
	var first time.Time
	for back := time.Hour; back <= 400*24*time.Hour && first.IsZero(); back *= 2 {
		for t := cron.Next(from.Add(-back), loc); !t.IsZero() && !t.After(from); t = cron.Next(t, loc) {
			first = t
		}
	}
	if first.IsZero() {
		first = from // a schedule that never fired in the last year: start from the data at from
	}
	out := []time.Time{first.UTC()}
	for t := cron.Next(from, loc); !t.IsZero() && !t.After(to); t = cron.Next(t, loc) {
		out = append(out, t.UTC())
	}
	return out, nil
}

// refresher rebuilds the pipeline at each refresh of a replay.
type refresher struct {
	e        *Engine
	views    *sourceViews
	stmts    []nowStatement
	findings []nowSQL
	last     time.Time // the previous refresh; zero before the first
}

// refresh rebuilds every pipeline table over the rows visible at r, with
// "now" r, and counts the findings. Materialized views are recomputed;
// streaming tables append the rows that arrived since the previous
// refresh, as a Lakeflow streaming table does (a row already read is not
// read again, and a filter on current_date() applies when a row is read).
// The first build also checks every table's columns against its
// declaration (types do not depend on the data, so once is enough).
func (f *refresher) refresh(r time.Time) (RefreshSummary, error) {
	start := time.Now()
	sum := RefreshSummary{Time: r}
	first := f.last.IsZero()
	for _, st := range f.stmts {
		q := st.sql.at(r)
		after := time.Time{}
		if st.st.Kind == "streaming_table" && !first {
			var ok bool
			if q, ok = strings.CutPrefix(q, "CREATE OR REPLACE TABLE "+quoteName(st.st.Table)+" AS "); !ok {
				return sum, fmt.Errorf("twin: %s: cannot append to the streaming table: its statement is not CREATE OR REPLACE TABLE ... AS", st.st.Table)
			}
			q = "INSERT INTO " + quoteName(st.st.Table) + " " + q
			after = f.last
		}
		if err := f.views.setVisible(after, r); err != nil {
			return sum, err
		}
		if first {
			// RunPipeline makes bronze tables views (of one instant); the
			// replay keeps them as tables, since a streaming table keeps
			// rows its filter would exclude now.
			if err := f.e.dropView(st.st.Table); err != nil {
				return sum, err
			}
		}
		if _, err := f.e.DB.Exec(q); err != nil {
			return sum, fmt.Errorf("twin: refresh at %s: %s: %w", r.Format(time.RFC3339), st.st.Table, err)
		}
		if first {
			if err := f.e.checkColumns(st.st); err != nil {
				return sum, err
			}
		}
	}
	f.last = r
	if err := f.views.setVisible(time.Time{}, r); err != nil {
		return sum, err
	}
	for _, q := range f.findings {
		var n int
		if err := f.e.DB.QueryRow("SELECT count(*) FROM (" + q.at(r) + ")").Scan(&n); err != nil {
			return sum, fmt.Errorf("twin: findings at %s: %w", r.Format(time.RFC3339), err)
		}
		sum.Findings += n
	}
	var err error
	sum.ByTable, sum.VisibleRows, err = f.views.visibleRows()
	sum.Elapsed = time.Since(start)
	return sum, err
}

// queryBatch runs the queries of alerts due at the same time. Queries whose
// results have the same columns (known from an earlier run) and whose
// alerts aggregate (so row order does not matter) run as one UNION ALL;
// when that fails, each runs on its own, so an error is the failing
// query's own.
func (e *Engine) queryBatch(due []*replayAlert, texts []string) []QueryResult {
	out := make([]QueryResult, len(texts))
	groups := map[string][]int{}
	var order []string
	for i, a := range due {
		if a.columns == "" || a.settings.Aggregation == "" {
			out[i], a.columns = e.queryAll(texts[i])
			continue
		}
		if groups[a.columns] == nil {
			order = append(order, a.columns)
		}
		groups[a.columns] = append(groups[a.columns], i)
	}
	for _, sig := range order {
		idx := groups[sig]
		if len(idx) > 1 {
			if rs, ok := e.queryUnion(texts, idx); ok {
				for k, i := range idx {
					out[i] = rs[k]
				}
				continue
			}
		}
		for _, i := range idx {
			out[i], due[i].columns = e.queryAll(texts[i])
		}
	}
	return out
}

// queryUnion runs the queries texts[idx...] as one statement, each row
// tagged with its query.
func (e *Engine) queryUnion(texts []string, idx []int) ([]QueryResult, bool) {
	parts := make([]string, len(idx))
	for k, i := range idx {
		parts[k] = fmt.Sprintf("SELECT %d AS __query, * FROM (%s)", k, texts[i])
	}
	all, _ := e.queryAll(strings.Join(parts, "\nUNION ALL\n"))
	if all.Err != nil {
		return nil, false
	}
	out := make([]QueryResult, len(idx))
	for k := range out {
		out[k].Columns = all.Columns[1:]
	}
	for _, row := range all.Rows {
		k, err := sqlNumber(row[0])
		if err != nil {
			return nil, false
		}
		out[int(k)].Rows = append(out[int(k)].Rows, row[1:])
	}
	return out, true
}

// queryAll runs a DuckDB query and keeps every row; columns describes the
// result's column names and types.
func (e *Engine) queryAll(q string) (res QueryResult, columns string) {
	rows, err := e.DB.Query(q)
	if err != nil {
		return QueryResult{Err: err}, ""
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return QueryResult{Err: err}, ""
	}
	cols := make([]string, len(types))
	sig := make([]string, len(types))
	for i, t := range types {
		cols[i] = t.Name()
		sig[i] = strconv.Quote(t.Name()) + " " + t.DatabaseTypeName()
	}
	res = QueryResult{Columns: cols}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return QueryResult{Err: err}, ""
		}
		res.Rows = append(res.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return QueryResult{Err: err}, ""
	}
	return res, strings.Join(sig, ", ")
}

// subjectsOf is the distinct non-NULL values of the result's subject
// column, sorted.
func subjectsOf(r QueryResult) []string {
	out := []string{}
	col := -1
	for i, c := range r.Columns {
		if strings.EqualFold(c, "subject") {
			col = i
		}
	}
	if col < 0 {
		return out
	}
	seen := map[string]bool{}
	for _, row := range r.Rows {
		if v := row[col]; v != nil {
			s := fmt.Sprint(v)
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Two "now" instants nothing else in dbmon's SQL uses. A statement is
// translated once with each; the texts must agree once the instants are
// replaced by slots, which proves the slots are exactly where "now" goes.
var (
	nowProbeA = time.Date(1901, 2, 3, 4, 5, 6, 70809000, time.UTC)
	nowProbeB = time.Date(1902, 3, 4, 5, 6, 7, 80910000, time.UTC)
)

const (
	slotTimestamp = "\x00now-timestamp\x00"
	slotDate      = "\x00now-date\x00"
)

// nowSQL is translated DuckDB SQL with slots for "now", so a replay
// translates each statement once and fills in "now" per run.
type nowSQL string

func (q nowSQL) at(t time.Time) string {
	return strings.NewReplacer(slotTimestamp, TimestampSQL(t), slotDate, "DATE '"+t.UTC().Format(time.DateOnly)+"'").Replace(string(q))
}

func slotted(s string, now time.Time) string {
	return strings.NewReplacer(TimestampSQL(now), slotTimestamp, "DATE '"+now.Format(time.DateOnly)+"'", slotDate).Replace(s)
}

// translateNow translates databricksSQL with "now" left as slots; text picks
// the translated text to keep.
func translateNow(databricksSQL string, ctx Context, text func(Statement) string) (nowSQL, error) {
	var out [2]string
	for i, probe := range []time.Time{nowProbeA, nowProbeB} {
		c := ctx
		c.AsOf = probe
		st, err := Translate(databricksSQL, c)
		if err != nil {
			return "", err
		}
		out[i] = slotted(text(st), probe)
	}
	if out[0] != out[1] {
		return "", fmt.Errorf("twin: the translation of current_timestamp() is not a plain literal; the replay cannot fill it in")
	}
	return nowSQL(out[0]), nil
}

type nowStatement struct {
	st  Statement
	sql nowSQL
}

// nowStatements are the pipeline's statements in dependency order, with
// "now" as slots.
func (e *Engine) nowStatements(b *model.Bundle, files []render.File) ([]nowStatement, error) {
	a, err := Statements(b, files, nowProbeA)
	if err != nil {
		return nil, err
	}
	bs, err := Statements(b, files, nowProbeB)
	if err != nil {
		return nil, err
	}
	out := make([]nowStatement, len(a))
	for i := range a {
		sa, sb := slotted(a[i].SQL, nowProbeA), slotted(bs[i].SQL, nowProbeB)
		if sa != sb || a[i].Table != bs[i].Table {
			return nil, fmt.Errorf("twin: %s: the translation of current_timestamp() is not a plain literal; the replay cannot fill it in", a[i].Table)
		}
		out[i] = nowStatement{st: a[i], sql: nowSQL(sa)}
	}
	return out, nil
}

// findingTemplates are every family's finding query, with "now" as slots.
func findingTemplates(b *model.Bundle) ([]nowSQL, error) {
	qs, err := render.Findings(b, "")
	if err != nil {
		return nil, err
	}
	out := make([]nowSQL, len(qs))
	for i, q := range qs {
		if out[i], err = translateNow(q.SQL, Context{}, func(st Statement) string { return st.Query }); err != nil {
			return nil, fmt.Errorf("finding %s: %w", q.Family, err)
		}
	}
	return out, nil
}

// WriteNotifications writes the timeline's notifications to
// dir/notifications.json: a JSON array, one object per notification.
func (tl *Timeline) WriteNotifications(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	list := tl.Notifications
	if list == nil {
		list = []Notification{}
	}
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "notifications.json"), append(data, '\n'), 0o644)
}

// MarshalJSON writes the time as RFC 3339 in UTC.
func (n Notification) MarshalJSON() ([]byte, error) {
	type plain Notification
	p := plain(n)
	p.Time = p.Time.UTC()
	if p.Destinations == nil {
		p.Destinations = []string{}
	}
	if p.Subjects == nil {
		p.Subjects = []string{}
	}
	return json.Marshal(struct {
		Time string `json:"time"`
		plain
	}{p.Time.Format(time.RFC3339), p})
}

// QueriesPerDay is the mean number of warehouse queries per day the alerts
// cost over the replay.
func (tl *Timeline) QueriesPerDay() float64 {
	n := 0
	for _, d := range tl.Queries {
		n += d.Total
	}
	return float64(n) / tl.To.Sub(tl.From).Hours() * 24
}

// Print writes the timeline for a reader: one line per state change and
// per notification, then what each alert did and what the alerts cost.
func (tl *Timeline) Print(w io.Writer) error {
	p := &printer{w: w}
	p.f("Replay %s to %s: %d refreshes, %d notifications\n", tl.From.Format(time.RFC3339), tl.To.Format(time.RFC3339), len(tl.Refreshes), len(tl.Notifications))
	for _, c := range tl.Changes {
		what := c.From + " -> " + c.To
		if c.From == c.To {
			what = c.To + " again"
		}
		line := fmt.Sprintf("%s  %-22s %s (%s)", c.Time.UTC().Format(time.RFC3339), what, c.Alert, c.Family)
		if c.Notified {
			line += "  notify " + strings.Join(destinationsOf(tl, c), ", ")
		}
		if len(c.Subjects) > 0 {
			line += "  subjects: " + strings.Join(c.Subjects, ", ")
		}
		if c.Error != "" {
			line += "  error: " + firstLine(c.Error)
		}
		p.f("%s\n", line)
	}
	p.f("\nAlerts (evaluations, triggers, notifications, errors):\n")
	for _, a := range tl.Alerts {
		p.f("  %-60s %5d %3d %3d %3d\n", a.Alert, a.Evaluations, a.Triggers, a.Notifications, a.Errors)
	}
	for _, k := range tl.Paused {
		p.f("  %-60s paused\n", k)
	}
	p.f("Warehouse queries: %.0f a day\n", tl.QueriesPerDay())
	return p.err
}

// destinationsOf finds the notification of a change.
func destinationsOf(tl *Timeline, c Change) []string {
	for _, n := range tl.Notifications {
		if n.Time.Equal(c.Time) && n.Alert == c.Alert {
			return n.Destinations
		}
	}
	return nil
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

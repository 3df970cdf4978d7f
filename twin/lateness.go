package twin

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dbmon/dbmon/generator/model"
)

// Lag is a delay spread over [Min, Max]: each row gets Min plus a
// deterministic share of the range taken from the MD5 of its key (billing's
// record_id), so the same data always arrives the same way. Min == Max is a
// fixed delay.
type Lag struct{ Min, Max time.Duration }

// Lateness says when each source row becomes visible to the pipeline, as an
// offset after the row's own event time (Databricks writes system tables
// behind the events they record; ../shared/reference/databricks-behaviour.md,
// "Time"):
//
//   - system.billing.usage: ORIGINAL rows BillingOriginal after
//     usage_end_time, RETRACTION and RESTATEMENT rows BillingCorrection after
//     it.
//   - system.lakeflow job, task and pipeline timelines: Lakeflow after
//     period_end_time (a running run's finished hourly slices arrive while
//     it runs); jobs, job_tasks and pipelines (SCD2): Lakeflow after
//     change_time.
//   - system.compute.node_timeline: Compute after end_time; clusters and
//     warehouses (SCD2): Compute after change_time; warehouse_events and
//     system.access.audit: Compute after event_time.
//   - the collector's bronze_api_job_runs: Collector after end_time (it is
//     written by the collector job on its own schedule).
//   - list_prices, workspaces_latest and node_types, and any row whose event
//     time is NULL: always visible (prices are published ahead).
//
// Late overrides single rows, and PipelineUpdate is how long one pipeline
// update takes: alerts read the tables of a refresh started at R from
// R + PipelineUpdate on.
type Lateness struct {
	BillingOriginal   Lag
	BillingCorrection Lag
	Lakeflow          time.Duration
	Compute           time.Duration
	Collector         time.Duration
	PipelineUpdate    time.Duration
	Late              []LateRows
}

// LateRows makes the rows of Table that match Where arrive Lag after their
// event time instead. Overrides apply in order, so a later one wins where
// two match.
type LateRows struct {
	Table string        // system.<schema>.<table>, or bronze_api_job_runs
	Where string        // a DuckDB condition over the table's columns, e.g. "run_id = '42'"
	Lag   time.Duration // after the table's event time (see Lateness)
}

// DefaultLateness is the documented worst realistic case: billing ORIGINAL
// rows spread over 1 to 12 hours ("typically available within 12 hours"),
// corrections over 24 to 48 hours, Lakeflow and compute rows 15 minutes
// (UNCONFIRMED bound: minutes to about an hour), collector rows 30 minutes
// (its schedule plus its run), and a pipeline update of 10 minutes.
var DefaultLateness = Lateness{
	BillingOriginal:   Lag{Min: time.Hour, Max: 12 * time.Hour},
	BillingCorrection: Lag{Min: 24 * time.Hour, Max: 48 * time.Hour},
	Lakeflow:          15 * time.Minute,
	Compute:           15 * time.Minute,
	Collector:         30 * time.Minute,
	PipelineUpdate:    10 * time.Minute,
}

// sourceArrival is how one source table's rows arrive: the column their lag
// counts from, and the lag.
type sourceArrival struct {
	table string // full name as the SQL writes it
	event string // DuckDB expression of the event time; "" = always visible
	lag   func(Lateness) string
}

func fixed(d func(Lateness) time.Duration) func(Lateness) string {
	return func(l Lateness) string { return intervalSQL(d(l)) }
}

func intervalSQL(d time.Duration) string {
	return fmt.Sprintf("to_microseconds(CAST(%d AS BIGINT))", d.Microseconds())
}

// spreadSQL is the Lag of a row keyed by key: Min + md5(key) mod the range.
func spreadSQL(l Lag, key string) string {
	span := (l.Max - l.Min).Microseconds()
	if span <= 0 {
		return intervalSQL(l.Min)
	}
	return fmt.Sprintf("to_microseconds(CAST(%d + md5_number(coalesce(%s, '')) %% %d AS BIGINT))", l.Min.Microseconds(), key, span+1)
}

var (
	lakeflowLag  = fixed(func(l Lateness) time.Duration { return l.Lakeflow })
	computeLag   = fixed(func(l Lateness) time.Duration { return l.Compute })
	collectorLag = fixed(func(l Lateness) time.Duration { return l.Collector })
)

// arrivals covers every table the engine loads; tableArrival fails on one
// it does not know, so a new system table must say how its rows arrive.
var arrivals = []sourceArrival{
	{"system.lakeflow.jobs", "change_time", lakeflowLag},
	{"system.lakeflow.job_tasks", "change_time", lakeflowLag},
	{"system.lakeflow.job_run_timeline", "period_end_time", lakeflowLag},
	{"system.lakeflow.job_task_run_timeline", "period_end_time", lakeflowLag},
	{"system.lakeflow.pipelines", "change_time", lakeflowLag},
	{"system.lakeflow.pipeline_update_timeline", "period_end_time", lakeflowLag},
	{"system.billing.usage", "usage_end_time", func(l Lateness) string {
		return "CASE WHEN coalesce(record_type, 'ORIGINAL') = 'ORIGINAL' THEN " + spreadSQL(l.BillingOriginal, "record_id") +
			" ELSE " + spreadSQL(l.BillingCorrection, "record_id") + " END"
	}},
	{"system.billing.list_prices", "", nil},
	{"system.compute.clusters", "change_time", computeLag},
	{"system.compute.node_timeline", "end_time", computeLag},
	{"system.compute.node_types", "", nil},
	{"system.compute.warehouse_events", "event_time", computeLag},
	{"system.compute.warehouses", "change_time", computeLag},
	{"system.access.audit", "event_time", computeLag},
	{"system.access.workspaces_latest", "", nil},
	{model.CollectorTable.Name, "end_time", collectorLag},
}

func tableArrival(name string) (sourceArrival, error) {
	for _, a := range arrivals {
		if a.table == name {
			return a, nil
		}
	}
	return sourceArrival{}, fmt.Errorf("twin: no arrival model for table %s", name)
}

// duckName is where a source table lives in DuckDB.
func duckName(table string) string {
	if rest, ok := strings.CutPrefix(table, "system."); ok {
		return catalog + "." + rest
	}
	return table
}

// The source views show the rows whose visible time is in (visibleFromVar,
// visibleVar]: every row visible at a cutoff, or (for a streaming table's
// append) the rows that arrived since the last refresh.
const (
	visibleVar     = "dbmon_visible_at"
	visibleFromVar = "dbmon_visible_after"
)

// hiddenSource is a source table replaced by a view of its visible rows.
type hiddenSource struct {
	table string // full name as the SQL writes it
	view  string // DuckDB name: the view the pipeline reads
	all   string // DuckDB name: every row, with __visible_at
}

// sources lists every table the engine loads, in a fixed order.
func sources() []string {
	out := make([]string, 0, len(SystemTables)+1)
	for _, t := range SystemTables {
		out = append(out, t.FullName())
	}
	return append(out, model.CollectorTable.Name)
}

// sourceViews are the source tables while a replay hides late rows: each
// full table moved aside with the time each row becomes visible, and a view
// in its place showing the rows of the window set by setVisible.
type sourceViews struct {
	e      *Engine
	hidden []hiddenSource
	window [2]time.Time // (after, by] of the views; zero: -infinity
	set    bool
}

// hideLateRows replaces every source table by a view that shows no row
// until setVisible says which; restore puts the full tables back, also
// after an error.
func (e *Engine) hideLateRows(l Lateness) (*sourceViews, error) {
	v := &sourceViews{e: e}
	if err := v.setVisible(time.Time{}, time.Time{}); err != nil {
		return v, err
	}
	for _, name := range sources() {
		a, err := tableArrival(name)
		if err != nil {
			return v, err
		}
		h := hiddenSource{table: name, view: duckName(name), all: duckName(name) + "__all"}
		visible := "TIMESTAMPTZ '-infinity'"
		if a.event != "" {
			visible = "coalesce(" + a.event + " + " + a.lag(l) + ", TIMESTAMPTZ '-infinity')"
		}
		stmts := []string{
			"CREATE TABLE " + h.all + " AS SELECT *, " + visible + " AS __visible_at FROM " + h.view + " ORDER BY __visible_at",
		}
		for _, o := range l.Late {
			if o.Table != name {
				continue
			}
			if a.event == "" {
				return v, fmt.Errorf("twin: late rows of %s: the table has no event time, its rows are always visible", name)
			}
			stmts = append(stmts, "UPDATE "+h.all+" SET __visible_at = "+a.event+" + "+intervalSQL(o.Lag)+" WHERE ("+o.Where+")")
		}
		drop, err := e.dropStatement(h.view)
		if err != nil {
			return v, err
		}
		stmts = append(stmts, drop,
			"CREATE VIEW "+h.view+" AS SELECT * EXCLUDE (__visible_at) FROM "+h.all+
				" WHERE (getvariable('"+visibleFromVar+"') IS NULL OR __visible_at > getvariable('"+visibleFromVar+"'))"+
				" AND __visible_at <= getvariable('"+visibleVar+"')")
		for i, s := range stmts {
			if _, err := e.DB.Exec(s); err != nil {
				return v, fmt.Errorf("twin: hide late rows of %s: %s: %w", name, firstLine(s), err)
			}
			if i == 0 { // the copy exists: restore must put the table back
				v.hidden = append(v.hidden, h)
			}
		}
	}
	return v, nil
}

// dropStatement drops the table or view (a lazy system table, see
// Loader.Expand) of that DuckDB name.
func (e *Engine) dropStatement(name string) (string, error) {
	kind, err := e.relationKind(name)
	if err != nil {
		return "", err
	}
	if kind == "VIEW" {
		return "DROP VIEW " + name, nil
	}
	return "DROP TABLE " + name, nil
}

// dropView drops the view of that name, if there is one.
func (e *Engine) dropView(name string) error {
	kind, err := e.relationKind(name)
	if err != nil || kind != "VIEW" {
		return err
	}
	if _, err := e.DB.Exec("DROP VIEW " + quoteName(name)); err != nil {
		return fmt.Errorf("twin: drop view %s: %w", name, err)
	}
	return nil
}

// relationKind is information_schema's table_type of the DuckDB name
// (catalog.schema.table, or a table of the main schema): BASE TABLE, VIEW,
// or "" when there is none.
func (e *Engine) relationKind(name string) (string, error) {
	cat, schema, table := "", "main", name
	if parts := strings.Split(name, "."); len(parts) == 3 {
		cat, schema, table = parts[0], parts[1], parts[2]
	}
	var kind string
	err := e.DB.QueryRow(`SELECT table_type FROM information_schema.tables
		WHERE table_catalog = coalesce(nullif(?, ''), current_database()) AND table_schema = ? AND table_name = ?`,
		cat, schema, table).Scan(&kind)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("twin: %s: %w", name, err)
	}
	return kind, nil
}

// restore puts the full tables back in place of the views (a lazy table
// comes back as a table of the same rows).
func (v *sourceViews) restore() error {
	var first error
	for i := len(v.hidden) - 1; i >= 0; i-- {
		h := v.hidden[i]
		for _, s := range []string{
			"DROP VIEW IF EXISTS " + h.view,
			"CREATE TABLE IF NOT EXISTS " + h.view + " AS SELECT * EXCLUDE (__visible_at) FROM " + h.all,
			"DROP TABLE " + h.all,
		} {
			if _, err := v.e.DB.Exec(s); err != nil && first == nil {
				first = fmt.Errorf("twin: restore %s: %s: %w", h.table, s, err)
			}
		}
	}
	v.hidden = nil
	return first
}

// setVisible makes the views show the rows that became visible after
// `after` (zero: ever) and by `by` (zero: only the always visible ones).
func (v *sourceViews) setVisible(after, by time.Time) error {
	if v.set && v.window == [2]time.Time{after, by} {
		return nil
	}
	lit := func(t time.Time, zero string) string {
		if t.IsZero() {
			return zero
		}
		return TimestampSQL(t)
	}
	// Rows always visible carry -infinity: "after ever" is NULL, not -infinity.
	for _, s := range []string{"SET VARIABLE " + visibleFromVar + " = " + lit(after, "CAST(NULL AS TIMESTAMPTZ)"),
		"SET VARIABLE " + visibleVar + " = " + lit(by, "TIMESTAMPTZ '-infinity'")} {
		if _, err := v.e.DB.Exec(s); err != nil {
			return err
		}
	}
	v.window, v.set = [2]time.Time{after, by}, true
	return nil
}

// TimestampSQL is the DuckDB literal of the instant t, the same in every
// session time zone. The translation of current_timestamp() is this literal,
// which the replay finds and replaces; Evidence and LateRows conditions use
// it for their instants.
func TimestampSQL(t time.Time) string {
	return "TIMESTAMPTZ '" + t.UTC().Format("2006-01-02 15:04:05.999999") + "+00'"
}

// visibleRows counts the rows the views show, in total and per table (the
// tables with rows).
func (v *sourceViews) visibleRows() (map[string]int64, int64, error) {
	parts := make([]string, len(v.hidden))
	for i, h := range v.hidden {
		parts[i] = fmt.Sprintf("SELECT %d AS i, count(*) AS n FROM %s", i, h.view)
	}
	rows, err := v.e.DB.Query(strings.Join(parts, " UNION ALL "))
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := map[string]int64{}
	var total int64
	for rows.Next() {
		var i int
		var n int64
		if err := rows.Scan(&i, &n); err != nil {
			return nil, 0, err
		}
		if n > 0 {
			out[v.hidden[i].table] = n
		}
		total += n
	}
	return out, total, rows.Err()
}

// Evidence is the source rows that show an incident: Table's rows that
// match Where (a DuckDB condition, as in LateRows).
type Evidence struct {
	Table string
	Where string
}

// VisibleAt is when the evidence became visible under lat: when its first
// and its last row arrived (the data shows the whole incident from the
// last on), and the number of rows. The engine must hold every row (not
// inside a Replay).
func (e *Engine) VisibleAt(lat Lateness, ev Evidence) (first, last time.Time, rows int, err error) {
	a, err := tableArrival(ev.Table)
	if err != nil {
		return first, last, 0, err
	}
	if a.event == "" {
		return first, last, 0, fmt.Errorf("twin: evidence in %s: the table has no event time", ev.Table)
	}
	// The same arrival as hideLateRows: the table's lag, then the overrides
	// in order (the outermost CASE is the last override, which wins).
	visible := a.event + " + " + a.lag(lat)
	for _, o := range lat.Late {
		if o.Table == ev.Table {
			visible = "CASE WHEN (" + o.Where + ") THEN " + a.event + " + " + intervalSQL(o.Lag) + " ELSE " + visible + " END"
		}
	}
	var lo, hi *time.Time
	q := "SELECT min(" + visible + "), max(" + visible + "), count(*) FROM " + duckName(ev.Table) + " WHERE (" + ev.Where + ")"
	if err := e.DB.QueryRow(q).Scan(&lo, &hi, &rows); err != nil {
		return first, last, 0, fmt.Errorf("twin: evidence in %s where %s: %w", ev.Table, ev.Where, err)
	}
	if lo != nil && hi != nil {
		first, last = lo.UTC(), hi.UTC()
	}
	return first, last, rows, nil
}

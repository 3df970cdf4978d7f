package twin

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/dbmon/dbmon/generator/model"
)

// LoadDir fills the system tables (and the collector's table) from files
// exported from a workspace: system.<schema>.<table>.parquet, .json (one
// object per line) or .csv with a header, and bronze_api_job_runs.<ext>.
// Columns the file lacks (newer than the export) become NULL; columns dbmon
// does not know are ignored and reported. It returns one note per file.
func (e *Engine) LoadDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	targets := map[string][]Column{}
	for _, t := range SystemTables {
		targets[t.FullName()] = t.Columns
	}
	targets[model.CollectorTable.Name] = model.CollectorTable.Columns

	var notes []string
	seen := map[string]string{}
	var names []string
	for _, en := range entries {
		names = append(names, en.Name())
	}
	sort.Strings(names)
	for _, name := range names {
		ext := filepath.Ext(name)
		base := strings.TrimSuffix(name, ext)
		if ext != ".parquet" && ext != ".json" && ext != ".csv" {
			continue
		}
		cols, ok := targets[base]
		if !ok {
			if strings.HasPrefix(base, "system.") {
				notes = append(notes, fmt.Sprintf("%s: skipped: dbmon does not read %s", name, base))
			}
			continue
		}
		if prev, dup := seen[base]; dup {
			return notes, fmt.Errorf("%s and %s both hold %s; keep one", prev, name, base)
		}
		seen[base] = name
		note, err := e.loadFile(filepath.Join(dir, name), ext, base, cols)
		if err != nil {
			return notes, fmt.Errorf("%s: %w", name, err)
		}
		notes = append(notes, name+": "+note)
	}
	if len(seen) == 0 {
		return notes, fmt.Errorf("%s holds no system.<schema>.<table>.parquet|json|csv file", dir)
	}
	return notes, nil
}

func (e *Engine) loadFile(path, ext, table string, cols []Column) (string, error) {
	lit := "'" + strings.ReplaceAll(path, "'", "''") + "'"
	var reader string
	switch ext {
	case ".parquet":
		reader = "read_parquet(" + lit + ")"
	case ".csv":
		reader = "read_csv(" + lit + ", header = true)"
	case ".json":
		// Declared types let nested objects load as MAPs and STRUCTs
		// instead of whatever the reader would infer.
		var defs []string
		for _, c := range cols {
			dt := DuckTypeOf(c.Parsed)
			defs = append(defs, "'"+c.Name+"': '"+strings.ReplaceAll(dt, "'", "''")+"'")
		}
		reader = "read_json(" + lit + ", format = 'newline_delimited', columns = {" + strings.Join(defs, ", ") + "})"
	}
	probe := reader
	if ext == ".json" {
		// With declared columns the reader reports exactly those; which keys
		// the file really has comes from an inferring read.
		probe = "read_json(" + lit + ", format = 'newline_delimited')"
	}
	rows, err := e.DB.Query("SELECT column_name FROM (DESCRIBE SELECT * FROM " + probe + ")")
	if err != nil {
		return "", err
	}
	have := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return "", err
		}
		have[n] = true
	}
	rows.Close()
	var sel, missing []string
	known := map[string]bool{}
	for _, c := range cols {
		known[c.Name] = true
		if !have[c.Name] {
			missing = append(missing, c.Name)
			continue
		}
		dt := DuckTypeOf(c.Parsed)
		sel = append(sel, `CAST("`+c.Name+`" AS `+dt+`) AS "`+c.Name+`"`)
	}
	var extra []string
	for n := range have {
		if !known[n] {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	if len(sel) == 0 {
		return "", fmt.Errorf("no column of %s found", table)
	}
	target := model.CollectorTable.Name
	if strings.HasPrefix(table, "system.") {
		target = catalog + strings.TrimPrefix(table, "system")
	}
	res, err := e.DB.Exec("INSERT INTO " + target + " BY NAME SELECT " + strings.Join(sel, ", ") + " FROM " + reader)
	if err != nil {
		return "", err
	}
	n, _ := res.RowsAffected()
	note := fmt.Sprintf("%d rows", n)
	if len(missing) > 0 {
		note += fmt.Sprintf("; %d columns absent, loaded as NULL (%s)", len(missing), strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		note += fmt.Sprintf("; ignored unknown columns %s", strings.Join(extra, ", "))
	}
	return note, nil
}

// Loader appends rows to the system tables through DuckDB appenders, and
// keeps the plan tables a generator expands into system tables (see
// package synth's Sink). Call Close to flush.
type Loader struct {
	// Lazy makes Expand define the system table as a view of its plans
	// instead of inserting the rows (see Expand). Set it before Expand.
	Lazy bool

	conn      *sql.Conn // held until Close: the pool has one connection
	connect   func() (driver.Conn, error)
	tables    map[string]*loadTable
	plans     []string        // plan tables to drop at Close, in creation order
	expanded  map[string]bool // system tables Expand made views (Lazy)
	keepPlans bool            // a view reads the plans: they stay until the engine closes
	flushed   bool
}

// loadTable is one table being appended to. Its rows go in batches to a
// goroutine that converts and appends them on a connection of its own, so
// the tables fill concurrently with each other and with the generator: the
// appender's per-value work (a cgo call for every string) was most of
// synth's time, on one core.
type loadTable struct {
	name  string
	conv  []func(any) (driver.Value, error) // per column, chosen once from the declared type
	cols  []Column
	plan  bool
	batch [][]any       // rows not yet handed to the worker
	work  chan loadWork // to the worker; closed by close
	reply chan error    // the worker's answer to each sync, and its last word
	conn  driver.Conn   // the worker's connection
	a     *duckdb.Appender
	err   error // the worker's first error (worker-owned until a sync)
}

// loadWork is one message to a table's worker: rows to append, then (sync)
// flush and report.
type loadWork struct {
	rows [][]any
	sync bool
}

const loadBatch = 512 // rows per message to a worker

// run is the worker: it appends every batch, and answers each sync with
// its first error after flushing the appender (so the rows are visible to
// every connection).
func (t *loadTable) run() {
	var buf [64]driver.Value
	for w := range t.work {
		for _, row := range w.rows {
			if t.err != nil {
				break
			}
			vals := buf[:0]
			for i, v := range row {
				cv, err := t.conv[i](v)
				if err != nil {
					t.err = fmt.Errorf("twin: %s.%s: %w", t.name, t.cols[i].Name, err)
					break
				}
				vals = append(vals, cv)
			}
			if t.err == nil {
				if err := t.a.AppendRow(vals...); err != nil {
					t.err = fmt.Errorf("twin: %s: %w", t.name, err)
				}
			}
		}
		if w.sync {
			if t.err == nil {
				if err := t.a.Flush(); err != nil {
					t.err = fmt.Errorf("twin: flush %s: %w", t.name, err)
				}
			}
			t.reply <- t.err
		}
	}
	err := t.a.Close()
	if cerr := t.conn.Close(); err == nil {
		err = cerr
	}
	if t.err == nil && err != nil {
		t.err = fmt.Errorf("twin: flush %s: %w", t.name, err)
	}
	t.reply <- t.err
}

// sync hands over the pending rows and waits until the worker has appended
// and flushed everything; it returns the worker's first error.
func (t *loadTable) sync() error {
	t.work <- loadWork{rows: t.batch, sync: true}
	t.batch = nil
	return <-t.reply
}

// close flushes and closes the appender and its connection.
func (t *loadTable) close() error {
	if len(t.batch) > 0 {
		t.work <- loadWork{rows: t.batch}
		t.batch = nil
	}
	close(t.work)
	return <-t.reply
}

// Loader returns a sink for system-table rows (see package synth).
// Close it before running anything else on the engine.
func (e *Engine) Loader() (*Loader, error) {
	c, err := e.DB.Conn(context.Background())
	if err != nil {
		return nil, err
	}
	connect := func() (driver.Conn, error) { return e.connector.Connect(context.Background()) }
	return &Loader{conn: c, connect: connect, tables: map[string]*loadTable{}, expanded: map[string]bool{}}, nil
}

// Plan creates an empty scratch table, dropped at Close, that Append fills
// and Expand reads.
func (l *Loader) Plan(name string, cols []Column) error {
	if _, ok := l.tables[name]; ok {
		return fmt.Errorf("twin: table %s exists", name)
	}
	if _, sys := SystemTable(name); sys || !plainName(name) {
		return fmt.Errorf("twin: %s cannot be a plan table", name)
	}
	ddl, err := createTable(name, cols)
	if err != nil {
		return err
	}
	if _, err := l.conn.ExecContext(context.Background(), ddl); err != nil {
		return fmt.Errorf("twin: plan %s: %w", name, err)
	}
	l.plans = append(l.plans, name)
	return l.open(name, "", "", name, cols, true)
}

// plainName reports whether s is a lower-case identifier.
func plainName(s string) bool {
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r == '_' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

func (l *Loader) open(key, catalogName, schema, name string, cols []Column, plan bool) error {
	t := &loadTable{name: key, cols: cols, plan: plan}
	for _, c := range cols {
		conv, err := converter(c.Type)
		if err != nil {
			return fmt.Errorf("twin: %s.%s: %w", key, c.Name, err)
		}
		t.conv = append(t.conv, conv)
	}
	conn, err := l.connect()
	if err != nil {
		return fmt.Errorf("twin: connection for %s: %w", key, err)
	}
	if t.a, err = duckdb.NewAppender(conn, catalogName, schema, name); err != nil {
		conn.Close()
		return fmt.Errorf("twin: appender for %s: %w", key, err)
	}
	t.conn, t.work, t.reply = conn, make(chan loadWork, 4), make(chan error, 1)
	go t.run()
	l.tables[key] = t
	return nil
}

// Append adds one row, one value per declared column, to a system table or
// a plan table.
func (l *Loader) Append(table string, row []any) error {
	t, ok := l.tables[table]
	if !ok {
		if l.expanded[table] {
			return fmt.Errorf("twin: %s is a view of its plans since Expand; append its rows before", table)
		}
		st, found := SystemTable(table)
		if !found {
			return fmt.Errorf("twin: no system table %s", table)
		}
		if err := l.open(table, catalog, st.Schema, st.Name, st.Columns, false); err != nil {
			return err
		}
		t = l.tables[table]
	}
	if len(row) != len(t.cols) {
		return fmt.Errorf("twin: %s row has %d values, the table %d columns", table, len(row), len(t.cols))
	}
	// The row is the caller's no more (synth makes a new one for every
	// row); a conversion error comes back at the next flush or Close.
	t.batch = append(t.batch, row)
	if len(t.batch) == loadBatch {
		t.work <- loadWork{rows: t.batch}
		t.batch = make([][]any, 0, loadBatch)
	}
	return nil
}

// Expand adds the rows of query, a SELECT over plan tables whose output
// columns are named after columns of the system table, to that table.
// Every row appended so far is flushed first, so the query sees it.
//
// By default the rows are inserted. With Lazy the table becomes a view: the
// rows appended so far (the table, renamed <name>__loaded, if it has any)
// and the query's rows, cast to the declared types, computed each time the
// view is read.
// node_timeline, the largest table by far (41 M rows at 1,000 jobs x 90
// days), then costs its expansion where it is read (the pipeline's bronze
// copy, itself a view on the twin) instead of being written to the database
// file and read back: writing those rows took longer than making them. A
// lazy table takes no more appends, and its plan tables stay until the
// engine closes.
func (l *Loader) Expand(table, query string) error {
	st, ok := SystemTable(table)
	if !ok {
		return fmt.Errorf("twin: no system table %s", table)
	}
	if l.expanded[table] {
		return fmt.Errorf("twin: %s is expanded already", table)
	}
	if err := l.flush(); err != nil {
		return err
	}
	full := catalog + "." + st.Schema + "." + st.Name
	if !l.Lazy {
		if _, err := l.conn.ExecContext(context.Background(), "INSERT INTO "+full+" BY NAME "+query); err != nil {
			return fmt.Errorf("twin: expand %s: %w", table, err)
		}
		return nil
	}
	if t, open := l.tables[table]; open {
		// The appender holds the table: close it before the rename.
		delete(l.tables, table)
		if err := t.close(); err != nil {
			return err
		}
	}
	produced, err := l.columnsOf(query)
	if err != nil {
		return fmt.Errorf("twin: expand %s: %w", table, err)
	}
	sel := make([]string, len(st.Columns))
	for i, c := range st.Columns {
		want := DuckTypeOf(c.Parsed)
		got, ok := produced[c.Name]
		switch {
		case !ok:
			sel[i] = "CAST(NULL AS " + want + `) AS "` + c.Name + `"`
		case sameDuckType(got, want):
			sel[i] = `"` + c.Name + `"`
		default:
			sel[i] = `CAST("` + c.Name + `" AS ` + want + `) AS "` + c.Name + `"`
		}
		delete(produced, c.Name)
	}
	if len(produced) > 0 {
		return fmt.Errorf("twin: expand %s: the query yields columns the table lacks: %s", table, strings.Join(slices.Sorted(maps.Keys(produced)), ", "))
	}
	cols := strings.Join(sel, ", ")
	var loaded int64
	if err := l.conn.QueryRowContext(context.Background(), "SELECT count(*) FROM "+full).Scan(&loaded); err != nil {
		return fmt.Errorf("twin: expand %s: %w", table, err)
	}
	// Without appended rows the view is the expansion alone: DuckDB does
	// not prune unused columns through a UNION ALL, and computing every
	// column (a MAP among them) for a query that reads two made a
	// max(end_time) cost as much as the whole table.
	stmts := []string{"DROP TABLE " + full, "CREATE VIEW " + full + " AS SELECT " + cols + " FROM (" + query + ")"}
	if loaded > 0 {
		stmts = []string{
			"ALTER TABLE " + full + " RENAME TO " + st.Name + "__loaded",
			"CREATE VIEW " + full + " AS SELECT * FROM " + full + "__loaded UNION ALL SELECT " + cols + " FROM (" + query + ")",
		}
	}
	for _, stmt := range stmts {
		if _, err := l.conn.ExecContext(context.Background(), stmt); err != nil {
			return fmt.Errorf("twin: expand %s: %s: %w", table, firstLine(stmt), err)
		}
	}
	l.expanded[table] = true
	l.keepPlans = true
	return nil
}

// columnsOf returns the DuckDB type of each output column of query, which
// it binds but does not run.
func (l *Loader) columnsOf(query string) (map[string]string, error) {
	rows, err := l.conn.QueryContext(context.Background(), "SELECT column_name, column_type FROM (DESCRIBE "+query+")")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, t string
		if err := rows.Scan(&n, &t); err != nil {
			return nil, err
		}
		out[n] = t
	}
	return out, rows.Err()
}

// sameDuckType compares two DuckDB type spellings, ignoring case and spaces.
func sameDuckType(a, b string) bool {
	norm := func(s string) string { return strings.ToUpper(strings.ReplaceAll(s, " ", "")) }
	return norm(a) == norm(b)
}

// flush waits until every row appended so far is in its table.
func (l *Loader) flush() error {
	var first error
	for _, n := range slices.Sorted(maps.Keys(l.tables)) {
		if err := l.tables[n].sync(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Close flushes every appender and drops the plan tables (unless a lazy
// table reads them).
func (l *Loader) Close() error {
	var first error
	for _, n := range slices.Sorted(maps.Keys(l.tables)) {
		if err := l.tables[n].close(); err != nil && first == nil {
			first = err
		}
	}
	l.tables = map[string]*loadTable{}
	if l.keepPlans {
		l.plans = nil // read by a lazy table's view
	}
	for _, p := range l.plans {
		if _, err := l.conn.ExecContext(context.Background(), "DROP TABLE "+p); err != nil && first == nil {
			first = fmt.Errorf("twin: drop %s: %w", p, err)
		}
	}
	l.plans = nil
	if err := l.conn.Close(); err != nil && first == nil {
		first = err
	}
	return first
}

// decimalScale is 10^18, the scale of every declared decimal (38,18).
var decimalScale = new(big.Float).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil))

// converter returns the function that turns a Go value of the synth row
// convention into what the DuckDB appender takes for the declared
// Databricks type. It is chosen once per column: the type's spelling is
// not parsed again for each of millions of values.
func converter(typ string) (func(any) (driver.Value, error), error) {
	typ = strings.TrimSpace(typ)
	lower := strings.ToLower(typ)
	nullable := func(f func(any) (driver.Value, error)) func(any) (driver.Value, error) {
		return func(v any) (driver.Value, error) {
			if v == nil {
				return nil, nil
			}
			return f(v)
		}
	}
	switch {
	case strings.HasPrefix(lower, "decimal("):
		return nullable(func(v any) (driver.Value, error) {
			f, ok := v.(float64)
			if !ok {
				return nil, fmt.Errorf("want float64 for %s, got %T", typ, v)
			}
			i, _ := new(big.Float).Mul(big.NewFloat(f), decimalScale).Int(nil)
			return duckdb.Decimal{Width: 38, Scale: 18, Value: i}, nil
		}), nil
	case strings.HasPrefix(lower, "map<"):
		return nullable(func(v any) (driver.Value, error) {
			m := duckdb.Map{}
			switch mv := v.(type) {
			case map[string]string:
				for k, x := range mv {
					m[k] = x
				}
			case map[string]int64:
				for k, x := range mv {
					m[k] = x
				}
			default:
				return nil, fmt.Errorf("want a map for %s, got %T", typ, v)
			}
			return m, nil
		}), nil
	case strings.HasPrefix(lower, "array<struct"):
		return nullable(func(v any) (driver.Value, error) {
			list, ok := v.([]map[string]any)
			if !ok {
				return nil, fmt.Errorf("want []map[string]any for %s, got %T", typ, v)
			}
			out := make([]any, len(list))
			for i, x := range list {
				out[i] = x
			}
			return out, nil
		}), nil
	case strings.HasPrefix(lower, "array<"):
		return nullable(func(v any) (driver.Value, error) {
			list, ok := v.([]string)
			if !ok {
				return nil, fmt.Errorf("want []string for %s, got %T", typ, v)
			}
			out := make([]any, len(list))
			for i, x := range list {
				out[i] = x
			}
			return out, nil
		}), nil
	case strings.HasPrefix(lower, "struct<"):
		type field struct {
			name string
			conv func(any) (driver.Value, error)
		}
		var fields []field
		for _, f := range model.SplitTop(typ[len("struct<"):len(typ)-1], ',') {
			name, ft, _ := strings.Cut(f, ":")
			conv, err := converter(ft)
			if err != nil {
				return nil, err
			}
			fields = append(fields, field{strings.TrimSpace(name), conv})
		}
		return nullable(func(v any) (driver.Value, error) {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("want map[string]any for %s, got %T", typ, v)
			}
			out := make(map[string]any, len(fields))
			for _, f := range fields {
				x, err := f.conv(m[f.name])
				if err != nil {
					return nil, fmt.Errorf("field %s: %w", f.name, err)
				}
				out[f.name] = x
			}
			return out, nil
		}), nil
	}
	if _, err := DuckType(typ); err != nil {
		return nil, err
	}
	return func(v any) (driver.Value, error) { return v, nil }, nil
}

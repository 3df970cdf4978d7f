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
	conn    *sql.Conn // held until Close: the pool has one connection
	tables  map[string]*loadTable
	plans   []string // plan tables to drop at Close, in creation order
	flushed bool
}

// loadTable is one table being appended to.
type loadTable struct {
	name  string
	a     *duckdb.Appender
	conv  []func(any) (driver.Value, error) // per column, chosen once from the declared type
	cols  []Column
	plan  bool
	dirty bool // rows appended since the last flush
}

// Loader returns a sink for system-table rows (see package synth).
// Close it before running anything else on the engine.
func (e *Engine) Loader() (*Loader, error) {
	c, err := e.DB.Conn(context.Background())
	if err != nil {
		return nil, err
	}
	return &Loader{conn: c, tables: map[string]*loadTable{}}, nil
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
	err := l.conn.Raw(func(dc any) error {
		var err error
		t.a, err = duckdb.NewAppender(dc.(driver.Conn), catalogName, schema, name)
		return err
	})
	if err != nil {
		return fmt.Errorf("twin: appender for %s: %w", key, err)
	}
	l.tables[key] = t
	return nil
}

// Append adds one row, one value per declared column, to a system table or
// a plan table.
func (l *Loader) Append(table string, row []any) error {
	t, ok := l.tables[table]
	if !ok {
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
	var buf [32]driver.Value
	vals := buf[:0]
	for i, v := range row {
		cv, err := t.conv[i](v)
		if err != nil {
			return fmt.Errorf("twin: %s.%s: %w", table, t.cols[i].Name, err)
		}
		vals = append(vals, cv)
	}
	t.dirty = true
	return t.a.AppendRow(vals...)
}

// Expand inserts the rows of query, a SELECT over plan tables whose output
// columns are named after columns of the system table, into that table.
// Every row appended so far is flushed first, so the query sees it.
func (l *Loader) Expand(table, query string) error {
	st, ok := SystemTable(table)
	if !ok {
		return fmt.Errorf("twin: no system table %s", table)
	}
	if err := l.flush(); err != nil {
		return err
	}
	stmt := "INSERT INTO " + catalog + "." + st.Schema + "." + st.Name + " BY NAME " + query
	if _, err := l.conn.ExecContext(context.Background(), stmt); err != nil {
		return fmt.Errorf("twin: expand %s: %w", table, err)
	}
	return nil
}

func (l *Loader) flush() error {
	for _, n := range slices.Sorted(maps.Keys(l.tables)) {
		if t := l.tables[n]; t.dirty {
			if err := t.a.Flush(); err != nil {
				return fmt.Errorf("twin: flush %s: %w", n, err)
			}
			t.dirty = false
		}
	}
	return nil
}

// Close flushes every appender and drops the plan tables.
func (l *Loader) Close() error {
	var first error
	for _, n := range slices.Sorted(maps.Keys(l.tables)) {
		if err := l.tables[n].a.Close(); err != nil && first == nil {
			first = fmt.Errorf("twin: flush %s: %w", n, err)
		}
	}
	l.tables = map[string]*loadTable{}
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

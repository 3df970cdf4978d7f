package twin

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"math/big"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/dbmon/dbmon/generator/model"
)

// catalog is where the system tables live in DuckDB: "system" is reserved
// there, so the translation maps system.<schema>.<table> to it.
const catalog = "dbx_system"

// sessionSettings make DuckDB behave like a Databricks session whose time
// zone (SQL configuration TIMEZONE, spark.sql.session.timeZone) is zone:
// Spark's TIMESTAMP is an instant, which the twin stores as TIMESTAMPTZ, and
// DuckDB's TimeZone then renders it as Spark's session zone does (CAST(ts AS
// DATE), hour(ts), date_trunc, timestamp literals). NULLs sort first
// ascending (Spark's order, which ROW_NUMBER() over a nullable column depends
// on).
func sessionSettings(zone string) []string {
	return []string{
		"SET TimeZone = '" + strings.ReplaceAll(zone, "'", "''") + "'",
		"SET default_null_order = 'nulls_first_on_asc_last_on_desc'",
	}
}

// DefaultSessionZone is the session time zone of a Databricks SQL warehouse
// and pipeline nobody configured.
const DefaultSessionZone = "UTC"

// Option configures Open.
type Option func(*options)

type options struct{ zone string }

// SessionZone runs the engine as a Databricks session whose time zone is
// zone (an IANA name), as a warehouse with the TIMEZONE configuration
// parameter set would. The default is UTC. dbmon's SQL must give the same
// answers under every zone; the tests run it under several.
func SessionZone(zone string) Option { return func(o *options) { o.zone = zone } }

// Engine is one DuckDB database holding the system tables and every table the
// pipeline builds.
type Engine struct {
	DB   *sql.DB
	AsOf time.Time
	Zone string // the session time zone
	tmp  string // DuckDB's spill folder
}

// MemoryLimit caps DuckDB's memory (its memory_limit setting).
var MemoryLimit = "2GB"

// Open creates an in-memory twin whose "now" is asOf, with empty system
// tables and the collector's table.
func Open(asOf time.Time, opts ...Option) (*Engine, error) {
	o := options{zone: DefaultSessionZone}
	for _, opt := range opts {
		opt(&o)
	}
	if _, err := time.LoadLocation(o.zone); err != nil || o.zone == "" || o.zone == "Local" {
		return nil, fmt.Errorf("twin: session time zone %q is not an IANA time zone name", o.zone)
	}
	db, err := openDB(o.zone)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "dbmon-twin-")
	if err != nil {
		db.Close()
		return nil, err
	}
	e := &Engine{DB: db, AsOf: asOf.UTC(), Zone: o.zone, tmp: tmp}
	setup := []string{
		// Bounded memory: past the limit DuckDB spills to the temp folder
		// instead of growing (1,000 jobs x 90 days would otherwise peak
		// above 4 GB). Insertion order is not kept: every reader sorts.
		"SET memory_limit = '" + MemoryLimit + "'",
		"SET temp_directory = '" + strings.ReplaceAll(tmp, "'", "''") + "'",
		"SET preserve_insertion_order = false",
		"ATTACH ':memory:' AS " + catalog,
	}
	schemas := map[string]bool{}
	for _, t := range SystemTables {
		if !schemas[t.Schema] {
			schemas[t.Schema] = true
			setup = append(setup, "CREATE SCHEMA "+catalog+"."+t.Schema)
		}
		ddl, err := createTable(catalog+"."+t.Schema+"."+t.Name, t.Columns)
		if err != nil {
			return nil, err
		}
		setup = append(setup, ddl)
	}
	ddl, err := createTable(model.CollectorTable.Name, model.CollectorTable.Columns)
	if err != nil {
		return nil, err
	}
	setup = append(setup, ddl)
	setup = append(setup, Macros...)
	for _, s := range setup {
		if _, err := db.Exec(s); err != nil {
			e.Close()
			return nil, fmt.Errorf("twin setup: %s: %w", firstLine(s), err)
		}
	}
	return e, nil
}

// openDB opens an empty in-memory DuckDB whose every connection has the
// settings of a Databricks session in time zone zone.
func openDB(zone string) (*sql.DB, error) {
	connector, err := duckdb.NewConnector("", func(ex driver.ExecerContext) error {
		for _, s := range sessionSettings(zone) {
			if _, err := ex.ExecContext(context.Background(), s, nil); err != nil {
				return fmt.Errorf("twin: %s: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	// One connection: macros and settings are per database, but a single
	// connection keeps statement order and appenders simple.
	db.SetMaxOpenConns(1)
	return db, nil
}

// Close releases the database.
func (e *Engine) Close() error {
	err := e.DB.Close()
	os.RemoveAll(e.tmp)
	return err
}

func createTable(name string, cols []Column) (string, error) {
	defs := make([]string, len(cols))
	for i, c := range cols {
		defs[i] = `"` + c.Name + `" ` + DuckTypeOf(c.Parsed)
	}
	return "CREATE TABLE " + name + " (" + strings.Join(defs, ", ") + ")", nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// Loader appends rows to the system tables through DuckDB appenders. Call
// Close to flush.
type Loader struct {
	conn      *sql.Conn // held until Close: the pool has one connection
	appenders map[string]*duckdb.Appender
	tables    map[string]Table
}

// Loader returns a sink for system-table rows (see package synth).
// Close it before running anything else on the engine.
func (e *Engine) Loader() (*Loader, error) {
	c, err := e.DB.Conn(context.Background())
	if err != nil {
		return nil, err
	}
	return &Loader{conn: c, appenders: map[string]*duckdb.Appender{}, tables: map[string]Table{}}, nil
}

// Append adds one row, one value per declared column.
func (l *Loader) Append(table string, row []any) error {
	a, ok := l.appenders[table]
	if !ok {
		t, found := SystemTable(table)
		if !found {
			return fmt.Errorf("twin: no system table %s", table)
		}
		err := l.conn.Raw(func(dc any) error {
			var err error
			a, err = duckdb.NewAppender(dc.(driver.Conn), catalog, t.Schema, t.Name)
			return err
		})
		if err != nil {
			return fmt.Errorf("twin: appender for %s: %w", table, err)
		}
		l.appenders[table] = a
		l.tables[table] = t
	}
	t := l.tables[table]
	if len(row) != len(t.Columns) {
		return fmt.Errorf("twin: %s row has %d values, the table %d columns", table, len(row), len(t.Columns))
	}
	vals := make([]driver.Value, len(row))
	for i, v := range row {
		cv, err := appenderValue(t.Columns[i].Parsed, v)
		if err != nil {
			return fmt.Errorf("twin: %s.%s: %w", table, t.Columns[i].Name, err)
		}
		vals[i] = cv
	}
	return a.AppendRow(vals...)
}

// Close flushes every appender.
func (l *Loader) Close() error {
	names := make([]string, 0, len(l.appenders))
	for n := range l.appenders {
		names = append(names, n)
	}
	sort.Strings(names)
	var first error
	for _, n := range names {
		if err := l.appenders[n].Close(); err != nil && first == nil {
			first = fmt.Errorf("twin: flush %s: %w", n, err)
		}
	}
	l.appenders = map[string]*duckdb.Appender{}
	if err := l.conn.Close(); err != nil && first == nil {
		first = err
	}
	return first
}

// appenderValue converts a Go value of the synth row convention into what the
// DuckDB appender takes for the declared Databricks type.
func appenderValue(typ model.Type, v any) (driver.Value, error) {
	if v == nil {
		return nil, nil
	}
	switch typ.Kind {
	case model.KindDecimal:
		f, ok := v.(float64)
		if !ok {
			return nil, fmt.Errorf("want float64 for %s, got %T", typ, v)
		}
		scale := int64(typ.Scale)
		scaled := new(big.Float).Mul(big.NewFloat(f), new(big.Float).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(scale), nil)))
		i, _ := scaled.Int(nil)
		return duckdb.Decimal{Width: uint8(typ.Precision), Scale: uint8(typ.Scale), Value: i}, nil
	case model.KindMap:
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
	case model.KindArray:
		if typ.Elem.Kind == model.KindStruct {
			list, ok := v.([]map[string]any)
			if !ok {
				return nil, fmt.Errorf("want []map[string]any for %s, got %T", typ, v)
			}
			out := make([]any, len(list))
			for i, x := range list {
				out[i] = x
			}
			return out, nil
		}
		list, ok := v.([]string)
		if !ok {
			return nil, fmt.Errorf("want []string for %s, got %T", typ, v)
		}
		out := make([]any, len(list))
		for i, x := range list {
			out[i] = x
		}
		return out, nil
	case model.KindStruct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("want map[string]any for %s, got %T", typ, v)
		}
		return structValue(typ, m)
	}
	return v, nil
}

// structValue converts nested decimal fields of a struct (list_prices.pricing).
func structValue(typ model.Type, m map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(m))
	for _, f := range typ.Fields {
		v, err := appenderValue(f.Type, m[f.Name])
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Name, err)
		}
		out[f.Name] = v
	}
	return out, nil
}

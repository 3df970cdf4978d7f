package twin

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
	"path/filepath"
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

	connector *duckdb.Connector // DB's, for the Loader's connections
}

// MemoryLimit caps DuckDB's memory (its memory_limit setting). At 1,000
// jobs x 90 days cluster_usage_hourly groups 41 M node records two ways;
// under a 2 GB cap that aggregate spilled and took 37 s, under 3 GB 18-21 s
// (peak RSS 3.3 GB, the bound is 4 GB).
var MemoryLimit = "3GB"

// Open creates a twin (database files in a new temp folder) whose "now" is asOf, with empty system
// tables and the collector's table.
func Open(asOf time.Time, opts ...Option) (*Engine, error) {
	o := options{zone: DefaultSessionZone}
	for _, opt := range opts {
		opt(&o)
	}
	if _, err := time.LoadLocation(o.zone); err != nil || o.zone == "" || o.zone == "Local" {
		return nil, fmt.Errorf("twin: session time zone %q is not an IANA time zone name", o.zone)
	}
	tmp, err := os.MkdirTemp("", "dbmon-twin-")
	if err != nil {
		return nil, err
	}
	// The tables live in database files in the temp folder, not in memory:
	// DuckDB compresses what it writes to a file (a large insert goes
	// straight to compressed row groups) and can evict those blocks without
	// spilling them, where an in-memory table stays uncompressed. At 1,000
	// jobs x 90 days node_timeline is 46 M rows: about 15 GB in memory,
	// about 1.4 GB in a file (some 30 bytes a row, measured at 100 jobs).
	connector, err := newConnector(o.zone, filepath.Join(tmp, "twin.duckdb"))
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	db := oneConnection(connector)
	e := &Engine{DB: db, AsOf: asOf.UTC(), Zone: o.zone, tmp: tmp, connector: connector}
	setup := []string{
		// Bounded memory: past the limit DuckDB spills to the temp folder
		// instead of growing (larger runs would otherwise peak above 4 GB).
		// Insertion order is not kept: every reader sorts.
		"SET memory_limit = '" + MemoryLimit + "'",
		"SET temp_directory = '" + strings.ReplaceAll(tmp, "'", "''") + "'",
		"SET preserve_insertion_order = false",
		"ATTACH '" + strings.ReplaceAll(filepath.Join(tmp, catalog+".duckdb"), "'", "''") + "' AS " + catalog,
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
	// The gold history tables are pipeline streaming tables that keep their
	// rows across updates (RunPipeline replaces only what it computes); the
	// history step (PersistHistory) and the tests write them.
	for _, h := range model.HistoryTables() {
		ddl, err := createTable(h.Name, h.Columns)
		if err != nil {
			return nil, err
		}
		setup = append(setup, ddl)
	}
	setup = append(setup, Macros...)
	for _, s := range setup {
		if _, err := db.Exec(s); err != nil {
			e.Close()
			return nil, fmt.Errorf("twin setup: %s: %w", firstLine(s), err)
		}
	}
	return e, nil
}

// openDB opens an empty DuckDB, in memory if path is "", whose every
// connection has the settings of a Databricks session in time zone zone.
func openDB(zone, path string) (*sql.DB, error) {
	connector, err := newConnector(zone, path)
	if err != nil {
		return nil, err
	}
	return oneConnection(connector), nil
}

// newConnector opens the database at path ("" in memory); each of its
// connections gets the session settings of time zone zone.
func newConnector(zone, path string) (*duckdb.Connector, error) {
	return duckdb.NewConnector(path, func(ex driver.ExecerContext) error {
		for _, s := range sessionSettings(zone) {
			if _, err := ex.ExecContext(context.Background(), s, nil); err != nil {
				return fmt.Errorf("twin: %s: %w", s, err)
			}
		}
		return nil
	})
}

// oneConnection is the pool of connector's one connection: settings and
// variables (a replay's visibility window) are per connection, and one
// keeps statement order simple. Only the Loader's appenders have their own.
func oneConnection(connector *duckdb.Connector) *sql.DB {
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	return db
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

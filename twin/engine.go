package twin

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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

type options struct {
	zone   string
	memory int64 // bytes; 0 for DefaultMemory
}

// SessionZone runs the engine as a Databricks session whose time zone is
// zone (an IANA name), as a warehouse with the TIMEZONE configuration
// parameter set would. The default is UTC. dbmon's SQL must give the same
// answers under every zone; the tests run it under several.
func SessionZone(zone string) Option { return func(o *options) { o.zone = zone } }

// Memory caps DuckDB's memory at bytes instead of DefaultMemory. A cap above
// DefaultMemory is lowered to three quarters of what DuckDB would take
// unasked (80% of the machine's memory), so a large preview leaves the
// machine usable.
func Memory(bytes int64) Option { return func(o *options) { o.memory = bytes } }

// Engine is one DuckDB database holding the system tables and every table the
// pipeline builds.
type Engine struct {
	DB   *sql.DB
	AsOf time.Time
	Zone string // the session time zone
	tmp  string // DuckDB's spill folder

	connector *duckdb.Connector // DB's, for the Loader's connections
}

// DefaultMemory caps DuckDB's memory (its memory_limit setting). At 1,000
// jobs x 90 days cluster_usage_hourly groups 41 M node records two ways;
// under a 2 GB cap that aggregate spilled and took 37 s, under 3 GB 18-21 s
// (peak RSS 3.3 GB, the bound is 4 GB).
const DefaultMemory int64 = 3_000_000_000

// bytesPerJobDay is the memory SyntheticMemory gives a synthetic account
// per job and day. Under a fixed cap the data outgrows the memory: at
// 10,000 jobs x 90 days the system tables alone take 2.3 GB on disk and
// cluster_usage_hourly's aggregate holds 91 M groups, so that aggregate
// spills and the statement takes 186-199 s under 3 GB, against 147 s under
// 6 GB and 141 s under 16 GB (12.1 s at 1,000 jobs). The whole 10,000-job
// preview: 460 s under 3 GB, 431-447 s under 6.75 GB, measured the same day.
const bytesPerJobDay = 7_500

// SyntheticMemory is the memory cap (Memory) for a twin holding a synthetic
// account of jobs x days: DefaultMemory up to 4,444 jobs x 90 days, then in
// proportion (10,000 x 90: 6.75 GB).
func SyntheticMemory(jobs, days int) int64 {
	return max(DefaultMemory, int64(jobs)*int64(days)*bytesPerJobDay)
}

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
	limit, err := memoryLimit(db, o.memory)
	if err != nil {
		e.Close()
		return nil, err
	}
	setup := []string{
		// Bounded memory: past the limit DuckDB spills to the temp folder
		// instead of growing (larger runs would otherwise peak above 4 GB).
		// Insertion order is not kept: every reader sorts.
		fmt.Sprintf("SET memory_limit = '%dMB'", limit/1_000_000),
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

// memoryLimit is the cap Open sets for a requested one (0: DefaultMemory):
// one above DefaultMemory is held to three quarters of DuckDB's own default
// on this machine (80% of its memory), never below DefaultMemory.
func memoryLimit(db *sql.DB, requested int64) (int64, error) {
	if requested <= 0 {
		return DefaultMemory, nil
	}
	if requested <= DefaultMemory {
		return requested, nil
	}
	var setting string
	if err := db.QueryRow("SELECT current_setting('memory_limit')").Scan(&setting); err != nil {
		return 0, fmt.Errorf("twin setup: reading DuckDB's memory_limit: %w", err)
	}
	machine, err := parseDuckSize(setting)
	if err != nil {
		return 0, fmt.Errorf("twin setup: DuckDB's memory_limit %q: %w", setting, err)
	}
	return max(DefaultMemory, min(requested, machine/4*3)), nil
}

// parseDuckSize reads a size as DuckDB prints it ("18.8 GiB", "512.0 MiB",
// "0 bytes").
func parseDuckSize(s string) (int64, error) {
	number, unit, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok {
		return 0, fmt.Errorf("not a number and a unit")
	}
	f, err := strconv.ParseFloat(number, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("not a size")
	}
	scale := map[string]float64{"bytes": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40, "PiB": 1 << 50}[unit]
	if scale == 0 {
		return 0, fmt.Errorf("unknown unit %q", unit)
	}
	return int64(f * scale), nil
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

package twin

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/dbmon/dbmon/generator/model"
)

// catalog is where the system tables live in DuckDB: "system" is reserved
// there, so the translation maps system.<schema>.<table> to it.
const catalog = "dbx_system"

// sessionSettings make DuckDB behave like a Databricks session: timestamps
// are UTC wall-clock values, and NULLs sort first ascending (Spark's order,
// which ROW_NUMBER() over a nullable column depends on).
var sessionSettings = []string{
	"SET TimeZone = 'UTC'",
	"SET default_null_order = 'nulls_first_on_asc_last_on_desc'",
}

// Engine is one DuckDB database holding the system tables and every table the
// pipeline builds.
type Engine struct {
	DB   *sql.DB
	AsOf time.Time
	tmp  string // DuckDB's spill folder
}

// MemoryLimit caps DuckDB's memory (its memory_limit setting).
var MemoryLimit = "2GB"

// Open creates an in-memory twin whose "now" is asOf, with empty system
// tables and the collector's table.
func Open(asOf time.Time) (*Engine, error) {
	// Session settings go on every connection the pool opens.
	connector, err := duckdb.NewConnector("", func(ex driver.ExecerContext) error {
		for _, s := range sessionSettings {
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
	tmp, err := os.MkdirTemp("", "dbmon-twin-")
	if err != nil {
		return nil, err
	}
	e := &Engine{DB: db, AsOf: asOf.UTC(), tmp: tmp}
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
			db.Close()
			return nil, fmt.Errorf("twin setup: %s: %w", firstLine(s), err)
		}
	}
	return e, nil
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
		dt, err := DuckType(c.Type)
		if err != nil {
			return "", fmt.Errorf("%s.%s: %w", name, c.Name, err)
		}
		defs[i] = `"` + c.Name + `" ` + dt
	}
	return "CREATE TABLE " + name + " (" + strings.Join(defs, ", ") + ")", nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

package twin

import (
	"fmt"
	"strings"

	"github.com/dbmon/dbmon/generator/model"
)

// The system-table declarations live in package model (the data dictionary
// prints them too); these names keep the twin's API short.
type (
	// Column is a column typed in Databricks SQL syntax.
	Column = model.Column
	// Table is a system table.
	Table = model.SystemTable
)

// SystemTables are the declared system tables.
var SystemTables = model.SystemTables

// SystemTable returns the declared table with the full name system.<schema>.<table>.
func SystemTable(fullName string) (Table, bool) { return model.SystemTableByName(fullName) }

// DuckType translates a Databricks column type into DuckDB's spelling:
// map<k,v> → MAP(K, V), array<t> → T[], struct<a:t> → STRUCT("a" T). The
// type is parsed by model.ParseType, the parser of the declarations.
func DuckType(t string) (string, error) {
	pt, err := model.ParseType(t)
	if err != nil {
		return "", err
	}
	return DuckTypeOf(pt), nil
}

// DuckTypeOf is DuckType of a parsed type, such as a declared column's
// Parsed.
func DuckTypeOf(t model.Type) string {
	switch t.Kind {
	case model.KindString:
		return "VARCHAR"
	case model.KindInt:
		return "INTEGER"
	case model.KindBigint:
		return "BIGINT"
	case model.KindDouble:
		return "DOUBLE"
	case model.KindBoolean:
		return "BOOLEAN"
	case model.KindDate:
		return "DATE"
	case model.KindTimestamp:
		// Spark's TIMESTAMP is an instant rendered in the session time
		// zone: DuckDB's TIMESTAMPTZ under the engine's TimeZone.
		return "TIMESTAMPTZ"
	case model.KindDecimal:
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale)
	case model.KindArray:
		return DuckTypeOf(*t.Elem) + "[]"
	case model.KindMap:
		return "MAP(" + DuckTypeOf(*t.Key) + ", " + DuckTypeOf(*t.Elem) + ")"
	case model.KindStruct:
		fields := make([]string, len(t.Fields))
		for i, f := range t.Fields {
			fields[i] = `"` + f.Name + `" ` + DuckTypeOf(f.Type)
		}
		return "STRUCT(" + strings.Join(fields, ", ") + ")"
	}
	panic("twin: no DuckDB type for kind " + string(t.Kind)) // model.ParseType makes no other kind
}

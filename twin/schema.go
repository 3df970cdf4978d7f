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

func splitTop(s string, sep rune) []string { return model.SplitTop(s, sep) }

// DuckType translates a Databricks column type into DuckDB's spelling:
// map<k,v> → MAP(K, V), array<t> → T[], struct<a:t> → STRUCT("a" T).
func DuckType(t string) (string, error) {
	t = strings.TrimSpace(t)
	lower := strings.ToLower(t)
	inner := func(prefix string) (string, bool) {
		if strings.HasPrefix(lower, prefix+"<") && strings.HasSuffix(t, ">") {
			return t[len(prefix)+1 : len(t)-1], true
		}
		return "", false
	}
	if in, ok := inner("array"); ok {
		el, err := DuckType(in)
		if err != nil {
			return "", err
		}
		return el + "[]", nil
	}
	if in, ok := inner("map"); ok {
		kv := splitTop(in, ',')
		if len(kv) != 2 {
			return "", fmt.Errorf("map type %q needs a key and a value type", t)
		}
		k, err := DuckType(kv[0])
		if err != nil {
			return "", err
		}
		v, err := DuckType(kv[1])
		if err != nil {
			return "", err
		}
		return "MAP(" + k + ", " + v + ")", nil
	}
	if in, ok := inner("struct"); ok {
		var fields []string
		for _, f := range splitTop(in, ',') {
			name, ft, ok := strings.Cut(f, ":")
			if !ok {
				return "", fmt.Errorf("struct field %q has no type", f)
			}
			dt, err := DuckType(ft)
			if err != nil {
				return "", err
			}
			fields = append(fields, `"`+strings.TrimSpace(name)+`" `+dt)
		}
		return "STRUCT(" + strings.Join(fields, ", ") + ")", nil
	}
	switch {
	case lower == "string":
		return "VARCHAR", nil
	case lower == "int" || lower == "integer":
		return "INTEGER", nil
	case lower == "bigint" || lower == "long":
		return "BIGINT", nil
	case lower == "double":
		return "DOUBLE", nil
	case lower == "boolean":
		return "BOOLEAN", nil
	case lower == "date":
		return "DATE", nil
	case lower == "timestamp":
		return "TIMESTAMP", nil
	case strings.HasPrefix(lower, "decimal("):
		return strings.ToUpper(lower), nil
	}
	return "", fmt.Errorf("unknown column type %q", t)
}

package model

import (
	"strconv"
	"strings"
)

// This file holds the literal writers through which every spec string and
// number reaches SQL; names never become identifiers. The spec's rules reach
// SQL as rows of the config tables (config.go), not as expressions.

// SQLString quotes s as a Databricks SQL string literal. Databricks treats a
// backslash in a literal as an escape, so it is escaped too; regexes therefore
// arrive at the regex engine unchanged.
func SQLString(s string) string {
	return "'" + sqlEscaper.Replace(s) + "'"
}

// sqlEscaper escapes what ends or changes a Spark string literal, and
// writes ${ as $\{: a pipeline substitutes ${key} in its SQL sources, string
// literals included, and Spark reads \{ as {. (validate refuses ${ in the
// spec's values; this keeps any other literal from being substituted.)
var sqlEscaper = strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`, "${", `$\{`)

// SQLNumber prints a float without an exponent, as a DOUBLE literal.
func SQLNumber(f float64) string {
	return "CAST(" + strconv.FormatFloat(f, 'f', -1, 64) + " AS DOUBLE)"
}

// SQLList quotes values as a parenthesized list of SQL string literals.
func SQLList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = SQLString(v)
	}
	return "(" + strings.Join(q, ", ") + ")"
}

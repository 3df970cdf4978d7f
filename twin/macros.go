package twin

import (
	"fmt"
	"strings"
)

// function is how the twin runs one Databricks function.
type function struct {
	duck     string // DuckDB function or macro to call instead; "" keeps the name
	min, max int    // argument counts the twin accepts; max -1 is unbounded
}

// functions is the one table of Databricks functions the twin knows.
// Translate rejects a call to anything else, so SQL can never depend on a
// function whose DuckDB behaviour nobody checked. A name keeps its spelling
// only where DuckDB's function of that name agrees with Databricks on the
// values dbmon produces (translate_test.go asserts each); otherwise it is
// renamed to a DuckDB function or to a dbx_ macro below.
var functions = map[string]function{
	// Aggregates and window functions.
	"count":       {"", 1, -1},
	"sum":         {"", 1, 1},
	"avg":         {"", 1, 1},
	"min":         {"", 1, 1},
	"max":         {"", 1, 1},
	"max_by":      {"", 2, 2},
	"min_by":      {"", 2, 2},
	"count_if":    {"", 1, 1},
	"grouping":    {"", 1, 1}, // 1 when the column is not in the row's grouping set
	"stddev":      {"", 1, 1},
	"stddev_samp": {"", 1, 1},
	"stddev_pop":  {"", 1, 1},
	"variance":    {"", 1, 1},
	"percentile":  {"quantile_cont", 2, 2}, // both exact and interpolated
	"row_number":  {"", 0, 0},
	"rank":        {"", 0, 0},
	"dense_rank":  {"", 0, 0},
	"lag":         {"", 1, 3},
	"lead":        {"", 1, 3},
	"first_value": {"", 1, 1}, // Spark's second argument (ignoreNulls) is DuckDB's IGNORE NULLS
	"last_value":  {"", 1, 1},

	// Conditionals and arithmetic.
	"coalesce":   {"", 1, -1},
	"nvl":        {"coalesce", 2, 2},
	"ifnull":     {"coalesce", 2, 2},
	"nullif":     {"", 2, 2},
	"greatest":   {"", 2, -1}, // both skip NULLs
	"least":      {"", 2, -1},
	"abs":        {"", 1, 1},
	"round":      {"", 1, 2}, // both round half away from zero
	"floor":      {"", 1, 1},
	"ceil":       {"", 1, 1},
	"sqrt":       {"", 1, 1},
	"power":      {"", 2, 2},
	"ln":         {"", 1, 1},
	"exp":        {"", 1, 1},
	"try_divide": {"dbx_try_divide", 2, 2},

	// Strings and regular expressions (Java's syntax in Databricks, RE2 in
	// DuckDB: the same for the patterns dbmon writes).
	"concat":         {"dbx_concat", 1, 8}, // DuckDB's concat skips NULLs, Spark's returns NULL
	"concat_ws":      {"", 1, -1},          // both skip NULLs
	"lower":          {"", 1, 1},
	"upper":          {"", 1, 1},
	"trim":           {"", 1, 1}, // both trim spaces only
	"length":         {"", 1, 1},
	"substring":      {"dbx_substring", 2, 3}, // position 0 and negative lengths differ
	"left":           {"", 2, 2},
	"right":          {"", 2, 2},
	"replace":        {"", 3, 3},
	"split":          {"dbx_split", 2, 2}, // Spark splits at a regular expression
	"regexp_like":    {"regexp_matches", 2, 2},
	"rlike":          {"regexp_matches", 2, 2},
	"regexp_replace": {"dbx_regexp_replace", 3, 3}, // Spark replaces every match
	"regexp_extract": {"dbx_regexp_extract", 2, 3}, // Spark's group defaults to 1

	// Arrays and maps.
	"array_contains":      {"", 2, 2},
	"element_at":          {"dbx_element_at", 2, 2},
	"try_element_at":      {"dbx_element_at", 2, 2},
	"size":                {"len", 1, 1}, // arrays only: DuckDB's len rejects a map
	"map_entries":         {"", 1, 1},    // both: an array of structs with fields key and value
	"explode":             {"unnest", 1, 1},
	"sequence":            {"dbx_sequence", 2, 2}, // of dates only
	"unix_timestamp":      {"dbx_unix_timestamp", 1, 1},
	"to_date":             {"dbx_to_date", 1, 1}, // no format argument
	"date_trunc":          {"", 2, 2},            // unit names YEAR ... SECOND only, not Spark's MM or YY
	"hour":                {"", 1, 1},
	"minute":              {"", 1, 1},
	"second":              {"", 1, 1},
	"year":                {"", 1, 1},
	"month":               {"", 1, 1},
	"day":                 {"", 1, 1},
	"last_day":            {"", 1, 1},
	"make_date":           {"", 3, 3},
	"dayofweek":           {"dbx_dayofweek", 1, 1},
	"datediff":            {"dbx_datediff", 2, 2},
	"date_add":            {"dbx_date_add", 2, 2},
	"date_sub":            {"dbx_date_sub", 2, 2},
	"from_utc_timestamp":  {"dbx_from_utc_timestamp", 2, 2},
	"to_utc_timestamp":    {"dbx_to_utc_timestamp", 2, 2},
	"convert_timezone":    {"dbx_convert_timezone", 2, 3},
	"unix_seconds":        {"dbx_unix_seconds", 1, 1},
	"timestamp_seconds":   {"dbx_timestamp_seconds", 1, 1},
	"date_from_unix_date": {"dbx_date_from_unix_date", 1, 1},
	"unix_date":           {"dbx_unix_date", 1, 1},
}

// Macros are the CREATE MACRO statements the twin runs once per connection
// before any translated statement, supplying Databricks functions DuckDB lacks.
// Spark's TIMESTAMP is DuckDB's TIMESTAMPTZ and TIMESTAMP_NTZ its TIMESTAMP;
// DuckDB's TimeZone is the session time zone, so a cast between the two, as
// Spark's implicit ones, uses it as Spark does. (Spark's NULL ordering is a
// session setting too: see sessionSettings in engine.go.)
var Macros = []string{
	// Spark truncates to whole seconds; DuckDB's epoch keeps the fraction.
	// A string or date argument is read in the session zone by both.
	`CREATE OR REPLACE MACRO dbx_unix_timestamp(ts) AS CAST(floor(epoch(CAST(ts AS TIMESTAMPTZ))) AS BIGINT)`,
	`CREATE OR REPLACE MACRO dbx_unix_seconds(ts) AS CAST(floor(epoch(CAST(ts AS TIMESTAMPTZ))) AS BIGINT)`,
	`CREATE OR REPLACE MACRO dbx_timestamp_seconds(s) AS to_timestamp(CAST(s AS DOUBLE))`,
	`CREATE OR REPLACE MACRO dbx_date_from_unix_date(d) AS CAST(DATE '1970-01-01' + CAST(d AS INTEGER) AS DATE)`,
	`CREATE OR REPLACE MACRO dbx_unix_date(d) AS CAST(CAST(d AS DATE) - DATE '1970-01-01' AS INTEGER)`,
	// Spark shifts the instant: from_utc_timestamp(ts, tz) is the instant
	// whose UTC wall clock is ts's wall clock in tz; to_utc_timestamp the
	// reverse. Neither reads the session zone (ICU time zones).
	`CREATE OR REPLACE MACRO dbx_from_utc_timestamp(ts, tz) AS timezone('UTC', timezone(tz, CAST(ts AS TIMESTAMPTZ)))`,
	`CREATE OR REPLACE MACRO dbx_to_utc_timestamp(ts, tz) AS timezone(tz, timezone('UTC', CAST(ts AS TIMESTAMPTZ)))`,
	// convert_timezone([sourceTz, ]targetTz, ts) converts a TIMESTAMP_NTZ
	// (wall clock in sourceTz, default the session zone) to the wall clock in
	// targetTz; a TIMESTAMP argument is first cast to TIMESTAMP_NTZ, which
	// renders it in the session zone.
	`CREATE OR REPLACE MACRO dbx_convert_timezone(tz, ts) AS timezone(tz, CAST(CAST(ts AS TIMESTAMP) AS TIMESTAMPTZ)), ` +
		`(src, tz, ts) AS timezone(tz, timezone(src, CAST(ts AS TIMESTAMP)))`,
	// DuckDB's element_at returns a one-element list for a map; m[k] the value.
	`CREATE OR REPLACE MACRO dbx_element_at(m, k) AS m[k]`,
	`CREATE OR REPLACE MACRO dbx_try_divide(a, b) AS CASE WHEN b = 0 THEN NULL ELSE CAST(a AS DOUBLE) / CAST(b AS DOUBLE) END`,
	// Spark: 1 = Sunday ... 7 = Saturday; DuckDB: 0 = Sunday.
	`CREATE OR REPLACE MACRO dbx_dayofweek(d) AS dayofweek(CAST(d AS DATE)) + 1`,
	`CREATE OR REPLACE MACRO dbx_datediff(e, s) AS CAST(e AS DATE) - CAST(s AS DATE)`,
	// DuckDB adds only an INTEGER to a DATE, not a BIGINT.
	`CREATE OR REPLACE MACRO dbx_date_add(d, n) AS CAST(d AS DATE) + CAST(n AS INTEGER)`,
	`CREATE OR REPLACE MACRO dbx_date_sub(d, n) AS CAST(d AS DATE) - CAST(n AS INTEGER)`,
	// Spark steps one day back when the start is after the end.
	`CREATE OR REPLACE MACRO dbx_sequence(s, e) AS list_transform(generate_series(CAST(s AS DATE), CAST(e AS DATE), ` +
		`CASE WHEN CAST(s AS DATE) <= CAST(e AS DATE) THEN INTERVAL 1 DAY ELSE -INTERVAL 1 DAY END), lambda x: CAST(x AS DATE))`,
	`CREATE OR REPLACE MACRO dbx_to_date(x) AS CAST(x AS DATE)`,
	concatMacro(8),
	// Spark reads position 0 as 1 and a negative length as 0; DuckDB counts
	// position 0 as one before the string and a negative length backwards.
	`CREATE OR REPLACE MACRO dbx_substring(s, p) AS substring(s, CASE WHEN p = 0 THEN 1 ELSE p END), ` +
		`(s, p, l) AS substring(s, CASE WHEN p = 0 THEN 1 ELSE p END, CASE WHEN l < 0 THEN 0 ELSE l END)`,
	`CREATE OR REPLACE MACRO dbx_split(s, p) AS string_split_regex(s, p)`,
	// Every match, and Java's $1 group references written as RE2's \1.
	`CREATE OR REPLACE MACRO dbx_regexp_replace(s, p, r) AS regexp_replace(s, p, regexp_replace(r, '\$(\d)', '\\\1', 'g'), 'g')`,
	`CREATE OR REPLACE MACRO dbx_regexp_extract(s, p) AS regexp_extract(s, p, 1), (s, p, i) AS regexp_extract(s, p, i)`,
}

// concatMacro overloads dbx_concat for 1 to n arguments as a || b || ...,
// which, like Spark's concat and unlike DuckDB's, is NULL if any argument is.
func concatMacro(n int) string {
	var overloads, params []string
	for i := 1; i <= n; i++ {
		params = append(params, fmt.Sprintf("a%d", i))
		overloads = append(overloads, "("+strings.Join(params, ", ")+") AS "+strings.Join(params, " || "))
	}
	return "CREATE OR REPLACE MACRO dbx_concat" + strings.Join(overloads, ", ")
}

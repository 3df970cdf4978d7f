package twin

import (
	"database/sql"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
)

var asOf = time.Date(2024, 3, 15, 10, 42, 7, 0, time.UTC)

func translate(t *testing.T, src string) Statement {
	t.Helper()
	st, err := Translate(src, Context{AsOf: asOf, Conf: map[string]string{"dbmon.workspace_ids": "1,2"}})
	if err != nil {
		t.Fatalf("Translate(%q): %v", src, err)
	}
	return st
}

// query asserts the DuckDB query Translate makes of a Databricks query.
func query(t *testing.T, src, want string) {
	t.Helper()
	if got := translate(t, src).Query; got != want {
		t.Errorf("Translate(%q)\n got %s\nwant %s", src, got, want)
	}
}

// translateErr asserts that Translate fails with exactly msg.
func translateErr(t *testing.T, src string, conf map[string]string, msg string) {
	t.Helper()
	_, err := Translate(src, Context{AsOf: asOf, Conf: conf})
	if err == nil || err.Error() != msg {
		t.Errorf("Translate(%q) error\n got %v\nwant %s", src, err, msg)
	}
}

// duck opens an in-memory DuckDB in UTC with the Macros and the tables the
// tests read.
func duck(t *testing.T) *sql.DB { return duckZone(t, DefaultSessionZone) }

// duckZone is duck with the session time zone zone.
func duckZone(t *testing.T, zone string) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1) // macros and tables live in the one connection
	setup := append(sessionSettings(zone), Macros...)
	setup = append(setup,
		`CREATE TABLE nums AS SELECT * FROM (VALUES (1, 'a'), (2, 'a'), (NULL, 'b'), (4, 'b')) t(x, g)`,
		`CREATE TABLE tagged AS SELECT MAP {'team': 'data'} AS tags`,
	)
	for _, s := range setup {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return db
}

// rows runs a translated query and returns its rows as "a|b" strings.
func rows(t *testing.T, db *sql.DB, duckSQL string) []string {
	t.Helper()
	rs, err := db.Query(duckSQL)
	if err != nil {
		t.Fatalf("%s: %v", duckSQL, err)
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	var out []string
	for rs.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var row []string
		for _, v := range vals {
			if v.Valid {
				row = append(row, v.String)
			} else {
				row = append(row, "NULL")
			}
		}
		out = append(out, strings.Join(row, "|"))
	}
	if err := rs.Err(); err != nil {
		t.Fatalf("%s: %v", duckSQL, err)
	}
	return out
}

// value translates the Databricks expression, runs it on DuckDB and returns
// its value as text, or "NULL".
func value(t *testing.T, db *sql.DB, expr string) string {
	t.Helper()
	got := rows(t, db, translate(t, "SELECT CAST(("+expr+") AS STRING)").SQL)
	if len(got) != 1 {
		t.Fatalf("%s: %d rows", expr, len(got))
	}
	return got[0]
}

func TestConfSubstitution(t *testing.T) {
	query(t, "SELECT * FROM t WHERE ('${dbmon.workspace_ids}' = '' OR array_contains(split('${dbmon.workspace_ids}', ','), workspace_id))",
		"SELECT * FROM t WHERE ('1,2' = '' OR array_contains(dbx_split('1,2', ','), workspace_id))")
	translateErr(t, "SELECT 1\nWHERE x = '${nope}'", nil,
		"2:12: pipeline configuration key ${nope} is not set in the twin's Context.Conf")
	translateErr(t, "SELECT '${a", map[string]string{"a": "x"}, "1:9: unterminated ${")
	// Positions after a substitution still point at the text as written.
	translateErr(t, "SELECT '${a}', 'é${a}', \n  'open", map[string]string{"a": "a much longer value"},
		"2:3: unterminated string literal")
	translateErr(t, "SELECT '${a}', \"x\", foo(1)", map[string]string{"a": "a much longer value"},
		"1:21: function foo is not in the twin's Databricks function table (twin/macros.go)")
}

func TestStringLiterals(t *testing.T) {
	db := duck(t)
	for _, c := range []struct{ src, out, value string }{
		{`'(?i)a\\d+'`, `'(?i)a\d+'`, `(?i)a\d+`},
		{`'it\'s'`, `'it''s'`, `it's`},
		{`"say \"hi\""`, `'say "hi"'`, `say "hi"`},
		{`'a\nb\tc'`, "'a\nb\tc'", "a\nb\tc"},
		{`'\%\_\q'`, `'\%\_q'`, `\%\_q`},
		{`r'a\d'`, `'a\d'`, `a\d`},
		{`R"it's"`, `'it''s'`, `it's`},
		{`'a' "b"  'c'`, `'abc'`, `abc`},
		{"'it''s'", `'its'`, `its`}, // Spark reads two adjacent literals
		{"'a' /* c */ 'b'", `'ab'`, `ab`},
	} {
		query(t, "SELECT "+c.src, "SELECT "+c.out)
		if got := value(t, db, c.src); got != c.value {
			t.Errorf("%s = %q, want %q", c.src, got, c.value)
		}
	}
}

func TestBacktickIdentifiers(t *testing.T) {
	query(t, "SELECT p.pricing.`default`, `a``b`, `a\"b` FROM `my table` p",
		`SELECT p.pricing."default", "a`+"`"+`b", "a""b" FROM "my table" p`)
	db := duck(t)
	got := rows(t, db, translate(t, "SELECT CAST(pricing.`default` AS STRING) FROM (SELECT {'default': 1.5} AS pricing)").SQL)
	if !reflect.DeepEqual(got, []string{"1.5"}) {
		t.Errorf("got %v", got)
	}
}

func TestCreateHeader(t *testing.T) {
	for _, c := range []struct {
		src, table, kind string
		columns          []DeclaredColumn
	}{
		{"CREATE OR REFRESH MATERIALIZED VIEW a AS SELECT 1", "a", "materialized_view", nil},
		{"CREATE MATERIALIZED VIEW a AS SELECT 1", "a", "materialized_view", nil},
		{"create or refresh streaming table LIVE.B as SELECT 1", "b", "streaming_table", nil},
		{"CREATE STREAMING TABLE `Odd Name` AS SELECT 1", "odd name", "streaming_table", nil},
		{"CREATE OR REFRESH PRIVATE MATERIALIZED VIEW a AS SELECT 1", "a", "materialized_view", nil},
		{"CREATE OR REFRESH TEMPORARY LIVE TABLE a AS SELECT 1", "a", "materialized_view", nil},
		{"CREATE OR REFRESH STREAMING LIVE TABLE a AS SELECT 1", "a", "streaming_table", nil},
		{`CREATE OR REFRESH MATERIALIZED VIEW a (
			id STRING NOT NULL COMMENT 'key, AS in (x)',
			tags map<string, string>,
			runs array<struct<a:string,b:array<int>>>,
			amount decimal(38,18) COMMENT 'dollars' NOT NULL,
			untyped COMMENT 'no type',
			CONSTRAINT ok EXPECT (id IS NOT NULL)
		)
		TBLPROPERTIES ('a' = 'b') COMMENT 'x' PARTITIONED BY (id) CLUSTER BY AUTO
		AS SELECT 1`, "a", "materialized_view", []DeclaredColumn{
			{"id", "STRING"}, {"tags", "map<string, string>"}, {"runs", "array<struct<a:string,b:array<int>>>"},
			{"amount", "decimal(38,18)"}, {"untyped", ""},
		}},
	} {
		st := translate(t, c.src)
		if st.Table != c.table || st.Kind != c.kind || st.Query != "SELECT 1" || !reflect.DeepEqual(st.Columns, c.columns) {
			t.Errorf("%s:\n got %q %q %q %q", c.src, st.Table, st.Kind, st.Query, st.Columns)
		}
		if want := "CREATE OR REPLACE TABLE " + quoteName(c.table) + " AS SELECT * FROM (SELECT 1)"; st.SQL != want {
			t.Errorf("SQL = %s, want %s", st.SQL, want)
		}
	}
	translateErr(t, "CREATE VIEW a AS SELECT 1", nil, `1:8: expected MATERIALIZED VIEW, STREAMING TABLE or LIVE TABLE, found "VIEW"`)
	translateErr(t, "CREATE MATERIALIZED VIEW a\nLOCATION 'x' AS SELECT 1", nil, `2:1: unexpected "LOCATION" in the CREATE header`)
	translateErr(t, "CREATE MATERIALIZED VIEW a COMMENT 'x'", nil, "1:39: expected AS and a query after the CREATE header")
	translateErr(t, "CREATE MATERIALIZED VIEW a (id STRING DEFAULT 'x') AS SELECT 1", nil,
		`1:39: unexpected "DEFAULT" in the definition of column id`)
	translateErr(t, "CREATE MATERIALIZED VIEW a (m map<string, int) AS SELECT 1", nil, `1:31: unclosed "<" in the type of column m`)
	translateErr(t, "CREATE MATERIALIZED VIEW a (CONSTRAINT pk PRIMARY KEY (id)) AS SELECT 1", nil,
		"1:43: constraint pk: only EXPECT (condition) constraints are supported")
	translateErr(t, "CREATE MATERIALIZED VIEW a AS\nINSERT INTO b VALUES (1)", nil, `2:1: expected a query (SELECT, WITH, ...), found "INSERT"`)
}

func TestExpectations(t *testing.T) {
	st := translate(t, `CREATE STREAMING TABLE a (
		CONSTRAINT warned EXPECT (x > 0),
		CONSTRAINT dropped EXPECT (regexp_like(s, '\\d') AND ts < current_timestamp()) ON VIOLATION DROP ROW
	) AS SELECT * FROM b`)
	want := []Expectation{
		{"warned", "x > 0", "warn"},
		{"dropped", `regexp_matches(s, '\d') AND ts < TIMESTAMPTZ '2024-03-15 10:42:07+00'`, "drop"},
	}
	if !reflect.DeepEqual(st.Expectations, want) {
		t.Errorf("got %q", st.Expectations)
	}
	if w := `CREATE OR REPLACE TABLE a AS SELECT * FROM (SELECT * FROM b) WHERE (regexp_matches(s, '\d') AND ts < TIMESTAMPTZ '2024-03-15 10:42:07+00') IS TRUE`; st.SQL != w {
		t.Errorf("SQL = %s", st.SQL)
	}
	translateErr(t, "CREATE MATERIALIZED VIEW a (\n  CONSTRAINT c EXPECT (x > 0) ON VIOLATION FAIL UPDATE\n) AS SELECT 1", nil,
		"2:31: expectation c: ON VIOLATION FAIL UPDATE expectations are not supported by the twin")
}

func TestStreamAndLive(t *testing.T) {
	query(t, "SELECT * FROM STREAM(LIVE.a) x JOIN STREAM live.b ON x.id = b.id, STREAM (c)",
		"SELECT * FROM a x JOIN b ON x.id = b.id, c")
	query(t, "SELECT live.x, t.stream FROM t", "SELECT x, t.stream FROM t") // LIVE. goes wherever it is
}

func TestNow(t *testing.T) {
	query(t, "SELECT current_timestamp(), CURRENT_TIMESTAMP, now(), current_date(), current_date, t.current_date, now FROM t",
		"SELECT TIMESTAMPTZ '2024-03-15 10:42:07+00', TIMESTAMPTZ '2024-03-15 10:42:07+00', TIMESTAMPTZ '2024-03-15 10:42:07+00', "+
			"CAST(TIMESTAMPTZ '2024-03-15 10:42:07+00' AS DATE), CAST(TIMESTAMPTZ '2024-03-15 10:42:07+00' AS DATE), t.current_date, now FROM t")
	st, err := Translate("SELECT now()", Context{AsOf: time.Date(2024, 1, 1, 23, 30, 0, 500000000, time.FixedZone("x", -3600))})
	if err != nil || st.Query != "SELECT TIMESTAMPTZ '2024-01-02 00:30:00.5+00'" {
		t.Errorf("got %q, %v", st.Query, err)
	}
	translateErr(t, "SELECT now(1)", nil, "1:8: now() takes no arguments")
}

func TestFunctionTable(t *testing.T) {
	query(t, "SELECT COUNT(*), Nvl(a, 0), percentile(x, 0.5), size(l), explode(l) FROM t",
		"SELECT COUNT(*), coalesce(a, 0), quantile_cont(x, 0.5), len(l), unnest(l) FROM t")
	// Words before "(" that call nothing.
	query(t, `WITH c (n) AS (SELECT 1) SELECT CAST(x AS DECIMAL(38,18)), x::decimal(10,2), EXTRACT(HOUR FROM ts),
		count(x) FILTER (WHERE x > 0), sum(x) OVER (PARTITION BY (y)), CASE WHEN (x) THEN (1) END
		FROM c WHERE x IN (1) AND NOT (x = 2) AND EXISTS (SELECT 1) JOIN d USING (n)`,
		`WITH c (n) AS (SELECT 1) SELECT CAST(x AS DECIMAL(38,18)), x::decimal(10,2), EXTRACT(HOUR FROM ts),
		count(x) FILTER (WHERE x > 0), sum(x) OVER (PARTITION BY (y)), CASE WHEN (x) THEN (1) END
		FROM c WHERE x IN (1) AND NOT (x = 2) AND EXISTS (SELECT 1) JOIN d USING (n)`)
	translateErr(t, "SELECT\n  foo(1)", nil, "2:3: function foo is not in the twin's Databricks function table (twin/macros.go)")
	translateErr(t, "SELECT * FROM range (10)", nil, "1:15: function range is not in the twin's Databricks function table (twin/macros.go)")
	translateErr(t, "SELECT to_date(s, 'yyyy-MM-dd')", nil, "1:8: function to_date takes 1 arguments in the twin, got 2")
	translateErr(t, "SELECT concat_ws()", nil, "1:8: function concat_ws takes at least 1 arguments in the twin, got 0")
	translateErr(t, "SELECT lag(a, b, c, d)", nil, "1:8: function lag takes 1 to 3 arguments in the twin, got 4")
	translateErr(t, "SELECT a.b(1)", nil, "1:10: qualified function call b(...) is not supported by the twin")
	translateErr(t, "SELECT a RLIKE 'x'", nil, "1:10: the RLIKE operator is not supported by the twin; write regexp_like(s, pattern)")
	for name, f := range functions {
		if f.min > f.max && f.max >= 0 {
			t.Errorf("%s: min %d > max %d", name, f.min, f.max)
		}
	}
}

// TestFunctions runs every function of the table on DuckDB and checks the
// values Databricks gives, NULLs included.
func TestFunctions(t *testing.T) {
	db := duck(t)
	for _, c := range []struct{ expr, want string }{
		// Aggregates over nums: x = 1, 2, NULL, 4.
		{"(SELECT count(x) FROM nums)", "3"},
		{"(SELECT count(*) FROM nums)", "4"},
		{"(SELECT count(DISTINCT g) FROM nums)", "2"},
		{"(SELECT sum(x) FROM nums)", "7"},
		{"(SELECT avg(x) FROM nums WHERE x < 3)", "1.5"},
		{"(SELECT min(x) FROM nums)", "1"},
		{"(SELECT max(x) FROM nums)", "4"},
		{"(SELECT max_by(g, x) FROM nums)", "b"},
		{"(SELECT min_by(g, x) FROM nums)", "a"},
		{"(SELECT count_if(x > 1) FROM nums)", "2"},
		{"(SELECT sum(gg) FROM (SELECT grouping(g) AS gg FROM nums GROUP BY GROUPING SETS ((g), ())))", "1"},
		{"(SELECT sum(x) FROM nums GROUP BY GROUPING SETS ((g), ()) HAVING grouping(g) = 1)", "7"},
		{"(SELECT variance(x) FROM nums WHERE x < 3)", "0.5"},
		{"(SELECT stddev_samp(x) * stddev(x) FROM nums WHERE x < 3)", "0.5000000000000001"},
		{"(SELECT stddev_pop(x) FROM nums WHERE x < 3)", "0.5"},
		{"(SELECT stddev(x) FROM nums WHERE x = 1)", "NULL"}, // one row: NULL, as Spark
		{"(SELECT percentile(x, 0.5) FROM nums)", "2.0"},
		{"(SELECT percentile(x, 0.25) FROM nums)", "1.5"},
		// Conditionals and arithmetic.
		{"coalesce(NULL, 2, 3)", "2"},
		{"nvl(NULL, 'a')", "a"},
		{"ifnull('b', 'a')", "b"},
		{"nullif(1, 1)", "NULL"},
		{"greatest(1, NULL, 3)", "3"},
		{"least(NULL, 2)", "2"},
		{"abs(-1.5)", "1.5"},
		{"round(2.5)", "3"},
		{"round(-2.5)", "-3"},
		{"round(CAST(2.5 AS DOUBLE))", "3.0"},
		{"round(0.125, 2)", "0.13"},
		{"floor(2.7)", "2"},
		{"ceil(2.1)", "3"},
		{"sqrt(16)", "4.0"},
		{"power(2, 10)", "1024.0"},
		{"ln(1)", "0.0"},
		{"exp(0)", "1.0"},
		{"try_divide(3, 2)", "1.5"},
		{"try_divide(1, 0)", "NULL"},
		{"try_divide(1, NULL)", "NULL"},
		{"try_divide(NULL, 2)", "NULL"},
		// Strings and regular expressions.
		{"concat('a', 'b', 'c')", "abc"},
		{"concat('a', NULL)", "NULL"},
		{"concat('x', 1)", "x1"},
		{"concat('a')", "a"},
		{"concat_ws(',', 'a', NULL, 'b')", "a,b"},
		{"lower('AbC')", "abc"},
		{"upper('aBc')", "ABC"},
		{"trim('  a  ')", "a"},
		{"length('héllo')", "5"},
		{"substring('hello', 2, 3)", "ell"},
		{"substring('hello', 0, 2)", "he"},
		{"substring('hello', -3, 2)", "ll"},
		{"substring('hello', 2)", "ello"},
		{"substring('hello', 3, -1)", ""},
		{"substring(NULL, 1, 2)", "NULL"},
		{"left('abc', 2)", "ab"},
		{"right('abc', 2)", "bc"},
		{"replace('aaa', 'a', 'b')", "bbb"},
		{"split('a,b,', ',')", "[a, b, '']"},
		{"split('a1b22c', '[0-9]+')", "[a, b, c]"},
		{"size(split('', ','))", "1"},
		{"split(NULL, ',')", "NULL"},
		{`regexp_like('xA12', '(?i)a\\d+')`, "true"},
		{"regexp_like('abc', 'b')", "true"}, // a partial match, as Java's find
		{"rlike('abc', '^b')", "false"},
		{"regexp_like(NULL, 'a')", "NULL"},
		{"regexp_replace('a1b22', '[0-9]+', '#')", "a#b#"},
		{"regexp_replace('abcb', '(b)', '[$1]')", "a[b]c[b]"},
		{"regexp_replace(NULL, 'a', 'b')", "NULL"},
		{"regexp_extract('abc123', '([a-z]+)([0-9]+)')", "abc"},
		{"regexp_extract('abc123', '([a-z]+)([0-9]+)', 2)", "123"},
		{"regexp_extract('abc123', '([a-z]+)([0-9]+)', 0)", "abc123"},
		{"regexp_extract('abc', '([0-9]+)', 1)", ""},
		{"regexp_extract(NULL, '(a)')", "NULL"},
		// Arrays and maps.
		{"array_contains(split('1,2', ','), '2')", "true"},
		{"array_contains(split('1,2', ','), '3')", "false"},
		{"(SELECT element_at(tags, 'team') FROM tagged)", "data"},
		{"(SELECT element_at(tags, 'none') FROM tagged)", "NULL"},
		{"(SELECT try_element_at(tags, 'team') FROM tagged)", "data"},
		{"element_at(split('a,b,c', ','), 1)", "a"},
		{"element_at(split('a,b,c', ','), -1)", "c"},
		{"try_element_at(split('a,b,c', ','), 4)", "NULL"},
		{"size(split('a,b', ','))", "2"},
		{"(SELECT size(map_entries(tags)) FROM tagged)", "1"},
		{"(SELECT map_entries(tags)[1].key || '=' || map_entries(tags)[1].value FROM tagged)", "team=data"},
		{"sequence(DATE '2024-02-28', DATE '2024-03-01')", "[2024-02-28, 2024-02-29, 2024-03-01]"},
		{"sequence(DATE '2024-01-02', DATE '2024-01-01')", "[2024-01-02, 2024-01-01]"},
		{"sequence(TIMESTAMP '2024-01-01 10:00:00', DATE '2024-01-01')", "[2024-01-01]"},
		{"sequence(NULL, DATE '2024-01-01')", "NULL"},
		// Dates and times; the twin's timestamps are naive UTC.
		{"unix_timestamp(TIMESTAMP '1970-01-01 00:01:01.9')", "61"},
		{"unix_timestamp(TIMESTAMP '1969-12-31 23:59:59.5')", "-1"},
		{"unix_timestamp(NULL)", "NULL"},
		{"to_date(TIMESTAMP '2024-01-05 23:59:59')", "2024-01-05"},
		{"to_date('2024-01-05')", "2024-01-05"},
		{"to_date(NULL)", "NULL"},
		{"date_trunc('HOUR', TIMESTAMP '2024-03-15 10:42:00')", "2024-03-15 10:00:00+00"},
		{"date_trunc('MONTH', TIMESTAMP '2024-03-15 10:42:00')", "2024-03-01 00:00:00+00"},
		{"date_trunc('WEEK', TIMESTAMP '2024-03-15 10:42:00')", "2024-03-11 00:00:00+00"}, // Monday
		{"hour(TIMESTAMP '2024-03-15 10:42:00')", "10"},
		{"minute(TIMESTAMP '2024-03-15 10:42:00')", "42"},
		{"second(TIMESTAMP '2024-03-15 10:42:07.9')", "7"},
		{"year(DATE '2024-03-15')", "2024"},
		{"month(DATE '2024-03-15')", "3"},
		{"day(DATE '2024-03-15')", "15"},
		{"last_day(DATE '2024-02-10')", "2024-02-29"},
		{"make_date(2024, 2, 3)", "2024-02-03"},
		{"dayofweek(DATE '2024-03-17')", "1"}, // Sunday
		{"dayofweek(TIMESTAMP '2024-03-16 23:00:00')", "7"},
		{"dayofweek(NULL)", "NULL"},
		{"datediff(DATE '2024-03-17', DATE '2024-03-10')", "7"},
		{"datediff(TIMESTAMP '2024-03-17 01:00:00', TIMESTAMP '2024-03-16 23:00:00')", "1"},
		{"datediff(DATE '2024-03-10', DATE '2024-03-17')", "-7"},
		{"datediff(NULL, DATE '2024-03-10')", "NULL"},
		{"date_add(DATE '2024-02-28', 2)", "2024-03-01"},
		{"date_add(TIMESTAMP '2024-01-01 10:00:00', 1)", "2024-01-02"},
		{"date_add(DATE '2024-01-01', CAST(1 AS BIGINT))", "2024-01-02"},
		{"date_add(NULL, 1)", "NULL"},
		{"date_sub(DATE '2024-03-01', 1)", "2024-02-29"},
		{"date_sub(DATE '2024-03-01', NULL)", "NULL"},
		{"from_utc_timestamp(TIMESTAMP '2024-07-01 12:00:00', 'Europe/Paris')", "2024-07-01 14:00:00+00"},
		{"from_utc_timestamp(TIMESTAMP '2024-01-01 12:00:00', 'America/New_York')", "2024-01-01 07:00:00+00"},
		{"from_utc_timestamp(NULL, 'Europe/Paris')", "NULL"},
		{"to_utc_timestamp(TIMESTAMP '2024-07-01 14:00:00', 'Europe/Paris')", "2024-07-01 12:00:00+00"},
		{"to_utc_timestamp(TIMESTAMP '2024-01-01 07:00:00', 'America/New_York')", "2024-01-01 12:00:00+00"},
	} {
		if got := value(t, db, c.expr); got != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
	}
	// Window functions over nums ordered by x: NULL first, as in Spark.
	got := rows(t, db, translate(t, `SELECT x, row_number() OVER (ORDER BY x), rank() OVER (ORDER BY g),
		dense_rank() OVER (ORDER BY g), lag(x) OVER (ORDER BY x), lead(x, 1, 0) OVER (ORDER BY x),
		first_value(x) OVER (PARTITION BY g ORDER BY x), last_value(x) OVER (PARTITION BY g ORDER BY x
		ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) FROM nums ORDER BY x NULLS LAST`).SQL)
	want := []string{"1|2|1|1|NULL|2|1|2", "2|3|1|1|1|4|1|2", "4|4|3|2|2|0|NULL|4", "NULL|1|3|2|NULL|1|NULL|4"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("window functions:\n got %q\nwant %q", got, want)
	}
	if got := rows(t, db, translate(t, "SELECT explode(split('a,b', ','))").SQL); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("explode: got %q", got)
	}
	// Exploding a map's entries gives one struct per entry with fields key
	// and value, as Spark's explode(map_entries(m)); a NULL map gives no row.
	got = rows(t, db, translate(t, `SELECT e.tag.key, e.tag.value FROM (SELECT explode(map_entries(tags)) AS tag FROM tagged
		UNION ALL SELECT explode(map_entries(CASE WHEN FALSE THEN tags END)) AS tag FROM tagged) e`).SQL)
	if !reflect.DeepEqual(got, []string{"team|data"}) {
		t.Errorf("explode(map_entries(...)): got %q", got)
	}
}

func TestNullOrder(t *testing.T) {
	// Macros sets Spark's default: NULLs first ascending, last descending.
	db := duck(t)
	for q, want := range map[string]string{
		"SELECT x FROM nums ORDER BY x":      "NULL 1 2 4",
		"SELECT x FROM nums ORDER BY x DESC": "4 2 1 NULL",
	} {
		if got := strings.Join(rows(t, db, translate(t, q).SQL), " "); got != want {
			t.Errorf("%s: got %s, want %s", q, got, want)
		}
	}
}

func TestMacrosShadowNothing(t *testing.T) {
	// Every macro is a dbx_ name, so none silently changes a DuckDB builtin.
	for _, m := range Macros {
		if !strings.HasPrefix(m, "CREATE OR REPLACE MACRO dbx_") && !strings.HasPrefix(m, "SET ") {
			t.Errorf("macro not named dbx_: %s", m)
		}
	}
	for name, f := range functions {
		if strings.HasPrefix(f.duck, "dbx_") && !strings.Contains(strings.Join(Macros, "\n"), "MACRO "+f.duck+"(") {
			t.Errorf("%s: macro %s is not in Macros", name, f.duck)
		}
	}
}

func TestPassThrough(t *testing.T) {
	src := `SELECT a || 'x', CAST(a AS STRING), ts > current_timestamp() - INTERVAL 90 DAYS, a <=> b, a != b
FROM t
QUALIFY row_number() OVER (PARTITION BY a ORDER BY ts DESC) = 1`
	query(t, src, `SELECT a || 'x', CAST(a AS STRING), ts > TIMESTAMPTZ '2024-03-15 10:42:07+00' - INTERVAL 90 DAYS, a IS NOT DISTINCT FROM b, a != b
FROM t
QUALIFY row_number() OVER (PARTITION BY a ORDER BY ts DESC) = 1`)
	db := duck(t)
	for expr, want := range map[string]string{
		"NULL <=> NULL":                        "true",
		"1 <=> NULL":                           "false",
		"CAST(1 AS STRING) || 'x'":             "1x",
		"DATE '2024-03-15' - INTERVAL 90 DAYS": "2023-12-16 00:00:00",
	} {
		if got := value(t, db, expr); got != want {
			t.Errorf("%s = %q, want %q", expr, got, want)
		}
	}
	got := rows(t, db, translate(t, "SELECT g, x FROM nums QUALIFY row_number() OVER (PARTITION BY g ORDER BY x DESC) = 1 ORDER BY g").SQL)
	if !reflect.DeepEqual(got, []string{"a|2", "b|4"}) {
		t.Errorf("QUALIFY: got %q", got)
	}
}

func TestLikeEscape(t *testing.T) {
	// Spark's LIKE escapes with a backslash by default; DuckDB needs ESCAPE.
	query(t, `SELECT a LIKE 'a\_%', a NOT ILIKE 'b%', a LIKE 'c\%' ESCAPE '!'`,
		`SELECT a LIKE 'a\_%' ESCAPE '\', a NOT ILIKE 'b%', a LIKE 'c\%' ESCAPE '!'`)
	db := duck(t)
	for expr, want := range map[string]string{
		`'a_b' LIKE 'a\_b'`:    "true",
		`'axb' LIKE 'a\_b'`:    "false",
		`'50%' LIKE '50\%'`:    "true",
		`'a\\b' LIKE 'a\\\\b'`: "true",
	} {
		if got := value(t, db, expr); got != want {
			t.Errorf("%s = %q, want %q", expr, got, want)
		}
	}
}

func TestComments(t *testing.T) {
	st := translate(t, `-- Code generated by dbmon. DO NOT EDIT.
--
CREATE OR REFRESH MATERIALIZED VIEW a
COMMENT 'x' /* block */
AS SELECT a, -- trailing
  /* in /* nested */ comment */ b
FROM t
-- last line`)
	if want := "SELECT a,\n    b\nFROM t"; st.Query != want {
		t.Errorf("Query = %q, want %q", st.Query, want)
	}
	if want := "CREATE OR REPLACE TABLE a AS SELECT * FROM (SELECT a,\n    b\nFROM t)"; st.SQL != want {
		t.Errorf("SQL = %q", st.SQL)
	}
}

func TestRefs(t *testing.T) {
	st := translate(t, `WITH recent AS (SELECT * FROM system.billing.usage WHERE usage_date > current_date() - 7),
named (n) AS (SELECT 1)
SELECT * FROM recent r
LEFT JOIN Prices AS p ON r.sku = p.sku
JOIN (SELECT id FROM STREAM(LIVE.jobs)) j ON j.id = r.id
CROSS JOIN named, other o, `+"`Quoted`.`T`"+`
WHERE r.id IN (SELECT id FROM allow) AND EXTRACT(YEAR FROM r.ts) = 2024 AND r.a IS DISTINCT FROM r.b
  AND trim(BOTH ' ' FROM r.s) <> '' AND substring(r.s, 1) IN (SELECT s FROM explode(split('a', ',')))`)
	want := []string{"allow", "jobs", "other", "prices", "quoted.t", "system.billing.usage"}
	if !reflect.DeepEqual(st.Refs, want) {
		t.Errorf("Refs = %q, want %q", st.Refs, want)
	}
}

func TestFullMaterializedView(t *testing.T) {
	src := `-- gold: cost per workspace
CREATE OR REFRESH MATERIALIZED VIEW LIVE.Gold_Cost (
  workspace_id STRING NOT NULL COMMENT 'the workspace, as written',
  tags map<string,string> COMMENT 'custom tags',
  amount decimal(38,18),
  CONSTRAINT amount_positive EXPECT (amount > 0) ON VIOLATION DROP ROW,
  CONSTRAINT known_workspace EXPECT (workspace_id <> 'unknown')
)
CLUSTER BY (workspace_id)
COMMENT 'Cost per workspace; it\'s computed AS the sum of usage'
TBLPROPERTIES ('quality' = 'gold', 'pipelines.autoOptimize.managed' = 'true')
AS WITH priced AS (
  SELECT u.workspace_id, u.custom_tags AS tags, u.usage_quantity * p.pricing.` + "`default`" + ` AS amount
  FROM raw.usage AS u
  JOIN LIVE.prices p ON u.sku_name = p.sku_name
)
SELECT workspace_id, tags, amount
FROM priced
WHERE workspace_id IN (SELECT workspace_id FROM LIVE.bronze_workspaces)`
	st := translate(t, src)
	if st.Table != "gold_cost" || st.Kind != "materialized_view" {
		t.Errorf("Table, Kind = %q, %q", st.Table, st.Kind)
	}
	if want := []DeclaredColumn{{"workspace_id", "STRING"}, {"tags", "map<string,string>"}, {"amount", "decimal(38,18)"}}; !reflect.DeepEqual(st.Columns, want) {
		t.Errorf("Columns = %q", st.Columns)
	}
	if want := []Expectation{{"amount_positive", "amount > 0", "drop"}, {"known_workspace", "workspace_id <> 'unknown'", "warn"}}; !reflect.DeepEqual(st.Expectations, want) {
		t.Errorf("Expectations = %q", st.Expectations)
	}
	if want := []string{"bronze_workspaces", "prices", "raw.usage"}; !reflect.DeepEqual(st.Refs, want) {
		t.Errorf("Refs = %q", st.Refs)
	}
	wantQuery := `WITH priced AS (
  SELECT u.workspace_id, u.custom_tags AS tags, u.usage_quantity * p.pricing."default" AS amount
  FROM raw.usage AS u
  JOIN prices p ON u.sku_name = p.sku_name
)
SELECT workspace_id, tags, amount
FROM priced
WHERE workspace_id IN (SELECT workspace_id FROM bronze_workspaces)`
	if st.Query != wantQuery {
		t.Errorf("Query:\n%s", st.Query)
	}
	if want := "CREATE OR REPLACE TABLE gold_cost AS SELECT * FROM (" + wantQuery + ") WHERE (amount > 0) IS TRUE"; st.SQL != want {
		t.Errorf("SQL:\n%s", st.SQL)
	}

	db := duck(t)
	for _, s := range []string{
		`CREATE SCHEMA raw`,
		`CREATE TABLE raw.usage (workspace_id VARCHAR, sku_name VARCHAR, usage_quantity DECIMAL(38,18), custom_tags MAP(VARCHAR, VARCHAR))`,
		`INSERT INTO raw.usage VALUES ('w1', 'A', 2, MAP {'team': 'x'}), ('w2', 'A', -1, NULL), ('w3', 'A', NULL, NULL),
			('unknown', 'A', 1, NULL), ('w4', 'A', 5, NULL)`,
		`CREATE TABLE prices (sku_name VARCHAR, pricing STRUCT("default" DECIMAL(38,18)))`,
		`INSERT INTO prices VALUES ('A', {'default': 1.5})`,
		`CREATE TABLE bronze_workspaces AS SELECT * FROM (VALUES ('w1'), ('w2'), ('w3'), ('unknown')) t(workspace_id)`,
		st.SQL,
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	// w2 (negative) and w3 (NULL amount) violate the drop expectation, w4
	// is not a bronze workspace; unknown only warns.
	got := rows(t, db, `SELECT workspace_id, CAST(amount AS DOUBLE), tags['team'] FROM gold_cost ORDER BY workspace_id`)
	if want := []string{"unknown|1.5|NULL", "w1|3|x"}; !reflect.DeepEqual(got, want) {
		t.Errorf("gold_cost = %q, want %q", got, want)
	}
}

func TestSyntaxErrors(t *testing.T) {
	for src, msg := range map[string]string{
		"SELECT 'abc":           "1:8: unterminated string literal",
		"SELECT `abc":           "1:8: unterminated `identifier`",
		"SELECT 1 /* a /* b */": "1:10: unterminated /* comment",
		"SELECT (1":             `1:8: unclosed "("`,
		"SELECT 1)":             `1:9: unbalanced ")"`,
		"SELECT a[1)":           `1:11: unbalanced ")"`,
		"SELECT 10L":            `1:8: numeric literal suffix in "10L" is not supported by the twin; write CAST(... AS type)`,
		"SELECT 1 # 2":          `1:10: unexpected character "#"`,
		"SELECT 1;\nSELECT 2":   `2:1: one statement at a time: found "SELECT" after ";"`,
		"":                      "1:1: expected a query (SELECT, WITH, ...), found end of statement",
		"-- only a comment\n":   "2:1: expected a query (SELECT, WITH, ...), found end of statement",
		"SET x = 1":             `1:1: expected a query (SELECT, WITH, ...), found "SET"`,
		"SELECT é, 'é' ,\n\té@": `2:3: unexpected character "@"`,
		"SELECT ·":              `1:8: unexpected character "·"`,
	} {
		translateErr(t, src, nil, msg)
	}
	query(t, "SELECT 1.5e3, .5, 1 ; ", "SELECT 1.5e3, .5, 1")
	_, err := Translate("SELECT\n foo()", Context{})
	var e *Error
	if !errors.As(err, &e) || e.Line != 2 || e.Col != 2 {
		t.Errorf("error %v is not a *Error at 2:2", err)
	}
}

// TestSessionZone runs the time functions in three session time zones: what
// renders an instant (CAST AS DATE, hour, date_trunc, TIMESTAMP literals,
// current_date, a TIMESTAMP cast to TIMESTAMP_NTZ) follows the zone as on
// Spark; epoch seconds, from_utc_timestamp, to_utc_timestamp and
// convert_timezone of a TIMESTAMP_NTZ with both zones given do not.
func TestSessionZone(t *testing.T) {
	// 1970-01-01 20:00 UTC is 1970-01-02 01:30 in Kolkata, 15:00 in New York.
	const instant = "timestamp_seconds(72000)"
	type want struct{ utc, kolkata, newYork string }
	cases := []struct {
		expr string
		want want
	}{
		// Rendered in the session zone.
		{"CAST(" + instant + " AS DATE)", want{"1970-01-01", "1970-01-02", "1970-01-01"}},
		{"hour(" + instant + ")", want{"20", "1", "15"}},
		{"minute(" + instant + ")", want{"0", "30", "0"}},
		{"unix_seconds(date_trunc('HOUR', " + instant + "))", want{"72000", "70200", "72000"}},
		{"unix_seconds(date_trunc('DAY', " + instant + "))", want{"0", "66600", "18000"}},
		{"unix_seconds(TIMESTAMP '1970-01-02 00:00:00')", want{"86400", "66600", "104400"}},
		{"CAST(CAST(" + instant + " AS TIMESTAMP_NTZ) AS STRING)", want{"1970-01-01 20:00:00", "1970-01-02 01:30:00", "1970-01-01 15:00:00"}},
		{"current_date()", want{"2024-03-15", "2024-03-15", "2024-03-15"}},
		{"unix_date(" + instant + ")", want{"0", "1", "0"}},
		{"datediff(" + instant + ", DATE '1970-01-01')", want{"0", "1", "0"}},
		// convert_timezone casts a TIMESTAMP to TIMESTAMP_NTZ in the session zone first.
		{"CAST(convert_timezone('UTC', 'UTC', " + instant + ") AS STRING)", want{"1970-01-01 20:00:00", "1970-01-02 01:30:00", "1970-01-01 15:00:00"}},
		// The same in every zone.
		{"unix_seconds(" + instant + ")", want{"72000", "72000", "72000"}},
		{"unix_timestamp(" + instant + ")", want{"72000", "72000", "72000"}},
		{"unix_seconds(from_utc_timestamp(" + instant + ", 'Asia/Kolkata'))", want{"91800", "91800", "91800"}},
		{"unix_seconds(from_utc_timestamp(" + instant + ", 'America/New_York'))", want{"54000", "54000", "54000"}},
		{"unix_seconds(to_utc_timestamp(" + instant + ", 'Asia/Kolkata'))", want{"52200", "52200", "52200"}},
		{"date_from_unix_date(1)", want{"1970-01-02", "1970-01-02", "1970-01-02"}},
		{"unix_date(DATE '1970-01-03')", want{"2", "2", "2"}},
		{"CAST(convert_timezone('UTC', 'Asia/Kolkata', TIMESTAMP_NTZ '1970-01-01 20:00:00') AS STRING)", want{"1970-01-02 01:30:00", "1970-01-02 01:30:00", "1970-01-02 01:30:00"}},
		{"CAST(convert_timezone('Asia/Kolkata', " + instant + ") AS STRING)", want{"1970-01-02 01:30:00", "1970-01-02 01:30:00", "1970-01-02 01:30:00"}},
		{"CAST(CAST(TIMESTAMP_NTZ '1970-01-01 23:59:59' AS DATE) AS STRING)", want{"1970-01-01", "1970-01-01", "1970-01-01"}},
		{"hour(TIMESTAMP_NTZ '1970-01-01 23:59:59')", want{"23", "23", "23"}},
	}
	for zone, pick := range map[string]func(want) string{
		"UTC":              func(w want) string { return w.utc },
		"Asia/Kolkata":     func(w want) string { return w.kolkata },
		"America/New_York": func(w want) string { return w.newYork },
	} {
		db := duckZone(t, zone)
		for _, c := range cases {
			if got := value(t, db, c.expr); got != pick(c.want) {
				t.Errorf("%s: %s = %q, want %q", zone, c.expr, got, pick(c.want))
			}
		}
	}
	// current_date() is today in the session zone: 20:00 UTC is tomorrow in Kolkata.
	late := time.Date(2024, 3, 15, 20, 0, 0, 0, time.UTC)
	for zone, want := range map[string]string{"UTC": "2024-03-15", "Asia/Kolkata": "2024-03-16", "America/New_York": "2024-03-15"} {
		st, err := Translate("SELECT CAST(current_date() AS STRING)", Context{AsOf: late})
		if err != nil {
			t.Fatal(err)
		}
		if got := rows(t, duckZone(t, zone), st.SQL); len(got) != 1 || got[0] != want {
			t.Errorf("%s: current_date() at %s = %v, want %s", zone, late, got, want)
		}
	}
	query(t, "SELECT CAST(a AS TIMESTAMP), CAST(b AS timestamp_ntz), try_cast(c AS TIMESTAMP_LTZ), d::timestamp, TIMESTAMP '2024-01-01', timestamp_ntz'2024-01-01 10:00:00', t.timestamp, x AS timestamp FROM t",
		"SELECT CAST(a AS TIMESTAMPTZ), CAST(b AS TIMESTAMP), try_cast(c AS TIMESTAMPTZ), d::TIMESTAMPTZ, TIMESTAMPTZ '2024-01-01', TIMESTAMP'2024-01-01 10:00:00', t.timestamp, x AS timestamp FROM t")
}

package twin_test

// The spec's rules are data: a spec of 500 teams and 2,000 SLAs must generate
// statements of the same shape as a spec of 2 teams. These tests render both
// sizes of synth.BigSpec, compare the statements' nesting depth and shape,
// and run the large bundle on the twin.

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/render"
	"github.com/dbmon/dbmon/generator/spec"
	"github.com/dbmon/dbmon/synth"
	"github.com/dbmon/dbmon/twin"
)

// smallSize has 2 teams but every SLA selector and check kind (BigSpec
// cycles through 5 selector kinds and 3 checks) and every KPI shape (6), so
// both sizes use the same features and only the counts differ.
var smallSize = synth.SpecSize{Teams: 2, SLAs: 15, KPIs: 6, Workspaces: 2, Seed: 1}

// sized is one BigSpec rendered without the parts these tests do not read
// (alerts.yml and the dashboards, which are slow at the large size).
type sized struct {
	bundle   *model.Bundle
	files    []render.File // every template under templates/pipeline/
	findings []render.Query
	alerts   []string // query_text of every alert, in b.Alerts order
}

// sizedCache keeps each size rendered once per test binary (the tests of a
// package run one at a time).
var sizedCache = map[synth.SpecSize]*sized{}

func bigSpec(t *testing.T, z synth.SpecSize) *sized {
	t.Helper()
	if s, ok := sizedCache[z]; ok {
		return s
	}
	s, err := buildSized(z)
	if err != nil {
		t.Fatal(err)
	}
	sizedCache[z] = s
	return s
}

func buildSized(z synth.SpecSize) (*sized, error) {
	s, diags := spec.Load("bigspec.yaml", synth.BigSpec(z))
	if len(diags) > 0 {
		return nil, diags
	}
	b, err := model.Build(s)
	if err != nil {
		return nil, err
	}
	out := &sized{bundle: b}
	for _, ft := range render.Manifest {
		if !strings.HasPrefix(ft.Template, "templates/pipeline/") {
			continue
		}
		files, err := render.RenderTemplate(b, ft.Template)
		if err != nil {
			return nil, err
		}
		out.files = append(out.files, files...)
	}
	if out.findings, err = render.Findings(b, ""); err != nil {
		return nil, err
	}
	if out.alerts, err = render.AlertQueries(b, ""); err != nil {
		return nil, err
	}
	return out, nil
}

// scanSQL calls emit for each token of Databricks SQL: 'w' a word (lower
// case), 's' a string literal, 'n' a number, 'p' punctuation. Comments,
// whitespace and `quoted` identifiers (emitted as words) are handled as
// Spark reads them; the text of a string literal is not interpreted.
func scanSQL(s string, emit func(kind byte, text string)) {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.HasPrefix(s[i:], "--"):
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case strings.HasPrefix(s[i:], "/*"):
			if j := strings.Index(s[i+2:], "*/"); j >= 0 {
				i += j + 4
			} else {
				i = len(s)
			}
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(s) && s[j] != c {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			emit('s', s[i:min(j+1, len(s))])
			i = j + 1
		case c == '`':
			j := i + 1
			for j < len(s) && s[j] != '`' {
				j++
			}
			emit('w', strings.ToLower(s[i+1:min(j, len(s))]))
			i = j + 1
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
				j++
			}
			emit('n', s[i:j])
			i = j
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80:
			j := i
			for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' ||
				s[j] >= '0' && s[j] <= '9' || s[j] >= 0x80) {
				j++
			}
			emit('w', strings.ToLower(s[i:j]))
			i = j
		default:
			emit('p', s[i:i+1])
			i++
		}
	}
}

// nestingDepth is the deepest nesting of parentheses and CASE ... END in a
// statement.
func nestingDepth(sql string) int {
	depth, deepest := 0, 0
	scanSQL(sql, func(kind byte, text string) {
		switch {
		case kind == 'p' && text == "(", kind == 'w' && text == "case":
			depth++
			deepest = max(deepest, depth)
		case kind == 'p' && text == ")", kind == 'w' && text == "end":
			depth--
		}
	})
	return deepest
}

// shape is a statement's tokens with every string literal written '?' and
// the rows of an inline VALUES table collapsed into one: what stays the same
// when only the spec's rules change.
func shape(sql string) string {
	var b strings.Builder
	values, depth := false, 0 // inside VALUES rows; parenthesis depth there
	scanSQL(sql, func(kind byte, text string) {
		if values {
			switch {
			case text == "(" && kind == 'p':
				depth++
			case text == ")" && kind == 'p':
				if depth--; depth < 0 {
					values = false // the ")" closing (VALUES ...)
					b.WriteString(" rows )")
				}
			}
			return
		}
		if kind == 's' {
			text = "'?'"
		}
		b.WriteString(" " + text)
		if kind == 'w' && text == "values" {
			values, depth = true, 0
		}
	})
	return b.String()
}

// TestNestingDepthDoesNotGrow renders a 2-team spec and a 500-team /
// 2,000-SLA / 200-KPI / 50-workspace spec and asserts that the deepest
// nesting of every kind of statement is the same for both, and that every
// pipeline statement but kpi_values (one SELECT per KPI, side by side) has
// the same shape: the rules are rows, not SQL.
func TestNestingDepthDoesNotGrow(t *testing.T) {
	if testing.Short() {
		t.Skip("renders a spec of 500 teams and 2,000 SLAs")
	}
	small, large := bigSpec(t, smallSize), bigSpec(t, synth.SpecLarge)
	if n := len(large.bundle.Monitor.SLAs); n != synth.SpecLarge.SLAs {
		t.Fatalf("the large spec has %d SLAs, want %d", n, synth.SpecLarge.SLAs)
	}

	pipeline := func(z *sized) map[string]string {
		out := map[string]string{}
		for _, f := range z.files {
			if strings.HasSuffix(f.Path, ".sql") {
				out[f.Path] = string(f.Data)
			}
		}
		return out
	}
	sp, lp := pipeline(small), pipeline(large)
	if len(sp) != len(lp) || len(sp) < len(small.bundle.Tables) {
		t.Fatalf("%d pipeline statements for the small spec, %d for the large", len(sp), len(lp))
	}
	maxDepth := func(sqls map[string]string) (int, string) {
		deepest, where := 0, ""
		for _, path := range slices.Sorted(maps.Keys(sqls)) {
			if d := nestingDepth(sqls[path]); d > deepest {
				deepest, where = d, path
			}
		}
		return deepest, where
	}
	for path, sql := range sp {
		large, ok := lp[path]
		if !ok {
			t.Errorf("%s: only the small spec makes it", path)
			continue
		}
		if ds, dl := nestingDepth(sql), nestingDepth(large); ds != dl {
			t.Errorf("%s: nesting depth %d for the small spec, %d for the large", path, ds, dl)
		}
		if !strings.HasSuffix(path, "/kpi_values.sql") && shape(sql) != shape(large) {
			t.Errorf("%s: the statement's shape depends on the spec's size", path)
		}
	}
	ds, ws := maxDepth(sp)
	dl, wl := maxDepth(lp)
	t.Logf("pipeline statements: deepest nesting %d (%s) for 2 teams, %d (%s) for 500 teams", ds, ws, dl, wl)

	queries := func(z *sized) map[string]string {
		out := map[string]string{}
		for _, q := range z.findings {
			out["finding "+q.Family] = q.SQL
		}
		return out
	}
	sf, lf := queries(small), queries(large)
	for k, sql := range sf {
		if ds, dl := nestingDepth(sql), nestingDepth(lf[k]); ds != dl {
			t.Errorf("%s: nesting depth %d for the small spec, %d for the large", k, ds, dl)
		}
	}
	ds, ws = maxDepth(sf)
	dl, wl = maxDepth(lf)
	t.Logf("finding queries: deepest nesting %d (%s) for 2 teams, %d (%s) for 500 teams", ds, ws, dl, wl)

	// Alerts: the deepest query of each family.
	alertDepths := func(z *sized) map[string]int {
		out := map[string]int{}
		for i, a := range z.bundle.Alerts {
			out[a.Family] = max(out[a.Family], nestingDepth(z.alerts[i]))
		}
		return out
	}
	sa, la := alertDepths(small), alertDepths(large)
	if len(sa) == 0 {
		t.Fatal("the small spec has no alerts")
	}
	deepestSmall, deepestLarge := 0, 0
	for family, d := range la {
		if sa[family] != d {
			t.Errorf("alerts of %s: nesting depth %d for the small spec, %d for the large", family, sa[family], d)
		}
		deepestLarge = max(deepestLarge, d)
	}
	for _, d := range sa {
		deepestSmall = max(deepestSmall, d)
	}
	t.Logf("alert queries: deepest nesting %d for 2 teams (%d alerts), %d for 500 teams (%d alerts)",
		deepestSmall, len(small.alerts), deepestLarge, len(large.alerts))
}

// TestNestingHelpers pins the scanner the depth and shape tests rely on.
func TestNestingHelpers(t *testing.T) {
	for sql, want := range map[string]int{
		"SELECT 1":                                    0,
		"SELECT f(g(x))":                              2,
		"SELECT CASE WHEN a THEN (b) END, (c)":        2,
		"SELECT ')(' AS p, `a(` -- ((\n FROM t":       0,
		"SELECT 'it\\'s (' /* ( */ , CASE x END":      1,
		"SELECT CASE WHEN CASE a END THEN 1 END FROM": 2,
	} {
		if got := nestingDepth(sql); got != want {
			t.Errorf("nestingDepth(%q) = %d, want %d", sql, got, want)
		}
	}
	a := shape("SELECT x FROM (VALUES (1, 'a'), (2, f('b'))) AS v(x, y) WHERE y = 'c'")
	b := shape("SELECT x FROM (VALUES (7, 'z')) AS v(x, y) WHERE y = 'd'")
	if a != b {
		t.Errorf("shape: %q != %q", a, b)
	}
	if c := shape("SELECT x FROM t WHERE y = 'c' OR y = 'd'"); c == shape("SELECT x FROM t WHERE y = 'c'") {
		t.Errorf("shape ignores a condition: %q", c)
	}
}

// literalList matches a parenthesized list of string literals, as in an
// alert's team IN (...).
var literalList = regexp.MustCompile(`'(?:[^'\\]|\\.)*'(?:\s*,\s*'(?:[^'\\]|\\.)*')*`)

// TestLargeSpecRuns builds every table of the 500-team spec on empty system
// tables and runs every finding query and the alert queries: each
// translates, executes and yields its declared columns. The large spec has
// one alert per SLA and team (hundreds of thousands); their queries differ
// only in string literals, so one query of each shape runs.
func TestLargeSpecRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a spec of 500 teams and 2,000 SLAs")
	}
	large := bigSpec(t, synth.SpecLarge)
	e, err := twin.Open(asOf)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	runs, err := e.RunPipeline(large.bundle, large.files)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(large.bundle.Bronze) + len(large.bundle.Tables); len(runs) != want {
		t.Errorf("built %d tables, want %d", len(runs), want)
	}
	if _, err := e.Findings(large.bundle); err != nil {
		t.Fatal(err)
	}
	shapes := map[string]int{}
	for i, q := range large.alerts {
		key := literalList.ReplaceAllString(q, "'?'")
		if _, seen := shapes[key]; !seen {
			shapes[key] = i
		}
	}
	if len(shapes) < 3 {
		t.Fatalf("only %d alert query shapes among %d alerts", len(shapes), len(large.alerts))
	}
	for _, i := range shapes {
		if err := e.Try(large.bundle, large.alerts[i]); err != nil {
			t.Errorf("alert %s: %v", large.bundle.Alerts[i].Key, err)
		}
	}
	t.Logf("%d alerts, %d query shapes ran", len(large.alerts), len(shapes))
}

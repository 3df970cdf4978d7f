package twin_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/dbmon/dbmon/generator"
	"github.com/dbmon/dbmon/generator/render"
	"github.com/dbmon/dbmon/synth"
	"github.com/dbmon/dbmon/twin"
)

// zoneAsOf is late in the UTC day: already tomorrow in Asia/Kolkata, still
// today in America/New_York. The synthetic history before it spans the end
// of summer time in Europe (25 October 2026) and in the US (1 November).
var zoneAsOf = time.Date(2026, 11, 27, 20, 10, 0, 0, time.UTC)

// otherZones are the non-UTC session time zones the bundle must not notice:
// a half-hour offset ahead of UTC, and one behind it with summer time.
var otherZones = []string{"Asia/Kolkata", "America/New_York"}

// zoneRun is everything a bundle computed on the twin, each result as sorted
// canonical text lines: every pipeline table's rows, every finding query,
// alert query and dashboard dataset, the KPIs and the SLA summary.
type zoneRun map[string][]string

// runInZone builds res on synthetic data in a twin whose session time zone is
// zone and reads every result. files replaces res.Files when not nil.
func runInZone(t *testing.T, res *generator.Result, files []render.File, zone string) zoneRun {
	t.Helper()
	if files == nil {
		files = res.Files
	}
	e, err := twin.Open(zoneAsOf, twin.SessionZone(zone))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	loader, err := e.Loader()
	if err != nil {
		t.Fatal(err)
	}
	cfg := synth.Config{Seed: 3, Jobs: 12, Days: 40, AsOf: zoneAsOf, NodeGrainMinutes: 60, Incidents: true}
	if _, err := synth.Generate(res.Spec, cfg, loader); err != nil {
		t.Fatal(err)
	}
	if err := loader.Close(); err != nil {
		t.Fatal(err)
	}
	tables, err := e.RunPipeline(res.Bundle, files)
	if err != nil {
		t.Fatalf("%s: %v", zone, err)
	}
	out := zoneRun{}
	query := func(key, databricksSQL string) {
		rows, err := e.Query(databricksSQL)
		if err != nil {
			t.Fatalf("%s: %s: %v", zone, key, err)
		}
		out[key] = canonRows(rows)
	}
	for _, tr := range tables {
		query("table "+tr.Name, "SELECT * FROM "+tr.Name)
	}
	findings, err := e.Findings(res.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	out["findings"] = canonJSON(t, findings)
	alerts, err := e.EvaluateAlerts(res.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	out["alerts"] = canonJSON(t, alerts)
	kpis, err := e.KPIs(res.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	out["kpis"] = canonJSON(t, kpis)
	slas, err := e.SLASummary(res.Bundle, 7)
	if err != nil {
		t.Fatal(err)
	}
	out["slas"] = canonJSON(t, slas)
	for _, f := range files {
		if !strings.HasSuffix(f.Path, ".lvdash.json") {
			continue
		}
		var d struct {
			Datasets []struct {
				Name       string   `json:"name"`
				QueryLines []string `json:"queryLines"`
			} `json:"datasets"`
		}
		if err := json.Unmarshal(f.Data, &d); err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		for _, ds := range d.Datasets {
			query("dataset "+f.Path+" "+ds.Name, strings.Join(ds.QueryLines, ""))
		}
	}
	return out
}

// canonRows renders rows as sorted lines, independent of the session zone's
// rendering of instants and of the last bits of parallel float sums.
func canonRows(rows [][]any) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		vals := make([]string, len(r))
		for j, v := range r {
			vals[j] = canon(v)
		}
		out[i] = strings.Join(vals, " | ")
	}
	sort.Strings(out)
	return out
}

func canon(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case float64:
		return canonFloat(x)
	case float32:
		return canonFloat(float64(x))
	case duckdb.Decimal:
		return canonFloat(x.Float64())
	case *big.Int:
		return x.String()
	case []any:
		s := make([]string, len(x))
		for i, e := range x {
			s[i] = canon(e)
		}
		return "[" + strings.Join(s, ", ") + "]"
	case duckdb.Map:
		s := make([]string, 0, len(x))
		for k, e := range x {
			s = append(s, canon(k)+": "+canon(e))
		}
		sort.Strings(s)
		return "{" + strings.Join(s, ", ") + "}"
	case duckdb.OrderedMap:
		keys, vals := x.Keys(), x.Values()
		s := make([]string, len(keys))
		for i := range keys {
			s[i] = canon(keys[i]) + ": " + canon(vals[i])
		}
		sort.Strings(s)
		return "{" + strings.Join(s, ", ") + "}"
	case map[string]any:
		s := make([]string, 0, len(x))
		for k, e := range x {
			s = append(s, k+": "+canon(e))
		}
		sort.Strings(s)
		return "{" + strings.Join(s, ", ") + "}"
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

func canonFloat(f float64) string {
	if f == 0 {
		return "0"
	}
	return strconv.FormatFloat(f, 'g', 9, 64)
}

// canonJSON renders a report value (findings, alerts, ...) as one line per
// element, with floats canonical.
func canonJSON(t *testing.T, v any) []string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var list []any
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = canonAny(e)
	}
	sort.Strings(out)
	return out
}

func canonAny(v any) string {
	switch x := v.(type) {
	case float64:
		return canonFloat(x)
	case []any:
		s := make([]string, len(x))
		for i, e := range x {
			s[i] = canonAny(e)
		}
		return "[" + strings.Join(s, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		s := make([]string, len(keys))
		for i, k := range keys {
			s[i] = k + ": " + canonAny(x[k])
		}
		return "{" + strings.Join(s, ", ") + "}"
	}
	return fmt.Sprint(v)
}

// zoneDiff lists how got differs from want: per result, the lines only one
// side has (at most 3 of each).
func zoneDiff(want, got zoneRun) []string {
	keys := map[string]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range got {
		keys[k] = true
	}
	var out []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range keys {
			if !yield(k) {
				return
			}
		}
	}) {
		onlyWant, onlyGot := unpaired(minus(want[k], got[k]), minus(got[k], want[k]))
		if len(onlyWant) == 0 && len(onlyGot) == 0 {
			continue
		}
		msg := fmt.Sprintf("%s: %d rows in UTC, %d here; %d rows only in UTC, %d only here", k, len(want[k]), len(got[k]), len(onlyWant), len(onlyGot))
		for _, l := range onlyWant[:min(3, len(onlyWant))] {
			msg += "\n    UTC:  " + l
		}
		for _, l := range onlyGot[:min(3, len(onlyGot))] {
			msg += "\n    here: " + l
		}
		out = append(out, msg)
	}
	return out
}

// number is a number in a canonical line; one with a fraction or exponent
// is a float.
var number = regexp.MustCompile(`-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?`)

// nearlyEqual reports whether lines a and b, of the same floatless form,
// differ only in the last bits of floats: DuckDB sums in parallel, so a
// float's last digits vary from run to run.
func nearlyEqual(a, b string) bool {
	na, nb := number.FindAllString(a, -1), number.FindAllString(b, -1)
	for i := range na {
		if na[i] == nb[i] {
			continue
		}
		x, _ := strconv.ParseFloat(na[i], 64)
		y, _ := strconv.ParseFloat(nb[i], 64)
		if math.Abs(x-y) > 1e-6*math.Max(1, math.Max(math.Abs(x), math.Abs(y))) {
			return false
		}
	}
	return true
}

// floatless is a line with its floats blanked: lines that may be nearlyEqual
// have the same; integers, dates and text must be equal.
func floatless(l string) string {
	return number.ReplaceAllStringFunc(l, func(n string) string {
		if strings.ContainsAny(n, ".e") {
			return "#"
		}
		return n
	})
}

// unpaired drops from a and b the pairs of lines that are nearlyEqual.
func unpaired(a, b []string) ([]string, []string) {
	byForm := map[string][]int{} // floatless form -> unused indexes of b
	for j, m := range b {
		byForm[floatless(m)] = append(byForm[floatless(m)], j)
	}
	used := make([]bool, len(b))
	var restA []string
	for _, l := range a {
		found := false
		for _, j := range byForm[floatless(l)] {
			if !used[j] && nearlyEqual(l, b[j]) {
				used[j], found = true, true
				break
			}
		}
		if !found {
			restA = append(restA, l)
		}
	}
	var restB []string
	for j, m := range b {
		if !used[j] {
			restB = append(restB, m)
		}
	}
	return restA, restB
}

// minus is the lines of a (sorted) not matched by a line of b, as multisets.
func minus(a, b []string) []string {
	n := map[string]int{}
	for _, l := range b {
		n[l]++
	}
	var out []string
	for _, l := range a {
		if n[l] > 0 {
			n[l]--
			continue
		}
		out = append(out, l)
	}
	return out
}

// TestSessionZoneIndependent runs the whole bundle of each example spec on
// the same synthetic data under the UTC session zone and under each of
// otherZones: every pipeline table, finding, alert, KPI, SLA summary and
// dashboard dataset must be identical. Databricks renders a TIMESTAMP in the
// session time zone (SQL configuration TIMEZONE), which a warehouse admin may
// set; the twin does the same (twin.SessionZone).
func TestSessionZoneIndependent(t *testing.T) {
	for _, path := range []string{"../specs/example.yaml", "../specs/multi_workspace.yaml"} {
		t.Run(strings.TrimSuffix(strings.TrimPrefix(path, "../specs/"), ".yaml"), func(t *testing.T) {
			res := prepare(t, path)
			utc := runInZone(t, res, nil, "UTC")
			rows, tables, datasets := 0, 0, 0
			for k, v := range utc {
				switch {
				case strings.HasPrefix(k, "table "):
					rows += len(v)
					tables++
				case strings.HasPrefix(k, "dataset "):
					datasets++
				}
			}
			if want := len(res.Bundle.Bronze) + len(res.Bundle.Tables); tables != want || datasets == 0 {
				t.Fatalf("read %d tables (want %d) and %d dashboard datasets", tables, want, datasets)
			}
			if rows == 0 || len(utc["findings"]) == 0 || len(utc["alerts"]) != len(res.Bundle.Alerts) {
				t.Fatalf("the synthetic data builds %d table rows, %d findings and %d alert results: nothing to compare", rows, len(utc["findings"]), len(utc["alerts"]))
			}
			for _, zone := range otherZones {
				if diff := zoneDiff(utc, runInZone(t, res, nil, zone)); len(diff) > 0 {
					t.Errorf("session time zone %s changes %d results:\n%s", zone, len(diff), strings.Join(diff, "\n"))
				}
			}
		})
	}
}

// oldLocalDate is the local date as dbmon wrote it before: right only while
// the session time zone is UTC.
var oldLocalDate = regexp.MustCompile(`date_from_unix_date\(CAST\(floor\(unix_seconds\(from_utc_timestamp\(([^,]+), ('[^']*')\)\) / 86400\) AS INT\)\)`)

// TestSessionZoneOldForm proves the comparison can fail: with the local
// dates of the pipeline written the old way, CAST(from_utc_timestamp(ts, tz)
// AS DATE), the tables differ under Asia/Kolkata. And on one expression: the
// old form shifts by the session offset a second time, the new one does not.
func TestSessionZoneOldForm(t *testing.T) {
	const instant = "TIMESTAMP '2026-11-27 20:00:00+00:00'" // 21:00 in Berlin, 01:30 the next day in Kolkata
	newForm := "date_from_unix_date(CAST(floor(unix_seconds(from_utc_timestamp(" + instant + ", 'Europe/Berlin')) / 86400) AS INT))"
	oldForm := "CAST(from_utc_timestamp(" + instant + ", 'Europe/Berlin') AS DATE)"
	for zone, want := range map[string][2]string{
		"UTC":          {"2026-11-27", "2026-11-27"},
		"Asia/Kolkata": {"2026-11-27", "2026-11-28"},
	} {
		e, err := twin.Open(zoneAsOf, twin.SessionZone(zone))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := e.Query("SELECT CAST(" + newForm + " AS STRING), CAST(" + oldForm + " AS STRING)")
		e.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := [2]string{canon(rows[0][0]), canon(rows[0][1])}; got != want {
			t.Errorf("%s: new and old local date = %v, want %v", zone, got, want)
		}
	}

	res := prepare(t, "../specs/example.yaml")
	var old []render.File
	replaced := 0
	for _, f := range res.Files {
		if strings.HasPrefix(f.Path, "src/pipeline/") && strings.HasSuffix(f.Path, ".sql") {
			s := string(f.Data)
			replaced += len(oldLocalDate.FindAllStringIndex(s, -1))
			f.Data = []byte(oldLocalDate.ReplaceAllString(s, "CAST(from_utc_timestamp($1, $2) AS DATE)"))
		}
		old = append(old, f)
	}
	if replaced < 5 {
		t.Fatalf("found %d local dates in the pipeline to write the old way", replaced)
	}
	diff := zoneDiff(runInZone(t, res, old, "UTC"), runInZone(t, res, old, "Asia/Kolkata"))
	if len(diff) == 0 {
		t.Fatal("the old local dates give the same results under Asia/Kolkata: the comparison cannot see the session zone")
	}
	t.Logf("with %d old local dates, Asia/Kolkata changes %d results, e.g.:\n%s", replaced, len(diff), diff[0])
}

// TestZoneDiff: the comparison forgives a float's last digits, nothing else.
func TestZoneDiff(t *testing.T) {
	want := zoneRun{"t": {"2026-11-23 | a | 30 | 114.138488", "2026-11-24 | b | 1 | 2.5"}}
	for _, c := range []struct {
		got   []string
		diffs int
	}{
		{[]string{"2026-11-23 | a | 30 | 114.138487", "2026-11-24 | b | 1 | 2.5"}, 0},
		{[]string{"2026-11-23 | a | 30 | 114.2", "2026-11-24 | b | 1 | 2.5"}, 1},
		{[]string{"2026-11-24 | a | 30 | 114.138488", "2026-11-24 | b | 1 | 2.5"}, 1},
		{[]string{"2026-11-23 | a | 31 | 114.138488", "2026-11-24 | b | 1 | 2.5"}, 1},
		{[]string{"2026-11-23 | x | 30 | 114.138488", "2026-11-24 | b | 1 | 2.5"}, 1},
		{[]string{"2026-11-24 | b | 1 | 2.5"}, 1},
	} {
		if d := zoneDiff(want, zoneRun{"t": c.got}); len(d) != c.diffs {
			t.Errorf("%v: %d differences %v, want %d", c.got, len(d), d, c.diffs)
		}
	}
}

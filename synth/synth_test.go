package synth

import (
	"encoding/binary"
	"fmt"
	"hash"
	"hash/fnv"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/spec"
	"github.com/dbmon/dbmon/twin"
)

// asOf is a Wednesday in March 2026, mid-month, before the DST switch.
var asOf = time.Date(2026, 3, 18, 10, 30, 0, 0, time.UTC)

// edgeSpec stresses the generator: a half-hour timezone, a regex that
// admits no literal prefix, a team shadowing every job of a workspace, a
// budget team without jobs, an SLA over the unassigned team, a deadline
// just after midnight and a 1-minute max_duration.
const edgeSpec = `version: 1
bundle: {name: edge, catalog: c, schema: s, warehouse: w, timezone: Asia/Kolkata}
workspaces: [{id: "1111111111111111", name: a}, {id: "2222222222222222"}]
teams:
  - name: numeric
    match: {job_name: "^[0-9]{3}_etl$"}
    monthly_budget: 1000
  - name: ws-b
    match: {workspaces: ["2222222222222222"]}
  - name: ghost
    match: {workspaces: ["9999999999999999"]}
    monthly_budget: 10
unassigned_team: nobody
slas:
  - name: early
    jobs: {name_regex: "^[0-9]{3}_etl$"}
    deadline: "00:45"
  - name: everyone-else
    jobs: {team: nobody}
    min_success_rate: 90
  - name: tagged
    jobs: {tags: {tier: gold}}
    max_duration: 1m
alerts:
  cost_anomaly: {min_daily_cost: 500}
`

// dstSpec has a deadline whose usual start time (90 minutes before) falls
// in the hour Europe skips on 2026-03-29.
const dstSpec = `version: 1
bundle: {name: dst, catalog: c, schema: s, warehouse: w, timezone: Europe/Berlin}
slas:
  - {name: nightly, jobs: {names: [nightly_load]}, deadline: "03:30"}
`

func loadSpec(t testing.TB, name string) *spec.Spec {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "specs", name))
	switch name {
	case "edge.yaml":
		data, err = []byte(edgeSpec), nil
	case "dst.yaml":
		data, err = []byte(dstSpec), nil
	}
	if err != nil {
		t.Fatal(err)
	}
	s, diags := spec.Load(name, data)
	if s == nil {
		t.Fatalf("%s: %v", name, diags)
	}
	return s
}

// colType is a parsed declared column type; check says whether a Go value
// is what the generator promises for it.
type colType struct {
	kind   string // string timestamp date bigint int double boolean map array struct
	key    *colType
	elem   *colType // array element or map value
	fields []string
	ftypes []*colType
}

func parseType(s string) *colType {
	s = strings.TrimSpace(s)
	lower := strings.ToLower(s)
	inner := func(prefix string) string { return s[len(prefix)+1 : len(s)-1] }
	switch {
	case strings.HasPrefix(lower, "array<"):
		return &colType{kind: "array", elem: parseType(inner("array"))}
	case strings.HasPrefix(lower, "map<"):
		kv := model.SplitTop(inner("map"), ',')
		return &colType{kind: "map", key: parseType(kv[0]), elem: parseType(kv[1])}
	case strings.HasPrefix(lower, "struct<"):
		t := &colType{kind: "struct"}
		for _, f := range model.SplitTop(inner("struct"), ',') {
			name, typ, _ := strings.Cut(f, ":")
			t.fields = append(t.fields, strings.TrimSpace(name))
			t.ftypes = append(t.ftypes, parseType(typ))
		}
		return t
	case strings.HasPrefix(lower, "decimal("):
		return &colType{kind: "double"}
	}
	return &colType{kind: lower}
}

func (c *colType) check(v any) error {
	if v == nil {
		return nil
	}
	bad := func() error { return fmt.Errorf("%T %v is not a %s", v, v, c.kind) }
	switch c.kind {
	case "string":
		if _, ok := v.(string); !ok {
			return bad()
		}
	case "timestamp", "date":
		tm, ok := v.(time.Time)
		if !ok || tm.Location() != time.UTC {
			return bad()
		}
		if c.kind == "date" && !tm.Equal(tm.Truncate(24*time.Hour)) {
			return fmt.Errorf("date %v has a time of day", tm)
		}
	case "bigint":
		if _, ok := v.(int64); !ok {
			return bad()
		}
	case "int":
		if _, ok := v.(int32); !ok {
			return bad()
		}
	case "double":
		if _, ok := v.(float64); !ok {
			return bad()
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return bad()
		}
	case "map":
		switch c.elem.kind {
		case "string":
			if _, ok := v.(map[string]string); !ok {
				return bad()
			}
		case "bigint":
			if _, ok := v.(map[string]int64); !ok {
				return bad()
			}
		default:
			return fmt.Errorf("no Go type for map of %s", c.elem.kind)
		}
	case "array":
		switch c.elem.kind {
		case "string":
			if _, ok := v.([]string); !ok {
				return bad()
			}
		case "struct":
			list, ok := v.([]map[string]any)
			if !ok {
				return bad()
			}
			for _, e := range list {
				if err := c.elem.check(e); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("no Go type for array of %s", c.elem.kind)
		}
	case "struct":
		m, ok := v.(map[string]any)
		if !ok {
			return bad()
		}
		if len(m) != len(c.fields) {
			return fmt.Errorf("struct has %d keys, want %d (%v)", len(m), len(c.fields), c.fields)
		}
		for i, f := range c.fields {
			fv, ok := m[f]
			if !ok {
				return fmt.Errorf("struct lacks field %s", f)
			}
			if err := c.ftypes[i].check(fv); err != nil {
				return fmt.Errorf("field %s: %v", f, err)
			}
		}
	default:
		return fmt.Errorf("unknown type %s", c.kind)
	}
	return nil
}

var (
	typesOnce sync.Once
	colTypes  map[string][]*colType
)

func tableTypes() map[string][]*colType {
	typesOnce.Do(func() {
		colTypes = map[string][]*colType{}
		for _, t := range twin.SystemTables {
			for _, c := range t.Columns {
				colTypes[t.FullName()] = append(colTypes[t.FullName()], parseType(c.Type))
			}
		}
	})
	return colTypes
}

// col is the index of a column of a declared table.
func col(table, name string) int {
	t, _ := twin.SystemTable(table)
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	panic("no column " + table + "." + name)
}

// collector is a Sink that type-checks every row, hashes the row stream,
// counts rows, keeps the small tables and aggregates node_timeline by
// (cluster, interval), which is all the idle detector needs. Plans go to a
// twin, whose expansion is read back and collected like appended rows.
type collector struct {
	check  bool
	errs   []string
	h      hash.Hash64
	buf    []byte
	counts map[string]int
	rows   map[string][][]any
	nodes  map[nodeKey]*nodeAgg
	plans  map[string]int // plan rows per plan table
	// keys, when set, records the key of every row of its tables (and of
	// node_timeline, counted on the twin); dupKeys counts repeats.
	keys    map[string]map[string]bool
	dupKeys int
	engine  *twin.Engine
	loader  *twin.Loader
}

type nodeKey struct {
	ws, cluster string
	start, end  time.Time
}

type nodeAgg struct {
	cpu float64
	n   int
}

func newCollector(check, keep bool) *collector {
	c := &collector{check: check, h: fnv.New64a(), counts: map[string]int{}}
	if keep {
		c.rows, c.nodes = map[string][][]any{}, map[nodeKey]*nodeAgg{}
	}
	return c
}

func (c *collector) Plan(name string, cols []model.Column) error {
	if c.engine == nil {
		e, err := twin.Open(asOf)
		if err != nil {
			return err
		}
		l, err := e.Loader()
		if err != nil {
			e.Close()
			return err
		}
		c.engine, c.loader, c.plans = e, l, map[string]int{}
	}
	return c.loader.Plan(name, cols)
}

// Expand runs the expansion on the twin, then collects what the tests need
// of its rows, computed there: the count, an order-free digest (for the
// stream hash), a sample of rows for the type checks and, when rows are
// kept, the node_timeline aggregates. It closes the twin.
func (c *collector) Expand(table, query string) error {
	if c.loader == nil {
		return fmt.Errorf("expand %s before any plan", table)
	}
	defer func() { c.engine.Close(); c.engine, c.loader = nil, nil }()
	if table != tNodes {
		return fmt.Errorf("unexpected expansion of %s", table)
	}
	if err := c.loader.Expand(table, query); err != nil {
		return err
	}
	if err := c.loader.Close(); err != nil {
		return err
	}
	st, _ := twin.SystemTable(table)
	var names []string
	for _, col := range st.Columns {
		names = append(names, "`"+col.Name+"`")
	}
	list := strings.Join(names, ", ")
	// Percentages have two decimals: summed as integers, the digest does
	// not depend on the engine's summation order.
	digest, err := c.engine.Query("SELECT count(*), sum(CAST(round(cpu_user_percent * 100) AS BIGINT)), " +
		"sum(CAST(round(cpu_wait_percent * 100) AS BIGINT)), sum(CAST(round(mem_used_percent * 100) AS BIGINT)), " +
		"sum(network_sent_bytes), sum(network_received_bytes), min(instance_id), max(instance_id), " +
		"sum(element_at(disk_free_bytes_per_mount_point, '/local_disk0')) FROM " + table)
	if err != nil {
		return err
	}
	n := digest[0][0].(int64)
	c.counts[table] += int(n)
	if c.keys != nil {
		distinct, err := c.engine.Query("SELECT count(DISTINCT concat_ws('|', cluster_id, instance_id, CAST(start_time AS STRING))) FROM " + table)
		if err != nil {
			return err
		}
		c.dupKeys += int(n - distinct[0][0].(int64))
	}
	c.buf = fmt.Appendf(c.buf[:0], "%s %v", table, digest[0])
	c.h.Write(c.buf)
	sample, err := c.engine.Query("SELECT " + list + " FROM " + table + " ORDER BY " + list + " LIMIT 2000")
	if err != nil {
		return err
	}
	for _, r := range sample {
		c.checkRow(table, fromEngine(r))
	}
	if c.nodes == nil {
		return nil
	}
	aggs, err := c.engine.Query("SELECT workspace_id, cluster_id, start_time, end_time, " +
		"sum(cpu_user_percent + cpu_system_percent), count(*) FROM " + table + " GROUP BY ALL")
	if err != nil {
		return err
	}
	for _, r := range aggs {
		k := nodeKey{r[0].(string), r[1].(string), r[2].(time.Time).UTC(), r[3].(time.Time).UTC()}
		c.nodes[k] = &nodeAgg{cpu: r[4].(float64), n: int(r[5].(int64))}
	}
	return nil
}

// fromEngine turns a row read from the twin back into the synth row
// convention (maps of string to bigint, UTC times).
func fromEngine(r []any) []any {
	for i, v := range r {
		switch x := v.(type) {
		case duckdb.OrderedMap:
			out := map[string]int64{}
			vals := x.Values()
			for k, key := range x.Keys() {
				out[key.(string)] = vals[k].(int64)
			}
			r[i] = out
		case time.Time:
			r[i] = x.UTC()
		}
	}
	return r
}

func (c *collector) Append(table string, row []any) error {
	if _, ok := c.plans[table]; ok || slices.ContainsFunc(Plans, func(p PlanTable) bool { return p.Name == table }) {
		if c.loader == nil {
			return fmt.Errorf("append to %s before its plan", table)
		}
		c.plans[table]++
		return c.loader.Append(table, row)
	}
	c.counts[table]++
	types := tableTypes()[table]
	if len(types) == 0 {
		return fmt.Errorf("unexpected table %s", table)
	}
	if len(row) != len(types) {
		return fmt.Errorf("%s: %d values for %d columns", table, len(row), len(types))
	}
	c.checkRow(table, row)
	if seen, ok := c.keys[table]; ok {
		k := rowKey(table, row)
		if seen[k] {
			c.dupKeys++
		}
		seen[k] = true
	}
	switch {
	case c.rows == nil: // hash only what is not kept: the determinism test
		c.buf = append(c.buf[:0], table...)
		for _, v := range row {
			c.buf = encode(c.buf, v)
		}
		c.h.Write(c.buf)
	default:
		c.rows[table] = append(c.rows[table], slices.Clone(row))
	}
	return nil
}

// rowKey is the key of a row: what identifies it in its table.
func rowKey(table string, r []any) string {
	var cols []string
	switch table {
	case tUsage:
		cols = []string{"record_id"}
	case tRunTimeline, tTaskTimline:
		cols = []string{"workspace_id", "run_id", "period_start_time"}
	case tJobs:
		cols = []string{"workspace_id", "job_id", "change_time"}
	case tClusters:
		cols = []string{"workspace_id", "cluster_id", "change_time"}
	}
	k := ""
	for _, name := range cols {
		k += fmt.Sprint(r[col(table, name)]) + "|"
	}
	return k
}

// checkRow records the first type errors of a row, when checking.
func (c *collector) checkRow(table string, row []any) {
	if !c.check || len(c.errs) >= 20 {
		return
	}
	types := tableTypes()[table]
	t, _ := twin.SystemTable(table)
	for i, v := range row {
		if err := types[i].check(v); err != nil {
			c.errs = append(c.errs, fmt.Sprintf("%s.%s: %v", table, t.Columns[i].Name, err))
		}
	}
}

// encode appends a canonical encoding of v (maps in key order).
func encode(b []byte, v any) []byte {
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	switch x := v.(type) {
	case nil:
		b = append(b, 'n')
	case string:
		b = append(b, 's')
		str(x)
	case time.Time:
		b = append(b, 't')
		b = binary.AppendVarint(b, x.UnixNano())
	case int64:
		b = append(b, 'i')
		b = binary.AppendVarint(b, x)
	case int32:
		b = append(b, 'j')
		b = binary.AppendVarint(b, int64(x))
	case float64:
		b = append(b, 'f')
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	case bool:
		b = append(b, 'b', map[bool]byte{false: 0, true: 1}[x])
	case []string:
		b = append(b, 'a')
		b = binary.AppendUvarint(b, uint64(len(x)))
		for _, s := range x {
			str(s)
		}
	case map[string]string:
		b = append(b, 'm')
		for _, k := range slices.Sorted(maps.Keys(x)) {
			str(k)
			str(x[k])
		}
	case map[string]int64:
		b = append(b, 'M')
		for _, k := range slices.Sorted(maps.Keys(x)) {
			str(k)
			b = binary.AppendVarint(b, x[k])
		}
	case map[string]any:
		b = append(b, '{')
		for _, k := range slices.Sorted(maps.Keys(x)) {
			str(k)
			b = encode(b, x[k])
		}
		b = append(b, '}')
	case []map[string]any:
		b = append(b, '[')
		for _, e := range x {
			b = encode(b, e)
		}
		b = append(b, ']')
	default:
		panic(fmt.Sprintf("cannot encode %T", v))
	}
	return b
}

type dataset struct {
	spec      *spec.Spec
	cfg       Config
	incidents []Incident
	c         *collector
}

var (
	fixtureMu sync.Mutex
	fixtures  = map[string]*dataset{}
)

// fixture generates (once per test binary) and collects a dataset.
func fixture(t testing.TB, specName string, cfg Config) *dataset {
	t.Helper()
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	key := fmt.Sprintf("%s %+v", specName, cfg)
	if d := fixtures[key]; d != nil {
		return d
	}
	s := loadSpec(t, specName)
	// Types are checked on the default-grain datasets; the many detector
	// variants skip it to keep the suite quick.
	c := newCollector(cfg.NodeGrainMinutes == 0, true)
	inc, err := Generate(s, cfg, c)
	if err != nil {
		t.Fatal(err)
	}
	d := &dataset{spec: s, cfg: cfg, incidents: inc, c: c}
	fixtures[key] = d
	return d
}

func exampleConfig(incidents bool) Config {
	return Config{Seed: 7, AsOf: asOf, Incidents: incidents}
}

func TestDeterministic(t *testing.T) {
	s := loadSpec(t, "example.yaml")
	sum := func(cfg Config) (uint64, []Incident) {
		c := newCollector(false, false)
		inc, err := Generate(s, cfg, c)
		if err != nil {
			t.Fatal(err)
		}
		return c.h.Sum64(), inc
	}
	cfg := exampleConfig(true)
	cfg.NodeGrainMinutes = 5
	a, incA := sum(cfg)
	b, incB := sum(cfg)
	if a != b || !reflect.DeepEqual(incA, incB) {
		t.Fatalf("two runs differ: %x vs %x", a, b)
	}
	cfg.Seed++
	if c, _ := sum(cfg); c == a {
		t.Fatal("another seed gave the same rows")
	}
}

func TestRowTypes(t *testing.T) {
	for _, incidents := range []bool{false, true} {
		d := fixture(t, "example.yaml", exampleConfig(incidents))
		for _, e := range d.c.errs {
			t.Error(e)
		}
		for _, table := range []string{tJobs, tJobTasks, tRunTimeline, tTaskTimline, tUsage, tPrices, tClusters, tNodes, tWorkspaces, tPipelineUpdates} {
			if d.c.counts[table] == 0 {
				t.Errorf("no rows for %s", table)
			}
		}
		if len(d.c.counts) != 10 {
			t.Errorf("rows for %d tables, want 10: %v", len(d.c.counts), d.c.counts)
		}
	}
}

func TestTypeCheckerCatchesMismatches(t *testing.T) {
	ts := tableTypes()
	typ := func(table, column string) *colType { return ts[table][col(table, column)] }
	for _, tc := range []struct {
		t *colType
		v any
	}{
		{typ(tUsage, "usage_quantity"), "1.0"},
		{typ(tUsage, "usage_date"), asOf},
		{typ(tUsage, "usage_metadata"), map[string]any{"job_id": "1"}},
		{typ(tJobs, "timeout_seconds"), 3},
		{typ(tJobs, "tags"), map[string]any{}},
		{typ(tRunTimeline, "compute_ids"), []any{"x"}},
		{typ(tNodes, "disk_free_bytes_per_mount_point"), map[string]int{"/": 1}},
		{typ(tRunTimeline, "period_start_time"), asOf.In(time.FixedZone("x", 3600))},
	} {
		if tc.t.check(tc.v) == nil {
			t.Errorf("%s accepted %T %v", tc.t.kind, tc.v, tc.v)
		}
	}
}

// latestJobs is the latest lakeflow.jobs row per (workspace_id, job_id).
func latestJobs(d *dataset) map[[2]string][]any {
	out := map[[2]string][]any{}
	ct := col(tJobs, "change_time")
	for _, r := range d.c.rows[tJobs] {
		k := [2]string{r[1].(string), r[2].(string)}
		if old, ok := out[k]; !ok || r[ct].(time.Time).After(old[ct].(time.Time)) {
			out[k] = r
		}
	}
	return out
}

// jobIdentity is what the team rules see of a jobs row.
func jobIdentity(r []any) identity {
	s := func(name string) string {
		v, _ := r[col(tJobs, name)].(string)
		return v
	}
	tags, _ := r[col(tJobs, "tags")].(map[string]string)
	return identity{workspaceID: s("workspace_id"), jobID: s("job_id"), name: s("name"),
		runAs: s("run_as_user_name"), creator: s("creator_user_name"), tags: tags}
}

func TestIncidentsRecorded(t *testing.T) {
	d := fixture(t, "example.yaml", exampleConfig(true))
	r, err := newRules(d.spec)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, in := range d.incidents {
		kinds = append(kinds, in.Kind)
	}
	if !slices.Equal(kinds, incidentKinds) {
		t.Fatalf("incidents %v, want %v", kinds, incidentKinds)
	}
	jobs := latestJobs(d)
	families := map[string]string{"sla_deadline_miss": "sla_breach", "failure_streak": "job_failure", "cost_spike": "cost_anomaly",
		"idle_cluster": "cluster_idle", "duration_outlier": "duration_anomaly", "budget_overrun": "budget", "run_past_max_duration": "sla_breach"}
	yesterday := time.Date(2026, 3, 17, 0, 0, 0, 0, time.UTC)
	for _, in := range d.incidents {
		if in.Family != families[in.Kind] || in.Detail == "" || in.Date.IsZero() {
			t.Errorf("incident %+v", in)
		}
		switch in.Kind {
		case "idle_cluster":
			if in.ClusterID == "" || in.Team != "unassigned" || !in.Date.Equal(yesterday) {
				t.Errorf("idle incident %+v", in)
			}
		case "budget_overrun":
			if in.Team != "marketing" { // the last team with a budget
				t.Errorf("budget incident for %s", in.Team)
			}
		default:
			row, ok := jobs[[2]string{in.WorkspaceID, in.JobID}]
			if !ok {
				t.Errorf("%s: no job %s/%s", in.Kind, in.WorkspaceID, in.JobID)
				continue
			}
			a := jobIdentity(row)
			if want := r.team(&a); in.Team != want || a.name != in.JobName {
				t.Errorf("%s: team %s name %s, oracle says %s for %s", in.Kind, in.Team, in.JobName, want, a.name)
			}
		}
	}
	if in := d.incidents[0]; in.SLA != "revenue-ready-by-8" || in.JobName != "revenue_daily" {
		t.Errorf("sla incident %+v", in)
	}
}

func TestCleanDatasetHasNoIncidents(t *testing.T) {
	d := fixture(t, "example.yaml", exampleConfig(false))
	if len(d.incidents) != 0 {
		t.Fatalf("clean dataset recorded %v", d.incidents)
	}
}

// runs groups job_run_timeline rows by run.
type runRows struct {
	ws, job, id string
	rows        [][]any
}

func groupRuns(d *dataset) []*runRows {
	byID := map[string]*runRows{}
	var out []*runRows
	for _, r := range d.c.rows[tRunTimeline] {
		id := r[3].(string)
		g := byID[id]
		if g == nil {
			g = &runRows{ws: r[1].(string), job: r[2].(string), id: id}
			byID[id] = g
			out = append(out, g)
		}
		g.rows = append(g.rows, r)
	}
	ps := col(tRunTimeline, "period_start_time")
	for _, g := range out {
		slices.SortFunc(g.rows, func(a, b []any) int { return a[ps].(time.Time).Compare(b[ps].(time.Time)) })
	}
	return out
}

func TestTimelineShape(t *testing.T) {
	for _, incidents := range []bool{false, true} {
		d := fixture(t, "example.yaml", exampleConfig(incidents))
		for _, table := range []string{tRunTimeline, tTaskTimline} {
			ps, pe, rs := col(table, "period_start_time"), col(table, "period_end_time"), col(table, "result_state")
			owner := map[string][3]string{}
			byRun := map[string][][]any{}
			for _, r := range d.c.rows[table] {
				s, e := r[ps].(time.Time), r[pe].(time.Time)
				if !e.After(s) || e.After(s.Truncate(time.Hour).Add(time.Hour)) || e.After(asOf) {
					t.Fatalf("%s: slice %v-%v crosses a clock hour or AsOf", table, s, e)
				}
				k := [3]string{r[1].(string), r[2].(string), ""}
				if table == tTaskTimline {
					k[2] = r[col(table, "job_run_id")].(string)
				}
				id := r[3].(string)
				if o, ok := owner[id]; ok && o != k {
					t.Fatalf("%s: run_id %s in %v and %v", table, id, o, k)
				}
				owner[id] = k
				byRun[id] = append(byRun[id], r)
			}
			for id, rows := range byRun {
				slices.SortFunc(rows, func(a, b []any) int { return a[ps].(time.Time).Compare(b[ps].(time.Time)) })
				for i, r := range rows {
					end := r[pe].(time.Time)
					if i+1 < len(rows) {
						next := rows[i+1][ps].(time.Time)
						contiguous := next.Equal(end)
						if contiguous && r[rs] != nil {
							t.Fatalf("%s %s: a slice before the end carries result_state", table, id)
						}
						if !contiguous && (r[rs] == nil || next.Before(end)) {
							t.Fatalf("%s %s: gap after a slice without result_state", table, id)
						}
						if contiguous && !end.Equal(end.Truncate(time.Hour)) {
							t.Fatalf("%s %s: slice ends at %v, not at a clock hour", table, id, end)
						}
					} else if r[rs] == nil && !end.Equal(asOf) {
						t.Fatalf("%s %s: last slice has no result_state", table, id)
					}
				}
			}
			if table == tRunTimeline {
				for _, r := range d.c.rows[tTaskTimline] {
					if _, ok := owner[r[3].(string)]; ok {
						t.Fatalf("task run id %s is also a job run id", r[3])
					}
				}
			}
		}
	}
}

func TestCleanInvariants(t *testing.T) {
	d := fixture(t, "example.yaml", exampleConfig(false))
	v := newView(d)
	for _, rn := range v.runs {
		if rn.finished && isFailure(rn.state) && rn.end.After(asOf.Add(-quietAge)) {
			t.Errorf("clean run %s of %s failed at %v", rn.id, rn.job, rn.end)
		}
	}
	// Every SLA job meets its deadline on every listed day of the history.
	r := v.rules
	checked := 0
	for i := range r.slas {
		sl := &r.slas[i]
		if !sl.hasDeadline {
			continue
		}
		for _, k := range v.selected(i) {
			for day := v.first.AddDate(0, 0, 1); !day.After(v.today); day = day.AddDate(0, 0, 1) {
				if !sl.days[day.Weekday()] || v.atOffset(day, sl.deadline).After(asOf) {
					continue
				}
				checked++
				if !v.deadlineMet(k, day, sl.deadline) {
					t.Errorf("SLA %s: job %v missed %s on %s", sl.name, k, fmtOffset(sl.deadline), day.Format(time.DateOnly))
				}
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d deadline days checked", checked)
	}
	// The jobs under an SLA with max_duration never come close to it.
	for i := range r.slas {
		sl := &r.slas[i]
		for _, k := range v.selected(i) {
			for _, rn := range v.byJob[k] {
				if sl.maxDur > 0 && rn.finished && rn.end.Sub(rn.start) > sl.maxDur*8/10 {
					t.Errorf("SLA %s: run %s lasted %v", sl.name, rn.id, rn.end.Sub(rn.start))
				}
				if rn.finished && rn.state != "SUCCEEDED" {
					t.Errorf("SLA %s: run %s ended %s", sl.name, rn.id, rn.state)
				}
			}
		}
	}
}

// TestDetectors runs the alert families' definitions in Go: the clean data
// trips none, and the incident data trips exactly the recorded incidents.
func TestDetectors(t *testing.T) {
	type variant struct {
		spec string
		cfg  Config
	}
	edgeAt := time.Date(2026, 6, 10, 20, 5, 0, 0, time.UTC) // 01:35 in Kolkata
	variants := []variant{
		{"example.yaml", exampleConfig(false)},
		{"example.yaml", exampleConfig(true)},
		{"edge.yaml", Config{Seed: 3, Jobs: 40, AsOf: edgeAt}},
		{"edge.yaml", Config{Seed: 3, Jobs: 40, AsOf: edgeAt, Incidents: true}},
		{"dst.yaml", Config{Seed: 5, Jobs: 20, AsOf: time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC), NodeGrainMinutes: 60}},
		{"dst.yaml", Config{Seed: 5, Jobs: 20, AsOf: time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC), NodeGrainMinutes: 60, Incidents: true}},
	}
	if !testing.Short() {
		for _, name := range []string{"example.yaml", "multi_workspace.yaml", "minimal.yaml"} {
			for i, at := range []time.Time{
				time.Date(2026, 3, 30, 7, 15, 0, 0, time.UTC),  // the Monday after Europe's DST switch
				time.Date(2026, 3, 8, 23, 50, 0, 0, time.UTC),  // a Sunday, just before New York's switch
				time.Date(2026, 5, 2, 0, 40, 0, 0, time.UTC),   // early in a month
				time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), // the twin tests' AsOf
			} {
				for _, inc := range []bool{false, true} {
					variants = append(variants, variant{name, Config{Seed: int64(11 + i), Jobs: 80, AsOf: at, NodeGrainMinutes: 30, Incidents: inc}})
				}
			}
		}
	}
	for _, vr := range variants {
		t.Run(fmt.Sprintf("%s/%s/incidents=%v", vr.spec, vr.cfg.AsOf.Format("2006-01-02T15:04"), vr.cfg.Incidents), func(t *testing.T) {
			d := fixture(t, vr.spec, vr.cfg)
			v := newView(d)
			fired := v.detect()
			want := map[string]bool{}
			for _, in := range d.incidents {
				want[in.Family+" "+incidentKey(in)] = true
			}
			for k := range want {
				if !fired[k] {
					t.Errorf("incident not detected: %s", k)
				}
			}
			for _, k := range slices.Sorted(maps.Keys(fired)) {
				if !want[k] {
					t.Errorf("false alarm: %s (%s)", k, v.why[k])
				}
			}
			for _, e := range d.c.errs {
				t.Error(e)
			}
			wantN := map[string]int{"example.yaml": 7, "edge.yaml": 5, "minimal.yaml": 4} // edge: its last budget team has no jobs
			if berlin, _ := time.LoadLocation("Europe/Berlin"); vr.spec == "example.yaml" && vr.cfg.AsOf.In(berlin).Hour() < 4 {
				wantN[vr.spec] = 6 // no room today for a run past its 2 h max_duration plus 2 h
			}
			if n, ok := wantN[vr.spec]; ok && vr.cfg.Incidents && len(d.incidents) != n {
				t.Errorf("%d incidents, want %d", len(d.incidents), n)
			}
		})
	}
}

// TestRowsScaleLinearly generates the example at 100 and 400 jobs: every
// row is type-checked, keys are unique, all seven incidents are injected at
// both sizes, and each per-job table grows about 4x (a quadratic step, or
// a table that stops growing, fails), while the per-account ones do not.
func TestRowsScaleLinearly(t *testing.T) {
	s := loadSpec(t, "example.yaml")
	gen := func(jobs int) *collector {
		c := newCollector(true, false)
		c.keys = map[string]map[string]bool{tUsage: {}, tRunTimeline: {}, tTaskTimline: {}, tJobs: {}, tClusters: {}}
		inc, err := Generate(s, Config{Seed: 2, Jobs: jobs, Days: 30, AsOf: asOf, NodeGrainMinutes: 60, Incidents: true}, c)
		if err != nil {
			t.Fatal(err)
		}
		if len(inc) != 7 {
			t.Errorf("%d jobs: %d incidents, want 7", jobs, len(inc))
		}
		for _, e := range c.errs {
			t.Errorf("%d jobs: %s", jobs, e)
		}
		if c.dupKeys != 0 {
			t.Errorf("%d jobs: %d duplicate keys", jobs, c.dupKeys)
		}
		return c
	}
	small, big := gen(100), gen(400)
	for _, table := range []string{tJobs, tJobTasks, tRunTimeline, tTaskTimline, tUsage, tClusters, tNodes} {
		ratio := float64(big.counts[table]) / float64(small.counts[table])
		if ratio < 3 || ratio > 5.3 {
			t.Errorf("%s: %d rows at 100 jobs, %d at 400 (x%.2f, want about 4)", table, small.counts[table], big.counts[table], ratio)
		}
	}
	for _, table := range []string{tWorkspaces, tPrices} {
		if small.counts[table] != big.counts[table] || small.counts[table] == 0 {
			t.Errorf("%s: %d rows at 100 jobs, %d at 400", table, small.counts[table], big.counts[table])
		}
	}
}

func TestConfigErrors(t *testing.T) {
	s := loadSpec(t, "minimal.yaml")
	for _, cfg := range []Config{{}, {AsOf: asOf, Jobs: -1}, {AsOf: asOf, NodeGrainMinutes: -5}} {
		if _, err := Generate(s, cfg, newCollector(false, false)); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
	failing := sinkFunc(func(string, []any) error { return fmt.Errorf("disk full") })
	if _, err := Generate(s, Config{AsOf: asOf, Jobs: 3, Days: 2}, failing); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("sink error not returned: %v", err)
	}
}

// sinkFunc is a Sink that drops plans: it sees every table but node_timeline.
type sinkFunc func(string, []any) error

func (f sinkFunc) Append(t string, r []any) error    { return f(t, r) }
func (f sinkFunc) Plan(string, []model.Column) error { return nil }
func (f sinkFunc) Expand(string, string) error       { return nil }

func TestNameFor(t *testing.T) {
	for _, expr := range []string{"^platform_", "(?i)report", "^(ingest|raw)_", "^ingest_.*_hourly$", "^ds_[a-z]+$", `^etl\d{2}_`} {
		re := mustCompile(t, expr)
		name, ok := nameFor(re, "orders_load")
		if !ok || !re.MatchString(name) {
			t.Errorf("%s: %q %v", expr, name, ok)
		}
	}
}

// countingSink counts the rows the generator makes in Go (plans included,
// node_timeline not: its expansion is the engine's work).
type countingSink struct{ n int }

func (c *countingSink) Append(string, []any) error        { c.n++; return nil }
func (c *countingSink) Plan(string, []model.Column) error { return nil }
func (c *countingSink) Expand(string, string) error       { return nil }

func BenchmarkGenerate(b *testing.B) {
	s := loadSpec(b, "example.yaml")
	for b.Loop() {
		var c countingSink
		if _, err := Generate(s, Config{Seed: 1, Jobs: 1000, Days: 90, AsOf: asOf, NodeGrainMinutes: 60, Incidents: true}, &c); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(c.n), "rows/op")
	}
}

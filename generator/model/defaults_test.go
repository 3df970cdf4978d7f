package model

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbmon/dbmon/generator/spec"
)

// schemaNode is one subschema met while walking the spec's JSON Schema from
// its root, with the spec path it describes.
type schemaNode struct {
	path   string
	schema map[string]any
}

// walkSchema visits every subschema reachable from the root of the spec's
// JSON Schema, following $ref, with its spec path: property names joined by
// dots, [] for list items, * for map values. "properties" holds names, not
// keywords, so a property named default is not mistaken for the keyword.
func walkSchema(t *testing.T, visit func(schemaNode)) {
	t.Helper()
	var root map[string]any
	if err := json.Unmarshal(spec.SchemaJSON, &root); err != nil {
		t.Fatal(err)
	}
	defs, _ := root["$defs"].(map[string]any)
	join := func(path, name string) string {
		if path == "" {
			return name
		}
		return path + "." + name
	}
	var walk func(path string, s map[string]any, depth int)
	walk = func(path string, s map[string]any, depth int) {
		if depth > 40 {
			t.Fatalf("%s: $ref cycle in the schema", path)
		}
		visit(schemaNode{path, s})
		if ref, ok := s["$ref"].(string); ok {
			name, found := strings.CutPrefix(ref, "#/$defs/")
			def, ok := defs[name].(map[string]any)
			if !found || !ok {
				t.Fatalf("%s: $ref %s names no $defs entry", path, ref)
			}
			walk(path, def, depth+1)
		}
		if props, ok := s["properties"].(map[string]any); ok {
			for name, sub := range props {
				walk(join(path, name), sub.(map[string]any), depth+1)
			}
		}
		if items, ok := s["items"].(map[string]any); ok {
			walk(path+"[]", items, depth+1)
		}
		if ap, ok := s["additionalProperties"].(map[string]any); ok {
			walk(join(path, "*"), ap, depth+1)
		}
		for _, kw := range []string{"then", "else"} {
			if sub, ok := s[kw].(map[string]any); ok {
				walk(path, sub, depth+1)
			}
		}
		for _, kw := range []string{"oneOf", "anyOf", "allOf"} {
			if list, ok := s[kw].([]any); ok {
				for _, sub := range list {
					walk(path, sub.(map[string]any), depth+1)
				}
			}
		}
	}
	walk("", root, 0)
}

// asJSON turns a table value into what encoding/json decodes the schema's
// value into, so 3 and 3.0 compare equal and []string equals []any.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDefaultsMatchSchema: every `default` of the JSON Schema is the table's
// entry for that spec path, and every entry of the table is a `default` in
// the schema.
func TestDefaultsMatchSchema(t *testing.T) {
	inSchema := map[string]any{}
	walkSchema(t, func(n schemaNode) {
		if v, ok := n.schema["default"]; ok {
			if prev, dup := inSchema[n.path]; dup && !reflect.DeepEqual(prev, v) {
				t.Errorf("%s: the schema has two defaults, %v and %v", n.path, prev, v)
			}
			inSchema[n.path] = v
		}
	})
	if len(inSchema) < 30 {
		t.Fatalf("found only %d defaults in the schema: %v", len(inSchema), inSchema)
	}
	table := SpecDefaults()
	for path, v := range inSchema {
		want, ok := table[path]
		switch {
		case !ok:
			t.Errorf("the schema's default of %s (%v) is not in specDefaults", path, v)
		case !reflect.DeepEqual(asJSON(t, want), v):
			t.Errorf("%s: the schema's default is %v, specDefaults has %v", path, v, want)
		}
	}
	for path, v := range table {
		if _, ok := inSchema[path]; !ok {
			t.Errorf("specDefaults has %s = %v, which the schema does not declare as a default", path, v)
		}
	}
}

// defaultWords finds "Default: X." in a description, and pairs such as
// "threshold_sigma 3" in "Defaults: schedule 24h, threshold_sigma 3."
var (
	defaultWord  = regexp.MustCompile(`\bDefault: ([^ ,]+)\.(?:\s|$)`)
	defaultsList = regexp.MustCompile(`\bDefaults: ([^.]+)\.`)
)

// TestDescriptionsSayTheDefault: a description that names a default in
// words names the table's value, so the text editors show cannot go stale.
func TestDescriptionsSayTheDefault(t *testing.T) {
	table := SpecDefaults()
	show := func(v any) string { return fmt.Sprint(v) }
	checked := 0
	walkSchema(t, func(n schemaNode) {
		desc, _ := n.schema["description"].(string)
		if m := defaultWord.FindStringSubmatch(desc); m != nil {
			if v, ok := table[n.path]; ok && !slices.Contains([]string{"[]string"}, fmt.Sprintf("%T", v)) {
				checked++
				if show(v) != m[1] {
					t.Errorf("%s: the description says Default: %s, the default is %v", n.path, m[1], v)
				}
			}
		}
		if m := defaultsList.FindStringSubmatch(desc); m != nil {
			for _, pair := range strings.Split(m[1], ", ") {
				name, word, ok := strings.Cut(pair, " ")
				v, known := table[n.path+"."+name]
				if !ok || !known {
					continue // prose such as "notify team (or the SLA's notify)"
				}
				checked++
				if show(v) != strings.Fields(word)[0] {
					t.Errorf("%s: the description says %s %s, the default is %v", n.path, name, word, v)
				}
			}
		}
	})
	if checked < 20 {
		t.Errorf("checked only %d defaults named in descriptions", checked)
	}
}

// TestBuildAppliesDefaults: a spec that sets nothing optional gets the
// table's values.
func TestBuildAppliesDefaults(t *testing.T) {
	b := load(t, base+`
destinations: {ops: {emails: [ops@example.com]}}
teams: [{name: a, match: {job_name: "^a"}, notify: [ops]}]
slas: [{name: s, jobs: {names: [j]}, deadline: "06:00"}]
kpis: [{name: k, source: job_summary_daily, value: "sum(total_runs)", target: {max: 1}, notify: [ops]}]
`)
	d := SpecDefaults()
	got := map[string]any{
		"bundle.timezone":          b.Timezone,
		"unassigned_team":          b.Unassigned,
		"dashboards":               b.Dashboards,
		"pricing.currency":         b.Monitor.Pricing.Currency,
		"pricing.discount_percent": b.Monitor.Pricing.DiscountPercent,
		"pricing.exchange_rate":    b.Monitor.Pricing.ExchangeRate,
		"slas[].window_days":       b.Monitor.SLAs[0].WindowDays,
		"slas[].severity":          b.Monitor.SLAs[0].Severity,
		"kpis[].format":            b.Monitor.KPIs[0].Format,
		"kpis[].window_days":       b.Monitor.KPIs[0].WindowDays,
		"kpis[].dashboard":         b.Monitor.KPIs[0].Dashboard,
		"retention.detail_days":    b.Retention.DetailDays,
		"retention.aggregate_days": b.Retention.AggregateDays,
		"collector.enabled":        b.Collector.Enabled,
		"collector.lookback_days":  b.Collector.LookbackDays,

		"alerts.cost_anomaly.threshold_sigma":     b.Monitor.Alerts.CostSigma,
		"alerts.cost_anomaly.baseline_days":       b.Monitor.Alerts.CostBaselineDays,
		"alerts.cost_anomaly.min_daily_cost":      b.Monitor.Alerts.CostMinDaily,
		"alerts.duration_anomaly.threshold_sigma": b.Monitor.Alerts.DurationSigma,
		"alerts.duration_anomaly.baseline_runs":   b.Monitor.Alerts.DurationBaseline,
		"alerts.cluster_idle.max_cpu_percent":     b.Monitor.Alerts.IdleMaxCPU,
		"alerts.cluster_idle.min_idle_minutes":    b.Monitor.Alerts.IdleMinMinutes,
		"alerts.budget.warn_at_percent":           b.Monitor.Alerts.BudgetWarnPct,
	}
	for path, v := range got {
		if !reflect.DeepEqual(asJSON(t, v), asJSON(t, d[path])) {
			t.Errorf("%s: Build gives %v, the default is %v", path, v, d[path])
		}
	}
	for path, secs := range map[string]int{"slas[].grace": b.Monitor.SLAs[0].GraceSecs,
		"alerts.lateness.jobs": b.Monitor.Alerts.JobsLatenessSecs, "alerts.lateness.billing": b.Monitor.Alerts.BillingLatenessSecs} {
		want, err := time.ParseDuration(d[path].(string))
		if err != nil || secs != int(want.Seconds()) {
			t.Errorf("%s: Build gives %d s, the default is %v", path, secs, d[path])
		}
	}
	if len(b.Monitor.SLAs[0].Days) != 7 {
		t.Errorf("slas[].days: Build gives %v, want every day", b.Monitor.SLAs[0].Days)
	}
	crons := map[string]string{}
	for _, f := range Families {
		var after time.Duration
		if f.Name == "cost_anomaly" || f.Name == "budget" { // they wait for complete billing
			late, _ := time.ParseDuration(d["alerts.lateness.billing"].(string))
			after = late
		}
		c, err := spec.AlertCronAfter(d["alerts."+f.Name+".schedule"].(string), d["refresh"].(string), after)
		if err != nil {
			t.Fatal(err)
		}
		crons[f.Name] = c
	}
	seen := map[string]bool{}
	for _, a := range b.Alerts {
		if want, ok := crons[a.Family]; ok {
			seen[a.Family] = true
			if a.Cron != want {
				t.Errorf("alert %s: cron %s, the family's default schedule is %s", a.Key, a.Cron, want)
			}
			if a.Family == "monitor_health" { // about dbmon itself: monitor_notify
				if len(a.Teams) > 0 || len(a.ExcludeTeams) > 0 {
					t.Errorf("alert %s is routed by team; monitor_health goes to monitor_notify", a.Key)
				}
				continue
			}
			if len(a.Teams) == 0 && len(a.ExcludeTeams) == 0 {
				t.Errorf("alert %s is not routed by team, the default notify", a.Key)
			}
		}
	}
	for _, f := range Families {
		if !seen[f.Name] {
			t.Errorf("family %s has no alert: is it not enabled by default?", f.Name)
		}
	}
	if collector, _ := spec.ScheduleCron(d["collector.schedule"].(string)); b.Collector.Cron != collector {
		t.Errorf("collector cron %s, want %s", b.Collector.Cron, collector)
	}
	if refresh, _ := spec.ScheduleCron(d["refresh"].(string)); b.RefreshJob.Cron != refresh {
		t.Errorf("refresh cron %s, want %s", b.RefreshJob.Cron, refresh)
	}
}

package synth

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// SpecSize sizes a synthetic spec: an organisation of Teams teams, SLAs SLAs,
// KPIs KPIs and Workspaces workspaces.
type SpecSize struct {
	Teams, SLAs, KPIs, Workspaces int
	Seed                          uint64
}

// Standard sizes of the benchmarks and the nesting-depth test.
var (
	SpecOrdinary = SpecSize{Teams: 50, SLAs: 200, KPIs: 20, Workspaces: 10, Seed: 1}
	SpecLarge    = SpecSize{Teams: 500, SLAs: 2000, KPIs: 200, Workspaces: 50, Seed: 1}
)

// kpiShapes are KPI (source, value, by) triples over the documented tables.
var kpiShapes = [][3]string{
	{"job_runs_enriched", "sum(case when is_failure then cost_net end) / nullif(sum(cost_net), 0)", "team"},
	{"job_runs_enriched", "sum(cost_net) / nullif(count_if(is_success), 0)", "workspace"},
	{"job_summary_daily", "max(p95_duration_seconds)", "job"},
	{"sla_compliance", "avg(case when met then 1.0 else 0.0 end)", ""},
	{"cost_by_workspace", "sum(cost_net)", "team"},
	{"failure_classified", "count(*)", "team"},
}

// BigSpec writes a valid spec of the given size as YAML, deterministically
// from its seed: teams use every kind of match rule, SLAs every selector and
// check, KPIs every source shape, and alerts route to teams and fixed keys.
// It exists to try dbmon at the size of a real organisation.
func BigSpec(z SpecSize) []byte {
	r := rand.New(rand.NewPCG(z.Seed, 0x5eed))
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("# Synthetic spec: %d teams, %d SLAs, %d KPIs, %d workspaces (seed %d).\n", z.Teams, z.SLAs, z.KPIs, z.Workspaces, z.Seed)
	w("version: 1\nbundle:\n  name: bigco-monitoring\n  catalog: ops\n  schema: job_monitoring\n")
	w("  warehouse: Shared Serverless\n  timezone: Europe/Berlin\n")
	ws := make([]string, z.Workspaces)
	if z.Workspaces > 0 {
		w("workspaces:\n")
		for i := range ws {
			ws[i] = fmt.Sprintf("%016d", 1000000000000000+int64(i)*7919)
			w("  - {id: %q, name: ws-%02d}\n", ws[i], i)
		}
	}
	w("pricing:\n  discount_percent: 10\n  sku_discounts:\n")
	for _, p := range []string{"PREMIUM", "PREMIUM_JOBS", "PREMIUM_JOBS_SERVERLESS", "PREMIUM_ALL_PURPOSE", "PREMIUM_SQL"} {
		w("    %s: %d\n", p, 10+r.IntN(20))
	}
	w("destinations:\n  platform-slack: {destination_id: 7a1b2c3d-0000-0000-0000-000000000001}\n")
	w("  pager: {destination_id: 7a1b2c3d-0000-0000-0000-000000000002}\n")
	for i := range z.Teams {
		w("  team-%03d-email: {emails: [team-%03d@bigco.example]}\n", i, i)
	}
	w("monitor_notify: [platform-slack]\n")
	if z.Teams > 0 {
		w("teams:\n")
	}
	for i := range z.Teams {
		w("  - name: team-%03d\n    match:\n", i)
		switch i % 5 {
		case 0:
			w("      tags: {team: t%03d}\n", i)
		case 1:
			w("      job_name: \"^t%03d_\"\n", i)
		case 2:
			w("      run_as: [svc-%03d@bigco.example]\n", i)
		case 3:
			w("      tags: {cost_center: cc%03d, env: prod}\n", i)
			if len(ws) > 0 {
				w("      workspaces: [%q]\n", ws[i%len(ws)])
			}
		case 4:
			w("      job_name: \"(?i)^t%03d-\"\n      run_as: [svc-%03d@bigco.example]\n", i, i)
		}
		w("    notify: [team-%03d-email]\n", i)
		if i%3 == 0 {
			w("    monthly_budget: %d\n", 1000+r.IntN(20)*500)
		}
	}
	if z.SLAs > 0 {
		w("slas:\n")
	}
	for i := range z.SLAs {
		w("  - name: sla-%04d\n", i)
		switch i % 5 {
		case 0:
			w("    jobs: {names: [t%03d_daily_%d]}\n", i%max(z.Teams, 1), i)
		case 1:
			w("    jobs: {name_regex: \"^t%03d_.*_hourly$\"}\n", i%max(z.Teams, 1))
		case 2:
			w("    jobs: {job_ids: [\"%d\"]}\n", 900000000000000+i)
		case 3:
			w("    jobs: {tags: {tier: gold, team: t%03d}}\n", i%max(z.Teams, 1))
		case 4:
			if z.Teams > 0 {
				w("    jobs: {team: team-%03d}\n", i%z.Teams)
			} else {
				w("    jobs: {names: [job_%d]}\n", i)
			}
		}
		switch i % 3 {
		case 0:
			w("    deadline: \"%02d:%02d\"\n    days: [mon, tue, wed, thu, fri]\n", 5+r.IntN(5), 15*r.IntN(4))
		case 1:
			w("    max_duration: %dm\n", 30+r.IntN(90))
		case 2:
			w("    min_success_rate: %d\n    window_days: %d\n", 90+r.IntN(10), 7+r.IntN(24))
		}
		w("    severity: %s\n", []string{"critical", "warning", "info"}[i%3])
		if i%10 == 0 {
			w("    notify: [pager]\n")
		}
	}
	if z.KPIs > 0 {
		w("kpis:\n")
	}
	for i := range z.KPIs {
		s := kpiShapes[i%len(kpiShapes)]
		w("  - name: kpi_%03d\n    title: KPI %d\n    source: %s\n    value: %q\n", i, i, s[0], s[1])
		if s[2] != "" {
			w("    by: %s\n", s[2])
		}
		w("    window_days: %d\n", 7+r.IntN(24))
		if i%2 == 0 {
			w("    target: {max: %d}\n    notify: [platform-slack]\n", 10+r.IntN(1000))
		}
	}
	w("alerts:\n  job_failure: {schedule: after_refresh, notify: [team, pager]}\n  cost_anomaly: {schedule: 24h, notify: [platform-slack]}\n")
	w("failure_classes:\n  - {name: oom, error_regex: \"(?i)OutOfMemory|exit code 137\"}\n")
	w("  - {name: capacity, termination_codes: [CLOUD_FAILURE, CLUSTER_ERROR]}\n")
	return []byte(b.String())
}

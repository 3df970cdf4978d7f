package synth

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/dbmon/dbmon/generator/model"
)

// This file covers what is billed by compute rather than by job: prices,
// usage rows, shared all-purpose clusters, node utilization, and the team
// budget scaling.

type span struct{ start, end time.Time }

type price struct {
	start, end time.Time // end zero = current
	list       float64
}

// sharedCluster is an all-purpose cluster: one that jobs share (billed to the
// cluster, not to the jobs) or one people use interactively.
type sharedCluster struct {
	idx          int
	ws           int
	id, name     string
	owner        string
	interactive  bool
	created      time.Time
	changed      time.Time
	node         nodeType
	workers      int
	tags         map[string]string
	autoTerm     int64
	hour         int // shared: local hour its jobs' daily batch starts
	busy         []span
	idleIncident bool
}

// idleTail is how long a shared cluster idles after its last task before it
// stops; a few such tails a day stay far below any idle-minutes threshold.
const idleTail = 10 * time.Minute

var (
	azureOnDemand      = map[string]any{"availability": "ON_DEMAND_AZURE"}
	usageMetaFields    = structFields(tUsage, "usage_metadata")
	featuresJobs       = filled(structFields(tUsage, "product_features"), map[string]any{"jobs_tier": "CLASSIC", "is_serverless": false, "is_photon": false})
	featuresServerless = filled(structFields(tUsage, "product_features"), map[string]any{"is_serverless": true, "is_photon": true, "performance_target": "PERFORMANCE_OPTIMIZED"})
	featuresAllPurpose = filled(structFields(tUsage, "product_features"), map[string]any{"is_serverless": false, "is_photon": false})
)

// structFields lists the top-level field names of a declared struct column,
// so struct values always carry exactly the twin's fields.
func structFields(table, column string) []string {
	t, _ := model.SystemTableByName(table)
	c, ok := t.Column(column)
	if !ok || !strings.HasPrefix(c.Type, "struct<") {
		panic("synth: no struct column " + table + "." + column)
	}
	var out []string
	depth, start := 0, len("struct<")
	inner := c.Type[:len(c.Type)-1]
	for i := start; i <= len(inner); i++ {
		if i < len(inner) {
			switch inner[i] {
			case '<':
				depth++
			case '>':
				depth--
			}
			if inner[i] != ',' || depth > 0 {
				continue
			}
		}
		name, _, _ := strings.Cut(inner[start:i], ":")
		out = append(out, strings.TrimSpace(name))
		start = i + 1
	}
	return out
}

func filled(fields []string, set map[string]any) map[string]any {
	m := make(map[string]any, len(fields))
	for _, f := range fields {
		m[f] = set[f]
	}
	return m
}

// emptyUsageMeta has every usage_metadata field, all NULL; cloning it is far
// cheaper than building a 28-key map per run.
var emptyUsageMeta = filled(usageMetaFields, nil)

func usageMeta(kv ...any) map[string]any {
	m := maps.Clone(emptyUsageMeta)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func (g *gen) planPrices() {
	long := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	long = minTime(long, utcDate(g.start).AddDate(-1, 0, 0))
	// A jobs-compute price change 40 days back: older than any cost baseline
	// by default, and cost must be priced at the usage time to be right.
	change := utcDate(g.asOf).AddDate(0, 0, -40)
	g.prices = map[string][]price{
		"PREMIUM_JOBS_COMPUTE":                        {{long, change, 0.28}, {change, time.Time{}, 0.30}},
		"PREMIUM_JOBS_SERVERLESS_COMPUTE_" + g.region: {{long, time.Time{}, 0.45}},
		"PREMIUM_ALL_PURPOSE_COMPUTE":                 {{long, time.Time{}, 0.55}},
		"PREMIUM_DLT_CORE_COMPUTE":                    {{long, time.Time{}, 0.30}},
		"PREMIUM_SQL_PRO_COMPUTE":                     {{long, time.Time{}, 0.55}},
	}
}

func (g *gen) listPrice(sku string, t time.Time) float64 {
	for _, p := range g.prices[sku] {
		if !t.Before(p.start) && (p.end.IsZero() || t.Before(p.end)) {
			return p.list
		}
	}
	return 0
}

func (g *gen) netPrice(sku string, t time.Time) float64 {
	return g.listPrice(sku, t) * (1 - g.r.discountPercent(sku)/100)
}

// usage writes one hourly usage row and, rarely and only for old hours, a
// retraction and restatement of it.
func (g *gen) usage(ws, sku any, h time.Time, dbu float64, tags map[string]string, meta, idMeta, features map[string]any, origin string) {
	day, asOfDay := utcDate(h), utcDate(g.asOf)
	row := func(qty float64, kind string, ingested time.Time) {
		g.records++
		r := g.row(tUsage)
		r[usageCol.AccountID], r[usageCol.Workspace], r[usageCol.RecordID] = accountID, ws, recordID(g.cfg.Seed, g.records)
		r[usageCol.SKU], r[usageCol.Cloud], r[usageCol.Unit], r[usageCol.UsageType] = sku, "AZURE", "DBU", "COMPUTE_TIME"
		r[usageCol.Start], r[usageCol.End], r[usageCol.Date] = h, h.Add(time.Hour), day
		r[usageCol.Tags], r[usageCol.Quantity], r[usageCol.Metadata], r[usageCol.Identity] = tags, qty, meta, idMeta
		r[usageCol.RecordType], r[usageCol.Ingestion] = enum(kind), minTime(ingested, asOfDay)
		r[usageCol.Origin], r[usageCol.Features] = enum(origin), features
		g.emit(tUsage, r)
	}
	row(dbu, "ORIGINAL", day.AddDate(0, 0, 1))
	if u := g.noise.Float64(); u < 0.005 && h.Before(g.asOf.Add(-g.quiet()-24*time.Hour)) {
		later := day.AddDate(0, 0, 2+g.noise.IntN(3))
		row(-dbu, "RETRACTION", later)
		row(dbu*(0.97+0.06*g.noise.Float64()), "RESTATEMENT", later)
	}
}

// planClusters creates the shared all-purpose clusters, puts the
// all-purpose jobs on them, and one interactive cluster per workspace.
func (g *gen) planClusters() {
	for wi := range g.ws {
		var ap []*job
		for _, j := range g.jobs {
			if j.compute == allPurpose && j.ws == wi {
				ap = append(ap, j)
			}
		}
		var shared []*sharedCluster
		if len(ap) > 0 {
			for c := range min(2+g.rng.IntN(2), len(ap)) {
				sc := g.newCluster(wi, false, fmt.Sprintf("shared-jobs-%d", c+1))
				sc.hour = 1 + 3*c
				shared = append(shared, sc)
			}
		}
		// A cluster's jobs start 7 minutes apart and each runs longer than
		// that, so the cluster is up once a day, idling only after the batch.
		for i, j := range ap {
			sc := shared[i%len(shared)]
			m := sc.hour*60 + (i/len(shared))*7
			j.ap, j.hour, j.minute = sc, m/60, m%60
		}
		g.newCluster(wi, true, "exploration-"+strings.ToLower(strings.ReplaceAll(g.ws[wi].name, " ", "-")))
	}
	// The idle incident takes an interactive cluster that the team rules
	// leave unassigned, if any, so every way of assigning it a team agrees.
	var pick *sharedCluster
	for _, c := range g.clusters {
		if c.interactive && (pick == nil || (g.clusterTeam(c) == g.r.unassigned && g.clusterTeam(pick) != g.r.unassigned)) {
			pick = c
		}
	}
	if pick != nil && g.familyOn("cluster_idle") {
		pick.idleIncident = true
	}
}

func (g *gen) newCluster(ws int, interactive bool, name string) *sharedCluster {
	r := g.rng
	c := &sharedCluster{idx: len(g.clusters), ws: ws, name: name, interactive: interactive,
		owner: g.email(humans[r.IntN(len(humans))]), node: nodeTypes[1+r.IntN(2)], workers: 2 + r.IntN(3)}
	c.created = g.start.Add(-time.Duration(100+r.IntN(300)) * 24 * time.Hour).Add(time.Duration(r.IntN(86400)) * time.Second)
	c.changed = g.start.Add(time.Duration((0.2 + 0.6*r.Float64()) * float64(g.asOf.Sub(g.start)))).Truncate(time.Second)
	c.id = clusterID(c.created, runKey(100_000+c.idx, 0))
	if interactive {
		c.tags = map[string]string{"purpose": "exploration"}
	} else {
		c.tags, c.autoTerm = map[string]string{"purpose": "shared-jobs"}, int64(idleTail/time.Minute)
	}
	g.clusters = append(g.clusters, c)
	return c
}

// clusterTeam applies the team rules to a cluster as if it were a job with
// the cluster's workspace, name, owner and tags.
func (g *gen) clusterTeam(c *sharedCluster) string {
	return g.r.team(&identity{workspaceID: g.ws[c.ws].id, name: c.name, runAs: c.owner, creator: c.owner, tags: c.tags})
}

type session struct {
	up0, up1 time.Time
	busy     []span
}

// sessions is when the cluster was up: for a shared cluster, its jobs' task
// spans merged, each followed by idleTail; for an interactive one, a
// morning and often an afternoon session on weekdays.
func (g *gen) sessions(c *sharedCluster) []session {
	var out []session
	add := func(s session) {
		if !s.up0.Before(g.asOf) {
			return
		}
		s.up1 = minTime(s.up1, g.asOf)
		for i := range s.busy {
			s.busy[i].end = minTime(s.busy[i].end, g.asOf)
		}
		out = append(out, s)
	}
	if !c.interactive {
		slices.SortFunc(c.busy, func(a, b span) int { return a.start.Compare(b.start) })
		var cur *session
		for _, b := range c.busy {
			if cur != nil && !b.start.After(cur.up1) {
				last := &cur.busy[len(cur.busy)-1]
				if b.start.After(last.end) {
					cur.busy = append(cur.busy, b)
				} else {
					last.end = maxTime(last.end, b.end)
				}
				cur.up1 = maxTime(cur.up1, b.end.Add(idleTail))
				continue
			}
			if cur != nil {
				add(*cur)
			}
			cur = &session{up0: b.start, up1: b.end.Add(idleTail), busy: []span{b}}
		}
		if cur != nil {
			add(*cur)
		}
		return out
	}
	r := rand.New(rand.NewPCG(uint64(g.cfg.Seed), 0x696e7465<<32|uint64(c.idx)))
	yesterday := g.today.AddDate(0, 0, -1)
	for d := g.first; !d.After(g.today); d = d.AddDate(0, 0, 1) {
		s1, b1 := r.IntN(90), 60+r.IntN(91)
		u2, s2, b2 := r.Float64(), r.IntN(60), 45+r.IntN(76)
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			t := g.at(d, 9, s1)
			add(session{up0: t, up1: t.Add(time.Duration(b1)*time.Minute + idleTail), busy: []span{{t, t.Add(time.Duration(b1) * time.Minute)}}})
			if u2 < 0.5 {
				t = g.at(d, 13, 30+s2)
				add(session{up0: t, up1: t.Add(time.Duration(b2)*time.Minute + idleTail), busy: []span{{t, t.Add(time.Duration(b2) * time.Minute)}}})
			}
		}
		if c.idleIncident && g.cfg.Incidents && d.Equal(yesterday) {
			t := g.at(d, 19, 0)
			add(session{up0: t, up1: t.Add(3 * time.Hour)}) // up, nobody working
		}
	}
	return out
}

func (g *gen) emitShared(c *sharedCluster) {
	ws := g.ws[c.ws].id
	source := "UI"
	for i, at := range []time.Time{c.created, c.changed} {
		r := g.clusterRow(ws, c.id, c.name, c.owner, c.created, c.node.name, c.workers, c.tags, source)
		r[clusterCol.AutoTerm], r[clusterCol.DBR] = c.autoTerm, []string{"14.3.x-scala2.12", "15.4.x-scala2.12"}[i]
		r[clusterCol.ChangeTime], r[clusterCol.ChangeDate], r[clusterCol.SecurityMode] = at, utcDate(at), "USER_ISOLATION"
		g.emit(tClusters, r)
	}
	sessions := g.sessions(c)
	// usage: one row per clock hour, summing every session in it
	meta := usageMeta("cluster_id", c.id, "node_type", c.node.name)
	idMeta := map[string]any{"run_as": nil, "created_by": nil, "owned_by": c.owner, "run_by": nil}
	rate := float64(1+c.workers) * c.node.dbu
	var hour time.Time
	var up time.Duration
	flush := func() {
		if up > 0 && !hour.Add(time.Hour).After(g.asOf) {
			g.usage(any(ws), "PREMIUM_ALL_PURPOSE_COMPUTE", hour, rate*up.Hours(), c.tags, meta, idMeta, featuresAllPurpose, "ALL_PURPOSE")
		}
	}
	for _, s := range sessions {
		for h := s.up0.Truncate(time.Hour); h.Before(s.up1); h = h.Add(time.Hour) {
			if !h.Equal(hour) {
				flush()
				hour, up = h, 0
			}
			up += overlap(s.up0, s.up1, h, h.Add(time.Hour))
		}
	}
	flush()
	for i, s := range sessions {
		g.nodeRows(ws, c.id, i, c.workers, c.node.name, s.up0, s.up1, s.busy, false)
	}
	if c.idleIncident && g.cfg.Incidents {
		d := g.today.AddDate(0, 0, -1)
		g.incidents = append(g.incidents, Incident{Kind: "idle_cluster", Family: "cluster_idle", WorkspaceID: ws,
			ClusterID: c.id, Team: g.clusterTeam(c), Date: d, At: g.at(d, 19, 0),
			Detail: fmt.Sprintf("All-purpose cluster %s (%s) was up 3 hours from 19:00 local with no task runs at 1-4%% CPU.", c.name, c.id)})
	}
}

// clusterRow is a clusters row with what every cluster's rows share.
func (g *gen) clusterRow(ws, id, name, owner string, created time.Time, node string, workers int, tags map[string]string, source string) []any {
	r := g.row(tClusters)
	r[clusterCol.AccountID], r[clusterCol.WorkspaceID], r[clusterCol.ClusterID] = accountID, ws, id
	r[clusterCol.Name], r[clusterCol.Owner], r[clusterCol.CreateTime] = name, owner, created
	r[clusterCol.DriverType], r[clusterCol.WorkerType], r[clusterCol.Workers] = node, node, int64(workers)
	r[clusterCol.ElasticDisk], r[clusterCol.Tags], r[clusterCol.Source], r[clusterCol.Azure] = true, tags, source, azureOnDemand
	return r
}

// scaleBudgets sets each budget team's DBU scale from its exact daily net
// cost, with the budget finding's forecast: the net cost of the complete
// local days of a month / the days elapsed x the days in the month, where
// the latest complete day is the last that ended alerts.lateness.billing
// ago. A team's forecast on the last day complete at AsOf is half its
// budget, and on no complete day of the history above 90% of the warning.
//
// With incidents, the last budget team in spec order overruns: its costliest
// job on that last complete day (a job no other incident uses) runs for the
// first time that day, and costs enough to lift the month's forecast to
// halfway between the warning and the budget. So the day the forecast first
// crosses the warning is the incident's day, and the budget alert can know
// it once that day is complete.
func (g *gen) scaleBudgets() {
	lateness, warn := g.budgetRule()
	last := g.date(g.asOf.Add(-lateness)).AddDate(0, 0, -1) // the last complete day at AsOf
	daily := map[*job]map[time.Time]float64{}
	for _, j := range g.jobs {
		if j.budget {
			daily[j] = g.dailyNetCost(j)
		}
	}
	teamDaily := func(team string, skip *job) map[time.Time]float64 {
		out := map[time.Time]float64{}
		for _, j := range g.jobs { // in job order: the sums are the same to the last bit every time
			if j.team == team && j != skip {
				for d, c := range daily[j] {
					out[d] += c
				}
			}
		}
		return out
	}
	over := -1
	for i, t := range g.r.teams {
		if t.hasBudget {
			over = i
		}
	}
	if over >= 0 && (!g.familyOn("budget") || last.Before(g.first)) {
		over = -1
	}
	for i, t := range g.r.teams {
		if !t.hasBudget {
			continue
		}
		var newJob *job
		if i == over && g.cfg.Incidents {
			newJob = g.overrunJob(t.name, last, daily)
		}
		base := teamDaily(t.name, newJob)
		forecast := forecastAt(base, last)
		if forecast == 0 {
			continue
		}
		highest := 0.0
		for d := g.first; !d.After(last); d = d.AddDate(0, 0, 1) {
			highest = max(highest, forecastAt(base, d))
		}
		scale := min(0.5*t.budget/forecast, 0.9*warn/100*t.budget/highest)
		newScale := 0.0
		var newCost map[time.Time]float64
		if newJob != nil {
			g.newJob, g.newFrom = newJob, g.at(last, 0, 0)
			newCost = g.dailyNetCost(newJob) // at scale 1, without its runs before newFrom
			if added := forecastAt(newCost, last); added > 0 {
				newScale = ((warn+100)/2/100*t.budget - scale*forecast) / added
			} else {
				g.newJob, g.newFrom, newJob = nil, time.Time{}, nil
			}
		}
		for _, j := range g.jobs {
			if j.team == t.name {
				j.scale = scale
			}
		}
		if newJob == nil {
			continue
		}
		newJob.scale = newScale
		before := scale * forecastAt(base, last.AddDate(0, 0, -1)) / t.budget * 100
		g.incidents = append(g.incidents, Incident{Kind: "budget_overrun", Family: "budget", Team: t.name, Date: last,
			At: g.at(last.AddDate(0, 0, 1), 0, 0),
			Detail: fmt.Sprintf("Job %s of team %s ran for the first time on %s and cost %.0f that day: the %s forecast rose from %.0f%% to %.0f%% of the monthly budget of %.0f, over the %.0f%% warning.",
				newJob.name, t.name, last.Format(time.DateOnly), newScale*newCost[last], last.Format("January"), before, (warn+100)/2, t.budget, warn)})
	}
}

// budgetRule is the spec's alerts.lateness.billing and
// alerts.budget.warn_at_percent, or their defaults.
func (g *gen) budgetRule() (time.Duration, float64) {
	defaults := model.SpecDefaults()
	billing, _ := defaults["alerts.lateness.billing"].(string)
	warn, _ := defaults["alerts.budget.warn_at_percent"].(float64)
	if l := g.s.Alerts.Lateness; l != nil && l.Billing != "" {
		billing = l.Billing
	}
	if b := g.s.Alerts.Budget; b != nil && b.WarnAtPercent != nil {
		warn = *b.WarnAtPercent
	}
	lateness, _ := time.ParseDuration(billing) // validated with the spec
	return lateness, warn
}

// overrunJob is the team's costliest job on day that no other incident
// uses, or nil; a job whose id another workspace's job shares only when
// there is no other (costs are per workspace and job, so either works).
func (g *gen) overrunJob(team string, day time.Time, daily map[*job]map[time.Time]float64) *job {
	for _, reused := range []bool{false, true} {
		var pick *job
		for _, j := range g.jobs {
			if j.team == team && j.budget && j.role == noRole && !j.underSLA() && j.reused == reused && j != g.longRun &&
				daily[j][day] > 0 && (pick == nil || daily[j][day] > daily[pick][day]) {
				pick = j
			}
		}
		if pick != nil {
			return pick
		}
	}
	return nil
}

// dailyNetCost is the job's net cost per local day at its current scale,
// priced as the pipeline prices it (the hour's net price).
func (g *gen) dailyNetCost(j *job) map[time.Time]float64 {
	out := map[time.Time]float64{}
	runs, _ := g.planRuns(j)
	sku := j.sku(g)
	for i := range runs {
		for k := range runs[i].attempts {
			g.attemptHours(j, &runs[i].attempts[k], func(h time.Time, dbu float64) {
				out[g.date(h)] += dbu * g.netPrice(sku, h)
			})
		}
	}
	return out
}

// forecastAt is the budget finding's month-end forecast on complete day d:
// the cost of d's month up to d / d's day of the month x the days in it.
func forecastAt(daily map[time.Time]float64, d time.Time) float64 {
	sum := 0.0
	for day := time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC); !day.After(d); day = day.AddDate(0, 0, 1) {
		sum += daily[day]
	}
	return sum / float64(d.Day()) * float64(time.Date(d.Year(), d.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day())
}

// emitStatic writes the workspaces and the prices of the SKUs in use.
func (g *gen) emitStatic() {
	for _, w := range g.ws {
		r := g.row(tWorkspaces)
		r[workspaceCol.AccountID], r[workspaceCol.WorkspaceID], r[workspaceCol.Name] = accountID, w.id, w.name
		r[workspaceCol.URL], r[workspaceCol.CreateTime], r[workspaceCol.Status] = w.url, w.created, "RUNNING"
		g.emit(tWorkspaces, r)
	}
	used := map[string]bool{"PREMIUM_ALL_PURPOSE_COMPUTE": true} // interactive clusters always bill
	// the monitor's own jobs and pipeline (monitor.go)
	used["PREMIUM_JOBS_SERVERLESS_COMPUTE_"+g.region], used["PREMIUM_DLT_CORE_COMPUTE"] = true, true
	for _, j := range g.jobs {
		if j.compute != allPurpose {
			used[j.sku(g)] = true
		}
	}
	for _, sku := range slices.Sorted(maps.Keys(g.prices)) {
		if !used[sku] {
			continue
		}
		for _, p := range g.prices[sku] {
			var end any
			if !p.end.IsZero() {
				end = p.end
			}
			r := g.row(tPrices)
			r[priceCol.AccountID], r[priceCol.Start], r[priceCol.End], r[priceCol.SKU] = accountID, p.start, end, sku
			r[priceCol.Cloud], r[priceCol.Currency], r[priceCol.Unit] = "AZURE", "USD", "DBU"
			r[priceCol.Pricing] = map[string]any{"default": p.list, "promotional": map[string]any{"default": nil},
				"effective_list": map[string]any{"default": p.list}}
			g.emit(tPrices, r)
		}
	}
}

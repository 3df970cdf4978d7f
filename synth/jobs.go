package synth

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dbmon/dbmon/generator/spec"
)

// This file plans the jobs: who owns them, which SLAs select them, when they
// run, on what compute, and how their definitions changed over time.

type workspace struct {
	id, name, url string
	created       time.Time
}

type schedKind int

const (
	hourly schedKind = iota
	every4h
	daily
	adhoc
)

type computeKind int

const (
	jobCluster computeKind = iota
	serverless
	allPurpose
)

// taskTarget is what a serverless job's tasks drive: themselves, a pipeline
// update (usage billed to the pipeline, with dlt_update_id) or a SQL
// warehouse (usage billed to the warehouse), so the cost attribution of
// pipeline and warehouse tasks has data.
type taskTarget int

const (
	ownCompute taskTarget = iota
	pipelineTask
	warehouseTask
)

// role marks a job an incident will use; such jobs get no random noise, so
// the incident is the only thing unusual about them.
type role int

const (
	noRole role = iota
	roleSLAMiss
	roleStreak
	roleSpike
	roleOutlier
)

type task struct {
	key  string
	deps []string
	cum  float64 // share of the run's work done when this task ends
}

type nodeType struct {
	name string
	dbu  float64 // DBU per hour per node
}

var nodeTypes = []nodeType{
	{"Standard_DS3_v2", 0.75}, {"Standard_DS4_v2", 1.5}, {"Standard_D8ds_v5", 2}, {"Standard_E8ds_v4", 2},
	{"Standard_E16ds_v4", 4},
}

type job struct {
	idx int
	identity
	ws      int
	fixedID bool
	reused  bool

	team        string
	budget      bool // the team has a monthly budget
	slas        []int
	deadline    time.Duration // earliest deadline of its SLAs
	hasDeadline bool
	maxDur      time.Duration // tightest max_duration of its SLAs, 0 = none
	role        role
	missSLA     int
	missDate    time.Time

	sched        schedKind
	hour, minute int           // local start (daily) or minute past the hour
	lead         time.Duration // deadline jobs start this long before the deadline
	dur          time.Duration // nominal; each run is within ±10%
	setup        time.Duration
	timeout      time.Duration
	compute      computeKind
	runsOn       taskTarget // pipelineTask and warehouseTask jobs are serverless jobs billed elsewhere
	ap           *sharedCluster
	node         nodeType
	workers      int
	rate         float64 // DBU per hour before the team's budget scale
	scale        float64
	tasks        []task

	created  time.Time
	versions []time.Time // change times, ascending; the last is the latest row
	oldName  string
	renamed  time.Time
	deleted  time.Time

	// shared row values
	box         struct{ ws, jobID, name, sku any } // boxed once, used on millions of rows
	trigger     map[string]any
	params      map[string]string
	description any
	deployment  any
	health      any
	idMeta      map[string]any
}

func (j *job) underSLA() bool { return len(j.slas) > 0 }

// noisy jobs may fail, be repaired, renamed or deleted.
func (j *job) noisy() bool { return !j.underSLA() && j.role == noRole }

var (
	nouns = []string{"orders", "customers", "revenue", "inventory", "clickstream", "payments", "sessions",
		"products", "suppliers", "ledger", "campaigns", "events", "shipments", "invoices", "accounts", "leads",
		"returns", "pricing", "forecast", "churn"}
	verbs  = []string{"ingest", "load", "refresh", "aggregate", "export", "snapshot", "dedupe", "enrich", "sync", "publish", "transform", "score"}
	humans = []string{"anna.schmidt", "ben.carter", "chloe.martin", "david.kim", "elena.rossi", "farid.haddad",
		"grace.liu", "hugo.fischer", "ines.garcia", "jonas.weber"}
	taskKeys = []string{"ingest", "clean", "transform", "validate", "aggregate", "publish", "export", "notify"}
)

func (g *gen) planWorkspaces() {
	for i, w := range g.s.Workspaces {
		name := w.Name
		if name == "" {
			name = "workspace-" + strconv.Itoa(i+1)
		}
		g.ws = append(g.ws, workspace{id: w.ID, name: name})
	}
	if len(g.ws) == 0 {
		for _, name := range []string{"analytics-prod", "analytics-dev"} {
			id := strconv.FormatInt(1_000_000_000_000_000+g.rng.Int64N(9_000_000_000_000_000), 10)
			g.ws = append(g.ws, workspace{id: id, name: name})
		}
	}
	for i := range g.ws {
		w := &g.ws[i]
		w.url = fmt.Sprintf("https://adb-%s.%d.azuredatabricks.net", w.id, 1+hash64(w.id)%19)
		w.created = g.start.AddDate(0, 0, -400-g.rng.IntN(500))
	}
	g.domain = "example.com"
	var emails []string
	for _, t := range g.s.Teams {
		emails = append(emails, t.Match.RunAs...)
	}
	for _, k := range slices.Sorted(maps.Keys(g.s.Destinations)) {
		emails = append(emails, g.s.Destinations[k].Emails...)
	}
	for _, e := range emails {
		if _, d, ok := strings.Cut(e, "@"); ok && d != "" {
			g.domain = d
			break
		}
	}
	// Serverless SKUs name the region; guess it from the spec's timezone.
	g.region = "US_EAST"
	for _, pr := range [][2]string{{"Europe/", "EUROPE_WEST"}, {"Asia/", "ASIA_SOUTHEAST"}, {"Australia/", "AUSTRALIA_EAST"}} {
		if strings.HasPrefix(g.loc.String(), pr[0]) {
			g.region = pr[1]
		}
	}
}

func (g *gen) wsIndex(id string) int {
	return slices.IndexFunc(g.ws, func(w workspace) bool { return w.id == id })
}

// wsFor lists the generated workspaces a team's jobs may live in.
func (g *gen) wsFor(t *teamRule) []string {
	var out []string
	for _, w := range g.ws {
		if len(t.workspaces) == 0 || slices.Contains(t.workspaces, w.id) {
			out = append(out, w.id)
		}
	}
	return out
}

func (g *gen) baseName() string {
	base := nouns[g.rng.IntN(len(nouns))] + "_" + verbs[g.rng.IntN(len(verbs))]
	name := base
	for n := 2; g.usedNames[name]; n++ {
		name = base + "_" + strconv.Itoa(n)
	}
	return name
}

func (g *gen) adhocName(k int) string {
	noun := nouns[g.rng.IntN(len(nouns))]
	forms := []string{"adhoc_report_%[2]d", "tmp_%[1]s_analysis_%[2]d", "test_%[1]s_%[2]d", "backfill_%[1]s_%[2]d"}
	return fmt.Sprintf(forms[g.rng.IntN(len(forms))], noun, k)
}

func (g *gen) email(user string) string { return user + "@" + g.domain }

// aim builds a job identity meant for team t (name, regex, tags and
// workspace may be imposed) and reports whether the oracle agrees.
func (g *gen) aim(t *teamRule, k int, name string, re *regexp.Regexp, tags map[string]string, ws string) (identity, bool) {
	wsList := g.wsFor(t)
	if len(wsList) == 0 || (ws != "" && !slices.Contains(wsList, ws)) {
		return identity{}, false
	}
	if ws == "" {
		ws = wsList[k%len(wsList)]
	}
	if name == "" {
		base, ok := g.baseName(), true
		name = base
		switch {
		case re != nil:
			name, ok = nameFor(re, base)
		case t.re != nil:
			name, ok = nameFor(t.re, base)
		}
		if !ok {
			return identity{}, false
		}
	}
	if t.re != nil && !t.re.MatchString(name) {
		return identity{}, false
	}
	merged := map[string]string{}
	for _, k := range t.tagKeys {
		merged[k] = t.tags[k]
	}
	if len(t.tags) == 0 {
		merged["owner"] = t.name
	}
	for _, key := range slices.Sorted(maps.Keys(tags)) {
		if v, ok := t.tags[key]; ok && v != tags[key] {
			return identity{}, false // the team's tags and the SLA's disagree
		}
		merged[key] = tags[key]
	}
	creator := g.email(humans[(k+g.rng.IntN(3))%len(humans)])
	runAs := g.email("svc-" + t.name)
	if len(t.runAs) > 0 {
		runAs = t.runAs[k%len(t.runAs)]
	}
	a := identity{workspaceID: ws, name: name, runAs: runAs, creator: creator, tags: merged}
	return a, g.r.team(&a) == t.name
}

// unmatched builds an identity no team should claim (retrying a few
// variations; the oracle has the last word).
func (g *gen) unmatched(k int, name string, re *regexp.Regexp, tags map[string]string, ws string) identity {
	var a identity
	for try := range 8 {
		nm := name
		if nm == "" {
			nm = g.adhocName(k + try)
			if re != nil {
				if n, ok := nameFor(re, g.baseName()); ok {
					nm = n
				}
			}
		}
		w := ws
		if w == "" {
			w = g.ws[(k+try)%len(g.ws)].id
		}
		user := g.email(humans[(k+try)%len(humans)])
		t := map[string]string{}
		if len(tags) == 0 && (k+try)%2 == 0 {
			t["purpose"] = "adhoc"
		}
		for _, key := range slices.Sorted(maps.Keys(tags)) {
			t[key] = tags[key]
		}
		a = identity{workspaceID: w, name: nm, runAs: user, creator: user, tags: t}
		if g.r.team(&a) == g.r.unassigned {
			break
		}
	}
	return a
}

func (g *gen) addJob(a identity, id string) *job {
	j := &job{idx: len(g.jobs), identity: a, fixedID: id != "", scale: 1}
	j.jobID = id
	j.ws = g.wsIndex(a.workspaceID)
	g.usedNames[a.name] = true
	g.jobs = append(g.jobs, j)
	return j
}

// addSeed adds a job for SLA i, owned by some team if one can claim it.
func (g *gen) addSeed(i int, name, id string, re *regexp.Regexp, tags map[string]string) {
	ws := ""
	if id != "" {
		ws = g.ws[0].id
	}
	for k := range g.r.teams {
		t := &g.r.teams[(i+k)%len(g.r.teams)]
		if a, ok := g.aim(t, i+k, name, re, tags, ws); ok {
			g.addJob(a, id)
			return
		}
	}
	g.addJob(g.unmatched(len(g.jobs), name, re, tags, ws), id)
}

func (g *gen) addTeamJob(t *teamRule, k int) {
	var a identity
	ok := false
	for try := 0; try < 6 && !ok; try++ {
		a, ok = g.aim(t, k+try, "", nil, nil, "")
	}
	if a.name == "" { // not even an identity: fall back to an unmatched job
		a = g.unmatched(k, "", nil, nil, "")
	}
	g.addJob(a, "")
}

func (g *gen) planJobs() {
	// Jobs the SLAs name exactly come first: they must exist.
	for i, sl := range g.r.slas {
		for _, n := range sl.names {
			if !g.usedNames[n] {
				g.addSeed(i, n, "", nil, nil)
			}
		}
		for _, id := range sl.jobIDs {
			if !slices.ContainsFunc(g.jobs, func(j *job) bool { return j.jobID == id }) {
				g.addSeed(i, "", id, nil, nil)
			}
		}
	}
	var feasible []*teamRule
	for i := range g.r.teams {
		t := &g.r.teams[i]
		if len(g.wsFor(t)) == 0 {
			continue
		}
		if t.re != nil {
			if _, ok := nameFor(t.re, "x"); !ok {
				continue
			}
		}
		feasible = append(feasible, t)
	}
	for k := range max(0, g.cfg.Jobs-len(g.jobs)) {
		if len(feasible) == 0 || k%5 == 4 { // a fifth of the jobs belong to no team
			g.addJob(g.unmatched(k, "", nil, nil, ""), "")
		} else {
			g.addTeamJob(feasible[(k-k/5)%len(feasible)], k)
		}
	}
	g.assignIDs()
	g.resolve()
	// Selectors that match by pattern need at least one job each.
	for i := range g.r.slas {
		sl := &g.r.slas[i]
		if slices.ContainsFunc(g.jobs, func(j *job) bool { return slices.Contains(j.slas, i) }) {
			continue
		}
		switch {
		case sl.re != nil:
			g.addSeed(i, "", "", sl.re, nil)
		case len(sl.tags) > 0:
			g.addSeed(i, "", "", nil, sl.tags)
		case sl.team == g.r.unassigned:
			g.addJob(g.unmatched(len(g.jobs), "", nil, nil, ""), "")
		case sl.team != "":
			if t := g.r.teamRule(sl.team); t != nil {
				g.addTeamJob(t, len(g.jobs))
			}
		}
		g.assignIDs()
		g.resolve()
	}
	g.reuseID()
	g.resolve()
	g.pickRoles()
	g.planCompute()
	g.planClusters() // before planRows: a shared cluster fixes its jobs' start times
	noisy := 0
	for _, j := range g.jobs {
		if j.noisy() && !j.reused && j.compute != allPurpose {
			noisy++
		}
	}
	share := func(p float64) float64 { return min(0.5, p*float64(len(g.jobs))/float64(max(noisy, 1))) }
	for _, j := range g.jobs {
		g.planHistory(j, share(0.03), share(0.02))
		g.planRows(j)
	}
}

// assignIDs numbers jobs per workspace, avoiding ids the spec names.
func (g *gen) assignIDs() {
	reserved := map[string]bool{}
	for _, sl := range g.r.slas {
		for _, id := range sl.jobIDs {
			reserved[id] = true
		}
	}
	used := map[string]bool{}
	for _, j := range g.jobs {
		used[j.workspaceID+"/"+j.jobID] = j.jobID != ""
	}
	next := make([]int, len(g.ws))
	for _, j := range g.jobs {
		for j.jobID == "" {
			id := numericID(uint64(j.ws+1)<<36 | uint64(next[j.ws]))
			next[j.ws]++
			if !reserved[id] && !used[j.workspaceID+"/"+id] {
				j.jobID = id
				used[j.workspaceID+"/"+id] = true
			}
		}
	}
}

// reuseID gives a job in the second workspace the id of one in the first:
// job ids are unique only within a workspace, and the data should prove
// that every consumer keys on (workspace_id, job_id).
func (g *gen) reuseID() {
	if len(g.ws) < 2 {
		return
	}
	pick := func(ws int) *job {
		for _, j := range g.jobs {
			if j.ws == ws && !j.fixedID && !j.underSLA() {
				return j
			}
		}
		return nil
	}
	a, b := pick(0), pick(1)
	if a == nil || b == nil {
		return
	}
	for _, j := range g.jobs {
		if j.ws == 1 && j.jobID == a.jobID {
			return
		}
	}
	b.jobID, a.reused, b.reused = a.jobID, true, true
}

// resolve applies the oracle: team, budget and SLA membership.
func (g *gen) resolve() {
	for _, j := range g.jobs {
		j.team = g.r.team(&j.identity)
		t := g.r.teamRule(j.team)
		j.budget = t != nil && t.hasBudget
		j.slas, j.hasDeadline, j.deadline, j.maxDur = nil, false, 0, 0
		for i := range g.r.slas {
			sl := &g.r.slas[i]
			if !g.r.selects(i, &j.identity, j.team) {
				continue
			}
			j.slas = append(j.slas, i)
			if sl.hasDeadline && (!j.hasDeadline || sl.deadline < j.deadline) {
				j.deadline, j.hasDeadline = sl.deadline, true
			}
			if sl.maxDur > 0 && (j.maxDur == 0 || sl.maxDur < j.maxDur) {
				j.maxDur = sl.maxDur
			}
		}
	}
}

// pickRoles chooses the jobs the incidents will use. The choice is made
// with or without Config.Incidents, so a clean dataset and an incident
// dataset differ only by the incidents.
func (g *gen) pickRoles() {
	// sla_deadline_miss: the first deadline SLA with a job whose schedule
	// that deadline drives.
	for i := range g.r.slas {
		sl := &g.r.slas[i]
		if !sl.hasDeadline || !g.familyOn("sla_breach") {
			continue
		}
		d := g.today.AddDate(0, 0, -1)
		for !sl.days[d.Weekday()] {
			d = d.AddDate(0, 0, -1)
		}
		if d.Before(g.first) || g.atOffset(d, sl.deadline).Add(90*time.Minute).After(g.asOf) {
			continue
		}
		if j := g.firstJob(func(j *job) bool {
			return slices.Contains(j.slas, i) && j.deadline == sl.deadline && sl.deadline >= 30*time.Minute
		}); j != nil {
			j.role, j.missSLA, j.missDate = roleSLAMiss, i, d
			break
		}
	}
	free := func(j *job) bool { return j.noisy() && !j.reused }
	named := func(j *job) bool { return free(j) && j.team != g.r.unassigned }
	pick := func(r role, prefer, ok func(*job) bool) {
		if !g.familyOn(map[role]string{roleStreak: "job_failure", roleOutlier: "duration_anomaly", roleSpike: "cost_anomaly"}[r]) {
			return
		}
		j := g.randomJob(prefer)
		if j == nil {
			j = g.randomJob(ok)
		}
		if j != nil {
			j.role = r
		}
	}
	// Job-level incidents prefer owned jobs, so team routing is exercised;
	// the cost spike prefers a team without a budget, so the budget stays put.
	pick(roleStreak, named, free)
	pick(roleOutlier, named, free)
	noBudget := func(j *job) bool { return free(j) && !j.budget }
	pick(roleSpike, func(j *job) bool { return noBudget(j) && j.team == g.r.unassigned }, noBudget)
}

// familyOn reports whether the spec leaves an alert family enabled; an
// incident nobody would detect is not injected.
func (g *gen) familyOn(family string) bool {
	a := g.s.Alerts
	var ra *spec.RoutedAlert
	switch family {
	case "sla_breach":
		ra = a.SLABreach
	case "job_failure":
		ra = a.JobFailure
	case "cost_anomaly":
		if a.CostAnomaly != nil {
			ra = &a.CostAnomaly.RoutedAlert
		}
	case "duration_anomaly":
		if a.DurationAnomaly != nil {
			ra = &a.DurationAnomaly.RoutedAlert
		}
	case "cluster_idle":
		if a.ClusterIdle != nil {
			ra = &a.ClusterIdle.RoutedAlert
		}
	case "budget":
		if a.Budget != nil {
			ra = &a.Budget.RoutedAlert
		}
	}
	return ra == nil || ra.Enabled == nil || *ra.Enabled
}

func (g *gen) firstJob(ok func(*job) bool) *job {
	for _, j := range g.jobs {
		if ok(j) {
			return j
		}
	}
	return nil
}

func (g *gen) randomJob(ok func(*job) bool) *job {
	var c []*job
	for _, j := range g.jobs {
		if ok(j) {
			c = append(c, j)
		}
	}
	if len(c) == 0 {
		return nil
	}
	return c[g.rng.IntN(len(c))]
}

func minutes(lo, hi int, r interface{ IntN(int) int }) time.Duration {
	return time.Duration(lo+r.IntN(hi-lo+1)) * time.Minute
}

// planCompute gives each job its compute, schedule, duration, rate and tasks.
func (g *gen) planCompute() {
	eligibleAP := 0
	for _, j := range g.jobs {
		if j.noisy() && !j.budget && !j.reused {
			eligibleAP++
		}
	}
	// About a tenth of all jobs run on shared all-purpose clusters; only jobs
	// of teams without a budget, so budget math never depends on how a
	// cluster's cost is apportioned.
	pAP := 0.0
	if eligibleAP > 0 {
		pAP = min(0.5, 0.1*float64(len(g.jobs))/float64(eligibleAP))
	}
	nServerless := 0
	for _, j := range g.jobs {
		r := g.rng
		j.compute = jobCluster
		u := r.Float64()
		switch {
		case j.role != noRole && j.role != roleSLAMiss:
		case j.noisy() && !j.budget && !j.reused && u < pAP:
			j.compute = allPurpose
		case r.Float64() < 0.25:
			j.compute = serverless
		}
		// Some serverless jobs run a pipeline task or SQL tasks instead
		// (chosen by count, not by the random stream, so every other job
		// stays as it was). Each has its own pipeline or warehouse, whose cost
		// dbmon attributes back to the job alone, so the budget pass, which
		// prices the job's own usage, stays exact.
		if j.compute == serverless && !j.reused {
			nServerless++
			switch {
			case nServerless%3 == 1:
				j.runsOn = pipelineTask
			case nServerless%3 == 2:
				j.runsOn = warehouseTask
			}
		}
		j.node = nodeTypes[r.IntN(4)]
		j.workers = 2 + r.IntN(7)
		j.rate = float64(1+j.workers) * j.node.dbu
		j.setup = time.Duration(60+r.IntN(91)) * time.Second
		if j.compute == serverless {
			j.rate = 2 + 14*r.Float64()
			j.setup = time.Duration(8+r.IntN(23)) * time.Second
		}

		j.sched = daily
		switch {
		case j.hasDeadline:
			start := max(j.deadline-90*time.Minute, 5*time.Minute)
			j.hour, j.minute, j.lead = int(start/time.Hour), int(start%time.Hour/time.Minute), j.deadline-start
			j.dur = min(minutes(20, 50, r), time.Duration(float64(j.lead)*0.6/1.1))
		case j.role == roleOutlier:
			j.sched, j.minute, j.dur = hourly, r.IntN(60), minutes(6, 10, r)
		case j.role == roleStreak:
			j.sched, j.minute, j.dur = every4h, r.IntN(60), minutes(10, 40, r)
		case j.role == roleSpike:
			j.hour, j.minute, j.dur = 1+r.IntN(5), r.IntN(60), minutes(140, 170, r)
		case j.compute == allPurpose:
			j.dur = minutes(15, 50, r) // start time set with its cluster
		default:
			switch x := r.Float64(); {
			case x < 0.12:
				j.sched, j.minute, j.dur = hourly, r.IntN(60), minutes(4, 25, r)
			case x < 0.30:
				j.sched, j.minute, j.dur = every4h, r.IntN(60), minutes(10, 60, r)
			case x < 0.80:
				j.dur = minutes(10, 75, r)
				if r.Float64() < 0.15 {
					j.dur = minutes(120, 180, r) // long runs span several hourly slices
				}
			default:
				j.sched, j.dur = adhoc, minutes(5, 45, r)
			}
			if j.sched == daily {
				// start early enough to end before local midnight, so a day's
				// cost is one run
				latest := 24*60 - int(float64(j.dur/time.Minute)*1.1) - 20
				m := 30 + r.IntN(max(1, latest-30))
				j.hour, j.minute = m/60, m%60
			}
		}
		if j.maxDur > 0 {
			// every run (nominal +10%) stays below 80% of max_duration
			j.dur = min(j.dur, time.Duration(float64(j.maxDur)*0.8/1.1*0.97))
		}
		j.dur = max(j.dur.Round(time.Second), 30*time.Second)
		j.setup = min(j.setup, j.dur/3)
		j.timeout = (2*j.dur + 5*time.Minute - 1).Truncate(5 * time.Minute)
		if j.role == roleOutlier {
			j.timeout = 0 // no timeout: the outlier run is allowed to drag on
		}
		if j.role == roleSpike {
			// The cost-spike job is a big daily job whose normal net cost is
			// well above min_daily_cost. Its DBU rate is set for that; the
			// node count stays plausible (and bounds node_timeline rows).
			j.node = nodeTypes[4]
			j.rate = max(3*g.minDailyCost, 150) / (g.netPrice("PREMIUM_JOBS_COMPUTE", g.asOf) * j.dur.Hours())
			j.workers = min(max(int(j.rate/j.node.dbu), 2), 40)
		}
		n := 1 + r.IntN(4)
		first := r.IntN(len(taskKeys))
		weights := make([]float64, n)
		total := 0.0
		for i := range weights {
			weights[i] = 1 + 3*r.Float64()
			total += weights[i]
		}
		cum := 0.0
		for i := range n {
			t := task{key: taskKeys[(first+i)%len(taskKeys)], cum: 1}
			cum += weights[i] / total
			if i < n-1 {
				t.cum = cum
			}
			if i > 0 {
				t.deps = []string{j.tasks[i-1].key}
			}
			j.tasks = append(j.tasks, t)
		}
	}
}

// planHistory dates the job's one to three versions; about 3% of the jobs
// are renamed and 2% deleted inside the history window (only jobs nothing
// else depends on: no SLA, no incident, no shared cluster).
func (g *gen) planHistory(j *job, pRename, pDelete float64) {
	r := g.rng
	j.created = g.start.Add(-time.Duration(10+r.IntN(600))*24*time.Hour - time.Duration(r.IntN(86400))*time.Second)
	var changes []time.Time // versions after the creation
	for range r.IntN(3) {
		changes = append(changes, j.created.Add(time.Duration(r.Float64()*float64(g.asOf.Sub(j.created)-time.Hour))).Truncate(time.Second))
	}
	window := g.asOf.Sub(g.start)
	uRename, uDelete, uAt, uLate := r.Float64(), r.Float64(), r.Float64(), r.Float64()
	eligible := j.noisy() && !j.reused && j.compute != allPurpose
	switch {
	case eligible && uRename < pRename && window > 4*24*time.Hour:
		old := "legacy_" + j.name
		a := j.identity
		a.name = old
		unchanged := g.r.team(&a) == j.team
		for i := range g.r.slas {
			unchanged = unchanged && !g.r.selects(i, &a, j.team)
		}
		if unchanged {
			j.oldName = old
			j.renamed = g.start.Add(time.Duration((0.1 + 0.7*uAt) * float64(window-2*24*time.Hour))).Truncate(time.Second)
			if len(changes) == 0 {
				changes = append(changes, j.renamed)
			} else {
				changes[0] = j.renamed
			}
		}
	case eligible && uDelete < pDelete && window > 8*24*time.Hour:
		j.deleted = g.start.Add(time.Duration((0.3 + 0.6*uAt) * float64(window-4*24*time.Hour))).Truncate(time.Second)
		changes = slices.DeleteFunc(changes, func(t time.Time) bool { return !t.Before(j.deleted) })
		changes = append(changes[:min(len(changes), 1)], j.deleted)
	}
	slices.SortFunc(changes, func(a, b time.Time) int { return a.Compare(b) })
	// The newer columns (run_as_user_name, ...) are only on rows changed
	// after newColumnsFrom: a version after it keeps team matching working
	// on every job's latest row.
	latest := j.created
	if len(changes) > 0 {
		latest = changes[len(changes)-1]
	}
	if latest.Before(newColumnsFrom) && g.asOf.After(newColumnsFrom.Add(time.Hour)) && j.deleted.IsZero() {
		late := newColumnsFrom.Add(time.Duration(uLate * float64(g.asOf.Sub(newColumnsFrom)-time.Hour))).Truncate(time.Second)
		if i := len(changes) - 1; i >= 0 && !changes[i].Equal(j.renamed) {
			changes[i] = late
		} else {
			changes = append(changes, late)
		}
	}
	j.versions = append([]time.Time{j.created}, changes...)
}

// planRows prepares the values every row of the job shares.
func (g *gen) planRows(j *job) {
	if j.sched != adhoc {
		var cron string
		switch j.sched {
		case hourly:
			cron = fmt.Sprintf("0 %d * * * ?", j.minute)
		case every4h:
			cron = fmt.Sprintf("0 %d 0/4 * * ?", j.minute)
		default:
			cron = fmt.Sprintf("0 %d %d * * ?", j.minute, j.hour)
		}
		j.trigger = map[string]any{"file_arrival": nil, "periodic": nil, "continuous": nil, "table_update": nil,
			"schedule": map[string]any{"quartz_cron_expression": cron, "timezone_id": g.loc.String()}}
	}
	if j.team != g.r.unassigned {
		j.description = "Maintained by " + j.team + "."
		if j.idx%3 == 0 {
			j.deployment = map[string]any{"kind": "BUNDLE",
				"metadata_file_path": "/Workspace/Shared/.bundle/" + j.team + "/prod/state/metadata.json"}
		}
	}
	if j.idx%4 == 1 {
		j.params = map[string]string{"env": "prod"}
	}
	if j.maxDur > 0 {
		j.health = []map[string]any{{"metric": "RUN_DURATION_SECONDS", "operator": "GREATER_THAN", "value": int64(j.maxDur / time.Second)}}
	}
	j.idMeta = map[string]any{"run_as": j.runAs, "created_by": nil, "owned_by": nil, "run_by": nil}
	j.box.ws, j.box.jobID, j.box.name, j.box.sku = g.ws[j.ws].id, j.jobID, j.name, j.sku(g)
}

// emitDefinition writes the job's SCD2 rows and its tasks' rows.
func (g *gen) emitDefinition(j *job) {
	ws := g.ws[j.ws].id
	for i, v := range j.versions {
		latest := i == len(j.versions)-1
		name := j.name
		if !j.renamed.IsZero() && v.Before(j.renamed) {
			name = j.oldName
		}
		var del any
		if latest && !j.deleted.IsZero() {
			del = j.deleted
		}
		// newer columns: NULL on old rows, but the latest row always carries
		// the identities team matching needs
		populated := !v.Before(newColumnsFrom) || latest
		pop := func(x any) any {
			if populated {
				return x
			}
			return nil
		}
		var trigger, triggerType any
		if j.trigger != nil {
			trigger, triggerType = j.trigger, "CRON"
		}
		var health any
		if j.health != nil {
			health = j.health
		}
		r := g.row(tJobs)
		r[jobCol.AccountID], r[jobCol.WorkspaceID], r[jobCol.JobID], r[jobCol.Name] = accountID, ws, j.jobID, name
		r[jobCol.Description], r[jobCol.CreatorID], r[jobCol.Tags] = j.description, principalID(j.creator), j.tags
		r[jobCol.ChangeTime], r[jobCol.DeleteTime], r[jobCol.RunAs] = v, del, principalID(j.runAs)
		r[jobCol.Trigger], r[jobCol.TriggerType] = pop(trigger), pop(triggerType)
		r[jobCol.RunAsUserName], r[jobCol.CreatorName], r[jobCol.Paused] = pop(j.runAs), pop(j.creator), pop(false)
		r[jobCol.TimeoutSeconds], r[jobCol.HealthRules] = pop(int64(j.timeout/time.Second)), pop(health)
		r[jobCol.Deployment], r[jobCol.CreateTime] = pop(j.deployment), pop(j.created)
		g.emit(tJobs, r)
	}
	for _, t := range j.tasks {
		deps := t.deps
		if deps == nil {
			deps = []string{}
		}
		version := func(at time.Time, deleted any) {
			r := g.row(tJobTasks)
			r[taskCol.AccountID], r[taskCol.WorkspaceID], r[taskCol.JobID], r[taskCol.TaskKey] = accountID, ws, j.jobID, t.key
			r[taskCol.DependsOn], r[taskCol.ChangeTime], r[taskCol.DeleteTime] = deps, at, deleted
			r[taskCol.TimeoutSeconds] = newCols(at, int64(0))
			g.emit(tJobTasks, r)
		}
		version(j.created, nil)
		if !j.deleted.IsZero() {
			version(j.deleted, j.deleted)
		}
	}
}

package synth

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"testing"
	"time"
)

// This file re-implements the alert families' definitions over the
// generated rows, as the pipeline's SQL will compute them, so the tests can
// check that each incident trips its own family and nothing else trips.

type runInfo struct {
	ws, job, id string
	start, end  time.Time
	dur         time.Duration // sum of the slices
	state       string        // of the latest terminal slice
	finished    bool
	firstEnd    time.Time // the first terminal slice's end: where the first attempt ends (zero while it runs)
}

type usageInfo struct {
	ws, job, cluster, sku string
	start                 time.Time
	qty                   float64
}

type view struct {
	d            *dataset
	rules        *rules
	gen          *gen // for its calendar helpers only
	today, first time.Time
	runs         []*runInfo
	byJob        map[[2]string][]*runInfo
	ident        map[[2]string]identity
	team         map[[2]string]string
	usage        []usageInfo
	prices       map[string][]price
	why          map[string]string
}

func isFailure(state string) bool {
	return state == "FAILED" || state == "ERROR" || state == "TIMED_OUT"
}

func mustCompile(t testing.TB, expr string) *regexp.Regexp {
	t.Helper()
	re, err := regexp.Compile(expr)
	if err != nil {
		t.Fatal(err)
	}
	return re
}

func newView(d *dataset) *view {
	r, err := newRules(d.spec)
	if err != nil {
		panic(err)
	}
	tz := d.spec.Bundle.Timezone
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		panic(err)
	}
	g := &gen{loc: loc}
	days := d.cfg.Days
	if days == 0 {
		days = 45
	}
	v := &view{d: d, rules: r, gen: g, today: g.date(d.cfg.AsOf), byJob: map[[2]string][]*runInfo{},
		ident: map[[2]string]identity{}, team: map[[2]string]string{}, prices: map[string][]price{}, why: map[string]string{}}
	v.first = v.today.AddDate(0, 0, -days)
	for k, row := range latestJobs(d) {
		a := jobIdentity(row)
		v.ident[k], v.team[k] = a, r.team(&a)
	}
	pe, rs := col(tRunTimeline, "period_end_time"), col(tRunTimeline, "result_state")
	for _, g := range groupRuns(d) {
		ri := &runInfo{ws: g.ws, job: g.job, id: g.id, start: g.rows[0][col(tRunTimeline, "period_start_time")].(time.Time)}
		var lastTerminal time.Time
		for _, row := range g.rows {
			s, e := row[col(tRunTimeline, "period_start_time")].(time.Time), row[pe].(time.Time)
			ri.dur += e.Sub(s)
			if e.After(ri.end) {
				ri.end = e
			}
			if st, ok := row[rs].(string); ok && !e.Before(lastTerminal) {
				ri.state, lastTerminal = st, e
			}
			if _, ok := row[rs].(string); ok && (ri.firstEnd.IsZero() || e.Before(ri.firstEnd)) {
				ri.firstEnd = e
			}
		}
		ri.finished = ri.state != "" && lastTerminal.Equal(ri.end)
		v.runs = append(v.runs, ri)
		k := [2]string{g.ws, g.job}
		v.byJob[k] = append(v.byJob[k], ri)
	}
	for _, row := range d.c.rows[tPrices] {
		p := price{start: row[1].(time.Time), list: row[7].(map[string]any)["default"].(float64)}
		if e, ok := row[2].(time.Time); ok {
			p.end = e
		}
		v.prices[row[3].(string)] = append(v.prices[row[3].(string)], p)
	}
	// Pipeline usage belongs to the job run that started the update
	// (trigger_details.job_task); warehouse usage to the job whose tasks ran
	// on the warehouse in that hour (each synthetic warehouse has one job).
	updateJob := map[[2]string]string{}
	for _, row := range d.c.rows[tPipelineUpdates] {
		td, _ := row[col(tPipelineUpdates, "trigger_details")].(map[string]any)
		jt, _ := td["job_task"].(map[string]any)
		job, _ := jt["job_id"].(string)
		updateJob[[2]string{row[1].(string), row[col(tPipelineUpdates, "update_id")].(string)}] = job
	}
	type wsHour struct {
		ws, warehouse string
		hour          time.Time
	}
	warehouseJob := map[wsHour]string{}
	for _, row := range d.c.rows[tTaskTimline] {
		start := row[col(tTaskTimline, "period_start_time")].(time.Time)
		for _, c := range row[col(tTaskTimline, "compute_ids")].([]string) {
			warehouseJob[wsHour{row[1].(string), c, start.Truncate(time.Hour)}] = row[2].(string)
		}
	}
	for _, row := range d.c.rows[tUsage] {
		meta := row[col(tUsage, "usage_metadata")].(map[string]any)
		u := usageInfo{ws: row[1].(string), sku: row[3].(string), start: row[5].(time.Time), qty: row[10].(float64)}
		u.job, _ = meta["job_id"].(string)
		u.cluster, _ = meta["cluster_id"].(string)
		if upd, ok := meta["dlt_update_id"].(string); ok && u.job == "" {
			u.job = updateJob[[2]string{u.ws, upd}]
		}
		if w, ok := meta["warehouse_id"].(string); ok && u.job == "" {
			u.job = warehouseJob[wsHour{u.ws, w, u.start}]
		}
		v.usage = append(v.usage, u)
	}
	return v
}

func (v *view) atOffset(d time.Time, off time.Duration) time.Time { return v.gen.atOffset(d, off) }

func (v *view) selected(i int) [][2]string {
	var out [][2]string
	for _, k := range sortedJobKeys(v.ident) {
		a := v.ident[k]
		if v.rules.selects(i, &a, v.team[k]) {
			out = append(out, k)
		}
	}
	return out
}

func sortedJobKeys[V any](m map[[2]string]V) [][2]string {
	var keys [][2]string
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int {
		if a[0] != b[0] {
			return compareStrings(a[0], b[0])
		}
		return compareStrings(a[1], b[1])
	})
	return keys
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// deadlineMet: a successful run of the job ended within (local midnight,
// deadline] of day.
func (v *view) deadlineMet(k [2]string, day time.Time, deadline time.Duration) bool {
	from, to := v.atOffset(day, 0), v.atOffset(day, deadline)
	for _, rn := range v.byJob[k] {
		if rn.finished && rn.state == "SUCCEEDED" && rn.end.After(from) && !rn.end.After(to) {
			return true
		}
	}
	return false
}

func (v *view) netCost(u usageInfo) float64 {
	list := 0.0
	for _, p := range v.prices[u.sku] {
		if !u.start.Before(p.start) && (p.end.IsZero() || u.start.Before(p.end)) {
			list = p.list
		}
	}
	return u.qty * list * (1 - v.rules.discountPercent(u.sku)/100)
}

// jobCosts is net cost per job and local date: usage that names the job,
// plus all-purpose cluster hours apportioned to the jobs whose tasks ran on
// the cluster in that hour, by task run time.
func (v *view) jobCosts() map[[2]string]map[time.Time]float64 {
	type ch struct {
		ws, cluster string
		hour        time.Time
	}
	shared := map[[2]string]bool{}
	for _, u := range v.usage {
		if u.job == "" && u.cluster != "" {
			shared[[2]string{u.ws, u.cluster}] = true
		}
	}
	taskMinutes := map[ch]map[[2]string]float64{}
	ps, pe, ids := col(tTaskTimline, "period_start_time"), col(tTaskTimline, "period_end_time"), col(tTaskTimline, "compute_ids")
	for _, row := range v.d.c.rows[tTaskTimline] {
		for _, c := range row[ids].([]string) {
			if !shared[[2]string{row[1].(string), c}] {
				continue
			}
			s, e := row[ps].(time.Time), row[pe].(time.Time)
			k := ch{row[1].(string), c, s.Truncate(time.Hour)}
			if taskMinutes[k] == nil {
				taskMinutes[k] = map[[2]string]float64{}
			}
			taskMinutes[k][[2]string{row[1].(string), row[2].(string)}] += e.Sub(s).Minutes()
		}
	}
	out := map[[2]string]map[time.Time]float64{}
	add := func(k [2]string, day time.Time, c float64) {
		if out[k] == nil {
			out[k] = map[time.Time]float64{}
		}
		out[k][day] += c
	}
	for _, u := range v.usage {
		day, cost := v.gen.date(u.start), v.netCost(u)
		if u.job != "" {
			add([2]string{u.ws, u.job}, day, cost)
			continue
		}
		m := taskMinutes[ch{u.ws, u.cluster, u.start}]
		total := 0.0
		for _, x := range m {
			total += x
		}
		for _, k := range sortedJobKeys(m) {
			add(k, day, cost*m[k]/total)
		}
	}
	return out
}

func meanSD(xs []float64) (float64, float64) {
	mean := 0.0
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	ss := 0.0
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

func incidentKey(in Incident) string {
	switch in.Family {
	case "sla_breach":
		return in.SLA + "/" + in.WorkspaceID + "/" + in.JobID
	case "cluster_idle":
		return in.WorkspaceID + "/" + in.ClusterID
	case "budget":
		return in.Team
	}
	return in.WorkspaceID + "/" + in.JobID
}

// detect evaluates every enabled family and returns "family key" for each
// alert that fires.
func (v *view) detect() map[string]bool {
	s, asOf := v.d.spec, v.d.cfg.AsOf
	fired := map[string]bool{}
	fire := func(family, key, why string) {
		fired[family+" "+key] = true
		v.why[family+" "+key] = why
	}
	g := &gen{s: s}
	yesterday := v.today.AddDate(0, 0, -1)

	if g.familyOn("sla_breach") {
		for i := range v.rules.slas {
			sl := &v.rules.slas[i]
			for _, k := range v.selected(i) {
				key := sl.name + "/" + k[0] + "/" + k[1]
				for day := v.today.AddDate(0, 0, -7); !day.After(v.today); day = day.AddDate(0, 0, 1) {
					if sl.hasDeadline && sl.days[day.Weekday()] && !v.atOffset(day, sl.deadline).After(asOf) && !v.deadlineMet(k, day, sl.deadline) {
						fire("sla_breach", key, "deadline missed on "+day.Format(time.DateOnly))
					}
					ok, n := 0, 0
					for _, rn := range v.byJob[k] {
						// max_duration: the first attempt, or the time so far of a run still in it
						attemptEnd := rn.firstEnd
						if attemptEnd.IsZero() {
							attemptEnd = asOf
						}
						if sl.maxDur > 0 && v.gen.date(rn.start).Equal(day) && attemptEnd.Sub(rn.start) > sl.maxDur {
							fire("sla_breach", key, fmt.Sprintf("run %s took %v", rn.id, attemptEnd.Sub(rn.start)))
						}
						if end := v.gen.date(rn.end); rn.finished && !end.After(day) && end.After(day.AddDate(0, 0, -sl.windowDays)) {
							n++
							if rn.state == "SUCCEEDED" {
								ok++
							}
						}
					}
					if sl.hasSuccess && n > 0 && float64(ok)/float64(n)*100 < sl.minSuccess {
						fire("sla_breach", key, fmt.Sprintf("success rate %d/%d on %s", ok, n, day.Format(time.DateOnly)))
					}
				}
			}
		}
	}

	if g.familyOn("job_failure") {
		for _, rn := range v.runs {
			if rn.finished && isFailure(rn.state) && rn.end.After(asOf.Add(-24*time.Hour)) {
				fire("job_failure", rn.ws+"/"+rn.job, rn.state+" at "+rn.end.String())
			}
		}
	}

	if g.familyOn("cost_anomaly") {
		sigma, baseline, minCost := 3.0, 28, 0.0
		if a := s.Alerts.CostAnomaly; a != nil {
			if a.ThresholdSigma != nil {
				sigma = *a.ThresholdSigma
			}
			if a.BaselineDays > 0 {
				baseline = a.BaselineDays
			}
			if a.MinDailyCost != nil {
				minCost = *a.MinDailyCost
			}
		}
		for k, byDay := range v.jobCosts() {
			var base []float64
			for d := yesterday.AddDate(0, 0, -baseline); d.Before(yesterday); d = d.AddDate(0, 0, 1) {
				if c := byDay[d]; c > 0 {
					base = append(base, c)
				}
			}
			if len(base) < 7 {
				continue
			}
			mean, sd := meanSD(base)
			limit := mean + sigma*max(sd, 0.1*mean)
			if c := byDay[yesterday]; c > limit && c > minCost {
				fire("cost_anomaly", k[0]+"/"+k[1], fmt.Sprintf("cost %.2f > %.2f (mean %.2f)", c, limit, mean))
			}
		}
	}

	if g.familyOn("duration_anomaly") {
		sigma, baseline := 3.0, 20
		if a := s.Alerts.DurationAnomaly; a != nil {
			if a.ThresholdSigma != nil {
				sigma = *a.ThresholdSigma
			}
			if a.BaselineRuns > 0 {
				baseline = a.BaselineRuns
			}
		}
		for k, runs := range v.byJob {
			var done []*runInfo
			for _, rn := range runs {
				if rn.finished {
					done = append(done, rn)
				}
			}
			slices.SortFunc(done, func(a, b *runInfo) int { return a.end.Compare(b.end) })
			for i, rn := range done {
				if !rn.end.After(asOf.Add(-24 * time.Hour)) {
					continue
				}
				var base []float64
				for _, p := range done[max(0, i-baseline):i] {
					base = append(base, p.dur.Seconds())
				}
				if len(base) < 5 {
					continue
				}
				mean, sd := meanSD(base)
				if limit := mean + sigma*max(sd, 0.1*mean); rn.dur.Seconds() > limit {
					fire("duration_anomaly", k[0]+"/"+k[1], fmt.Sprintf("run %s %v > %.0fs", rn.id, rn.dur, limit))
				}
			}
		}
	}

	if g.familyOn("cluster_idle") {
		maxCPU, minIdle := 10.0, 60
		if a := s.Alerts.ClusterIdle; a != nil {
			if a.MaxCPUPercent != nil {
				maxCPU = *a.MaxCPUPercent
			}
			if a.MinIdleMinutes > 0 {
				minIdle = a.MinIdleMinutes
			}
		}
		idle := map[[3]string]float64{}
		for k, a := range v.d.c.nodes {
			day := v.gen.date(k.start)
			if (day.Equal(yesterday) || day.Equal(v.today)) && a.cpu/float64(a.n) < maxCPU {
				idle[[3]string{k.ws, k.cluster, day.Format(time.DateOnly)}] += k.end.Sub(k.start).Minutes()
			}
		}
		for k, m := range idle {
			if m >= float64(minIdle) {
				fire("cluster_idle", k[0]+"/"+k[1], fmt.Sprintf("%.0f idle minutes on %s", m, k[2]))
			}
		}
	}

	if g.familyOn("budget") {
		warn := 80.0
		if a := s.Alerts.Budget; a != nil && a.WarnAtPercent != nil {
			warn = *a.WarnAtPercent
		}
		// the forecast over the complete days: those that ended 12 hours
		// (alerts.lateness.billing by default) before AsOf
		last := v.gen.date(asOf.Add(-12*time.Hour)).AddDate(0, 0, -1)
		month := time.Date(last.Year(), last.Month(), 1, 0, 0, 0, 0, time.UTC)
		spent := map[string]float64{}
		for k, byDay := range v.jobCosts() {
			for d, c := range byDay {
				if !d.Before(month) && !d.After(last) {
					spent[v.team[k]] += c
				}
			}
		}
		for _, t := range v.rules.teams {
			forecast := spent[t.name] / float64(last.Day()) * float64(month.AddDate(0, 1, -1).Day())
			if t.hasBudget && forecast >= warn/100*t.budget {
				fire("budget", t.name, fmt.Sprintf("forecast %.0f of %.0f", forecast, t.budget))
			}
		}
	}
	return fired
}

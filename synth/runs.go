package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// This file plans each job's runs and writes the run and task timelines,
// the job-cluster and serverless usage, and job-cluster utilization.

type taskRun struct {
	task        int
	start, end  time.Time
	state, code string
}

// attempt is the original execution of a run or one repair of it.
type attempt struct {
	start, end  time.Time
	state, code string
	tasks       []taskRun
	mul         float64 // DBU-rate multiplier (the cost spike's bigger cluster)
}

type run struct {
	start    time.Time
	name     string
	attempts []attempt
	shows    time.Time // non-zero: the run shows its job's incident from then on (Incident.Runs)
}

type failure struct {
	state, code string
	weight      float64
}

var failures = []failure{
	{"FAILED", "RUN_EXECUTION_ERROR", 0.55}, {"FAILED", "UNAUTHORIZED_ERROR", 0.08},
	{"ERROR", "DRIVER_ERROR", 0.10}, {"ERROR", "CLUSTER_ERROR", 0.08}, {"ERROR", "CLOUD_FAILURE", 0.09},
	{"TIMED_OUT", "RUN_EXECUTION_ERROR", 0.10},
}

func pickFailure(u float64) failure {
	for _, f := range failures {
		if u < f.weight {
			return f
		}
		u -= f.weight
	}
	return failures[0]
}

// enum returns the state or code as an interface value without allocating:
// a constant string converts to an interface for free.
func enum(s string) any {
	switch s {
	case "SUCCEEDED":
		return "SUCCEEDED"
	case "SUCCESS":
		return "SUCCESS"
	case "FAILED":
		return "FAILED"
	case "ERROR":
		return "ERROR"
	case "TIMED_OUT":
		return "TIMED_OUT"
	case "RUN_EXECUTION_ERROR":
		return "RUN_EXECUTION_ERROR"
	case "CLIENT_ERROR":
		return "CLIENT_ERROR"
	case "INTERNAL_ERROR":
		return "INTERNAL_ERROR"
	case "CLOUD_FAILURE":
		return "CLOUD_FAILURE"
	case "ORIGINAL":
		return "ORIGINAL"
	case "JOBS":
		return "JOBS"
	case "ALL_PURPOSE":
		return "ALL_PURPOSE"
	}
	return s
}

func terminationType(code string) string {
	switch code {
	case "SUCCESS":
		return "SUCCESS"
	case "RUN_EXECUTION_ERROR", "UNAUTHORIZED_ERROR":
		return "CLIENT_ERROR"
	case "CLOUD_FAILURE":
		return "CLOUD_FAILURE"
	}
	return "INTERNAL_ERROR"
}

// attempt lays tasks from..end of a run of nominal length dur end to end
// from start. If failTask is one of them, it ends at failAt with the given
// state and the attempt stops there.
func (j *job) attempt(start time.Time, dur time.Duration, from, failTask int, failAt time.Time, state, code string) attempt {
	work := float64(dur - j.setup)
	base := 0.0
	if from > 0 {
		base = j.tasks[from-1].cum
	}
	a := attempt{start: start, state: "SUCCEEDED", code: "SUCCESS", mul: 1}
	t := start.Add(j.setup)
	for i := from; i < len(j.tasks); i++ {
		end := start.Add(j.setup + time.Duration((j.tasks[i].cum-base)*work)).Round(time.Second)
		if i == failTask {
			a.tasks = append(a.tasks, taskRun{i, t, failAt, state, code})
			a.state, a.code = state, code
			break
		}
		a.tasks = append(a.tasks, taskRun{i, t, end, "SUCCEEDED", "SUCCESS"})
		t = end
	}
	a.end = a.tasks[len(a.tasks)-1].end
	return a
}

func (j *job) nameAt(t time.Time) string {
	if !j.renamed.IsZero() && t.Before(j.renamed) {
		return j.oldName
	}
	return j.name
}

// startsOn appends the job's scheduled start times on local date d.
func (g *gen) startsOn(j *job, d time.Time, r *rand.Rand, out []time.Time) []time.Time {
	// Several starts a day skip a wall time a DST switch removes (its
	// neighbour runs anyway); a daily start moves with the clock instead.
	local := func(h, m int, skipMissing bool) {
		t := time.Date(d.Year(), d.Month(), d.Day(), h, m, 0, 0, g.loc)
		if t.Hour() == h || !skipMissing {
			out = append(out, t.UTC().Add(time.Duration(r.IntN(15))*time.Second))
		}
	}
	switch j.sched {
	case hourly:
		for h := range 24 {
			local(h, j.minute, true)
		}
	case every4h:
		for h := 0; h < 24; h += 4 {
			local(h, j.minute, true)
		}
	case daily:
		if j.hasDeadline {
			// a fixed lead before the deadline instant, even on a DST day
			out = append(out, g.atOffset(d, j.deadline).Add(-j.lead+time.Duration(r.IntN(15))*time.Second))
		} else {
			local(j.hour, j.minute, false)
		}
	case adhoc:
		u, h, m := r.Float64(), 8+r.IntN(10), r.IntN(60)
		if u < 0.4 {
			local(h, m, false)
		}
	}
	return out
}

// planRuns decides every run of the job: its times, outcome and repairs,
// and (with Config.Incidents) the job's incident. It is a pure function of
// the job and the config, so the budget pass and the emitting pass agree.
func (g *gen) planRuns(j *job) ([]run, *Incident) {
	r := rand.New(rand.NewPCG(uint64(g.cfg.Seed), 0x72756e73<<32|uint64(j.idx)))
	inject := g.cfg.Incidents && j.role != noRole
	yesterday := g.today.AddDate(0, 0, -1)
	var runs []run
	var starts []time.Time
	var inc *Incident
	repaired := false
	for d := g.first; !d.After(g.today); d = d.AddDate(0, 0, 1) {
		starts = g.startsOn(j, d, r, starts[:0])
		for _, s := range starts {
			// A fixed number of draws per run: one run's fate never shifts
			// another's randomness.
			uDur, uFail, uKind, uTask, uAt, uGap := r.Float64(), r.Float64(), r.Float64(), r.Float64(), r.Float64(), r.Float64()
			dur := time.Duration(float64(j.dur) * (0.9 + 0.2*uDur)).Round(time.Second)
			missed := inject && j.role == roleSLAMiss && d.Equal(j.missDate)
			if missed {
				late := 30*time.Minute + time.Duration(uAt*60*float64(time.Minute))
				s = g.atOffset(d, j.deadline).Add(late - dur).Round(time.Second)
				end := s.Add(dur)
				inc = &Incident{Kind: "sla_deadline_miss", Family: "sla_breach", SLA: g.r.slas[j.missSLA].name, Date: d,
					At: g.atOffset(d, j.deadline),
					Detail: fmt.Sprintf("%s finished at %s local, %d min after the %s deadline of SLA %s.", j.name,
						end.In(g.loc).Format("15:04"), int(late/time.Minute), fmtOffset(j.deadline), g.r.slas[j.missSLA].name)}
			}
			if inject && j.role == roleSLAMiss && d.Equal(g.closeCall(j)) {
				// A close call, not an incident: the run ends 5 minutes before
				// the deadline, so a late timeline row arrives after it (a
				// replay delays it; no page may follow).
				s = g.atOffset(d, j.deadline).Add(-5*time.Minute - dur).Round(time.Second)
			}
			if s.Before(g.start) || !s.Before(g.asOf) || (!j.deleted.IsZero() && !s.Before(j.deleted)) {
				continue
			}
			if j == g.newJob && s.Before(g.newFrom) {
				continue // budget_overrun: the job's first run is on newFrom
			}
			rn := run{start: s, name: j.nameAt(s)}
			if missed {
				rn.shows = s.Add(dur)
			}
			normal := j.attempt(s, dur, 0, -1, time.Time{}, "", "")
			k := min(int(uTask*float64(len(j.tasks))), len(j.tasks)-1)
			tk := normal.tasks[k]
			failAt := tk.start.Add(time.Duration((0.1 + 0.9*uAt) * float64(tk.end.Sub(tk.start)))).Round(time.Second)
			quiet := j.noisy() && s.Add(2*dur+2*time.Hour).Before(g.asOf.Add(-g.quiet()))
			switch {
			case quiet && uFail < 0.01:
				f := pickFailure(uKind)
				if f.state == "TIMED_OUT" {
					failAt = s.Add(j.timeout)
				}
				rn.attempts = []attempt{j.attempt(s, dur, 0, k, failAt, f.state, f.code)}
			case quiet && uFail < 0.03:
				// repaired: the failed task and the rest rerun 20-60 min later
				f := pickFailure(uKind * 0.9) // any but a timeout
				first := j.attempt(s, dur, 0, k, failAt, f.state, f.code)
				gap := 20*time.Minute + time.Duration(uGap*40*float64(time.Minute)).Round(time.Second)
				rn.attempts = []attempt{first, j.attempt(first.end.Add(gap), dur, k, -1, time.Time{}, "", "")}
			default:
				rn.attempts = []attempt{normal}
			}
			if g.cfg.Incidents && j == g.longRun && d.Equal(g.today.AddDate(0, 0, -3)) && !repaired {
				rn.attempts = g.repairedOverLimit(j, s, dur)
				repaired = true
			}
			if inject && j.role == roleSpike && d.Equal(yesterday) {
				rn.attempts[0].mul = 8
				inc = &Incident{Kind: "cost_spike", Family: "cost_anomaly", Date: d, At: minTime(rn.attempts[0].end, g.asOf),
					Detail: fmt.Sprintf("%s ran on a cluster 8x its usual size on %s, multiplying its daily cost by 8.", j.name, d.Format(time.DateOnly))}
			}
			runs = append(runs, rn)
		}
	}
	if inject && j.role == roleStreak {
		inc = g.failStreak(j, runs)
	}
	if inject && j.role == roleOutlier {
		inc = g.outlier(j, runs)
	}
	if g.cfg.Incidents && j == g.longRun {
		runs, inc = g.runPastLimit(j, runs)
	}
	if inc != nil {
		inc.WorkspaceID, inc.JobID, inc.JobName, inc.Team = g.ws[j.ws].id, j.jobID, j.name, j.team
	}
	return runs, inc
}

// failStreak fails the job's last three finished runs at their normal end.
func (g *gen) failStreak(j *job, runs []run) *Incident {
	var done []int
	for i := len(runs) - 1; i >= 0 && len(done) < 3; i-- {
		if a := &runs[i].attempts[0]; !a.end.After(g.asOf) {
			done = append(done, i)
		}
	}
	if len(done) < 3 || runs[done[2]].attempts[0].end.Before(g.asOf.Add(-24*time.Hour)) {
		return nil
	}
	for _, i := range done {
		a := &runs[i].attempts[0]
		a.state, a.code = "FAILED", "RUN_EXECUTION_ERROR"
		a.tasks[len(a.tasks)-1].state, a.tasks[len(a.tasks)-1].code = a.state, a.code
		runs[i].shows = a.end
	}
	last := runs[done[0]]
	return &Incident{Kind: "failure_streak", Family: "job_failure", Date: g.date(last.start), At: last.attempts[0].end,
		Detail: fmt.Sprintf("%s failed its last 3 runs with RUN_EXECUTION_ERROR, the latest ending %s.", j.name,
			last.attempts[0].end.In(g.loc).Format("2006-01-02 15:04 MST"))}
}

// outlier stretches one run of the last day to 5x the job's nominal duration.
func (g *gen) outlier(j *job, runs []run) *Incident {
	long := 5 * j.dur
	for i := len(runs) - 1; i >= 0; i-- {
		s := runs[i].start
		if s.Before(g.asOf.Add(-20 * time.Hour)) {
			break
		}
		if s.Add(long).After(g.asOf.Add(-2 * time.Minute)) {
			continue
		}
		runs[i].attempts = []attempt{j.attempt(s, long, 0, -1, time.Time{}, "", "")}
		runs[i].shows = runs[i].attempts[0].end
		return &Incident{Kind: "duration_outlier", Family: "duration_anomaly", Date: g.date(s), At: runs[i].shows,
			Detail: fmt.Sprintf("A run of %s starting %s took %d min, 5x its usual %d min.", j.name,
				s.In(g.loc).Format("2006-01-02 15:04 MST"), int(long/time.Minute), int(j.dur/time.Minute))}
	}
	return nil
}

// closeCall is the SLA day before the deadline miss: the miss job's run
// ends 5 minutes before the deadline that day.
func (g *gen) closeCall(j *job) time.Time {
	sl := &g.r.slas[j.missSLA]
	d := j.missDate.AddDate(0, 0, -1)
	for i := 0; i < 7 && !sl.days[d.Weekday()]; i++ {
		d = d.AddDate(0, 0, -1)
	}
	return d
}

// pickLongRun chooses the job of run_past_max_duration and of the repaired
// run: of the scheduled jobs under an SLA with max_duration and no deadline
// that no other incident uses, the longest (no random draw, so every other
// job stays as it was). It must run 20 minutes or more, so the repair's
// extra setup stays within the duration and cost detectors' noise bands.
func (g *gen) pickLongRun() {
	if !g.familyOn("sla_breach") {
		return
	}
	for _, j := range g.jobs {
		if j.maxDur > 0 && !j.hasDeadline && j.role == noRole && !j.reused && j.runsOn == ownCompute && j.sched != adhoc &&
			j.dur >= 20*time.Minute && (g.longRun == nil || j.dur > g.longRun.dur) {
			g.longRun = j
		}
	}
}

// slaOf is the name of the job's SLA whose max_duration is the job's limit.
func (g *gen) slaOf(j *job) string {
	for _, i := range j.slas {
		if g.r.slas[i].maxDur == j.maxDur {
			return g.r.slas[i].name
		}
	}
	return ""
}

// repairedOverLimit is a run whose first attempt fails a minute into its
// last task and whose repair, max_duration later, reruns that task: the
// first attempt stays within max_duration, the run from start to its
// repair's end does not. dbmon checks the first attempt, so no page.
func (g *gen) repairedOverLimit(j *job, s time.Time, dur time.Duration) []attempt {
	last := len(j.tasks) - 1
	normal := j.attempt(s, dur, 0, -1, time.Time{}, "", "")
	failAt := normal.tasks[last].start.Add(time.Minute)
	first := j.attempt(s, dur, 0, last, failAt, "FAILED", "RUN_EXECUTION_ERROR")
	return []attempt{first, j.attempt(first.end.Add(j.maxDur), dur, last, -1, time.Time{}, "", "")}
}

// runPastLimit hangs the job's run today: it starts max_duration plus 2
// hours before AsOf and is still running at AsOf, and the job's later
// runs wait behind it. It starts today (local), so its cost falls on a day
// no cost check has judged yet.
func (g *gen) runPastLimit(j *job, runs []run) ([]run, *Incident) {
	start := g.asOf.Add(-j.maxDur - 2*time.Hour).Truncate(time.Minute)
	if start.Before(g.at(g.today, 0, 0)) {
		return runs, nil
	}
	runs = slices.DeleteFunc(runs, func(rn run) bool { return !rn.start.Before(start) })
	over := start.Add(j.maxDur)
	rn := run{start: start, name: j.nameAt(start), shows: over,
		attempts: []attempt{j.attempt(start, g.asOf.Sub(start)+24*time.Hour, 0, -1, time.Time{}, "", "")}}
	runs = append(runs, rn)
	return runs, &Incident{Kind: "run_past_max_duration", Family: "sla_breach", SLA: g.slaOf(j), Date: g.today, At: over,
		Detail: fmt.Sprintf("A run of %s started %s and was still running at %s, past the %d min max_duration of SLA %s.", j.name,
			start.In(g.loc).Format("2006-01-02 15:04 MST"), g.asOf.In(g.loc).Format("15:04"), int(j.maxDur/time.Minute), g.slaOf(j))}
}

func fmtOffset(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

func (g *gen) emitJob(j *job) {
	g.emitDefinition(j)
	runs, inc := g.planRuns(j)
	seq := 0
	for i := range runs {
		if g.err != nil {
			return
		}
		id := g.emitRun(j, &runs[i], &seq)
		if inc != nil && !runs[i].shows.IsZero() {
			inc.Runs = append(inc.Runs, RunRef{ID: id, End: runs[i].shows})
		}
	}
	if inc != nil {
		g.incidents = append(g.incidents, *inc)
	}
}

var (
	emptyIDs          = []string{}
	serverlessCompute = any([]map[string]any{{"type": "SERVERLESS", "cluster_id": nil, "warehouse_id": nil}})
)

// emitRun writes one run: timeline slices per attempt (the terminal slice of
// a finished attempt carries its outcome), task slices, and its compute.
func (g *gen) emitRun(j *job, rn *run, seq *int) string {
	// Values shared by many rows are boxed once (see nodeRows).
	ws, jobID, name, params := j.box.ws, j.box.jobID, j.box.name, j.paramsValue()
	if rn.name != j.name {
		name = rn.name
	}
	id := numericID(runKey(j.idx, *seq))
	runID := any(id)
	*seq++
	trigger := any("CRON")
	if j.sched == adhoc {
		trigger = "ONETIME"
	}
	var runDur time.Duration
	for ai := range rn.attempts {
		a := &rn.attempts[ai]
		if !a.start.Before(g.asOf) {
			break
		}
		end, done := minTime(a.end, g.asOf), !a.end.After(g.asOf)
		runDur += end.Sub(a.start)
		cluster, ids, comp := "", any(emptyIDs), serverlessCompute
		switch j.compute {
		case jobCluster:
			cluster = clusterID(a.start, runKey(j.idx, *seq))
			*seq++
		case allPurpose:
			cluster = j.ap.id
		}
		if cluster != "" {
			ids = []string{cluster}
			comp = []map[string]any{{"type": "CLASSIC", "cluster_id": cluster, "warehouse_id": nil}}
		}
		if j.runsOn == warehouseTask {
			ids = []string{j.warehouseID()}
			comp = []map[string]any{{"type": "WAREHOUSE", "cluster_id": nil, "warehouse_id": j.warehouseID()}}
		}
		if j.runsOn == pipelineTask {
			g.emitPipelineUpdate(j, id, ai, a.start, end, done, a.state)
		}
		hourSlices(a.start, end, func(s, e time.Time, last bool) {
			var state, code, ttype, setup, queue, total, cleanup, exec any
			if last && done {
				state, code = enum(a.state), enum(a.code)
				if !s.Before(newColumnsFrom) {
					ttype, setup, queue, cleanup = enum(terminationType(a.code)), int64(j.setup/time.Second), int64(0), int64(0)
					total, exec = int64(runDur/time.Second), int64((a.end.Sub(a.start)-j.setup)/time.Second)
				}
			}
			r := g.row(tRunTimeline)
			r[runCol.AccountID], r[runCol.WorkspaceID], r[runCol.JobID], r[runCol.RunID] = accountID, ws, jobID, runID
			r[runCol.Start], r[runCol.End], r[runCol.TriggerType], r[runCol.RunType] = s, e, trigger, "JOB_RUN"
			r[runCol.RunName], r[runCol.ComputeIDs], r[runCol.Parameters], r[runCol.Compute] = name, ids, params, newCols(s, comp)
			r[runCol.ResultState], r[runCol.TerminationCode], r[runCol.TerminationType] = state, code, ttype
			r[runCol.Setup], r[runCol.Queue], r[runCol.Run], r[runCol.Cleanup], r[runCol.Execution] = setup, queue, total, cleanup, exec
			g.emit(tRunTimeline, r)
		})
		for ti, t := range a.tasks {
			if !t.start.Before(g.asOf) {
				break
			}
			taskRunID, key := any(numericID(runKey(j.idx, *seq))), any(j.tasks[t.task].key)
			*seq++
			tEnd, tDone := minTime(t.end, g.asOf), !t.end.After(g.asOf)
			hourSlices(t.start, tEnd, func(s, e time.Time, last bool) {
				var state, code, ttype, setup, cleanup, exec any
				if last && tDone {
					state, code = enum(t.state), enum(t.code)
					if !s.Before(newColumnsFrom) {
						st := time.Duration(0)
						if ti == 0 {
							st = j.setup
						}
						ttype, setup, cleanup = enum(terminationType(t.code)), int64(st/time.Second), int64(0)
						exec = int64(t.end.Sub(t.start) / time.Second)
					}
				}
				r := g.row(tTaskTimline)
				r[taskRunCol.AccountID], r[taskRunCol.WorkspaceID], r[taskRunCol.JobID] = accountID, ws, jobID
				r[taskRunCol.RunID], r[taskRunCol.JobRunID], r[taskRunCol.ParentRunID] = taskRunID, runID, runID
				r[taskRunCol.Start], r[taskRunCol.End], r[taskRunCol.TaskKey], r[taskRunCol.ComputeIDs] = s, e, key, ids
				r[taskRunCol.ResultState], r[taskRunCol.TerminationCode], r[taskRunCol.TerminationType] = state, code, ttype
				r[taskRunCol.Compute], r[taskRunCol.Setup], r[taskRunCol.Cleanup], r[taskRunCol.Execution] = newCols(s, comp), setup, cleanup, exec
				g.emit(tTaskTimline, r)
			})
		}
		switch j.compute {
		case allPurpose:
			// billed to the shared cluster, which bills while any task runs
			first, last := a.tasks[0], a.tasks[len(a.tasks)-1]
			if first.start.Before(g.asOf) {
				j.ap.busy = append(j.ap.busy, span{first.start, minTime(last.end, g.asOf)})
			}
		case jobCluster:
			g.emitJobCluster(j, a, cluster, id, end)
			fallthrough
		case serverless:
			g.emitRunUsage(j, rn, a, cluster, id)
		}
	}
	return id
}

func (j *job) paramsValue() any {
	if j.params == nil {
		return nil
	}
	return j.params
}

func (j *job) sku(g *gen) string {
	switch j.runsOn {
	case pipelineTask:
		return "PREMIUM_DLT_CORE_COMPUTE"
	case warehouseTask:
		return "PREMIUM_SQL_PRO_COMPUTE"
	}
	if j.compute == serverless {
		return "PREMIUM_JOBS_SERVERLESS_COMPUTE_" + g.region
	}
	return "PREMIUM_JOBS_COMPUTE"
}

// attemptHours calls f with each complete clock hour (ending by AsOf) the
// attempt overlaps and the DBUs it used in it. The budget pass and the
// usage rows both go through here, so they cannot disagree.
func (g *gen) attemptHours(j *job, a *attempt, f func(h time.Time, dbu float64)) {
	end := minTime(a.end, g.asOf)
	rate := j.rate * a.mul * j.scale
	for h := a.start.Truncate(time.Hour); h.Before(end); h = h.Add(time.Hour) {
		if h.Add(time.Hour).After(g.asOf) {
			break
		}
		f(h, rate*overlap(a.start, end, h, h.Add(time.Hour)).Hours())
	}
}

// warehouseID is the SQL warehouse a warehouseTask job's tasks run on.
func (j *job) warehouseID() string { return "wh-" + j.jobID }

// pipelineID is the pipeline a pipelineTask job's task refreshes.
func (j *job) pipelineID() string { return "pl-" + j.jobID }

// updateID is the pipeline update of attempt ai of a run.
func updateID(runID string, ai int) string { return fmt.Sprintf("%s-u%d", runID, ai) }

// emitPipelineUpdate writes the pipeline update that attempt ai of a
// pipelineTask job's run started, sliced hourly like the job timelines.
func (g *gen) emitPipelineUpdate(j *job, runID string, ai int, start, end time.Time, done bool, state string) {
	ws, upd := j.box.ws, updateID(runID, ai)
	trigger := map[string]any{"job_task": map[string]any{"job_id": j.jobID, "job_run_id": runID}}
	hourSlices(start, end, func(s, e time.Time, last bool) {
		var result any
		if last && done {
			result = "COMPLETED"
			if state != "SUCCEEDED" {
				result = "FAILED"
			}
		}
		g.emit(tPipelineUpdates, []any{accountID, ws, j.pipelineID(), upd, "REFRESH", nil, nil, "JOB_TASK", trigger,
			result, s, e})
	})
}

func (g *gen) emitRunUsage(j *job, rn *run, a *attempt, cluster, runID string) {
	var meta map[string]any
	features := featuresJobs
	origin := "JOBS"
	switch {
	case j.runsOn == pipelineTask:
		ai := 0
		for i := range rn.attempts {
			if &rn.attempts[i] == a {
				ai = i
			}
		}
		meta = usageMeta("dlt_pipeline_id", j.pipelineID(), "dlt_update_id", updateID(runID, ai))
		features, origin = featuresServerless, "DLT"
	case j.runsOn == warehouseTask:
		meta = usageMeta("warehouse_id", j.warehouseID())
		features, origin = featuresServerless, "SQL"
	case j.compute == serverless:
		meta = usageMeta("job_id", j.jobID, "job_run_id", runID, "job_name", rn.name)
		features = featuresServerless
	default:
		meta = usageMeta("cluster_id", cluster, "job_id", j.jobID, "job_run_id", runID,
			"node_type", j.node.name, "job_name", rn.name)
	}
	g.attemptHours(j, a, func(h time.Time, dbu float64) {
		g.usage(j.box.ws, j.box.sku, h, dbu, j.tags, meta, j.idMeta, features, origin)
	})
}

func (g *gen) emitJobCluster(j *job, a *attempt, cluster, runID string, end time.Time) {
	workers := j.workers
	if a.mul != 1 {
		workers = int(math.Round(a.mul*float64(1+j.workers))) - 1
	}
	ws := g.ws[j.ws].id
	r := g.clusterRow(ws, cluster, "job-"+j.jobID+"-run-"+runID, j.runAs, a.start, j.node.name, workers, j.tags, "JOB")
	r[clusterCol.DBR], r[clusterCol.ChangeTime], r[clusterCol.ChangeDate] = "15.4.x-scala2.12", a.start, utcDate(a.start)
	r[clusterCol.SecurityMode] = "SINGLE_USER"
	g.emit(tClusters, r)
	g.nodeRows(ws, cluster, 0, workers, j.node.name, a.start, end, nil, true)
}

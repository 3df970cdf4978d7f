package synth

import (
	"fmt"
	"time"

	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/spec"
)

// The monitor's own resources: the bundle that the spec generates runs in
// the first workspace, so its data is in the system tables like any job's.
// Its jobs (refresh, collector, maintenance, reports) run on their crons,
// serverless, and always succeed in a steady time; each refresh starts a
// pipeline update billed to the pipeline. Every resource carries the tags
// the bundle sets (app, dbmon_bundle, dbmon_component), which is how the
// footprint table finds it, and the usage carries them as custom_tags, as
// Databricks copies job and pipeline tags. They are emitted after all other
// rows and draw no planning randomness, so adding them changes nothing
// else in a dataset.

// ownJob is one of the bundle's jobs as the synthetic data runs it.
type ownJob struct {
	idx      int // runKey job index
	job      model.Job
	id       string
	tasks    []string
	dur      time.Duration // every run
	dbuPerH  float64       // the job's own serverless compute while it runs
	pipeline time.Duration // refresh only: the pipeline update its last task starts
}

// Steady sizes of the monitor's work: a refresh's update, the collector's
// poll, the daily maintenance and a report's snapshot.
const (
	ownPipelineDBUPerHour = 6.0
	ownJobDBUPerHour      = 3.0
	ownIdx                = 1 << 22 // runKey job index space of the own jobs, above any planned job
)

// ownJobs lists the bundle's jobs; nil when the spec does not build (the
// caller's spec passed validation, so that is a bug reported as an error).
func (g *gen) ownJobs() ([]ownJob, *model.Bundle, error) {
	b, err := model.Build(g.s)
	if err != nil {
		return nil, nil, fmt.Errorf("synth: own jobs: %v", err)
	}
	add := func(out []ownJob, j model.Job, tasks []string, dur time.Duration, pipeline time.Duration) []ownJob {
		id := numericID(runKey(ownIdx+len(out), 0))
		return append(out, ownJob{idx: ownIdx + len(out), job: j, id: id, tasks: tasks, dur: dur, dbuPerH: ownJobDBUPerHour, pipeline: pipeline})
	}
	var out []ownJob
	refreshTasks := []string{"refresh_pipeline"}
	if b.CollectorJob != nil {
		refreshTasks = []string{"collect", "refresh_pipeline"}
	}
	out = add(out, b.RefreshJob, refreshTasks, 8*time.Minute, 7*time.Minute)
	if b.CollectorJob != nil {
		out = add(out, *b.CollectorJob, []string{"collect"}, 2*time.Minute, 0)
	}
	out = add(out, b.MaintenanceJob, []string{"keep_history", "retention"}, 10*time.Minute, 0)
	for _, r := range b.Reports {
		var keys []string
		for _, t := range r.Tasks {
			keys = append(keys, t.Key)
		}
		if len(keys) > 0 {
			out = add(out, r.Job, keys, 2*time.Minute, 0)
		}
	}
	return out, b, nil
}

func tagMap(kv []model.KV) map[string]string {
	m := make(map[string]string, len(kv))
	for _, t := range kv {
		m[t.Key] = t.Value
	}
	return m
}

// emitOwn writes the rows of the monitor's own jobs and pipeline.
func (g *gen) emitOwn() {
	jobs, b, err := g.ownJobs()
	if err != nil {
		g.err = err
		return
	}
	ws := g.ws[0].id
	pipelineID := "pl-" + b.Key
	pipelineTags := tagMap(b.Pipeline.Tags)
	principal := "dbmon-deployer@" + g.domain
	idMeta := map[string]any{"run_as": principal, "created_by": nil, "owned_by": nil, "run_by": nil}
	for _, oj := range jobs {
		if g.err != nil {
			return
		}
		cron, err := spec.ParseQuartzCron(oj.job.Cron)
		if err != nil {
			g.err = fmt.Errorf("synth: own job %s: %v", oj.job.Name, err)
			return
		}
		loc, err := time.LoadLocation(oj.job.Timezone)
		if err != nil {
			g.err = fmt.Errorf("synth: own job %s: %v", oj.job.Name, err)
			return
		}
		tags := tagMap(oj.job.Tags)
		created := g.start.Add(-24 * time.Hour)
		r := g.row(tJobs)
		r[jobCol.AccountID], r[jobCol.WorkspaceID], r[jobCol.JobID], r[jobCol.Name] = accountID, ws, oj.id, oj.job.Name
		r[jobCol.CreatorID], r[jobCol.Tags], r[jobCol.ChangeTime], r[jobCol.RunAs] = principalID(principal), tags, created, principalID(principal)
		r[jobCol.Trigger] = map[string]any{"file_arrival": nil, "periodic": nil, "continuous": nil, "table_update": nil,
			"schedule": map[string]any{"quartz_cron_expression": oj.job.Cron, "timezone_id": oj.job.Timezone}}
		r[jobCol.TriggerType], r[jobCol.RunAsUserName], r[jobCol.CreatorName], r[jobCol.Paused] = "CRON", principal, principal, false
		r[jobCol.TimeoutSeconds], r[jobCol.CreateTime] = int64(oj.job.TimeoutSeconds), created
		r[jobCol.Deployment] = map[string]any{"kind": "BUNDLE", "metadata_file_path": "/Workspace/.bundle/" + b.Name + "/state/metadata.json"}
		g.emit(tJobs, r)
		for _, key := range oj.tasks {
			t := g.row(tJobTasks)
			t[taskCol.AccountID], t[taskCol.WorkspaceID], t[taskCol.JobID], t[taskCol.TaskKey] = accountID, ws, oj.id, key
			t[taskCol.DependsOn], t[taskCol.ChangeTime], t[taskCol.TimeoutSeconds] = []string{}, created, int64(0)
			g.emit(tJobTasks, t)
		}
		sku := any("PREMIUM_JOBS_SERVERLESS_COMPUTE_" + g.region)
		seq := 0
		for fire := cron.Next(g.start.Add(-time.Second), loc); !fire.IsZero() && fire.Before(g.asOf); fire = cron.Next(fire, loc) {
			start := fire.UTC() // rows carry UTC instants
			runID := numericID(runKey(oj.idx, seq))
			seq++
			end := start.Add(oj.dur)
			g.emitOwnRun(ws, oj, runID, start, end, &seq)
			// The job's own compute; a pipeline task's update is the pipeline's.
			g.ownUsage(start, minTime(end.Add(-oj.pipeline), g.asOf), oj.dbuPerH, func(h time.Time, dbu float64) {
				g.usage(ws, sku, h, dbu, tags, usageMeta("job_id", oj.id, "job_run_id", runID, "job_name", oj.job.Name),
					idMeta, featuresServerless, "JOBS")
			})
			if oj.pipeline == 0 {
				continue
			}
			// The last task refreshes the pipeline: the update runs its length
			// and is billed to the pipeline, with the pipeline's tags.
			u0, u1 := end.Add(-oj.pipeline), end
			upd := updateID(runID, 0)
			trigger := map[string]any{"job_task": map[string]any{"job_id": oj.id, "job_run_id": runID}}
			hourSlices(u0, minTime(u1, g.asOf), func(s, e time.Time, last bool) {
				var result any
				if last && !u1.After(g.asOf) {
					result = "COMPLETED"
				}
				g.emit(tPipelineUpdates, []any{accountID, ws, pipelineID, upd, "REFRESH", nil, nil, "JOB_TASK", trigger, result, s, e})
			})
			g.ownUsage(u0, minTime(u1, g.asOf), ownPipelineDBUPerHour, func(h time.Time, dbu float64) {
				g.usage(ws, "PREMIUM_DLT_CORE_COMPUTE", h, dbu, pipelineTags,
					usageMeta("dlt_pipeline_id", pipelineID, "dlt_update_id", upd), idMeta, featuresServerless, "DLT")
			})
		}
	}
}

// ownUsage calls f with each complete clock hour (ending by AsOf) that
// [start, end) overlaps and the DBUs used in it at rate per hour.
func (g *gen) ownUsage(start, end time.Time, rate float64, f func(h time.Time, dbu float64)) {
	for h := start.Truncate(time.Hour); h.Before(end); h = h.Add(time.Hour) {
		if h.Add(time.Hour).After(g.asOf) {
			break
		}
		f(h, rate*overlap(start, end, h, h.Add(time.Hour)).Hours())
	}
}

// emitOwnRun writes one successful run of an own job: its timeline slices
// and one task after another, each an equal share of the run.
func (g *gen) emitOwnRun(ws string, oj ownJob, runID string, start, end time.Time, seq *int) {
	done := !end.After(g.asOf)
	hourSlices(start, minTime(end, g.asOf), func(s, e time.Time, last bool) {
		r := g.row(tRunTimeline)
		r[runCol.AccountID], r[runCol.WorkspaceID], r[runCol.JobID], r[runCol.RunID] = accountID, ws, oj.id, runID
		r[runCol.Start], r[runCol.End], r[runCol.TriggerType], r[runCol.RunType] = s, e, "CRON", "JOB_RUN"
		r[runCol.RunName], r[runCol.ComputeIDs], r[runCol.Compute] = oj.job.Name, emptyIDs, newCols(s, serverlessCompute)
		if last && done {
			r[runCol.ResultState], r[runCol.TerminationCode] = "SUCCEEDED", "SUCCESS"
			if !s.Before(newColumnsFrom) {
				r[runCol.TerminationType], r[runCol.Setup], r[runCol.Queue], r[runCol.Cleanup] = "SUCCESS", int64(0), int64(0), int64(0)
				r[runCol.Run], r[runCol.Execution] = int64(oj.dur/time.Second), int64(oj.dur/time.Second)
			}
		}
		g.emit(tRunTimeline, r)
	})
	step := oj.dur / time.Duration(len(oj.tasks))
	for i, key := range oj.tasks {
		t0, t1 := start.Add(time.Duration(i)*step), start.Add(time.Duration(i+1)*step)
		if !t0.Before(g.asOf) {
			return
		}
		taskRunID := numericID(runKey(oj.idx, *seq))
		*seq++
		tDone := !t1.After(g.asOf)
		hourSlices(t0, minTime(t1, g.asOf), func(s, e time.Time, last bool) {
			r := g.row(tTaskTimline)
			r[taskRunCol.AccountID], r[taskRunCol.WorkspaceID], r[taskRunCol.JobID] = accountID, ws, oj.id
			r[taskRunCol.RunID], r[taskRunCol.JobRunID], r[taskRunCol.ParentRunID] = taskRunID, runID, runID
			r[taskRunCol.Start], r[taskRunCol.End], r[taskRunCol.TaskKey], r[taskRunCol.ComputeIDs] = s, e, key, emptyIDs
			r[taskRunCol.Compute] = newCols(s, serverlessCompute)
			if last && tDone {
				r[taskRunCol.ResultState], r[taskRunCol.TerminationCode] = "SUCCEEDED", "SUCCESS"
				if !s.Before(newColumnsFrom) {
					r[taskRunCol.TerminationType], r[taskRunCol.Setup], r[taskRunCol.Cleanup] = "SUCCESS", int64(0), int64(0)
					r[taskRunCol.Execution] = int64(step / time.Second)
				}
			}
			g.emit(tTaskTimline, r)
		})
	}
}

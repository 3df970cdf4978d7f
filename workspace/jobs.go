package workspace

import (
	"context"
	"sort"
	"strconv"

	"github.com/databricks/databricks-sdk-go"
	"github.com/databricks/databricks-sdk-go/service/jobs"

	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/spec"
)

// Job is what dbmon needs of a job from the Jobs API.
type Job struct {
	ID      int64
	Name    string
	Tags    map[string]string
	Creator string
	// RunAs is the explicit run_as of the job's settings (user or service
	// principal), empty when the job runs as its owner. jobs/list does not
	// return the effective run_as_user_name.
	RunAs     string
	Workspace string
	Schedule  *jobs.CronSchedule // nil when the job has no cron schedule
	Paused    bool
}

// Scheduled reports whether the job runs on an active cron schedule.
func (j Job) Scheduled() bool { return j.Schedule != nil && !j.Paused }

func jobFromAPI(b jobs.BaseJob, workspaceID string) Job {
	j := Job{ID: b.JobId, Creator: b.CreatorUserName, Workspace: workspaceID}
	if s := b.Settings; s != nil {
		j.Name, j.Tags = s.Name, s.Tags
		if s.RunAs != nil {
			j.RunAs = s.RunAs.UserName
			if j.RunAs == "" {
				j.RunAs = s.RunAs.ServicePrincipalName
			}
		}
		if s.Schedule != nil && s.Schedule.QuartzCronExpression != "" {
			j.Schedule = s.Schedule
			j.Paused = s.Schedule.PauseStatus == jobs.PauseStatusPaused
		}
	}
	return j
}

// listJobs lists every job the caller can see, following page tokens.
func listJobs(ctx context.Context, w *databricks.WorkspaceClient, workspaceID string) ([]Job, error) {
	all, err := w.Jobs.ListAll(ctx, jobs.ListJobsRequest{Limit: 100})
	if err != nil {
		return nil, err
	}
	out := make([]Job, 0, len(all))
	for _, b := range all {
		out = append(out, jobFromAPI(b, workspaceID))
	}
	sort.SliceStable(out, func(i, k int) bool { return out[i].ID < out[k].ID })
	return out, nil
}

// teamMatcher assigns jobs to teams by the spec's rules, with the
// evaluator the synthetic data uses too (model.Matcher): the first team
// whose every condition holds owns the job, else the unassigned team.
type teamMatcher struct {
	m          *model.Matcher
	unassigned string
}

func newTeamMatcher(s *spec.Spec) teamMatcher {
	m, err := model.NewMatcher(s)
	if err != nil {
		// spec.Load rejects a regex that does not compile; were one to get
		// here, no team could claim a job.
		m, _ = model.NewMatcher(&spec.Spec{UnassignedTeam: s.UnassignedTeam})
	}
	return teamMatcher{m: m, unassigned: m.Unassigned()}
}

func matchJob(j Job) *model.MatchJob {
	return &model.MatchJob{WorkspaceID: j.Workspace, JobID: strconv.FormatInt(j.ID, 10), Name: j.Name,
		RunAs: j.RunAs, Creator: j.Creator, Tags: j.Tags}
}

func (m teamMatcher) owner(j Job) string { return m.m.Team(matchJob(j)) }

// selectJobs returns the jobs an SLA's selector picks.
func selectJobs(sel spec.JobSelector, js []Job, m teamMatcher) []Job {
	s, err := model.CompileSelector(sel)
	if err != nil {
		return nil // validated by spec.Load
	}
	var out []Job
	for _, j := range js {
		mj := matchJob(j)
		if s.Selects(mj, m.m.Team(mj)) {
			out = append(out, j)
		}
	}
	return out
}

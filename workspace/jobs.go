package workspace

import (
	"context"
	"regexp"
	"sort"
	"strconv"

	"github.com/databricks/databricks-sdk-go"
	"github.com/databricks/databricks-sdk-go/service/jobs"

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

// teamMatcher assigns jobs to teams by the spec's rules: the first team
// whose every condition holds owns the job, else the unassigned team. It
// mirrors the generated SQL (model.TeamCase).
type teamMatcher struct {
	teams      []spec.Team
	res        []*regexp.Regexp
	unassigned string
}

func newTeamMatcher(s *spec.Spec) teamMatcher {
	m := teamMatcher{teams: s.Teams, unassigned: s.UnassignedTeam}
	if m.unassigned == "" {
		m.unassigned = "unassigned"
	}
	for _, t := range s.Teams {
		var re *regexp.Regexp
		if t.Match.JobName != "" {
			re, _ = regexp.Compile(t.Match.JobName) // validated by spec.Load
		}
		m.res = append(m.res, re)
	}
	return m
}

func (m teamMatcher) owner(j Job) string {
	for i, t := range m.teams {
		if matches(t.Match, m.res[i], j) {
			return t.Name
		}
	}
	return m.unassigned
}

func matches(c spec.Match, re *regexp.Regexp, j Job) bool {
	for k, v := range c.Tags {
		if got, ok := j.Tags[k]; !ok || got != v {
			return false
		}
	}
	if c.JobName != "" && (re == nil || !re.MatchString(j.Name)) {
		return false
	}
	if len(c.RunAs) > 0 && !contains(c.RunAs, j.RunAs) && !contains(c.RunAs, j.Creator) {
		return false
	}
	if len(c.Workspaces) > 0 && !contains(c.Workspaces, j.Workspace) {
		return false
	}
	return true
}

func contains(list []string, v string) bool {
	if v == "" {
		return false
	}
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// selectJobs returns the jobs an SLA's selector picks.
func selectJobs(sel spec.JobSelector, js []Job, m teamMatcher) []Job {
	var re *regexp.Regexp
	if sel.NameRegex != "" {
		re, _ = regexp.Compile(sel.NameRegex) // validated by spec.Load
	}
	var out []Job
	for _, j := range js {
		var ok bool
		switch {
		case len(sel.Names) > 0:
			ok = contains(sel.Names, j.Name)
		case sel.NameRegex != "":
			ok = re != nil && re.MatchString(j.Name)
		case len(sel.JobIDs) > 0:
			ok = contains(sel.JobIDs, strconv.FormatInt(j.ID, 10))
		case len(sel.Tags) > 0:
			ok = matches(spec.Match{Tags: sel.Tags}, nil, j)
		case sel.Team != "":
			ok = m.owner(j) == sel.Team
		}
		if ok {
			out = append(out, j)
		}
	}
	return out
}

package model

import (
	"fmt"
	"maps"
	"regexp"
	"slices"

	"github.com/dbmon/dbmon/generator/spec"
)

// This file evaluates the spec's team rules and SLA selectors in Go, for
// the code that must agree with the pipeline without running it: import
// and doctor (which jobs a team owns, which an SLA selects) and the
// synthetic data (which team a generated job lands in). It implements the
// same rules as the pipeline's SQL:
//
//   - a job belongs to the first team whose every condition holds, else to
//     the unassigned team;
//   - a tag condition holds when the job has the tag with exactly that value;
//   - job_name holds when the regex matches somewhere in the name
//     (regexp_like, RE2 syntax in both);
//   - run_as holds when the job's run_as or its creator is listed;
//   - workspaces holds when the job's workspace is listed;
//   - an attribute the job lacks ("" here, NULL in SQL) satisfies no
//     condition on it;
//   - an SLA selects by exactly one criterion: names, name_regex, job_ids,
//     tags (all of them), or team (the job's team by the rules above).

// MatchJob is what the rules look at: a job's latest definition.
type MatchJob struct {
	WorkspaceID, JobID, Name, RunAs, Creator string
	Tags                                     map[string]string
}

// Matcher evaluates one spec's team rules and SLA selectors.
type Matcher struct {
	teams      []teamMatch
	unassigned string
	slas       []Selector
}

type teamMatch struct {
	name    string
	tags    map[string]string
	tagKeys []string // sorted: evaluation never iterates a map
	re      *regexp.Regexp
	runAs   []string
	ws      []string
}

// Selector is one compiled SLA job selector.
type Selector struct {
	names   []string
	re      *regexp.Regexp
	jobIDs  []string
	tags    map[string]string
	tagKeys []string
	team    string
}

// NewMatcher compiles the spec's rules. Its only error is a regex that
// does not compile, which spec validation reports first.
func NewMatcher(s *spec.Spec) (*Matcher, error) {
	m := &Matcher{unassigned: s.UnassignedTeam}
	if m.unassigned == "" {
		m.unassigned = "unassigned"
	}
	for _, t := range s.Teams {
		tm := teamMatch{name: t.Name, tags: t.Match.Tags, tagKeys: slices.Sorted(maps.Keys(t.Match.Tags)),
			runAs: t.Match.RunAs, ws: t.Match.Workspaces}
		if t.Match.JobName != "" {
			re, err := regexp.Compile(t.Match.JobName)
			if err != nil {
				return nil, fmt.Errorf("team %s: job_name: %v", t.Name, err)
			}
			tm.re = re
		}
		m.teams = append(m.teams, tm)
	}
	for _, sl := range s.SLAs {
		sm, err := CompileSelector(sl.Jobs)
		if err != nil {
			return nil, fmt.Errorf("sla %s: %v", sl.Name, err)
		}
		m.slas = append(m.slas, *sm)
	}
	return m, nil
}

// CompileSelector compiles one selector outside a spec's SLAs (doctor and
// import check selectors against a workspace's jobs).
func CompileSelector(sel spec.JobSelector) (*Selector, error) {
	sm := &Selector{names: sel.Names, jobIDs: sel.JobIDs, tags: sel.Tags,
		tagKeys: slices.Sorted(maps.Keys(sel.Tags)), team: sel.Team}
	if sel.NameRegex != "" {
		re, err := regexp.Compile(sel.NameRegex)
		if err != nil {
			return nil, fmt.Errorf("name_regex: %v", err)
		}
		sm.re = re
	}
	return sm, nil
}

// Unassigned is the team of jobs no rule claims.
func (m *Matcher) Unassigned() string { return m.unassigned }

// Team is the team that owns the job: the first whose every condition
// holds, else the unassigned team.
func (m *Matcher) Team(j *MatchJob) string {
	for i := range m.teams {
		if m.teams[i].holds(j) {
			return m.teams[i].name
		}
	}
	return m.unassigned
}

func (t *teamMatch) holds(j *MatchJob) bool {
	return tagsHold(t.tags, t.tagKeys, j.Tags) &&
		(t.re == nil || j.Name != "" && t.re.MatchString(j.Name)) &&
		(len(t.runAs) == 0 || listed(t.runAs, j.RunAs) || listed(t.runAs, j.Creator)) &&
		(len(t.ws) == 0 || listed(t.ws, j.WorkspaceID))
}

// Selects reports whether SLA i (in spec order) selects the job; team is
// the job's team by Team.
func (m *Matcher) Selects(i int, j *MatchJob, team string) bool {
	return m.slas[i].Selects(j, team)
}

// Selects reports whether the selector picks the job; team is the job's
// team by Matcher.Team.
func (s *Selector) Selects(j *MatchJob, team string) bool {
	switch {
	case len(s.names) > 0:
		return listed(s.names, j.Name)
	case s.re != nil:
		return j.Name != "" && s.re.MatchString(j.Name)
	case len(s.jobIDs) > 0:
		return listed(s.jobIDs, j.JobID)
	case len(s.tags) > 0:
		return tagsHold(s.tags, s.tagKeys, j.Tags)
	case s.team != "":
		return s.team == team
	}
	return false
}

func tagsHold(want map[string]string, keys []string, got map[string]string) bool {
	for _, k := range keys {
		if v, ok := got[k]; !ok || v != want[k] {
			return false
		}
	}
	return true
}

// listed reports whether v is in list; "" (NULL) never is.
func listed(list []string, v string) bool {
	return v != "" && slices.Contains(list, v)
}

package workspace

import (
	"fmt"
	"maps"
	"math"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dbmon/dbmon/generator/spec"
)

// Tuning of the proposals.
const (
	// MinRuns is the history an SLA needs: successful runs for a duration,
	// finished runs for a success rate.
	MinRuns = 5
	// Headroom multiplies the p95 duration into max_duration, which is then
	// rounded up to DurationStep.
	Headroom     = 1.5
	DurationStep = 5 * time.Minute
	// MaxSuccessRate caps the proposed min_success_rate: a job that never
	// failed in the window should not breach on its first failure.
	MaxSuccessRate = 99
)

// OwnerTagKeys are the tag keys that name a job's owner, in order of
// preference when two cover as many jobs. Keys compare case-insensitively.
var OwnerTagKeys = []string{"team", "owner", "owner_team", "owning_team", "cost_center", "costcenter", "cost-center",
	"department", "dept", "business_unit", "bu", "group", "squad", "tribe", "domain", "org", "project", "product"}

// Proposal is what Import proposes to add to a spec.
type Proposal struct {
	// Timezone is the bundle time zone the deadlines are written in.
	Timezone string
	// TagKey is the owner tag the teams come from ("" when none is set),
	// carried by TagJobs of the considered jobs.
	TagKey  string
	TagJobs int
	// Considered counts the jobs teams were proposed for: jobs no existing
	// team owns.
	Considered int
	Teams      []TeamProposal
	SLAs       []SLAProposal
	// Skipped names scheduled jobs that get no SLA, with the reason.
	Skipped []string
}

// TeamProposal is a proposed team and the jobs it would own.
type TeamProposal struct {
	Name  string
	Match spec.Match
	Jobs  []string
	// ByCreator is set for teams proposed from a creator.
	ByCreator bool
}

// SLAProposal is a proposed SLA for one scheduled job.
type SLAProposal struct {
	Name     string
	Job      Job
	Selector spec.JobSelector
	// Deadline is HH:MM in the proposal's time zone, empty when none.
	Deadline       string
	Days           []string
	MaxDuration    string
	MinSuccessRate int // 0: none
	WindowDays     int // 0: the default
	// Comments explain each number, by field.
	Comments map[string]string
	// Note is a comment on the whole SLA, such as why it has no deadline.
	Note string
}

// propose derives teams and SLAs from the inventory. existing is the spec
// being merged into, or nil: its teams keep the jobs they own, its SLAs the
// jobs they select, and its names stay taken.
func propose(inv *Inventory, existing *spec.Spec) Proposal {
	p := Proposal{Timezone: "UTC"}
	taken := map[string]bool{"unassigned": true} // names in use
	named := map[string]bool{}                   // names of existing teams
	var matcher *teamMatcher
	if existing != nil {
		if existing.Bundle.Timezone != "" {
			p.Timezone = existing.Bundle.Timezone
		}
		for _, t := range existing.Teams {
			taken[t.Name], named[t.Name] = true, true
		}
		if existing.UnassignedTeam != "" {
			taken[existing.UnassignedTeam] = true
		}
		m := newTeamMatcher(existing)
		matcher = &m
	} else {
		p.Timezone = commonTimezone(inv.Jobs)
	}

	// Teams, for the jobs no existing team owns.
	var free []Job
	for _, j := range inv.Jobs {
		if matcher == nil || matcher.owner(j) == matcher.unassigned {
			free = append(free, j)
		}
	}
	p.Considered = len(free)
	p.TagKey, p.TagJobs = ownerTagKey(free)
	existingMatch := func(m spec.Match) bool {
		if existing == nil {
			return false
		}
		for _, t := range existing.Teams {
			if reflect.DeepEqual(normMatch(t.Match), normMatch(m)) {
				return true
			}
		}
		return false
	}
	byValue := map[string][]string{}
	byCreator := map[string][]string{}
	for _, j := range free {
		if v := j.Tags[p.TagKey]; p.TagKey != "" && v != "" {
			byValue[v] = append(byValue[v], j.Name)
		} else if j.Creator != "" {
			byCreator[j.Creator] = append(byCreator[j.Creator], j.Name)
		}
	}
	values := slices.Sorted(maps.Keys(byValue))
	sort.SliceStable(values, func(i, k int) bool { return slug(values[i], "team") < slug(values[k], "team") })
	for _, v := range values {
		m := spec.Match{Tags: map[string]string{p.TagKey: v}}
		if existingMatch(m) || named[slug(v, "team")] {
			continue
		}
		p.Teams = append(p.Teams, TeamProposal{Name: unique(slug(v, "team"), taken), Match: m, Jobs: byValue[v]})
	}
	creators := slices.Sorted(maps.Keys(byCreator))
	sort.SliceStable(creators, func(i, k int) bool { return creatorName(creators[i]) < creatorName(creators[k]) })
	for _, c := range creators {
		m := spec.Match{RunAs: []string{c}}
		if existingMatch(m) || named[creatorName(c)] {
			continue
		}
		p.Teams = append(p.Teams, TeamProposal{Name: unique(creatorName(c), taken), Match: m, Jobs: byCreator[c], ByCreator: true})
	}

	// SLAs, for scheduled jobs no existing SLA selects.
	covered := map[int64]bool{}
	slaTaken := map[string]bool{}
	if existing != nil {
		for _, s := range existing.SLAs {
			slaTaken[s.Name] = true
			for _, j := range selectJobs(s.Jobs, inv.Jobs, *matcher) {
				covered[j.ID] = true
			}
		}
	}
	nameCount := map[string]int{}
	for _, j := range inv.Jobs {
		nameCount[j.Name]++
	}
	loc, err := time.LoadLocation(p.Timezone)
	if err != nil {
		loc = time.UTC
	}
	for _, j := range inv.Jobs {
		if !j.Scheduled() || covered[j.ID] {
			continue
		}
		s, why := proposeSLA(j, inv.Runs[j.ID], inv, loc, p.Timezone)
		if s == nil {
			p.Skipped = append(p.Skipped, fmt.Sprintf("%q (%s)", j.Name, why))
			continue
		}
		s.Name = unique(slug(j.Name, "job"), slaTaken)
		if nameCount[j.Name] == 1 {
			s.Selector = spec.JobSelector{Names: []string{j.Name}}
		} else {
			s.Selector = spec.JobSelector{JobIDs: []string{strconv.FormatInt(j.ID, 10)}}
		}
		p.SLAs = append(p.SLAs, *s)
	}
	return p
}

// proposeSLA derives one job's SLA from its runs, or says why it has none.
func proposeSLA(j Job, runs []Run, inv *Inventory, loc *time.Location, tz string) (*SLAProposal, string) {
	var ok []time.Duration
	succeeded := 0
	for _, r := range runs {
		if r.Success {
			succeeded++
			ok = append(ok, r.Duration)
		}
	}
	if succeeded < MinRuns {
		return nil, fmt.Sprintf("%d successful runs in the last %d days; an SLA needs %d", succeeded, inv.Days, MinRuns)
	}
	s := &SLAProposal{Job: j, Comments: map[string]string{}}
	sort.Slice(ok, func(a, b int) bool { return ok[a] < ok[b] })
	p95 := ok[int(math.Ceil(0.95*float64(len(ok))))-1]
	maxDur := time.Duration(math.Ceil(float64(p95)*Headroom/float64(DurationStep))) * DurationStep
	s.MaxDuration = formatDuration(maxDur)
	s.Comments["max_duration"] = fmt.Sprintf("p95 of %d successful runs is %s; ×%g, rounded up to %s",
		len(ok), p95.Round(time.Second), Headroom, formatDuration(DurationStep))
	s.Comments["jobs"] = fmt.Sprintf("job %d, schedule %q %s", j.ID, j.Schedule.QuartzCronExpression, j.Schedule.TimezoneId)

	rate := 100 * float64(succeeded) / float64(len(runs))
	floor := int(math.Floor(rate))
	switch {
	case floor > MaxSuccessRate:
		s.MinSuccessRate = MaxSuccessRate
		s.Comments["min_success_rate"] = fmt.Sprintf("%d of %d runs succeeded (%s%%) in the last %d days; capped at %d",
			succeeded, len(runs), pct(rate), inv.Days, MaxSuccessRate)
	case floor >= 1:
		s.MinSuccessRate = floor
		s.Comments["min_success_rate"] = fmt.Sprintf("%d of %d runs succeeded (%s%%) in the last %d days, rounded down",
			succeeded, len(runs), pct(rate), inv.Days)
	}
	if s.MinSuccessRate > 0 && inv.Days != 30 {
		s.WindowDays = inv.Days
	}

	daily, ok2 := parseDaily(j.Schedule.QuartzCronExpression)
	if !ok2 {
		s.Note = fmt.Sprintf("No deadline: schedule %q does not run once a day at a fixed time.", j.Schedule.QuartzCronExpression)
		return s, ""
	}
	jobLoc, err := time.LoadLocation(j.Schedule.TimezoneId)
	if err != nil || j.Schedule.TimezoneId == "" {
		s.Note = fmt.Sprintf("No deadline: unknown schedule time zone %q.", j.Schedule.TimezoneId)
		return s, ""
	}
	// The deadline is the scheduled start plus max_duration: a run that
	// starts on time and meets max_duration meets it. Time zones are
	// converted on the import's date.
	y, m, d := inv.Now.In(jobLoc).Date()
	start := time.Date(y, m, d, daily.hour, daily.minute, daily.second, 0, jobLoc)
	end := start.Add(maxDur)
	startLocal, endLocal := start.In(loc), end.In(loc)
	if endLocal.Second() > 0 {
		endLocal = endLocal.Truncate(time.Minute).Add(time.Minute)
	}
	sy, sm, sd := startLocal.Date()
	ey, em, ed := endLocal.Date()
	jy, jm, jd := start.Date()
	startText := fmt.Sprintf("%02d:%02d", daily.hour, daily.minute)
	if sy != ey || sm != em || sd != ed || sy != jy || sm != jm || sd != jd {
		s.Note = fmt.Sprintf("No deadline: the %s %s start plus max_duration %s ends on another day in %s.",
			startText, j.Schedule.TimezoneId, s.MaxDuration, tz)
		return s, ""
	}
	s.Deadline = fmt.Sprintf("%02d:%02d", endLocal.Hour(), endLocal.Minute())
	s.Days = daily.days
	if j.Schedule.TimezoneId == tz {
		s.Comments["deadline"] = fmt.Sprintf("%s start + max_duration", startText)
	} else {
		s.Comments["deadline"] = fmt.Sprintf("%s %s start + max_duration, in %s", startText, j.Schedule.TimezoneId, tz)
	}
	if len(daily.days) > 0 {
		s.Comments["days"] = "the days the schedule runs"
	}
	return s, ""
}

type dailySchedule struct {
	hour, minute, second int
	days                 []string // nil: every day
}

var quartzDays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// parseDaily recognises a Quartz cron expression that fires once a day at a
// fixed time, on every day or on some days of the week.
func parseDaily(expr string) (dailySchedule, bool) {
	f := strings.Fields(expr)
	if len(f) != 6 && len(f) != 7 {
		return dailySchedule{}, false
	}
	var d dailySchedule
	var err1, err2, err3 error
	d.second, err1 = strconv.Atoi(f[0])
	d.minute, err2 = strconv.Atoi(f[1])
	d.hour, err3 = strconv.Atoi(f[2])
	if err1 != nil || err2 != nil || err3 != nil || d.second > 59 || d.minute > 59 || d.hour > 23 {
		return dailySchedule{}, false
	}
	if (f[3] != "*" && f[3] != "?") || f[4] != "*" || (len(f) == 7 && f[6] != "*") {
		return dailySchedule{}, false
	}
	if f[5] == "*" || f[5] == "?" {
		return d, true
	}
	set := map[int]bool{}
	for _, part := range strings.Split(f[5], ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, ok := quartzDay(lo)
		if !ok {
			return dailySchedule{}, false
		}
		b := a
		if isRange {
			if b, ok = quartzDay(hi); !ok {
				return dailySchedule{}, false
			}
		}
		for i := a; ; i = i%7 + 1 {
			set[i] = true
			if i == b {
				break
			}
		}
	}
	if len(set) == 7 {
		return d, true
	}
	// In the spec's order, Monday first.
	for _, i := range []int{2, 3, 4, 5, 6, 7, 1} {
		if set[i] {
			d.days = append(d.days, quartzDays[i-1])
		}
	}
	return d, true
}

// quartzDay reads a Quartz day of week: 1-7 (Sunday first) or SUN-SAT.
func quartzDay(s string) (int, bool) {
	for i, n := range quartzDays {
		if strings.EqualFold(s, n) {
			return i + 1, true
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 1 && n <= 7
}

// commonTimezone is the time zone of most active schedules, UTC without any.
func commonTimezone(js []Job) string {
	count := map[string]int{}
	for _, j := range js {
		if j.Scheduled() && j.Schedule.TimezoneId != "" {
			if _, err := time.LoadLocation(j.Schedule.TimezoneId); err == nil {
				count[j.Schedule.TimezoneId]++
			}
		}
	}
	best := "UTC"
	for _, tz := range slices.Sorted(maps.Keys(count)) {
		if count[tz] > count[best] {
			best = tz
		}
	}
	return best
}

// ownerTagKey picks the owner tag key set on most jobs, as spelled on most
// of them.
func ownerTagKey(js []Job) (string, int) {
	spelled := map[string]map[string]int{} // lower-case key → spelling → jobs
	for _, j := range js {
		for k, v := range j.Tags {
			if v == "" {
				continue
			}
			lk := strings.ToLower(k)
			if spelled[lk] == nil {
				spelled[lk] = map[string]int{}
			}
			spelled[lk][k]++
		}
	}
	best, bestN := "", 0
	for _, lk := range OwnerTagKeys {
		for _, k := range slices.Sorted(maps.Keys(spelled[lk])) {
			if n := spelled[lk][k]; n > bestN {
				best, bestN = k, n
			}
		}
	}
	return best, bestN
}

func normMatch(m spec.Match) spec.Match {
	if len(m.Tags) == 0 {
		m.Tags = nil
	}
	if len(m.RunAs) == 0 {
		m.RunAs = nil
	}
	if len(m.Workspaces) == 0 {
		m.Workspaces = nil
	}
	return m
}

var (
	nonName = regexp.MustCompile(`[^a-z0-9_-]+`)
	uuidRE  = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// slug turns s into a spec name (^[a-z][a-z0-9_-]*$), prefixing prefix when
// s does not start with a letter.
func slug(s, prefix string) string {
	n := nonName.ReplaceAllString(strings.ToLower(s), "-")
	n = strings.Trim(n, "-_")
	if len(n) > 60 {
		n = strings.TrimRight(n[:60], "-_")
	}
	if n == "" {
		return prefix
	}
	if n[0] < 'a' || n[0] > 'z' {
		n = prefix + "-" + n
	}
	return n
}

// creatorName names a team after a creator: an email's local part, or
// sp-<first 8 hex digits> for a service principal's application id.
func creatorName(c string) string {
	if uuidRE.MatchString(c) {
		return "sp-" + strings.ToLower(c[:8])
	}
	local, _, _ := strings.Cut(c, "@")
	return slug(local, "user")
}

// unique returns name, or name-2, name-3, ... when taken, and takes it.
func unique(name string, taken map[string]bool) string {
	n := name
	for i := 2; taken[n]; i++ {
		n = name + "-" + strconv.Itoa(i)
	}
	taken[n] = true
	return n
}

// formatDuration writes whole minutes as the spec's durations: 45m, 2h,
// 1h30m.
func formatDuration(d time.Duration) string {
	m := int(d.Round(time.Minute) / time.Minute)
	switch {
	case m < 60:
		return fmt.Sprintf("%dm", m)
	case m%60 == 0:
		return fmt.Sprintf("%dh", m/60)
	}
	return fmt.Sprintf("%dh%dm", m/60, m%60)
}

func pct(f float64) string {
	return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64)
}

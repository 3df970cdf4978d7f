package model

import "sort"

// Config holds the rows of the config tables (ConfigTables): the spec's rules
// as plain data. The config templates print each row as a VALUES tuple, every
// string through SQLString; no SQL is built here. Rows are in a deterministic
// order: rules in match order, their values sorted.
type Config struct {
	Teams                  []TeamRow
	TeamConditions         []ConditionRow
	SKUDiscounts           []SKUDiscount // longest prefix first
	FailureClasses         []FailureClassRow
	FailureClassConditions []ConditionRow
	SLAs                   []SLARow
	SLASelectors           []ConditionRow
	SLADays                []SLADayRow
}

// TeamRow is one row of config_teams.
type TeamRow struct {
	RuleOrder     int
	Team          string
	JobName       string // "" is NULL: no job_name condition
	Conditions    int
	MonthlyBudget *float64
	OwnNotify     bool // teams[].notify is set
}

// ConditionRow is one value a rule accepts (config_team_conditions,
// config_failure_class_conditions, config_sla_selectors). Owner is the rule
// (team, failure class or SLA name); TagKey is set for tag values only.
type ConditionRow struct {
	Owner       string
	Attribute   string
	TagKey      string // "" is NULL
	Value       string
	ConditionNo int
}

// HasTagKey reports whether the row is a tag value (tag_key is not NULL).
func (c ConditionRow) HasTagKey() bool { return c.Attribute == "tag" }

// FailureClassRow is one row of config_failure_classes.
type FailureClassRow struct {
	ClassOrder int
	Name       string
	ErrorRegex string // "" is NULL
	Conditions int
}

// SLARow is one row of config_slas; a zero or nil limit is NULL.
type SLARow struct {
	Name, Severity, Selector string
	NameRegex                string // "" is NULL
	Conditions               int
	DeadlineMinutes          *int
	MaxDurationSecs          *int
	MinSuccessRate           *float64
	WindowDays               int
	OwnNotify                bool // the SLA has its own notify (and its own alert)
	GraceSecs                int
}

// SLADayRow is one row of config_sla_days.
type SLADayRow struct {
	SLA       string
	DayOfWeek int
}

// Attributes the condition rows compare, and the condition numbers of rules
// whose conditions are fixed. Each tag of a team rule or an SLA selector is
// its own condition, numbered from 1. The templates match a regex condition
// without a row: a team's job_name is condition 0 and a failure class's
// error_regex condition 1 (config_teams.job_name, config_failure_classes.
// error_regex), an SLA's name_regex condition 1 (config_slas.name_regex).
const (
	condTerminationCode = 2
	condResultState     = 3
	condSelector        = 1 // names, job_ids and team selectors

	attrTag             = "tag"
	attrRunAs           = "run_as"
	attrWorkspace       = "workspace"
	attrJobName         = "job_name"
	attrJobID           = "job_id"
	attrTeam            = "team"
	attrTerminationCode = "termination_code"
	attrResultState     = "result_state"
)

// buildConfig turns the resolved rules into config rows. budgets maps a team
// to its monthly budget, routed to whether it has destinations of its own.
func buildConfig(m *Monitor, budgets map[string]*float64, routed map[string]bool) Config {
	c := Config{SKUDiscounts: m.Pricing.SKUDiscounts}
	for i, r := range m.TeamRules {
		row := TeamRow{RuleOrder: i + 1, Team: r.Team, JobName: r.JobName, MonthlyBudget: budgets[r.Team], OwnNotify: routed[r.Team]}
		add := func(attr, key string, vs []string, no int) {
			for _, v := range vs {
				c.TeamConditions = append(c.TeamConditions, ConditionRow{r.Team, attr, key, v, no})
			}
		}
		if r.JobName != "" {
			row.Conditions++
		}
		n := 0 // condition numbers: tags 1..len(Tags), then run_as, then workspaces
		for _, kv := range r.Tags {
			n++
			add(attrTag, kv.Key, []string{kv.Value}, n)
		}
		if len(r.RunAs) > 0 {
			n++
			add(attrRunAs, "", uniqueSorted(r.RunAs), n)
		}
		if len(r.Workspaces) > 0 {
			n++
			add(attrWorkspace, "", uniqueSorted(r.Workspaces), n)
		}
		row.Conditions += n
		c.Teams = append(c.Teams, row)
	}

	for i, f := range m.FailureClasses {
		row := FailureClassRow{ClassOrder: i + 1, Name: f.Name, ErrorRegex: f.ErrorRegex}
		if f.ErrorRegex != "" {
			row.Conditions++
		}
		if len(f.TerminationCodes) > 0 {
			row.Conditions++
			for _, v := range uniqueSorted(f.TerminationCodes) {
				c.FailureClassConditions = append(c.FailureClassConditions, ConditionRow{f.Name, attrTerminationCode, "", v, condTerminationCode})
			}
		}
		if len(f.ResultStates) > 0 {
			row.Conditions++
			for _, v := range uniqueSorted(f.ResultStates) {
				c.FailureClassConditions = append(c.FailureClassConditions, ConditionRow{f.Name, attrResultState, "", v, condResultState})
			}
		}
		c.FailureClasses = append(c.FailureClasses, row)
	}

	for _, s := range m.SLAs {
		row := SLARow{Name: s.Name, Severity: s.Severity, WindowDays: s.WindowDays, MinSuccessRate: s.MinSuccessRate, Conditions: 1,
			OwnNotify: len(s.Notify) > 0, GraceSecs: s.GraceSecs}
		sel := s.JobSelectorSpec
		values := func(attr string, vs []string) {
			for _, v := range uniqueSorted(vs) {
				c.SLASelectors = append(c.SLASelectors, ConditionRow{s.Name, attr, "", v, condSelector})
			}
		}
		switch {
		case len(sel.Names) > 0:
			row.Selector = "names"
			values(attrJobName, sel.Names)
		case sel.NameRegex != "":
			row.Selector, row.NameRegex = "name_regex", sel.NameRegex
		case len(sel.JobIDs) > 0:
			row.Selector = "job_ids"
			values(attrJobID, sel.JobIDs)
		case len(s.SelectorTags) > 0:
			row.Selector, row.Conditions = "tags", len(s.SelectorTags)
			for i, kv := range s.SelectorTags {
				c.SLASelectors = append(c.SLASelectors, ConditionRow{s.Name, attrTag, kv.Key, kv.Value, i + 1})
			}
		case sel.Team != "":
			row.Selector = "team"
			values(attrTeam, []string{sel.Team})
		}
		if s.HasDeadline() {
			d := s.DeadlineMinutes
			row.DeadlineMinutes = &d
			for _, day := range s.Days {
				if n := len(c.SLADays); n == 0 || c.SLADays[n-1] != (SLADayRow{s.Name, day}) {
					c.SLADays = append(c.SLADays, SLADayRow{s.Name, day})
				}
			}
		}
		if s.MaxDurationSecs > 0 {
			d := s.MaxDurationSecs
			row.MaxDurationSecs = &d
		}
		c.SLAs = append(c.SLAs, row)
	}
	return c
}

// uniqueSorted is the distinct values, sorted: a list condition holds when
// any value matches, so neither order nor repetition matters.
func uniqueSorted(vs []string) []string {
	out := append([]string(nil), vs...)
	sort.Strings(out)
	n := 0
	for i, v := range out {
		if i == 0 || v != out[n-1] {
			out[n] = v
			n++
		}
	}
	return out[:n]
}

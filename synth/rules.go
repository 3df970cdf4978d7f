package synth

import (
	"fmt"
	"maps"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"time"

	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/spec"
)

// This file is the oracle: the spec's team, SLA-selector and discount rules
// evaluated in Go, once. Team rules and SLA selectors are evaluated by
// model.Matcher, the evaluator import and doctor use too; the rest of a
// rule here is what the planner needs to aim jobs at teams and SLAs. What
// the generator records (Incident.Team, which jobs must never fail) always
// comes from the oracle, so a spec whose rules shadow each other is
// reported truthfully.

// identity is what the rules look at: a job's latest version.
type identity struct {
	workspaceID, jobID, name, runAs, creator string
	tags                                     map[string]string
}

func (a *identity) match() *model.MatchJob {
	return &model.MatchJob{WorkspaceID: a.workspaceID, JobID: a.jobID, Name: a.name, RunAs: a.runAs,
		Creator: a.creator, Tags: a.tags}
}

type teamRule struct {
	name       string
	tags       map[string]string
	tagKeys    []string // sorted, so no rule ever iterates a map
	re         *regexp.Regexp
	runAs      []string
	workspaces []string
	budget     float64
	hasBudget  bool
}

type slaRule struct {
	name        string
	names       []string
	re          *regexp.Regexp
	jobIDs      []string
	tags        map[string]string
	tagKeys     []string
	team        string
	deadline    time.Duration // after local midnight
	hasDeadline bool
	days        [7]bool // by time.Weekday
	maxDur      time.Duration
	hasSuccess  bool
	minSuccess  float64 // percent
	windowDays  int
}

type rules struct {
	m          *model.Matcher
	teams      []teamRule
	unassigned string
	slas       []slaRule
	discount   float64
	skuDisc    map[string]float64
	skuKeys    []string // longest first
}

func newRules(s *spec.Spec) (*rules, error) {
	m, err := model.NewMatcher(s)
	if err != nil {
		return nil, err
	}
	r := &rules{m: m, unassigned: m.Unassigned(), skuDisc: s.Pricing.SKUDiscounts}
	if s.Pricing.DiscountPercent != nil {
		r.discount = *s.Pricing.DiscountPercent
	}
	r.skuKeys = slices.Sorted(maps.Keys(s.Pricing.SKUDiscounts))
	slices.SortStableFunc(r.skuKeys, func(a, b string) int { return len(b) - len(a) })
	for _, t := range s.Teams {
		tr := teamRule{name: t.Name, tags: t.Match.Tags, tagKeys: slices.Sorted(maps.Keys(t.Match.Tags)),
			runAs: t.Match.RunAs, workspaces: t.Match.Workspaces}
		if t.Match.JobName != "" {
			re, err := regexp.Compile(t.Match.JobName)
			if err != nil {
				return nil, fmt.Errorf("team %s: %v", t.Name, err)
			}
			tr.re = re
		}
		if t.MonthlyBudget != nil {
			tr.budget, tr.hasBudget = *t.MonthlyBudget, true
		}
		r.teams = append(r.teams, tr)
	}
	for _, sl := range s.SLAs {
		sr := slaRule{name: sl.Name, names: sl.Jobs.Names, jobIDs: sl.Jobs.JobIDs, tags: sl.Jobs.Tags,
			tagKeys: slices.Sorted(maps.Keys(sl.Jobs.Tags)), team: sl.Jobs.Team, hasSuccess: sl.MinSuccessRate != nil, windowDays: sl.WindowDays}
		if sl.MinSuccessRate != nil {
			sr.minSuccess = *sl.MinSuccessRate
		}
		if sr.windowDays == 0 {
			sr.windowDays = 30
		}
		if sl.Jobs.NameRegex != "" {
			re, err := regexp.Compile(sl.Jobs.NameRegex)
			if err != nil {
				return nil, fmt.Errorf("sla %s: %v", sl.Name, err)
			}
			sr.re = re
		}
		if sl.Deadline != "" {
			t, err := time.Parse("15:04", sl.Deadline)
			if err != nil {
				return nil, fmt.Errorf("sla %s: deadline %q: %v", sl.Name, sl.Deadline, err)
			}
			sr.deadline, sr.hasDeadline = time.Duration(t.Hour())*time.Hour+time.Duration(t.Minute())*time.Minute, true
		}
		if len(sl.Days) == 0 {
			sr.days = [7]bool{true, true, true, true, true, true, true}
		}
		for _, d := range sl.Days {
			i := slices.Index([]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}, strings.ToLower(d))
			if i < 0 {
				return nil, fmt.Errorf("sla %s: unknown day %q", sl.Name, d)
			}
			sr.days[i] = true
		}
		if sl.MaxDuration != "" {
			d, err := time.ParseDuration(sl.MaxDuration)
			if err != nil {
				return nil, fmt.Errorf("sla %s: max_duration: %v", sl.Name, err)
			}
			sr.maxDur = d
		}
		r.slas = append(r.slas, sr)
	}
	return r, nil
}

// team is the job's team by the spec's rules.
func (r *rules) team(a *identity) string { return r.m.Team(a.match()) }

// selects reports whether SLA i selects the job; team is the job's team.
func (r *rules) selects(i int, a *identity, team string) bool { return r.m.Selects(i, a.match(), team) }

func (r *rules) teamRule(name string) *teamRule {
	for i := range r.teams {
		if r.teams[i].name == name {
			return &r.teams[i]
		}
	}
	return nil
}

// discountPercent is the longest matching sku_discounts prefix, else the
// contract discount.
func (r *rules) discountPercent(sku string) float64 {
	for _, k := range r.skuKeys {
		if strings.HasPrefix(sku, k) {
			return r.skuDisc[k]
		}
	}
	return r.discount
}

// nameFor makes a job name the regex matches, built around base: first the
// regex's literal prefix + base, then a string sampled from the regex's
// syntax (with base standing in for ".*"), then that sample joined to base.
func nameFor(re *regexp.Regexp, base string) (string, bool) {
	prefix, _ := re.LiteralPrefix()
	cands := []string{prefix + base}
	if tree, err := syntax.Parse(re.String(), syntax.Perl); err == nil {
		var b strings.Builder
		pick := hash64(base) // varies character-class picks with base
		sample(tree, base, &b, &pick)
		g := b.String()
		cands = append(cands, g, g+"_"+base, base+"_"+g)
		b.Reset()
		sample(tree, "", &b, &pick)
		cands = append(cands, b.String())
	}
	for _, c := range cands {
		if c != "" && re.MatchString(c) {
			return c, true
		}
	}
	return "", false
}

// sample writes one short string the regex matches (anchors aside): the
// first alternative, the minimum repetitions, filler for "any text".
func sample(re *syntax.Regexp, filler string, b *strings.Builder, pick *uint64) {
	anyText := func(sub *syntax.Regexp) bool {
		return sub.Op == syntax.OpAnyChar || sub.Op == syntax.OpAnyCharNotNL
	}
	switch re.Op {
	case syntax.OpLiteral:
		s := string(re.Rune)
		if re.Flags&syntax.FoldCase != 0 {
			s = strings.ToLower(s)
		}
		b.WriteString(s)
	case syntax.OpCharClass:
		*pick = splitmix(*pick)
		b.WriteRune(classRune(re.Rune, *pick))
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte('x')
	case syntax.OpCapture:
		sample(re.Sub[0], filler, b, pick)
	case syntax.OpConcat:
		for _, s := range re.Sub {
			sample(s, filler, b, pick)
		}
	case syntax.OpAlternate:
		sample(re.Sub[0], filler, b, pick)
	case syntax.OpStar, syntax.OpQuest:
		if anyText(re.Sub[0]) {
			b.WriteString(filler)
		}
	case syntax.OpPlus:
		if anyText(re.Sub[0]) && filler != "" {
			b.WriteString(filler)
		} else {
			sample(re.Sub[0], filler, b, pick)
		}
	case syntax.OpRepeat:
		if re.Min == 0 && anyText(re.Sub[0]) {
			b.WriteString(filler)
		}
		for range re.Min {
			sample(re.Sub[0], filler, b, pick)
		}
	}
}

// classRune picks a name-friendly rune from a character class (pairs of
// inclusive ranges), the pick-th among those the class allows.
func classRune(ranges []rune, pick uint64) rune {
	in := func(r rune) bool {
		for i := 0; i+1 < len(ranges); i += 2 {
			if ranges[i] <= r && r <= ranges[i+1] {
				return true
			}
		}
		return false
	}
	var ok []rune
	for _, r := range "abcdefghijklmnopqrstuvwxyz0123456789_ABCDEFGHIJKLMNOPQRSTUVWXYZ-" {
		if in(r) {
			ok = append(ok, r)
		}
	}
	if len(ok) > 0 {
		return ok[pick%uint64(len(ok))]
	}
	if len(ranges) > 0 {
		return ranges[0]
	}
	return 'x'
}

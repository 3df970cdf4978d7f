package model

import (
	"strconv"
	"strings"
)

// This file builds the SQL expressions that encode the spec's rules (team
// matching, discounts, failure classes, SLA selectors). Spec strings reach SQL
// only through SQLString; names never become identifiers.

// SQLString quotes s as a Databricks SQL string literal. Databricks treats a
// backslash in a literal as an escape, so it is escaped too; regexes therefore
// arrive at the regex engine unchanged.
func SQLString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`)
	return "'" + r.Replace(s) + "'"
}

// SQLNumber prints a float without an exponent, as a DOUBLE literal.
func SQLNumber(f float64) string {
	return "CAST(" + strconv.FormatFloat(f, 'f', -1, 64) + " AS DOUBLE)"
}

// SQLList quotes values as a parenthesized list of SQL string literals.
func SQLList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = SQLString(v)
	}
	return "(" + strings.Join(q, ", ") + ")"
}

// TeamColumns names the SQL expressions a team rule is evaluated on. An empty
// expression means the attribute is unknown there, and a condition on it
// cannot hold.
type TeamColumns struct {
	Tags, Name, RunAs, Creator, Workspace string
}

// TeamCase is a CASE expression giving the first team whose every condition
// holds, else the unassigned team.
func (b *Bundle) TeamCase(tags, name, runAs, creator, workspace string) string {
	if len(b.Monitor.TeamRules) == 0 {
		return SQLString(b.Unassigned)
	}
	cols := TeamColumns{tags, name, runAs, creator, workspace}
	var sb strings.Builder
	sb.WriteString("CASE")
	for _, r := range b.Monitor.TeamRules {
		sb.WriteString("\n    WHEN " + r.condition(cols) + " THEN " + SQLString(r.Team))
	}
	sb.WriteString("\n    ELSE " + SQLString(b.Unassigned) + " END")
	return sb.String()
}

func (r TeamRule) condition(c TeamColumns) string {
	var conds []string
	unknown := func(expr string) bool {
		if expr == "" {
			conds = append(conds, "FALSE")
			return true
		}
		return false
	}
	for _, kv := range r.Tags {
		if !unknown(c.Tags) {
			conds = append(conds, "try_element_at("+c.Tags+", "+SQLString(kv.Key)+") = "+SQLString(kv.Value))
		}
	}
	if r.JobName != "" && !unknown(c.Name) {
		conds = append(conds, "regexp_like("+c.Name+", "+SQLString(r.JobName)+")")
	}
	if len(r.RunAs) > 0 {
		var who []string
		for _, e := range []string{c.RunAs, c.Creator} {
			if e != "" {
				who = append(who, e+" IN "+SQLList(r.RunAs))
			}
		}
		if len(who) == 0 {
			who = []string{"FALSE"}
		}
		conds = append(conds, "("+strings.Join(who, " OR ")+")")
	}
	if len(r.Workspaces) > 0 && !unknown(c.Workspace) {
		conds = append(conds, c.Workspace+" IN "+SQLList(r.Workspaces))
	}
	// coalesce: a condition on a NULL attribute does not hold, and a NULL
	// must not fall through a CASE as if it were unknown.
	return "coalesce(" + strings.Join(conds, " AND ") + ", FALSE)"
}

// DiscountCase is the discount percent for the SKU expression: the longest
// matching sku_discounts prefix, else the contract discount.
func (b *Bundle) DiscountCase(sku string) string {
	p := b.Monitor.Pricing
	if len(p.SKUDiscounts) == 0 {
		return SQLNumber(p.DiscountPercent)
	}
	var sb strings.Builder
	sb.WriteString("CASE")
	for _, d := range p.SKUDiscounts {
		sb.WriteString("\n      WHEN left(" + sku + ", " + strconv.Itoa(len(d.Prefix)) + ") = " + SQLString(d.Prefix) + " THEN " + SQLNumber(d.Percent))
	}
	sb.WriteString("\n      ELSE " + SQLNumber(p.DiscountPercent) + " END")
	return sb.String()
}

// FailureClassCase names the first failure class whose conditions hold.
func (b *Bundle) FailureClassCase(errorText, terminationCode, resultState string) string {
	var sb strings.Builder
	sb.WriteString("CASE")
	for _, f := range b.Monitor.FailureClasses {
		var conds []string
		if f.ErrorRegex != "" {
			conds = append(conds, "coalesce(regexp_like("+errorText+", "+SQLString(f.ErrorRegex)+"), FALSE)")
		}
		if len(f.TerminationCodes) > 0 {
			conds = append(conds, "coalesce("+terminationCode+" IN "+SQLList(f.TerminationCodes)+", FALSE)")
		}
		if len(f.ResultStates) > 0 {
			conds = append(conds, "coalesce("+resultState+" IN "+SQLList(f.ResultStates)+", FALSE)")
		}
		sb.WriteString("\n    WHEN " + strings.Join(conds, " AND ") + " THEN " + SQLString(f.Name))
	}
	sb.WriteString("\n    ELSE 'other' END")
	return sb.String()
}

// Selector is the SLA's job selector as a condition on jobs_current.
func (s SLA) Selector() string {
	sel := s.JobSelectorSpec
	switch {
	case len(sel.Names) > 0:
		return "job_name IN " + SQLList(sel.Names)
	case sel.NameRegex != "":
		return "coalesce(regexp_like(job_name, " + SQLString(sel.NameRegex) + "), FALSE)"
	case len(sel.JobIDs) > 0:
		return "job_id IN " + SQLList(sel.JobIDs)
	case len(s.SelectorTags) > 0:
		var conds []string
		for _, kv := range s.SelectorTags {
			conds = append(conds, "try_element_at(tags, "+SQLString(kv.Key)+") = "+SQLString(kv.Value))
		}
		return "coalesce(" + strings.Join(conds, " AND ") + ", FALSE)"
	case sel.Team != "":
		return "team = " + SQLString(sel.Team)
	}
	return "FALSE"
}

// DayList is the SLA's deadline days as a SQL list of dayofweek numbers.
func (s SLA) DayList() string {
	d := make([]string, len(s.Days))
	for i, n := range s.Days {
		d[i] = strconv.Itoa(n)
	}
	return "(" + strings.Join(d, ", ") + ")"
}

// WorkspaceNameCase maps the spec's workspace ids to their names; NULL for
// the rest, so the caller can fall back to workspaces_latest.
func (b *Bundle) WorkspaceNameCase(id string) string {
	var named []Workspace
	for _, w := range b.Workspaces {
		if w.Name != "" {
			named = append(named, w)
		}
	}
	if len(named) == 0 {
		return "CAST(NULL AS STRING)"
	}
	var sb strings.Builder
	sb.WriteString("CASE")
	for _, w := range named {
		sb.WriteString(" WHEN " + id + " = " + SQLString(w.ID) + " THEN " + SQLString(w.Name))
	}
	sb.WriteString(" END")
	return sb.String()
}

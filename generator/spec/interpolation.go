package spec

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// A spec string containing ${ is refused wherever it would be substituted
// on the way to Databricks, at its own line, saying by whom:
//   - the Databricks CLI substitutes ${...} in every string of the bundle's
//     YAML (a reference it cannot resolve fails the deploy), and the CLI
//     release dbmon targets has no escape for it;
//   - the pipeline substitutes ${key} from its configuration in its SQL
//     sources, string literals included.
//
// dbmon could carry the value through SQL (its string literals write ${ as
// $\{, which the pipeline leaves alone and Spark reads as ${), but a person
// who writes ${var.env} in a spec means a variable, and the spec has none:
// matching the literal text would silently match no job. So the value is
// refused with the reason rather than carried. Strings that reach only the
// collector's Python (a workspace's host and token secret) keep their ${.

// interpolationTarget says where the strings at a path pattern go. A
// pattern's "*" matches any one key or list index.
type interpolationTarget struct {
	pattern []string
	message string // "" when the value may hold ${
}

const (
	cliReason      = "the Databricks CLI substitutes ${...} in bundle YAML"
	pipelineReason = "the pipeline substitutes ${...} in its SQL"
	literalAdvice  = "so it would not arrive as written; dbmon does not substitute variables in a spec: write the value itself"
)

var interpolationTargets = []interpolationTarget{
	{split("workspaces.*.host"), ""},
	{split("workspaces.*.token_secret"), ""},
	{split("bundle.*"), cliReason + ", and this value is written in databricks.yml, " + literalAdvice},
	{split("bundle.targets.*.*"), cliReason + ", and this value is written in databricks.yml, " + literalAdvice},
	{split("destinations.*.emails.*"), cliReason + ", and this address is written in the jobs' and alerts' notifications (resources/*.yml), " + literalAdvice},
	{split("kpis.*.title"), cliReason + ", and this title names the KPI's alert in resources/alerts.yml, " + literalAdvice},
	{split("reports.*.subject"), cliReason + ", and this subject is written in the report's job in resources/jobs.yml, " + literalAdvice},
	{split("kpis.*.value"), pipelineReason + ", and a KPI's value is SQL in kpi_values, " + literalAdvice},
	{split("teams.*.match.*"), pipelineReason + ", and this value becomes a string literal of config_teams or config_team_conditions, " + literalAdvice},
	{split("slas.*.jobs.*"), pipelineReason + ", and this value becomes a string literal of config_slas or config_sla_selectors, " + literalAdvice},
	{split("failure_classes.*.*"), pipelineReason + ", and this value becomes a string literal of config_failure_classes, " + literalAdvice},
	{split("workspaces.*.name"), pipelineReason + ", and this name becomes a string literal of config_workspaces, " + literalAdvice},
}

// defaultInterpolation covers any other string: every spec value reaches
// the pipeline's SQL or the bundle's YAML.
const defaultInterpolation = "the Databricks CLI substitutes ${...} in bundle YAML and the pipeline in its SQL, " + literalAdvice

func split(p string) []string { return strings.Split(p, ".") }

// interpolationMessage returns why the string at path may not hold ${, or
// "" if it may. The longest matching pattern decides.
func interpolationMessage(path []string) string {
	best, msg := -1, defaultInterpolation
	for _, t := range interpolationTargets {
		if matchPath(t.pattern, path) && len(t.pattern) > best {
			best, msg = len(t.pattern), t.message
		}
	}
	return msg
}

// matchPath reports whether path starts with pattern, "*" matching any
// segment.
func matchPath(pattern, path []string) bool {
	if len(path) < len(pattern) {
		return false
	}
	for i, p := range pattern {
		if p != "*" && p != path[i] {
			return false
		}
	}
	return true
}

// checkInterpolation reports every string value and mapping key holding ${
// where it would be substituted. A node that already has a problem (a key
// that breaks its pattern) is not reported twice.
func (l *loader) checkInterpolation(v any, path []string) {
	switch x := v.(type) {
	case string:
		if strings.Contains(x, "${") {
			if msg := interpolationMessage(path); msg != "" && !l.reported(l.node(path)) {
				l.fail(path, "`${` is not allowed here: %s", msg)
			}
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			child := append(append([]string(nil), path...), k)
			if strings.Contains(k, "${") {
				if msg := interpolationMessage(child); msg != "" && !l.reported(l.keyNode(child)) {
					l.failKey(child, "`${` is not allowed in this key: %s", msg)
				}
			}
			l.checkInterpolation(x[k], child)
		}
	case []any:
		for i, e := range x {
			l.checkInterpolation(e, append(append([]string(nil), path...), itoa(i)))
		}
	}
}

// reported reports whether a problem was already found at n.
func (l *loader) reported(n *yaml.Node) bool {
	if n == nil {
		return false
	}
	for _, d := range l.diags {
		if d.Line == n.Line && d.Col == n.Column {
			return true
		}
	}
	return false
}

func itoa(i int) string { return strconv.Itoa(i) }

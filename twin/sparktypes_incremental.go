package twin

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dbmon/dbmon/generator/model"
)

// A serverless pipeline refreshes a materialized view incrementally only
// when its query allows it; otherwise it recomputes the view in full on every
// update, and says why with a reason of MATERIALIZED_VIEW_NOT_INCREMENTALIZABLE
// (Databricks error-condition docs). NotIncrementalizable finds the reasons a
// view's SQL gives that the twin can see in the text.

// nonDeterministic are Spark's non-deterministic functions: supported for
// incremental refresh only in WHERE.
var nonDeterministic = map[string]bool{"current_timestamp": true, "current_date": true, "now": true,
	"localtimestamp": true, "curdate": true, "rand": true, "random": true, "randn": true, "uuid": true,
	"shuffle": true, "monotonically_increasing_id": true, "input_file_name": true, "spark_partition_id": true}

// notIncremental are aggregates the incremental engine cannot maintain.
var notIncremental = map[string]bool{"percentile": true, "percentile_approx": true, "approx_percentile": true,
	"percentile_cont": true, "percentile_disc": true, "median": true, "mode": true}

// NotIncrementalizable lists the MATERIALIZED_VIEW_NOT_INCREMENTALIZABLE
// reasons of a materialized view, each "REASON: construct", sorted and
// deduplicated: EXPRESSION_NOT_DETERMINISTIC for a non-deterministic
// function anywhere but a WHERE clause, OPERATOR_NOT_INCREMENTALIZABLE for
// count(DISTINCT ...) and percentiles, WINDOW_WITHOUT_PARTITION_BY for a
// window without PARTITION BY, ROW_TRACKING_NOT_ENABLED for a source table
// without row tracking. A statement that is not a materialized view has none.
func NotIncrementalizable(databricksSQL string, conf map[string]string) ([]string, error) {
	t, q, end, st, err := parseForCheck(databricksSQL, conf)
	if err != nil {
		return nil, err
	}
	if st.Kind != "materialized_view" {
		return nil, nil
	}
	inWhere := t.whereTokens(q, end)
	found := map[string]bool{}
	for i := q; i < end; i = t.next(i) {
		if t.toks[i].kind != word || t.isPunct(t.prev(i), ".") {
			continue
		}
		w, n := t.toks[i].val, t.next(i)
		call := t.isPunct(n, "(")
		switch {
		case nonDeterministic[w] && (call || w == "current_timestamp" || w == "current_date") && !inWhere[i]:
			if w == "now" || call {
				w += "()"
			}
			found["EXPRESSION_NOT_DETERMINISTIC: "+w] = true
		case w == "unix_timestamp" && call && t.next(n) == t.match[n] && !inWhere[i]:
			found["EXPRESSION_NOT_DETERMINISTIC: unix_timestamp()"] = true
		case w == "count" && call && t.isWord(t.next(n), "distinct"):
			found["OPERATOR_NOT_INCREMENTALIZABLE: count(DISTINCT)"] = true
		case notIncremental[w] && call:
			found["OPERATOR_NOT_INCREMENTALIZABLE: "+w] = true
		case w == "over":
			if t.isPunct(n, "(") && !t.hasWordAtTop(t.next(n), t.match[n], "partition") {
				found["WINDOW_WITHOUT_PARTITION_BY: OVER ("+strings.Join(strings.Fields(t.src.text[t.toks[t.next(n)].off:t.toks[t.match[n]].off]), " ")+")"] = true
			}
		}
	}
	for _, ref := range t.refs(q, end) {
		if ref = strings.TrimPrefix(ref, "live."); !rowTracked(ref) {
			found["ROW_TRACKING_NOT_ENABLED: "+ref] = true
		}
	}
	var out []string
	for k := range found {
		out = append(out, k)
	}
	slices.Sort(out)
	return out, nil
}

// rowTracked reports whether a source table has row tracking: the
// pipeline's own datasets (UNCONFIRMED: Databricks documents row tracking
// as on for pipeline-managed tables), and the collector's table when its
// CREATE TABLE enables it. System tables are not dbmon's to configure.
func rowTracked(table string) bool {
	if table == model.CollectorTable.Name {
		return model.Collector{}.RowTracking()
	}
	return !strings.Contains(table, ".")
}

// whereTokens marks every token inside a WHERE clause of [lo, hi): from
// WHERE to the clause that ends it at the same bracket depth.
func (t *translator) whereTokens(lo, hi int) map[int]bool {
	in := map[int]bool{}
	ends := map[string]bool{"group": true, "having": true, "qualify": true, "window": true, "order": true,
		"limit": true, "union": true, "intersect": true, "except": true, "minus": true, "cluster": true,
		"distribute": true, "sort": true}
	for w := lo; w < hi; w = t.next(w) {
		if !t.isWord(w, "where") {
			continue
		}
		for k := t.next(w); k < hi; k = t.next(k) {
			if t.isPunct(k, ")") || t.isPunct(k, "]") || t.isPunct(k, ";") || t.toks[k].kind == word && ends[t.toks[k].val] {
				break
			}
			if t.isPunct(k, "(") || t.isPunct(k, "[") {
				for j := k; j <= t.match[k]; j++ {
					in[j] = true
				}
				k = t.match[k]
				continue
			}
			in[k] = true
		}
	}
	return in
}

// hasWordAtTop reports whether word stands in [lo, hi) outside brackets.
func (t *translator) hasWordAtTop(lo, hi int, word string) bool {
	for k := lo; k < hi; k = t.next(k) {
		if t.isPunct(k, "(") || t.isPunct(k, "[") {
			k = t.match[k]
			continue
		}
		if t.isWord(k, word) {
			return true
		}
	}
	return false
}

// IncrementalReport lists NotIncrementalizable for every materialized view
// among a bundle's pipeline sources, by table name.
func IncrementalReport(files map[string]string, conf map[string]string) (map[string][]string, error) {
	out := map[string][]string{}
	for path, src := range files {
		reasons, err := NotIncrementalizable(src, conf)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if _, _, _, st, _ := parseForCheck(src, conf); st.Kind == "materialized_view" {
			out[st.Table] = reasons
		}
	}
	return out, nil
}

package htmlreport

import (
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dbmon/dbmon/generator/dashboard"
	"github.com/dbmon/dbmon/twin"
)

// rowset is the result of one query: column names and rows of Go values as
// the DuckDB driver returns them.
type rowset struct {
	cols []string
	rows [][]any
}

func (r rowset) index(col string) int {
	for i, c := range r.cols {
		if c == col {
			return i
		}
	}
	return -1
}

// evaluator runs a dashboard's datasets and widget queries on the twin.
type evaluator struct {
	e        *twin.Engine
	datasets map[string]string // dataset name -> Databricks SQL, as the file has it
	cache    map[string]rowset // dataset name -> its rows, for disaggregated queries
}

func newEvaluator(e *twin.Engine, d *dashboard.Dashboard) *evaluator {
	ev := &evaluator{e: e, datasets: map[string]string{}, cache: map[string]rowset{}}
	for _, ds := range d.Datasets {
		ev.datasets[ds.Name] = strings.Join(ds.QueryLines, "")
	}
	return ev
}

// query runs Databricks SQL on the twin and returns its columns and rows.
func (ev *evaluator) query(databricksSQL string) (rowset, error) {
	st, err := twin.Translate(databricksSQL, twin.Context{AsOf: ev.e.AsOf})
	if err != nil {
		return rowset{}, err
	}
	rows, err := ev.e.DB.Query(st.Query)
	if err != nil {
		return rowset{}, err
	}
	defer rows.Close()
	out := rowset{}
	if out.cols, err = rows.Columns(); err != nil {
		return rowset{}, err
	}
	for rows.Next() {
		vals := make([]any, len(out.cols))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return rowset{}, err
		}
		out.rows = append(out.rows, vals)
	}
	return out, rows.Err()
}

// dataset returns every row of a dataset, in the dataset's own order.
func (ev *evaluator) dataset(name string) (rowset, error) {
	if r, ok := ev.cache[name]; ok {
		return r, nil
	}
	sql, ok := ev.datasets[name]
	if !ok {
		return rowset{}, fmt.Errorf("dataset %q is not in the dashboard", name)
	}
	r, err := ev.query(sql)
	if err != nil {
		return rowset{}, fmt.Errorf("dataset %s: %w", name, err)
	}
	ev.cache[name] = r
	return r, nil
}

// aggregates are the field functions that make a widget query group.
var aggregates = []string{"SUM(", "AVG(", "COUNT(", "MAX(", "MIN(", "COUNT_IF(", "MEDIAN("}

func isAggregate(expr string) bool {
	up := strings.ToUpper(strings.TrimSpace(expr))
	for _, a := range aggregates {
		if strings.HasPrefix(up, a) {
			return true
		}
	}
	return false
}

// plainColumn returns the column of a bare `col` expression.
func plainColumn(expr string) (string, bool) {
	if len(expr) >= 2 && expr[0] == '`' && expr[len(expr)-1] == '`' && !strings.Contains(expr[1:len(expr)-1], "`") {
		return expr[1 : len(expr)-1], true
	}
	return "", false
}

// widgetRows evaluates one widget query the way the dashboard does: a
// disaggregated query reads the dataset's rows as they are (bare columns
// are projected, anything else is computed on the twin); otherwise the
// fields without an aggregate are the groups and the result is ordered by
// them. The result's columns are the field names, in field order.
func (ev *evaluator) widgetRows(q dashboard.Query) (rowset, error) {
	if _, ok := ev.datasets[q.DatasetName]; !ok {
		return rowset{}, fmt.Errorf("dataset %q is not in the dashboard", q.DatasetName)
	}
	out := rowset{}
	for _, f := range q.Fields {
		out.cols = append(out.cols, f.Name)
	}
	if q.Disaggregated {
		if idx, ok := ev.projection(q); ok {
			ds, err := ev.dataset(q.DatasetName)
			if err != nil {
				return rowset{}, err
			}
			for _, row := range ds.rows {
				vals := make([]any, len(idx))
				for i, j := range idx {
					vals[i] = row[j]
				}
				out.rows = append(out.rows, vals)
			}
			return out, nil
		}
	}
	var sel, groups []string
	for i, f := range q.Fields {
		sel = append(sel, fmt.Sprintf("%s AS f%d", f.Expression, i))
		if !q.Disaggregated && !isAggregate(f.Expression) {
			groups = append(groups, strconv.Itoa(i+1))
		}
	}
	sql := "SELECT " + strings.Join(sel, ", ") + "\nFROM (\n" + ev.datasets[q.DatasetName] + ") AS widget_source"
	if len(groups) > 0 {
		sql += "\nGROUP BY " + strings.Join(groups, ", ") + "\nORDER BY " + strings.Join(groups, ", ")
	}
	r, err := ev.query(sql)
	if err != nil {
		return rowset{}, fmt.Errorf("query on dataset %s: %w", q.DatasetName, err)
	}
	out.rows = r.rows
	return out, nil
}

// projection maps each field of a query of bare columns to its dataset
// column; ok is false if a field is not a bare column.
func (ev *evaluator) projection(q dashboard.Query) ([]int, bool) {
	ds, err := ev.dataset(q.DatasetName)
	if err != nil {
		return nil, false
	}
	var idx []int
	for _, f := range q.Fields {
		c, ok := plainColumn(f.Expression)
		if !ok || ds.index(c) < 0 {
			return nil, false
		}
		idx = append(idx, ds.index(c))
	}
	return idx, true
}

// distinct returns the distinct non-null values of a filter query, sorted.
func (ev *evaluator) distinct(q dashboard.Query) ([]any, error) {
	r, err := ev.widgetRows(dashboard.Query{DatasetName: q.DatasetName, Fields: q.Fields})
	if err != nil {
		return nil, err
	}
	var out []any
	for _, row := range r.rows {
		if len(row) > 0 && row[0] != nil {
			out = append(out, row[0])
		}
	}
	return out, nil
}

// ---- values ----

// toFloat reads a numeric driver value.
func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, true
	case interface{ Float64() float64 }: // duckdb.Decimal
		return x.Float64(), true
	}
	return 0, false
}

// less orders driver values: nulls last, then times, numbers and text.
func less(a, b any) bool {
	if a == nil || b == nil {
		return a != nil
	}
	if ta, ok := a.(time.Time); ok {
		if tb, ok := b.(time.Time); ok {
			return ta.Before(tb)
		}
	}
	if fa, ok := toFloat(a); ok {
		if fb, ok := toFloat(b); ok {
			return fa < fb
		}
	}
	return fmt.Sprint(a) < fmt.Sprint(b)
}

func sortValues(vs []any) {
	sort.SliceStable(vs, func(i, j int) bool { return less(vs[i], vs[j]) })
}

// key is a value as a map key: the same value prints the same.
func key(v any) string {
	if t, ok := v.(time.Time); ok {
		return t.UTC().Format(time.RFC3339Nano)
	}
	if v == nil {
		return "\x00null"
	}
	return fmt.Sprint(v)
}

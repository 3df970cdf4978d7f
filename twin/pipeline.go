package twin

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/render"
)

// TableRun reports one pipeline table built on the twin.
type TableRun struct {
	Name    string
	Rows    int64 // -1 for a view (bronze, or every table of RunPipelineAsViews): counting it would compute it
	Elapsed time.Duration
}

// Statements translates every pipeline source of a rendered bundle: the
// SQL files under src/pipeline/, and for each Python bronze source the
// filtered copy its model definition describes. The result is in dependency
// order, derived from the tables each statement reads.
func Statements(b *model.Bundle, files []render.File, asOf time.Time) ([]Statement, error) {
	ctx := pipelineContext(b, asOf)
	var stmts []Statement
	var typeErrs []string
	add := func(origin, src string) error {
		st, err := Translate(src, ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", origin, err)
		}
		if st.Table == "" {
			return fmt.Errorf("%s: not a CREATE statement", origin)
		}
		stmts = append(stmts, st)
		return nil
	}
	for _, bt := range b.Bronze {
		if bt.Streaming {
			src, err := render.BronzeCopySQL(b, bt)
			if err != nil {
				return nil, err
			}
			if err := add(bt.File()+" (filtered copy)", src); err != nil {
				return nil, err
			}
		}
	}
	for _, f := range files {
		if strings.HasPrefix(f.Path, "src/pipeline/") && strings.HasSuffix(f.Path, ".sql") {
			if err := add(f.Path, string(f.Data)); err != nil {
				return nil, err
			}
			// DuckDB types some expressions unlike Spark (x / 60.0 is
			// DOUBLE here, DECIMAL there), so the declared types are
			// checked by Spark's rules too, before anything runs.
			errs, err := CheckSparkTypes(string(f.Data), ctx.Conf)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Path, err)
			}
			for _, e := range errs {
				typeErrs = append(typeErrs, fmt.Sprintf("%s:%d:%d: %s", f.Path, e.Line, e.Col, e.Msg))
			}
		}
	}
	if len(typeErrs) > 0 {
		return nil, fmt.Errorf("the pipeline's declared column types do not match Spark's:\n%s", strings.Join(typeErrs, "\n"))
	}
	return order(stmts)
}

// external are tables a statement may read that the pipeline does not
// define: the system tables and the collector's table.
func external(name string) bool {
	if _, ok := SystemTable(name); ok {
		return true
	}
	if _, ok := model.HistoryTableByName(name); ok {
		return true // declared by the pipeline's Python source, created by the engine
	}
	return name == model.CollectorTable.Name
}

// order sorts statements so each runs after the tables it reads (Kahn's
// algorithm, ties by name, so the order is deterministic).
func order(stmts []Statement) ([]Statement, error) {
	byName := map[string]Statement{}
	for _, s := range stmts {
		if _, dup := byName[s.Table]; dup {
			return nil, fmt.Errorf("table %s is defined twice", s.Table)
		}
		byName[s.Table] = s
	}
	deps := map[string][]string{}
	for _, s := range stmts {
		for _, r := range s.Refs {
			switch {
			case r == s.Table:
				return nil, fmt.Errorf("%s reads itself", s.Table)
			case byName[r].Table != "":
				deps[s.Table] = append(deps[s.Table], r)
			case !external(r):
				return nil, fmt.Errorf("%s reads %s, which is neither a pipeline table nor a system table", s.Table, r)
			}
		}
	}
	done := map[string]bool{}
	var out []Statement
	for len(out) < len(stmts) {
		var ready []string
		for name := range byName {
			if done[name] {
				continue
			}
			ok := true
			for _, d := range deps[name] {
				ok = ok && done[d]
			}
			if ok {
				ready = append(ready, name)
			}
		}
		if len(ready) == 0 {
			var left []string
			for name := range byName {
				if !done[name] {
					left = append(left, name)
				}
			}
			sort.Strings(left)
			return nil, fmt.Errorf("dependency cycle among %s", strings.Join(left, ", "))
		}
		sort.Strings(ready)
		for _, name := range ready {
			done[name] = true
			out = append(out, byName[name])
		}
	}
	return out, nil
}

// RunPipeline builds every silver and gold table of the bundle on the twin,
// and defines every bronze table as a view of its source, checking that
// each has exactly its declared columns and types.
//
// A bronze table is a copy of its source with the key expectations and the
// detail cutoff applied, and RunPipeline is one full refresh at one
// instant: a view shows the rows the copy would hold after it, without
// storing the largest tables twice (writing 41 M node_timeline rows again
// took half a minute at 1,000 jobs). The replay, which lives through many
// refreshes, keeps bronze tables as tables: a streaming table keeps rows
// its filter would exclude at a later refresh.
func (e *Engine) RunPipeline(b *model.Bundle, files []render.File) ([]TableRun, error) {
	return e.run(b, files, pipelineSQL)
}

// pipelineSQL is what the twin runs for a pipeline statement: a view for a
// bronze table, else the table's CREATE.
func pipelineSQL(st Statement) string {
	if strings.HasPrefix(st.Table, "bronze_") {
		return st.ViewSQL()
	}
	return st.SQL
}

// RunPipelineAsViews defines every table as a view, so a query of gold
// recomputes its answer from the sources. The benchmark compares that with
// reading the materialized tables.
func (e *Engine) RunPipelineAsViews(b *model.Bundle, files []render.File) ([]TableRun, error) {
	return e.run(b, files, func(st Statement) string { return st.ViewSQL() })
}

func (e *Engine) run(b *model.Bundle, files []render.File, sqlFor func(Statement) string) ([]TableRun, error) {
	stmts, err := Statements(b, files, e.AsOf)
	if err != nil {
		return nil, err
	}
	var runs []TableRun
	for _, st := range stmts {
		start := time.Now()
		stmt := sqlFor(st)
		if stmt == st.ViewSQL() {
			// a replay left the bronze table a table
			if kind, err := e.relationKind(st.Table); err != nil {
				return runs, err
			} else if kind == "BASE TABLE" {
				if _, err := e.DB.Exec("DROP TABLE " + quoteName(st.Table)); err != nil {
					return runs, err
				}
			}
		}
		if _, err := e.DB.Exec(stmt); err != nil {
			return runs, fmt.Errorf("%s: %w", st.Table, err)
		}
		if err := e.checkColumns(st); err != nil {
			return runs, err
		}
		elapsed := time.Since(start)
		n := int64(-1)
		if stmt != st.ViewSQL() {
			if err := e.DB.QueryRow("SELECT count(*) FROM " + st.Table).Scan(&n); err != nil {
				return runs, err
			}
		}
		runs = append(runs, TableRun{Name: st.Table, Rows: n, Elapsed: elapsed})
	}
	return runs, nil
}

// checkColumns compares the built table with the header's column list: the
// same names in the same order, and types that agree. Databricks maps query
// columns to the list by position and rejects a type it cannot store, so a
// drift here would fail the deployed pipeline.
func (e *Engine) checkColumns(st Statement) error {
	if len(st.Columns) == 0 {
		return nil
	}
	rows, err := e.DB.Query("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? AND table_catalog = current_database() ORDER BY ordinal_position", st.Table)
	if err != nil {
		return err
	}
	defer rows.Close()
	var got [][2]string
	for rows.Next() {
		var n, t string
		if err := rows.Scan(&n, &t); err != nil {
			return err
		}
		got = append(got, [2]string{n, t})
	}
	if len(got) != len(st.Columns) {
		return fmt.Errorf("%s: the query yields %d columns, the header declares %d", st.Table, len(got), len(st.Columns))
	}
	var problems []string
	for i, c := range st.Columns {
		if got[i][0] != c.Name {
			problems = append(problems, fmt.Sprintf("column %d is %s, declared %s", i+1, got[i][0], c.Name))
			continue
		}
		want, err := DuckType(c.Type)
		if err != nil {
			return fmt.Errorf("%s.%s: %w", st.Table, c.Name, err)
		}
		if !sameType(want, got[i][1]) {
			problems = append(problems, fmt.Sprintf("%s is %s, declared %s", c.Name, got[i][1], c.Type))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %s", st.Table, strings.Join(problems, "; "))
	}
	return nil
}

// sameType accepts DuckDB's wider integers for a declared BIGINT (DuckDB sums
// BIGINT into HUGEINT where Databricks keeps BIGINT); all else must match.
func sameType(want, got string) bool {
	norm := func(s string) string {
		s = strings.ReplaceAll(strings.ToUpper(s), " ", "")
		if s == "TIMESTAMPWITHTIMEZONE" { // information_schema's name of TIMESTAMPTZ
			s = "TIMESTAMPTZ"
		}
		return s
	}
	want, got = norm(want), norm(got)
	if want == got {
		return true
	}
	ints := map[string]bool{"BIGINT": true, "INTEGER": true, "HUGEINT": true}
	return want == "BIGINT" && ints[got]
}

// pipelineContext is what the pipeline substitutes: its configuration.
func pipelineContext(b *model.Bundle, asOf time.Time) Context {
	conf := map[string]string{}
	for _, kv := range b.Pipeline.Configuration {
		conf[kv.Key] = kv.Value
	}
	return Context{AsOf: asOf, Conf: conf}
}

// Try translates one pipeline statement or query of the bundle and runs its
// query, discarding the rows: it proves the SQL binds and executes.
func (e *Engine) Try(b *model.Bundle, databricksSQL string) error {
	st, err := Translate(databricksSQL, pipelineContext(b, e.AsOf))
	if err != nil {
		return err
	}
	rows, err := e.DB.Query(st.Query)
	if err != nil {
		return err
	}
	return rows.Close()
}

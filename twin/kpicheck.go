package twin

import (
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/render"
	"github.com/dbmon/dbmon/generator/spec"
)

var (
	unknownColumn   = regexp.MustCompile(`Referenced column "([^"]+)" not found`)
	unknownFunction = regexp.MustCompile(`^function (\S+) is not in the twin's Databricks function table`)
)

// checkAsOf is the "now" of KPI checks: a fixed time, since an expression
// binds or fails the same whatever the date, and the check must not read
// the clock.
var checkAsOf = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// CheckKPIs runs every KPI's value expression on the twin exactly as
// kpi_values embeds it: the kpi_values template rendered for that KPI alone,
// over empty tables created from the declared columns of every table the
// statement reads. The pipeline does not run, so the check costs the same
// whatever the size of the spec's other sections. An expression that does
// not bind (an unknown column, a function Databricks lacks, a type error) is
// reported at the KPI's value; a breakdown its source lacks, at its by.
//
// The KPIs whose value is lexically self-contained (see selfContained) are
// first tried together, as one kpi_values statement: each is its own branch
// of the UNION ALL, with the same text as when rendered alone, so the whole
// binds exactly when every branch does, and a spec of 200 valid KPIs costs
// one statement instead of 200. Only when that statement fails is each of
// them tried alone, to say which KPI is wrong.
//
// It opens DuckDB only when the bundle has KPIs. The generator takes it as
// its KPI check (generator.WithKPICheck), so the generator itself never
// depends on the engine.
func CheckKPIs(b *model.Bundle) ([]spec.Problem, error) {
	return checkKPIs(b, openCheckDB)
}

// KPIStart is a KPI check whose database is opened ahead, on its own
// goroutine, while the caller still loads the spec and builds the model:
// opening DuckDB is the largest part of checking a few KPIs, and it needs
// nothing from the bundle. Its Check is CheckKPIs on that database.
type KPIStart struct {
	done chan struct{} // closed once the database is open or failed
	db   *sql.DB
	err  error

	mu    sync.Mutex
	taken bool // Check or Close has the database
}

// StartKPICheck opens the database of a KPI check in the background. The
// caller must call Close on every path (after Check too: it is then a
// no-op); a command that may not check any KPI should not start one.
func StartKPICheck() *KPIStart {
	k := &KPIStart{done: make(chan struct{})}
	go func() {
		defer close(k.done)
		k.db, k.err = openCheckDB()
	}()
	return k
}

// take hands the started database to its one user, the first Check or
// Close, once it is open; the others get first false.
func (k *KPIStart) take() (db *sql.DB, first bool, err error) {
	k.mu.Lock()
	first = !k.taken
	k.taken = true
	k.mu.Unlock()
	if !first {
		return nil, false, nil
	}
	<-k.done
	return k.db, true, k.err
}

// Check is CheckKPIs on the database opened ahead, which it closes before
// it returns (the rendering that follows should not share the memory with
// DuckDB). Called again, it opens a database of its own, as CheckKPIs does.
func (k *KPIStart) Check(b *model.Bundle) ([]spec.Problem, error) {
	problems, err := checkKPIs(b, func() (*sql.DB, error) {
		if db, first, err := k.take(); first {
			return db, err
		}
		return openCheckDB()
	})
	// A bundle with no KPI to try never asked for the database.
	k.Close()
	return problems, err
}

// Close waits for the database to open and closes it, unless Check took
// it; it may be called more than once.
func (k *KPIStart) Close() error {
	db, first, err := k.take()
	if !first || err != nil {
		return nil
	}
	return db.Close()
}

func checkKPIs(b *model.Bundle, open func() (*sql.DB, error)) ([]spec.Problem, error) {
	kpis := b.Monitor.KPIs
	found := make([]*spec.Problem, len(kpis))
	var together, alone []int // indices of the KPIs to run
	for i, k := range kpis {
		source, ok := model.PipelineTableByName(k.Source)
		if !ok {
			return nil, fmt.Errorf("internal error: kpis[%d]: no pipeline table %s", i, k.Source)
		}
		if k.ByColumn != "" && !source.HasColumn(k.ByColumn) {
			found[i] = &spec.Problem{Path: []any{"kpis", i, "by"},
				Message: fmt.Sprintf("by: %s needs column %s, which %s does not have", k.By, k.ByColumn, k.Source)}
			continue
		}
		if selfContained(k.Value) {
			together = append(together, i)
		} else {
			alone = append(alone, i)
		}
	}
	if len(together)+len(alone) > 0 {
		db, err := open()
		if err != nil {
			return nil, err
		}
		c, err := newChecker(db, b)
		if err != nil {
			return nil, err
		}
		defer c.db.Close()
		var joint error // the error of the KPIs tried together
		if len(together) > 1 {
			if joint = c.tryKPIs(b, together); joint == nil {
				together = nil
			} else if errors.Is(joint, errInternal) {
				return nil, joint
			}
		}
		failed := 0
		for _, i := range slices.Concat(together, alone) {
			err := c.tryKPIs(b, []int{i})
			if errors.Is(err, errInternal) {
				return nil, err
			}
			if err != nil {
				source, _ := model.PipelineTableByName(kpis[i].Source)
				found[i] = &spec.Problem{Path: []any{"kpis", i, "value"}, Message: kpiMessage(kpis[i], source, err)}
				failed++
			}
		}
		if joint != nil && failed == 0 {
			return nil, fmt.Errorf("%w: the KPIs bind one by one but not in one kpi_values statement: %v", errInternal, joint)
		}
	}
	var problems []spec.Problem
	for _, p := range found {
		if p != nil {
			problems = append(problems, *p)
		}
	}
	return problems, nil
}

// selfContained reports whether a KPI value cannot reach outside its place
// in kpi_values: it lexes on its own, holds no comment and no ${key}, and
// its brackets pair up without closing one opened around it. Anything else
// (a string literal or bracket one KPI opens and the next closes) could
// make the joint statement differ from the KPIs' own, so it is tried alone.
func selfContained(value string) bool {
	if strings.Contains(value, "${") {
		return false
	}
	toks, err := lex(&source{text: value, orig: value})
	if err != nil {
		return false
	}
	var open []string
	at := 0
	for _, t := range toks {
		// Comments are dropped or blanked by lex: a gap, or a blank that
		// is not the text, is one.
		if t.off != at || t.kind == space && t.text != value[t.off:t.end] {
			return false
		}
		at = t.end
		if t.kind != punct {
			continue
		}
		switch t.text {
		case "(", "[":
			open = append(open, t.text)
		case ")", "]":
			pair := "("
			if t.text == "]" {
				pair = "["
			}
			if len(open) == 0 || open[len(open)-1] != pair {
				return false
			}
			open = open[:len(open)-1]
		}
	}
	return at == len(value) && len(open) == 0
}

// tryKPIs renders kpi_values for a copy of the bundle that holds only the
// KPIs at indices, and tries it.
func (c *checker) tryKPIs(b *model.Bundle, indices []int) error {
	one := *b
	one.Monitor.KPIs = make([]model.KPI, len(indices))
	for j, i := range indices {
		one.Monitor.KPIs[j] = b.Monitor.KPIs[i]
	}
	kpiTable, _ := model.PipelineTableByName("kpi_values")
	files, err := render.RenderTemplate(&one, kpiTable.Template())
	if err != nil {
		return fmt.Errorf("%w: %v", errInternal, err)
	}
	if len(files) != 1 {
		return fmt.Errorf("%w: %s rendered %d files", errInternal, kpiTable.Template(), len(files))
	}
	return c.try(string(files[0].Data))
}

// errInternal marks a failure of the checker rather than of the KPI.
var errInternal = errors.New("internal error")

// checker is a bare twin: the session settings, and only the macros the
// checked statements call and the tables they read, each created (a table
// empty) when first needed.
type checker struct {
	db      *sql.DB
	ctx     Context
	bronze  map[string]model.BronzeTable
	created map[string]bool // table names as the statements spell them
	schemas map[string]bool
	macros  map[string]bool // macros created, by name
}

// openCheckDB opens the bare database of a KPI check: the session settings,
// the catalog, and no macros yet (try creates those a statement calls).
func openCheckDB() (*sql.DB, error) {
	db, err := openDB(DefaultSessionZone, "")
	if err != nil {
		return nil, err
	}
	// Binding finds every error the check reports; the optimizer would only
	// spend time planning queries over tables that are empty. The first
	// statement also makes the connection, which runs the session settings.
	for _, s := range []string{"PRAGMA disable_optimizer", "ATTACH ':memory:' AS " + catalog} {
		if _, err := db.Exec(s); err != nil {
			db.Close()
			return nil, fmt.Errorf("twin setup: %s: %w", firstLine(s), err)
		}
	}
	return db, nil
}

// newChecker takes db from openCheckDB for checking b's KPIs.
func newChecker(db *sql.DB, b *model.Bundle) (*checker, error) {
	c := &checker{db: db, ctx: pipelineContext(b, checkAsOf), bronze: map[string]model.BronzeTable{},
		created: map[string]bool{}, schemas: map[string]bool{}, macros: map[string]bool{}}
	for _, bt := range b.Bronze {
		c.bronze[bt.Name] = bt
	}
	return c, nil
}

// macroNames are the names the statements of Macros create, in order.
var macroNames = sync.OnceValue(func() []string {
	names := make([]string, len(Macros))
	for i, m := range Macros {
		rest, ok := strings.CutPrefix(m, "CREATE OR REPLACE MACRO ")
		name, _, paren := strings.Cut(rest, "(")
		if !ok || !paren {
			panic("twin: a macro statement is not CREATE OR REPLACE MACRO name(...): " + firstLine(m))
		}
		names[i] = name
	}
	return names
})

// createMacros creates the macros a translated query calls and the checker
// has not created yet. Creating all of them took as long as opening DuckDB
// (8 ms of a 120 ms generate), and a KPI check calls few. A macro is called
// by its name, so a query that does not contain the name cannot call it;
// a name inside a literal only creates a macro that goes unused. No macro
// calls another.
func (c *checker) createMacros(query string) error {
	for i, name := range macroNames() {
		if c.macros[name] || !strings.Contains(query, name) {
			continue
		}
		if _, err := c.db.Exec(Macros[i]); err != nil {
			return fmt.Errorf("%w: twin setup: %s: %v", errInternal, firstLine(Macros[i]), err)
		}
		c.macros[name] = true
	}
	return nil
}

// try translates one statement, creates the tables it reads and runs its
// query, discarding the rows.
func (c *checker) try(databricksSQL string) error {
	st, err := Translate(databricksSQL, c.ctx)
	if err != nil {
		return err
	}
	for _, ref := range st.Refs {
		if err := c.create(ref); err != nil {
			return err
		}
	}
	if err := c.createMacros(st.Query); err != nil {
		return err
	}
	rows, err := c.db.Query(st.Query)
	if err != nil {
		return err
	}
	return rows.Close()
}

// create makes the empty table a statement reads as name, from its
// declaration: a system table, the collector's table, a bronze copy of a
// system table, or a silver or gold table.
func (c *checker) create(name string) error {
	if c.created[name] {
		return nil
	}
	var ddl []string
	var target string
	var cols []Column
	if t, ok := SystemTable(name); ok {
		if !c.schemas[t.Schema] {
			c.schemas[t.Schema] = true
			ddl = append(ddl, "CREATE SCHEMA "+catalog+"."+t.Schema)
		}
		target, cols = catalog+"."+t.Schema+"."+t.Name, t.Columns
	} else if name == model.CollectorTable.Name {
		target, cols = name, model.CollectorTable.Columns
	} else if bt, ok := c.bronze[name]; ok {
		src, found := SystemTable(bt.Source)
		if !found {
			return fmt.Errorf("%w: bronze table %s copies %s, which is not declared", errInternal, name, bt.Source)
		}
		target, cols = name, src.Columns
	} else if t, ok := model.PipelineTableByName(name); ok {
		target, cols = name, t.Columns
	} else {
		return fmt.Errorf("%w: kpi_values reads %s, which has no table declaration", errInternal, name)
	}
	create, err := createTable(target, cols)
	if err != nil {
		return fmt.Errorf("%w: %v", errInternal, err)
	}
	for _, s := range append(ddl, create) {
		if _, err := c.db.Exec(s); err != nil {
			return fmt.Errorf("%w: %s: %v", errInternal, firstLine(s), err)
		}
	}
	c.created[name] = true
	return nil
}

// kpiMessage says what is wrong with a KPI's value for the person who wrote
// it: the nearest column for a misspelt one, the function table for an
// unknown function, else the engine's first line.
func kpiMessage(k model.KPI, source model.PipelineTable, err error) string {
	msg := err.Error()
	if m := unknownColumn.FindStringSubmatch(msg); m != nil {
		hint := spec.Suggest(m[1], source.ColumnNames())
		if hint == "" {
			hint = "; its columns are " + strings.Join(source.ColumnNames(), ", ")
		}
		return fmt.Sprintf("column `%s` does not exist in %s%s", m[1], k.Source, hint)
	}
	var te *Error
	if errors.As(err, &te) {
		if f := unknownFunction.FindStringSubmatch(te.Msg); f != nil {
			return fmt.Sprintf("function `%s` is not a Databricks SQL function dbmon knows; KPI values may use the functions in twin/macros.go", f[1])
		}
		return "value is not valid Databricks SQL: " + te.Msg
	}
	first, _, _ := strings.Cut(msg, "\n")
	return "value does not run on " + k.Source + ": " + first
}

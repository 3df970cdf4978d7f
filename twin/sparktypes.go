package twin

import (
	"fmt"
	"strings"

	"github.com/dbmon/dbmon/generator/model"
)

// Spark types a pipeline dataset's query by its own rules, and a declared
// column list must match them exactly: DOUBLE declared and DECIMAL computed
// fails the update at analysis (USER_SPECIFIED_AND_INFERRED_SCHEMA_NOT_COMPATIBLE),
// and no table of the pipeline refreshes. DuckDB types the same SQL
// differently (x / 60.0 is DOUBLE there, DECIMAL in Spark), so the twin's
// check of the built tables cannot see it. This file types each output
// expression of the outermost SELECT by Spark's rules for the expressions
// dbmon writes (literals, arithmetic, CAST, CASE, coalesce, aggregates and
// common functions), resolving column references through CTEs, subqueries
// and the declared columns of the tables read. What it cannot type is
// rejected: an uncast computed column must be proven to have its type.

// TypeError is one output column whose Spark type is not its declared type.
type TypeError struct {
	Line, Col int // of the expression, in the statement as written
	Msg       string
}

func (e TypeError) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg) }

// CheckSparkTypes types every output column of a pipeline CREATE statement
// with a declared column list by Spark's rules and returns one TypeError per
// column whose type is not provably the declared one. A statement without a
// column list (or not a CREATE) has nothing to check.
func CheckSparkTypes(databricksSQL string, conf map[string]string) ([]TypeError, error) {
	t, q, end, st, err := parseForCheck(databricksSQL, conf)
	if err != nil || len(st.Columns) == 0 {
		return nil, err
	}
	c := &typer{t: t}
	branches := c.branches(q, end, &scope{})
	var out []TypeError
	for _, b := range branches {
		if b.cols == nil {
			out = append(out, c.errAt(b.lo, "the twin cannot read the output columns of this query; write SELECT <expr> AS <column>, ..."))
			continue
		}
		if len(b.cols) != len(st.Columns) {
			out = append(out, c.errAt(b.lo, fmt.Sprintf("the query yields %d columns, the header declares %d", len(b.cols), len(st.Columns))))
			continue
		}
		for i, d := range st.Columns {
			want, err := model.ParseType(d.Type)
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", d.Name, err)
			}
			col := b.cols[i]
			switch {
			case col.typ != nil && sameSparkType(*col.typ, want):
			case col.typ != nil && col.typ.Kind != kindVoid:
				out = append(out, c.errAt(col.lo, fmt.Sprintf("column %s is declared %s but Spark types %s as %s; write CAST(... AS %s)",
					d.Name, typeName(want), c.text(col.lo, col.hi), typeName(*col.typ), typeName(want))))
			default:
				out = append(out, c.errAt(col.lo, fmt.Sprintf("column %s is computed without a CAST to its declared type %s: the twin cannot prove Spark's type of %s",
					d.Name, typeName(want), c.text(col.lo, col.hi))))
			}
		}
	}
	return out, nil
}

// parseForCheck lexes a statement and reads its CREATE header with the
// translator's own rules, returning the query's token range.
func parseForCheck(databricksSQL string, conf map[string]string) (*translator, int, int, Statement, error) {
	var st Statement
	src, err := substitute(databricksSQL, conf)
	if err != nil {
		return nil, 0, 0, st, err
	}
	toks, err := lex(src)
	if err != nil {
		return nil, 0, 0, st, err
	}
	t := &translator{src: src, toks: toks}
	if err := t.matchBrackets(); err != nil {
		return nil, 0, 0, st, err
	}
	end, err := t.statementEnd()
	if err != nil {
		return nil, 0, 0, st, err
	}
	q := t.next(-1)
	if !t.isWord(q, "create") {
		return t, q, end, st, nil
	}
	q, err = t.header(q, end, &st)
	return t, q, end, st, err
}

// kindVoid is the type of a bare NULL: it widens to any other type, and is
// no declared type.
const kindVoid model.Kind = "void"

func typeName(t model.Type) string { return strings.ToUpper(t.String()) }

func sameSparkType(a, b model.Type) bool { return a.String() == b.String() }

type typer struct {
	t     *translator
	depth int // of nested analyses, to stop on a self-referencing CTE
}

func (c *typer) errAt(i int, msg string) TypeError {
	off := len(c.t.src.text)
	if i >= 0 && i < len(c.t.toks) {
		off = c.t.toks[i].off
	}
	e := errorAt(c.t.src.orig, c.t.src.origOffset(off), msg)
	return TypeError{Line: e.Line, Col: e.Col, Msg: e.Msg}
}

// text is the source of tokens [lo, hi) on one line, shortened when long.
func (c *typer) text(lo, hi int) string {
	if lo >= hi || lo >= len(c.t.toks) {
		return "(nothing)"
	}
	s := c.t.src.text[c.t.toks[lo].off:c.t.toks[c.t.prev(hi)].end]
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 80 {
		s = string(r[:77]) + "..."
	}
	return s
}

// outCol is one output column of a query: its name and Spark type (nil
// when the twin cannot tell), and its expression's tokens.
type outCol struct {
	name   string
	typ    *model.Type
	lo, hi int
}

// branch is one SELECT (or VALUES) of a query's set operation.
type branch struct {
	lo   int
	cols []outCol // nil: unreadable
}

// scope holds the CTEs visible to a query.
type scope struct {
	parent *scope
	ctes   map[string]*cte
}

type cte struct {
	lo, hi  int // the query inside the parentheses
	names   []string
	sc      *scope
	cols    []outCol
	done    bool
	running bool
}

func (s *scope) lookup(name string) *cte {
	for ; s != nil; s = s.parent {
		if d, ok := s.ctes[name]; ok {
			return d
		}
	}
	return nil
}

func (c *typer) cteCols(d *cte) []outCol {
	if d.done {
		return d.cols
	}
	if d.running {
		return nil
	}
	d.running = true
	d.cols = c.query(d.lo, d.hi, d.sc)
	if d.cols != nil && d.names != nil {
		if len(d.names) != len(d.cols) {
			d.cols = nil
		} else {
			for i := range d.cols {
				d.cols[i].name = d.names[i]
			}
		}
	}
	d.running, d.done = false, true
	return d.cols
}

// query returns the output columns of the query [lo, hi): a set operation's
// columns widened across its branches.
func (c *typer) query(lo, hi int, sc *scope) []outCol {
	bs := c.branches(lo, hi, sc)
	if len(bs) == 0 || bs[0].cols == nil {
		return nil
	}
	out := append([]outCol(nil), bs[0].cols...)
	for _, b := range bs[1:] {
		if len(b.cols) != len(out) {
			return nil
		}
		for i := range out {
			out[i].typ = widen(out[i].typ, b.cols[i].typ)
		}
	}
	return out
}

// branches reads [WITH ...] branch {UNION|INTERSECT|EXCEPT [ALL|DISTINCT] branch}.
func (c *typer) branches(lo, hi int, sc *scope) []branch {
	t := c.t
	i := t.next(lo - 1)
	if t.isWord(i, "with") {
		inner := &scope{parent: sc, ctes: map[string]*cte{}}
		for i = t.next(i); i < hi; {
			if !t.isName(i) {
				return []branch{{lo: i}}
			}
			d := &cte{sc: inner}
			name := strings.ToLower(t.name(i))
			i = t.next(i)
			if t.isPunct(i, "(") {
				for k := t.next(i); k < t.match[i]; k = t.next(k) {
					if t.isName(k) {
						d.names = append(d.names, strings.ToLower(t.name(k)))
					}
				}
				i = t.next(t.match[i])
			}
			if !t.isWord(i, "as") || !t.isPunct(t.next(i), "(") {
				return []branch{{lo: i}}
			}
			open := t.next(i)
			d.lo, d.hi = open+1, t.match[open]
			inner.ctes[name] = d
			i = t.next(t.match[open])
			if !t.isPunct(i, ",") {
				break
			}
			i = t.next(i)
		}
		sc = inner
	}
	var out []branch
	start := i
	for k := i; ; k = t.next(k) {
		if k >= hi || t.isWord(k, "union", "intersect", "except", "minus") {
			out = append(out, c.branch(start, k, sc))
			if k >= hi {
				return out
			}
			k = t.next(k)
			if t.isWord(k, "all", "distinct") {
				k = t.next(k)
			}
			start = k
			k = t.prev(k)
			continue
		}
		if t.isPunct(k, "(") || t.isPunct(k, "[") {
			k = t.match[k]
		}
	}
}

func (c *typer) branch(lo, hi int, sc *scope) branch {
	t := c.t
	b := branch{lo: lo}
	switch {
	case t.isPunct(lo, "(") && t.next(t.match[lo]) >= hi:
		b.cols = c.query(lo+1, t.match[lo], sc)
	case t.isWord(lo, "select"):
		b.cols = c.selectBlock(lo, hi, sc)
	case t.isWord(lo, "values"):
		b.cols = c.values(lo, hi, sc)
	}
	return b
}

// values types VALUES (row), ... by its first row.
func (c *typer) values(lo, hi int, sc *scope) []outCol {
	t := c.t
	i := t.next(lo)
	if !t.isPunct(i, "(") {
		return nil
	}
	var out []outCol
	for _, a := range c.splitCommas(i+1, t.match[i]) {
		out = append(out, outCol{name: fmt.Sprintf("col%d", len(out)+1), typ: c.exprType(a[0], a[1], &from{sc: sc}), lo: a[0], hi: a[1]})
	}
	return out
}

// clauseWords end a SELECT list or a FROM clause.
var clauseWords = map[string]bool{"from": true, "where": true, "group": true, "having": true, "qualify": true,
	"window": true, "order": true, "limit": true, "cluster": true, "distribute": true, "sort": true, "offset": true}

// clauseEnd is the first token at this depth in [i, hi) that is one of the
// words, skipping brackets and IS [NOT] DISTINCT FROM.
func (c *typer) clauseEnd(i, hi int, words map[string]bool) int {
	t := c.t
	for ; i < hi; i = t.next(i) {
		switch {
		case t.isPunct(i, "(") || t.isPunct(i, "["):
			i = t.match[i]
		case t.toks[i].kind == word && words[t.toks[i].val]:
			if t.toks[i].val == "from" && t.isWord(t.prev(i), "distinct") {
				continue
			}
			return i
		}
	}
	return hi
}

// from is what a SELECT's expressions can name: its FROM items.
type from struct {
	sc    *scope
	items []fromItem
}

type fromItem struct {
	alias string // lower case; the table's last name part when not aliased
	cols  func() []outCol
}

func (c *typer) selectBlock(lo, hi int, sc *scope) []outCol {
	t := c.t
	i := t.next(lo)
	if t.isWord(i, "distinct", "all") {
		i = t.next(i)
	}
	listEnd := c.clauseEnd(i, hi, clauseWords)
	f := &from{sc: sc}
	if t.isWord(listEnd, "from") {
		fromEnd := c.clauseEnd(t.next(listEnd), hi, clauseWords)
		if !c.fromClause(t.next(listEnd), fromEnd, f) {
			return nil
		}
	}
	var out []outCol
	for _, it := range c.splitCommas(i, listEnd) {
		cols, ok := c.selectItem(it[0], it[1], f)
		if !ok {
			return nil
		}
		out = append(out, cols...)
	}
	return out
}

// splitCommas splits [lo, hi) at commas outside brackets into non-empty
// token ranges.
func (c *typer) splitCommas(lo, hi int) [][2]int {
	t := c.t
	var out [][2]int
	start := t.next(lo - 1)
	for k := start; ; k = t.next(k) {
		if k >= hi || t.isPunct(k, ",") {
			if start < k {
				out = append(out, [2]int{start, min(k, hi)})
			}
			if k >= hi {
				return out
			}
			start = t.next(k)
			continue
		}
		if t.isPunct(k, "(") || t.isPunct(k, "[") {
			k = t.match[k]
		}
	}
}

// notAlias are words that end an expression, so are no implicit alias.
var notAlias = map[string]bool{"end": true, "null": true, "true": true, "false": true, "and": true, "or": true,
	"not": true, "is": true, "in": true, "between": true, "like": true, "ilike": true, "rlike": true, "then": true,
	"else": true, "when": true, "case": true, "distinct": true, "all": true}

func (c *typer) selectItem(lo, hi int, f *from) ([]outCol, bool) {
	t := c.t
	last := t.prev(hi)
	// * and alias.*
	if t.isPunct(last, "*") && (last == lo || t.isPunct(t.prev(last), ".")) {
		var out []outCol
		for _, it := range f.items {
			if last != lo && it.alias != strings.ToLower(t.name(lo)) {
				continue
			}
			cols := it.cols()
			if cols == nil {
				return nil, false
			}
			for _, col := range cols {
				out = append(out, outCol{name: col.name, typ: col.typ, lo: lo, hi: hi})
			}
		}
		return out, len(out) > 0
	}
	exprHi, name := hi, ""
	if last > lo && t.isName(last) {
		p := t.prev(last)
		switch {
		case t.isWord(p, "as"):
			exprHi, name = p, strings.ToLower(t.name(last))
		case !t.isPunct(p, ".") && !(t.toks[last].kind == word && (notAlias[t.toks[last].val] || keywords[t.toks[last].val])) &&
			(t.isPunct(p, ")") || t.isName(p) || t.toks[p].kind == str || t.toks[p].kind == number):
			exprHi, name = last, strings.ToLower(t.name(last))
		}
	}
	if name == "" {
		name = strings.ToLower(t.name(t.prev(hi)))
	}
	return []outCol{{name: name, typ: c.exprType(lo, exprHi, f), lo: lo, hi: exprHi}}, true
}

// joinWords start a join of a FROM clause.
var joinWords = map[string]bool{"join": true, "inner": true, "left": true, "right": true, "full": true,
	"cross": true, "natural": true, "semi": true, "anti": true}

// fromClause reads the FROM items of [lo, hi) into f; false when it cannot.
func (c *typer) fromClause(lo, hi int, f *from) bool {
	t := c.t
	for i := lo; i < hi; {
		for t.isWord(i, "join", "inner", "left", "right", "full", "cross", "natural", "semi", "anti", "outer") {
			i = t.next(i)
		}
		if t.isWord(i, "lateral") {
			return false
		}
		var item fromItem
		switch {
		case t.isPunct(i, "("):
			open := i
			sc := f.sc
			item.cols = c.lazy(func() []outCol { return c.query(open+1, t.match[open], sc) })
			i = t.next(t.match[open])
		case t.isWord(i, "stream") && t.isPunct(t.next(i), "("):
			open := t.next(i)
			name, _ := c.dotted(t.next(open))
			item.alias, item.cols = c.table(name, f.sc)
			i = t.next(t.match[open])
		case t.isName(i):
			name, k := c.dotted(i)
			if t.isPunct(k, "(") {
				return false // a table function
			}
			item.alias, item.cols = c.table(name, f.sc)
			i = k
		default:
			return false
		}
		if t.isWord(i, "as") {
			i = t.next(i)
		}
		if t.isName(i) && !(t.toks[i].kind == word && (afterTable[t.toks[i].val] || joinWords[t.toks[i].val])) {
			item.alias = strings.ToLower(t.name(i))
			i = t.next(i)
			if t.isPunct(i, "(") { // alias(col, ...)
				var names []string
				for k := t.next(i); k < t.match[i]; k = t.next(k) {
					if t.isName(k) {
						names = append(names, strings.ToLower(t.name(k)))
					}
				}
				inner := item.cols
				item.cols = c.lazy(func() []outCol {
					cols := inner()
					if len(cols) != len(names) {
						return nil
					}
					out := append([]outCol(nil), cols...)
					for j := range out {
						out[j].name = names[j]
					}
					return out
				})
				i = t.next(t.match[i])
			}
		}
		f.items = append(f.items, item)
		// Skip ON / USING to the next item.
		for i < hi && !t.isPunct(i, ",") && !(t.toks[i].kind == word && joinWords[t.toks[i].val] && !t.isPunct(t.next(i), "(")) {
			if t.isPunct(i, "(") || t.isPunct(i, "[") {
				i = t.match[i]
			}
			i = t.next(i)
		}
		if t.isPunct(i, ",") {
			i = t.next(i)
		}
	}
	return true
}

func (c *typer) lazy(f func() []outCol) func() []outCol {
	var cols []outCol
	done := false
	return func() []outCol {
		if !done {
			if c.depth > 64 {
				return nil
			}
			c.depth++
			cols, done = f(), true
			c.depth--
		}
		return cols
	}
}

// dotted reads a.b.c at i: the lower-cased name and the token after it.
func (c *typer) dotted(i int) (string, int) {
	t := c.t
	parts := []string{strings.ToLower(t.name(i))}
	k := t.next(i)
	for t.isPunct(k, ".") && t.isName(t.next(k)) {
		parts = append(parts, strings.ToLower(t.name(t.next(k))))
		k = t.next(t.next(k))
	}
	return strings.Join(parts, "."), k
}

// table resolves a table name: a CTE, else a declared table (system, bronze,
// collector, config, silver, gold). Unknown tables have unknown columns.
func (c *typer) table(name string, sc *scope) (string, func() []outCol) {
	name = strings.TrimPrefix(name, "live.")
	alias := name[strings.LastIndexByte(name, '.')+1:]
	if !strings.Contains(name, ".") {
		if d := sc.lookup(name); d != nil {
			return alias, c.lazy(func() []outCol { return c.cteCols(d) })
		}
	}
	cols, ok := declaredColumns(name)
	if !ok {
		return alias, func() []outCol { return nil }
	}
	return alias, func() []outCol { return cols }
}

// declaredColumns are the Spark types of a table dbmon declares.
func declaredColumns(name string) ([]outCol, bool) {
	var cols []model.Column
	if st, ok := SystemTable(name); ok {
		cols = st.Columns
	} else if name == model.CollectorTable.Name {
		cols = model.CollectorTable.Columns
	} else if pt, ok := model.PipelineTableByName(name); ok {
		cols = pt.Columns
	} else if ht, ok := model.HistoryTableByName(name); ok {
		cols = ht.Columns
	} else {
		for _, bt := range model.BronzeTables() {
			if bt.Name == name {
				cols = bt.SourceColumns()
			}
		}
	}
	if cols == nil {
		return nil, false
	}
	out := make([]outCol, len(cols))
	for i, col := range cols {
		typ := col.Parsed
		out[i] = outCol{name: strings.ToLower(col.Name), typ: &typ, lo: -1, hi: -1}
	}
	return out, true
}

// column resolves a dotted reference: alias.column.field..., or
// column.field....
func (f *from) column(parts []string) *model.Type {
	find := func(cols []outCol, name string) (*model.Type, bool) {
		for _, col := range cols {
			if col.name == name {
				return col.typ, true
			}
		}
		return nil, false
	}
	var typ *model.Type
	rest := parts
	found := false
	if len(parts) > 1 {
		for _, it := range f.items {
			if it.alias == parts[0] {
				typ, found = find(it.cols(), parts[1])
				rest = parts[2:]
				break
			}
		}
	}
	if !found {
		matches := 0
		for _, it := range f.items {
			if ty, ok := find(it.cols(), parts[0]); ok {
				typ, matches = ty, matches+1
			}
		}
		if matches != 1 {
			return nil
		}
		rest = parts[1:]
	}
	for _, field := range rest {
		if typ == nil || typ.Kind != model.KindStruct {
			return nil
		}
		fl, ok := fieldOf(*typ, field)
		if !ok {
			return nil
		}
		ft := fl.Type
		typ = &ft
	}
	return typ
}

func fieldOf(t model.Type, name string) (model.StructField, bool) {
	for _, f := range t.Fields {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return model.StructField{}, false
}

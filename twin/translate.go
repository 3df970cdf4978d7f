package twin

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Context supplies what Databricks substitutes at run time.
type Context struct {
	AsOf time.Time         // "now", UTC; current_timestamp()/current_date()/now() become literals of it
	Conf map[string]string // pipeline configuration: ${key} is replaced textually before lexing
}

// DeclaredColumn is one column of a CREATE header's column list.
type DeclaredColumn struct{ Name, Type string } // Type as written (Databricks syntax), may be ""

// Expectation is a CONSTRAINT name EXPECT (cond) [ON VIOLATION DROP ROW|FAIL UPDATE].
type Expectation struct{ Name, Condition, Action string } // Action: "warn", "drop", "fail"; Condition already translated to DuckDB

// Statement is one translated statement.
type Statement struct {
	Table        string           // table a CREATE defines (lower case, unquoted, no LIVE. prefix); "" for a plain query
	Kind         string           // "materialized_view", "streaming_table", "query" or "merge"
	Columns      []DeclaredColumn // from the header's column list (empty if none)
	Expectations []Expectation
	Query        string   // the DuckDB SELECT/WITH query (no CREATE header, expectations NOT applied)
	SQL          string   // runnable DuckDB: for a CREATE: CREATE OR REPLACE TABLE <table> AS SELECT * FROM (<Query>) WHERE drop-expectations hold; for a query: Query
	Refs         []string // lower-cased names after FROM / JOIN (dotted names kept whole, e.g. "system.billing.usage"), CTE names excluded, sorted, deduplicated
}

// Error is a translation error at a 1-based line and column of the
// Databricks text as written (before ${key} substitution), so a caller can
// point at the source file.
type Error struct {
	Line, Col int
	Msg       string
}

func (e *Error) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg) }

// Translate turns one Databricks SQL statement, a pipeline CREATE or a plain
// query, into DuckDB SQL. Every rule is local to a token and its neighbours:
// the translation fails loudly on what it does not know rather than guess.
func Translate(databricksSQL string, ctx Context) (Statement, error) {
	src, err := substitute(databricksSQL, ctx.Conf)
	if err != nil {
		return Statement{}, err
	}
	toks, err := lex(src)
	if err != nil {
		return Statement{}, err
	}
	t := &translator{src: src, toks: toks, ctx: ctx}
	if err := t.matchBrackets(); err != nil {
		return Statement{}, err
	}
	end, err := t.statementEnd()
	if err != nil {
		return Statement{}, err
	}
	st := Statement{Kind: "query"}
	q := t.next(-1)
	if t.isWord(q, "create") {
		if q, err = t.header(q, end, &st); err != nil {
			return Statement{}, err
		}
	}
	if st.Kind == "query" && t.isWord(q, "merge") {
		// MERGE INTO (the collector's upsert) runs as written: DuckDB
		// has MERGE with explicit column lists, which is what dbmon emits.
		st.Kind = "merge"
	} else if q >= end || !(t.isWord(q, "select", "with", "values", "from", "table") || t.isPunct(q, "(")) {
		return Statement{}, t.errorf(q, "expected a query (SELECT, WITH, ...), found %s", t.describe(q))
	}
	if err := t.rewrite(q, end); err != nil {
		return Statement{}, err
	}
	st.Query = t.render(q, end)
	st.Refs = t.refs(q, end)
	st.SQL = st.Query
	if st.Kind != "query" && st.Kind != "merge" {
		st.SQL = st.create("TABLE")
	}
	return st, nil
}

// ViewSQL creates the statement's table as a view instead: every read then
// recomputes it from its sources (the benchmark's "answer from bronze").
func (st Statement) ViewSQL() string { return st.create("VIEW") }

func (st Statement) create(kind string) string {
	var conds []string
	for _, e := range st.Expectations {
		if e.Action == "drop" {
			// IS TRUE: a NULL condition drops the row, as in DLT.
			conds = append(conds, "("+e.Condition+") IS TRUE")
		}
	}
	sql := "CREATE OR REPLACE " + kind + " " + quoteName(st.Table) + " AS SELECT * FROM (" + st.Query + ")"
	if len(conds) > 0 {
		sql += " WHERE " + strings.Join(conds, " AND ")
	}
	return sql
}

// source is the statement after ${key} substitution, with what is needed to
// map an offset in it back to the text as written.
type source struct {
	text, orig string
	subs       []substitution
}

type substitution struct{ at, n, from int } // value at text[at:at+n] replaced the ${key} at orig[from:]

func substitute(orig string, conf map[string]string) (*source, error) {
	src := &source{orig: orig}
	var b strings.Builder
	for i := 0; ; {
		j := strings.Index(orig[i:], "${")
		if j < 0 {
			b.WriteString(orig[i:])
			break
		}
		j += i
		b.WriteString(orig[i:j])
		k := strings.IndexByte(orig[j:], '}')
		if k < 0 {
			return nil, errorAt(orig, j, "unterminated ${")
		}
		key := orig[j+2 : j+k]
		val, ok := conf[key]
		if !ok {
			return nil, errorAt(orig, j, fmt.Sprintf("pipeline configuration key ${%s} is not set in the twin's Context.Conf", key))
		}
		src.subs = append(src.subs, substitution{at: b.Len(), n: len(val), from: j})
		b.WriteString(val)
		i = j + k + 1
	}
	src.text = b.String()
	return src, nil
}

// origOffset maps an offset in the substituted text to the text as written;
// an offset inside a substituted value maps to its ${.
func (s *source) origOffset(off int) int {
	shift := 0 // bytes the substitutions before off added
	for _, sb := range s.subs {
		if off < sb.at {
			break
		}
		if off < sb.at+sb.n {
			return sb.from
		}
		keyLen := strings.IndexByte(s.orig[sb.from:], '}') + 1
		shift += sb.n - keyLen
	}
	return off - shift
}

func errorAt(text string, off int, msg string) *Error {
	line := 1 + strings.Count(text[:off], "\n")
	lineStart := strings.LastIndexByte(text[:off], '\n') + 1
	return &Error{Line: line, Col: 1 + utf8.RuneCountInString(text[lineStart:off]), Msg: msg}
}

type kind int

const (
	space   kind = iota // whitespace
	comment             // -- or /* */; removed by lex
	word                // identifier or keyword as written
	quoted              // `identifier`
	str                 // string literal
	number
	punct
)

type token struct {
	kind     kind
	text     string // as written
	val      string // word: lower case; quoted: the name; str: the value
	off, end int    // byte range in source.text
	out      string // DuckDB text; "" once a rule removes the token
}

// Longest first, so "<=>" is not read as "<=" ">". There is deliberately no
// ">>": it would break the type map<string,array<int>>.
var operators = []string{"<=>", "<=", ">=", "<>", "!=", "==", "||", "::", "->", "=>"}

func lex(src *source) ([]token, error) {
	s := src.text
	var toks []token
	for i := 0; i < len(s); {
		start, c := i, s[i]
		k := punct
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			k = space
			for i < len(s) && strings.IndexByte(" \t\n\r\f", s[i]) >= 0 {
				i++
			}
		case strings.HasPrefix(s[i:], "--"):
			k = comment
			if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
				i += j
			} else {
				i = len(s)
			}
		case strings.HasPrefix(s[i:], "/*"):
			// Spark's bracketed comments nest.
			k = comment
			for depth := 0; ; {
				switch {
				case i >= len(s):
					return nil, src.errorf(start, "unterminated /* comment")
				case strings.HasPrefix(s[i:], "/*"):
					depth, i = depth+1, i+2
				case strings.HasPrefix(s[i:], "*/"):
					depth, i = depth-1, i+2
				default:
					i++
				}
				if depth == 0 {
					break
				}
			}
		case c == '\'' || c == '"' || (c == 'r' || c == 'R') && i+1 < len(s) && (s[i+1] == '\'' || s[i+1] == '"'):
			val, n, ok := scanString(s[i:])
			if !ok {
				return nil, src.errorf(start, "unterminated string literal")
			}
			k, i = str, i+n
			toks = append(toks, token{kind: k, text: s[start:i], val: val, off: start, end: i})
			continue
		case c == '`':
			var b strings.Builder
			for i++; ; i++ {
				if i >= len(s) {
					return nil, src.errorf(start, "unterminated `identifier`")
				}
				if s[i] == '`' {
					if i+1 < len(s) && s[i+1] == '`' { // `` inside is one backtick
						i++
					} else {
						break
					}
				}
				b.WriteByte(s[i])
			}
			i++
			toks = append(toks, token{kind: quoted, text: s[start:i], val: b.String(), off: start, end: i})
			continue
		case isDigit(c) || c == '.' && i+1 < len(s) && isDigit(s[i+1]):
			k = number
			for i < len(s) && (isDigit(s[i]) || s[i] == '.') {
				i++
			}
			if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
				j := i + 1
				if j < len(s) && (s[j] == '+' || s[j] == '-') {
					j++
				}
				if j < len(s) && isDigit(s[j]) {
					for i = j; i < len(s) && isDigit(s[i]); i++ {
					}
				}
			}
			if r, _ := utf8.DecodeRuneInString(s[i:]); i < len(s) && isIdentRune(r) {
				// 10L, 1.5D, 2BD: DuckDB has no such suffixes.
				return nil, src.errorf(start, "numeric literal suffix in %q is not supported by the twin; write CAST(... AS type)", s[start:i+1])
			}
		default:
			if r, _ := utf8.DecodeRuneInString(s[i:]); r == '_' || unicode.IsLetter(r) {
				k = word
				for i < len(s) {
					r, n := utf8.DecodeRuneInString(s[i:])
					if !isIdentRune(r) {
						break
					}
					i += n
				}
				break
			}
			for _, op := range operators {
				if strings.HasPrefix(s[i:], op) {
					i += len(op)
					break
				}
			}
			if i == start {
				if strings.IndexByte("()[],.;+-*/%=<>!~&|^:?{}", c) < 0 {
					r, _ := utf8.DecodeRuneInString(s[i:])
					return nil, src.errorf(start, "unexpected character %q", string(r))
				}
				i++
			}
		}
		toks = append(toks, token{kind: k, text: s[start:i], off: start, end: i})
	}
	return clean(toks), nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// scanString reads the Databricks string literal at the start of s and
// returns its value and length. Spark unescapes backslashes, except \% and \_
// which it keeps for LIKE patterns; r'...' literals are raw.
func scanString(s string) (string, int, bool) {
	raw := s[0] == 'r' || s[0] == 'R'
	i := 0
	if raw {
		i = 1
	}
	q := s[i]
	var b strings.Builder
	for i++; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q:
			return b.String(), i + 1, true
		case c == '\\' && !raw && i+1 < len(s):
			i++
			switch e := s[i]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			case '%', '_':
				b.WriteByte('\\')
				b.WriteByte(e)
			default: // \' \" \\ and any other \x are x
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, false
}

// clean drops comments, so that a trailing -- comment cannot swallow the
// ")" Translate wraps around a query, and joins adjacent string literals, as
// Spark's grammar does. It then sets each token's DuckDB text.
func clean(toks []token) []token {
	var out []token
	for i, t := range toks {
		switch {
		case t.kind == comment && strings.HasPrefix(t.text, "/*"):
			out = append(out, token{kind: space, text: " ", off: t.off, end: t.end})
			continue
		case t.kind == comment:
			// Drop the blanks before a line comment, and the whole line if
			// the comment was all it held.
			if n := len(out); n > 0 && out[n-1].kind == space {
				if out[n-1].text = strings.TrimRight(out[n-1].text, " \t"); out[n-1].text == "" {
					out = out[:n-1]
				}
			}
			n := len(out)
			if (n == 0 || out[n-1].kind == space && strings.HasSuffix(out[n-1].text, "\n")) &&
				i+1 < len(toks) && toks[i+1].kind == space {
				toks[i+1].text = strings.TrimPrefix(toks[i+1].text, "\n")
			}
			continue
		case t.kind == str:
			j := len(out) - 1
			for j >= 0 && out[j].kind == space {
				j--
			}
			if j >= 0 && out[j].kind == str {
				out[j].val += t.val
				out[j].end = t.end
				out = out[:j+1]
				continue
			}
		}
		out = append(out, t)
	}
	for i := range out {
		t := &out[i]
		switch t.kind {
		case str:
			t.out = "'" + strings.ReplaceAll(t.val, "'", "''") + "'"
		case quoted:
			t.out = `"` + strings.ReplaceAll(t.val, `"`, `""`) + `"`
		case word:
			t.val, t.out = strings.ToLower(t.text), t.text
		default:
			t.out = t.text
		}
	}
	return out
}

func (s *source) errorf(off int, format string, args ...any) error {
	return errorAt(s.orig, s.origOffset(off), fmt.Sprintf(format, args...))
}

type translator struct {
	src   *source
	toks  []token
	ctx   Context
	match []int // index of each bracket's partner
}

func (t *translator) errorf(i int, format string, args ...any) error {
	off := len(t.src.text)
	if i >= 0 && i < len(t.toks) {
		off = t.toks[i].off
	}
	return t.src.errorf(off, format, args...)
}

func (t *translator) describe(i int) string {
	if i >= len(t.toks) {
		return "end of statement"
	}
	return fmt.Sprintf("%q", t.toks[i].text)
}

// next returns the index of the first non-space token after i, or len(toks).
func (t *translator) next(i int) int {
	for i++; i < len(t.toks) && t.toks[i].kind == space; i++ {
	}
	return i
}

// prev returns the index of the last non-space token before i, or -1.
func (t *translator) prev(i int) int {
	for i--; i >= 0 && t.toks[i].kind == space; i-- {
	}
	return i
}

func (t *translator) isWord(i int, words ...string) bool {
	return i >= 0 && i < len(t.toks) && t.toks[i].kind == word && slices.Contains(words, t.toks[i].val)
}

func (t *translator) isPunct(i int, p string) bool {
	return i >= 0 && i < len(t.toks) && t.toks[i].kind == punct && t.toks[i].text == p
}

func (t *translator) isName(i int) bool {
	return i >= 0 && i < len(t.toks) && (t.toks[i].kind == word || t.toks[i].kind == quoted)
}

// name is an identifier token unquoted, as written.
func (t *translator) name(i int) string {
	if t.toks[i].kind == quoted {
		return t.toks[i].val
	}
	return t.toks[i].text
}

// seq reports whether the words ws start at token i, and the token after them.
func (t *translator) seq(i int, ws ...string) (int, bool) {
	for _, w := range ws {
		if !t.isWord(i, w) {
			return i, false
		}
		i = t.next(i)
	}
	return i, true
}

func (t *translator) matchBrackets() error {
	t.match = make([]int, len(t.toks))
	var open []int
	for i, tk := range t.toks {
		if tk.kind != punct {
			continue
		}
		switch tk.text {
		case "(", "[":
			open = append(open, i)
		case ")", "]":
			pair := "("
			if tk.text == "]" {
				pair = "["
			}
			if len(open) == 0 || t.toks[open[len(open)-1]].text != pair {
				return t.errorf(i, "unbalanced %q", tk.text)
			}
			o := open[len(open)-1]
			open = open[:len(open)-1]
			t.match[o], t.match[i] = i, o
		}
	}
	if len(open) > 0 {
		return t.errorf(open[len(open)-1], "unclosed %q", t.toks[open[len(open)-1]].text)
	}
	return nil
}

// statementEnd returns the index that ends the one statement: a trailing ";"
// or the end of the text.
func (t *translator) statementEnd() (int, error) {
	for i := range t.toks {
		if t.isPunct(i, ";") {
			if n := t.next(i); n < len(t.toks) {
				return 0, t.errorf(n, "one statement at a time: found %s after \";\"", t.describe(n))
			}
			return i, nil
		}
	}
	return len(t.toks), nil
}

var kinds = []struct {
	words []string
	kind  string
}{
	{[]string{"materialized", "view"}, "materialized_view"},
	{[]string{"streaming", "table"}, "streaming_table"},
	{[]string{"streaming", "live", "table"}, "streaming_table"},
	{[]string{"live", "table"}, "materialized_view"},
}

// header reads CREATE [OR REFRESH] [PRIVATE|TEMPORARY] kind name [(...)]
// clauses AS and returns the index of the query's first token.
func (t *translator) header(i, end int, st *Statement) (int, error) {
	i = t.next(i)
	if j, ok := t.seq(i, "or", "refresh"); ok {
		i = j
	}
	if t.isWord(i, "private", "temporary") {
		i = t.next(i)
	}
	kind := ""
	for _, k := range kinds {
		if j, ok := t.seq(i, k.words...); ok {
			kind, i = k.kind, j
			break
		}
	}
	if st.Kind = kind; kind == "" {
		return 0, t.errorf(i, "expected MATERIALIZED VIEW, STREAMING TABLE or LIVE TABLE, found %s", t.describe(i))
	}
	var parts []string
	for {
		if !t.isName(i) {
			return 0, t.errorf(i, "expected a table name, found %s", t.describe(i))
		}
		parts = append(parts, strings.ToLower(t.name(i)))
		if i = t.next(i); !t.isPunct(i, ".") {
			break
		}
		i = t.next(i)
	}
	if len(parts) > 1 && parts[0] == "live" {
		parts = parts[1:]
	}
	st.Table = strings.Join(parts, ".")
	if t.isPunct(i, "(") {
		if err := t.columns(i, st); err != nil {
			return 0, err
		}
		i = t.next(t.match[i])
	}
	for i < end {
		j, ok := t.seq(i, "cluster", "by")
		switch {
		case t.isWord(i, "as"):
			return t.next(i), nil
		case ok && t.isWord(j, "auto", "none"):
			i = t.next(j)
			continue
		case ok:
		case t.isWord(i, "tblproperties"):
			j = t.next(i)
		case t.isWord(i, "partitioned") && t.isWord(t.next(i), "by"):
			j = t.next(t.next(i))
		case t.isWord(i, "comment") && t.next(i) < end && t.toks[t.next(i)].kind == str:
			i = t.next(t.next(i))
			continue
		default:
			return 0, t.errorf(i, "unexpected %s in the CREATE header", t.describe(i))
		}
		if !t.isPunct(j, "(") {
			return 0, t.errorf(j, "expected \"(\" after %s, found %s", strings.ToUpper(t.toks[i].val), t.describe(j))
		}
		i = t.next(t.match[j])
	}
	return 0, t.errorf(i, "expected AS and a query after the CREATE header")
}

// columns reads the header's list of columns and expectations.
func (t *translator) columns(open int, st *Statement) error {
	close := t.match[open]
	for i := t.next(open); i < close; i = t.next(i) {
		j := t.entryEnd(i, close)
		var err error
		if t.isWord(i, "constraint") {
			err = t.expectation(i, j, st)
		} else {
			err = t.column(i, j, st)
		}
		if err != nil {
			return err
		}
		i = j
	}
	return nil
}

// entryEnd returns the comma or ")" that ends the list entry at i: the next
// comma outside (...) and <...>, as in map<string,string>.
func (t *translator) entryEnd(i, close int) int {
	depth := 0
	for ; i < close; i++ {
		switch {
		case t.isPunct(i, "(") || t.isPunct(i, "["):
			i = t.match[i]
		case t.isPunct(i, "<"):
			depth++
		case t.isPunct(i, ">"):
			depth--
		case t.isPunct(i, ",") && depth == 0:
			return i
		}
	}
	return close
}

// column reads name [type] [NOT NULL] [COMMENT '...'] from tokens [i, end).
func (t *translator) column(i, end int, st *Statement) error {
	if !t.isName(i) {
		return t.errorf(i, "expected a column name, found %s", t.describe(i))
	}
	c := DeclaredColumn{Name: t.name(i)}
	// A type is a word, then (...) as in decimal(38,18) or <...> as in
	// map<string,array<int>>.
	k := t.next(i)
	if k < end && t.toks[k].kind == word && !t.isWord(k, "not", "comment") {
		last := k
		if n := t.next(k); t.isPunct(n, "(") {
			last = t.match[n]
		} else if t.isPunct(n, "<") {
			for depth := 0; ; n = t.next(n) {
				if n >= end {
					return t.errorf(k, "unclosed \"<\" in the type of column %s", c.Name)
				}
				if t.isPunct(n, "<") {
					depth++
				} else if t.isPunct(n, ">") {
					if depth--; depth == 0 {
						break
					}
				}
			}
			last = n
		}
		c.Type = t.src.text[t.toks[k].off:t.toks[last].end]
		k = t.next(last)
	}
	for k < end {
		if j, ok := t.seq(k, "not", "null"); ok {
			k = j
		} else if t.isWord(k, "comment") && t.next(k) < end && t.toks[t.next(k)].kind == str {
			k = t.next(t.next(k))
		} else {
			return t.errorf(k, "unexpected %s in the definition of column %s", t.describe(k), c.Name)
		}
	}
	st.Columns = append(st.Columns, c)
	return nil
}

// expectation reads CONSTRAINT name EXPECT (cond) [ON VIOLATION ...] from
// tokens [i, end).
func (t *translator) expectation(i, end int, st *Statement) error {
	n := t.next(i)
	if !t.isName(n) {
		return t.errorf(n, "expected a constraint name, found %s", t.describe(n))
	}
	e := Expectation{Name: t.name(n), Action: "warn"}
	open, ok := t.seq(t.next(n), "expect")
	if !ok || !t.isPunct(open, "(") {
		return t.errorf(t.next(n), "constraint %s: only EXPECT (condition) constraints are supported", e.Name)
	}
	close := t.match[open]
	if err := t.rewrite(open+1, close); err != nil {
		return err
	}
	e.Condition = t.render(open+1, close)
	k := t.next(close)
	if j, ok := t.seq(k, "on", "violation", "drop", "row"); ok {
		e.Action, k = "drop", j
	} else if _, ok := t.seq(k, "on", "violation", "fail", "update"); ok {
		return t.errorf(k, "expectation %s: ON VIOLATION FAIL UPDATE expectations are not supported by the twin", e.Name)
	}
	if k < end {
		return t.errorf(k, "unexpected %s after expectation %s", t.describe(k), e.Name)
	}
	st.Expectations = append(st.Expectations, e)
	return nil
}

// keywords are the words that may stand before "(" without calling a
// function.
var keywords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`all and any as between by case cast cube distinct else end except exists
		extract filter from group having ilike in intersect interval is join lateral like limit not offset on or
		over qualify rollup select sets some table then try_cast union using values when where window with within
		insert into merge matched update set`) {
		keywords[w] = true
	}
}

// rewrite applies the translation rules to tokens [lo, hi).
func (t *translator) rewrite(lo, hi int) error {
	for i := lo; i < hi; i++ {
		tk := &t.toks[i]
		if tk.kind == punct && tk.text == "<=>" {
			tk.out = "IS NOT DISTINCT FROM" // Spark's null-safe equality
		}
		if tk.kind == word && tk.out != "" {
			if err := t.rewriteWord(i); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *translator) rewriteWord(i int) error {
	w, p, n := t.toks[i].val, t.prev(i), t.next(i)
	if t.isPunct(p, ".") { // a later part of a dotted name: a table, column or field
		if t.isPunct(n, "(") {
			return t.errorf(i, "qualified function call %s(...) is not supported by the twin", w)
		}
		return nil
	}
	switch w {
	case "live":
		if t.isPunct(n, ".") {
			t.blank(i, n+1)
			return nil
		}
	case "stream":
		if t.isWord(p, "from", "join") || t.isPunct(p, ",") {
			if t.isPunct(n, "(") {
				t.blank(i, n+1)
				t.blank(t.match[n], t.match[n]+1)
				return nil
			}
			if t.isName(n) {
				t.blank(i, n)
				return nil
			}
		}
	case "current_timestamp", "current_date", "now":
		lit := TimestampSQL(t.ctx.AsOf)
		if w == "current_date" {
			// Spark's current_date() is today in the session time zone.
			lit = "CAST(" + lit + " AS DATE)"
		}
		if t.isPunct(n, "(") {
			if t.next(n) != t.match[n] {
				return t.errorf(i, "%s() takes no arguments", w)
			}
			t.toks[i].out = lit
			t.blank(i+1, t.match[n]+1)
			return nil
		}
		if w != "now" { // now without () is a column
			t.toks[i].out = lit
			return nil
		}
	case "system":
		// system.<schema>.<table>: DuckDB reserves the catalog name
		// "system", so the twin keeps the system tables in dbx_system.
		if t.isPunct(n, ".") && t.isPunct(t.next(t.next(n)), ".") {
			t.toks[i].out = catalog
			return nil
		}
	case "timestamp", "timestamp_ltz", "timestamp_ntz":
		if duck, ok := t.timestampType(i); ok {
			t.toks[i].out = duck
			return nil
		}
	case "rlike", "regexp":
		if !t.isPunct(n, "(") {
			return t.errorf(i, "the %s operator is not supported by the twin; write regexp_like(s, pattern)", strings.ToUpper(w))
		}
	case "like", "ilike":
		// Spark's LIKE escapes with \ by default, DuckDB's only with ESCAPE.
		if n < len(t.toks) && t.toks[n].kind == str && strings.Contains(t.toks[n].val, `\`) && !t.isWord(t.next(n), "escape") {
			t.toks[n].out += ` ESCAPE '\'`
		}
		return nil
	}
	if !t.isPunct(n, "(") || keywords[w] || t.isWord(p, "as") || t.isPunct(p, "::") {
		return nil // not a call; after AS or :: a type such as DECIMAL(38,18)
	}
	if a := t.next(t.match[n]); t.isWord(a, "as") && t.isPunct(t.next(a), "(") {
		return nil // WITH name (columns) AS (...)
	}
	f, ok := functions[w]
	if !ok {
		return t.errorf(i, "function %s is not in the twin's Databricks function table (twin/macros.go)", w)
	}
	if args := t.countArgs(n); args < f.min || f.max >= 0 && args > f.max {
		want := fmt.Sprintf("%d to %d", f.min, f.max)
		switch {
		case f.min == f.max:
			want = fmt.Sprint(f.min)
		case f.max < 0:
			want = fmt.Sprintf("at least %d", f.min)
		}
		return t.errorf(i, "function %s takes %s arguments in the twin, got %d", w, want, args)
	}
	if f.duck != "" {
		t.toks[i].out = f.duck
	}
	return nil
}

// timestampTypes are Spark's timestamp types in DuckDB: TIMESTAMP (an
// instant, also spelled TIMESTAMP_LTZ) is TIMESTAMPTZ, rendered in the
// session time zone; TIMESTAMP_NTZ is a wall clock, DuckDB's TIMESTAMP.
var timestampTypes = map[string]string{"timestamp": "TIMESTAMPTZ", "timestamp_ltz": "TIMESTAMPTZ", "timestamp_ntz": "TIMESTAMP"}

// timestampType reports whether the timestamp word at i names a type, and
// its DuckDB name: in a typed literal (TIMESTAMP '...', read in the session
// time zone by both), after :: or as the type of CAST(... AS type). Elsewhere
// (a column or alias named timestamp) it stays as written.
func (t *translator) timestampType(i int) (string, bool) {
	duck := timestampTypes[t.toks[i].val]
	p, n := t.prev(i), t.next(i)
	switch {
	case n < len(t.toks) && t.toks[n].kind == str, t.isPunct(p, "::"):
		return duck, true
	case t.isWord(p, "as") && t.isPunct(n, ")"):
		if open := t.match[n]; t.isWord(t.prev(open), "cast", "try_cast") {
			return duck, true
		}
	}
	return "", false
}

func (t *translator) countArgs(open int) int {
	close := t.match[open]
	if t.next(open) == close {
		return 0
	}
	n := 1
	for k := open + 1; k < close; k++ {
		if t.isPunct(k, "(") || t.isPunct(k, "[") {
			k = t.match[k]
		} else if t.isPunct(k, ",") {
			n++
		}
	}
	return n
}

// blank removes tokens [from, to) from the output.
func (t *translator) blank(from, to int) {
	for k := from; k < to; k++ {
		t.toks[k].out = ""
	}
}

func (t *translator) render(lo, hi int) string {
	var b strings.Builder
	for _, tk := range t.toks[lo:hi] {
		b.WriteString(tk.out)
	}
	return strings.TrimSpace(b.String())
}

// afterTable are the words that may follow a table reference, so are no alias.
var afterTable = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`anti as cluster cross distribute except fetch full group having inner intersect
		join lateral left limit minus natural offset on order outer pivot qualify right semi sort tablesample
		union unpivot using where window`) {
		afterTable[w] = true
	}
}

// refs lists the tables the query [lo, hi) reads: the names after FROM and
// JOIN, and after the commas of a FROM list, as rewritten (no STREAM, no
// LIVE.).
func (t *translator) refs(lo, hi int) []string {
	var vis []int // the tokens still in the output
	for i := lo; i < hi; i++ {
		if t.toks[i].kind != space && t.toks[i].out != "" {
			vis = append(vis, i)
		}
	}
	isW := func(k int, ws ...string) bool { return k < len(vis) && t.isWord(vis[k], ws...) }
	isP := func(k int, p string) bool { return k < len(vis) && t.isPunct(vis[k], p) }
	isN := func(k int) bool { return k < len(vis) && t.isName(vis[k]) }
	// dotted reads a.b.c at k and returns it and the position after it.
	dotted := func(k int) (string, int) {
		parts := []string{strings.ToLower(t.name(vis[k]))}
		for k++; isP(k, ".") && isN(k+1); k += 2 {
			parts = append(parts, strings.ToLower(t.name(vis[k+1])))
		}
		return strings.Join(parts, "."), k
	}
	ctes, found := map[string]bool{}, map[string]bool{}
	for k := range vis {
		// name AS (...) or name (columns) AS (...)
		a := k + 1
		if isP(a, "(") {
			a = slices.Index(vis, t.match[vis[a]]) + 1
		}
		if isN(k) && isW(a, "as") && isP(a+1, "(") {
			ctes[strings.ToLower(t.name(vis[k]))] = true
		}
	}
	var calls []bool // per open "(": does it hold a call's arguments?
	for k := 0; k < len(vis); k++ {
		switch {
		case isP(k, "("):
			w := ""
			if k > 0 && t.toks[vis[k-1]].kind == word {
				w = t.toks[vis[k-1]].val
			}
			calls = append(calls, w != "" && (!keywords[w] || w == "cast" || w == "try_cast" || w == "extract"))
		case isP(k, ")") && len(calls) > 0:
			calls = calls[:len(calls)-1]
		case isW(k, "from", "join") && (len(calls) == 0 || !calls[len(calls)-1]) && !(k > 0 && t.isWord(vis[k-1], "distinct")):
			// Not FROM inside EXTRACT(... FROM ...) or IS DISTINCT FROM.
			for k++; isN(k); k++ {
				ref, after := dotted(k)
				if isP(after, "(") {
					break // a table function; its "(" holds a call's arguments
				}
				if strings.Contains(ref, ".") || !ctes[ref] {
					found[ref] = true
				}
				k = after
				if isW(k, "as") {
					k += 2
				} else if isN(k) && !(t.toks[vis[k]].kind == word && afterTable[t.toks[vis[k]].val]) {
					k++ // an alias
				}
				if !isP(k, ",") {
					break
				}
			}
			k-- // the outer k++ revisits the token that ended the list
		}
	}
	return slices.Sorted(maps.Keys(found))
}

// quoteName writes a table name for DuckDB, quoting parts that are not
// plain lower-case identifiers.
func quoteName(table string) string {
	parts := strings.Split(table, ".")
	for i, p := range parts {
		plain := p != ""
		for j, r := range p {
			if !(r == '_' || r >= 'a' && r <= 'z' || j > 0 && r >= '0' && r <= '9') {
				plain = false
			}
		}
		if !plain {
			parts[i] = `"` + strings.ReplaceAll(p, `"`, `""`) + `"`
		}
	}
	return strings.Join(parts, ".")
}

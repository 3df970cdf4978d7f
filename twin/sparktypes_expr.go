package twin

import (
	"strconv"
	"strings"

	"github.com/dbmon/dbmon/generator/model"
)

// The expression typer: a precedence-climbing parser over the translator's
// tokens that computes each expression's Spark type (nil when it cannot).

func prim(k model.Kind) *model.Type { return &model.Type{Kind: k} }

func decimal(p, s int) *model.Type {
	return &model.Type{Kind: model.KindDecimal, Precision: p, Scale: s}
}

// val is a typed expression; intLit > 0 for an integral literal, its digits
// (Spark gives such a literal its minimal decimal precision next to a
// DECIMAL).
type val struct {
	t      *model.Type
	intLit int
}

type exprParser struct {
	c  *typer
	f  *from
	i  int
	hi int
	ok bool // false once the parser met what it does not know
}

// exprType types the expression [lo, hi) over the FROM items f.
func (c *typer) exprType(lo, hi int, f *from) *model.Type {
	p := &exprParser{c: c, f: f, i: c.t.next(lo - 1), hi: hi, ok: true}
	v := p.expr(0)
	if !p.ok || p.i < hi {
		return nil
	}
	return v.t
}

func (p *exprParser) word(ws ...string) bool { return p.i < p.hi && p.c.t.isWord(p.i, ws...) }
func (p *exprParser) punct(s string) bool    { return p.i < p.hi && p.c.t.isPunct(p.i, s) }
func (p *exprParser) adv()                   { p.i = p.c.t.next(p.i) }
func (p *exprParser) fail() val              { p.ok = false; p.i = p.hi; return val{} }

// binary operators by precedence (higher binds tighter).
var binPrec = map[string]int{
	"or": 1, "and": 2,
	"=": 4, "==": 4, "<>": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4, "<=>": 4,
	"|": 5, "^": 6, "&": 7,
	"+": 8, "-": 8, "||": 8,
	"*": 9, "/": 9, "%": 9, "div": 9,
}

func (p *exprParser) op() (string, bool) {
	if p.i >= p.hi {
		return "", false
	}
	tk := p.c.t.toks[p.i]
	switch tk.kind {
	case punct:
		_, ok := binPrec[tk.text]
		return tk.text, ok
	case word:
		switch tk.val {
		case "or", "and", "div":
			return tk.val, true
		case "is", "in", "between", "like", "ilike", "rlike", "regexp", "not":
			return tk.val, true
		}
	}
	return "", false
}

func (p *exprParser) expr(minPrec int) val {
	var left val
	if p.word("not") {
		if minPrec > 3 {
			return p.fail()
		}
		p.adv()
		p.expr(3)
		left = val{t: prim(model.KindBoolean)}
	} else {
		left = p.unary()
	}
	for p.ok {
		op, isOp := p.op()
		if !isOp {
			return left
		}
		prec, ok := binPrec[op]
		if !ok { // IS, IN, BETWEEN, LIKE, NOT ...: predicates at level 4
			prec = 4
		}
		if prec <= minPrec {
			return left
		}
		p.adv()
		if prec == 4 && !isSymbol(op) {
			p.predicate(op)
			left = val{t: prim(model.KindBoolean)}
			continue
		}
		right := p.expr(prec)
		left = binaryType(op, left, right)
	}
	return left
}

func isSymbol(op string) bool {
	_, ok := binPrec[op]
	return ok && op != "or" && op != "and" && op != "div"
}

// predicate reads the rest of IS ..., [NOT] IN (...), [NOT] BETWEEN a AND b,
// [NOT] LIKE x; the operator word is consumed.
func (p *exprParser) predicate(op string) {
	if op == "not" {
		if !p.word("in", "between", "like", "ilike", "rlike", "regexp") {
			p.fail()
			return
		}
		op = p.c.t.toks[p.i].val
		p.adv()
	}
	switch op {
	case "is":
		if p.word("not") {
			p.adv()
		}
		switch {
		case p.word("null", "true", "false", "unknown"):
			p.adv()
		case p.word("distinct"):
			p.adv()
			if !p.word("from") {
				p.fail()
				return
			}
			p.adv()
			p.expr(4)
		default:
			p.fail()
		}
	case "in":
		if !p.punct("(") {
			p.fail()
			return
		}
		p.i = p.c.t.next(p.c.t.match[p.i])
	case "between":
		p.expr(4)
		if !p.word("and") {
			p.fail()
			return
		}
		p.adv()
		p.expr(4)
	default: // like, ilike, rlike, regexp
		if p.word("any", "all", "some") {
			p.adv()
		}
		p.expr(4)
		if p.word("escape") {
			p.adv()
			p.expr(4)
		}
	}
}

func (p *exprParser) unary() val {
	if p.punct("-") || p.punct("+") {
		neg := p.punct("-")
		p.adv()
		v := p.unary()
		if neg && v.intLit > 0 {
			return v
		}
		return val{t: v.t}
	}
	v := p.primary()
	for p.ok && p.punct("::") {
		p.adv()
		v = val{t: p.typeSpec()}
	}
	return v
}

// typeSpec reads a type at p.i (for :: ) up to the end of its tokens.
func (p *exprParser) typeSpec() *model.Type {
	t := p.c.t
	start := p.i
	if !(p.i < p.hi && t.toks[p.i].kind == word) {
		p.fail()
		return nil
	}
	last := p.i
	if n := t.next(p.i); t.isPunct(n, "(") {
		last = t.match[n]
	} else if t.isPunct(n, "<") {
		depth := 0
		for k := n; k < p.hi; k = t.next(k) {
			if t.isPunct(k, "<") {
				depth++
			} else if t.isPunct(k, ">") {
				if depth--; depth == 0 {
					last = k
					break
				}
			}
		}
	}
	p.i = t.next(last)
	return parseSparkType(t.src.text[t.toks[start].off:t.toks[last].end])
}

func parseSparkType(s string) *model.Type {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "decimal") || strings.EqualFold(s, "dec") || strings.EqualFold(s, "numeric") {
		return decimal(10, 0)
	}
	typ, err := model.ParseType(s)
	if err != nil {
		return nil
	}
	return &typ
}

func (p *exprParser) primary() val {
	t := p.c.t
	if p.i >= p.hi {
		return p.fail()
	}
	tk := t.toks[p.i]
	switch tk.kind {
	case number:
		p.adv()
		return numberLiteral(tk.text)
	case str:
		p.adv()
		return val{t: prim(model.KindString)}
	case punct:
		if tk.text != "(" {
			return p.fail()
		}
		open := p.i
		p.i = t.next(t.match[open])
		inner := t.next(open)
		if t.isWord(inner, "select", "with") {
			cols := p.c.query(inner, t.match[open], p.f.sc)
			if len(cols) != 1 {
				return val{}
			}
			return val{t: cols[0].typ}
		}
		sub := &exprParser{c: p.c, f: p.f, i: inner, hi: t.match[open], ok: true}
		v := sub.expr(0)
		if !sub.ok || sub.i < sub.hi {
			return p.fail()
		}
		return v
	case quoted:
		return p.reference()
	case word:
	default:
		return p.fail()
	}
	next := t.next(p.i)
	switch tk.val {
	case "null":
		p.adv()
		return val{t: prim(kindVoid)}
	case "true", "false":
		p.adv()
		return val{t: prim(model.KindBoolean)}
	case "date", "timestamp":
		if next < p.hi && t.toks[next].kind == str {
			p.i = t.next(next)
			return val{t: prim(model.Kind(tk.val))}
		}
	case "interval":
		return p.fail()
	case "case":
		return p.caseExpr()
	case "cast", "try_cast":
		if !t.isPunct(next, "(") {
			return p.fail()
		}
		closeI := t.match[next]
		sub := &exprParser{c: p.c, f: p.f, i: t.next(next), hi: closeI, ok: true}
		sub.expr(0)
		if !sub.ok || !t.isWord(sub.i, "as") {
			return p.fail()
		}
		typ := parseSparkType(t.src.text[t.toks[t.next(sub.i)].off:t.toks[t.prev(closeI)].end])
		p.i = t.next(closeI)
		return val{t: typ}
	case "exists":
		if t.isPunct(next, "(") {
			p.i = t.next(t.match[next])
			return val{t: prim(model.KindBoolean)}
		}
	case "current_date":
		if !t.isPunct(next, "(") {
			p.adv()
			return val{t: prim(model.KindDate)}
		}
	case "current_timestamp":
		if !t.isPunct(next, "(") {
			p.adv()
			return val{t: prim(model.KindTimestamp)}
		}
	}
	if t.isPunct(next, "(") {
		return p.call()
	}
	return p.reference()
}

func (p *exprParser) reference() val {
	t := p.c.t
	var parts []string
	for {
		if !(p.i < p.hi && t.isName(p.i)) {
			return p.fail()
		}
		parts = append(parts, strings.ToLower(t.name(p.i)))
		p.adv()
		if !p.punct(".") {
			break
		}
		p.adv()
	}
	return val{t: p.f.column(parts)}
}

func (p *exprParser) caseExpr() val {
	p.adv()
	if !p.word("when") {
		p.expr(0) // CASE x WHEN v ...
	}
	var typ *model.Type
	first, hasElse := true, false
	for p.ok && p.word("when") {
		p.adv()
		p.expr(0)
		if !p.word("then") {
			return p.fail()
		}
		p.adv()
		v := p.expr(0)
		if first {
			typ, first = v.t, false
		} else {
			typ = widen(typ, v.t)
		}
	}
	if p.word("else") {
		p.adv()
		typ, hasElse = widen(typ, p.expr(0).t), true
	}
	if !p.word("end") {
		return p.fail()
	}
	p.adv()
	if !hasElse {
		typ = widen(typ, prim(kindVoid))
	}
	return val{t: typ}
}

// call types name(args) [FILTER (...)] [OVER (...)|OVER w]; the window or
// filter does not change the type.
func (p *exprParser) call() val {
	t := p.c.t
	name := t.toks[p.i].val
	open := t.next(p.i)
	closeI := t.match[open]
	var args []val
	inner := t.next(open)
	if t.isWord(inner, "distinct", "all") {
		inner = t.next(inner)
	}
	if t.isPunct(inner, "*") && t.next(inner) == closeI {
		args = []val{{}}
	} else {
		for _, a := range p.c.splitCommas(inner, closeI) {
			sub := &exprParser{c: p.c, f: p.f, i: a[0], hi: a[1], ok: true}
			v := sub.expr(0)
			if !sub.ok || sub.i < sub.hi {
				v = val{}
			}
			args = append(args, v)
		}
	}
	p.i = t.next(closeI)
	if p.word("within") { // WITHIN GROUP (ORDER BY ...)
		p.adv()
		p.adv()
		if !p.punct("(") {
			return p.fail()
		}
		p.i = t.next(t.match[p.i])
	}
	if p.word("filter") {
		p.adv()
		if !p.punct("(") {
			return p.fail()
		}
		p.i = t.next(t.match[p.i])
	}
	if p.word("ignore", "respect") {
		p.adv()
		p.adv()
	}
	if p.word("over") {
		p.adv()
		if p.punct("(") {
			p.i = t.next(t.match[p.i])
		} else {
			p.adv()
		}
	}
	return val{t: funcType(name, args)}
}

func numberLiteral(s string) val {
	if strings.ContainsAny(s, "eE") {
		return val{t: prim(model.KindDouble)}
	}
	if intPart, frac, ok := strings.Cut(s, "."); ok {
		digits := strings.TrimLeft(intPart+frac, "0")
		prec := max(len(digits), 1)
		scale := len(frac)
		return val{t: decimal(max(prec, scale), scale)}
	}
	if _, err := strconv.ParseInt(s, 10, 32); err == nil {
		return val{t: prim(model.KindInt), intLit: max(len(strings.TrimLeft(s, "0")), 1)}
	}
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return val{t: prim(model.KindBigint), intLit: len(strings.TrimLeft(s, "0"))}
	}
	if len(s) <= 38 {
		return val{t: decimal(len(strings.TrimLeft(s, "0")), 0)}
	}
	return val{}
}

func isIntegral(t *model.Type) bool {
	return t != nil && (t.Kind == model.KindInt || t.Kind == model.KindBigint)
}

func isNumeric(t *model.Type) bool {
	return isIntegral(t) || t != nil && (t.Kind == model.KindDouble || t.Kind == model.KindDecimal)
}

// asDecimal is the decimal an integral operand becomes next to a DECIMAL.
func asDecimal(v val) *model.Type {
	switch {
	case v.t == nil:
		return nil
	case v.t.Kind == model.KindDecimal:
		return v.t
	case v.intLit > 0:
		return decimal(v.intLit, 0)
	case v.t.Kind == model.KindInt:
		return decimal(10, 0)
	case v.t.Kind == model.KindBigint:
		return decimal(20, 0)
	}
	return nil
}

// boundedDecimal adjusts a decimal result that exceeds 38 digits as Spark
// does with spark.sql.decimalOperations.allowPrecisionLoss (the default).
func boundedDecimal(p, s int) *model.Type {
	if p <= 38 {
		return decimal(p, s)
	}
	intDigits := p - s
	minScale := min(s, 6)
	return decimal(38, max(38-intDigits, minScale))
}

func binaryType(op string, l, r val) val {
	switch op {
	case "or", "and", "=", "==", "<>", "!=", "<", "<=", ">", ">=", "<=>":
		return val{t: prim(model.KindBoolean)}
	case "||":
		if l.t != nil && r.t != nil && l.t.Kind == model.KindString && r.t.Kind == model.KindString {
			return val{t: prim(model.KindString)}
		}
		return val{}
	case "div":
		if isIntegral(l.t) && isIntegral(r.t) {
			return val{t: prim(model.KindBigint)}
		}
		return val{}
	case "|", "^", "&":
		if isIntegral(l.t) && isIntegral(r.t) {
			return val{t: widen(l.t, r.t)}
		}
		return val{}
	}
	// + - * / %
	if !isNumeric(l.t) || !isNumeric(r.t) {
		return val{}
	}
	if l.t.Kind == model.KindDouble || r.t.Kind == model.KindDouble {
		return val{t: prim(model.KindDouble)}
	}
	if l.t.Kind == model.KindDecimal || r.t.Kind == model.KindDecimal {
		a, b := asDecimal(l), asDecimal(r)
		p1, s1, p2, s2 := a.Precision, a.Scale, b.Precision, b.Scale
		switch op {
		case "+", "-":
			s := max(s1, s2)
			return val{t: boundedDecimal(max(p1-s1, p2-s2)+s+1, s)}
		case "*":
			return val{t: boundedDecimal(p1+p2+1, s1+s2)}
		case "/":
			s := max(6, s1+p2+1)
			return val{t: boundedDecimal(p1-s1+s2+s, s)}
		case "%":
			s := max(s1, s2)
			return val{t: boundedDecimal(min(p1-s1, p2-s2)+s, s)}
		}
	}
	// both integral
	if op == "/" {
		return val{t: prim(model.KindDouble)}
	}
	return val{t: widen(l.t, r.t)}
}

// widen is the common type of two branches (CASE, coalesce, UNION), as
// Spark's findWiderTypeForTwo computes it for the types dbmon uses; nil when
// the twin does not know it.
func widen(a, b *model.Type) *model.Type {
	switch {
	case a == nil || b == nil:
		return nil
	case a.Kind == kindVoid:
		return b
	case b.Kind == kindVoid:
		return a
	case a.String() == b.String():
		return a
	case isNumeric(a) && isNumeric(b):
		if a.Kind == model.KindDouble || b.Kind == model.KindDouble {
			return prim(model.KindDouble)
		}
		if a.Kind == model.KindDecimal || b.Kind == model.KindDecimal {
			x, y := asDecimal(val{t: a}), asDecimal(val{t: b})
			s := max(x.Scale, y.Scale)
			rng := max(x.Precision-x.Scale, y.Precision-y.Scale)
			return decimal(min(38, rng+s), min(s, 38))
		}
		return prim(model.KindBigint) // int and bigint
	case a.Kind == model.KindDate && b.Kind == model.KindTimestamp, a.Kind == model.KindTimestamp && b.Kind == model.KindDate:
		return prim(model.KindTimestamp)
	}
	return nil
}

// fixedResult are functions whose result type does not depend on their arguments.
var fixedResult = map[string]model.Kind{}

func init() {
	for k, names := range map[model.Kind]string{
		model.KindBigint: `count count_if approx_count_distinct unix_timestamp to_unix_timestamp xxhash64
			monotonically_increasing_id timestampdiff date_diff unix_seconds unix_millis unix_micros`,
		// grouping is TINYINT in Spark; the checker's nearest kind is INT.
		model.KindInt: `grouping datediff row_number rank dense_rank ntile day dayofmonth dayofweek dayofyear weekday hour
			minute second month year quarter weekofyear length char_length character_length octet_length
			instr locate size cardinality hash array_size unix_date`,
		model.KindDouble: `percent_rank cume_dist stddev stddev_samp stddev_pop variance var_samp var_pop
			corr covar_pop covar_samp sqrt exp ln log log10 log2 pow power rand randn median cbrt`,
		model.KindString: `concat_ws lower upper lcase ucase trim ltrim rtrim substring substr left right replace
			regexp_replace regexp_extract split_part date_format format_string printf lpad rpad initcap
			md5 sha1 sha2 uuid string base64 translate repeat reverse`,
		model.KindBoolean: `regexp_like rlike startswith endswith contains array_contains isnull isnotnull
			ilike like exists_in equal_null`,
		model.KindDate: `date_from_unix_date to_date date_sub date_add last_day next_day current_date make_date trunc add_months`,
		model.KindTimestamp: `date_trunc from_utc_timestamp to_utc_timestamp current_timestamp now to_timestamp
			timestamp_seconds timestamp_millis make_timestamp`,
	} {
		for _, n := range strings.Fields(names) {
			fixedResult[n] = k
		}
	}
}

// funcType is the Spark result type of a call.
func funcType(name string, args []val) *model.Type {
	arg := func(i int) *model.Type {
		if i < len(args) {
			return args[i].t
		}
		return nil
	}
	if k, ok := fixedResult[name]; ok {
		return prim(k)
	}
	switch name {
	case "sum":
		a := arg(0)
		switch {
		case isIntegral(a):
			return prim(model.KindBigint)
		case a != nil && a.Kind == model.KindDouble:
			return a
		case a != nil && a.Kind == model.KindDecimal:
			return decimal(min(38, a.Precision+10), a.Scale)
		}
	case "avg", "mean":
		a := arg(0)
		switch {
		case isIntegral(a) || a != nil && a.Kind == model.KindDouble:
			return prim(model.KindDouble)
		case a != nil && a.Kind == model.KindDecimal:
			return decimal(min(38, a.Precision+4), min(38, a.Scale+4))
		}
	case "min", "max", "first", "last", "any_value", "first_value", "last_value", "max_by", "min_by",
		"lag", "lead", "nth_value", "percentile_approx", "approx_percentile", "abs", "nullif", "array_min", "array_max":
		a := arg(0)
		if a != nil && a.Kind == kindVoid {
			return nil
		}
		if (name == "percentile_approx" || name == "approx_percentile") && len(args) > 1 && args[1].t != nil && args[1].t.Kind == model.KindArray {
			return &model.Type{Kind: model.KindArray, Elem: a}
		}
		return a
	case "percentile":
		if len(args) > 1 && args[1].t != nil && args[1].t.Kind == model.KindArray {
			return &model.Type{Kind: model.KindArray, Elem: prim(model.KindDouble)}
		}
		if isNumeric(arg(0)) {
			return prim(model.KindDouble)
		}
	case "coalesce", "nvl", "ifnull", "greatest", "least":
		if len(args) == 0 {
			return nil
		}
		typ := arg(0)
		for i := 1; i < len(args); i++ {
			typ = widen(typ, arg(i))
		}
		return typ
	case "if", "iff":
		return widen(arg(1), arg(2))
	case "nvl2":
		return widen(arg(1), arg(2))
	case "try_divide":
		if len(args) == 2 {
			return binaryType("/", args[0], args[1]).t
		}
	case "try_add":
		if len(args) == 2 {
			return binaryType("+", args[0], args[1]).t
		}
	case "try_subtract":
		if len(args) == 2 {
			return binaryType("-", args[0], args[1]).t
		}
	case "try_multiply":
		if len(args) == 2 {
			return binaryType("*", args[0], args[1]).t
		}
	case "concat":
		for _, a := range args {
			if a.t == nil || a.t.Kind != model.KindString {
				return nil
			}
		}
		return prim(model.KindString)
	case "round", "bround", "ceil", "ceiling", "floor":
		a := arg(0)
		if a != nil && a.Kind == model.KindDouble && (name == "round" || name == "bround") {
			return a
		}
		if a != nil && a.Kind == model.KindDouble {
			return prim(model.KindBigint)
		}
		if isIntegral(a) && (name == "round" || name == "bround") {
			return a
		}
	case "explode", "explode_outer", "element_at":
		a := arg(0)
		if a != nil && a.Kind == model.KindArray {
			return a.Elem
		}
		if a != nil && a.Kind == model.KindMap && name == "element_at" {
			return a.Elem
		}
	case "sequence":
		if a := arg(0); a != nil && a.Kind != kindVoid {
			return &model.Type{Kind: model.KindArray, Elem: a}
		}
	case "split":
		return &model.Type{Kind: model.KindArray, Elem: prim(model.KindString)}
	case "collect_list", "collect_set", "array_agg":
		if a := arg(0); a != nil && a.Kind != kindVoid {
			return &model.Type{Kind: model.KindArray, Elem: a}
		}
	case "array_distinct", "array_sort", "sort_array", "array_compact", "array_union", "array_except", "array_intersect":
		if a := arg(0); a != nil && a.Kind == model.KindArray {
			return a
		}
	case "map_entries":
		if a := arg(0); a != nil && a.Kind == model.KindMap {
			return &model.Type{Kind: model.KindArray, Elem: &model.Type{Kind: model.KindStruct,
				Fields: []model.StructField{{Name: "key", Type: *a.Key}, {Name: "value", Type: *a.Elem}}}}
		}
	case "map_keys":
		if a := arg(0); a != nil && a.Kind == model.KindMap {
			return &model.Type{Kind: model.KindArray, Elem: a.Key}
		}
	case "map_values":
		if a := arg(0); a != nil && a.Kind == model.KindMap {
			return &model.Type{Kind: model.KindArray, Elem: a.Elem}
		}
	}
	return nil
}

package render

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/template"
	"unicode"

	"github.com/Masterminds/sprig/v3"

	"github.com/dbmon/dbmon/generator/model"
)

// nondeterministic lists the functions of sprig's hermetic map that still
// depend on the clock or on randomness. HermeticTxtFuncMap removes only the
// date, env and rand* string helpers.
var nondeterministic = []string{
	"ago", "randInt", "shuffle", "bcrypt", "htpasswd", "encryptAES", "decryptAES",
	"genPrivateKey", "derivePassword", "buildCustomCert",
	"genCA", "genCAWithKey", "genSelfSignedCert", "genSelfSignedCertWithKey",
	"genSignedCert", "genSignedCertWithKey",
	"toDate", "mustToDate", "unixEpoch", "dateModify", "mustDateModify", "durationRound",
}

// Funcs returns the template function map.
func Funcs() template.FuncMap {
	m := sprig.HermeticTxtFuncMap()
	for _, name := range nondeterministic {
		delete(m, name)
	}
	m["q"] = yamlQuote
	m["sqlq"] = model.SQLString
	m["sqlnum"] = sqlNumber
	m["pyq"] = yamlQuote // a JSON string literal is also a valid Python literal
	m["oneline"] = oneLine
	m["mdtext"] = mdText
	m["mdcode"] = mdCode
	m["sqlid"] = sqlIdent
	m["indent"] = indent
	return m
}

// yamlQuote renders s as a double-quoted scalar. JSON string syntax is valid
// YAML, and quoting every user value keeps `${...}`, ':' and '#' literal.
// JSON leaves DEL, the C1 controls and the byte order mark raw, which YAML
// forbids in a file ("control characters are not allowed") and of which
// NEL (U+0085) is a YAML line break that a double-quoted scalar folds into
// a space; they are escaped too, as \u escapes that YAML, JSON and Python
// all read.
func yamlQuote(s string) string {
	b, _ := json.Marshal(s)
	if !strings.ContainsFunc(s, yamlUnprintable) {
		return string(b)
	}
	var out strings.Builder
	for _, r := range string(b) {
		if yamlUnprintable(r) {
			fmt.Fprintf(&out, "\\u%04x", r)
			continue
		}
		out.WriteRune(r)
	}
	return out.String()
}

// yamlUnprintable reports the characters JSON writes raw that a YAML
// scalar cannot hold as written.
func yamlUnprintable(r rune) bool {
	return r == 0x7f || r >= 0x80 && r <= 0x9f || r == 0xfeff
}

// sqlNumber renders a float or *float64 as a SQL DOUBLE literal.
func sqlNumber(v any) (string, error) {
	switch n := v.(type) {
	case float64:
		return model.SQLNumber(n), nil
	case *float64:
		if n != nil {
			return model.SQLNumber(*n), nil
		}
	case int:
		return model.SQLNumber(float64(n)), nil
	}
	return "", fmt.Errorf("sqlnum: want a number, got %T", v)
}

// Markdown and the SQL shown in the README take spec text too; these keep
// it from ending a line, a table cell, a code span or an identifier early.

// oneLine turns line breaks into spaces: a value must not start a Markdown
// block or a SQL statement of its own.
func oneLine(s string) string { return lineBreaks.Replace(s) }

// lineBreaks is built once: a Replacer is costly to build and safe to share,
// and oneLine runs for every alert of a large spec.
var lineBreaks = strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ", "\u0085", " ", "\u2028", " ", "\u2029", " ")

// mdText renders s as Markdown inline text that shows as written: on one
// line, with the characters inline Markdown reads as syntax (and a table's
// |) backslash-escaped. The text never starts a line, so block markers
// (#, -, 1.) need nothing; an underscore inside a word is not emphasis.
func mdText(s string) string {
	rs := []rune(oneLine(s))
	var b strings.Builder
	for i, r := range rs {
		escape := strings.ContainsRune("\\`*[]<>|&~", r)
		if r == '_' {
			inWord := i > 0 && i+1 < len(rs) && isWordRune(rs[i-1]) && isWordRune(rs[i+1])
			escape = !inWord
		}
		if escape {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// mdCode renders s as a Markdown code span: fenced by one backtick more
// than its longest run of backticks, padded when it starts or ends with
// one, on one line, with | escaped for tables (GFM reads \| in a cell's
// code span as |).
func mdCode(s string) string {
	s = strings.ReplaceAll(oneLine(s), "|", `\|`)
	run, longest := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// sqlIdent quotes s as a Databricks SQL identifier: backticks, with a
// backtick inside written twice.
func sqlIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

// indent is sprig's indent (every line of v after spaces blanks) built in
// one allocation instead of two: alerts.yml indents each alert's query, a
// few megabytes in all for a large spec.
func indent(spaces int, v string) string {
	pad := strings.Repeat(" ", spaces)
	var b strings.Builder
	b.Grow(len(v) + len(pad)*(1+strings.Count(v, "\n")))
	b.WriteString(pad)
	for {
		i := strings.IndexByte(v, '\n')
		if i < 0 {
			break
		}
		b.WriteString(v[:i+1])
		b.WriteString(pad)
		v = v[i+1:]
	}
	b.WriteString(v)
	return b.String()
}

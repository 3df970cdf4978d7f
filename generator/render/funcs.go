package render

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/template"

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

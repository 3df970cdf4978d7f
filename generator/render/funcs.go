package render

import (
	"encoding/json"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
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
	m["sqlq"] = SQLString
	m["pyq"] = yamlQuote // a JSON string literal is also a valid Python literal
	return m
}

// yamlQuote renders s as a double-quoted scalar. JSON string syntax is valid
// YAML, and quoting every user value keeps `${...}`, ':' and '#' literal.
func yamlQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// SQLString renders s as a Spark SQL string literal: single quotes, with
// backslashes and quotes escaped (Spark SQL treats backslash as an escape
// inside string literals).
func SQLString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`)
	return "'" + r.Replace(s) + "'"
}

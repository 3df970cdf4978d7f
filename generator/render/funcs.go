package render

import (
	"encoding/json"
	"fmt"
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
func yamlQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
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

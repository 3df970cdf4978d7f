// Package hostile is the spec's hostile-input corpus: values that break
// naive quoting (quotes, backslashes, ${...}, comment markers, newlines,
// carriage returns, tabs, control characters, non-ASCII, right-to-left marks,
// 10,000 characters) and the spec's string fields to put them in, each with
// where its value arrives in the bundle (a config table's column, a YAML or
// JSON file). The loader's, the generator's and the twin's tests share it.
//
// The corpus is data under testdata/: values.json, fields.json (one entry
// per string field of the spec's JSON Schema, keyed by its path) and the
// base specs, in which every field holds the placeholder "%%PATH%%". It is
// embedded, so the package reads no disk and the generator stays pure.
package hostile

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

//go:embed testdata
var corpus embed.FS

// Value is one hostile string.
type Value struct {
	Name string
	Text string
}

// Field is a string field of the spec. Path is schema-shaped: "[]" stands
// for any list index, "*" for any mapping value and "<key>" for a mapping's
// key (teams[].match.tags.<key>). Wrap, when set, is a fmt format that puts
// a value where the field's pattern admits it ("%s@example.com"). The sinks
// name where a value the spec accepts must arrive exactly: SQL as
// table.column of the pipeline, YAML, JSON and Python as bundle files.
type Field struct {
	Path   string   `json:"-"`
	Base   string   `json:"-"` // the base spec holding the placeholder
	Benign string   `json:"benign"`
	Wrap   string   `json:"wrap"`
	SQL    []string `json:"sql"`
	YAML   []string `json:"yaml"`
	JSON   []string `json:"json"`
	Python []string `json:"python"`
}

// Put returns v as the field holds it: wrapped when the field has a Wrap.
func (f Field) Put(v string) string {
	if f.Wrap == "" {
		return v
	}
	return fmt.Sprintf(f.Wrap, v)
}

// Pos is a placeholder's position in a built spec, as the loader reports it
// (1-based line and column in characters).
type Pos struct{ Line, Col int }

var placeholder = regexp.MustCompile(`"%%([^"%]+)%%"`)

// Corpus is the whole corpus: its values, its fields, the loader's verdict
// (the fields that accept each value, by value name) and its base specs.
type Corpus struct {
	Values   []Value
	Fields   []Field
	Accepted map[string][]string
	Bases    []string
}

// Load reads the whole corpus.
func Load() (Corpus, error) {
	var c Corpus
	var err error
	if c.Values, err = Values(); err != nil {
		return c, err
	}
	if c.Fields, err = Fields(); err != nil {
		return c, err
	}
	if c.Accepted, err = Accepted(); err != nil {
		return c, err
	}
	c.Bases, err = Bases()
	return c, err
}

// Values reads values.json. An entry is either a value or a unit repeated
// (and cut) to exactly runes characters.
func Values() ([]Value, error) {
	data, err := corpus.ReadFile("testdata/values.json")
	if err != nil {
		return nil, err
	}
	var raw []struct {
		Name   string  `json:"name"`
		Value  *string `json:"value"`
		Repeat string  `json:"repeat"`
		Runes  int     `json:"runes"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("values.json: %w", err)
	}
	var out []Value
	for _, r := range raw {
		switch {
		case r.Value != nil:
			out = append(out, Value{r.Name, *r.Value})
		case r.Repeat != "" && r.Runes > 0:
			units := []rune(strings.Repeat(r.Repeat, r.Runes/utf8.RuneCountInString(r.Repeat)+1))
			out = append(out, Value{r.Name, string(units[:r.Runes])})
		default:
			return nil, fmt.Errorf("values.json: %s has neither value nor repeat and runes", r.Name)
		}
	}
	return out, nil
}

// Fields reads fields.json and finds each field's base spec; sorted by path.
func Fields() ([]Field, error) {
	data, err := corpus.ReadFile("testdata/fields.json")
	if err != nil {
		return nil, err
	}
	byPath := map[string]Field{}
	if err := json.Unmarshal(data, &byPath); err != nil {
		return nil, fmt.Errorf("fields.json: %w", err)
	}
	bases, err := Bases()
	if err != nil {
		return nil, err
	}
	for _, b := range bases {
		text, _ := corpus.ReadFile("testdata/" + b)
		for _, m := range placeholder.FindAllSubmatch(text, -1) {
			p := string(m[1])
			f, ok := byPath[p]
			if !ok {
				return nil, fmt.Errorf("%s: placeholder %s has no entry in fields.json", b, p)
			}
			if f.Base != "" {
				return nil, fmt.Errorf("placeholder %s appears twice (%s and %s)", p, f.Base, b)
			}
			f.Base = b
			byPath[p] = f
		}
	}
	var out []Field
	for p, f := range byPath {
		if f.Base == "" {
			return nil, fmt.Errorf("fields.json: %s is in no base spec", p)
		}
		f.Path = p
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Bases lists the base specs.
func Bases() ([]string, error) {
	names, err := fs.Glob(corpus, "testdata/base*.yaml")
	if err != nil {
		return nil, err
	}
	for i, n := range names {
		names[i] = strings.TrimPrefix(n, "testdata/")
	}
	return names, nil
}

// Build writes base with values[path] (wrapped by the field) in the fields
// it names and every other field's benign value. It returns the spec and the
// position of every placeholder.
func Build(base string, values map[string]string) ([]byte, map[string]Pos, error) {
	text, err := corpus.ReadFile("testdata/" + base)
	if err != nil {
		return nil, nil, err
	}
	fields, err := Fields()
	if err != nil {
		return nil, nil, err
	}
	byPath := map[string]Field{}
	for _, f := range fields {
		byPath[f.Path] = f
	}
	var out bytes.Buffer
	pos := map[string]Pos{}
	last := 0
	for _, m := range placeholder.FindAllSubmatchIndex(text, -1) {
		out.Write(text[last:m[0]])
		last = m[1]
		p := string(text[m[2]:m[3]])
		f, ok := byPath[p]
		if !ok {
			return nil, nil, fmt.Errorf("%s: no field %s", base, p)
		}
		s := f.Put(f.Benign)
		if v, ok := values[p]; ok {
			s = f.Put(v)
		}
		written := out.Bytes()
		lineStart := bytes.LastIndexByte(written, '\n') + 1
		pos[p] = Pos{Line: 1 + bytes.Count(written, []byte("\n")), Col: 1 + utf8.RuneCount(written[lineStart:])}
		out.WriteString(Quote(s)) // no raw line break: positions after it stay right
	}
	out.Write(text[last:])
	return out.Bytes(), pos, nil
}

// Quote renders s as a YAML double-quoted scalar, as a person would write
// it: JSON string syntax is valid YAML and escapes the C0 controls and the
// Unicode line separators; DEL, the C1 controls (NEL is a YAML line break)
// and the byte order mark, which YAML forbids raw, are escaped as well.
func Quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	var out strings.Builder
	for _, r := range strings.TrimSuffix(b.String(), "\n") {
		if r == 0x7f || r >= 0x80 && r <= 0x9f || r == 0xfeff {
			fmt.Fprintf(&out, "\\u%04x", r)
			continue
		}
		out.WriteRune(r)
	}
	return out.String()
}

// Accepted reads testdata/outcomes.txt, the loader's verdict on every value
// in every field (TestHostileLoad in package spec keeps it true), and
// returns the fields that accept each value, by value name.
func Accepted() (map[string][]string, error) {
	data, err := corpus.ReadFile("testdata/outcomes.txt")
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	field := ""
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case !strings.HasPrefix(line, " "):
			field = line
		default:
			if f := strings.Fields(line); len(f) == 2 && f[1] == "ok" {
				out[f[0]] = append(out[f[0]], field)
			}
		}
	}
	return out, nil
}

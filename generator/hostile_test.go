package generator

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/dbmon/dbmon/generator/render"
	"github.com/dbmon/dbmon/generator/spec"
	"github.com/dbmon/dbmon/generator/spec/hostile"
)

// hostileSpecs builds, for every corpus value, the base specs with the
// value in every field that accepts it (the loader's verdict is kept in the
// corpus's outcomes.txt by package spec's TestHostileLoad).
type hostileSpec struct {
	value  hostile.Value
	base   string
	fields []hostile.Field // holding the value
	data   []byte
}

func hostileSpecs(t *testing.T) []hostileSpec {
	t.Helper()
	c, err := hostile.Load()
	if err != nil {
		t.Fatal(err)
	}
	values, fields, accepted, bases := c.Values, c.Fields, c.Accepted, c.Bases
	var out []hostileSpec
	for _, v := range values {
		ok := map[string]bool{}
		for _, p := range accepted[v.Name] {
			ok[p] = true
		}
		for _, b := range bases {
			hs := hostileSpec{value: v, base: b}
			put := map[string]string{}
			for _, f := range fields {
				if f.Base == b && ok[f.Path] {
					hs.fields = append(hs.fields, f)
					put[f.Path] = v.Text
				}
			}
			if len(hs.fields) == 0 {
				continue
			}
			if hs.data, _, err = hostile.Build(b, put); err != nil {
				t.Fatal(err)
			}
			out = append(out, hs)
		}
	}
	if len(out) < len(values) {
		t.Fatalf("%d hostile specs for %d values: some value is accepted nowhere", len(out), len(values))
	}
	return out
}

// TestHostileBundle generates a bundle from each hostile spec: generate
// succeeds; every YAML and JSON file parses; the merged configuration and
// each target's pass the official bundle schema and the CLI's rules; the
// Python compiles; and each value arrives exactly in the YAML, JSON and
// Python files its field reaches (the SQL literals are the twin's to run:
// twin's TestHostileRoundTrip).
func TestHostileBundle(t *testing.T) {
	sch := bundleSchema(t)
	python, _ := exec.LookPath("python3")
	if python == "" && os.Getenv("CI") != "" {
		t.Fatal("python3 is required in CI to read the generated Python")
	}
	for _, hs := range hostileSpecs(t) {
		t.Run(hs.value.Name+"/"+hs.base, func(t *testing.T) {
			files, diags, err := Generate("hostile.yaml", hs.data)
			if err != nil || len(diags) > 0 {
				t.Fatalf("generate: %v\n%s", err, diags)
			}
			strs := map[string][]string{} // file -> every string it holds, parsed
			for _, f := range files {
				switch filepath.Ext(f.Path) {
				case ".yml", ".yaml":
					var v any
					if err := yaml.Unmarshal(f.Data, &v); err != nil {
						t.Errorf("%s: not YAML: %v", f.Path, err)
						continue
					}
					checkInterpolationQuoted(t, f.Path, f.Data)
					strs[f.Path] = stringsIn(v, nil)
				case ".json":
					var v any
					if err := json.Unmarshal(f.Data, &v); err != nil {
						t.Errorf("%s: not JSON: %v", f.Path, err)
						continue
					}
					strs[f.Path] = stringsIn(v, nil)
				}
			}
			root, err := mergedConfig(files)
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(jsonValue(t, root)); err != nil {
				t.Errorf("bundle does not match the official schema:\n%s", strings.TrimSpace(err.Error()))
			}
			for _, v := range includeViolations(files) {
				t.Error(v)
			}
			for _, tc := range targetConfigs(t, root) {
				if err := sch.Validate(jsonValue(t, tc.cfg)); err != nil {
					t.Errorf("target %s: %s", tc.name, strings.TrimSpace(err.Error()))
				}
				for _, v := range cliRuleViolations(tc) {
					t.Errorf("target %s: %s", tc.name, v)
				}
			}
			for _, f := range files {
				if strings.HasSuffix(f.Path, ".md") {
					for _, problem := range markdownProblems(f.Data, f.Path == "README.md") {
						t.Errorf("%s: %s", f.Path, problem)
					}
				}
			}
			if python != "" {
				for p, s := range pythonStrings(t, python, files) {
					strs[p] = s
				}
			}
			for _, f := range hs.fields {
				want := f.Put(hs.value.Text)
				for _, sinks := range [][]string{f.YAML, f.JSON, f.Python} {
					for _, file := range sinks {
						if _, read := strs[file]; !read && python == "" && strings.HasSuffix(file, ".py") {
							continue
						}
						if !containsValue(strs[file], want) {
							t.Errorf("%s: the value of %s does not arrive in %s", hs.value.Name, f.Path, file)
						}
					}
				}
			}
		})
	}
}

var (
	grantStatement = regexp.MustCompile("^GRANT [A-Z_, ]+ ON [A-Z]+ [^ ]+ TO `(?:[^`]|``)*`;$")
	tablePipe      = regexp.MustCompile(`(^|[^\\])\|`)
	fenceMarker    = "```"
)

// markdownProblems finds spec text that broke the structure of a generated
// Markdown file: a table row whose cell count differs from its header's,
// or, where the SQL blocks are the README's grants, text that is not a
// one-line comment or a whole GRANT with a quoted principal.
func markdownProblems(data []byte, grants bool) []string {
	var out []string
	var sqlBlock strings.Builder
	inSQL, header := false, -1
	for i, line := range strings.Split(string(data), "\n") {
		switch {
		case line == fenceMarker+"sql":
			inSQL = true
			sqlBlock.Reset()
			continue
		case strings.HasPrefix(line, fenceMarker):
			if inSQL && grants {
				out = append(out, grantProblems(sqlBlock.String())...)
			}
			inSQL = false
			continue
		case inSQL:
			sqlBlock.WriteString(line + "\n")
			continue
		}
		if !strings.HasPrefix(line, "|") {
			header = -1
			continue
		}
		cells := len(tablePipe.FindAllStringIndex(strings.ReplaceAll(line, "||", "| |"), -1))
		if header < 0 {
			header = cells
		} else if cells != header {
			out = append(out, fmt.Sprintf("line %d: a table row with %d cell borders under a header with %d: %.120q", i+1, cells, header, line))
		}
	}
	return out
}

// grantProblems splits a block of grants into -- comments and statements
// (a ; outside backticks ends one) and reports any that is not a comment
// line or a GRANT to one quoted principal.
func grantProblems(block string) []string {
	var out []string
	for rest := block; strings.TrimSpace(rest) != ""; {
		rest = strings.TrimLeft(rest, "\n")
		if strings.HasPrefix(rest, "-- ") {
			line, after, _ := strings.Cut(rest, "\n")
			rest = after
			_ = line
			continue
		}
		end, quoted := -1, false
		for i, r := range rest {
			if r == '`' {
				quoted = !quoted
			}
			if r == ';' && !quoted {
				end = i
				break
			}
		}
		if end < 0 {
			return append(out, fmt.Sprintf("SQL block ends inside a statement: %.120q", rest))
		}
		if stmt := rest[:end+1]; !grantStatement.MatchString(stmt) {
			out = append(out, fmt.Sprintf("not a GRANT to one quoted principal: %.120q", stmt))
		}
		rest = rest[end+1:]
	}
	return out
}

// stringsIn collects every string of a decoded YAML or JSON document, map
// keys included.
func stringsIn(v any, out []string) []string {
	switch x := v.(type) {
	case string:
		out = append(out, x)
	case map[string]any:
		for k, e := range x {
			out = stringsIn(e, append(out, k))
		}
	case []any:
		for _, e := range x {
			out = stringsIn(e, out)
		}
	}
	return out
}

// containsValue reports whether a parsed string holds want: a field's
// value may arrive inside a longer text (an alert's name).
func containsValue(strs []string, want string) bool {
	for _, s := range strs {
		if strings.Contains(s, want) {
			return true
		}
	}
	return false
}

// pythonStrings parses every generated Python file with Python's own parser
// and returns its string constants, by file.
func pythonStrings(t *testing.T, python string, files []render.File) map[string][]string {
	t.Helper()
	const script = `import ast, json, sys
out = {}
for path in sys.argv[1:]:
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    out[path] = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
json.dump(out, sys.stdout)`
	dir := t.TempDir()
	byDisk := map[string]string{}
	var paths []string
	for _, f := range files {
		if !strings.HasSuffix(f.Path, ".py") {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		byDisk[p] = f.Path
		paths = append(paths, p)
	}
	cmd := exec.Command(python, append([]string{"-c", script}, paths...)...)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("python3 cannot parse the generated Python: %v\n%s", err, stderr)
	}
	var parsed map[string][]string
	if err := json.Unmarshal(out, &parsed); err != nil {
		t.Fatal(err)
	}
	res := map[string][]string{}
	for p, s := range parsed {
		res[byDisk[p]] = s
	}
	return res
}

// FuzzValueInField puts an arbitrary string into one string field of the
// corpus spec: loading never panics and refuses at the value's own line,
// or generate succeeds, every YAML and JSON file parses and the value
// arrives in the YAML and JSON files its field reaches. Seeds: the corpus.
// (Run it by hand: go test ./generator -run '^$' -fuzz FuzzValueInField.)
func FuzzValueInField(f *testing.F) {
	c, err := hostile.Load()
	if err != nil {
		f.Fatal(err)
	}
	values, fields := c.Values, c.Fields
	for i, v := range values {
		if len(v.Text) < 500 {
			f.Add(uint8(i), v.Text)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		if !utf8.ValidString(value) {
			return // YAML text is UTF-8; the loader's own test covers other bytes
		}
		field := fields[int(which)%len(fields)]
		data, pos, err := hostile.Build(field.Base, map[string]string{field.Path: value})
		if err != nil {
			t.Fatal(err)
		}
		_, diags := spec.Load("hostile.yaml", data)
		if len(diags) > 0 {
			at := pos[field.Path]
			for _, d := range diags {
				if d.Line == at.Line {
					return
				}
			}
			t.Fatalf("%s = %q: refused, not at line %d: %v", field.Path, value, at.Line, diags)
		}
		files, diags, err := Generate("hostile.yaml", data)
		if err != nil || len(diags) > 0 {
			t.Fatalf("%s = %q: loads, but generate fails: %v %v", field.Path, value, err, diags)
		}
		strs := map[string][]string{}
		for _, file := range files {
			var v any
			switch filepath.Ext(file.Path) {
			case ".yml", ".yaml":
				err = yaml.Unmarshal(file.Data, &v)
			case ".json":
				err = json.Unmarshal(file.Data, &v)
			default:
				continue
			}
			if err != nil {
				t.Fatalf("%s = %q: %s does not parse: %v", field.Path, value, file.Path, err)
			}
			strs[file.Path] = stringsIn(v, nil)
		}
		for _, sinks := range [][]string{field.YAML, field.JSON} {
			for _, file := range sinks {
				if !containsValue(strs[file], field.Put(value)) {
					t.Fatalf("%s = %q: does not arrive in %s", field.Path, value, file)
				}
			}
		}
	})
}

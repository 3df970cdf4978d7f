package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/spec"
)

// committed compares a doc of the repository with what the generator makes
// now; DBMON_UPDATE=1 rewrites it.
func committed(t *testing.T, rel string, got []byte) {
	t.Helper()
	path := filepath.Join("..", "..", rel)
	if os.Getenv("DBMON_UPDATE") != "" {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (DBMON_UPDATE=1 go test ./generator/docs writes it)", err)
	}
	if string(want) != string(got) {
		diff, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{A: difflib.SplitLines(string(want)),
			B: difflib.SplitLines(string(got)), FromFile: rel, ToFile: "generated", Context: 2})
		t.Errorf("%s is not what the code says; run DBMON_UPDATE=1 go test ./generator/docs and review:\n%s", rel, diff)
	}
}

func specMarkdown(t *testing.T) []byte {
	t.Helper()
	example, err := os.ReadFile(filepath.Join("..", "..", "specs", "example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc, missing, err := SpecReference(spec.SchemaJSON, example)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Errorf("fields without a description in the JSON Schema (the reference would say nothing): %s", strings.Join(missing, ", "))
	}
	return doc
}

// TestSpecDoc keeps docs/spec.md equal to what the JSON Schema says.
func TestSpecDoc(t *testing.T) { committed(t, "docs/spec.md", specMarkdown(t)) }

// TestTablesDoc keeps docs/tables.md equal to the table declarations.
func TestTablesDoc(t *testing.T) { committed(t, "docs/tables.md", Tables()) }

// TestSpecDocCoversSchema checks the generator itself: every property of
// every object in the schema has a row, with its default when it has one.
func TestSpecDocCoversSchema(t *testing.T) {
	doc := string(specMarkdown(t))
	var root schemaNode
	if err := decodeNode(spec.SchemaJSON, &root); err != nil {
		t.Fatal(err)
	}
	d := &specDoc{root: &root}
	rows := 0
	var walk func(n *schemaNode, seen map[*schemaNode]bool)
	walk = func(n *schemaNode, seen map[*schemaNode]bool) {
		n = d.resolve(n)
		if seen[n] {
			return
		}
		seen[n] = true
		for _, name := range n.order {
			p := n.Properties[name]
			row := regexp.MustCompile("(?m)^\\| `" + regexp.QuoteMeta(name) + "` \\|.*$")
			matches := row.FindAllString(doc, -1)
			if len(matches) == 0 {
				t.Errorf("no row for field %s", name)
			}
			if def := d.defaultOf(p); def != "" {
				found := false
				for _, m := range matches {
					found = found || strings.Contains(m, "| "+def+" |")
				}
				if !found {
					t.Errorf("field %s: no row shows its default %s", name, def)
				}
			}
			rows++
			walk(p, seen)
			if p.Items != nil {
				walk(p.Items, seen)
			}
			if v := p.mapValues(); v != nil {
				walk(v, seen)
			}
		}
	}
	walk(&root, map[*schemaNode]bool{})
	if rows < 100 {
		t.Errorf("only %d fields found in the schema", rows)
	}
}

// TestTablesDocCoversModel checks that every table and column is in the
// doc with its type.
func TestTablesDocCoversModel(t *testing.T) {
	doc := string(Tables())
	tables := append(model.PipelineTables(), model.CollectorTable)
	for _, tb := range tables {
		if !strings.Contains(doc, "\n### "+tb.Name+"\n") {
			t.Errorf("no section for %s", tb.Name)
		}
		for _, c := range tb.Columns {
			if !strings.Contains(doc, "| `"+c.Name+"` | `") {
				t.Errorf("%s.%s missing", tb.Name, c.Name)
			}
		}
	}
	for _, b := range model.BronzeTables() {
		if !strings.Contains(doc, "\n### "+b.Name+"\n") || len(b.SourceColumns()) == 0 {
			t.Errorf("bronze table %s: no section or no source columns", b.Name)
		}
	}
}

// TestLinksStayInRepository: every relative link in the README and the docs
// names a file of the repository, so a clone (which has no ../shared or
// other sibling folders) has everything the README points to.
func TestLinksStayInRepository(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, doc := range []string{"README.md", "docs/spec.md", "docs/tables.md", "schemas/README.md"} {
		data, err := os.ReadFile(filepath.Join(root, doc))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(data), -1) {
			target := m[1]
			if strings.HasPrefix(target, "https://") || strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "#") {
				continue
			}
			target, _, _ = strings.Cut(target, "#")
			abs := filepath.Join(root, filepath.Dir(doc), filepath.FromSlash(target))
			rel, err := filepath.Rel(root, abs)
			if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				t.Errorf("%s: link %s leaves the repository", doc, m[1])
				continue
			}
			if _, err := os.Stat(abs); err != nil {
				t.Errorf("%s: link %s: %v", doc, m[1], err)
			}
		}
	}
}

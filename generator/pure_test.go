package generator

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestGeneratorHasNoEngine: the packages under generator/ (tests aside)
// depend on no database, no HTTP client, no Databricks SDK and none of
// dbmon's packages that run or reach things (the twin, synth, workspace,
// preview). Checks that need an engine are handed in (WithKPICheck).
func TestGeneratorHasNoEngine(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go is not on PATH")
	}
	out, err := exec.Command("go", "list", "-deps", "./...").Output()
	if err != nil {
		t.Fatalf("go list -deps ./...: %v", err)
	}
	forbidden := []string{
		"github.com/duckdb/", "database/sql", "net/http", "os/exec", "github.com/databricks/",
		"github.com/dbmon/dbmon/twin", "github.com/dbmon/dbmon/synth", "github.com/dbmon/dbmon/workspace",
		"github.com/dbmon/dbmon/preview", "github.com/dbmon/dbmon/cmd",
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps printed %d packages: %q", len(deps), out)
	}
	for _, dep := range deps {
		for _, f := range forbidden {
			// database/sql/driver is a leaf of interfaces that sprig's
			// dependencies implement; it opens nothing.
			if strings.HasPrefix(dep, f) && dep != "database/sql/driver" {
				t.Errorf("the generator depends on %s", dep)
			}
		}
	}
}

// TestGeneratorTouchesNothing scans every non-test Go file under generator/
// for the clock, the file system, the network, processes and randomness.
// generator/output is the one stage that writes the bundle; Generate only
// calls its in-memory WithManifest.
func TestGeneratorTouchesNothing(t *testing.T) {
	banned := map[string]bool{"os": true, "io/ioutil": true, "net": true, "net/http": true, "os/exec": true,
		"math/rand": true, "math/rand/v2": true, "crypto/rand": true, "syscall": true}
	clock := map[string]bool{"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
		"AfterFunc": true, "Tick": true, "NewTicker": true, "NewTimer": true}
	scanned := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path == "output" || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		scanned++
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		timeName := ""
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if banned[p] {
				t.Errorf("%s imports %s", path, p)
			}
			if p == "time" {
				timeName = "time"
				if imp.Name != nil {
					timeName = imp.Name.Name
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && timeName != "" && x.Name == timeName && clock[sel.Sel.Name] {
					t.Errorf("%s uses time.%s", path, sel.Sel.Name)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned < 10 {
		t.Fatalf("scanned only %d files", scanned)
	}
}

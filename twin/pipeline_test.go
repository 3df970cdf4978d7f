package twin_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dbmon/dbmon/generator"
	"github.com/dbmon/dbmon/twin"
)

var asOf = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func prepare(t *testing.T, path string) *generator.Result {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, diags, err := generator.Prepare(path, data)
	if err != nil || len(diags) > 0 {
		t.Fatalf("%s: %v %v", path, err, diags)
	}
	return res
}

// TestEveryStatementRuns builds every table of every example spec on empty
// system tables and runs every finding query and every alert's query_text:
// each statement translates, executes, and yields exactly its declared
// columns. (Dashboard datasets run in package dashboard's tests.)
func TestEveryStatementRuns(t *testing.T) {
	specs, _ := filepath.Glob("../specs/*.yaml")
	if len(specs) == 0 {
		t.Fatal("no specs")
	}
	for _, path := range specs {
		t.Run(filepath.Base(path), func(t *testing.T) {
			res := prepare(t, path)
			e, err := twin.Open(asOf)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			runs, err := e.RunPipeline(res.Bundle, res.Files)
			if err != nil {
				t.Fatal(err)
			}
			if want := len(res.Bundle.Bronze) + len(res.Bundle.Tables); len(runs) != want {
				t.Errorf("built %d tables, want %d", len(runs), want)
			}
			if _, err := e.Findings(res.Bundle); err != nil {
				t.Fatal(err)
			}
			if _, err := e.EvaluateAlerts(res.Bundle); err != nil {
				t.Fatal(err)
			}
		})
	}
}

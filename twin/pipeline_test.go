package twin_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dbmon/dbmon/generator"
	"github.com/dbmon/dbmon/preview"
	"github.com/dbmon/dbmon/twin"
)

var asOf = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func prepare(t *testing.T, path string) *generator.Result {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, diags, err := generator.Prepare(path, data, generator.WithKPICheck(twin.CheckKPIs))
	if err != nil || len(diags) > 0 {
		t.Fatalf("%s: %v %v", path, err, diags)
	}
	return res
}

// run builds res on the twin with rows from src and reads the report.
func run(t *testing.T, res *generator.Result, src preview.Source) *preview.Report {
	t.Helper()
	r, err := preview.Run(context.Background(), res, src, asOf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestEveryStatementRuns builds every table of every example spec on empty
// system tables and runs every finding query, KPI and SLA summary and every
// alert's query_text: each statement translates, executes, and yields
// exactly its declared columns. (Dashboard datasets run in package
// dashboard's tests.)
func TestEveryStatementRuns(t *testing.T) {
	specs, _ := filepath.Glob("../specs/*.yaml")
	if len(specs) == 0 {
		t.Fatal("no specs")
	}
	for _, path := range specs {
		t.Run(filepath.Base(path), func(t *testing.T) {
			res := prepare(t, path)
			r := run(t, res, preview.Empty())
			if want := len(res.Bundle.Bronze) + len(res.Bundle.Tables); len(r.Tables) != want {
				t.Errorf("built %d tables, want %d", len(r.Tables), want)
			}
			if len(r.Findings) > 0 {
				t.Errorf("empty system tables flag %d findings: %v", len(r.Findings), r.Findings)
			}
			if len(r.Alerts) != len(res.Bundle.Alerts) {
				t.Errorf("evaluated %d alerts, the bundle has %d", len(r.Alerts), len(res.Bundle.Alerts))
			}
			for _, a := range r.Alerts {
				if a.Fired {
					t.Errorf("alert %s fires on empty system tables: %v", a.Key, a.Rows)
				}
			}
			if len(r.SLAs) != len(res.Bundle.Monitor.SLAs) {
				t.Errorf("summarized %d SLAs, the bundle has %d", len(r.SLAs), len(res.Bundle.Monitor.SLAs))
			}
		})
	}
}

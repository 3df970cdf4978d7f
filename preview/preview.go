// Package preview runs a generated bundle on the twin and reports what it
// computed: open an engine, load the system tables from a Source, build every
// pipeline table, then read the findings, KPIs, SLA compliance and alerts.
// `dbmon preview` prints and exports the Report; tests assert on its fields
// and query its Engine for more.
package preview

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dbmon/dbmon/generator"
	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/synth"
	"github.com/dbmon/dbmon/twin"
)

// SLADays is how many recent local days the report's SLA compliance covers.
const SLADays = 7

// Source fills the twin's system tables before the pipeline runs.
type Source struct {
	describe  string
	synthetic bool
	memory    int64 // DuckDB's cap for the run (twin.Memory); 0 for the twin's default
	load      func(e *twin.Engine, res *generator.Result) (incidents []synth.Incident, notes []string, err error)
}

// Synthetic generates a deterministic account shaped by the spec
// (synth.Generate into the engine's loader). cfg.AsOf is replaced by the
// asOf given to Run, so data and pipeline share one "now".
func Synthetic(cfg synth.Config) Source {
	return Source{
		describe:  fmt.Sprintf("synthetic data (seed %d, %d jobs, %d days)", cfg.Seed, cfg.Jobs, cfg.Days),
		synthetic: true,
		// The twin's memory grows with the account, as the data does.
		memory: twin.SyntheticMemory(cfg.Jobs, cfg.Days),
		load: func(e *twin.Engine, res *generator.Result) ([]synth.Incident, []string, error) {
			loader, err := e.Loader()
			if err != nil {
				return nil, nil, err
			}
			// node_timeline stays a view of its plans: made where it is
			// read, never written (see twin.Loader.Expand).
			loader.Lazy = true
			cfg.AsOf = e.AsOf
			incidents, err := synth.Generate(res.Spec, cfg, loader)
			if cerr := loader.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return nil, nil, fmt.Errorf("synthetic data: %w", err)
			}
			return incidents, nil, nil
		},
	}
}

// Dir loads system tables exported from a workspace (twin.LoadDir). The
// report's Notes say what each file gave.
func Dir(dir string) Source {
	return Source{
		describe: "data in " + dir,
		load: func(e *twin.Engine, _ *generator.Result) ([]synth.Incident, []string, error) {
			notes, err := e.LoadDir(dir)
			return nil, notes, err
		},
	}
}

// Empty leaves every system table empty: each statement must still run.
func Empty() Source {
	return Source{describe: "empty system tables",
		load: func(*twin.Engine, *generator.Result) ([]synth.Incident, []string, error) { return nil, nil, nil }}
}

// Rows loads the system tables with load (a hand-built fixture, say: rows
// through e.Loader() or statements on e.DB); describe names it in the
// report's heading.
func Rows(describe string, load func(e *twin.Engine) error) Source {
	return Source{describe: describe,
		load: func(e *twin.Engine, _ *generator.Result) ([]synth.Incident, []string, error) {
			return nil, nil, load(e)
		}}
}

// Report is one run of a bundle on the twin. Close releases its engine.
type Report struct {
	File   string    // the spec, as the heading names it
	Source string    // where the rows came from
	AsOf   time.Time // the run's "now"

	Notes     []string         // one per loaded file (Dir)
	Synthetic bool             // the rows are synthetic; Incidents lists what was injected
	Incidents []synth.Incident // injected by Synthetic, in synth's order
	Tables    []twin.TableRun  // every bronze, silver and gold table, in build order
	KPIs      []twin.KPIValue
	SLAs      []twin.SLAStatus // over the last SLADays days
	Findings  []twin.Finding
	Alerts    []twin.AlertResult
	// Reports are the e-mails the report jobs would send: one copy per
	// dashboard task, with its recipients and datasets.
	Reports []twin.ReportCopy
	// Footprint is the monitor's own use per component over the
	// FootprintDays full days from FootprintFrom (monitor_footprint).
	Footprint     []twin.FootprintRow
	FootprintFrom time.Time
	Currency      string

	// Engine holds every built table until Close, for Export and for
	// callers that query further.
	Engine *twin.Engine
	bundle *model.Bundle
}

// Run builds res on a fresh twin whose "now" is asOf, with system tables
// from src, and reads everything the report shows. ctx is checked between
// stages; a statement already running is not interrupted.
func Run(ctx context.Context, res *generator.Result, src Source, asOf time.Time) (_ *Report, err error) {
	e, err := twin.Open(asOf, twin.Memory(src.memory))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	r := &Report{File: res.File, Source: src.describe, AsOf: e.AsOf, Synthetic: src.synthetic, Engine: e, bundle: res.Bundle}
	if r.Incidents, r.Notes, err = src.load(e, res); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.Tables, err = e.RunPipeline(res.Bundle, res.Files); err != nil {
		return nil, fmt.Errorf("pipeline on the twin: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.Findings, err = e.Findings(res.Bundle); err != nil {
		return nil, err
	}
	if r.KPIs, err = e.KPIs(res.Bundle); err != nil {
		return nil, err
	}
	if r.SLAs, err = e.SLASummary(res.Bundle, SLADays); err != nil {
		return nil, err
	}
	if r.Alerts, err = e.EvaluateAlerts(res.Bundle); err != nil {
		return nil, err
	}
	if r.Reports, err = e.ReportCopies(res.Bundle, res.Files); err != nil {
		return nil, err
	}
	if r.Footprint, r.FootprintFrom, err = e.Footprint(FootprintDays); err != nil {
		return nil, err
	}
	r.Currency = res.Bundle.Monitor.Pricing.Currency
	return r, nil
}

// Close releases the engine.
func (r *Report) Close() error { return r.Engine.Close() }

// Export writes every silver and gold table as CSV sorted by its key,
// kpis.json, findings.json, alerts.json and, for synthetic data,
// incidents.json into dir. Empty lists are written as [].
func (r *Report) Export(dir string) error {
	if err := r.Engine.Export(dir, r.bundle); err != nil {
		return err
	}
	if err := writeJSON(dir, "findings.json", orEmpty(r.Findings)); err != nil {
		return err
	}
	if err := writeJSON(dir, "alerts.json", orEmpty(r.Alerts)); err != nil {
		return err
	}
	if r.Synthetic {
		return writeJSON(dir, "incidents.json", orEmpty(r.Incidents))
	}
	return nil
}

// ExportedTables is how many tables Export writes as CSV.
func (r *Report) ExportedTables() int { return len(r.bundle.Tables) }

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func writeJSON(dir, name string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name), append(data, '\n'), 0o644)
}

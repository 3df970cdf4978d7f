package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbmon/dbmon/generator"
	"github.com/dbmon/dbmon/synth"
	"github.com/dbmon/dbmon/twin"
)

type previewOptions struct {
	synthetic bool
	data      string
	asOf      string
	export    string
	seed      int64
	jobs      int
	days      int
	nodeGrain int
	clean     bool
}

func newPreviewCmd() *cobra.Command {
	var o previewOptions
	cmd := &cobra.Command{
		Use:   "preview [SPEC]",
		Short: "Run the generated pipeline on an embedded engine and summarize it",
		Long: `preview builds every table of the bundle for SPEC (default dbmon.yaml) on an
embedded DuckDB "twin" of the system tables, then prints row counts, KPIs
against their targets, SLA compliance and what the detectors flag.

Data comes from --synthetic (seeded, with injected incidents that the detectors
should find; --clean leaves them out) or from --data DIR, a folder of system
tables exported from a workspace, one file per table named
system.<schema>.<table>.parquet|json|csv (e.g. system.billing.usage.parquet).

--as-of fixes "now" (RFC 3339 or YYYY-MM-DD[THH:MM]); it defaults to the
current hour. --export DIR writes every silver and gold table as CSV, plus
kpis.json, findings.json, alerts.json (each alert of the bundle: whether it
would fire, its value and threshold, the offending rows) and, for synthetic
data, incidents.json.`,
		Example: `  dbmon preview specs/example.yaml --synthetic --as-of 2026-11-27T12:00:00Z
  dbmon preview --data ./export --export ./preview-out`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPreview(cmd.OutOrStdout(), cmd.ErrOrStderr(), specArg(args), o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.synthetic, "synthetic", false, "generate synthetic system tables")
	f.StringVar(&o.data, "data", "", "folder of exported system tables")
	f.StringVar(&o.asOf, "as-of", "", "the time the preview treats as now (UTC unless a zone is given)")
	f.StringVar(&o.export, "export", "", "write tables as CSV and results as JSON into this folder")
	f.Int64Var(&o.seed, "seed", 1, "synthetic: random seed")
	f.IntVar(&o.jobs, "jobs", 60, "synthetic: number of jobs")
	f.IntVar(&o.days, "days", 45, "synthetic: days of history")
	f.IntVar(&o.nodeGrain, "node-grain", 1, "synthetic: node_timeline row length in minutes (60 for big runs)")
	f.BoolVar(&o.clean, "clean", false, "synthetic: inject no incidents")
	return cmd
}

func parseAsOf(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return now.UTC().Truncate(time.Hour), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, usageError{fmt.Errorf("--as-of %q: want RFC 3339 (2026-11-27T12:00:00Z) or YYYY-MM-DD[THH:MM]", s)}
}

func runPreview(stdout, stderr io.Writer, path string, o previewOptions) error {
	if o.synthetic == (o.data != "") {
		return usageError{errors.New("give exactly one of --synthetic and --data DIR")}
	}
	asOf, err := parseAsOf(o.asOf, time.Now())
	if err != nil {
		return err
	}
	data, err := readSpec(path)
	if err != nil {
		return err
	}
	res, diags, err := generator.Prepare(path, data)
	if err != nil {
		return err
	}
	if len(diags) > 0 {
		return invalid(stderr, diags)
	}
	e, err := twin.Open(asOf)
	if err != nil {
		return err
	}
	defer e.Close()

	var incidents []synth.Incident
	source := ""
	if o.synthetic {
		loader, err := e.Loader()
		if err != nil {
			return err
		}
		cfg := synth.Config{Seed: o.seed, Jobs: o.jobs, Days: o.days, AsOf: asOf,
			NodeGrainMinutes: o.nodeGrain, Incidents: !o.clean}
		incidents, err = synth.Generate(res.Spec, cfg, loader)
		if cerr := loader.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("synthetic data: %w", err)
		}
		source = fmt.Sprintf("synthetic data (seed %d, %d jobs, %d days)", o.seed, o.jobs, o.days)
	} else {
		notes, err := e.LoadDir(o.data)
		for _, n := range notes {
			fmt.Fprintln(stderr, "load: "+n)
		}
		if err != nil {
			return err
		}
		source = "data in " + o.data
	}

	runs, err := e.RunPipeline(res.Bundle, res.Files)
	if err != nil {
		return fmt.Errorf("pipeline on the twin: %w", err)
	}
	findings, err := e.Findings(res.Bundle)
	if err != nil {
		return err
	}
	kpis, err := e.KPIs(res.Bundle)
	if err != nil {
		return err
	}
	slas, err := e.SLASummary(res.Bundle, 7)
	if err != nil {
		return err
	}
	alerts, err := e.EvaluateAlerts(res.Bundle)
	if err != nil {
		return err
	}

	w := stdout
	fmt.Fprintf(w, "dbmon preview: %s on %s, as of %s\n", path, source, asOf.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "\nTables (rows)\n")
	for _, r := range runs {
		fmt.Fprintf(w, "  %-30s %10d\n", r.Name, r.Rows)
	}
	fmt.Fprintf(w, "\nKPIs\n")
	if len(kpis) == 0 {
		fmt.Fprintln(w, "  (the spec defines none)")
	}
	shown := map[string]int{}
	for _, k := range kpis {
		// A breakdown by job can have hundreds of values: the summary shows
		// the first few per KPI (the export has them all).
		if shown[k.Name]++; shown[k.Name] > maxKPIRows {
			continue
		}
		fmt.Fprintf(w, "  %-28s %-20s %12s  %s\n", k.Name, k.Breakdown, formatKPI(k.Format, k.Value), targetText(k))
	}
	for _, k := range kpis {
		if n := shown[k.Name]; n > maxKPIRows {
			fmt.Fprintf(w, "  %-28s ... and %d more (see kpis.json with --export)\n", k.Name, n-maxKPIRows)
			shown[k.Name] = 0
		}
	}
	fmt.Fprintf(w, "\nSLA compliance (last 7 days)\n")
	if len(slas) == 0 {
		fmt.Fprintln(w, "  (the spec defines none)")
	}
	for _, s := range slas {
		fmt.Fprintf(w, "  %-28s %-9s %3d jobs  %4d/%-4d job-days met  %s\n", s.Name, s.Severity, s.Jobs, s.Met, s.Checked, strings.Join(s.Breaches, "; "))
	}
	fmt.Fprintf(w, "\nFindings (%d)\n", len(findings))
	for _, f := range findings {
		fmt.Fprintf(w, "  %-17s %-16s %s\n", f.Family, orDash(f.Team), f.Detail)
	}
	fired := 0
	for _, a := range alerts {
		if a.Fired {
			fired++
		}
	}
	fmt.Fprintf(w, "\nAlerts (%d of %d would fire)\n", fired, len(alerts))
	for _, a := range alerts {
		if a.Fired {
			fmt.Fprintf(w, "  %-50s %d finding(s)\n", a.Key, len(a.Rows))
		}
	}
	if o.synthetic {
		fmt.Fprintf(w, "\nInjected incidents (%d)\n", len(incidents))
		for _, in := range incidents {
			fmt.Fprintf(w, "  %-17s %-16s %s\n", in.Kind, orDash(in.Team), in.Detail)
		}
	}

	if o.export != "" {
		if err := e.Export(o.export, res.Bundle); err != nil {
			return err
		}
		if findings == nil {
			findings = []twin.Finding{}
		}
		if err := writeJSON(filepath.Join(o.export, "findings.json"), findings); err != nil {
			return err
		}
		if alerts == nil {
			alerts = []twin.AlertResult{}
		}
		if err := writeJSON(filepath.Join(o.export, "alerts.json"), alerts); err != nil {
			return err
		}
		if o.synthetic {
			if incidents == nil {
				incidents = []synth.Incident{}
			}
			if err := writeJSON(filepath.Join(o.export, "incidents.json"), incidents); err != nil {
				return err
			}
		}
		fmt.Fprintf(w, "\nExported %d tables to %s\n", len(res.Bundle.Tables), o.export)
	}
	return nil
}

// maxKPIRows bounds the breakdown values printed per KPI.
const maxKPIRows = 8

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func formatKPI(format string, v *float64) string {
	if v == nil {
		return "n/a"
	}
	switch format {
	case "percent":
		return fmt.Sprintf("%.2f%%", *v*100)
	case "currency":
		return fmt.Sprintf("%.2f", *v)
	case "duration":
		return (time.Duration(*v) * time.Second).String()
	}
	return fmt.Sprintf("%.4g", *v)
}

func targetText(k twin.KPIValue) string {
	var parts []string
	if k.TargetMin != nil {
		parts = append(parts, "≥ "+formatKPI(k.Format, k.TargetMin))
	}
	if k.TargetMax != nil {
		parts = append(parts, "≤ "+formatKPI(k.Format, k.TargetMax))
	}
	if len(parts) == 0 {
		return ""
	}
	mark := "on target"
	if k.OnTarget != nil && !*k.OnTarget {
		mark = "OFF TARGET"
	}
	return "target " + strings.Join(parts, " and ") + ": " + mark
}

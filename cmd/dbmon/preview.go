package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbmon/dbmon/generator"
	"github.com/dbmon/dbmon/generator/spec"
	"github.com/dbmon/dbmon/preview"
	"github.com/dbmon/dbmon/preview/htmlreport"
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
	html      string
	replay    int
	reconcile bool
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
The twin's DuckDB takes at most 3 GB of memory, spilling to a temp folder past
it; a synthetic account above 4,444 jobs x 90 days gets 7.5 KB per job-day
(10,000 x 90: 6.75 GB), never more than 60% of the machine's memory.

--as-of fixes "now" (RFC 3339 or YYYY-MM-DD[THH:MM]); it defaults to the
current hour. --export DIR writes every silver and gold table as CSV, plus
kpis.json, findings.json, alerts.json (each alert of the bundle: whether it
would fire, its value and threshold, the offending rows) and, for synthetic
data, incidents.json. --html FILE writes one self-contained HTML file: every
page and widget of the dashboards computed on the twin, the alerts that would
fire, SLA compliance and the KPIs against their targets (and, with --replay,
the notification timeline).

--reconcile adds the cost reconciliation: the bill (usage x list prices from
bronze) beside the totals of cost_allocated and cost_by_workspace, the share
of each allocation method, and each job's cost beside Databricks' published
job-cost query with the cause of every difference; with --export it also
writes reconcile.json. A total that differs from the bill by a cent fails.

--replay DAYS runs the deployed system over the DAYS days ending at --as-of:
source rows become visible as late as Databricks delivers them (billing up to
12 hours, job timeline rows minutes after a run), the pipeline refreshes on
refresh and every alert runs on its own schedule through the SQL alert state
machine. It prints the timeline of notifications and the warehouse queries a
day the alerts cost; with --export it also writes notifications.json. On
synthetic data it also lists each injected incident: when it happened, when
its data became visible, when it was notified and to whom (with --export,
replay_incidents.json).`,
		Example: `  dbmon preview specs/example.yaml --synthetic --as-of 2026-11-27T12:00:00Z
  dbmon preview --data ./export --export ./preview-out
  dbmon preview specs/example.yaml --synthetic --html preview.html
  dbmon preview specs/example.yaml --synthetic --replay 14 --export ./replay-out`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPreview(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), specArg(args), o)
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
	f.StringVar(&o.html, "html", "", "write the dashboards and results as one self-contained HTML file")
	f.IntVar(&o.replay, "replay", 0, "replay the alerts over this many days ending at --as-of")
	f.BoolVar(&o.reconcile, "reconcile", false, "reconcile cost with the bill and Databricks' job-cost query (reconcile.json with --export)")
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

func runPreview(ctx context.Context, stdout, stderr io.Writer, path string, o previewOptions) error {
	stdout = preview.PlainText(stdout) // stderr keeps \r for the progress line
	if o.synthetic == (o.data != "") {
		return usageError{errors.New("give exactly one of --synthetic and --data DIR")}
	}
	if o.replay < 0 {
		return usageError{fmt.Errorf("--replay %d: want a number of days", o.replay)}
	}
	asOf, err := parseAsOf(o.asOf, time.Now())
	if err != nil {
		return err
	}
	data, err := readSpec(path)
	if err != nil {
		return err
	}
	res, diags, err := generator.Prepare(path, data, checkKPIs)
	if err != nil {
		return err
	}
	if len(diags) > 0 {
		return invalid(stderr, diags)
	}
	src := preview.Dir(o.data)
	if o.synthetic {
		src = preview.Synthetic(synth.Config{Seed: o.seed, Jobs: o.jobs, Days: o.days,
			NodeGrainMinutes: o.nodeGrain, Incidents: !o.clean})
	}
	r, err := preview.Run(ctx, res, src, asOf)
	if err != nil {
		return err
	}
	defer r.Close()
	for _, n := range r.Notes {
		fmt.Fprintln(stderr, "load: "+spec.Printable(n))
	}
	in := htmlreport.Input{Report: r, Dashboards: htmlreport.DashboardFiles(res),
		Progress: htmlreport.TerminalProgress(stderr, "html")}
	if o.replay > 0 {
		tl, err := replay(stdout, res, r, asOf, o)
		if err != nil {
			return err
		}
		in.Replay = htmlreport.ReplayOf(tl)
	} else {
		r.Print(stdout)
		if o.export != "" {
			if err := r.Export(o.export); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "\nExported %d tables to %s\n", r.ExportedTables(), o.export)
		}
	}
	if o.html != "" {
		if err := htmlreport.WriteFile(o.html, in); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nWrote %s\n", o.html)
	}
	if !o.reconcile {
		return nil
	}
	rec, err := r.Reconcile()
	if err != nil {
		return err
	}
	rec.Print(stdout)
	if o.export != "" {
		if err := rec.Export(o.export); err != nil {
			return err
		}
	}
	if len(rec.Failures) > 0 {
		return fmt.Errorf("cost does not reconcile: %s", strings.Join(rec.Failures, "; "))
	}
	return nil
}

// replay runs the alerts over the o.replay days ending at asOf on the
// preview's engine and prints the timeline (which ends with the warehouse
// queries a day the alerts cost) and returns it for the HTML report.
func replay(stdout io.Writer, res *generator.Result, r *preview.Report, asOf time.Time, o previewOptions) (*twin.Timeline, error) {
	from := asOf.Add(-time.Duration(o.replay) * 24 * time.Hour)
	tl, err := r.Engine.Replay(res.Bundle, res.Files, from, asOf, twin.DefaultLateness, res.Spec.Destinations)
	if err != nil {
		return nil, err
	}
	if err := tl.Print(stdout); err != nil {
		return nil, err
	}
	// Synthetic data: each injected incident beside what the alerts sent for it.
	var incidents []preview.IncidentTime
	if r.Synthetic && len(r.Incidents) > 0 {
		if incidents, err = preview.ReplayIncidents(r.Engine, res, r.Incidents, tl, twin.DefaultLateness); err != nil {
			return nil, err
		}
		if err := preview.PrintIncidentTimes(stdout, incidents); err != nil {
			return nil, err
		}
	}
	if o.export != "" {
		if err := tl.WriteNotifications(o.export); err != nil {
			return nil, err
		}
		fmt.Fprintf(stdout, "Wrote %d notifications to %s\n", len(tl.Notifications), filepath.Join(o.export, "notifications.json"))
		if incidents != nil {
			if err := preview.WriteIncidentTimes(o.export, incidents); err != nil {
				return nil, err
			}
			fmt.Fprintf(stdout, "Wrote %d incident rows to %s\n", len(incidents), filepath.Join(o.export, "replay_incidents.json"))
		}
	}
	return tl, nil
}

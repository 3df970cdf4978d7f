package preview

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dbmon/dbmon/generator/spec"
	"github.com/dbmon/dbmon/twin"
)

// PlainText wraps a terminal's writer so that what the preview prints from
// the workspace's data and the spec (job names, breakdown values, error text,
// titles) cannot drive or reorder the terminal: each write's control
// characters, other than line breaks and tabs, and its bidirectional controls
// become \u escapes, as in diagnostics (spec.Printable). Every write of
// fmt.Fprint* is whole, so a rune is never split between two writes.
func PlainText(w io.Writer) io.Writer { return plainText{w} }

type plainText struct{ w io.Writer }

func (p plainText) Write(b []byte) (int, error) {
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		lines[i] = spec.Printable(l)
	}
	if _, err := io.WriteString(p.w, strings.Join(lines, "\n")); err != nil {
		return 0, err
	}
	return len(b), nil
}

// maxKPIRows bounds the breakdown values printed per KPI: a breakdown by job
// can have hundreds (the export has them all).
const maxKPIRows = 8

// Print writes the summary: row counts per table, the KPIs against their
// targets, SLA compliance, the findings, the alerts that would fire and, for
// synthetic data, the injected incidents.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "dbmon preview: %s on %s, as of %s\n", r.File, r.Source, r.AsOf.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "\nTables (rows)\n")
	for _, t := range r.Tables {
		fmt.Fprintf(w, "  %-30s %10d\n", t.Name, t.Rows)
	}
	fmt.Fprintf(w, "\nKPIs\n")
	if len(r.KPIs) == 0 {
		fmt.Fprintln(w, "  (the spec defines none)")
	}
	shown := map[string]int{}
	for _, k := range r.KPIs {
		if shown[k.Name]++; shown[k.Name] > maxKPIRows {
			continue
		}
		fmt.Fprintf(w, "  %-28s %-20s %12s  %s\n", k.Name, k.Breakdown, formatKPI(k.Format, k.Value), targetText(k))
	}
	for _, k := range r.KPIs {
		if n := shown[k.Name]; n > maxKPIRows {
			fmt.Fprintf(w, "  %-28s ... and %d more (see kpis.json with --export)\n", k.Name, n-maxKPIRows)
			shown[k.Name] = 0
		}
	}
	fmt.Fprintf(w, "\nSLA compliance (last %d days)\n", SLADays)
	if len(r.SLAs) == 0 {
		fmt.Fprintln(w, "  (the spec defines none)")
	}
	for _, s := range r.SLAs {
		fmt.Fprintf(w, "  %-28s %-9s %3d jobs  %4d/%-4d job-days met  %s\n", s.Name, s.Severity, s.Jobs, s.Met, s.Checked, strings.Join(s.Breaches, "; "))
	}
	fmt.Fprintf(w, "\nFindings (%d)\n", len(r.Findings))
	for _, f := range r.Findings {
		fmt.Fprintf(w, "  %-17s %-16s %s\n", f.Family, orDash(f.Team), f.Detail)
	}
	fired := 0
	for _, a := range r.Alerts {
		if a.Fired {
			fired++
		}
	}
	fmt.Fprintf(w, "\nAlerts (%d of %d would fire)\n", fired, len(r.Alerts))
	for _, a := range r.Alerts {
		if a.Fired {
			fmt.Fprintf(w, "  %-50s %d finding(s)\n", a.Key, len(a.Rows))
		}
	}
	r.printReports(w)
	r.printFootprint(w)
	if r.Synthetic {
		fmt.Fprintf(w, "\nInjected incidents (%d)\n", len(r.Incidents))
		for _, in := range r.Incidents {
			fmt.Fprintf(w, "  %-17s %-16s %s\n", in.Kind, orDash(in.Team), in.Detail)
		}
	}
}

// FootprintDays is how many full days the footprint summary covers.
const FootprintDays = 7

// printFootprint prints what the monitor itself used over the last
// FootprintDays full days, per component, with the total.
func (r *Report) printFootprint(w io.Writer) {
	fmt.Fprintf(w, "\nThe monitor itself (%d full days", FootprintDays)
	if len(r.Footprint) == 0 {
		fmt.Fprintln(w, ")\n  (no usage carries the bundle's tags yet)")
		return
	}
	fmt.Fprintf(w, " from %s, net cost in %s)\n", r.FootprintFrom.Format("2006-01-02"), r.Currency)
	var dbus, cost float64
	for _, f := range r.Footprint {
		fmt.Fprintf(w, "  %-12s %-9s %10.1f DBU %10.2f\n", f.Component, f.Method, f.DBUs, f.CostNet)
		dbus, cost = dbus+f.DBUs, cost+f.CostNet
	}
	fmt.Fprintf(w, "  %-22s %10.1f DBU %10.2f\n", "total", dbus, cost)
}

// printReports lists the e-mails the report jobs would send: per report its
// dashboard, schedule and next send after AsOf; per copy whom it goes to
// and how many rows its datasets hold (a per-team copy's, filtered).
func (r *Report) printReports(w io.Writer) {
	jobs := 0
	for i, c := range r.Reports {
		if i == 0 || c.Report != r.Reports[i-1].Report {
			jobs++
		}
	}
	fmt.Fprintf(w, "\nReports (%d jobs, %d e-mails)\n", jobs, len(r.Reports))
	if len(r.Reports) == 0 {
		fmt.Fprintln(w, "  (the spec defines none)")
	}
	for i, c := range r.Reports {
		if i == 0 || c.Report != r.Reports[i-1].Report {
			fmt.Fprintf(w, "  %s: %s, %s (%s)%s\n", c.Report, c.Dashboard, c.Cron, c.Timezone, nextSend(c, r.AsOf))
		}
		rows, filtered := 0, 0
		for _, ds := range c.Datasets {
			rows += len(ds.Rows)
			if ds.Filtered != "" {
				filtered++
			}
		}
		who := "all teams"
		what := fmt.Sprintf("%d datasets, %d rows", len(c.Datasets), rows)
		if c.Team != "" {
			who = "team " + c.Team
			what += fmt.Sprintf(" (%d datasets filtered to the team)", filtered)
		}
		var to []string
		for _, s := range c.Subscribers {
			if s.DestinationID != "" {
				to = append(to, s.Destination+" (destination "+s.DestinationID+")")
			} else {
				to = append(to, s.UserName)
			}
		}
		fmt.Fprintf(w, "    %-24s %s\n      to %s\n", who, what, strings.Join(to, ", "))
	}
}

// nextSend is ", next <local time>" for the first send after asOf.
func nextSend(c twin.ReportCopy, asOf time.Time) string {
	cron, err := spec.ParseQuartzCron(c.Cron)
	loc, lerr := time.LoadLocation(c.Timezone)
	if err != nil || lerr != nil {
		return ""
	}
	next := cron.Next(asOf, loc)
	if next.IsZero() {
		return ", never again"
	}
	return ", next " + next.In(loc).Format("Mon 2006-01-02 15:04")
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

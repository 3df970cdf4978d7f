package htmlreport

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/dbmon/dbmon/generator/dashboard"
	"github.com/dbmon/dbmon/preview"
	"github.com/dbmon/dbmon/twin"
)

// summary writes the morning view: headline cards, the alerts that fired,
// SLA compliance, the KPIs against their targets, the replay's
// notifications and, for synthetic data, what was injected.
func (wr *writer) summary() {
	r := wr.in.Report
	fired := 0
	for _, a := range r.Alerts {
		if a.Fired {
			fired++
		}
	}
	met, checked := 0, 0
	for _, s := range r.SLAs {
		met += s.Met
		checked += s.Checked
	}
	onTarget, withTarget := 0, 0
	for _, k := range r.KPIs {
		if k.OnTarget != nil {
			withTarget++
			if *k.OnTarget {
				onTarget++
			}
		}
	}
	wr.printf("<section class=\"summary\" id=\"summary\" data-page=\"summary\">\n<h2>Alerts, SLAs and KPIs as of %s</h2>\n<div class=\"cards\">",
		esc(r.AsOf.Format("2006-01-02 15:04 MST")))
	wr.card("Alerts that would fire", fmt.Sprintf("%d", fired), fmt.Sprintf("of %d alerts", len(r.Alerts)), fired > 0)
	slaText := "–"
	if checked > 0 {
		slaText = formatNumber(float64(met)/float64(checked), pct1)
	}
	wr.card("SLA job-days met", slaText, fmt.Sprintf("%d of %d, last %d days", met, checked, preview.SLADays), met < checked)
	wr.card("KPI values on target", fmt.Sprintf("%d", onTarget), fmt.Sprintf("of %d with a target", withTarget), onTarget < withTarget)
	wr.card("Findings", fmt.Sprintf("%d", len(r.Findings)), "rows of the detectors' queries", false)
	wr.write("</div>\n")
	wr.alerts()
	wr.slas()
	wr.kpis()
	wr.reports()
	if wr.in.Replay != nil {
		wr.replay(*wr.in.Replay)
	}
	if r.Synthetic {
		wr.incidents()
	}
	wr.write("</section>\n")
}

var pct1 = &fmtPercent1

func (wr *writer) card(title, value, sub string, bad bool) {
	cls := ""
	if bad {
		cls = ` class="value up"`
	} else {
		cls = ` class="value"`
	}
	wr.printf(`<div class="card"><div class="sub">%s</div><div%s>%s</div><div class="sub">%s</div></div>`, esc(title), cls, esc(value), esc(sub))
}

func (wr *writer) alerts() {
	r := wr.in.Report
	var fired []twin.AlertResult
	for _, a := range r.Alerts {
		if a.Fired {
			fired = append(fired, a)
		}
	}
	wr.printf("<div class=\"panel\" id=\"alerts\"><h3>Alerts that would fire (%d of %d)</h3>", len(fired), len(r.Alerts))
	if len(fired) == 0 {
		wr.write(`<p class="meta">None: no alert query returns a row.</p></div>` + "\n")
		return
	}
	wr.write(`<table><thead><tr><th>Alert</th><th>Family</th><th>Team</th><th class="num">Findings</th><th>First findings</th></tr></thead><tbody>`)
	for _, a := range fired {
		var details []string
		for i, f := range a.Rows {
			if i == 3 {
				details = append(details, fmt.Sprintf("and %d more", len(a.Rows)-3))
				break
			}
			details = append(details, f.Detail)
		}
		wr.printf(`<tr><td>%s</td><td>%s</td><td>%s</td><td class="num">%d</td><td title="%s">%s</td></tr>`,
			esc(a.Key), esc(a.Family), esc(orDash(a.Team)), len(a.Rows), esc(strings.Join(details, "\n")), esc(strings.Join(details, "; ")))
	}
	wr.write("</tbody></table></div>\n")
}

func (wr *writer) slas() {
	r := wr.in.Report
	wr.printf("<div class=\"panel\" id=\"slas\"><h3>SLA compliance (last %d days)</h3>", preview.SLADays)
	if len(r.SLAs) == 0 {
		wr.write(`<p class="meta">The spec defines no SLAs.</p></div>` + "\n")
		return
	}
	// Worst first: the SLAs that missed are what a reader looks for.
	slas := append([]twin.SLAStatus(nil), r.SLAs...)
	sort.SliceStable(slas, func(i, j int) bool { return slaRatio(slas[i]) < slaRatio(slas[j]) })
	wr.write(`<table><thead><tr><th>SLA</th><th>Severity</th><th class="num">Jobs</th><th>Job-days met</th><th>Breaches</th></tr></thead><tbody>`)
	for n, s := range slas {
		if n == maxSLAs {
			rest := slas[n:]
			wr.printf(`<tr><td colspan="5" class="more">and %d more SLAs, each at %s or better</td></tr>`,
				len(rest), esc(formatNumber(slaRatio(rest[0]), pct1)))
			break
		}
		ratio, text := 0.0, "no checks"
		if s.Checked > 0 {
			ratio = float64(s.Met) / float64(s.Checked)
			text = fmt.Sprintf("%d/%d (%s)", s.Met, s.Checked, formatNumber(ratio, pct1))
		}
		low := ""
		if ratio < 1 && s.Checked > 0 {
			low = ` class="low"`
		}
		breaches := s.Breaches
		more := ""
		if len(breaches) > maxBreaches {
			more = fmt.Sprintf("; and %d more", len(breaches)-maxBreaches)
			breaches = breaches[:maxBreaches]
		}
		wr.printf(`<tr><td>%s</td><td>%s</td><td class="num">%d</td><td><span class="meter"><b%s style="width:%s%%"></b></span>%s</td><td>%s</td></tr>`,
			esc(s.Name), esc(s.Severity), s.Jobs, low, num(ratio*100), esc(text), esc(orDash(strings.Join(breaches, "; ")+more)))
	}
	wr.write("</tbody></table></div>\n")
}

func (wr *writer) kpis() {
	r := wr.in.Report
	wr.write("<div class=\"panel\" id=\"kpis\"><h3>KPIs against their targets</h3>")
	if len(r.KPIs) == 0 {
		wr.write(`<p class="meta">The spec defines no KPIs.</p></div>` + "\n")
		return
	}
	wr.write(`<table><thead><tr><th>KPI</th><th>Period end</th><th>Breakdown</th><th class="num">Value</th><th>Target</th><th>Status</th></tr></thead><tbody>`)
	count := map[string]int{}
	for _, k := range r.KPIs {
		count[k.Name]++
	}
	shown := map[string]int{}
	for _, k := range r.KPIs {
		if shown[k.Name]++; shown[k.Name] > maxKPIRows {
			if shown[k.Name] == maxKPIRows+1 {
				wr.printf(`<tr><td>%s</td><td colspan="5" class="more">and %d more breakdown values (kpis.json with --export has them all)</td></tr>`,
					esc(kpiName(k)), count[k.Name]-maxKPIRows)
			}
			continue
		}
		status := `<span class="badge none">no target</span>`
		switch {
		case k.Value == nil:
			status = `<span class="badge none">no value</span>`
		case k.OnTarget == nil:
		case *k.OnTarget:
			status = `<span class="badge good">on target</span>`
		default:
			status = `<span class="badge bad">off target</span>`
		}
		wr.printf(`<tr><td>%s</td><td>%s</td><td>%s</td><td class="num">%s</td><td>%s</td><td>%s</td></tr>`,
			esc(kpiName(k)), esc(k.PeriodEnd), esc(k.Breakdown), esc(kpiValue(k.Format, k.Value)), esc(kpiTarget(k)), status)
	}
	wr.write("</tbody></table></div>\n")
}

// slaRatio is the share of checked job-days met; an SLA with no checks
// counts as met.
func slaRatio(s twin.SLAStatus) float64 {
	if s.Checked == 0 {
		return 1
	}
	return float64(s.Met) / float64(s.Checked)
}

func kpiName(k twin.KPIValue) string {
	if k.Title != "" {
		return k.Title
	}
	return k.Name
}

var fmtPercent1 = fmtPercent(1)

func fmtPercent(places int) (f dashboard.Format) {
	f.Type = "number-percent"
	f.DecimalPlaces = &dashboard.DecimalPlaces{Type: "max", Places: places}
	return f
}

// kpiValue writes a KPI value in its declared format.
func kpiValue(format string, v *float64) string {
	if v == nil {
		return "n/a"
	}
	switch format {
	case "percent":
		p := fmtPercent(2)
		return formatNumber(*v, &p)
	case "currency":
		return formatNumber(*v, &dashboard.Format{Type: "number-plain", DecimalPlaces: &dashboard.DecimalPlaces{Type: "exact", Places: 2}})
	case "duration":
		return (time.Duration(math.Round(*v)) * time.Second).String()
	}
	return formatNumber(*v, &dashboard.Format{Type: "number-plain", DecimalPlaces: &dashboard.DecimalPlaces{Type: "max", Places: 4}})
}

func kpiTarget(k twin.KPIValue) string {
	var parts []string
	if k.TargetMin != nil {
		parts = append(parts, "≥ "+kpiValue(k.Format, k.TargetMin))
	}
	if k.TargetMax != nil {
		parts = append(parts, "≤ "+kpiValue(k.Format, k.TargetMax))
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, " and ")
}

// replay draws the notifications on a time axis, one lane per alert, and
// lists them.
func (wr *writer) replay(rp Replay) {
	wr.printf("<div class=\"panel\" id=\"replay\" data-page=\"replay\"><h3>Notifications of the replay (%s – %s): %d</h3>",
		esc(formatTime(rp.From)), esc(formatTime(rp.To)), len(rp.Notifications))
	if len(rp.Notifications) == 0 {
		wr.write(`<p class="meta">No alert notified in the replayed period.</p></div>` + "\n")
		return
	}
	var lanes []string
	lane := map[string]int{}
	for _, n := range rp.Notifications {
		if _, ok := lane[n.Alert]; !ok {
			lane[n.Alert] = len(lanes)
			lanes = append(lanes, n.Alert)
		}
	}
	sort.Strings(lanes)
	for i, a := range lanes {
		lane[a] = i
	}
	drawn := min(len(lanes), maxTimeline)
	const left, right, laneH, top = 230.0, 16.0, 18.0, 8.0
	width := 1200.0
	height := top + laneH*float64(drawn) + 30
	span := rp.To.Sub(rp.From).Seconds()
	if span <= 0 {
		span = 1
	}
	x := func(t time.Time) float64 { return left + (width-left-right)*t.Sub(rp.From).Seconds()/span }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="timeline" viewBox="0 0 %s %s" role="img" aria-label="notifications over time">`, num(width), num(height))
	for i := range drawn {
		y := top + laneH*float64(i) + laneH/2
		fmt.Fprintf(&b, `<line class="gl" x1="%s" x2="%s" y1="%s" y2="%s"/>`, num(left), num(width-right), num(y), num(y))
		label := lanes[i]
		if r := []rune(label); len(r) > 34 {
			label = string(r[:33]) + "…"
		}
		fmt.Fprintf(&b, `<text class="tick" x="%s" y="%s" text-anchor="end" dominant-baseline="middle">%s</text>`, num(left-6), num(y), esc(label))
	}
	axisY := top + laneH*float64(drawn) + 4
	days := int(math.Ceil(span / 86400))
	step := max(1, days/10)
	for d := 0; d <= days; d += step {
		t := rp.From.UTC().Truncate(24 * time.Hour).Add(time.Duration(d) * 24 * time.Hour)
		if t.Before(rp.From) || t.After(rp.To) {
			continue
		}
		fmt.Fprintf(&b, `<line class="axis" x1="%s" x2="%s" y1="%s" y2="%s"/>`, num(x(t)), num(x(t)), num(top), num(axisY))
		fmt.Fprintf(&b, `<text class="tick" x="%s" y="%s" text-anchor="middle">%s</text>`, num(x(t)), num(axisY+14), esc(shortTime(t)))
	}
	for _, n := range rp.Notifications {
		i := lane[n.Alert]
		if i >= drawn {
			continue
		}
		color := "var(--bad)"
		if n.State != "TRIGGERED" {
			color = "var(--good)"
		}
		fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="4" style="fill:%s"><title>%s</title></circle>`,
			num(x(n.Time)), num(top+laneH*float64(i)+laneH/2), color,
			esc(n.Time.UTC().Format("2006-01-02 15:04")+" "+n.Alert+" "+n.State+" → "+strings.Join(n.Destinations, ", ")))
	}
	b.WriteString("</svg>")
	wr.write(b.String())
	if len(lanes) > drawn {
		wr.printf(`<p class="more">%d more alerts notified; the list below has them.</p>`, len(lanes)-drawn)
	}
	wr.printf(`<details><summary>Every notification (%d)</summary><table><thead><tr><th>Time (UTC)</th><th>Alert</th><th>State</th><th>Destinations</th><th>Subjects</th></tr></thead><tbody>`, len(rp.Notifications))
	for i, n := range rp.Notifications {
		if i == maxNotified {
			wr.printf(`<tr><td colspan="5" class="more">and %d more</td></tr>`, len(rp.Notifications)-maxNotified)
			break
		}
		cls := "bad"
		if n.State != "TRIGGERED" {
			cls = "good"
		}
		wr.printf(`<tr><td>%s</td><td>%s</td><td><span class="badge %s">%s</span></td><td>%s</td><td>%s</td></tr>`,
			esc(n.Time.UTC().Format("2006-01-02 15:04")), esc(n.Alert), cls, esc(n.State),
			esc(strings.Join(n.Destinations, ", ")), esc(strings.Join(n.Subjects, ", ")))
	}
	wr.write("</tbody></table></details></div>\n")
}

func (wr *writer) incidents() {
	r := wr.in.Report
	wr.printf(`<div class="panel" id="incidents"><details><summary>Injected incidents (%d): what the detectors should find in the synthetic data</summary>`, len(r.Incidents))
	if len(r.Incidents) > 0 {
		wr.write(`<table><thead><tr><th>Kind</th><th>Team</th><th>Detail</th></tr></thead><tbody>`)
		for _, in := range r.Incidents {
			wr.printf(`<tr><td>%s</td><td>%s</td><td>%s</td></tr>`, esc(in.Kind), esc(orDash(in.Team)), esc(in.Detail))
		}
		wr.write("</tbody></table>")
	}
	wr.write("</details></div>\n")
}

// reports lists the e-mails the report jobs would send: per copy its
// recipients and what it contains, each dataset of the dashboard with its
// rows (a per-team copy's filtered to the team).
func (wr *writer) reports() {
	r := wr.in.Report
	if len(r.Reports) == 0 {
		return
	}
	wr.printf(`<div class="panel" id="reports"><h3>Reports: %d e-mails</h3>`, len(r.Reports))
	for _, c := range r.Reports {
		var to []string
		for _, s := range c.Subscribers {
			if s.UserName != "" {
				to = append(to, s.UserName)
			} else {
				to = append(to, s.Destination+" (notification destination)")
			}
		}
		who := "every team"
		if c.Team != "" {
			who = "team " + c.Team
		}
		wr.printf(`<details data-report="%s" data-team="%s"><summary>%s: %s for %s, %s (%s), to %s</summary>`,
			esc(c.Report), esc(c.Team), esc(c.Report), esc(c.Dashboard), esc(who), esc(c.Cron), esc(c.Timezone), esc(strings.Join(to, ", ")))
		wr.write(`<table><thead><tr><th>Dataset</th><th class="num">Rows</th><th>Filter</th></tr></thead><tbody>`)
		for _, ds := range c.Datasets {
			filter := "–"
			if ds.Filtered != "" {
				filter = ds.Filtered + " = " + c.Team
			}
			wr.printf(`<tr><td>%s</td><td class="num">%d</td><td>%s</td></tr>`, esc(ds.DisplayName), len(ds.Rows), esc(filter))
		}
		wr.write("</tbody></table></details>")
	}
	wr.write("</div>\n")
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

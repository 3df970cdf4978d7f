package htmlreport

import (
	"fmt"
	"html"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/dbmon/dbmon/generator/dashboard"
)

// palette is the series colours: distinguishable on light and dark
// backgrounds. otherColor is the "Other" series.
var palette = []string{"#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#d6a41b", "#b279a2", "#ff9da6", "#9d755d"}

const otherColor = "#8c8c8c"

// maxSeries is how many colour series a chart draws; the rest are summed
// into "Other" where the measure is a sum or a count, or left out (and the
// legend says how many) where adding them would not mean anything.
const maxSeries = 8

// series is one colour of a chart: a value per x category.
type series struct {
	name   string
	color  string
	values []float64
	has    []bool
}

// chart is what a bar, line or area chart draws.
type chart struct {
	kind           string // dashboard.Bar, Line or Area
	xs             []any  // the x categories, in axis order
	temporal       bool
	series         []series
	hidden         int // series left out
	xLabel, yLabel string
	yFormat        *dashboard.Format
}

// newChart arranges a widget query's rows (columns named by field) by its
// x, y and color encodings.
func newChart(kind string, enc dashboard.Encodings, q dashboard.Query, r rowset) (*chart, error) {
	if enc.X == nil || enc.Y == nil {
		return nil, fmt.Errorf("a %s chart needs x and y encodings", kind)
	}
	xi, yi, ci := r.index(enc.X.FieldName), r.index(enc.Y.FieldName), -1
	if xi < 0 || yi < 0 {
		return nil, fmt.Errorf("x %q or y %q is not a field of the query", enc.X.FieldName, enc.Y.FieldName)
	}
	c := &chart{kind: kind, xLabel: enc.X.DisplayName, yLabel: enc.Y.DisplayName, yFormat: enc.Y.Format,
		temporal: enc.X.Scale != nil && enc.X.Scale.Type == dashboard.ScaleTemporal}
	if enc.Color != nil {
		if ci = r.index(enc.Color.FieldName); ci < 0 {
			return nil, fmt.Errorf("color %q is not a field of the query", enc.Color.FieldName)
		}
	}
	xpos := map[string]int{}
	for _, row := range r.rows {
		if k := key(row[xi]); row[xi] != nil {
			if _, ok := xpos[k]; !ok {
				xpos[k] = len(c.xs)
				c.xs = append(c.xs, row[xi])
			}
		}
	}
	if c.temporal { // the query orders by x already; keep that for categories
		sort.SliceStable(c.xs, func(i, j int) bool { return less(c.xs[i], c.xs[j]) })
		c.fillTime(truncStep(q, enc.X.FieldName))
		for i, x := range c.xs {
			xpos[key(x)] = i
		}
	}
	byName := map[string]*series{}
	var order []*series
	totals := map[string]float64{}
	for _, row := range r.rows {
		if row[xi] == nil {
			continue
		}
		name := enc.Y.DisplayName
		if ci >= 0 {
			name = formatValue(row[ci], nil)
		}
		s := byName[name]
		if s == nil {
			s = &series{name: name, values: make([]float64, len(c.xs)), has: make([]bool, len(c.xs))}
			byName[name] = s
			order = append(order, s)
		}
		v, ok := toFloat(row[yi])
		if !ok {
			continue
		}
		i := xpos[key(row[xi])]
		s.values[i] += v
		s.has[i] = true
		totals[name] += math.Abs(v)
	}
	sort.SliceStable(order, func(i, j int) bool {
		if totals[order[i].name] != totals[order[j].name] {
			return totals[order[i].name] > totals[order[j].name]
		}
		return order[i].name < order[j].name
	})
	additive := false
	for _, f := range q.Fields {
		if f.Name == enc.Y.FieldName {
			up := strings.ToUpper(f.Expression)
			additive = strings.HasPrefix(up, "SUM(") || strings.HasPrefix(up, "COUNT(")
		}
	}
	if len(order) > maxSeries {
		rest := order[maxSeries-1:]
		order = order[:maxSeries-1]
		if additive && kind != dashboard.Line {
			other := &series{name: fmt.Sprintf("Other (%d)", len(rest)), values: make([]float64, len(c.xs)), has: make([]bool, len(c.xs))}
			for _, s := range rest {
				for i := range s.values {
					other.values[i] += s.values[i]
					other.has[i] = other.has[i] || s.has[i]
				}
			}
			order = append(order, other)
		} else {
			c.hidden = len(rest)
		}
	}
	for i, s := range order {
		s.color = palette[i%len(palette)]
		if strings.HasPrefix(s.name, "Other (") && i == len(order)-1 && len(byName) > maxSeries {
			s.color = otherColor
		}
		c.series = append(c.series, *s)
	}
	return c, nil
}

// maxTimeSlots bounds the filled time axis.
const maxTimeSlots = 2000

// truncStep returns the step of a DATE_TRUNC x field (a day, a week, ...),
// or nil for any other field.
func truncStep(q dashboard.Query, field string) func(time.Time) time.Time {
	for _, f := range q.Fields {
		if f.Name != field {
			continue
		}
		up := strings.ToUpper(strings.ReplaceAll(f.Expression, "'", `"`))
		switch {
		case strings.HasPrefix(up, `DATE_TRUNC("HOUR"`):
			return func(t time.Time) time.Time { return t.Add(time.Hour) }
		case strings.HasPrefix(up, `DATE_TRUNC("DAY"`):
			return func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
		case strings.HasPrefix(up, `DATE_TRUNC("WEEK"`):
			return func(t time.Time) time.Time { return t.AddDate(0, 0, 7) }
		case strings.HasPrefix(up, `DATE_TRUNC("MONTH"`):
			return func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }
		}
	}
	return nil
}

// fillTime puts every step between the first and last x on the axis, so a
// day without rows is a gap at its place, not a missing tick.
func (c *chart) fillTime(step func(time.Time) time.Time) {
	if step == nil || len(c.xs) < 2 {
		return
	}
	first, ok1 := c.xs[0].(time.Time)
	last, ok2 := c.xs[len(c.xs)-1].(time.Time)
	if !ok1 || !ok2 {
		return
	}
	have := map[string]bool{}
	for _, x := range c.xs {
		have[key(x)] = true
	}
	var filled []any
	for t := first; !t.After(last); t = step(t) {
		if len(filled) == maxTimeSlots {
			return
		}
		filled = append(filled, t)
		delete(have, key(t))
	}
	if len(have) == 0 { // every x is on a step: the axis is regular
		c.xs = filled
	}
}

// box is the drawing area of a widget in SVG user units (CSS pixels at the
// nominal laptop width).
type box struct{ w, h float64 }

const (
	padLeft   = 58
	padRight  = 14
	padTop    = 10
	padBottom = 40
	fontSize  = 11
)

// niceTicks returns about n round tick values covering lo..hi.
func niceTicks(lo, hi float64, n int) []float64 {
	if hi <= lo {
		if lo == 0 {
			hi = 1
		} else {
			lo, hi = math.Min(0, lo), math.Max(0, hi)
			if hi == lo {
				hi = lo + math.Abs(lo)
			}
		}
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag * 10
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if raw <= m*mag {
			step = m * mag
			break
		}
	}
	start := math.Floor(lo/step) * step
	var out []float64
	for v := start; v <= hi+step*1e-9; v += step {
		out = append(out, math.Round(v/step)*step)
	}
	if out[len(out)-1] < hi {
		out = append(out, out[len(out)-1]+step)
	}
	return out
}

// axisFormat is the y format with large numbers abbreviated.
func axisFormat(f *dashboard.Format) *dashboard.Format {
	out := dashboard.Format{Type: "number-plain", Abbreviation: "compact", DecimalPlaces: &dashboard.DecimalPlaces{Type: "max", Places: 2}}
	if f != nil {
		out.Type, out.CurrencyCode = f.Type, f.CurrencyCode
		if f.Type == "number-percent" {
			out.Abbreviation = ""
			out.DecimalPlaces.Places = 1
		}
	}
	return &out
}

// svgOpen starts an SVG of the box's size; it scales to its container.
func svgOpen(b *strings.Builder, bx box, label string) {
	fmt.Fprintf(b, `<svg class="chart" viewBox="0 0 %s %s" preserveAspectRatio="xMidYMid meet" role="img" aria-label="%s">`,
		num(bx.w), num(bx.h), html.EscapeString(label))
}

// num writes a coordinate with at most one decimal.
func num(v float64) string {
	s := fmt.Sprintf("%.1f", stable(v))
	s = strings.TrimSuffix(s, ".0")
	if s == "-0" {
		s = "0"
	}
	return s
}

func (c *chart) xText(x any) string {
	if t, ok := x.(time.Time); ok {
		return shortTime(t)
	}
	return formatValue(x, nil)
}

func (c *chart) xTitle(x any) string {
	if t, ok := x.(time.Time); ok {
		return formatTime(t)
	}
	return formatValue(x, nil)
}

// svg draws the chart: gridlines and y ticks, x ticks, axis titles, then
// the marks, each with a <title> tooltip.
func (c *chart) svg(bx box) string {
	var b strings.Builder
	svgOpen(&b, bx, c.yLabel+" by "+c.xLabel)
	pw, ph := bx.w-padLeft-padRight, bx.h-padTop-padBottom
	n := len(c.xs)
	// y range: stacked for bars and areas, per point for lines.
	lo, hi := 0.0, 0.0
	for i := range n {
		pos, neg := 0.0, 0.0
		for _, s := range c.series {
			v := s.values[i]
			if c.kind == dashboard.Line {
				if s.has[i] {
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
				continue
			}
			if v >= 0 {
				pos += v
			} else {
				neg += v
			}
		}
		lo, hi = math.Min(lo, neg), math.Max(hi, pos)
	}
	ticks := niceTicks(lo, hi, max(2, int(ph/36)))
	ylo, yhi := ticks[0], ticks[len(ticks)-1]
	y := func(v float64) float64 { return padTop + ph - (v-ylo)/(yhi-ylo)*ph }
	af := axisFormat(c.yFormat)
	for _, t := range ticks {
		fmt.Fprintf(&b, `<line class="gl" x1="%s" x2="%s" y1="%s" y2="%s"/>`, num(padLeft), num(padLeft+pw), num(y(t)), num(y(t)))
		fmt.Fprintf(&b, `<text class="tick" x="%s" y="%s" text-anchor="end" dominant-baseline="middle">%s</text>`,
			num(padLeft-6), num(y(t)), html.EscapeString(formatNumber(t, af)))
	}
	fmt.Fprintf(&b, `<line class="axis" x1="%s" x2="%s" y1="%s" y2="%s"/>`, num(padLeft), num(padLeft+pw), num(y(math.Max(0, ylo))), num(y(math.Max(0, ylo))))
	// x positions: bands for bars, points spread edge to edge otherwise.
	band := pw / float64(max(n, 1))
	xAt := func(i int) float64 {
		if c.kind == dashboard.Bar || n == 1 {
			return padLeft + band*(float64(i)+0.5)
		}
		return padLeft + pw*float64(i)/float64(n-1)
	}
	every := 1
	if labels := int(pw / 64); labels > 0 && n > labels {
		every = (n + labels - 1) / labels
	}
	for i, x := range c.xs {
		if i%every != 0 {
			continue
		}
		label := c.xText(x)
		if r := []rune(label); len(r) > 14 {
			label = string(r[:13]) + "…"
		}
		fmt.Fprintf(&b, `<line class="axis" x1="%s" x2="%s" y1="%s" y2="%s"/>`, num(xAt(i)), num(xAt(i)), num(padTop+ph), num(padTop+ph+4))
		anchor := "middle" // points on the plot's edges keep their label inside
		if c.kind != dashboard.Bar && n > 1 && i == 0 {
			anchor = "start"
		} else if c.kind != dashboard.Bar && n > 1 && i == n-1 {
			anchor = "end"
		}
		fmt.Fprintf(&b, `<text class="tick" x="%s" y="%s" text-anchor="%s">%s</text>`, num(xAt(i)), num(padTop+ph+16), anchor, html.EscapeString(label))
	}
	fmt.Fprintf(&b, `<text class="label" x="%s" y="%s" text-anchor="middle">%s</text>`, num(padLeft+pw/2), num(bx.h-6), html.EscapeString(c.xLabel))
	fmt.Fprintf(&b, `<text class="label" transform="translate(12 %s) rotate(-90)" text-anchor="middle">%s</text>`, num(padTop+ph/2), html.EscapeString(c.yLabel))

	tip := func(i int, s series) string {
		return html.EscapeString(c.xTitle(c.xs[i]) + " · " + s.name + ": " + formatNumber(s.values[i], c.yFormat))
	}
	switch c.kind {
	case dashboard.Bar:
		pos, neg := make([]float64, n), make([]float64, n)
		bw := math.Max(1, band*0.72)
		for _, s := range c.series {
			for i := range n {
				if !s.has[i] || s.values[i] == 0 {
					continue
				}
				v := s.values[i]
				var y0, y1 float64
				if v >= 0 {
					y0, y1 = y(pos[i]+v), y(pos[i])
					pos[i] += v
				} else {
					y0, y1 = y(neg[i]), y(neg[i]+v)
					neg[i] += v
				}
				fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s</title></rect>`,
					num(xAt(i)-bw/2), num(y0), num(bw), num(math.Max(0.5, y1-y0)), s.color, tip(i, s))
			}
		}
	case dashboard.Area:
		base := make([]float64, n)
		for _, s := range c.series {
			top := make([]float64, n)
			var pts []string
			for i := range n {
				top[i] = base[i] + s.values[i]
				pts = append(pts, num(xAt(i))+","+num(y(top[i])))
			}
			for i := n - 1; i >= 0; i-- {
				pts = append(pts, num(xAt(i))+","+num(y(base[i])))
			}
			fmt.Fprintf(&b, `<polygon points="%s" fill="%s" fill-opacity="0.75" stroke="%s" stroke-width="1"><title>%s</title></polygon>`,
				strings.Join(pts, " "), s.color, s.color, html.EscapeString(s.name))
			base = top
		}
	case dashboard.Line:
		for _, s := range c.series {
			var d strings.Builder
			pen := false
			for i := range n {
				if !s.has[i] { // the line goes on to the next point
					continue
				}
				if pen {
					d.WriteString(" L")
				} else {
					if d.Len() > 0 {
						d.WriteByte(' ')
					}
					d.WriteString("M")
				}
				d.WriteString(num(xAt(i)) + " " + num(y(s.values[i])))
				pen = true
			}
			fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2" stroke-linejoin="round"/>`, d.String(), s.color)
			r := 2.5
			if n > 40 {
				r = 1.5
			}
			for i := range n {
				if s.has[i] {
					fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="%s" fill="%s"><title>%s</title></circle>`,
						num(xAt(i)), num(y(s.values[i])), num(r), s.color, tip(i, s))
				}
			}
		}
	}
	b.WriteString("</svg>")
	return b.String()
}

// pie draws a pie chart of the angle measure by colour category.
func pieSVG(enc dashboard.Encodings, r rowset, bx box) (string, []series, error) {
	if enc.Angle == nil || enc.Color == nil {
		return "", nil, fmt.Errorf("a pie needs angle and color encodings")
	}
	ai, ci := r.index(enc.Angle.FieldName), r.index(enc.Color.FieldName)
	if ai < 0 || ci < 0 {
		return "", nil, fmt.Errorf("angle %q or color %q is not a field of the query", enc.Angle.FieldName, enc.Color.FieldName)
	}
	var slices []series
	total := 0.0
	for _, row := range r.rows {
		v, ok := toFloat(row[ai])
		if !ok || v <= 0 {
			continue
		}
		slices = append(slices, series{name: formatValue(row[ci], nil), values: []float64{v}})
		total += v
	}
	sort.SliceStable(slices, func(i, j int) bool { return slices[i].values[0] > slices[j].values[0] })
	if len(slices) > maxSeries {
		other := series{name: fmt.Sprintf("Other (%d)", len(slices)-maxSeries+1), values: []float64{0}, color: otherColor}
		for _, s := range slices[maxSeries-1:] {
			other.values[0] += s.values[0]
		}
		slices = append(slices[:maxSeries-1], other)
	}
	for i := range slices {
		if slices[i].color == "" {
			slices[i].color = palette[i%len(palette)]
		}
	}
	var b strings.Builder
	svgOpen(&b, bx, enc.Angle.DisplayName+" by "+enc.Color.DisplayName)
	cx, cy := bx.w/2, bx.h/2
	rad := math.Max(10, math.Min(bx.w, bx.h)/2-8)
	angle := -math.Pi / 2
	for _, s := range slices {
		share := s.values[0] / total
		tip := html.EscapeString(fmt.Sprintf("%s: %s (%s)", s.name, formatNumber(s.values[0], enc.Angle.Format), formatNumber(share, &dashboard.Format{Type: "number-percent", DecimalPlaces: &dashboard.DecimalPlaces{Type: "max", Places: 1}})))
		if share >= 0.9999 {
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="%s" fill="%s"><title>%s</title></circle>`, num(cx), num(cy), num(rad), s.color, tip)
			continue
		}
		end := angle + share*2*math.Pi
		large := 0
		if share > 0.5 {
			large = 1
		}
		fmt.Fprintf(&b, `<path d="M%s %s L%s %s A%s %s 0 %d 1 %s %s Z" fill="%s" class="slice"><title>%s</title></path>`,
			num(cx), num(cy), num(cx+rad*math.Cos(angle)), num(cy+rad*math.Sin(angle)), num(rad), num(rad), large,
			num(cx+rad*math.Cos(end)), num(cy+rad*math.Sin(end)), s.color, tip)
		if share >= 0.06 { // a label where it fits
			mid := (angle + end) / 2
			fmt.Fprintf(&b, `<text class="pielabel" x="%s" y="%s" text-anchor="middle" dominant-baseline="middle">%s</text>`,
				num(cx+rad*0.62*math.Cos(mid)), num(cy+rad*0.62*math.Sin(mid)),
				html.EscapeString(formatNumber(share, &dashboard.Format{Type: "number-percent", DecimalPlaces: &dashboard.DecimalPlaces{Type: "max", Places: 0}})))
		}
		angle = end
	}
	b.WriteString("</svg>")
	return b.String(), slices, nil
}

package spec

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A Quartz cron expression has 6 or 7 fields: seconds, minutes, hours,
// day-of-month, month, day-of-week and an optional year. Databricks uses this
// syntax for job and alert schedules.
type cronField struct {
	name     string
	min, max int
	names    []string // symbolic values, index + min == numeric value
}

var cronFields = []cronField{
	{name: "seconds", min: 0, max: 59},
	{name: "minutes", min: 0, max: 59},
	{name: "hours", min: 0, max: 23},
	{name: "day-of-month", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
	{name: "day-of-week", min: 1, max: 7, names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}},
	{name: "year", min: 1970, max: 2199},
}

// ValidateQuartzCron reports why s is not a valid Quartz cron expression, or
// nil when it is.
func ValidateQuartzCron(s string) error {
	fields := strings.Fields(s)
	if len(fields) != 6 && len(fields) != 7 {
		return fmt.Errorf("a Quartz cron expression has 6 or 7 fields (seconds minutes hours day-of-month month day-of-week [year]), got %d", len(fields))
	}
	for i, f := range fields {
		if err := validateCronField(f, cronFields[i]); err != nil {
			return fmt.Errorf("%s field `%s`: %v", cronFields[i].name, f, err)
		}
	}
	dom, dow := fields[3], fields[5]
	if (dom == "?") == (dow == "?") {
		return fmt.Errorf("exactly one of day-of-month and day-of-week must be `?`")
	}
	return nil
}

func validateCronField(f string, spec cronField) error {
	if f == "?" {
		if spec.name == "day-of-month" || spec.name == "day-of-week" {
			return nil
		}
		return fmt.Errorf("`?` is only allowed in day-of-month and day-of-week")
	}
	for _, part := range strings.Split(f, ",") {
		if err := validateCronPart(part, spec); err != nil {
			return err
		}
	}
	return nil
}

func validateCronPart(part string, spec cronField) error {
	if part == "" {
		return fmt.Errorf("empty list element")
	}
	base, step, hasStep := strings.Cut(part, "/")
	if hasStep {
		n, err := strconv.Atoi(step)
		if err != nil || n < 1 {
			return fmt.Errorf("step `%s` must be a positive number", step)
		}
	}
	switch {
	case base == "*":
		return nil
	case spec.name == "day-of-month" && (base == "L" || base == "LW" || strings.HasPrefix(base, "L-") || strings.HasSuffix(base, "W")):
		rest := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(base, "L"), "-"), "W")
		if rest == "" {
			return nil
		}
		_, err := cronValue(rest, spec)
		return err
	case spec.name == "day-of-week" && (base == "L" || strings.HasSuffix(base, "L") || strings.Contains(base, "#")):
		day, nth, isNth := strings.Cut(base, "#")
		if isNth {
			n, err := strconv.Atoi(nth)
			if err != nil || n < 1 || n > 5 {
				return fmt.Errorf("`#%s` must be 1 to 5", nth)
			}
		}
		day = strings.TrimSuffix(day, "L")
		if day == "" {
			return nil
		}
		_, err := cronValue(day, spec)
		return err
	}
	lo, hi, isRange := strings.Cut(base, "-")
	a, err := cronValue(lo, spec)
	if err != nil {
		return err
	}
	if isRange {
		b, err := cronValue(hi, spec)
		if err != nil {
			return err
		}
		if b < a && spec.name != "day-of-week" && spec.name != "month" {
			return fmt.Errorf("range %s is backwards", base)
		}
	}
	return nil
}

func cronValue(s string, spec cronField) (int, error) {
	for i, n := range spec.names {
		if strings.EqualFold(s, n) {
			return spec.min + i, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("`%s` is not a number", s)
	}
	if v < spec.min || v > spec.max {
		return 0, fmt.Errorf("%d is out of range %d-%d", v, spec.min, spec.max)
	}
	return v, nil
}

// ScheduleCron turns a spec schedule (a duration or a Quartz cron string) into
// a Quartz cron expression. A duration must divide an hour or a day evenly so
// that the cadence is the same every day; the offset spreads the start within
// the period so that dbmon's jobs do not all start on the hour.
func ScheduleCron(s string) (string, error) {
	if strings.ContainsAny(s, " \t") {
		if err := ValidateQuartzCron(s); err != nil {
			return "", err
		}
		return strings.Join(strings.Fields(s), " "), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return "", fmt.Errorf("`%s` is neither a duration (15m, 1h, 24h) nor a Quartz cron string (\"0 0 6 * * ?\")", s)
	}
	switch {
	case d < time.Minute || d%time.Minute != 0:
		return "", fmt.Errorf("a schedule of %s is too fine; the shortest is 1m, in whole minutes", s)
	case d < time.Hour && time.Hour%d == 0:
		return fmt.Sprintf("0 0/%d * * * ?", int(d.Minutes())), nil
	case d == time.Hour:
		return "0 0 * * * ?", nil
	case d < 24*time.Hour && d%time.Hour == 0 && (24*time.Hour)%d == 0:
		return fmt.Sprintf("0 0 0/%d * * ?", int(d.Hours())), nil
	case d == 24*time.Hour:
		return "0 0 0 * * ?", nil
	}
	return "", fmt.Errorf("a schedule duration must divide an hour or a day evenly (1m, 5m, 15m, 30m, 1h, 2h, 6h, 12h, 24h); use a Quartz cron string for `%s`", s)
}

// QuartzCron is a parsed Quartz cron expression that can say when it fires
// next. Parse it once with ParseQuartzCron and call Next as often as needed.
type QuartzCron struct {
	sec, min, hour []bool // indexed by value
	month          []bool // 1-12
	year           []bool // index year-1970; nil: every year
	day            func(d time.Time) bool
}

// ParseQuartzCron parses an expression that ValidateQuartzCron accepts.
func ParseQuartzCron(s string) (*QuartzCron, error) {
	if err := ValidateQuartzCron(s); err != nil {
		return nil, err
	}
	f := strings.Fields(s)
	c := &QuartzCron{
		sec:   cronSet(f[0], cronFields[0]),
		min:   cronSet(f[1], cronFields[1]),
		hour:  cronSet(f[2], cronFields[2]),
		month: cronSet(f[4], cronFields[4]),
	}
	if len(f) == 7 {
		c.year = cronSet(f[6], cronFields[6])[1970:]
	}
	if f[3] != "?" {
		c.day = domMatcher(f[3])
	} else {
		c.day = dowMatcher(f[5])
	}
	return c, nil
}

// Next is the first fire time strictly after t, with the expression read in
// loc's wall clock, or the zero time when it never fires again (before 2200).
// A wall time that a daylight-saving change skips does not fire; one that
// repeats fires once, at its first occurrence.
func (c *QuartzCron) Next(t time.Time, loc *time.Location) time.Time {
	local := t.In(loc)
	y, m, d := local.Date()
	for day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC); day.Year() < 2200; day = day.AddDate(0, 0, 1) {
		if c.year != nil && !c.year[day.Year()-1970] {
			day = time.Date(day.Year(), 12, 31, 0, 0, 0, 0, time.UTC)
			continue
		}
		if !c.month[day.Month()] {
			day = time.Date(day.Year(), day.Month()+1, 0, 0, 0, 0, 0, time.UTC) // the month's last day
			continue
		}
		if !c.day(day) {
			continue
		}
		if at, ok := c.onDay(day, t, loc); ok {
			return at
		}
	}
	return time.Time{}
}

// onDay is the first fire time after t on a civil day (UTC-labelled).
func (c *QuartzCron) onDay(day, t time.Time, loc *time.Location) (time.Time, bool) {
	y, mo, d := day.Date()
	for h := range 24 {
		if !c.hour[h] || !time.Date(y, mo, d, h, 59, 59, 0, loc).After(t) {
			continue
		}
		for mi := range 60 {
			if !c.min[mi] || !time.Date(y, mo, d, h, mi, 59, 0, loc).After(t) {
				continue
			}
			for s := range 60 {
				if !c.sec[s] {
					continue
				}
				at := time.Date(y, mo, d, h, mi, s, 0, loc)
				if at.After(t) && at.Hour() == h && at.Minute() == mi && at.Day() == d {
					return at, true
				}
			}
		}
	}
	return time.Time{}, false
}

// cronSet is the values a validated numeric field (lists, ranges, steps,
// names, *) matches. Ranges of months and days of the week may wrap.
func cronSet(f string, spec cronField) []bool {
	set := make([]bool, spec.max+1)
	for _, part := range strings.Split(f, ",") {
		base, step, hasStep := strings.Cut(part, "/")
		n := 1
		if hasStep {
			n, _ = strconv.Atoi(step)
		}
		lo, hi := spec.min, spec.max
		if base != "*" {
			a, b, isRange := strings.Cut(base, "-")
			lo, _ = cronValue(a, spec)
			hi = lo
			if isRange {
				hi, _ = cronValue(b, spec)
			} else if hasStep {
				hi = spec.max
			}
		}
		span := spec.max - spec.min + 1
		if hi < lo { // a wrapping range such as FRI-MON
			hi += span
		}
		for v := lo; v <= hi; v += n {
			set[(v-spec.min)%span+spec.min] = true
		}
	}
	return set
}

func lastDay(d time.Time) int { return time.Date(d.Year(), d.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day() }

// nearestWeekday is the weekday nearest to day n of d's month, not leaving
// the month (Quartz's nW).
func nearestWeekday(d time.Time, n int) int {
	last := lastDay(d)
	n = min(n, last)
	switch time.Date(d.Year(), d.Month(), n, 0, 0, 0, 0, time.UTC).Weekday() {
	case time.Saturday:
		if n == 1 {
			return 3
		}
		return n - 1
	case time.Sunday:
		if n == last {
			return n - 2
		}
		return n + 1
	}
	return n
}

// domMatcher matches a validated day-of-month field: numbers, ranges and
// steps, L (last day), L-n, LW (last weekday) and nW.
func domMatcher(f string) func(time.Time) bool {
	var preds []func(time.Time) bool
	var plain []string
	for _, part := range strings.Split(f, ",") {
		switch {
		case part == "L":
			preds = append(preds, func(d time.Time) bool { return d.Day() == lastDay(d) })
		case part == "LW":
			preds = append(preds, func(d time.Time) bool { return d.Day() == nearestWeekday(d, lastDay(d)) })
		case strings.HasPrefix(part, "L-"):
			n, _ := strconv.Atoi(strings.TrimSuffix(part[2:], "W"))
			weekday := strings.HasSuffix(part, "W")
			preds = append(preds, func(d time.Time) bool {
				target := max(lastDay(d)-n, 1)
				if weekday {
					target = nearestWeekday(d, target)
				}
				return d.Day() == target
			})
		case strings.HasSuffix(part, "W"):
			n, _ := strconv.Atoi(strings.TrimSuffix(part, "W"))
			preds = append(preds, func(d time.Time) bool { return d.Day() == nearestWeekday(d, n) })
		default:
			plain = append(plain, part)
		}
	}
	if len(plain) > 0 {
		set := cronSet(strings.Join(plain, ","), cronFields[3])
		preds = append(preds, func(d time.Time) bool { return set[d.Day()] })
	}
	return anyOf(preds)
}

// dowMatcher matches a validated day-of-week field (1 = SUN ... 7 = SAT):
// numbers, names, ranges and steps, L (Saturday), nL (the month's last such
// day) and n#k (its k-th such day).
func dowMatcher(f string) func(time.Time) bool {
	var preds []func(time.Time) bool
	var plain []string
	dow := func(d time.Time) int { return int(d.Weekday()) + 1 }
	for _, part := range strings.Split(f, ",") {
		day, nth, isNth := strings.Cut(part, "#")
		switch {
		case isNth:
			want, _ := cronValue(day, cronFields[5])
			k, _ := strconv.Atoi(nth)
			preds = append(preds, func(d time.Time) bool { return dow(d) == want && (d.Day()-1)/7+1 == k })
		case part == "L":
			plain = append(plain, "7")
		case strings.HasSuffix(part, "L"):
			want, _ := cronValue(strings.TrimSuffix(part, "L"), cronFields[5])
			preds = append(preds, func(d time.Time) bool { return dow(d) == want && d.Day()+7 > lastDay(d) })
		default:
			plain = append(plain, part)
		}
	}
	if len(plain) > 0 {
		set := cronSet(strings.Join(plain, ","), cronFields[5])
		preds = append(preds, func(d time.Time) bool { return set[dow(d)] })
	}
	return anyOf(preds)
}

func anyOf(preds []func(time.Time) bool) func(time.Time) bool {
	return func(d time.Time) bool {
		for _, p := range preds {
			if p(d) {
				return true
			}
		}
		return false
	}
}

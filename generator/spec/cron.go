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

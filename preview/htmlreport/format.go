package htmlreport

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/dbmon/dbmon/generator/dashboard"
)

// currencySymbols are the currencies written with a symbol; others are
// written as their ISO code.
var currencySymbols = map[string]string{"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}

// formatValue writes a driver value as the dashboard's number format (nil
// for a plain value) shows it.
func formatValue(v any, f *dashboard.Format) string {
	switch x := v.(type) {
	case nil:
		return "–"
	case time.Time:
		return formatTime(x)
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case []byte:
		return string(x)
	}
	n, ok := toFloat(v)
	if !ok {
		return fmt.Sprint(v)
	}
	return formatNumber(n, f)
}

// formatNumber applies a number format: currency, percent (of a ratio) or
// plain; compact abbreviates to K, M, B; decimal places are a maximum
// (trailing zeros dropped) unless exact.
func formatNumber(n float64, f *dashboard.Format) string {
	if math.IsNaN(n) || math.IsInf(n, 0) {
		return "–"
	}
	n = stable(n)
	places, exact := -1, false
	prefix, suffix := "", ""
	compact := false
	if f != nil {
		if f.DecimalPlaces != nil {
			places, exact = f.DecimalPlaces.Places, f.DecimalPlaces.Type == "exact"
		}
		compact = f.Abbreviation == "compact"
		switch f.Type {
		case "number-currency":
			if s, ok := currencySymbols[f.CurrencyCode]; ok {
				prefix = s
			} else if f.CurrencyCode != "" {
				prefix = f.CurrencyCode + " "
			}
		case "number-percent":
			n *= 100
			suffix = "%"
		}
	}
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	unit := ""
	if compact {
		for _, u := range []struct {
			div float64
			s   string
		}{{1e12, "T"}, {1e9, "B"}, {1e6, "M"}, {1e3, "K"}} {
			if n >= u.div {
				n /= u.div
				unit = u.s
				break
			}
		}
	}
	if places < 0 { // no format: up to 2 places, none on whole numbers
		places = 2
	}
	s := strconv.FormatFloat(n, 'f', places, 64)
	if !exact && strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if unit == "" {
		s = groupThousands(s)
	}
	if s == "0" {
		sign = ""
	}
	return sign + prefix + s + unit + suffix
}

// stable rounds to 12 significant digits. The twin sums in parallel, so a
// SUM can differ in its last bits from run to run; rounding first keeps
// those bits out of the output (1234.5649999999 and 1234.5650000001 both
// print 1234.56), which is what makes the file's bytes repeatable.
func stable(n float64) float64 {
	if n == 0 {
		return 0
	}
	f, err := strconv.ParseFloat(strconv.FormatFloat(n, 'g', 12, 64), 64)
	if err != nil {
		return n
	}
	return f
}

// groupThousands puts commas in the integer part of a decimal string.
func groupThousands(s string) string {
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i:]
	}
	if len(intPart) <= 3 {
		return s
	}
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String() + frac
}

// formatTime writes a date as a date, a time as minutes, in UTC.
func formatTime(t time.Time) string {
	t = t.UTC()
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format("2006-01-02")
	}
	return t.Format("2006-01-02 15:04")
}

// shortTime is a tick label: "Nov 23" for a date, "Nov 23 14:00" otherwise.
func shortTime(t time.Time) string {
	t = t.UTC()
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		return t.Format("Jan 2")
	}
	return t.Format("Jan 2 15:04")
}

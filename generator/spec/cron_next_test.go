package spec

import (
	"testing"
	"time"
)

func TestQuartzCronNext(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	utc := time.UTC
	at := func(loc *time.Location, s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		expr  string
		loc   *time.Location
		after string   // wall time in loc
		want  []string // the next fire times, wall time in loc
	}{
		{"0 0/15 * * * ?", utc, "2026-01-01 10:07:00", []string{"2026-01-01 10:15:00", "2026-01-01 10:30:00", "2026-01-01 10:45:00", "2026-01-01 11:00:00"}},
		{"0 0/15 * * * ?", utc, "2026-01-01 10:15:00", []string{"2026-01-01 10:30:00"}}, // strictly after
		{"0 0 * * * ?", utc, "2026-01-01 23:30:00", []string{"2026-01-02 00:00:00", "2026-01-02 01:00:00"}},
		{"0 15 * * * ?", utc, "2026-01-01 10:15:00", []string{"2026-01-01 11:15:00"}},
		{"0 0 0 * * ?", berlin, "2026-03-31 12:00:00", []string{"2026-04-01 00:00:00", "2026-04-02 00:00:00"}},
		{"0 0 0/6 * * ?", utc, "2026-01-01 05:59:59", []string{"2026-01-01 06:00:00", "2026-01-01 12:00:00", "2026-01-01 18:00:00", "2026-01-02 00:00:00"}},
		{"30 5 8 ? * MON-FRI", utc, "2026-01-02 09:00:00", []string{"2026-01-05 08:05:30", "2026-01-06 08:05:30"}}, // Fri after, then Mon
		{"0 0 8 ? * FRI-MON", utc, "2026-01-05 09:00:00", []string{"2026-01-09 08:00:00", "2026-01-10 08:00:00", "2026-01-11 08:00:00", "2026-01-12 08:00:00", "2026-01-16 08:00:00"}},
		{"0 0 12 L * ?", utc, "2026-02-01 00:00:00", []string{"2026-02-28 12:00:00", "2026-03-31 12:00:00"}},
		{"0 0 12 L-2 * ?", utc, "2026-02-01 00:00:00", []string{"2026-02-26 12:00:00"}},
		{"0 0 12 LW * ?", utc, "2026-05-01 00:00:00", []string{"2026-05-29 12:00:00"}},                        // May 31 is a Sunday
		{"0 0 12 1W * ?", utc, "2026-07-31 00:00:00", []string{"2026-08-03 12:00:00"}},                        // Aug 1 is a Saturday: Monday the 3rd
		{"0 0 12 15W * ?", utc, "2026-08-01 00:00:00", []string{"2026-08-14 12:00:00"}},                       // Aug 15 is a Saturday
		{"0 0 9 ? * 2#1", utc, "2026-01-01 00:00:00", []string{"2026-01-05 09:00:00", "2026-02-02 09:00:00"}}, // first Monday
		{"0 0 9 ? * 6L", utc, "2026-01-01 00:00:00", []string{"2026-01-30 09:00:00", "2026-02-27 09:00:00"}},  // last Friday
		{"0 0 9 ? * L", utc, "2026-01-01 00:00:00", []string{"2026-01-03 09:00:00"}},                          // L alone is Saturday
		{"0 0 9 1,15 JAN,JUL ?", utc, "2026-01-10 00:00:00", []string{"2026-01-15 09:00:00", "2026-07-01 09:00:00"}},
		{"0 0 9 1 1 ? 2028", utc, "2026-01-10 00:00:00", []string{"2028-01-01 09:00:00"}},
		{"0 0 9 1 1 ? 2020", utc, "2026-01-10 00:00:00", nil}, // never again
		{"0 0 9 30 2 ?", utc, "2026-01-10 00:00:00", nil},     // February 30th
		// Daylight saving in Berlin: 02:00-03:00 is skipped on 2026-03-29
		// and 02:00-03:00 repeats on 2026-10-25.
		{"0 30 2 * * ?", berlin, "2026-03-28 00:00:00", []string{"2026-03-28 02:30:00", "2026-03-30 02:30:00"}},
		{"0 0 * * * ?", berlin, "2026-03-29 01:00:00", []string{"2026-03-29 03:00:00", "2026-03-29 04:00:00"}},
	}
	for _, c := range cases {
		q, err := ParseQuartzCron(c.expr)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		cur := at(c.loc, c.after)
		for i, w := range c.want {
			got := q.Next(cur, c.loc)
			if !got.Equal(at(c.loc, w)) {
				t.Errorf("%s after %s: fire %d = %s, want %s", c.expr, cur.In(c.loc), i+1, got.In(c.loc), w)
				break
			}
			cur = got
		}
		if c.want == nil {
			if got := q.Next(cur, c.loc); !got.IsZero() {
				t.Errorf("%s after %s: fired at %s, want never", c.expr, cur, got)
			}
		}
	}
}

// TestQuartzCronNextRepeatedHour: on the autumn change the hour 02:00
// happens twice; an hourly schedule fires once for it, and time never goes
// backwards.
func TestQuartzCronNextRepeatedHour(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	q, err := ParseQuartzCron("0 0 * * * ?")
	if err != nil {
		t.Fatal(err)
	}
	cur := time.Date(2026, 10, 24, 22, 0, 0, 0, time.UTC) // 00:00 CEST on the 25th
	var hours []int
	for range 5 {
		next := q.Next(cur, berlin)
		if !next.After(cur) {
			t.Fatalf("Next(%s) = %s, not after", cur, next)
		}
		cur = next
		hours = append(hours, cur.In(berlin).Hour())
	}
	want := []int{1, 2, 3, 4, 5}
	for i := range want {
		if hours[i] != want[i] {
			t.Fatalf("hours %v, want %v", hours, want)
		}
	}
}

func TestParseQuartzCronRejectsInvalid(t *testing.T) {
	for _, s := range []string{"", "0 0 * * *", "0 0 * * * *", "0 61 * * * ?"} {
		if _, err := ParseQuartzCron(s); err == nil {
			t.Errorf("ParseQuartzCron(%q) accepted", s)
		}
	}
}

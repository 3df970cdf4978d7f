package spec

import (
	"testing"
	"time"
)

// TestAlertCron: an alert runs after the refresh it reads, never more often.
func TestAlertCron(t *testing.T) {
	for _, c := range []struct{ schedule, refresh, want string }{
		{AfterRefresh, "1h", "0 15 * * * ?"},
		{AfterRefresh, "30m", "0 15/30 * * * ?"},
		{AfterRefresh, "15m", "0 7/15 * * * ?"},        // half the period
		{AfterRefresh, "0 15 * * * ?", "0 30 * * * ?"}, // a cron refresh, moved
		{AfterRefresh, "0 50 * * * ?", "0 50 * * * ?"}, // would pass the hour: unmoved
		{AfterRefresh, "1m", "0 0/1 * * * ?"},
		{"24h", "1h", "0 15 0 * * ?"},
		{"6h", "1h", "0 15 0/6 * * ?"},
		{"0 0 8 ? * MON-FRI", "1h", "0 0 8 ? * MON-FRI"}, // a cron string as written
	} {
		got, err := AlertCron(c.schedule, c.refresh)
		if err != nil || got != c.want {
			t.Errorf("AlertCron(%q, %q) = %q, %v; want %q", c.schedule, c.refresh, got, err, c.want)
		}
	}
	for _, c := range []struct {
		schedule string
		after    time.Duration
		want     string
	}{
		{"24h", 12 * time.Hour, "0 15 12 * * ?"}, // yesterday's billing is complete at noon
		{"24h", 30 * time.Hour, "0 15 0 * * ?"},  // past the day: unmoved
		{AfterRefresh, 12 * time.Hour, "0 15 * * * ?"},
	} {
		if got, err := AlertCronAfter(c.schedule, "1h", c.after); err != nil || got != c.want {
			t.Errorf("AlertCronAfter(%q, 1h, %s) = %q, %v; want %q", c.schedule, c.after, got, err, c.want)
		}
	}
	for cron, want := range map[string]time.Duration{
		"0 15 * * * ?": time.Hour, "0 0/5 * * * ?": 5 * time.Minute, "0 0 8 ? * MON-FRI": 24 * time.Hour, "0 0 6,7 * * ?": time.Hour,
	} {
		if got, err := ScheduleInterval(cron); err != nil || got != want {
			t.Errorf("ScheduleInterval(%q) = %s, %v; want %s", cron, got, err, want)
		}
	}
}

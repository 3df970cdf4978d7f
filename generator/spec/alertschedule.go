package spec

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AfterRefresh is the alert schedule "just after each pipeline refresh":
// the findings change only when the pipeline refreshes, so an alert that
// runs once per refresh, after it, sees every change at the lowest cost.
const AfterRefresh = "after_refresh"

// DefaultRefresh is the refresh schedule of a spec without one. The model's
// defaults table uses this value, so the rule below and the build agree.
const DefaultRefresh = "1h"

// alertDelay is how long after a refresh starts an alert on a duration or
// after_refresh schedule runs: long enough for a typical pipeline update
// to finish, at most half the period so that the cadence stays intact.
const alertDelay = 15 * time.Minute

// AlertCron is the Quartz cron expression of an alert schedule: a Quartz
// cron string as written; a duration's cron (ScheduleCron) or the refresh's
// own cron for after_refresh, moved alertDelay (at most half the period)
// later so that the alert reads the tables of the refresh that just ran.
// A cron whose minutes cannot be moved (a refresh every minute, minutes
// that would pass the hour) is used unmoved.
func AlertCron(schedule, refresh string) (string, error) {
	if schedule != AfterRefresh && strings.ContainsAny(schedule, " \t") {
		return ScheduleCron(schedule)
	}
	base := schedule
	if schedule == AfterRefresh {
		base = refresh
	}
	cron, err := ScheduleCron(base)
	if err != nil {
		return "", err
	}
	period, err := ScheduleInterval(cron)
	if err != nil {
		return "", err
	}
	delay := min(alertDelay, period/2).Truncate(time.Minute)
	if moved, ok := moveMinutes(cron, int(delay.Minutes())); ok {
		return moved, nil
	}
	return cron, nil
}

// moveMinutes adds by minutes to the minute field of a Quartz cron when
// that keeps every fire time within its hour: a list of minutes, or a start
// with a step ("0/15").
func moveMinutes(cron string, by int) (string, bool) {
	f := strings.Fields(cron)
	if by == 0 {
		return cron, true
	}
	if len(f) < 6 {
		return "", false
	}
	if start, step, ok := strings.Cut(f[1], "/"); ok {
		a, err1 := strconv.Atoi(start)
		s, err2 := strconv.Atoi(step)
		if err1 != nil || err2 != nil || a+by >= s || a+by >= 60 {
			return "", false
		}
		f[1] = fmt.Sprintf("%d/%d", a+by, s)
		return strings.Join(f, " "), true
	}
	var out []string
	for _, m := range strings.Split(f[1], ",") {
		v, err := strconv.Atoi(m)
		if err != nil || v+by >= 60 {
			return "", false
		}
		out = append(out, strconv.Itoa(v+by))
	}
	f[1] = strings.Join(out, ",")
	return strings.Join(f, " "), true
}

// ScheduleInterval is the shortest time between two fire times of a Quartz
// cron expression over a sample week (UTC), the period that costs queries.
func ScheduleInterval(cron string) (time.Duration, error) {
	c, err := ParseQuartzCron(cron)
	if err != nil {
		return 0, err
	}
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday
	end := start.AddDate(0, 0, 8)
	var shortest time.Duration
	prev := c.Next(start.Add(-time.Second), time.UTC)
	for n := 0; !prev.IsZero() && prev.Before(end) && n < 20000; n++ {
		t := c.Next(prev, time.UTC)
		if t.IsZero() {
			break
		}
		if d := t.Sub(prev); shortest == 0 || d < shortest {
			shortest = d
		}
		prev = t
	}
	if shortest == 0 { // fires at most once a week
		shortest = 7 * 24 * time.Hour
	}
	return shortest, nil
}

// ScheduleMaxInterval is the longest time between two fire times of a
// Quartz cron expression over a sample week (UTC): a finding window this
// long misses nothing between two evaluations.
func ScheduleMaxInterval(cron string) (time.Duration, error) {
	c, err := ParseQuartzCron(cron)
	if err != nil {
		return 0, err
	}
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 0, 8)
	var longest time.Duration
	prev := c.Next(start.Add(-time.Second), time.UTC)
	for n := 0; !prev.IsZero() && prev.Before(end) && n < 20000; n++ {
		t := c.Next(prev, time.UTC)
		if t.IsZero() {
			break
		}
		longest = max(longest, t.Sub(prev))
		prev = t
	}
	if longest == 0 {
		longest = 7 * 24 * time.Hour
	}
	return longest, nil
}

// RefreshLag is the longest time, over a sample week (UTC), from the start
// of the latest refresh before an alert evaluation to the evaluation: how
// old the tables an evaluation reads can be.
func RefreshLag(alertCron, refreshCron string) (time.Duration, error) {
	a, err := ParseQuartzCron(alertCron)
	if err != nil {
		return 0, err
	}
	r, err := ParseQuartzCron(refreshCron)
	if err != nil {
		return 0, err
	}
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 0, 7)
	var lag time.Duration
	last := time.Time{} // latest refresh fire before the evaluation
	next := r.Next(start.AddDate(0, 0, -2), time.UTC)
	for e, n := a.Next(start, time.UTC), 0; !e.IsZero() && e.Before(end) && n < 20000; e, n = a.Next(e, time.UTC), n+1 {
		for !next.IsZero() && next.Before(e) {
			last, next = next, r.Next(next, time.UTC)
		}
		if !last.IsZero() {
			lag = max(lag, e.Sub(last))
		}
	}
	return lag, nil
}

// AlertCronAfter is AlertCron for an alert that judges data complete only
// `after` its day ends (billing): a daily duration schedule (24h) runs that
// much later in the day, so yesterday is judged as soon as it is complete
// rather than a day later. Other schedules are AlertCron's.
func AlertCronAfter(schedule, refresh string, after time.Duration) (string, error) {
	cron, err := AlertCron(schedule, refresh)
	if err != nil || schedule == AfterRefresh || strings.ContainsAny(schedule, " \t") {
		return cron, err
	}
	if d, err := time.ParseDuration(schedule); err != nil || d != 24*time.Hour {
		return cron, nil
	}
	f := strings.Fields(cron)
	m, err1 := strconv.Atoi(f[1])
	h, err2 := strconv.Atoi(f[2])
	at := h*60 + m + int(after.Minutes())
	if err1 != nil || err2 != nil || at >= 24*60 {
		return cron, nil
	}
	f[1], f[2] = strconv.Itoa(at%60), strconv.Itoa(at/60)
	return strings.Join(f, " "), nil
}

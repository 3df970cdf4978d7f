package model

import (
	"testing"

	"github.com/dbmon/dbmon/generator/spec"
)

func load(t *testing.T, y string) *Bundle {
	t.Helper()
	s, diags := spec.Load("t.yaml", []byte(y))
	if len(diags) > 0 {
		t.Fatal(diags.Error())
	}
	b, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const base = "version: 1\nbundle:\n  name: my-mon\n  catalog: c\n  schema: s\n  warehouse: w\n"

func TestDefaults(t *testing.T) {
	b := load(t, base)
	if b.Key != "my_mon" || b.Timezone != "UTC" || b.Unassigned != "unassigned" {
		t.Errorf("key %q tz %q unassigned %q", b.Key, b.Timezone, b.Unassigned)
	}
	if len(b.Targets) != 2 || b.Targets[0].Name != "dev" || !b.Targets[0].Default || b.Targets[0].Mode != "development" ||
		b.Targets[1].Name != "prod" || b.Targets[1].Mode != "production" || b.Targets[1].RootPath == "" {
		t.Errorf("default targets: %+v", b.Targets)
	}
	if b.RefreshJob.Cron != "0 0 * * * ?" || b.RefreshJob.TimeoutSeconds != 3600 {
		t.Errorf("refresh: %+v", b.RefreshJob)
	}
	if b.Retention != (Retention{90, 730}) || len(b.Dashboards) != 4 || len(b.Bronze) != 10 {
		t.Errorf("retention %+v dashboards %v bronze %d", b.Retention, b.Dashboards, len(b.Bronze))
	}
}

func TestTargetsDefaultAndMode(t *testing.T) {
	b := load(t, base+"  targets:\n    zeta: {mode: development}\n    alpha: {}\n")
	if b.Targets[0].Name != "alpha" || b.Targets[0].Mode != "production" || b.Targets[0].Default {
		t.Errorf("alpha: %+v", b.Targets[0])
	}
	if !b.Targets[1].Default {
		t.Errorf("the development target should be the default: %+v", b.Targets)
	}
	b = load(t, base+"  targets:\n    dev: {}\n    prod: {default: true}\n")
	if b.Targets[0].Default || !b.Targets[1].Default {
		t.Errorf("explicit default ignored: %+v", b.Targets)
	}
}

func TestScheduleCron(t *testing.T) {
	for in, want := range map[string]string{
		"1m": "0 0/1 * * * ?", "15m": "0 0/15 * * * ?", "1h": "0 0 * * * ?", "6h": "0 0 0/6 * * ?",
		"24h": "0 0 0 * * ?", "0  30 6 ? * MON-FRI": "0 30 6 ? * MON-FRI",
	} {
		got, err := spec.ScheduleCron(in)
		if err != nil || got != want {
			t.Errorf("ScheduleCron(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"7m", "90m", "36h", "30s", "0 0 * * *", "0 0 25 * * ?", "0 0 6 * * MON"} {
		if _, err := spec.ScheduleCron(bad); err == nil {
			t.Errorf("ScheduleCron(%q) accepted", bad)
		}
	}
}

func TestRefreshTimeoutBounds(t *testing.T) {
	for in, want := range map[string]int{"5m": 1800, "1h": 3600, "12h": 14400, "0 0 6 * * ?": 3600} {
		if got := refreshTimeout(in); got != want {
			t.Errorf("refreshTimeout(%q) = %d, want %d", in, got, want)
		}
	}
}

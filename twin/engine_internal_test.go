package twin

import (
	"testing"
	"time"
)

func TestParseDuckSize(t *testing.T) {
	for in, want := range map[string]int64{
		"18.5 GiB":  37 << 29,
		"512.0 MiB": 512 << 20,
		"0 bytes":   0,
		"1.5 TiB":   3 << 39,
	} {
		if got, err := parseDuckSize(in); err != nil || got != want {
			t.Errorf("parseDuckSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "lots", "12GiB", "1 XB", "-1 GiB", "x GiB"} {
		if got, err := parseDuckSize(bad); err == nil {
			t.Errorf("parseDuckSize(%q) = %d, want an error", bad, got)
		}
	}
}

// TestMemoryCap opens engines with no cap asked, a small one and a huge one,
// and reads back what DuckDB was set to: the default, the small one as
// asked, and the huge one held to three quarters of DuckDB's own default
// (the machine's memory) but never under DefaultMemory.
func TestMemoryCap(t *testing.T) {
	setting := func(opts ...Option) int64 {
		t.Helper()
		e, err := Open(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		var s string
		if err := e.DB.QueryRow("SELECT current_setting('memory_limit')").Scan(&s); err != nil {
			t.Fatal(err)
		}
		n, err := parseDuckSize(s)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// DuckDB prints the setting cut to a tenth of a GiB.
	near := func(got, want int64) bool { return got <= want && got > want-(1<<30)/10 }
	if got := setting(); !near(got, DefaultMemory) {
		t.Errorf("no cap asked: memory_limit %d, want %d", got, DefaultMemory)
	}
	if got := setting(Memory(1_000_000_000)); !near(got, 1_000_000_000) {
		t.Errorf("Memory(1 GB): memory_limit %d", got)
	}
	// The expectation comes from DuckDB's own default on a fresh database,
	// not from memoryLimit, the function under test.
	db, err := openDB(DefaultSessionZone, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var unasked string
	if err := db.QueryRow("SELECT current_setting('memory_limit')").Scan(&unasked); err != nil {
		t.Fatal(err)
	}
	duckDefault, err := parseDuckSize(unasked)
	if err != nil {
		t.Fatal(err)
	}
	want := max(DefaultMemory, duckDefault/4*3)
	if got := setting(Memory(1 << 60)); !near(got, want) {
		t.Errorf("Memory(1 EiB): memory_limit %d, want %d (3/4 of DuckDB's default %s, at least %d)", got, want, unasked, DefaultMemory)
	}
}

func TestSyntheticMemoryGrowsWithTheAccount(t *testing.T) {
	if got := SyntheticMemory(1000, 90); got != DefaultMemory {
		t.Errorf("1,000 jobs x 90 days: %d, want the default %d (the 4 GB target)", got, DefaultMemory)
	}
	small, large := SyntheticMemory(10_000, 90), SyntheticMemory(20_000, 90)
	if small <= DefaultMemory || large != 2*small {
		t.Errorf("10,000 and 20,000 jobs: %d and %d, want above the default and in proportion", small, large)
	}
}

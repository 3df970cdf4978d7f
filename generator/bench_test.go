package generator

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dbmon/dbmon/synth"
)

// BenchmarkGenerate measures the pure generator (spec to files in memory,
// no KPI check) on the specs of issue 10: minimal, example, and the seeded
// 50-team and 500-team specs of scripts/bigspec.
//
//	go test ./generator -run '^$' -bench Generate -cpuprofile cpu.out -memprofile mem.out
func BenchmarkGenerate(b *testing.B) {
	specs := []struct {
		name string
		data []byte
	}{
		{"minimal", nil},
		{"example", nil},
		{"ordinary", synth.BigSpec(synth.SpecOrdinary)},
		{"large", synth.BigSpec(synth.SpecLarge)},
	}
	for _, sp := range specs {
		data := sp.data
		if data == nil {
			var err error
			if data, err = os.ReadFile(filepath.Join(specsDir, sp.name+".yaml")); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(sp.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, diags, err := Generate(sp.name+".yaml", data); err != nil || len(diags) > 0 {
					b.Fatal(err, diags)
				}
			}
		})
	}
}

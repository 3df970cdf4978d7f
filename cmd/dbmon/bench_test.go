package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/dbmon/dbmon/synth"
)

// BenchmarkGenerateCommand runs `dbmon generate SPEC --out DIR` in process,
// KPI check on the twin and writing included, on the specs of issue 10.
// The first run writes the bundle; the timed ones find it unchanged, as a
// re-run after an edit mostly does.
//
//	go test ./cmd/dbmon -run '^$' -bench GenerateCommand -cpuprofile cpu.out
func BenchmarkGenerateCommand(b *testing.B) {
	dir := b.TempDir()
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
		path := filepath.Join("..", "..", "specs", sp.name+".yaml")
		if sp.data != nil {
			path = filepath.Join(dir, sp.name+".yaml")
			if err := os.WriteFile(path, sp.data, 0o644); err != nil {
				b.Fatal(err)
			}
		}
		out := filepath.Join(dir, "bundle-"+sp.name)
		b.Run(sp.name, func(b *testing.B) {
			for b.Loop() {
				if code := run([]string{"generate", path, "--out", out}, nil, io.Discard, io.Discard); code != exitOK {
					b.Fatalf("generate %s: exit %d", sp.name, code)
				}
			}
		})
	}
}

// Command bigspec prints a synthetic dbmon spec of a given size, made from a
// seed, for trying dbmon at the size of a real organisation:
//
//	go run ./scripts/bigspec -teams 500 -slas 2000 -kpis 200 -workspaces 50 > big.yaml
package main

import (
	"flag"
	"os"

	"github.com/dbmon/dbmon/synth"
)

func main() {
	z := synth.SpecOrdinary
	flag.IntVar(&z.Teams, "teams", z.Teams, "teams")
	flag.IntVar(&z.SLAs, "slas", z.SLAs, "SLAs")
	flag.IntVar(&z.KPIs, "kpis", z.KPIs, "KPIs")
	flag.IntVar(&z.Workspaces, "workspaces", z.Workspaces, "workspaces")
	flag.Uint64Var(&z.Seed, "seed", z.Seed, "random seed")
	flag.Parse()
	os.Stdout.Write(synth.BigSpec(z))
}

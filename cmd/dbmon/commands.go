package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/dbmon/dbmon/generator"
	"github.com/dbmon/dbmon/generator/output"
	"github.com/dbmon/dbmon/generator/spec"
	"github.com/dbmon/dbmon/twin"
)

// checkKPIs runs each KPI's value expression on the twin, over empty tables,
// so validate and generate report a misspelt column at the KPI's line. The
// generator is pure; the engine is handed in here.
var checkKPIs = generator.WithKPICheck(twin.CheckKPIs)

// startKPICheck returns the KPI check for the spec in data and the function
// that releases it, which the caller must run on every path. When the spec
// has a top-level kpis section, DuckDB is opened on its own goroutine at
// once, while the spec is loaded and the model built (twin.StartKPICheck):
// about a seventh of example's generate. Otherwise the check opens DuckDB
// only if the bundle turns out to have KPIs, so a spec that spells the key
// in a way this misses is still checked, only without the head start.
func startKPICheck(data []byte) (generator.Option, func()) {
	if !bytes.HasPrefix(data, []byte("kpis:")) && !bytes.Contains(data, []byte("\nkpis:")) {
		return checkKPIs, func() {}
	}
	k := twin.StartKPICheck()
	return generator.WithKPICheck(k.Check), func() { k.Close() }
}

// gcHeadroom is the Go memory up to which generate and validate run without
// a garbage collection: example's whole run fits, and a larger spec then
// collects as usual.
const gcHeadroom = 32 << 20

// deferGC turns the collector off until the process holds gcHeadroom bytes,
// then restores the settings it found. Go's first goal is a 4 MB heap, and
// a small spec's run, which allocates some 20 MB and keeps little, was
// spending about a tenth of its CPU (~15 ms of example's generate) in six
// collections that freed memory nobody needed back. The memory limit makes
// the runtime collect at gcHeadroom; the finalizer of an object nothing
// keeps runs after that first collection and gives the settings back, so a
// large spec's heap grows from there as it would have (the 500-team spec's
// peak is well above gcHeadroom). A GOGC=off of the user's is kept.
func deferGC() {
	prevPercent := debug.SetGCPercent(-1)
	if prevPercent < 0 {
		return
	}
	prevLimit := debug.SetMemoryLimit(gcHeadroom)
	sentinel := new([16]byte)
	runtime.SetFinalizer(sentinel, func(*[16]byte) {
		debug.SetMemoryLimit(prevLimit)
		debug.SetGCPercent(prevPercent)
	})
}

func newValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate [SPEC]",
		Short: "Check a spec and print every problem in it",
		Long: `validate checks SPEC (default dbmon.yaml) against the spec's JSON Schema and
its cross-field rules and prints every problem as FILE:LINE:COL: PATH: message.
It exits 0 when the spec is valid and 3 when it is not.`,
		Example: `  dbmon validate
  dbmon validate specs/example.yaml`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			deferGC()
			path := specArg(args)
			data, err := readSpec(path)
			if err != nil {
				return err
			}
			kpiCheck, release := startKPICheck(data)
			defer release()
			_, diags, err := generator.Prepare(path, data, kpiCheck)
			if err != nil {
				return err
			}
			if len(diags) > 0 {
				return invalid(cmd.ErrOrStderr(), diags)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", path)
			return nil
		},
	}
}

func newGenerateCmd() *cobra.Command {
	var out string
	var check, force bool
	cmd := &cobra.Command{
		Use:   "generate [SPEC]",
		Short: "Write the monitoring bundle for a spec",
		Long: `generate turns SPEC (default dbmon.yaml) into a Databricks Asset Bundle in
--out (default ./bundle). The bundle is rendered in memory first and written
only when every file rendered; files dbmon wrote before and no longer
generates are removed, and files that dbmon did not write are never touched
(.dbmon/manifest.json lists the files it owns, with the SHA-256 of each).
A file dbmon wrote and someone edited since is neither overwritten nor
removed without --force. A failed write leaves the previous bundle as it
was, and while generate writes it holds --out/.dbmon/lock, so a second run
into the same folder stops and names the first.

With --check nothing is written: generate prints a unified diff of what would
change and exits 4 when the bundle on disk differs from the spec. Run it in
CI to keep the committed bundle in step with the spec.`,
		Example: `  dbmon generate specs/example.yaml --out build/example
  dbmon generate --check            # in CI: exit 4 when bundle/ is stale`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			deferGC()
			path := specArg(args)
			data, err := readSpec(path)
			if err != nil {
				return err
			}
			kpiCheck, release := startKPICheck(data)
			defer release()
			files, diags, err := generator.Generate(path, data, kpiCheck)
			if err != nil {
				return err
			}
			if len(diags) > 0 {
				return invalid(cmd.ErrOrStderr(), diags)
			}
			if check {
				diff, err := output.Check(out, files)
				if err != nil {
					return err
				}
				if diff != "" {
					fmt.Fprint(cmd.OutOrStdout(), diff)
					return &codeError{code: exitDrift, msg: fmt.Sprintf("%s is not up to date with %s; run `dbmon generate %s --out %s`", out, path, path, out)}
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s is up to date with %s\n", out, path)
				return nil
			}
			res, err := output.Write(out, files, force)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d written, %d unchanged, %d removed\n", out, len(res.Written), len(res.Unchanged), len(res.Removed))
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "bundle", "directory to write the bundle into")
	cmd.Flags().BoolVar(&check, "check", false, "write nothing; print a diff and exit 4 if the bundle differs")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite files in --out that dbmon did not write, and overwrite or remove files edited by hand since dbmon wrote them")
	return cmd
}

func newSchemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the spec's JSON Schema",
		Long: `schema prints the JSON Schema of the dbmon spec. Save it next to the spec
and point your editor at it for completion and inline errors.`,
		Example: `  dbmon schema > dbmon.schema.json
  # then start dbmon.yaml with:  # yaml-language-server: $schema=dbmon.schema.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(spec.SchemaJSON)
			return err
		},
	}
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print dbmon's version",
		Long:    "version prints the version dbmon was built from, or (devel) for a local build.",
		Example: "  dbmon version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "dbmon %s\n", version())
			return nil
		},
	}
}

func newInitCmd() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Write a commented starter spec",
		Long: `init writes DIR/dbmon.yaml (DIR defaults to the current folder), a commented
starter spec, and DIR/dbmon.schema.json, its JSON Schema for editors. It does
not overwrite an existing dbmon.yaml unless --force is given.`,
		Example: `  dbmon init
  dbmon init monitoring && dbmon validate monitoring/dbmon.yaml`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			target := filepath.Join(dir, defaultSpec)
			if _, err := os.Stat(target); err == nil && !force {
				return fmt.Errorf("%s already exists; use --force to overwrite it", target)
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(target, []byte(starterSpec), 0o644); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, "dbmon.schema.json"), spec.SchemaJSON, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s and %s\nnext: edit it, then run `dbmon generate %s`\n", target, filepath.Join(dir, "dbmon.schema.json"), target)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing dbmon.yaml")
	return cmd
}

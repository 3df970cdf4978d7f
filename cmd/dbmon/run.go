package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dbmon/dbmon/generator/diag"
)

// Exit codes of the CLI contract (architecture.md).
const (
	exitOK      = 0
	exitError   = 1 // internal or I/O error
	exitUsage   = 2 // bad flags or arguments
	exitInvalid = 3 // invalid spec; diagnostics already printed
	exitDrift   = 4 // generate --check found drift
	exitDoctor  = 5 // doctor found a failing check
)

// codeError carries an exit code for errors whose message is already printed
// (or that print nothing more).
type codeError struct {
	code int
	msg  string
}

func (e *codeError) Error() string { return e.msg }

// usageError marks a mistake in how the command was called.
type usageError struct{ error }

const defaultSpec = "dbmon.yaml"

// run executes the CLI with args and returns the exit code. Tests call it
// directly; main only passes os.Args and exits.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "dbmon: internal error: %v\nPlease report this with the spec that caused it.\n%s", r, debug.Stack())
			code = exitError
		}
	}()
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	root.SetIn(stdin)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ce *codeError
	if errors.As(err, &ce) {
		if ce.msg != "" {
			fmt.Fprintln(stderr, "Error:", ce.msg)
		}
		return ce.code
	}
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		fmt.Fprintln(stderr, "Error:", err)
		fmt.Fprintln(stderr, "Run 'dbmon --help' for usage.")
		return exitUsage
	}
	fmt.Fprintln(stderr, "Error:", err)
	return exitError
}

// isCobraUsage recognises cobra's own argument and flag errors, which are
// returned before any RunE runs.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument", "accepts at most", "accepts ", "requires at least", "bad flag syntax"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "dbmon",
		Short: "Generate a Databricks Asset Bundle that monitors every job in an account",
		Long: `dbmon turns one YAML spec of teams, SLAs, KPIs and alert routing into a
Databricks Asset Bundle: a Lakeflow pipeline over the system tables, the jobs
that refresh it, alerts routed to each team and AI/BI dashboards.

Exit codes: 0 ok, 1 internal or I/O error, 2 usage error, 3 invalid spec,
4 drift found by generate --check, 5 a failed doctor check. A workspace that
cannot be reached or rejects the credentials is an error (1).`,
		Example: `  dbmon init
  dbmon validate dbmon.yaml
  dbmon generate dbmon.yaml --out bundle
  cd bundle && databricks bundle deploy -t dev`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newInitCmd(), newValidateCmd(), newGenerateCmd(), newPreviewCmd(), newSchemaCmd(), newVersionCmd(), newDoctorCmd(), newImportCmd())
	return root
}

// specArg returns the spec path from args, defaulting to dbmon.yaml.
func specArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return defaultSpec
}

// readSpec reads the spec file, refusing obvious non-files early.
func readSpec(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("spec %s not found (create one with `dbmon init`)", path)
		}
		return nil, err
	}
	if info.IsDir() {
		return nil, fmt.Errorf("spec %s is a directory, not a file", path)
	}
	return os.ReadFile(path)
}

// invalid prints diagnostics and returns the exit-3 error.
func invalid(stderr io.Writer, d diag.List) error {
	d.Print(stderr)
	n := len(d.Sorted())
	noun := "problems"
	if n == 1 {
		noun = "problem"
	}
	return &codeError{code: exitInvalid, msg: fmt.Sprintf("spec is invalid: %d %s", n, noun)}
}

func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Version == "" {
		return "(devel)"
	}
	return info.Main.Version
}

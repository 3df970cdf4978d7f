package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/databricks/databricks-sdk-go/logger"
	"github.com/spf13/cobra"

	"github.com/dbmon/dbmon/generator/spec"
	"github.com/dbmon/dbmon/workspace"
)

// workspaceFlags are the connection flags of the commands that talk to a
// workspace.
type workspaceFlags struct {
	profile string
	timeout time.Duration
}

func (f *workspaceFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.profile, "profile", "", "~/.databrickscfg profile to use (default: DATABRICKS_* variables, then the DEFAULT profile)")
	cmd.Flags().DurationVar(&f.timeout, "timeout", workspace.DefaultTimeout, "how long one request may keep retrying when throttled or the workspace is unavailable (a host that cannot be reached fails within 10s)")
}

func (f *workspaceFlags) options() workspace.Options {
	// The SDK logs warnings (such as a failed host metadata lookup) to
	// stderr; the failing request reports the same problem readably.
	logger.DefaultLogger = &logger.SimpleLogger{Level: logger.LevelError}
	return workspace.Options{Profile: f.profile, Timeout: f.timeout}
}

func newDoctorCmd() *cobra.Command {
	var conn workspaceFlags
	var output string
	var fix bool
	cmd := &cobra.Command{
		Use:   "doctor [SPEC]",
		Short: "Check that a workspace is ready for the monitor a spec describes",
		Long: `doctor connects to a Databricks workspace and checks what the monitor that
SPEC (default dbmon.yaml) describes needs there: the identity and the
metastore, the system schemas billing, lakeflow, compute and access, SELECT
on every system table the pipeline reads (run on the spec's warehouse, which
starts it if it is stopped), the warehouse, bundle.catalog and whether the
schema can be created, every notification destination and the jobs each
SLA selects. Each check prints one line, ✓ or ✗ with a fix.

--fix enables the system schemas that are available but not enabled; that
needs a metastore admin or account admin.

Authentication is Databricks unified authentication, as for the databricks
CLI: --profile names a profile of ~/.databrickscfg; without it
DATABRICKS_HOST and DATABRICKS_TOKEN (or another DATABRICKS_* method) are
used, else the DEFAULT profile.

Exit codes: 0 every check passed, 5 a check failed, 1 the workspace could
not be reached or rejected the credentials, 3 invalid spec.`,
		Example: `  dbmon doctor
  dbmon doctor specs/prod.yaml --profile prod
  dbmon doctor --fix                 # as a metastore admin
  dbmon doctor -o json | jq '.[] | select(.ok | not)'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError{fmt.Errorf("--output must be text or json, not %q", output)}
			}
			path := specArg(args)
			data, err := readSpec(path)
			if err != nil {
				return err
			}
			s, diags := spec.Load(path, data)
			if len(diags) > 0 {
				return invalid(cmd.ErrOrStderr(), diags)
			}
			w, err := workspace.Connect(conn.options())
			if err != nil {
				return err
			}
			checks, err := workspace.Doctor(cmd.Context(), w, s, workspace.DoctorOptions{Fix: fix})
			if perr := printChecks(cmd, checks, output); perr != nil {
				return perr
			}
			if err != nil {
				return err
			}
			failed := 0
			for _, c := range checks {
				if !c.OK {
					failed++
				}
			}
			if failed > 0 {
				return &codeError{code: exitDoctor, msg: fmt.Sprintf("%d of %d checks failed", failed, len(checks))}
			}
			return nil
		},
	}
	conn.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().BoolVar(&fix, "fix", false, "enable the system schemas that are available but not enabled (needs a metastore admin)")
	return cmd
}

func printChecks(cmd *cobra.Command, checks []workspace.Check, output string) error {
	out := cmd.OutOrStdout()
	if output == "json" {
		if checks == nil {
			checks = []workspace.Check{}
		}
		b, err := json.MarshalIndent(checks, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", b)
		return err
	}
	for _, c := range checks {
		if _, err := fmt.Fprintln(out, c.String()); err != nil {
			return err
		}
	}
	return nil
}

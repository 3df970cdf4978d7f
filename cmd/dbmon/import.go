package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dbmon/dbmon/generator/spec"
	"github.com/dbmon/dbmon/workspace"
)

func newImportCmd() *cobra.Command {
	var conn workspaceFlags
	var out string
	var days int
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Propose a spec from the jobs and runs in a workspace",
		Long: `import lists every job in a Databricks workspace and the runs of the last
--days days (default 30) and proposes a spec:

  - teams from the owner tag set on most jobs (team, owner, cost_center, ...),
    one team per value, and one team per creator for the jobs without it;
  - an SLA for each scheduled job with at least 5 successful runs:
    max_duration is the p95 duration ×1.5 rounded up to 5 minutes, the
    deadline the daily schedule's time plus max_duration, min_success_rate
    the observed rate rounded down (at most 99). A comment next to each
    number says where it came from.

Without --out the spec is printed. With --out naming a new file it is
written there; naming an existing spec, only the teams and SLAs it lacks are
added to it: teams for jobs none of its teams owns, SLAs for jobs none of
its SLAs selects. Everything already in the file, comments included, stays
as it is.

The Jobs API keeps runs for 60 days. Authentication is as for doctor.`,
		Example: `  dbmon import --out dbmon.yaml
  dbmon import --profile prod --days 14 > proposal.yaml
  dbmon import --out dbmon.yaml      # again later: adds only new teams and SLAs`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if days < 1 || days > 365 {
				return usageError{fmt.Errorf("--days must be between 1 and 365, not %d", days)}
			}
			stderr := cmd.ErrOrStderr()
			opts := workspace.ImportOptions{Days: days, File: out}
			if out != "" {
				data, err := os.ReadFile(out)
				switch {
				case err == nil:
					if _, diags := spec.Load(out, data); len(diags) > 0 {
						diags.Print(stderr)
						return &codeError{code: exitInvalid, msg: fmt.Sprintf("%s is invalid; fix it before importing into it", out)}
					}
					opts.Existing = data
				case errors.Is(err, fs.ErrNotExist):
				default:
					return err
				}
			}
			if days > 60 {
				fmt.Fprintf(stderr, "note: the Jobs API keeps runs for 60 days; --days %d reads no more than that\n", days)
			}
			w, err := workspace.Connect(conn.options())
			if err != nil {
				return err
			}
			res, err := workspace.Import(cmd.Context(), w, opts)
			if err != nil {
				return err
			}
			summary := fmt.Sprintf("%d jobs and %d runs of the last %d days", res.Jobs, res.Runs, days)
			if len(res.Skipped) > 0 {
				fmt.Fprintf(stderr, "no SLA proposed for %d scheduled jobs:\n  %s\n", len(res.Skipped), strings.Join(res.Skipped, "\n  "))
			}
			if out == "" {
				if _, err := cmd.OutOrStdout().Write(res.YAML); err != nil {
					return err
				}
				fmt.Fprintf(stderr, "proposed %s and %s from %s\n", count(len(res.Teams), "team"), count(len(res.SLAs), "SLA"), summary)
				return nil
			}
			if opts.Existing != nil && len(res.Teams)+len(res.SLAs) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: nothing new to add from %s\n", out, summary)
				return nil
			}
			if err := writeAtomic(out, res.YAML); err != nil {
				return err
			}
			verb := "wrote"
			if opts.Existing != nil {
				verb = "added"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s %s and %s from %s\n", out, verb, count(len(res.Teams), "team"), count(len(res.SLAs), "SLA"), summary)
			for _, kind := range []struct {
				what  string
				names []string
			}{{"teams", res.Teams}, {"slas", res.SLAs}} {
				if len(kind.names) > 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "  %s: %s\n", kind.what, strings.Join(kind.names, ", "))
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "next: review the EDIT lines and the proposals, then run `dbmon doctor %s`\n", out)
			return nil
		},
	}
	conn.register(cmd)
	cmd.Flags().StringVar(&out, "out", "", "spec file to write, or to add the new teams and SLAs to (default: print the spec)")
	cmd.Flags().IntVar(&days, "days", 30, "days of run history to derive the SLAs from")
	return cmd
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// writeAtomic replaces path with data through a temporary file in the same
// folder, keeping an existing file's permissions.
func writeAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if info, err := os.Stat(path); err == nil {
		mode = info.Mode().Perm()
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".dbmon-import-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

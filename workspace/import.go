package workspace

import (
	"context"
	"fmt"
	"time"

	"github.com/databricks/databricks-sdk-go"
	"gopkg.in/yaml.v3"

	"github.com/dbmon/dbmon/generator/diag"
	"github.com/dbmon/dbmon/generator/spec"
)

// ImportOptions configures Import.
type ImportOptions struct {
	// Days is the run history to read; zero means 30. The Jobs API keeps
	// runs for 60 days.
	Days int
	// Now is the end of the window; zero means time.Now().
	Now time.Time
	// Existing is the spec to merge into, nil for a new spec; File names it
	// in diagnostics.
	Existing []byte
	File     string
}

// ImportResult is a proposed spec.
type ImportResult struct {
	// YAML is the spec to write: the existing spec's text with the new
	// teams and SLAs added, or a new spec.
	YAML []byte
	// Doc is YAML parsed into yaml.v3 nodes.
	Doc *yaml.Node
	// Jobs and Runs count what was read.
	Jobs, Runs int
	// Teams and SLAs name what was added.
	Teams, SLAs []string
	// Skipped names scheduled jobs that got no SLA, with the reason.
	Skipped []string
}

// SpecError is an existing spec that does not validate; Import does not
// merge into it.
type SpecError struct{ Diags diag.List }

func (e *SpecError) Error() string {
	return fmt.Sprintf("the existing spec is invalid: %d problems", len(e.Diags.Sorted()))
}

// Import reads the workspace's jobs and runs and proposes a spec, or the
// additions to opts.Existing.
func Import(ctx context.Context, w *databricks.WorkspaceClient, opts ImportOptions) (*ImportResult, error) {
	if opts.Days <= 0 {
		opts.Days = 30
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	var existing *spec.Spec
	if opts.Existing != nil {
		s, diags := spec.Load(opts.File, opts.Existing)
		if len(diags) > 0 {
			return nil, &SpecError{diags}
		}
		existing = s
	}
	inv, err := Collect(ctx, w, opts.Days, opts.Now)
	if err != nil {
		return nil, err
	}
	return Build(inv, opts.Existing, existing, opts.File)
}

// Build turns an inventory into a spec: a new one when existingText is nil,
// else existingText (which decodes to existing) with the new teams and SLAs
// added. The result always validates; a proposal that does not is a bug and
// an error.
func Build(inv *Inventory, existingText []byte, existing *spec.Spec, file string) (*ImportResult, error) {
	p := propose(inv, existing)
	res := &ImportResult{Jobs: len(inv.Jobs), Runs: inv.RunCount, Skipped: p.Skipped}
	for _, t := range p.Teams {
		res.Teams = append(res.Teams, t.Name)
	}
	for _, s := range p.SLAs {
		res.SLAs = append(res.SLAs, s.Name)
	}
	if existingText == nil {
		res.YAML = freshSpec(inv, p)
	} else {
		out, err := mergeSpec(existingText, inv, p)
		if err != nil {
			return nil, err
		}
		res.YAML = out
	}
	if file == "" {
		file = "dbmon.yaml"
	}
	if _, diags := spec.Load(file, res.YAML); len(diags) > 0 {
		return nil, fmt.Errorf("internal error: the proposed spec is invalid (please report this):\n%s", diagText(diags))
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(res.YAML, &doc); err != nil {
		return nil, err
	}
	res.Doc = &doc
	return res, nil
}

func diagText(d diag.List) string {
	var s string
	for _, x := range d.Sorted() {
		s += x.String() + "\n"
	}
	return s
}

// Package generator is the pipeline from a spec to a bundle:
//
//	spec YAML --spec.Load--> spec.Spec --model.Build--> model.Bundle --render.Render--> []render.File --output--> disk
//
// Generate runs the first three stages in memory and touches no disk, clock
// or network, so the same spec always gives the same files. The CLI and the
// tests both call it; package output writes or checks the result.
package generator

import (
	"github.com/dbmon/dbmon/generator/diag"
	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/output"
	"github.com/dbmon/dbmon/generator/render"
	"github.com/dbmon/dbmon/generator/spec"
)

// Generate turns the spec in data (named file in diagnostics) into the
// bundle's files, including .dbmon/manifest.json, sorted by path. A spec
// problem returns diagnostics; any other failure returns an error.
func Generate(file string, data []byte) ([]render.File, diag.List, error) {
	r, diags, err := Prepare(file, data)
	if r == nil {
		return nil, diags, err
	}
	return r.Files, nil, nil
}

// Result is every stage's output for one spec.
type Result struct {
	Spec   *spec.Spec
	Bundle *model.Bundle
	Files  []render.File // with the manifest
}

// Prepare is Generate keeping the intermediate stages, for commands that run
// the bundle (preview) rather than write it.
func Prepare(file string, data []byte) (*Result, diag.List, error) {
	s, diags := spec.LoadWith(file, data, CheckKPIs)
	if len(diags) > 0 {
		return nil, diags, nil
	}
	b, err := model.Build(s)
	if err != nil {
		return nil, nil, err
	}
	files, err := render.Render(b)
	if err != nil {
		return nil, nil, err
	}
	return &Result{Spec: s, Bundle: b, Files: output.WithManifest(files)}, nil, nil
}

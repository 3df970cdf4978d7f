// Package generator is the pipeline from a spec to a bundle:
//
//	spec YAML --spec.Load--> spec.Spec --model.Build--> model.Bundle --render.Render--> []render.File --output--> disk
//
// Generate runs the first three stages in memory and touches no disk, clock
// or network, so the same spec always gives the same files. The CLI and the
// tests both call it; package output writes or checks the result.
//
// Checks that need an engine (a KPI's value expression against the tables it
// reads) are not the generator's: the command that wants them hands one in
// with WithKPICheck, so this package never depends on the twin.
package generator

import (
	"github.com/dbmon/dbmon/generator/diag"
	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/output"
	"github.com/dbmon/dbmon/generator/render"
	"github.com/dbmon/dbmon/generator/spec"
)

// KPICheck checks the KPIs of a built bundle (twin.CheckKPIs runs each value
// expression on DuckDB). Its problems name spec paths such as
// kpis[0].value and are reported at their line like every other
// diagnostic; its error is a failure of the check itself. It must not
// change the bundle, which is the one rendered afterwards. (It runs before
// the rendering, not beside it: overlapping them saved a few milliseconds
// on two cores but held DuckDB's memory and the rendering's at once, 35 MB
// more at peak for the 500-team spec.)
type KPICheck func(*model.Bundle) ([]spec.Problem, error)

// Option changes how Generate and Prepare treat a spec.
type Option func(*options)

type options struct {
	checkKPIs KPICheck
}

// WithKPICheck runs check on every spec that passes the spec's own rules,
// before anything is rendered.
func WithKPICheck(check KPICheck) Option {
	return func(o *options) { o.checkKPIs = check }
}

// Generate turns the spec in data (named file in diagnostics) into the
// bundle's files, including .dbmon/manifest.json, sorted by path. A spec
// problem returns diagnostics; any other failure returns an error.
func Generate(file string, data []byte, opts ...Option) ([]render.File, diag.List, error) {
	r, diags, err := Prepare(file, data, opts...)
	if r == nil {
		return nil, diags, err
	}
	return r.Files, nil, nil
}

// Result is every stage's output for one spec.
type Result struct {
	File   string // the spec's name, as diagnostics print it
	Spec   *spec.Spec
	Bundle *model.Bundle
	Files  []render.File // with the manifest
}

// Prepare is Generate keeping the intermediate stages, for commands that run
// the bundle (preview) rather than write it.
func Prepare(file string, data []byte, opts ...Option) (*Result, diag.List, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	// The templates need nothing from the spec: they are parsed on a second
	// core while this one loads the spec and waits on the KPI check, and
	// Render finds them parsed. (This is parsing only: no bundle is
	// rendered beside the check; see KPICheck.)
	go render.ParseAll()
	// The KPI check needs the model; the bundle it was given is kept so the
	// spec is built once.
	var b *model.Bundle
	var checks []spec.Check
	if o.checkKPIs != nil {
		checks = append(checks, func(s *spec.Spec) ([]spec.Problem, error) {
			var err error
			if b, err = model.Build(s); err != nil {
				return nil, err
			}
			return o.checkKPIs(b)
		})
	}
	s, diags := spec.LoadWith(file, data, checks...)
	if len(diags) > 0 {
		return nil, diags, nil
	}
	if b == nil {
		var err error
		if b, err = model.Build(s); err != nil {
			return nil, nil, err
		}
	}
	files, err := render.Render(b)
	if err != nil {
		return nil, nil, err
	}
	return &Result{File: file, Spec: s, Bundle: b, Files: output.WithManifest(files)}, nil, nil
}

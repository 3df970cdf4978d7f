// Package render executes the embedded templates against a model.Bundle and
// returns the bundle's files in memory, sorted by path. It writes nothing:
// package output decides what reaches the disk.
//
// The manifest (Manifest in render.go) is the table of which template makes
// which file; output paths live there, in Go, not in template file names.
// Templates see only the model, and the function map is sprig's hermetic set
// minus every function whose result depends on time, randomness or the
// environment, plus a few quoting helpers, so the same model always renders
// the same bytes.
package render

// Package dbmon embeds the bundle templates: databricks.yml.tmpl at the top
// of the repository (the bundle root) and everything under templates/. It has
// no other job; package render executes them.
package dbmon

import "embed"

// Templates holds databricks.yml.tmpl and templates/**.
//
//go:embed databricks.yml.tmpl templates
var Templates embed.FS

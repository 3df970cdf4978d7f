// Package model resolves a validated spec into the Bundle that templates
// render: defaults applied, names, keys and paths computed, schedules turned
// into Quartz cron, and every list sorted by a stable key. Templates see only
// this model, so everything a test needs to reach is computed here in Go.
package model

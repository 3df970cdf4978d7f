package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/dbmon/dbmon/generator"
)

// commentedSection matches the starter's commented-out sections and their
// indented lines, not its prose comments.
var commentedSection = regexp.MustCompile(`^# ((?:workspaces|pricing|teams|destinations|slas|reports):.*|  .*)$`)

// TestStarterExamplesValidate: every commented example in the starter,
// switched on, is a valid spec that generates, so an analyst who
// uncomments the weekly executive digest gets a working report job.
func TestStarterExamplesValidate(t *testing.T) {
	var lines []string
	uncommented := 0
	for _, line := range strings.Split(starterSpec, "\n") {
		if m := commentedSection.FindStringSubmatch(line); m != nil {
			line = m[1]
			uncommented++
		}
		lines = append(lines, line)
	}
	spec := strings.Join(lines, "\n")
	if !regexp.MustCompile(`(?m)^reports:`).MatchString(spec) || uncommented < 20 {
		t.Fatalf("uncommented %d lines; the reports example was not found:\n%s", uncommented, spec)
	}
	files, diags, err := generator.Generate("dbmon.yaml", []byte(spec))
	if err != nil || len(diags) > 0 {
		t.Fatalf("the starter with its examples switched on is invalid: %v %v\n%s", err, diags, spec)
	}
	for _, f := range files {
		if f.Path == "resources/jobs.yml" && !strings.Contains(string(f.Data), "dashboard_task:") {
			t.Errorf("jobs.yml has no dashboard task for the weekly digest:\n%s", f.Data)
		}
	}
}

package generator

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/render"
	"github.com/dbmon/dbmon/generator/spec"
)

// TestKPICheckBesideRendering: the files render while the KPI check runs.
// A check that reads the bundle as twin.CheckKPIs does (kpi_values rendered
// for one KPI) leaves the files byte-identical to a run without it, and a
// problem it reports is a diagnostic at the KPI's line with no files. Run
// with -race to see that the check and the rendering share the bundle
// read-only.
func TestKPICheckBesideRendering(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(specsDir, "example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	plain, diags, err := Generate("example.yaml", data)
	if err != nil || len(diags) > 0 {
		t.Fatal(err, diags)
	}
	reading := func(b *model.Bundle) ([]spec.Problem, error) {
		for _, k := range b.Monitor.KPIs {
			one := *b
			one.Monitor.KPIs = []model.KPI{k}
			if _, err := render.RenderTemplate(&one, "templates/pipeline/gold/kpi_values.sql.tmpl"); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	checked, diags, err := Generate("example.yaml", data, WithKPICheck(reading))
	if err != nil || len(diags) > 0 {
		t.Fatal(err, diags)
	}
	if len(checked) != len(plain) {
		t.Fatalf("%d files with the check, %d without", len(checked), len(plain))
	}
	for i := range plain {
		if checked[i].Path != plain[i].Path || !bytes.Equal(checked[i].Data, plain[i].Data) {
			t.Errorf("%s differs with the KPI check running beside the rendering", plain[i].Path)
		}
	}

	failing := func(b *model.Bundle) ([]spec.Problem, error) {
		return []spec.Problem{{Path: []any{"kpis", 0, "value"}, Message: "no such column"}}, nil
	}
	files, diags, err := Generate("example.yaml", data, WithKPICheck(failing))
	if err != nil || files != nil {
		t.Fatalf("a KPI problem gave files %d, error %v", len(files), err)
	}
	line := 1 + strings.Count(string(data[:bytes.Index(data, []byte("value: "))]), "\n")
	if len(diags) != 1 || diags[0].Line != line || !strings.Contains(diags[0].Message, "no such column") {
		t.Errorf("diagnostics %v, want one at line %d", diags, line)
	}
}

package generator

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/render"
	"github.com/dbmon/dbmon/generator/spec"
	"github.com/dbmon/dbmon/twin"
)

var (
	kpiTable, _     = model.PipelineTableByName("kpi_values")
	unknownColumn   = regexp.MustCompile(`Referenced column "([^"]+)" not found`)
	unknownFunction = regexp.MustCompile(`^function (\S+) is not in the twin's Databricks function table`)
)

// CheckKPIs runs every KPI's value expression on the twin, over the empty
// documented tables, exactly as kpi_values embeds it. An expression that does
// not bind (an unknown column, a function Databricks lacks, a type error) is
// reported at the KPI's value.
func CheckKPIs(s *spec.Spec) ([]spec.Problem, error) {
	if len(s.KPIs) == 0 {
		return nil, nil
	}
	b, err := model.Build(s)
	if err != nil {
		return nil, err
	}
	kpis := b.Monitor.KPIs
	// The other tables are built once without KPIs; then each KPI is
	// checked alone so a problem names its KPI.
	b.Monitor.KPIs = nil
	files, err := render.Render(b)
	if err != nil {
		return nil, err
	}
	e, err := twin.Open(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		return nil, err
	}
	defer e.Close()
	if _, err := e.RunPipeline(b, files); err != nil {
		return nil, fmt.Errorf("internal error: the pipeline does not run on empty tables: %w", err)
	}
	var problems []spec.Problem
	for i, k := range kpis {
		if t, _ := model.PipelineTableByName(k.Source); k.ByColumn != "" && !t.HasColumn(k.ByColumn) {
			problems = append(problems, spec.Problem{Path: []any{"kpis", i, "by"},
				Message: fmt.Sprintf("by: %s needs column %s, which %s does not have", k.By, k.ByColumn, k.Source)})
			continue
		}
		b.Monitor.KPIs = []model.KPI{k}
		files, err := render.RenderTemplate(b, kpiTable.Template())
		if err != nil {
			return nil, err
		}
		if len(files) != 1 {
			return nil, fmt.Errorf("internal error: %s rendered %d files", kpiTable.Template(), len(files))
		}
		if err := e.Try(b, string(files[0].Data)); err != nil {
			problems = append(problems, spec.Problem{Path: []any{"kpis", i, "value"}, Message: kpiMessage(k, err)})
		}
	}
	return problems, nil
}

func kpiMessage(k model.KPI, err error) string {
	msg := err.Error()
	if m := unknownColumn.FindStringSubmatch(msg); m != nil {
		t, _ := model.PipelineTableByName(k.Source)
		hint := spec.Suggest(m[1], t.ColumnNames())
		if hint == "" {
			hint = "; its columns are " + strings.Join(t.ColumnNames(), ", ")
		}
		return fmt.Sprintf("column `%s` does not exist in %s%s", m[1], k.Source, hint)
	}
	var te *twin.Error
	if errors.As(err, &te) {
		if f := unknownFunction.FindStringSubmatch(te.Msg); f != nil {
			return fmt.Sprintf("function `%s` is not a Databricks SQL function dbmon knows; KPI values may use the functions in twin/macros.go", f[1])
		}
		return "value is not valid Databricks SQL: " + te.Msg
	}
	first, _, _ := strings.Cut(msg, "\n")
	return "value does not run on " + k.Source + ": " + first
}

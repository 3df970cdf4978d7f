package docs

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/dbmon/dbmon/generator/model"
)

// Tables returns docs/tables.md: every table the pipeline and the collector
// write, from the same declarations the generated SQL and the data
// dictionary come from.
func Tables() []byte {
	var out bytes.Buffer
	out.WriteString(tablesIntro)

	bronze := model.BronzeTables()
	out.WriteString("\n## Contents\n\n")
	fmt.Fprintf(&out, "- [Bronze](#bronze): %s\n", tableList(bronzeNames(bronze)))
	layers, byLayer := pipelineLayers()
	for _, layer := range layers {
		var names []string
		for _, t := range byLayer[layer] {
			names = append(names, t.Name)
		}
		fmt.Fprintf(&out, "- [%s](#%s): %s\n", title(layer), layer, tableList(names))
	}
	var history []string
	for _, t := range model.HistoryTables() {
		history = append(history, t.Name)
	}
	fmt.Fprintf(&out, "- [History](#history): %s\n", tableList(history))
	fmt.Fprintf(&out, "- [Collector](#collector): %s\n", tableList([]string{model.CollectorTable.Name}))

	out.WriteString("\n## Bronze\n\nIncremental copies of the system tables, filtered to the spec's `workspaces` " +
		"(when it lists any); the time-sliced sources (usage, run and task timelines, node timeline) also to " +
		"`retention.detail_days`, while the dimensions keep every version. Rows without their key are dropped. " +
		"Streaming tables are read with `skipChangeCommits` (the system tables delete old rows); " +
		"the others are materialized views. Their columns are the source's.\n\n")
	out.WriteString("| table | source | read as | key | cluster by | what |\n|---|---|---|---|---|---|\n")
	for _, t := range bronze {
		kind := "materialized view"
		if t.Streaming {
			kind = "streaming table"
		}
		fmt.Fprintf(&out, "| `%s` | `%s` | %s | %s | %s | %s |\n", t.Name, t.Source, kind, code(t.Keys), code(t.ClusterBy), cell(t.Comment))
	}
	for _, t := range bronze {
		fmt.Fprintf(&out, "\n### %s\n\nColumns of `%s`:\n\n", t.Name, t.Source)
		columnTable(&out, t.SourceColumns())
	}

	for _, layer := range layers {
		fmt.Fprintf(&out, "\n## %s\n", title(layer))
		for _, t := range byLayer[layer] {
			pipelineTable(&out, t)
		}
	}

	fmt.Fprintf(&out, "\n## History\n\nThe closed periods of the daily, weekly and monthly gold facts, kept for "+
		"`retention.aggregate_days` after silver (`retention.detail_days`) has let them go. The pipeline declares them "+
		"(`%s`: streaming tables with `pipelines.reset.allowed = false`, so a full refresh keeps them); the maintenance "+
		"job's `keep_history` task merges each period into them once it is closed, %d days after its last local day, "+
		"and its `retention` task deletes their rows older than `retention.aggregate_days`. Each gold fact reads its "+
		"history table back and recomputes only the later periods from silver, so dashboards and alerts read one "+
		"table per fact. Columns, key and grain are the fact's.\n", model.HistorySource, model.HistoryCloseDays)
	for _, t := range model.HistoryTables() {
		fmt.Fprintf(&out, "\n### %s\n\n%s\n", t.Name, t.Comment)
	}

	out.WriteString("\n## Collector\n\nWritten by the Jobs API collector (`collector` in the spec), not by the pipeline: " +
		"what the system tables lack, such as error text and repair attempts. `failure_classified` " +
		"reads its error text when the collector is enabled. A daily maintenance job deletes its rows older than " +
		"`retention.detail_days`.\n")
	pipelineTable(&out, model.CollectorTable)
	return out.Bytes()
}

// pipelineLayers groups the pipeline tables by layer, in the order the
// layers first appear (silver, then gold, then any layer added later).
func pipelineLayers() ([]string, map[string][]model.PipelineTable) {
	var layers []string
	by := map[string][]model.PipelineTable{}
	for _, t := range model.PipelineTables() {
		if _, ok := by[t.Layer]; !ok {
			layers = append(layers, t.Layer)
		}
		by[t.Layer] = append(by[t.Layer], t)
	}
	return layers, by
}

func pipelineTable(out *bytes.Buffer, t model.PipelineTable) {
	fmt.Fprintf(out, "\n### %s\n\n%s\n\n", t.Name, t.Comment)
	if t.Grain != "" {
		fmt.Fprintf(out, "- Grain: %s.\n", t.Grain)
	}
	if len(t.Keys) > 0 {
		fmt.Fprintf(out, "- Key: %s.\n", code(t.Keys))
	}
	if t.DateColumn != "" {
		fmt.Fprintf(out, "- Date: `%s` (KPI windows and retention use it).\n", t.DateColumn)
	}
	if len(t.ClusterBy) > 0 {
		fmt.Fprintf(out, "- Clustered by: %s.\n", code(t.ClusterBy))
	}
	if t.History != "" {
		fmt.Fprintf(out, "- History: closed %ss are kept in [`%s`](#%s) for `retention.aggregate_days`; the later ones are recomputed from silver.\n",
			t.History, model.HistoryName(t.Name), model.HistoryName(t.Name))
	}
	out.WriteString("\n")
	columnTable(out, t.Columns)
}

func columnTable(out *bytes.Buffer, cols []model.Column) {
	out.WriteString("| column | type | meaning |\n|---|---|---|\n")
	for _, c := range cols {
		// fmt.Sprint: the type's Databricks SQL spelling, whether the
		// model keeps it as a string or as a type with a String method.
		fmt.Fprintf(out, "| `%s` | `%s` | %s |\n", c.Name, cell(fmt.Sprint(c.Type)), cell(c.Comment))
	}
}

func bronzeNames(ts []model.BronzeTable) []string {
	var names []string
	for _, t := range ts {
		names = append(names, t.Name)
	}
	return names
}

func tableList(names []string) string {
	links := make([]string, len(names))
	for i, n := range names {
		links[i] = "[`" + n + "`](#" + n + ")"
	}
	return strings.Join(links, ", ")
}

func code(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return "`" + strings.Join(names, "`, `") + "`"
}

func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

package render

import (
	"fmt"
	"strings"

	"github.com/dbmon/dbmon/generator/model"
)

// historyMergeTemplate is the statement that keeps one gold fact's closed
// periods in its history table.
const historyMergeTemplate = "templates/history/merge.sql.tmpl"

// historyData is what historyMergeTemplate sees.
type historyData struct {
	Bundle    *model.Bundle
	Gold      model.PipelineTable
	History   model.PipelineTable
	CloseDays int
}

// HistoryStatement is the history step's statement for one history table.
type HistoryStatement struct {
	Table string // the history table
	SQL   string // Databricks SQL with the pipeline's ${dbmon.*} keys unresolved
}

// HistoryStatements are the maintenance job's history step, one MERGE per
// history table in model order: the statements src/maintenance/history.py
// runs, and the twin runs the same text.
func HistoryStatements(b *model.Bundle) ([]HistoryStatement, error) {
	var out []HistoryStatement
	for _, h := range b.History {
		gold, ok := model.PipelineTableByName(strings.TrimSuffix(h.Name, "_history"))
		if !ok || model.HistoryName(gold.Name) != h.Name {
			return nil, fmt.Errorf("history table %s has no gold table", h.Name)
		}
		sql, err := executeSQL(historyMergeTemplate, historyData{Bundle: b, Gold: gold, History: h, CloseDays: model.HistoryCloseDays})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
		out = append(out, HistoryStatement{Table: h.Name, SQL: sql})
	}
	return out, nil
}

// historyFiles makes the maintenance job's history step with its
// statements.
func historyFiles(b *model.Bundle) ([]Instance, error) {
	stmts, err := HistoryStatements(b)
	if err != nil {
		return nil, err
	}
	return []Instance{{Path: "src/maintenance/history.py", Data: struct {
		Bundle     *model.Bundle
		Statements []HistoryStatement
		CloseDays  int
	}{b, stmts, model.HistoryCloseDays}}}, nil
}

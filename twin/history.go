package twin

import (
	"fmt"
	"time"

	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/render"
)

// PersistHistory runs the maintenance job's history step
// (src/maintenance/history.py) at asOf: for each gold fact that keeps its
// closed periods, the same MERGE into its history table, over the gold
// tables the last RunPipeline built.
func (e *Engine) PersistHistory(b *model.Bundle, asOf time.Time) error {
	stmts, err := render.HistoryStatements(b)
	if err != nil {
		return err
	}
	ctx := pipelineContext(b, asOf)
	for _, s := range stmts {
		st, err := Translate(s.SQL, ctx)
		if err != nil {
			return fmt.Errorf("history step for %s: %w", s.Table, err)
		}
		if _, err := e.DB.Exec(st.SQL); err != nil {
			return fmt.Errorf("history step for %s: %w", s.Table, err)
		}
	}
	return nil
}

package model

import "strconv"

// Gold history: how daily, weekly and monthly gold facts outlive the detail
// window.
//
// Every gold table is a materialized view over silver, and silver holds
// retention.detail_days of data (the maintenance job deletes older bronze
// rows, and silver recomputes from what is left). A gold fact whose
// History is set therefore keeps its closed periods in a history table,
// <name>_history:
//
//   - the pipeline declares the history table (HistorySource), so its first
//     update creates it and every later one keeps its rows;
//   - the maintenance job's first task (templates/maintenance/history.py.tmpl)
//     inserts the periods that closed since its last run, read from the gold
//     view itself: a period is closed once HistoryCloseDays have passed
//     after its last day, so late billing, RESTATEMENT corrections and
//     repairs are in;
//   - the gold view is the history table's rows plus its live computation
//     for the periods after the newest kept one: dashboards and alerts read
//     one table per fact, with its whole history;
//   - the retention task deletes history rows older than
//     retention.aggregate_days.

// LayerHistory is the layer of the history tables.
const LayerHistory = "history"

// HistorySource is the pipeline source that declares every history table.
const HistorySource = "src/pipeline/gold/history.py"

// HistoryCloseDays is how many days after a period's last local day it is
// closed and kept. Billing ORIGINAL rows arrive up to about 12 hours late
// and RETRACTION/RESTATEMENT corrections 24 to 48 hours late (the twin's
// documented worst case, twin.DefaultLateness); a repair usually follows a
// failed run within days. A week covers both with room; a period still
// inside it is recomputed from silver at every refresh. A period is kept
// only while silver still holds all of it, so with retention.detail_days D
// a month can be kept on the days from HistoryCloseDays after its end to
// D - 2 days after its start: about 50 days at the default D = 90, none
// below D = 40.
const HistoryCloseDays = 7

// HistoryTables are the history tables of the gold facts that keep their
// closed periods, in the order of PipelineTables: the same columns, keys
// and date column as the fact.
func HistoryTables() []PipelineTable {
	var out []PipelineTable
	for _, t := range PipelineTables() {
		if t.History == "" {
			continue
		}
		h := t
		h.Name = HistoryName(t.Name)
		h.Layer = LayerHistory
		h.Comment = "Closed " + t.History + "s of " + t.Name + " (" + strconv.Itoa(HistoryCloseDays) + " days after their last day), kept for retention.aggregate_days; " + t.Name + " reads them back."
		h.Columns = append([]Column(nil), t.Columns...)
		out = append(out, h)
	}
	return out
}

// HistoryName is the history table of a gold fact.
func HistoryName(gold string) string { return gold + "_history" }

// HistoryTableByName returns the named history table.
func HistoryTableByName(name string) (PipelineTable, bool) {
	for _, t := range HistoryTables() {
		if t.Name == name {
			return t, true
		}
	}
	return PipelineTable{}, false
}

// HistoryCloseDays is HistoryCloseDays, for the templates.
func (b *Bundle) HistoryCloseDays() int { return HistoryCloseDays }

// HistorySource is HistorySource, for the templates.
func (b *Bundle) HistorySource() string { return HistorySource }

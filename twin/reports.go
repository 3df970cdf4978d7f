package twin

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dbmon/dbmon/generator/dashboard"
	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/render"
)

// ReportCopy is what one e-mail of a report would show: every dataset of
// its dashboard as the dashboard task refreshes it, with the task's filters
// applied the way Databricks applies them, to the filter widgets whose URL
// identifier (f_<page>~<widget>) is a filter key.
type ReportCopy struct {
	Report      string
	Dashboard   string
	Cron        string // Quartz, in Timezone
	Timezone    string
	Task        string
	Team        string // "" for a copy over every team
	Subscribers []model.Subscriber
	Datasets    []ReportDataset // dashboard order
}

// ReportDataset is one dataset of a report copy.
type ReportDataset struct {
	Name, DisplayName string
	// Filtered names the column a task filter restricted; "" when the
	// dataset shows every team.
	Filtered string
	Columns  []string
	Rows     [][]any
}

// ReportCopies runs every report of the bundle on the built tables: for each
// dashboard task, each dataset of the report's dashboard (from files, the
// generated .lvdash.json), filtered by the task's filters. A filter key
// that names no filter widget of the dashboard is an error: Databricks
// would ignore it and mail every team's data.
func (e *Engine) ReportCopies(b *model.Bundle, files []render.File) ([]ReportCopy, error) {
	var out []ReportCopy
	for _, r := range b.Reports {
		d, err := dashboardFile(files, r.Dashboard)
		if err != nil {
			return nil, fmt.Errorf("report %s: %w", r.Name, err)
		}
		filters := urlFilters(d)
		// Every copy refreshes the same datasets; run each once.
		results := make([]struct {
			cols []string
			rows [][]any
		}, len(d.Datasets))
		for i, ds := range d.Datasets {
			if results[i].cols, results[i].rows, err = e.queryColumns(strings.Join(ds.QueryLines, "")); err != nil {
				return nil, fmt.Errorf("report %s: dataset %s: %w", r.Name, ds.Name, err)
			}
		}
		for _, t := range r.Tasks {
			c := ReportCopy{Report: r.Name, Dashboard: r.Dashboard, Cron: r.Job.Cron, Timezone: r.Job.Timezone, Task: t.Key, Team: t.Team, Subscribers: t.Subscribers}
			// dataset name -> column -> allowed values
			keep := map[string]map[string][]string{}
			for _, f := range t.Filters {
				targets, ok := filters[f.Key]
				if !ok {
					return nil, fmt.Errorf("report %s task %s: filter %s matches no filter of dashboard %s (it has %s)",
						r.Name, t.Key, f.Key, r.Dashboard, strings.Join(slices.Sorted(maps.Keys(filters)), ", "))
				}
				var values []string
				if err := json.Unmarshal([]byte(f.Value), &values); err != nil {
					return nil, fmt.Errorf("report %s task %s: filter %s: a multi-select filter takes a JSON array of strings: %w", r.Name, t.Key, f.Key, err)
				}
				for ds, col := range targets {
					if keep[ds] == nil {
						keep[ds] = map[string][]string{}
					}
					keep[ds][col] = values
				}
			}
			for i, ds := range d.Datasets {
				rd := ReportDataset{Name: ds.Name, DisplayName: ds.DisplayName, Columns: results[i].cols, Rows: results[i].rows}
				for col, values := range keep[ds.Name] {
					j := slices.Index(rd.Columns, col)
					if j < 0 {
						return nil, fmt.Errorf("report %s: dataset %s has no column %s for its filter", r.Name, ds.Name, col)
					}
					rd.Filtered = col
					var kept [][]any // a new slice: the unfiltered rows are shared by every copy
					for _, row := range rd.Rows {
						if s, ok := row[j].(string); ok && slices.Contains(values, s) {
							kept = append(kept, row)
						}
					}
					rd.Rows = kept
				}
				c.Datasets = append(c.Datasets, rd)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// dashboardFile parses the generated dashboard of that name.
func dashboardFile(files []render.File, name string) (*dashboard.Dashboard, error) {
	path := dashboard.Path(name)
	for _, f := range files {
		if f.Path == path {
			var d dashboard.Dashboard
			if err := json.Unmarshal(f.Data, &d); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			return &d, nil
		}
	}
	return nil, fmt.Errorf("dashboard %s is not generated (no %s)", name, path)
}

// urlFilters maps each filter widget's URL identifier, f_<page>~<widget>,
// to the dataset and field each of its queries filters.
func urlFilters(d *dashboard.Dashboard) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, p := range d.Pages {
		for _, it := range p.Layout {
			w := it.Widget
			if w.Spec == nil || !strings.HasPrefix(w.Spec.WidgetType, "filter-") {
				continue
			}
			targets := map[string]string{}
			for _, f := range w.Spec.Encodings.Fields {
				for _, q := range w.Queries {
					if q.Name == f.QueryName {
						targets[q.Query.DatasetName] = f.FieldName
					}
				}
			}
			out["f_"+p.Name+"~"+w.Name] = targets
		}
	}
	return out
}

// queryColumns is Query with the result's column names.
func (e *Engine) queryColumns(databricksSQL string) ([]string, [][]any, error) {
	st, err := Translate(databricksSQL, Context{AsOf: e.AsOf})
	if err != nil {
		return nil, nil, err
	}
	res, _ := e.queryAll(st.Query)
	return res.Columns, res.Rows, res.Err
}

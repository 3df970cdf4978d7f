package preview

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/dbmon/dbmon/generator/render"
)

// Reconciliation shows that dbmon's cost adds up to the bill and where it
// differs from Databricks' published job-cost query. Amounts are list cost
// in Currency (USD list prices times ExchangeRate).
type Reconciliation struct {
	Currency     string  `json:"currency"`
	ExchangeRate float64 `json:"exchange_rate"`
	// UsageRecords and UsageCostList are the bill straight from
	// bronze_billing_usage x bronze_list_prices.
	UsageRecords        int64   `json:"usage_records"`
	UsageCostList       float64 `json:"usage_cost_list"`
	AllocatedCostList   float64 `json:"allocated_cost_list"`    // Σ cost_allocated.cost_list
	ByWorkspaceCostList float64 `json:"by_workspace_cost_list"` // Σ cost_by_workspace.cost_list
	// ByMethod is cost_allocated.cost_list per allocation_method.
	ByMethod map[string]float64  `json:"by_method"`
	Jobs     []JobReconciliation `json:"jobs"`
	// Failures lists every total that differs from the bill by a cent or
	// more; empty when everything reconciles.
	Failures []string `json:"failures"`
}

// JobReconciliation is one job's cost in dbmon beside the published query.
type JobReconciliation struct {
	WorkspaceID      string  `json:"workspace_id"`
	JobID            string  `json:"job_id"`
	DbmonCostList    float64 `json:"dbmon_cost_list"`
	DbmonCostNet     float64 `json:"dbmon_cost_net"`
	OfficialCostList float64 `json:"official_cost_list"`
	// Causes names every reason the figures differ: apportioned, pipeline
	// and warehouse (usage the published query leaves out), price choice
	// (the rest of the list-cost difference: effective_list against
	// default, the currency_code condition, non-JOBS SKUs) and discount
	// (dbmon's net cost, which the dashboards show, differs from list).
	Causes []string `json:"causes"`
	// Differences is the amount behind each cause.
	Differences map[string]float64 `json:"differences"`
}

// cent is the tolerance of every comparison: half a cent.
const cent = 0.005

// Reconcile runs the reconciliation on the built tables.
func (r *Report) Reconcile() (*Reconciliation, error) {
	qs, err := render.ReconcileQueries(r.bundle, "")
	if err != nil {
		return nil, err
	}
	p := r.bundle.Monitor.Pricing
	rec := &Reconciliation{Currency: p.Currency, ExchangeRate: p.ExchangeRate, ByMethod: map[string]float64{},
		Jobs: []JobReconciliation{}, Failures: []string{}}
	rows, err := r.Engine.Query(qs["usage_cost"])
	if err != nil {
		return nil, fmt.Errorf("usage cost: %w", err)
	}
	rec.UsageCostList, rec.UsageRecords = num(rows[0][0]), int64(num(rows[0][1]))
	if rec.AllocatedCostList, err = r.total("SELECT coalesce(sum(cost_list), 0) FROM cost_allocated"); err != nil {
		return nil, err
	}
	if rec.ByWorkspaceCostList, err = r.total("SELECT coalesce(sum(cost_list), 0) FROM cost_by_workspace"); err != nil {
		return nil, err
	}
	methods, err := r.Engine.Query("SELECT allocation_method, coalesce(sum(cost_list), 0) FROM cost_allocated GROUP BY allocation_method")
	if err != nil {
		return nil, err
	}
	for _, m := range methods {
		rec.ByMethod[str(m[0])] = num(m[1])
	}
	for _, t := range []struct {
		name string
		v    float64
	}{{"allocated_cost_list", rec.AllocatedCostList}, {"by_workspace_cost_list", rec.ByWorkspaceCostList}} {
		if math.Abs(t.v-rec.UsageCostList) >= cent {
			rec.Failures = append(rec.Failures, fmt.Sprintf("%s %.2f differs from usage_cost_list %.2f by %.2f",
				t.name, t.v, rec.UsageCostList, t.v-rec.UsageCostList))
		}
	}
	if rec.Jobs, err = r.reconcileJobs(qs["official_job_cost"]); err != nil {
		return nil, err
	}
	return rec, nil
}

func (r *Report) total(sql string) (float64, error) {
	rows, err := r.Engine.Query(sql)
	if err != nil {
		return 0, err
	}
	return num(rows[0][0]), nil
}

func (r *Report) reconcileJobs(officialSQL string) ([]JobReconciliation, error) {
	type key struct{ ws, job string }
	jobs := map[key]*JobReconciliation{}
	get := func(ws, job string) *JobReconciliation {
		k := key{ws, job}
		if jobs[k] == nil {
			jobs[k] = &JobReconciliation{WorkspaceID: ws, JobID: job, Causes: []string{}, Differences: map[string]float64{}}
		}
		return jobs[k]
	}
	own, err := r.Engine.Query(`SELECT workspace_id, job_id, allocation_method, sum(cost_list), sum(cost_net)
FROM cost_allocated WHERE job_id IS NOT NULL GROUP BY workspace_id, job_id, allocation_method`)
	if err != nil {
		return nil, err
	}
	byMethod := map[key]map[string]float64{}
	for _, row := range own {
		j := get(str(row[0]), str(row[1]))
		j.DbmonCostList += num(row[3])
		j.DbmonCostNet += num(row[4])
		k := key{j.WorkspaceID, j.JobID}
		if byMethod[k] == nil {
			byMethod[k] = map[string]float64{}
		}
		byMethod[k][str(row[2])] += num(row[3])
	}
	official, err := r.Engine.Query(officialSQL)
	if err != nil {
		return nil, fmt.Errorf("official job cost query: %w", err)
	}
	for _, row := range official {
		get(str(row[0]), str(row[1])).OfficialCostList += num(row[2])
	}
	out := make([]JobReconciliation, 0, len(jobs))
	for k, j := range jobs {
		m := byMethod[k]
		// The published query sees only the job's own usage; what dbmon
		// adds from shared compute and pipelines is named by method, the
		// rest of the gap is the price the two choose.
		parts := map[string]float64{
			"apportioned":  m["apportioned"],
			"pipeline":     m["pipeline"],
			"warehouse":    m["warehouse"],
			"price choice": m["direct"] + m["serverless"] - j.OfficialCostList,
			"discount":     j.DbmonCostNet - j.DbmonCostList,
		}
		for _, c := range []string{"apportioned", "pipeline", "warehouse", "price choice", "discount"} {
			if math.Abs(parts[c]) >= cent {
				j.Causes = append(j.Causes, c)
				j.Differences[c] = parts[c]
			}
		}
		out = append(out, *j)
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].WorkspaceID != out[b].WorkspaceID {
			return out[a].WorkspaceID < out[b].WorkspaceID
		}
		return out[a].JobID < out[b].JobID
	})
	return out, nil
}

// Print writes the reconciliation: the totals, the share of every method
// and the jobs whose cost differs most from the published query.
func (rec *Reconciliation) Print(w io.Writer) {
	fmt.Fprintf(w, "\nReconciliation (list cost, %s; %g %s per USD)\n", rec.Currency, rec.ExchangeRate, rec.Currency)
	fmt.Fprintf(w, "  usage x list prices (bronze): %14.2f  (%d records)\n", rec.UsageCostList, rec.UsageRecords)
	fmt.Fprintf(w, "  cost_allocated:               %14.2f\n", rec.AllocatedCostList)
	fmt.Fprintf(w, "  cost_by_workspace:            %14.2f\n", rec.ByWorkspaceCostList)
	methods := make([]string, 0, len(rec.ByMethod))
	for m := range rec.ByMethod {
		methods = append(methods, m)
	}
	sort.Strings(methods)
	for _, m := range methods {
		share := 0.0
		if rec.AllocatedCostList != 0 {
			share = 100 * rec.ByMethod[m] / rec.AllocatedCostList
		}
		fmt.Fprintf(w, "    %-14s %14.2f  %5.1f%%\n", m, rec.ByMethod[m], share)
	}
	differ := []JobReconciliation{}
	for _, j := range rec.Jobs {
		if math.Abs(j.DbmonCostList-j.OfficialCostList) >= cent {
			differ = append(differ, j)
		}
	}
	fmt.Fprintf(w, "  jobs: %d, %d differ from Databricks' job-cost query\n", len(rec.Jobs), len(differ))
	sort.SliceStable(differ, func(a, b int) bool {
		return math.Abs(differ[a].DbmonCostList-differ[a].OfficialCostList) > math.Abs(differ[b].DbmonCostList-differ[b].OfficialCostList)
	})
	for i, j := range differ {
		if i == 10 {
			fmt.Fprintf(w, "    ... %d more in reconcile.json\n", len(differ)-10)
			break
		}
		fmt.Fprintf(w, "    %s/%s dbmon %.2f official %.2f: %s\n", j.WorkspaceID, j.JobID, j.DbmonCostList, j.OfficialCostList, strings.Join(j.Causes, ", "))
	}
	if len(rec.Failures) == 0 {
		fmt.Fprintln(w, "  ✓ every usage record is allocated exactly once: the totals agree to the cent")
	}
	for _, f := range rec.Failures {
		fmt.Fprintln(w, "  ✗ "+f)
	}
}

// Export writes reconcile.json into dir.
func (rec *Reconciliation) Export(dir string) error { return writeJSON(dir, "reconcile.json", rec) }

func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case float32:
		return float64(x)
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case int:
		return float64(x)
	}
	return 0
}

func str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

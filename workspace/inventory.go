package workspace

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/databricks/databricks-sdk-go"
	"github.com/databricks/databricks-sdk-go/service/jobs"
	"github.com/databricks/databricks-sdk-go/service/sql"
)

// Inventory is what Import reads from a workspace.
type Inventory struct {
	Host        string
	WorkspaceID string
	// DefaultCatalog is the metastore's default catalog for the workspace,
	// empty when it could not be read.
	DefaultCatalog string
	Warehouses     []sql.EndpointInfo
	Jobs           []Job
	// Runs holds the finished runs of each listed job that started in the
	// window, oldest first.
	Runs map[int64][]Run
	// RunCount counts every finished run listed in the window, including
	// runs of jobs that no longer exist.
	RunCount int
	Days     int
	Now      time.Time
}

// Run is one finished job run.
type Run struct {
	ID       int64
	Start    time.Time
	End      time.Time
	Duration time.Duration
	// Success is a run that ended SUCCESS (the system tables' SUCCEEDED);
	// every other result, cancellations included, counts against the
	// success rate, as in the monitor's sla_compliance table.
	Success bool
}

// Collect lists every job and the finished runs that started in the last
// days days, following page tokens. The metastore's default catalog and the
// warehouses are looked up too, for the proposal's placeholders; failing to
// read them is not an error.
func Collect(ctx context.Context, w *databricks.WorkspaceClient, days int, now time.Time) (*Inventory, error) {
	host := w.Config.Host
	inv := &Inventory{Host: host, WorkspaceID: w.Config.WorkspaceID, Days: days, Now: now, Runs: map[int64][]Run{}}
	if ma, err := w.Metastores.Current(ctx); err == nil {
		inv.DefaultCatalog = ma.DefaultCatalogName
		if ma.WorkspaceId != 0 {
			inv.WorkspaceID = strconv.FormatInt(ma.WorkspaceId, 10)
		}
	} else if ce := fatal(host, err); ce != nil {
		return nil, ce
	}
	js, err := listJobs(ctx, w, inv.WorkspaceID)
	if err != nil {
		if ce := fatal(host, err); ce != nil {
			return nil, ce
		}
		return nil, err
	}
	inv.Jobs = js
	since := now.AddDate(0, 0, -days)
	// One listing of all jobs' runs: far fewer requests than one per job.
	// limit=0 asks for the service's maximum page size (25).
	runs, err := w.Jobs.ListRunsAll(ctx, jobs.ListRunsRequest{
		StartTimeFrom:   since.UnixMilli(),
		CompletedOnly:   true,
		ForceSendFields: []string{"Limit"},
	})
	if err != nil {
		if ce := fatal(host, err); ce != nil {
			return nil, ce
		}
		return nil, err
	}
	known := map[int64]bool{}
	for _, j := range js {
		known[j.ID] = true
	}
	for _, r := range runs {
		run, ok := runFromAPI(r)
		if !ok || run.Start.Before(since) {
			continue
		}
		inv.RunCount++
		if known[r.JobId] {
			inv.Runs[r.JobId] = append(inv.Runs[r.JobId], run)
		}
	}
	for id := range inv.Runs {
		rs := inv.Runs[id]
		sort.Slice(rs, func(i, k int) bool { return rs[i].Start.Before(rs[k].Start) })
	}
	if whs, err := w.Warehouses.ListAll(ctx, sql.ListWarehousesRequest{}); err == nil {
		inv.Warehouses = whs
	}
	return inv, nil
}

// runFromAPI reads a finished run; ok is false for a run without a result.
func runFromAPI(r jobs.BaseRun) (Run, bool) {
	if r.EndTime == 0 || r.StartTime == 0 {
		return Run{}, false
	}
	var result string
	if r.Status != nil && r.Status.TerminationDetails != nil {
		result = string(r.Status.TerminationDetails.Code)
	} else if r.State != nil {
		result = string(r.State.ResultState)
	}
	if result == "" {
		return Run{}, false
	}
	run := Run{ID: r.RunId, Start: time.UnixMilli(r.StartTime).UTC(), End: time.UnixMilli(r.EndTime).UTC(), Success: result == "SUCCESS"}
	// run_duration covers multitask runs (and repairs); single-task runs of
	// the older format report setup, execution and cleanup instead.
	switch {
	case r.RunDuration > 0:
		run.Duration = time.Duration(r.RunDuration) * time.Millisecond
	case r.SetupDuration+r.ExecutionDuration+r.CleanupDuration > 0:
		run.Duration = time.Duration(r.SetupDuration+r.ExecutionDuration+r.CleanupDuration) * time.Millisecond
	default:
		run.Duration = run.End.Sub(run.Start)
	}
	return run, true
}

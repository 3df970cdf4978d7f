// Package synth generates deterministic synthetic Databricks system-table
// rows (lakeflow jobs and runs, billing usage and prices, clusters, node
// utilization, workspaces) shaped by a dbmon spec: jobs belong to the spec's
// teams, the jobs its SLAs select exist and keep their SLAs, and team costs
// sit at half their budgets. On request it injects one incident per alert
// family, and a run still running past its SLA's max_duration, and returns
// them, so tests can assert that the generated monitoring logic detects
// exactly those incidents and nothing else. With them come two cases that
// must page nobody: a deadline job's run that succeeds 5 minutes before its
// deadline (the SLA day before the miss; a replay can delay its timeline
// row), and a repaired run of the max_duration job whose first attempt is
// within the limit but whose repair ends past it.
//
// The clean data is designed against the detectors' exact definitions:
// durations and costs vary by a bounded ±10% (never a long-tailed
// distribution), failures and repairs happen only more than three days
// before AsOf, and all-purpose clusters idle at most a few minutes a day.
//
// Rows are streamed to a Sink as they are made; nothing is kept per row.
// node_timeline, the bulk of the data, is streamed as one plan row per
// cluster session that the Sink expands (see Sink and nodeExpansion). synth
// depends on the table declarations of package model, never on an engine.
package synth

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/dbmon/dbmon/generator/spec"
)

// Config sizes and seeds one synthetic dataset.
type Config struct {
	Seed             int64
	Jobs             int       // number of jobs (default 60 when 0)
	Days             int       // days of history ending at AsOf (default 45 when 0)
	AsOf             time.Time // "now" (UTC); nothing is generated after it
	NodeGrainMinutes int       // node_timeline row length in minutes: 1 (default, the real grain) or coarser (e.g. 60) for big runs
	Incidents        bool      // inject the incidents below; false = a clean dataset
	// QuietDays is how many days before AsOf carry no noise (random
	// failures, repairs, billing corrections); 0 means 3, the detectors'
	// lookback. A replay over N days needs N plus the detectors' lookback.
	QuietDays int
}

// Incident is one injected anomaly and the alert family meant to detect it.
type Incident struct {
	Kind        string    `json:"kind"`                   // sla_deadline_miss | failure_streak | cost_spike | idle_cluster | duration_outlier | budget_overrun | run_past_max_duration
	Family      string    `json:"family"`                 // the alert family meant to detect it: sla_breach | job_failure | cost_anomaly | cluster_idle | duration_anomaly | budget
	WorkspaceID string    `json:"workspace_id,omitempty"` // "" for budget_overrun (a team spans workspaces)
	JobID       string    `json:"job_id,omitempty"`       // "" when not about a job
	JobName     string    `json:"job_name,omitempty"`
	ClusterID   string    `json:"cluster_id,omitempty"` // idle_cluster only
	Team        string    `json:"team"`                 // owning team (per the spec's team rules)
	SLA         string    `json:"sla,omitempty"`        // sla_deadline_miss and run_past_max_duration only
	Date        time.Time `json:"date"`                 // local date (spec timezone) of the incident, midnight UTC-labelled civil date
	At          time.Time `json:"at"`                   // when it happened (UTC): the deadline missed, a run's end, the spike's last hour, the idle session's start, the end of the budget day
	Runs        []RunRef  `json:"runs,omitempty"`       // the runs that show it (a streak's failed runs, the long or hung run)
	Detail      string    `json:"detail"`               // one human sentence
}

// RunRef is one job run of an incident: its id and when it ended (for a
// run still running at AsOf, when it broke its limit).
type RunRef struct {
	ID  string    `json:"id"`
	End time.Time `json:"end"`
}

// Table names the generator writes.
const (
	tJobs        = "system.lakeflow.jobs"
	tJobTasks    = "system.lakeflow.job_tasks"
	tRunTimeline = "system.lakeflow.job_run_timeline"
	tTaskTimline = "system.lakeflow.job_task_run_timeline"
	tUsage       = "system.billing.usage"
	tPrices      = "system.billing.list_prices"
	tClusters    = "system.compute.clusters"
	tNodes       = "system.compute.node_timeline"
	tWorkspaces  = "system.access.workspaces_latest"

	tPipelineUpdates = "system.lakeflow.pipeline_update_timeline"
)

// Incident kinds in the order they are returned.
var incidentKinds = []string{"sla_deadline_miss", "failure_streak", "cost_spike", "idle_cluster", "duration_outlier", "budget_overrun", "run_past_max_duration"}

const accountID = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"

// newColumnsFrom is when Databricks began populating the newer columns
// (trigger, run_as_user_name, durations, ...); older rows carry NULL.
var newColumnsFrom = time.Date(2025, 11, 25, 0, 0, 0, 0, time.UTC)

// quietAge is how old a failure or repair must be: the detectors look at the
// last 24 hours (failures, durations), yesterday (cost) and the last 7 days
// (SLAs), and noise must trip none of them.
const quietAge = 72 * time.Hour

// quiet is how old noise must be: Config.QuietDays, at least quietAge.
func (g *gen) quiet() time.Duration {
	return max(quietAge, time.Duration(g.cfg.QuietDays)*24*time.Hour)
}

type gen struct {
	s    *spec.Spec
	cfg  Config
	sink Sink
	r    *rules
	loc  *time.Location

	asOf  time.Time // UTC
	today time.Time // AsOf's local date, UTC-labelled
	first time.Time // first local date of history
	start time.Time // local midnight of first
	grain time.Duration

	rng   *rand.Rand // planning draws, in plan order
	noise *rand.Rand // cosmetic row values, in emit order

	ws       []workspace
	jobs     []*job
	clusters []*sharedCluster
	domain   string
	region   string
	prices   map[string][]price

	minDailyCost float64
	usedNames    map[string]bool
	incidents    []Incident
	longRun      *job      // the job of run_past_max_duration and of the repaired run (runs.go)
	newJob       *job      // budget_overrun: the job that first runs on newFrom (compute.go)
	newFrom      time.Time // local midnight (UTC) of the budget overrun's day
	records      uint64
	nodePlans    int64 // node_timeline session plans so far
	chunk        []any // rows are carved from here: one allocation per many rows
	err          error
}

// Generate streams a dataset to sink and returns the incidents it injected
// (none unless cfg.Incidents). The same spec and Config always produce the
// same rows in the same order.
func Generate(s *spec.Spec, cfg Config, sink Sink) ([]Incident, error) {
	if sink == nil {
		return nil, errors.New("synth: nil sink")
	}
	g, err := plan(s, cfg)
	if err != nil {
		return nil, err
	}
	g.sink = sink
	for _, p := range Plans {
		if err := sink.Plan(p.Name, p.Columns); err != nil {
			return nil, fmt.Errorf("synth: sink: plan %s: %w", p.Name, err)
		}
	}
	g.emitStatic()
	for _, j := range g.jobs {
		if g.err != nil {
			break
		}
		g.emitJob(j)
	}
	for _, c := range g.clusters {
		if g.err != nil {
			break
		}
		g.emitShared(c)
	}
	if g.err == nil {
		g.emitOwn() // last: it must not move any other row (monitor.go)
	}
	if g.err != nil {
		return nil, g.err
	}
	if err := sink.Expand(tNodes, nodeExpansion); err != nil {
		return nil, fmt.Errorf("synth: sink: expand %s: %w", tNodes, err)
	}
	slices.SortStableFunc(g.incidents, func(a, b Incident) int {
		return slices.Index(incidentKinds, a.Kind) - slices.Index(incidentKinds, b.Kind)
	})
	return g.incidents, nil
}

// plan validates the config and decides everything but the rows: jobs,
// schedules, clusters and budget scales.
func plan(s *spec.Spec, cfg Config) (*gen, error) {
	if s == nil {
		return nil, errors.New("synth: nil spec")
	}
	if cfg.AsOf.IsZero() {
		return nil, errors.New("synth: Config.AsOf is required (the generator never reads the clock)")
	}
	if cfg.Jobs == 0 {
		cfg.Jobs = 60
	}
	if cfg.Days == 0 {
		cfg.Days = 45
	}
	if cfg.NodeGrainMinutes == 0 {
		cfg.NodeGrainMinutes = 1
	}
	switch {
	case cfg.Jobs < 0 || cfg.Jobs > 90_000:
		return nil, fmt.Errorf("synth: Jobs must be between 1 and 90000, got %d", cfg.Jobs)
	case cfg.Days < 0 || cfg.Days > 3650:
		return nil, fmt.Errorf("synth: Days must be between 1 and 3650, got %d", cfg.Days)
	case cfg.NodeGrainMinutes < 0 || cfg.NodeGrainMinutes > 1440:
		return nil, fmt.Errorf("synth: NodeGrainMinutes must be between 1 and 1440, got %d", cfg.NodeGrainMinutes)
	}
	r, err := newRules(s)
	if err != nil {
		return nil, fmt.Errorf("synth: %v", err)
	}
	tz := s.Bundle.Timezone
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("synth: timezone: %v", err)
	}
	g := &gen{s: s, cfg: cfg, r: r, loc: loc, asOf: cfg.AsOf.UTC(),
		grain:     time.Duration(cfg.NodeGrainMinutes) * time.Minute,
		rng:       rand.New(rand.NewPCG(uint64(cfg.Seed), 0x706c616e)),
		noise:     rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6e6f6973)),
		usedNames: map[string]bool{}}
	g.today = g.date(g.asOf)
	g.first = g.today.AddDate(0, 0, -cfg.Days)
	g.start = g.at(g.first, 0, 0)
	if a := s.Alerts.CostAnomaly; a != nil && a.MinDailyCost != nil {
		g.minDailyCost = *a.MinDailyCost
	}

	g.planWorkspaces()
	g.planPrices()
	g.planJobs()
	g.pickLongRun()
	g.scaleBudgets()
	return g, nil
}

// row returns a row of table, all NULL, for the caller to fill by column
// position (see bind). Rows are carved from a shared chunk with capped
// capacity, so a sink that appends to a row cannot touch the next.
func (g *gen) row(table string) []any {
	n := width[table]
	if len(g.chunk) < n {
		g.chunk = make([]any, 2048) // 32 KiB: still a small, lock-free allocation
	}
	r := g.chunk[:n:n]
	g.chunk = g.chunk[n:]
	return r
}

// emit hands a row made by g.row to the sink; the first error stops the
// generation.
func (g *gen) emit(table string, row []any) {
	if g.err != nil {
		return
	}
	if err := g.sink.Append(table, row); err != nil {
		g.err = fmt.Errorf("synth: sink: %s: %w", table, err)
	}
}

// date is t's local calendar date, labelled UTC midnight.
func (g *gen) date(t time.Time) time.Time {
	l := t.In(g.loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
}

// at is the instant of local wall time h:m on civil date d (DST-correct).
func (g *gen) at(d time.Time, h, m int) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), h, m, 0, 0, g.loc).UTC()
}

// atOffset is local midnight of d plus a wall-clock offset such as a deadline.
func (g *gen) atOffset(d time.Time, off time.Duration) time.Time {
	return g.at(d, int(off/time.Hour), int(off%time.Hour/time.Minute))
}

func utcDate(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// newCols returns v on rows from when Databricks populates the newer
// columns, NULL before.
func newCols(at time.Time, v any) any {
	if at.Before(newColumnsFrom) {
		return nil
	}
	return v
}

func overlap(a0, a1, b0, b1 time.Time) time.Duration {
	s, e := maxTime(a0, b0), minTime(a1, b1)
	if e.After(s) {
		return e.Sub(s)
	}
	return 0
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// hourSlices calls f for each piece of [s, e) cut at clock hours, the way
// the lakeflow timelines slice runs; last marks the final piece.
func hourSlices(s, e time.Time, f func(s, e time.Time, last bool)) {
	for s.Before(e) {
		next := minTime(s.Truncate(time.Hour).Add(time.Hour), e)
		f(s, next, !next.Before(e))
		s = next
	}
}

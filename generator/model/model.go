package model

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dbmon/dbmon/generator/spec"
)

// Bundle is everything the templates render.
type Bundle struct {
	Name        string // bundle name
	Key         string // resource-key form of the name: [a-z0-9_]
	Catalog     string
	Schema      string
	Warehouse   string // warehouse name for a lookup variable; empty when WarehouseID is set
	WarehouseID string
	Timezone    string
	Targets     []Target
	Workspaces  []Workspace
	Pipeline    Pipeline
	RefreshJob  Job
	// CollectorJob runs the Jobs API collector on collector.schedule; nil
	// when the collector is disabled. The refresh job also collects right
	// before each refresh, so failure classes see fresh error text.
	CollectorJob *Job
	// MaintenanceJob applies retention once a day to the tables the
	// pipeline's queries cannot trim (bronze streaming tables, the
	// collector's table).
	MaintenanceJob Job
	Bronze         []BronzeTable
	Teams          []Team
	Unassigned     string
	Retention      Retention
	Collector      Collector
	Dashboards     []string
	Monitor        Monitor
	Tables         []PipelineTable // silver and gold
	History        []PipelineTable // the gold facts' history tables (history.go)
	Alerts         []Alert         // sorted by key
	Reports        []Report        // spec order
	Footprint      Footprint       // the monitor's own cost and freshness (footprint.go)
}

// Target is a deployment target.
type Target struct {
	Name        string
	Mode        string // development | production
	Default     bool
	Host        string
	RootPath    string
	RunAs       *spec.RunAs
	Permissions []spec.Permission
	// Grants are the Unity Catalog privileges this target grants on the
	// monitoring schema: what its run_as identity needs to run the monitor,
	// and read access for everyone its permissions name. Empty when the
	// deploying identity, which owns the schema it creates, runs everything
	// and nobody else is named.
	Grants []Grant
}

// Grant is one principal's privileges on the monitoring schema.
type Grant struct {
	Principal  string
	Privileges []string
}

// RunAsPrivileges are what a run_as identity other than the schema's owner
// (the deploying identity) needs on the monitoring schema, and no more:
// USE_SCHEMA to reach it; CREATE_TABLE for the bronze streaming tables and
// the collector's table; CREATE_MATERIALIZED_VIEW for the bronze, silver
// and gold materialized views; SELECT and MODIFY because the collector's
// MERGE, the maintenance job's DELETE and OPTIMIZE and the alerts' queries
// must work on tables another identity may own (the pipeline's tables
// belong to the pipeline's owner; tables of a deployment made before
// run_as was set belong to whoever made it). USE CATALOG and the system
// tables are granted outside the bundle (see the bundle's README).
var RunAsPrivileges = []string{"USE_SCHEMA", "CREATE_TABLE", "CREATE_MATERIALIZED_VIEW", "SELECT", "MODIFY"}

// ReaderPrivileges let a principal of a target's permissions read the
// monitoring tables, which the dashboards (embed_credentials: false) query
// as the viewer.
var ReaderPrivileges = []string{"USE_SCHEMA", "SELECT"}

// Workspace is a monitored workspace. Host and TokenSecret ("scope/key") are
// set for a workspace the collector polls remotely (hub and spoke).
type Workspace struct {
	ID, Name          string
	Host, TokenSecret string
}

// Team is an owning team, in match order.
type Team struct {
	Name          string
	Notify        []string
	MonthlyBudget *float64
}

// Retention holds the resolved retention windows, in days.
type Retention struct {
	DetailDays, AggregateDays int
}

// Collector holds the resolved Jobs API collector settings.
type Collector struct {
	Enabled bool
	Cron    string
	// LookbackDays is how far back each poll looks for failed task runs
	// not stored yet: collector.lookback_days, at most retention.detail_days
	// (bronze holds no older task runs).
	LookbackDays int
}

// Pipeline is the Lakeflow declarative pipeline that builds every table.
type Pipeline struct {
	Key           string
	Name          string
	Configuration []KV // sorted by key
	Tags          []KV // sorted by key (footprint.go)
}

// KV is one key/value pair, kept as a sorted slice so output is deterministic.
type KV struct{ Key, Value string }

// Job is a Workflows job.
type Job struct {
	Key            string
	Name           string
	Cron           string
	Timezone       string
	TimeoutSeconds int
	// HealthSeconds is the RUN_DURATION_SECONDS health rule: a run longer
	// than this warns Notify before the timeout kills it.
	HealthSeconds int
	Notify        Notification // the job's own failures and slow runs
	Tags          []KV
	// CollectTask is the Jobs API collection task, nil when the job has
	// none; MainTask runs after it (the pipeline refresh, the retention
	// script), nil when collection is all the job does.
	CollectTask *Task
	MainTask    *Task
	// HistoryTask keeps the gold facts' closed periods (history.go) before
	// MainTask; only the maintenance job has one, so retention never
	// deletes detail that a period still needs.
	HistoryTask *Task
}

// Task is the timeout and retry policy of one job task. The job's timeout
// must cover the whole chain of its tasks at their worst, or the job is
// killed while a task still has retries left.
type Task struct {
	TimeoutSeconds         int // one attempt
	MaxRetries             int
	MinRetryIntervalMillis int
	RetryOnTimeout         bool
}

// WorstSeconds is the longest the task can take: every attempt runs to its
// timeout, with the minimum wait before each retry.
func (t Task) WorstSeconds() int {
	return t.TimeoutSeconds*(t.MaxRetries+1) + t.MaxRetries*t.MinRetryIntervalMillis/1000
}

// Configuration keys the pipeline sources read. They are set on the pipeline
// resource, so an operator can read the monitor's scope off the pipeline
// settings, and the sources read them instead of repeating literal values.
const (
	ConfWorkspaceIDs = "dbmon.workspace_ids"
	ConfDetailDays   = "dbmon.retention.detail_days"
	ConfAggDays      = "dbmon.retention.aggregate_days"
	ConfTimezone     = "dbmon.timezone"
)

// The defaults of spec v1 are in specDefaults (defaults.go).

var keyUnsafe = regexp.MustCompile(`[^a-z0-9_]+`)

// ResourceKey turns a spec name into a bundle resource key.
func ResourceKey(name string) string {
	return strings.Trim(keyUnsafe.ReplaceAllString(strings.ToLower(name), "_"), "_")
}

// Build resolves a spec that spec.Load accepted. It fails only on a value
// spec.Load should have rejected, which is a bug, so the error says so.
func Build(s *spec.Spec) (*Bundle, error) {
	b := &Bundle{
		Name:        s.Bundle.Name,
		Key:         ResourceKey(s.Bundle.Name),
		Catalog:     s.Bundle.Catalog,
		Schema:      s.Bundle.Schema,
		Warehouse:   s.Bundle.Warehouse,
		WarehouseID: s.Bundle.WarehouseID,
		Timezone:    or(s.Bundle.Timezone, defaultTimezone),
		Unassigned:  or(s.UnassignedTeam, defaultUnassigned),
		Retention: Retention{
			DetailDays:    orInt(s.Retention.DetailDays, defaultDetailDays),
			AggregateDays: orInt(s.Retention.AggregateDays, defaultAggregateDays),
		},
		Dashboards: s.Dashboards,
	}
	if b.Dashboards == nil {
		b.Dashboards = AllDashboards
	}
	b.Targets = buildTargets(s.Bundle.Targets)
	for _, w := range s.Workspaces {
		b.Workspaces = append(b.Workspaces, Workspace{ID: w.ID, Name: w.Name, Host: w.Host, TokenSecret: w.TokenSecret})
	}
	sort.Slice(b.Workspaces, func(i, j int) bool { return b.Workspaces[i].ID < b.Workspaces[j].ID })
	// Teams keep spec order: it is the match order.
	for _, t := range s.Teams {
		b.Teams = append(b.Teams, Team{Name: t.Name, Notify: t.Notify, MonthlyBudget: t.MonthlyBudget})
	}

	collCron, err := spec.ScheduleCron(or(s.Collector.Schedule, defaultCollectorSchedule))
	if err != nil {
		return nil, fmt.Errorf("internal error: collector schedule passed validation but %v", err)
	}
	b.Collector = Collector{
		Enabled:      orBool(s.Collector.Enabled, defaultCollectorEnabled),
		Cron:         collCron,
		LookbackDays: min(orInt(s.Collector.LookbackDays, defaultLookbackDays), b.Retention.DetailDays),
	}

	var ids []string
	for _, w := range b.Workspaces {
		ids = append(ids, w.ID)
	}
	b.Pipeline = Pipeline{
		Key:  b.Key + "_pipeline",
		Name: b.Name + " monitoring pipeline",
		Configuration: []KV{
			{ConfAggDays, strconv.Itoa(b.Retention.AggregateDays)},
			{ConfDetailDays, strconv.Itoa(b.Retention.DetailDays)},
			{ConfTimezone, b.Timezone},
			{ConfWorkspaceIDs, strings.Join(ids, ",")},
		},
		Tags: ownTags(b.Name, ComponentPipeline),
	}

	refresh := or(s.Refresh, defaultRefresh)
	refreshCron, err := spec.ScheduleCron(refresh)
	if err != nil {
		return nil, fmt.Errorf("internal error: refresh schedule passed validation but %v", err)
	}
	b.RefreshJob = Job{
		Key:            b.Key + "_refresh",
		Name:           b.Name + " refresh",
		Cron:           refreshCron,
		Timezone:       b.Timezone,
		TimeoutSeconds: refreshTimeout(refresh),
		Tags:           ownTags(b.Name, ComponentRefresh),
	}
	b.RefreshJob.HealthSeconds = b.RefreshJob.TimeoutSeconds * 3 / 4
	b.RefreshJob.Notify = notification(s, monitorKeys(s))
	// The pipeline gets what collection leaves of the job's timeout, and no
	// task retries: the pipeline retries its own failed flows.
	pipelineTask := &Task{TimeoutSeconds: b.RefreshJob.TimeoutSeconds}
	b.RefreshJob.MainTask = pipelineTask
	b.MaintenanceJob = Job{
		Key:            b.Key + "_maintenance",
		Name:           b.Name + " retention",
		Cron:           "0 30 3 * * ?", // daily, at a quiet hour of the spec's timezone
		Timezone:       b.Timezone,
		TimeoutSeconds: 2 * 60 * 60,
		HealthSeconds:  60 * 60,
		Notify:         b.RefreshJob.Notify,
		Tags:           ownTags(b.Name, ComponentMaintenance),
		// Each task retries once after a wait, the chain inside the job's
		// 2 hours: history 2 x 1,200 s + 60 s, then retention
		// 2 x 2,100 s + 300 s: 6,960 s.
		HistoryTask: &Task{TimeoutSeconds: 1200, MaxRetries: 1, MinRetryIntervalMillis: 60 * 1000},
		MainTask:    &Task{TimeoutSeconds: 2100, MaxRetries: 1, MinRetryIntervalMillis: 5 * 60 * 1000},
	}
	if b.Collector.Enabled {
		b.CollectorJob = &Job{
			Key:            b.Key + "_collector",
			Name:           b.Name + " Jobs API collector",
			Cron:           b.Collector.Cron,
			Timezone:       b.Timezone,
			TimeoutSeconds: 30 * 60,
			HealthSeconds:  15 * 60,
			Notify:         b.RefreshJob.Notify,
			Tags:           ownTags(b.Name, ComponentCollector),
			// Upserts are idempotent and the next scheduled run catches up,
			// so one retry is enough: 2 x 840 s + 60 s = 1,740 s <= 1,800 s.
			CollectTask: &Task{TimeoutSeconds: 840, MaxRetries: 1, MinRetryIntervalMillis: 60 * 1000, RetryOnTimeout: true},
		}
		// Collection before a refresh only freshens error text that the
		// collector job gathers anyway, so it gets a short budget
		// (2 x 300 s + 60 s = 660 s) and the pipeline the rest.
		collect := &Task{TimeoutSeconds: 300, MaxRetries: 1, MinRetryIntervalMillis: 60 * 1000, RetryOnTimeout: true}
		b.RefreshJob.CollectTask = collect
		pipelineTask.TimeoutSeconds -= collect.WorstSeconds()
	}
	b.Bronze = BronzeTables()
	b.Tables = PipelineTables()
	b.History = HistoryTables()
	b.Monitor = buildMonitor(s)
	if err := b.buildAlerts(s); err != nil {
		return nil, err
	}
	if err := b.buildReports(s); err != nil {
		return nil, err
	}
	if err := b.buildFootprint(s); err != nil {
		return nil, err
	}
	return b, nil
}

// refreshTimeout bounds one refresh: its cadence, at least 30 minutes and at
// most 4 hours, so a stuck refresh never overlaps the next one for long.
func refreshTimeout(schedule string) int {
	d, err := time.ParseDuration(schedule)
	if err != nil {
		d = time.Hour // a cron schedule: assume hourly
	}
	d = max(d, 30*time.Minute)
	d = min(d, 4*time.Hour)
	return int(d.Seconds())
}

func buildTargets(in map[string]spec.Target) []Target {
	if len(in) == 0 {
		in = map[string]spec.Target{"dev": {}, "prod": {}}
	}
	var out []Target
	explicitDefault := false
	for name, t := range in {
		mode := t.Mode
		if mode == "" {
			mode = "production"
			if name == "dev" {
				mode = "development"
			}
		}
		def := t.Default != nil && *t.Default
		explicitDefault = explicitDefault || def
		out = append(out, Target{Name: name, Mode: mode, Default: def, Host: t.Host,
			RootPath: t.RootPath, RunAs: t.RunAs, Permissions: t.Permissions})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if !explicitDefault {
		// The dev target, else the first development target, else the first.
		pick := 0
		for i, t := range out {
			if t.Name == "dev" {
				pick = i
				break
			}
		}
		if out[pick].Name != "dev" {
			for i, t := range out {
				if t.Mode == "development" {
					pick = i
					break
				}
			}
		}
		out[pick].Default = true
	}
	for i := range out {
		if out[i].Mode == "production" && out[i].RootPath == "" {
			// The CLI insists on an explicit root_path in production mode.
			out[i].RootPath = "/Workspace/Users/${workspace.current_user.userName}/.bundle/${bundle.name}/${bundle.target}"
		}
		out[i].Grants = schemaGrants(out[i])
	}
	return out
}

// schemaGrants lists the target's run_as identity first, then every
// principal of its permissions in spec order, each once.
func schemaGrants(t Target) []Grant {
	var out []Grant
	seen := map[string]bool{}
	add := func(principal string, privileges []string) {
		if principal == "" || seen[principal] {
			return
		}
		seen[principal] = true
		out = append(out, Grant{Principal: principal, Privileges: privileges})
	}
	if t.RunAs != nil {
		add(or(t.RunAs.ServicePrincipalName, t.RunAs.UserName), RunAsPrivileges)
	}
	for _, p := range t.Permissions {
		group := p.GroupName
		if group == "users" {
			// The workspace's users group is local to the workspace, and
			// Unity Catalog grants only to account principals; its account
			// counterpart is "account users".
			group = "account users"
		}
		add(group+p.UserName+p.ServicePrincipalName, ReaderPrivileges)
	}
	return out
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orBool(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

func orInt(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

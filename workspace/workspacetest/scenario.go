package workspacetest

import (
	"fmt"
	"time"

	"github.com/databricks/databricks-sdk-go/service/catalog"
	"github.com/databricks/databricks-sdk-go/service/iam"
	"github.com/databricks/databricks-sdk-go/service/jobs"
	"github.com/databricks/databricks-sdk-go/service/settings"
	"github.com/databricks/databricks-sdk-go/service/sql"
)

// Token is the bearer token the scenarios accept.
const Token = "dapi-test-token"

// Ids the scenarios use.
const (
	WorkspaceID  = "1234567890123456"
	MetastoreID  = "11111111-2222-3333-4444-555555555555"
	ServerlessID = "abc123def4567890"
	ReportingID  = "0123456789abcdef"
	SlackID      = "7a1b2c3d-0000-0000-0000-000000000001"
	PagerDutyID  = "7a1b2c3d-0000-0000-0000-000000000002"
	MLPrincipal  = "9f5c2c1e-1111-2222-3333-444444444444"
	// SameRegionID is another workspace of the Healthy workspace's region:
	// its jobs show in system.lakeflow.jobs read from there.
	SameRegionID  = "2222222222222222"
	workspaceIDNo = 1234567890123456
)

// Healthy is a workspace ready for the spec in workspace/testdata/healthy.yaml:
// system schemas enabled (billing managed by Databricks), a running
// serverless warehouse, catalog ops on which the user's group may create
// schemas, two notification destinations and nine jobs with 20 days of
// runs before now's date. Jobs come three per page and runs five per page;
// system schemas two per page with an empty page after the first.
func Healthy(now time.Time) *Workspace {
	ws := &Workspace{
		Token:       Token,
		WorkspaceID: WorkspaceID,
		User: iam.User{Id: "1001", UserName: "alice@example.com", DisplayName: "Alice Example", Active: true,
			Groups: []iam.ComplexValue{{Display: "data-engineers", Value: "2001"}}},
		Users:     []iam.User{{Id: "1002", UserName: "Finance@example.com", DisplayName: "Finance Team", Active: true}},
		Metastore: &catalog.MetastoreAssignment{MetastoreId: MetastoreID, WorkspaceId: workspaceIDNo, DefaultCatalogName: "main"},
		SystemSchemas: []catalog.SystemSchemaInfo{
			{Schema: "access", State: "ENABLE_COMPLETED"},
			{Schema: "billing", State: "MANAGED"},
			{Schema: "compute", State: "ENABLE_COMPLETED"},
			{Schema: "lakeflow", State: "ENABLE_COMPLETED"},
			{Schema: "marketplace", State: "AVAILABLE"},
			{Schema: "query", State: ""},
		},
		Warehouses: []sql.EndpointInfo{
			{Id: ServerlessID, Name: "Shared Serverless", State: sql.StateRunning, EnableServerlessCompute: true,
				WarehouseType: sql.EndpointInfoWarehouseTypePro, ClusterSize: "Small", CreatorName: "admin@example.com"},
			{Id: ReportingID, Name: "Reporting", State: sql.StateStopped, WarehouseType: sql.EndpointInfoWarehouseTypeClassic,
				ClusterSize: "Medium", CreatorName: "admin@example.com"},
		},
		Catalogs: map[string]catalog.CatalogInfo{
			"main": {Name: "main", FullName: "main", Owner: "admins", CatalogType: catalog.CatalogTypeManagedCatalog, MetastoreId: MetastoreID},
			"ops":  {Name: "ops", FullName: "ops", Owner: "platform-admins", CatalogType: catalog.CatalogTypeManagedCatalog, MetastoreId: MetastoreID},
		},
		Schemas: map[string]catalog.SchemaInfo{
			"main.default": {Name: "default", CatalogName: "main", FullName: "main.default", Owner: "admins"},
		},
		Effective: map[string][]catalog.EffectivePrivilegeAssignment{
			"catalog/ops": {
				{Principal: "data-engineers", Privileges: []catalog.EffectivePrivilege{
					{Privilege: catalog.PrivilegeUseCatalog}, {Privilege: catalog.PrivilegeCreateSchema}}},
				{Principal: "platform-admins", Privileges: []catalog.EffectivePrivilege{{Privilege: catalog.PrivilegeAllPrivileges}}},
			},
			"catalog/main": {
				{Principal: "account users", Privileges: []catalog.EffectivePrivilege{{Privilege: catalog.PrivilegeUseCatalog}}},
			},
		},
		Destinations: map[string]settings.NotificationDestination{
			SlackID:     {Id: SlackID, DisplayName: "#data-platform-alerts", DestinationType: settings.DestinationTypeSlack},
			PagerDutyID: {Id: PagerDutyID, DisplayName: "Data on-call", DestinationType: settings.DestinationTypePagerduty},
		},
		JobsPageSize: 3,
		RunsPageSize: 5,
		// system.lakeflow.jobs read here: this workspace's nine jobs, two
		// of them last changed before run_as_user_name was filled in, and
		// a workspace of the same region.
		StatementResults: map[string][][]string{
			"FROM system.lakeflow.jobs GROUP BY workspace_id": {{WorkspaceID, "9"}, {SameRegionID, "4"}},
			"count_if(coalesce(run_as_user_name":              {{"9", "2"}},
			"AS live_jobs":                                    {{"9"}},
		},
	}
	ws.Jobs, ws.Runs = history(now)
	return ws
}

// Broken is Healthy with what goes wrong in real workspaces, for the spec
// in workspace/testdata/broken.yaml: lakeflow not enabled (and the user may
// not enable it), compute being disabled, no catalog monitoring, SQL errors
// on the tables of those schemas and a missing notification destination.
func Broken(now time.Time) *Workspace {
	ws := Healthy(now)
	ws.SystemSchemas = []catalog.SystemSchemaInfo{
		{Schema: "access", State: "ENABLE_COMPLETED"},
		{Schema: "billing", State: "MANAGED"},
		{Schema: "compute", State: "DISABLE_INITIALIZED"},
		{Schema: "lakeflow", State: "AVAILABLE"},
	}
	ws.StatementErrors = map[string]sql.ServiceError{
		"system.lakeflow.": {ErrorCode: sql.ServiceErrorCodeBadRequest,
			Message: "[TABLE_OR_VIEW_NOT_FOUND] The table or view {table} cannot be found. SQLSTATE: 42P01"},
		"system.compute.": {ErrorCode: sql.ServiceErrorCodeBadRequest,
			Message: "[TABLE_OR_VIEW_NOT_FOUND] The table or view {table} cannot be found. SQLSTATE: 42P01"},
		"system.access.workspaces_latest": {ErrorCode: sql.ServiceErrorCodeBadRequest,
			Message: "[INSUFFICIENT_PERMISSIONS] Insufficient privileges: User does not have SELECT on Table 'system.access.workspaces_latest'. SQLSTATE: 42501"},
	}
	ws.Failures = map[string]*Failure{
		"PUT /api/2.1/unity-catalog/metastores/" + MetastoreID + "/systemschemas/lakeflow": {Status: 403, Code: "PERMISSION_DENIED",
			Message: "User alice@example.com does not have MANAGE on Metastore '" + MetastoreID + "'."},
	}
	return ws
}

type jobDef struct {
	id      int64
	name    string
	tags    map[string]string
	creator string
	runAs   string // service principal
	cron    string
	tz      string
	paused  bool
	// history
	days      int // daily runs on the days before now's date
	weekdays  bool
	hourly    int // hourly runs over this many days instead
	baseMin   int // typical duration in minutes
	legacyDur bool
	failEvery int // every n-th day fails
}

var defs = []jobDef{
	{id: 101, name: "revenue_daily", tags: map[string]string{"team": "finance", "env": "prod"}, creator: "bob@example.com",
		cron: "0 0 6 * * ?", tz: "Europe/Berlin", days: 20, baseMin: 25, failEvery: 10},
	{id: 102, name: "Nightly ETL", tags: map[string]string{"team": "platform"}, creator: "alice@example.com",
		cron: "0 30 1 * * ?", tz: "Europe/Berlin", days: 20, baseMin: 50},
	{id: 103, name: "platform_compaction", tags: map[string]string{"team": "platform", "owner": "alice"}, creator: "alice@example.com",
		cron: "0 0 3 ? * MON-FRI", tz: "Europe/Berlin", days: 20, weekdays: true, baseMin: 12, failEvery: 7},
	{id: 104, name: "marketing attribution", tags: map[string]string{"cost_center": "mkt"}, creator: "carol@example.com",
		cron: "0 0 * * * ?", tz: "UTC", hourly: 3, baseMin: 8, legacyDur: true},
	{id: 105, name: "ad-hoc exploration", creator: "dave@example.com", days: 3, baseMin: 5},
	{id: 106, name: "Legacy Export", tags: map[string]string{"team": "finance"}, creator: "bob@example.com",
		cron: "0 0 4 * * ?", tz: "Europe/Berlin", paused: true},
	{id: 107, name: "sparse_job", tags: map[string]string{"team": "platform"}, creator: "alice@example.com",
		cron: "0 15 5 * * ?", tz: "Europe/Berlin", days: 2, baseMin: 3},
	{id: 108, name: "ML Training", creator: MLPrincipal, runAs: MLPrincipal,
		cron: "0 0 22 * * ?", tz: "UTC", days: 20, baseMin: 170},
	{id: 109, name: "ml-feature-refresh", tags: map[string]string{"team": "Data Science"}, creator: "erin@example.com",
		cron: "0 45 7 * * ?", tz: "America/New_York", days: 20, baseMin: 18, failEvery: 6},
}

// history builds the jobs and their runs relative to now's date, so that
// the statistics an import derives do not depend on the day a test runs.
func history(now time.Time) ([]jobs.BaseJob, []jobs.BaseRun) {
	var js []jobs.BaseJob
	var runs []jobs.BaseRun
	runID := int64(5000)
	created := now.AddDate(0, -6, 0).UnixMilli()
	for _, d := range defs {
		settings := &jobs.JobSettings{Name: d.name, Tags: d.tags, MaxConcurrentRuns: 1, Format: jobs.FormatMultiTask}
		if d.cron != "" {
			pause := jobs.PauseStatusUnpaused
			if d.paused {
				pause = jobs.PauseStatusPaused
			}
			settings.Schedule = &jobs.CronSchedule{QuartzCronExpression: d.cron, TimezoneId: d.tz, PauseStatus: pause}
		}
		if d.runAs != "" {
			settings.RunAs = &jobs.JobRunAs{ServicePrincipalName: d.runAs}
		}
		js = append(js, jobs.BaseJob{JobId: d.id, CreatorUserName: d.creator, CreatedTime: created, Settings: settings})

		loc, err := time.LoadLocation(d.tz)
		if err != nil || d.tz == "" {
			loc = time.UTC
		}
		h, m := 9, 0
		fmt.Sscanf(d.cron, "0 %d %d", &m, &h)
		day := func(n int) time.Time {
			y, mo, dd := now.In(loc).Date()
			return time.Date(y, mo, dd-n, h, m, 0, 0, loc)
		}
		add := func(n int, start time.Time, failed bool) {
			runID++
			dur := time.Duration(d.baseMin)*time.Minute + time.Duration((n*7)%5)*time.Minute + time.Duration((n*13)%60)*time.Second
			if n%4 == 0 {
				dur += time.Duration(d.baseMin/5) * time.Minute // an occasional slow day
			}
			if failed {
				dur /= 3
			}
			runs = append(runs, run(d, runID, start, dur, failed))
		}
		switch {
		case d.hourly > 0:
			for i := d.hourly * 24; i >= 1; i-- {
				start := now.Truncate(time.Hour).Add(-time.Duration(i) * time.Hour)
				add(i, start, false)
			}
		default:
			for n := d.days; n >= 1; n-- {
				start := day(n)
				if d.weekdays && (start.Weekday() == time.Saturday || start.Weekday() == time.Sunday) {
					continue
				}
				add(n, start, d.failEvery > 0 && n%d.failEvery == 0)
			}
		}
		if d.id == 101 {
			add(40, day(40), false) // before the import window
		}
		if d.id == 106 {
			add(45, day(45), false) // paused since
		}
	}
	// A run of a deleted job and a run still in progress: import ignores both.
	runID++
	runs = append(runs, run(jobDef{id: 999, name: "deleted job", creator: "zed@example.com"}, runID, now.Add(-30*time.Hour), 10*time.Minute, false))
	runID++
	active := run(defs[1], runID, now.Add(-10*time.Minute), 0, false)
	active.EndTime, active.RunDuration = 0, 0
	active.State = &jobs.RunState{LifeCycleState: jobs.RunLifeCycleStateRunning}
	active.Status = &jobs.RunStatus{State: jobs.RunLifecycleStateV2StateRunning}
	runs = append(runs, active)
	return js, runs
}

func run(d jobDef, id int64, start time.Time, dur time.Duration, failed bool) jobs.BaseRun {
	r := jobs.BaseRun{
		JobId: d.id, RunId: id, NumberInJob: id, RunName: d.name, CreatorUserName: d.creator,
		RunType: jobs.RunTypeJobRun, Trigger: jobs.TriggerTypePeriodic,
		StartTime: start.UnixMilli(), EndTime: start.Add(dur).UnixMilli(),
		RunPageUrl: fmt.Sprintf("https://example.cloud.databricks.com/?o=%s#job/%d/run/%d", WorkspaceID, d.id, id),
		State:      &jobs.RunState{LifeCycleState: jobs.RunLifeCycleStateTerminated, ResultState: jobs.RunResultStateSuccess, StateMessage: ""},
		Status: &jobs.RunStatus{State: jobs.RunLifecycleStateV2StateTerminated,
			TerminationDetails: &jobs.TerminationDetails{Code: jobs.TerminationCodeCodeSuccess, Type: jobs.TerminationTypeTypeSuccess}},
	}
	if d.cron == "" {
		r.Trigger = jobs.TriggerTypeOneTime
	}
	if d.legacyDur {
		r.SetupDuration = 30_000
		r.ExecutionDuration = dur.Milliseconds() - 40_000
		r.CleanupDuration = 10_000
	} else {
		r.RunDuration = dur.Milliseconds()
	}
	if failed {
		r.State.ResultState = jobs.RunResultStateFailed
		r.State.StateMessage = "Task main failed with message: Workload failed."
		r.Status.TerminationDetails = &jobs.TerminationDetails{Code: jobs.TerminationCodeCodeRunExecutionError,
			Type: jobs.TerminationTypeTypeClientError, Message: "Task main failed with message: Workload failed."}
	}
	return r
}

package workspace

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/databricks/databricks-sdk-go"
	"github.com/databricks/databricks-sdk-go/service/catalog"
	"github.com/databricks/databricks-sdk-go/service/iam"
	"github.com/databricks/databricks-sdk-go/service/settings"
	"github.com/databricks/databricks-sdk-go/service/sql"

	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/spec"
)

// Check is one finding of Doctor.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	// Fix says what to do when the check fails.
	Fix string `json:"fix,omitempty"`
}

// String renders the check as one line: "✓ name: detail" or
// "✗ name: detail — fix: ...".
func (c Check) String() string {
	if c.OK {
		return "✓ " + c.Name + ": " + c.Detail
	}
	if c.Fix == "" {
		return "✗ " + c.Name + ": " + c.Detail
	}
	return "✗ " + c.Name + ": " + c.Detail + " — fix: " + c.Fix
}

// DoctorOptions changes what Doctor may do.
type DoctorOptions struct {
	// Fix enables the system schemas that are available but not enabled.
	Fix bool
	// PollInterval and StatementTimeout bound the SELECT checks; zero means
	// 2s and 5m (a stopped warehouse takes minutes to start).
	PollInterval     time.Duration
	StatementTimeout time.Duration
}

// SystemSchemas are the system schemas the monitoring pipeline reads, and
// SystemTables their tables, as system.<schema>.<table>: the sources of the
// bronze tables, by schema in this order.
var (
	SystemSchemas = []string{"billing", "lakeflow", "compute", "access"}
	SystemTables  = pipelineSources()
)

// pipelineSources lists the system tables the bronze tables read, grouped by
// SystemSchemas and in declaration order within a schema.
func pipelineSources() []string {
	read := map[string]bool{}
	for _, t := range model.BronzeTables() {
		read[t.Source] = true
	}
	var out []string
	for _, schema := range SystemSchemas {
		for _, t := range model.SystemTables {
			if t.Schema == schema && read[t.FullName()] {
				out = append(out, t.FullName())
			}
		}
	}
	return out
}

// Doctor checks that the workspace w is ready for the monitor s describes.
// Every finding is a Check, in a fixed order; the error is a *ConnectError
// when the workspace cannot be reached or rejects the credentials, with the
// checks made until then.
func Doctor(ctx context.Context, w *databricks.WorkspaceClient, s *spec.Spec, opts DoctorOptions) ([]Check, error) {
	if opts.PollInterval <= 0 {
		opts.PollInterval = 2 * time.Second
	}
	if opts.StatementTimeout <= 0 {
		opts.StatementTimeout = 5 * time.Minute
	}
	d := &doctor{ctx: ctx, w: w, s: s, opts: opts, host: w.Config.Host}
	return d.run()
}

type doctor struct {
	ctx       context.Context
	w         *databricks.WorkspaceClient
	s         *spec.Spec
	opts      DoctorOptions
	host      string
	me        *iam.User
	wsID      string
	metastore string
	err       *ConnectError
	// jobList and jobErr are listJobs' answer, read once by jobs.
	jobList []Job
	jobErr  error
	listed  bool
}

// jobs lists the jobs visible to the caller once per run.
func (d *doctor) jobs() ([]Job, error) {
	if !d.listed {
		d.jobList, d.jobErr = listJobs(d.ctx, d.w, d.wsID)
		d.listed = true
	}
	return d.jobList, d.jobErr
}

// stop records a fatal error and reports whether err is one.
func (d *doctor) stop(err error) bool {
	if ce := fatal(d.host, err); ce != nil {
		d.err = ce
		return true
	}
	return false
}

func (d *doctor) run() ([]Check, error) {
	me, err := d.w.CurrentUser.Me(d.ctx, iam.MeRequest{})
	if err != nil {
		ce := fatal(d.host, err)
		if ce == nil {
			// Any answer but success to "who am I" means the workspace
			// cannot be used with these credentials.
			ce = &ConnectError{Host: d.host, Err: err}
		}
		return nil, ce
	}
	d.me = me
	d.wsID = d.w.Config.WorkspaceID
	var checks []Check
	add := func(c ...Check) { checks = append(checks, c...) }

	who := fmt.Sprintf("%s on %s", me.UserName, d.host)
	if d.wsID != "" {
		who += " (workspace " + d.wsID + ")"
	}
	add(Check{Name: "identity", OK: true, Detail: who})
	add(d.metastoreCheck())
	if d.err != nil {
		return checks, d.err
	}

	wh, whCheck := d.warehouse()
	if d.err != nil {
		return checks, d.err
	}
	selects, readable := d.selects(wh)
	if d.err != nil {
		return checks, d.err
	}
	add(d.systemSchemas(readable)...)
	if d.err != nil {
		return checks, d.err
	}
	add(whCheck)
	add(selects...)

	cat, catCheck := d.catalog()
	add(catCheck)
	if d.err != nil {
		return checks, d.err
	}
	schemaCheck, existing := d.schema(cat)
	add(schemaCheck)
	if d.err != nil {
		return checks, d.err
	}
	add(d.schemaGrants(cat, existing))
	if d.err != nil {
		return checks, d.err
	}
	add(d.jobTableCoverage(wh, readable)...)
	if d.err != nil {
		return checks, d.err
	}
	add(d.runAsNames(wh, readable))
	if d.err != nil {
		return checks, d.err
	}
	add(d.collectorAccess(wh, readable)...)
	if d.err != nil {
		return checks, d.err
	}
	add(d.destinations()...)
	if d.err != nil {
		return checks, d.err
	}
	add(d.reportRecipients()...)
	if d.err != nil {
		return checks, d.err
	}
	add(d.slas()...)
	if d.err != nil {
		return checks, d.err
	}
	return checks, nil
}

func (d *doctor) metastoreCheck() Check {
	c := Check{Name: "metastore"}
	ma, err := d.w.Metastores.Current(d.ctx)
	switch {
	case d.stop(err):
		return c
	case apiStatus(err) == 404 || (err == nil && ma.MetastoreId == ""):
		c.Detail = "no Unity Catalog metastore is assigned to this workspace; system tables need one"
		c.Fix = "an account admin assigns a metastore to the workspace (account console > Catalog)"
		return c
	case err != nil:
		c.Detail = "cannot read the current metastore assignment: " + reason(err)
		c.Fix = "check that Unity Catalog is enabled for this workspace"
		return c
	}
	d.metastore = ma.MetastoreId
	if ma.WorkspaceId != 0 {
		d.wsID = strconv.FormatInt(ma.WorkspaceId, 10)
	}
	c.OK = true
	c.Detail = fmt.Sprintf("%s, assigned to workspace %s", ma.MetastoreId, d.wsID)
	if ma.DefaultCatalogName != "" {
		c.Detail += fmt.Sprintf(" (default catalog %s)", ma.DefaultCatalogName)
	}
	return c
}

// systemSchemas checks the enablement state of each schema the pipeline
// reads; readable says which tables the SELECT checks could read, which
// stands in for the state when listing is refused (it needs a metastore
// admin).
func (d *doctor) systemSchemas(readable map[string]bool) []Check {
	if d.metastore == "" {
		return []Check{{Name: "system schemas", Detail: "not checked: no metastore", Fix: "fix the metastore check first"}}
	}
	list, err := d.w.SystemSchemas.ListAll(d.ctx, catalog.ListSystemSchemasRequest{MetastoreId: d.metastore})
	if d.stop(err) {
		return nil
	}
	states := map[string]string{}
	for _, s := range list {
		states[s.Schema] = s.State
	}
	var out []Check
	for _, name := range SystemSchemas {
		c := Check{Name: "system schema " + name}
		enable := fmt.Sprintf("`databricks system-schemas enable %s %s`", d.metastore, name)
		if err != nil {
			tables := tablesOf(name)
			all := readable != nil
			for _, t := range tables {
				all = all && readable[t]
			}
			if all {
				c.OK = true
				c.Detail = "enabled: its tables are readable (the state itself was not read: " + reason(err) + ")"
			} else {
				c.Detail = "state unknown: listing system schemas was refused (" + reason(err) + ") and its tables are not all readable"
				c.Fix = "listing and enabling system schemas needs a metastore admin or account admin; ask one to run `dbmon doctor --fix` or " + enable
			}
			out = append(out, c)
			continue
		}
		state, listed := states[name]
		switch {
		case !listed:
			c.Detail = "not offered for metastore " + d.metastore
			c.Fix = "this metastore's region may not offer it yet; contact your Databricks account team"
		case state == "ENABLE_COMPLETED":
			c.OK, c.Detail = true, "enabled (ENABLE_COMPLETED)"
		case state == "MANAGED":
			c.OK, c.Detail = true, "enabled and managed by Databricks (MANAGED)"
		case state == "ENABLE_INITIALIZED":
			c.OK, c.Detail = true, "being enabled (ENABLE_INITIALIZED); its tables appear within minutes"
		case state == "" || state == "AVAILABLE":
			shown := state
			if shown == "" {
				shown = "AVAILABLE, reported as an empty state"
			}
			if !d.opts.Fix {
				c.Detail = "available but not enabled (" + shown + ")"
				c.Fix = "run `dbmon doctor --fix` as a metastore admin, or " + enable
				break
			}
			err := d.w.SystemSchemas.Enable(d.ctx, catalog.EnableRequest{MetastoreId: d.metastore, SchemaName: name})
			switch {
			case d.stop(err):
				return out
			case apiStatus(err) == 403:
				c.Detail = "available but not enabled, and --fix was refused: " + reason(err)
				c.Fix = "enabling a system schema needs a metastore admin or account admin; ask one to run `dbmon doctor --fix` or " + enable
			case err != nil:
				c.Detail = "available but not enabled, and --fix failed: " + reason(err)
				c.Fix = "retry, or run " + enable
			default:
				c.OK, c.Detail = true, "enabled now by --fix (was "+shown+"); its tables appear within minutes"
			}
		case state == "DISABLE_INITIALIZED":
			c.Detail = "being disabled (DISABLE_INITIALIZED)"
			c.Fix = "wait until it is disabled, then a metastore admin runs `dbmon doctor --fix` or " + enable
		case state == "UNAVAILABLE":
			c.Detail = "unavailable for this metastore (UNAVAILABLE)"
			c.Fix = "this metastore's region or cloud does not offer it; contact your Databricks account team"
		default:
			c.Detail = "unexpected state " + state
			c.Fix = "check it with `databricks system-schemas list " + d.metastore + "`"
		}
		out = append(out, c)
	}
	return out
}

func tablesOf(schema string) []string {
	var out []string
	for _, t := range SystemTables {
		if strings.HasPrefix(t, "system."+schema+".") {
			out = append(out, t)
		}
	}
	return out
}

type warehouseInfo struct {
	id, name string
	state    sql.State
}

// warehouse finds the spec's SQL warehouse by id or by name.
func (d *doctor) warehouse() (*warehouseInfo, Check) {
	c := Check{Name: "warehouse"}
	b := d.s.Bundle
	var wh *warehouseInfo
	if b.WarehouseID != "" {
		got, err := d.w.Warehouses.Get(d.ctx, sql.GetWarehouseRequest{Id: b.WarehouseID})
		switch {
		case d.stop(err):
			return nil, c
		case apiStatus(err) == 404:
			c.Detail = fmt.Sprintf("no SQL warehouse with id %s", b.WarehouseID)
			c.Fix = "set bundle.warehouse_id to an id from `databricks warehouses list`, or name the warehouse with bundle.warehouse"
			return nil, c
		case err != nil:
			c.Detail = fmt.Sprintf("cannot read SQL warehouse %s: %s", b.WarehouseID, reason(err))
			c.Fix = "check the id with `databricks warehouses list`; if it is right, ask the warehouse's owner for CAN USE"
			return nil, c
		}
		wh = &warehouseInfo{id: got.Id, name: got.Name, state: got.State}
	} else {
		all, err := d.w.Warehouses.ListAll(d.ctx, sql.ListWarehousesRequest{})
		if d.stop(err) {
			return nil, c
		}
		if err != nil {
			c.Detail = "cannot list SQL warehouses: " + reason(err)
			c.Fix = "ask a workspace admin for access to SQL warehouses"
			return nil, c
		}
		var names []string
		for _, e := range all {
			names = append(names, e.Name)
			if e.Name == b.Warehouse {
				wh = &warehouseInfo{id: e.Id, name: e.Name, state: e.State}
			}
		}
		if wh == nil {
			sort.Strings(names)
			c.Detail = fmt.Sprintf("no SQL warehouse named %q", b.Warehouse)
			if close := closest(b.Warehouse, names); close != "" {
				c.Detail += fmt.Sprintf("; did you mean %q?", close)
			}
			switch {
			case len(names) == 0:
				c.Detail += " (no warehouse is visible to " + d.me.UserName + ")"
				c.Fix = "create a SQL warehouse (serverless is cheapest for dbmon) or ask for CAN USE on one"
			default:
				c.Detail += "; visible warehouses: " + quoteList(names, 5)
				c.Fix = "set bundle.warehouse to the exact name (case matters) or use bundle.warehouse_id"
			}
			return nil, c
		}
	}
	desc := fmt.Sprintf("%q (id %s) is %s", wh.name, wh.id, wh.state)
	switch wh.state {
	case sql.StateDeleted, sql.StateDeleting:
		c.Detail = desc
		c.Fix = "choose another warehouse in the spec's bundle block"
		return nil, c
	case sql.StateStopped, sql.StateStopping:
		c.OK, c.Detail = true, desc+"; it starts on the first query"
	default:
		c.OK, c.Detail = true, desc
	}
	return wh, c
}

// selects runs SELECT 1 on each system table with the spec's warehouse.
func (d *doctor) selects(wh *warehouseInfo) ([]Check, map[string]bool) {
	if wh == nil {
		return []Check{{Name: "select system tables", Detail: "not checked: no usable SQL warehouse",
			Fix: "fix the warehouse check first"}}, nil
	}
	readable := map[string]bool{}
	var out []Check
	var apiErr error // a refusal of the statement API itself repeats for every table
	for _, table := range SystemTables {
		c := Check{Name: "select " + table}
		schema := strings.Split(table, ".")[1]
		if apiErr == nil {
			var msg string
			msg, apiErr = d.statement(wh.id, "SELECT 1 FROM "+table+" LIMIT 1")
			if d.stop(apiErr) {
				return nil, nil
			}
			if apiErr == nil && msg == "" {
				readable[table] = true
				c.OK, c.Detail = true, "readable with warehouse "+wh.id
				out = append(out, c)
				continue
			}
			if apiErr == nil {
				c.Detail = msg
				c.Fix = selectFix(msg, table, schema, d.me.UserName, wh.name)
				out = append(out, c)
				continue
			}
		}
		c.Detail = "cannot run statements on warehouse " + wh.id + ": " + reason(apiErr)
		c.Fix = "ask the warehouse's owner for CAN USE on " + strconv.Quote(wh.name)
		out = append(out, c)
	}
	return out, readable
}

func selectFix(msg, table, schema, user, warehouse string) string {
	switch {
	case strings.Contains(msg, "TABLE_OR_VIEW_NOT_FOUND"), strings.Contains(msg, "SCHEMA_NOT_FOUND"):
		return fmt.Sprintf("enable system schema %s (see its check); its tables appear within minutes of enabling", schema)
	case strings.Contains(msg, "INSUFFICIENT_PERMISSIONS"), strings.Contains(msg, "PERMISSION_DENIED"), strings.Contains(msg, "does not have"):
		return fmt.Sprintf("a metastore admin runs GRANT USE CATALOG ON CATALOG system TO `%s`; GRANT USE SCHEMA, SELECT ON SCHEMA system.%s TO `%s`", user, schema, user)
	}
	return fmt.Sprintf("run `SELECT 1 FROM %s LIMIT 1` on warehouse %q in the SQL editor for details", table, warehouse)
}

// statement runs one statement and returns the SQL error message ("" on
// success) or the API error.
func (d *doctor) statement(warehouseID, stmt string) (string, error) {
	_, msg, err := d.query(warehouseID, stmt)
	return msg, err
}

// query runs one statement and returns its rows (every value as the
// string the JSON_ARRAY format gives, NULL as ""), the SQL error message
// ("" on success) or the API error.
func (d *doctor) query(warehouseID, stmt string) ([][]string, string, error) {
	ctx, cancel := context.WithTimeout(d.ctx, d.opts.StatementTimeout)
	defer cancel()
	resp, err := d.w.StatementExecution.ExecuteStatement(ctx, sql.ExecuteStatementRequest{
		WarehouseId:   warehouseID,
		Statement:     stmt,
		WaitTimeout:   "30s",
		OnWaitTimeout: sql.ExecuteStatementRequestOnWaitTimeoutContinue,
	})
	for err == nil && resp.Status != nil && (resp.Status.State == sql.StatementStatePending || resp.Status.State == sql.StatementStateRunning) {
		select {
		case <-ctx.Done():
			_ = d.w.StatementExecution.CancelExecution(d.ctx, sql.CancelExecutionRequest{StatementId: resp.StatementId})
			return nil, fmt.Sprintf("the query did not finish within %s (is the warehouse starting?)", d.opts.StatementTimeout), nil
		case <-time.After(d.opts.PollInterval):
		}
		resp, err = d.w.StatementExecution.GetStatement(ctx, sql.GetStatementRequest{StatementId: resp.StatementId})
	}
	if err != nil {
		return nil, "", err
	}
	if resp.Status == nil {
		return nil, "the statement API returned no status", nil
	}
	switch resp.Status.State {
	case sql.StatementStateSucceeded:
	case sql.StatementStateFailed:
		if e := resp.Status.Error; e != nil && e.Message != "" {
			msg, _, _ := strings.Cut(e.Message, "\n")
			return nil, msg, nil
		}
		return nil, "the query failed without a message", nil
	default:
		return nil, "the query ended in state " + string(resp.Status.State), nil
	}
	var rows [][]string
	chunk := resp.Result
	for chunk != nil {
		rows = append(rows, chunk.DataArray...)
		if chunk.NextChunkIndex == 0 {
			break
		}
		chunk, err = d.w.StatementExecution.GetStatementResultChunkN(ctx, sql.GetStatementResultChunkNRequest{
			StatementId: resp.StatementId, ChunkIndex: chunk.NextChunkIndex})
		if err != nil {
			return nil, "", err
		}
	}
	return rows, "", nil
}

func (d *doctor) catalog() (*catalog.CatalogInfo, Check) {
	name := d.s.Bundle.Catalog
	c := Check{Name: "catalog"}
	got, err := d.w.Catalogs.Get(d.ctx, catalog.GetCatalogRequest{Name: name})
	switch {
	case d.stop(err):
		return nil, c
	case apiStatus(err) == 404:
		c.Detail = fmt.Sprintf("catalog %s does not exist", name)
		c.Fix = fmt.Sprintf("create it (CREATE CATALOG %s) or set bundle.catalog to an existing catalog", name)
		return nil, c
	case apiStatus(err) == 403:
		c.Detail = fmt.Sprintf("catalog %s cannot be read: %s", name, reason(err))
		c.Fix = fmt.Sprintf("an owner of %s runs GRANT USE CATALOG ON CATALOG %s TO `%s`", name, name, d.me.UserName)
		return nil, c
	case err != nil:
		c.Detail = fmt.Sprintf("catalog %s cannot be read: %s", name, reason(err))
		c.Fix = "retry; if it persists, check the catalog in Catalog Explorer"
		return nil, c
	}
	c.OK = true
	c.Detail = fmt.Sprintf("%s exists (owner %s)", name, got.Owner)
	return got, c
}

// schema checks that bundle.schema exists or that the caller may create it:
// owning the catalog, or CREATE SCHEMA (with USE CATALOG) or ALL PRIVILEGES
// granted to the user, one of the user's groups or account users. Nested
// groups are not expanded.
func (d *doctor) schema(cat *catalog.CatalogInfo) (Check, *catalog.SchemaInfo) {
	b := d.s.Bundle
	full := b.Catalog + "." + b.Schema
	c := Check{Name: "schema"}
	if cat == nil {
		c.Detail = fmt.Sprintf("%s not checked: catalog %s is not usable", full, b.Catalog)
		c.Fix = "fix the catalog check first"
		return c, nil
	}
	got, err := d.w.Schemas.Get(d.ctx, catalog.GetSchemaRequest{FullName: full})
	switch {
	case d.stop(err):
		return c, nil
	case err == nil:
		c.OK = true
		c.Detail = fmt.Sprintf("%s exists (owner %s); the bundle deploys into it", full, got.Owner)
		return c, got
	case apiStatus(err) != 404:
		c.Detail = fmt.Sprintf("%s cannot be read: %s", full, reason(err))
		c.Fix = fmt.Sprintf("an owner of %s runs GRANT USE SCHEMA ON SCHEMA %s TO `%s`", full, full, d.me.UserName)
		return c, nil
	}
	me := d.me.UserName
	principals := d.principals()
	if how, ok := principals[cat.Owner]; ok {
		c.OK = true
		c.Detail = fmt.Sprintf("%s does not exist yet; %s owns catalog %s (%s), so the bundle can create it", full, me, b.Catalog, how)
		return c, nil
	}
	held, err := d.effective("catalog", b.Catalog)
	if d.err != nil {
		return c, nil
	}
	if err != nil {
		c.Detail = fmt.Sprintf("%s does not exist, and the grants on catalog %s cannot be read: %s", full, b.Catalog, reason(err))
		c.Fix = fmt.Sprintf("ask an owner of %s for CREATE SCHEMA, or create %s beforehand", b.Catalog, full)
		return c, nil
	}
	create, use := held[catalog.PrivilegeCreateSchema], held[catalog.PrivilegeUseCatalog]
	grant := fmt.Sprintf("an owner of %s runs GRANT USE CATALOG, CREATE SCHEMA ON CATALOG %s TO `%s`, or creates %s beforehand", b.Catalog, b.Catalog, me, full)
	switch {
	case create != "" && use != "":
		c.OK = true
		c.Detail = fmt.Sprintf("%s does not exist yet; %s may create it (CREATE SCHEMA on catalog %s %s)", full, me, b.Catalog, create)
	case create != "":
		c.Detail = fmt.Sprintf("%s does not exist; %s has CREATE SCHEMA on catalog %s but not USE CATALOG", full, me, b.Catalog)
		c.Fix = grant
	default:
		c.Detail = fmt.Sprintf("%s does not exist and %s has no CREATE SCHEMA on catalog %s (grants to the user, its groups and account users; nested groups not expanded)", full, me, b.Catalog)
		c.Fix = grant
	}
	return c, nil
}

func (d *doctor) destinations() []Check {
	keys := make([]string, 0, len(d.s.Destinations))
	for k, v := range d.s.Destinations {
		if v.DestinationID != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []Check
	for _, k := range keys {
		id := d.s.Destinations[k].DestinationID
		c := Check{Name: "destination " + k}
		got, err := d.w.NotificationDestinations.Get(d.ctx, settings.GetNotificationDestinationRequest{Id: id})
		switch {
		case d.stop(err):
			return out
		case apiStatus(err) == 404:
			c.Detail = fmt.Sprintf("no notification destination with id %s", id)
			c.Fix = "copy the id from Settings > Notifications > Notification destinations (a workspace admin creates destinations)"
		case err != nil:
			c.Detail = fmt.Sprintf("notification destination %s cannot be read: %s", id, reason(err))
			c.Fix = "ask a workspace admin to confirm the id under Settings > Notifications"
		default:
			c.OK = true
			c.Detail = fmt.Sprintf("%s destination %q", destinationType(got.DestinationType), got.DisplayName)
		}
		out = append(out, c)
	}
	return out
}

// reportRecipients checks that every e-mail address a report sends to as
// a user (user_name in a dashboard task's subscription) is a user of this
// workspace: a snapshot goes to workspace users and notification
// destinations only. One SCIM lookup per address, filtered by userName.
func (d *doctor) reportRecipients() []Check {
	var out []Check
	for _, addr := range model.ReportUsers(d.s) {
		c := Check{Name: "report recipient " + addr}
		it := d.w.Users.List(d.ctx, iam.ListUsersRequest{Filter: fmt.Sprintf("userName eq %q", addr), Attributes: "id,userName,active", Count: 1})
		found := it.HasNext(d.ctx)
		var u iam.User
		var err error
		if found {
			u, err = it.Next(d.ctx)
		}
		switch {
		case d.stop(err):
			return out
		case err != nil:
			c.Detail = fmt.Sprintf("cannot look up workspace users: %s", reason(err))
			c.Fix = "run doctor as a workspace admin, or confirm under Settings > Identity and access > Users that " + addr + " is a user"
		case !found:
			c.Detail = "not a user of this workspace, so the report cannot be e-mailed to it (a dashboard task sends snapshots to workspace users and notification destinations only)"
			c.Fix = "add " + addr + " as a workspace user (Settings > Identity and access > Users), or send to it through an e-mail notification destination: a destination with destination_id instead of emails"
		case !u.Active:
			c.Detail = "a deactivated user of this workspace; it receives no report"
			c.Fix = "reactivate the user, or remove " + addr + " from the destination's emails"
		default:
			c.OK = true
			c.Detail = "a workspace user"
		}
		out = append(out, c)
	}
	return out
}

func destinationType(t settings.DestinationType) string {
	switch t {
	case settings.DestinationTypeSlack:
		return "Slack"
	case settings.DestinationTypeMicrosoftTeams:
		return "Microsoft Teams"
	case settings.DestinationTypePagerduty:
		return "PagerDuty"
	case settings.DestinationTypeWebhook:
		return "webhook"
	case settings.DestinationTypeEmail:
		return "email"
	}
	if t == "" {
		return "untyped"
	}
	return string(t)
}

// slas lists the jobs once and counts the jobs each SLA selects.
func (d *doctor) slas() []Check {
	js, err := d.jobs()
	if d.stop(err) {
		return nil
	}
	c := Check{Name: "jobs"}
	switch {
	case err != nil:
		c.Detail = "cannot list jobs: " + reason(err)
		c.Fix = "check that the identity may use the Jobs API"
	case len(js) == 0:
		c.Detail = "no job is visible to " + d.me.UserName
		c.Fix = "workspace admins see every job, others only jobs they may view; run doctor as an admin or ask for CAN VIEW"
	default:
		c.OK = true
		c.Detail = fmt.Sprintf("%d visible to %s", len(js), d.me.UserName)
	}
	out := []Check{c}
	if err != nil {
		return out
	}
	m := newTeamMatcher(d.s)
	var names []string
	for _, j := range js {
		names = append(names, j.Name)
	}
	where := "in this workspace"
	if d.wsID != "" {
		where = "in workspace " + d.wsID
	}
	for _, sla := range d.s.SLAs {
		c := Check{Name: "sla " + sla.Name}
		sel := selectJobs(sla.Jobs, js, m)
		if len(sel) > 0 {
			var got []string
			for _, j := range sel {
				got = append(got, j.Name)
			}
			noun := "jobs"
			if len(sel) == 1 {
				noun = "job"
			}
			c.OK = true
			c.Detail = fmt.Sprintf("selects %d %s %s: %s", len(sel), noun, where, quoteList(got, 3))
			out = append(out, c)
			continue
		}
		c.Detail, c.Fix = noMatch(sla.Jobs, names, where, m.unassigned)
		out = append(out, c)
	}
	return out
}

// noMatch explains an SLA selector that selects nothing.
func noMatch(sel spec.JobSelector, names []string, where, unassigned string) (string, string) {
	switch {
	case len(sel.Names) > 0:
		detail := "selects no job " + where + ": no job is named " + quoteList(sel.Names, 3)
		if close := closest(sel.Names[0], names); close != "" {
			detail += fmt.Sprintf("; did you mean %q?", close)
		}
		return detail, "use the exact job name (case and spaces matter)"
	case sel.NameRegex != "":
		return fmt.Sprintf("selects no job %s: no job name matches %q", where, sel.NameRegex),
			"the regex is an RE2 partial match on the job name; test it against the names in the Jobs UI"
	case len(sel.JobIDs) > 0:
		return "selects no job " + where + ": no job has id " + strings.Join(sel.JobIDs, ", "),
			"job ids differ between workspaces; copy them from the Jobs UI of the workspace the SLA is for"
	case len(sel.Tags) > 0:
		var kv []string
		for k, v := range sel.Tags {
			kv = append(kv, k+"="+v)
		}
		sort.Strings(kv)
		return "selects no job " + where + ": no job has the tags " + strings.Join(kv, ", "),
			"tag keys and values must match exactly"
	case sel.Team == unassigned:
		return "selects no job " + where + ": every job is owned by a team", "remove the SLA or select the jobs another way"
	case sel.Team != "":
		return fmt.Sprintf("selects no job %s: team %s owns none", where, sel.Team),
			fmt.Sprintf("check the match of team %s (the first team whose match holds owns a job)", sel.Team)
	}
	return "selects no job " + where, "give the SLA a job selector"
}

// quoteList renders at most n values, quoted, and how many more there are.
func quoteList(values []string, n int) string {
	var q []string
	for i, v := range values {
		if i == n {
			q = append(q, fmt.Sprintf("and %d more", len(values)-n))
			break
		}
		q = append(q, strconv.Quote(v))
	}
	return strings.Join(q, ", ")
}

// closest returns the candidate nearest to s when it is near enough to be a
// likely typo (case-insensitive edit distance), or "".
func closest(s string, candidates []string) string {
	best, bestD := "", len(s)/3+2
	for _, c := range candidates {
		if c == s {
			continue
		}
		if d := spec.EditDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// principals maps the names Unity Catalog may grant the caller privileges
// through (itself, its groups, account users) to how, for messages. Nested
// groups are not expanded.
func (d *doctor) principals() map[string]string {
	out := map[string]string{d.me.UserName: "directly", "account users": "through account users"}
	for _, g := range d.me.Groups {
		if g.Display != "" {
			out[g.Display] = "through group " + g.Display
		}
	}
	return out
}

// effective returns the privileges the caller holds on a securable, each
// with how it holds it (the first principal that conveys it), reading every
// page of the effective-permissions API. ALL_PRIVILEGES conveys every
// privilege. A fatal error is recorded in d.err.
func (d *doctor) effective(securableType, fullName string) (map[catalog.Privilege]string, error) {
	principals := d.principals()
	held := map[catalog.Privilege]string{}
	req := catalog.GetEffectiveRequest{SecurableType: securableType, FullName: fullName}
	for {
		page, err := d.w.Grants.GetEffective(d.ctx, req)
		if d.stop(err) || err != nil {
			return nil, err
		}
		for _, a := range page.PrivilegeAssignments {
			how, ok := principals[a.Principal]
			if !ok {
				continue
			}
			for _, p := range a.Privileges {
				privs := []catalog.Privilege{p.Privilege}
				if p.Privilege == catalog.PrivilegeAllPrivileges {
					privs = append(privs, catalog.PrivilegeUseCatalog, catalog.PrivilegeCreateSchema, catalog.PrivilegeUseSchema,
						catalog.PrivilegeCreateTable, catalog.PrivilegeCreateMaterializedView, catalog.PrivilegeSelect, catalog.PrivilegeModify)
				}
				for _, q := range privs {
					if _, seen := held[q]; !seen {
						held[q] = how
					}
				}
			}
		}
		if page.NextPageToken == "" {
			return held, nil
		}
		req.PageToken = page.NextPageToken
	}
}

// deployerSchemaPrivileges are what the deploying identity needs on an
// existing monitoring schema it does not own: what the monitor's tables
// need when it runs the pipeline and jobs itself (targets without run_as;
// see model.RunAsPrivileges), and MANAGE to apply the bundle's grants.
var deployerSchemaPrivileges = []catalog.Privilege{catalog.PrivilegeUseSchema, catalog.PrivilegeCreateTable,
	catalog.PrivilegeCreateMaterializedView, catalog.PrivilegeSelect, catalog.PrivilegeModify, catalog.PrivilegeManage}

// schemaGrants checks the grants the deploying identity (the caller) has
// for deploying into bundle.schema: a schema the bundle creates is owned
// by its creator, who holds every privilege and may grant them; an
// existing one needs USE CATALOG on the catalog and, unless the caller owns
// it, the privileges above.
func (d *doctor) schemaGrants(cat *catalog.CatalogInfo, existing *catalog.SchemaInfo) Check {
	b := d.s.Bundle
	full := b.Catalog + "." + b.Schema
	c := Check{Name: "schema grants"}
	me := d.me.UserName
	principals := d.principals()
	switch {
	case cat == nil:
		c.Detail, c.Fix = "not checked: catalog "+b.Catalog+" is not usable", "fix the catalog check first"
		return c
	case existing == nil:
		c.OK = true
		c.Detail = fmt.Sprintf("%s will own %s when the bundle creates it, which conveys every privilege the monitor needs and the right to grant them (see the schema check for CREATE SCHEMA)", me, full)
		return c
	}
	if how, ok := principals[existing.Owner]; ok {
		c.OK = true
		c.Detail = fmt.Sprintf("%s owns %s (%s), which conveys every privilege the monitor needs and the right to grant them", me, full, how)
		return c
	}
	var missing []string
	onCatalog, err := d.effective("catalog", b.Catalog)
	if d.err != nil {
		return c
	}
	if err == nil && onCatalog[catalog.PrivilegeUseCatalog] == "" && principals[cat.Owner] == "" {
		missing = append(missing, "USE CATALOG on catalog "+b.Catalog)
	}
	onSchema, err2 := d.effective("schema", full)
	if d.err != nil {
		return c
	}
	if err == nil {
		err = err2
	}
	if err != nil {
		c.Detail = fmt.Sprintf("the grants on %s cannot be read: %s", full, reason(err))
		c.Fix = fmt.Sprintf("ask the owner of %s (%s) to confirm %s has %s on it", full, existing.Owner, me, privilegeList(deployerSchemaPrivileges))
		return c
	}
	var need []catalog.Privilege
	for _, p := range deployerSchemaPrivileges {
		if onSchema[p] == "" {
			need = append(need, p)
			missing = append(missing, sqlPrivilege(p)+" on schema "+full)
		}
	}
	if len(missing) == 0 {
		c.OK = true
		c.Detail = fmt.Sprintf("%s has %s on %s (owner %s)", me, privilegeList(deployerSchemaPrivileges), full, existing.Owner)
		return c
	}
	c.Detail = fmt.Sprintf("%s does not own %s (owner %s) and lacks %s", me, full, existing.Owner, strings.Join(missing, ", "))
	var fixes []string
	if len(need) > 0 {
		fixes = append(fixes, fmt.Sprintf("GRANT %s ON SCHEMA %s TO `%s`", privilegeList(need), full, me))
	}
	if len(missing) > len(need) {
		fixes = append(fixes, fmt.Sprintf("GRANT USE CATALOG ON CATALOG %s TO `%s`", b.Catalog, me))
	}
	c.Fix = "the owner runs " + strings.Join(fixes, "; ") + ", or the schema's owner deploys the bundle"
	return c
}

func sqlPrivilege(p catalog.Privilege) string {
	return strings.ReplaceAll(string(p), "_", " ")
}

func privilegeList(ps []catalog.Privilege) string {
	var out []string
	for _, p := range ps {
		out = append(out, sqlPrivilege(p))
	}
	return strings.Join(out, ", ")
}

// coverageQuery counts, per workspace, the jobs system.lakeflow.jobs holds
// here. The table is regional: it holds the workspaces of the region it is
// read in.
const coverageQuery = "SELECT workspace_id, CAST(count(DISTINCT job_id) AS BIGINT) AS jobs FROM system.lakeflow.jobs GROUP BY workspace_id ORDER BY workspace_id"

// jobTableCoverage checks that every spec workspace has rows in
// system.lakeflow.jobs as read from this workspace. Without a workspaces
// list it reports which workspaces the table covers.
func (d *doctor) jobTableCoverage(wh *warehouseInfo, readable map[string]bool) []Check {
	if wh == nil || !readable["system.lakeflow.jobs"] {
		return []Check{{Name: "job tables coverage", Detail: "not checked: system.lakeflow.jobs is not readable",
			Fix: "fix the select system.lakeflow.jobs check first"}}
	}
	rows, msg, err := d.query(wh.id, coverageQuery)
	if d.stop(err) {
		return nil
	}
	if err != nil || msg != "" {
		if msg == "" {
			msg = reason(err)
		}
		return []Check{{Name: "job tables coverage", Detail: "cannot count the jobs per workspace: " + msg,
			Fix: fmt.Sprintf("run `%s` on warehouse %q in the SQL editor for details", coverageQuery, wh.name)}}
	}
	jobs := map[string]string{}
	var ids []string
	for _, r := range rows {
		if len(r) == 2 {
			jobs[r[0]] = r[1]
			ids = append(ids, r[0])
		}
	}
	here := "this workspace"
	if d.wsID != "" {
		here = "workspace " + d.wsID
	}
	if len(d.s.Workspaces) == 0 {
		c := Check{Name: "job tables coverage", OK: len(ids) > 0}
		c.Detail = fmt.Sprintf("read from %s, system.lakeflow.jobs covers %d workspace(s): %s; they are the workspaces of its region (system.billing covers the whole account)",
			here, len(ids), quoteList(ids, 10))
		if len(ids) == 0 {
			c.Detail = "system.lakeflow.jobs has no rows read from " + here
			c.Fix = "jobs appear in the table within an hour of being created or changed; if the workspace has jobs, check the lakeflow system schema"
		}
		return []Check{c}
	}
	var out []Check
	for _, w := range d.s.Workspaces {
		name := w.ID
		if w.Name != "" {
			name = w.Name + " (" + w.ID + ")"
		}
		c := Check{Name: "job tables workspace " + w.ID}
		if n, ok := jobs[w.ID]; ok {
			c.OK = true
			c.Detail = fmt.Sprintf("system.lakeflow.jobs read from %s has %s job(s) of %s", here, n, name)
		} else {
			c.Detail = fmt.Sprintf("system.lakeflow.jobs read from %s has no rows of %s; most likely it is in another region: system.lakeflow and system.compute are regional (they hold the workspaces of the region they are read in), system.billing is global, so its cost would show but none of its runs", here, name)
			c.Fix = "deploy a second bundle from a workspace in that region for its jobs, or remove it from workspaces; if it is in this region, check its id (workspaces with rows here: " + quoteList(ids, 5) + ")"
		}
		out = append(out, c)
	}
	return out
}

// runAsNameQuery counts the live jobs whose latest definition in
// system.lakeflow.jobs has no run_as_user_name (rows emitted before late
// 2025; a job's row is re-emitted only when the job changes).
const runAsNameQuery = "SELECT CAST(count(*) AS BIGINT) AS jobs, CAST(count_if(coalesce(run_as_user_name, '') = '') AS BIGINT) AS without_name FROM (" +
	"SELECT run_as_user_name, delete_time, row_number() OVER (PARTITION BY workspace_id, job_id ORDER BY change_time DESC) AS rn " +
	"FROM system.lakeflow.jobs%s) WHERE rn = 1 AND delete_time IS NULL"

// runAsNames counts the jobs whose latest definition has no
// run_as_user_name and says what that means for run_as team rules. It is
// informational: the count is a property of the account, not a problem
// doctor can fix.
func (d *doctor) runAsNames(wh *warehouseInfo, readable map[string]bool) Check {
	c := Check{Name: "jobs without run_as_user_name"}
	if wh == nil || !readable["system.lakeflow.jobs"] {
		c.Detail, c.Fix = "not checked: system.lakeflow.jobs is not readable", "fix the select system.lakeflow.jobs check first"
		return c
	}
	filter := ""
	if len(d.s.Workspaces) > 0 {
		var ids []string
		for _, w := range d.s.Workspaces {
			ids = append(ids, model.SQLString(w.ID))
		}
		filter = " WHERE workspace_id IN (" + strings.Join(ids, ", ") + ")"
	}
	stmt := fmt.Sprintf(runAsNameQuery, filter)
	rows, msg, err := d.query(wh.id, stmt)
	if d.stop(err) {
		return c
	}
	if err == nil && msg == "" && (len(rows) != 1 || len(rows[0]) != 2) {
		msg = fmt.Sprintf("unexpected result %v", rows)
	}
	if err != nil || msg != "" {
		if msg == "" {
			msg = reason(err)
		}
		c.Detail = "cannot count them: " + msg
		c.Fix = fmt.Sprintf("run the query on warehouse %q in the SQL editor for details: %s", wh.name, stmt)
		return c
	}
	total, without := rows[0][0], rows[0][1]
	c.OK = true
	var teams []string
	for _, t := range d.s.Teams {
		if len(t.Match.RunAs) > 0 {
			teams = append(teams, t.Name)
		}
	}
	c.Detail = fmt.Sprintf("%s of %s live jobs have no run_as_user_name in their latest system.lakeflow.jobs row (written before late 2025; a job's row is re-emitted only when the job is changed)", without, total)
	switch {
	case without == "0":
	case len(teams) == 0:
		c.Detail += "; no team matches on run_as, so nothing depends on it"
	default:
		c.Detail += fmt.Sprintf("; the run_as rules of %s cannot match those jobs on this table's names, only where another source names the identity (the run_as of the job's billed usage, the collector's runs); a job without either falls to %s, and any change to a job re-emits its row with the name", quoteList(teams, 5), newTeamMatcher(d.s).unassigned)
	}
	return c
}

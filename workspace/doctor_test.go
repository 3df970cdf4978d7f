package workspace_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go/service/catalog"
	"github.com/databricks/databricks-sdk-go/service/iam"
	"github.com/databricks/databricks-sdk-go/service/jobs"

	"github.com/dbmon/dbmon/generator/spec"
	"github.com/dbmon/dbmon/workspace"
	"github.com/dbmon/dbmon/workspace/workspacetest"
)

func render(checks []workspace.Check, host string) []byte {
	var b strings.Builder
	for _, c := range checks {
		b.WriteString(strings.ReplaceAll(c.String(), host, "$DATABRICKS_HOST") + "\n")
	}
	return []byte(b.String())
}

func failed(checks []workspace.Check) []string {
	var out []string
	for _, c := range checks {
		if !c.OK {
			out = append(out, c.Name)
		}
	}
	return out
}

func find(t *testing.T, checks []workspace.Check, name string) workspace.Check {
	t.Helper()
	for _, c := range checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %q in %v", name, checks)
	return workspace.Check{}
}

func TestDoctorHealthy(t *testing.T) {
	ws := workspacetest.Healthy(testNow)
	w, srv := connect(t, ws)
	checks, err := workspace.Doctor(context.Background(), w, loadSpec(t, "healthy.yaml"), workspace.DoctorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "doctor_healthy.golden", render(checks, srv.URL))
	if f := failed(checks); len(f) > 0 {
		t.Errorf("failed checks: %v", f)
	}
	reqs := ws.Requests()
	// System schemas: max_results=0 (the paginated API), and every page
	// read, through the empty page that still has a next_page_token.
	for _, tok := range []string{"max_results=0", "page_token=ss-1", "page_token=ss-2", "page_token=ss-3"} {
		if !hasRequest(reqs, "/systemschemas?", tok) {
			t.Errorf("no system schemas request with %s in %v", tok, reqs)
		}
	}
	if n := countRequests(reqs, "GET /api/2.2/jobs/list"); n != 3 {
		t.Errorf("jobs/list called %d times, want 3 pages", n)
	}
	if len(ws.Enabled()) > 0 {
		t.Errorf("doctor without --fix enabled %v", ws.Enabled())
	}
}

func TestDoctorBroken(t *testing.T) {
	ws := workspacetest.Broken(testNow)
	w, srv := connect(t, ws)
	checks, err := workspace.Doctor(context.Background(), w, loadSpec(t, "broken.yaml"), workspace.DoctorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "doctor_broken.golden", render(checks, srv.URL))
	if len(ws.Enabled()) > 0 {
		t.Errorf("doctor without --fix enabled %v", ws.Enabled())
	}
}

func TestDoctorFixEnablesAvailableSchemas(t *testing.T) {
	ws := workspacetest.Healthy(testNow)
	ws.SystemSchemas[3].State = "AVAILABLE" // lakeflow
	ws.SystemSchemas[2].State = ""          // compute: empty means available
	w, _ := connect(t, ws)
	checks, err := workspace.Doctor(context.Background(), w, loadSpec(t, "healthy.yaml"), workspace.DoctorOptions{Fix: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ws.Enabled(), ","); got != "lakeflow,compute" {
		t.Errorf("enabled %q, want lakeflow,compute (in the order checked; never billing's MANAGED or the unneeded query)", got)
	}
	c := find(t, checks, "system schema lakeflow")
	if !c.OK || c.Detail != "enabled now by --fix (was AVAILABLE); its tables appear within minutes" {
		t.Errorf("lakeflow: %s", c)
	}
	c = find(t, checks, "system schema compute")
	if !c.OK || !strings.Contains(c.Detail, "was AVAILABLE, reported as an empty state") {
		t.Errorf("compute: %s", c)
	}
}

func TestDoctorFixRefusedNeedsMetastoreAdmin(t *testing.T) {
	ws := workspacetest.Broken(testNow)
	w, _ := connect(t, ws)
	checks, err := workspace.Doctor(context.Background(), w, loadSpec(t, "broken.yaml"), workspace.DoctorOptions{Fix: true})
	if err != nil {
		t.Fatal(err)
	}
	c := find(t, checks, "system schema lakeflow")
	want := "✗ system schema lakeflow: available but not enabled, and --fix was refused: User alice@example.com does not have MANAGE on Metastore '" +
		workspacetest.MetastoreID + "'. (HTTP 403) — fix: enabling a system schema needs a metastore admin or account admin; ask one to run `dbmon doctor --fix` or `databricks system-schemas enable " +
		workspacetest.MetastoreID + " lakeflow`"
	if c.String() != want {
		t.Errorf("got  %s\nwant %s", c, want)
	}
	// compute is being disabled: --fix leaves it alone.
	if c := find(t, checks, "system schema compute"); c.OK || !strings.Contains(c.Detail, "DISABLE_INITIALIZED") {
		t.Errorf("compute: %s", c)
	}
}

// A user who is not a metastore admin may not list system schemas (403);
// the SELECT checks then stand in for the state.
func TestDoctorSchemaListForbidden(t *testing.T) {
	ws := workspacetest.Healthy(testNow)
	ws.Failures = map[string]*workspacetest.Failure{
		"GET /api/2.1/unity-catalog/metastores/" + workspacetest.MetastoreID + "/systemschemas": {Status: 403, Code: "PERMISSION_DENIED",
			Message: "User is not a metastore admin or account admin."},
	}
	ws.StatementErrors = map[string]sqlError{"system.compute.node_timeline": insufficient("system.compute.node_timeline")}
	w, _ := connect(t, ws)
	checks, err := workspace.Doctor(context.Background(), w, loadSpec(t, "healthy.yaml"), workspace.DoctorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := find(t, checks, "system schema lakeflow")
	if !c.OK || c.Detail != "enabled: its tables are readable (the state itself was not read: User is not a metastore admin or account admin. (HTTP 403))" {
		t.Errorf("lakeflow: %s", c)
	}
	c = find(t, checks, "system schema compute")
	if c.OK || !strings.Contains(c.Fix, "needs a metastore admin") {
		t.Errorf("compute: %s", c)
	}
	c = find(t, checks, "select system.compute.node_timeline")
	if c.OK || !strings.HasPrefix(c.Fix, "a metastore admin runs GRANT USE CATALOG ON CATALOG system TO `alice@example.com`; GRANT USE SCHEMA, SELECT ON SCHEMA system.compute") {
		t.Errorf("node_timeline: %s", c)
	}
}

// Regions: a spec workspace without rows in system.lakeflow.jobs read from
// here is reported, with regionality as the likely cause; listed
// workspaces with rows pass.
func TestDoctorJobTableCoverage(t *testing.T) {
	ws := workspacetest.Healthy(testNow)
	w, _ := connect(t, ws)
	s := loadSpec(t, "healthy.yaml")
	s.Workspaces = []spec.Workspace{{ID: workspacetest.WorkspaceID, Name: "here"}, {ID: "9999999999999999", Name: "far-away"}}
	checks, err := workspace.Doctor(context.Background(), w, s, workspace.DoctorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c := find(t, checks, "job tables workspace "+workspacetest.WorkspaceID); !c.OK || !strings.Contains(c.Detail, "has 9 job(s) of here") {
		t.Errorf("this workspace: %s", c)
	}
	c := find(t, checks, "job tables workspace 9999999999999999")
	if c.OK || !strings.Contains(c.Detail, "no rows of far-away (9999999999999999)") || !strings.Contains(c.Detail, "another region") ||
		!strings.Contains(c.Detail, "system.billing is global") || !strings.Contains(c.Fix, `"2222222222222222"`) {
		t.Errorf("far-away: %s", c)
	}
	// With a workspaces list the run_as count is limited to those workspaces.
	if !slices.ContainsFunc(ws.Statements(), func(st string) bool {
		return strings.Contains(st, "run_as_user_name") && strings.Contains(st, "WHERE workspace_id IN ('1234567890123456', '9999999999999999')")
	}) {
		t.Errorf("the run_as count is not limited to the spec's workspaces: %q", ws.Statements())
	}
	if c := find(t, checks, "jobs without run_as_user_name"); !c.OK || !strings.HasPrefix(c.Detail, "2 of 9 live jobs") || !strings.Contains(c.Detail, `run_as rules of "ml"`) {
		t.Errorf("run_as names: %s", c)
	}
}

// A spec whose teams do not match on run_as hears that nothing depends on
// the missing names; an empty result is an error, not zero.
func TestDoctorRunAsNames(t *testing.T) {
	ws := workspacetest.Healthy(testNow)
	w, _ := connect(t, ws)
	s := loadSpec(t, "healthy.yaml")
	s.Teams = s.Teams[:2]
	checks, err := workspace.Doctor(context.Background(), w, s, workspace.DoctorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c := find(t, checks, "jobs without run_as_user_name"); !c.OK || !strings.HasSuffix(c.Detail, "no team matches on run_as, so nothing depends on it") {
		t.Errorf("run_as names: %s", c)
	}
	ws.Update(func(ws *workspacetest.Workspace) { ws.StatementResults["count_if(coalesce(run_as_user_name"] = nil })
	checks, err = workspace.Doctor(context.Background(), w, s, workspace.DoctorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c := find(t, checks, "jobs without run_as_user_name"); c.OK || !strings.Contains(c.Detail, "unexpected result") {
		t.Errorf("empty result: %s", c)
	}
}

// An existing schema the caller does not own needs the privileges the
// monitor uses and MANAGE (the bundle's grants); doctor names what is
// missing and the GRANT that fixes it.
func TestDoctorSchemaGrantsExisting(t *testing.T) {
	ws := workspacetest.Healthy(testNow)
	ws.Schemas["ops.job_monitoring"] = catalog.SchemaInfo{Name: "job_monitoring", CatalogName: "ops", FullName: "ops.job_monitoring", Owner: "platform-admins"}
	ws.Effective["schema/ops.job_monitoring"] = []catalog.EffectivePrivilegeAssignment{
		{Principal: "data-engineers", Privileges: []catalog.EffectivePrivilege{
			{Privilege: catalog.PrivilegeUseSchema}, {Privilege: catalog.PrivilegeSelect},
			{Privilege: catalog.PrivilegeCreateTable, InheritedFromName: "ops", InheritedFromType: catalog.SecurableTypeCatalog}}},
	}
	w, _ := connect(t, ws)
	checks, err := workspace.Doctor(context.Background(), w, loadSpec(t, "healthy.yaml"), workspace.DoctorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := find(t, checks, "schema grants")
	want := "✗ schema grants: alice@example.com does not own ops.job_monitoring (owner platform-admins) and lacks CREATE MATERIALIZED VIEW on schema ops.job_monitoring, MODIFY on schema ops.job_monitoring, MANAGE on schema ops.job_monitoring" +
		" — fix: the owner runs GRANT CREATE MATERIALIZED VIEW, MODIFY, MANAGE ON SCHEMA ops.job_monitoring TO `alice@example.com`, or the schema's owner deploys the bundle"
	if c.String() != want {
		t.Errorf("got  %s\nwant %s", c, want)
	}
	// ALL PRIVILEGES and MANAGE through a group: ready.
	ws.Update(func(ws *workspacetest.Workspace) {
		ws.Effective["schema/ops.job_monitoring"] = []catalog.EffectivePrivilegeAssignment{{Principal: "data-engineers",
			Privileges: []catalog.EffectivePrivilege{{Privilege: catalog.PrivilegeAllPrivileges}, {Privilege: catalog.PrivilegeManage}}}}
	})
	checks, err = workspace.Doctor(context.Background(), w, loadSpec(t, "healthy.yaml"), workspace.DoctorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c := find(t, checks, "schema grants"); !c.OK {
		t.Errorf("all privileges: %s", c)
	}
	// Owning the schema through a group is enough.
	ws.Update(func(ws *workspacetest.Workspace) {
		s := ws.Schemas["ops.job_monitoring"]
		s.Owner = "data-engineers"
		ws.Schemas["ops.job_monitoring"] = s
		delete(ws.Effective, "schema/ops.job_monitoring")
	})
	checks, err = workspace.Doctor(context.Background(), w, loadSpec(t, "healthy.yaml"), workspace.DoctorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c := find(t, checks, "schema grants"); !c.OK || !strings.Contains(c.Detail, "owns ops.job_monitoring (through group data-engineers)") {
		t.Errorf("owner: %s", c)
	}
}

// The SDK retries a 429; doctor sees only the success.
func TestDoctorRetriesTooManyRequests(t *testing.T) {
	ws := workspacetest.Healthy(testNow)
	ws.Failures = map[string]*workspacetest.Failure{
		"GET /api/2.1/unity-catalog/current-metastore-assignment": {Status: 429, Code: "REQUEST_LIMIT_EXCEEDED",
			Message: "Too many requests. Please wait a moment and try again.", Times: 1},
	}
	w, _ := connect(t, ws)
	start := time.Now()
	checks, err := workspace.Doctor(context.Background(), w, loadSpec(t, "healthy.yaml"), workspace.DoctorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f := failed(checks); len(f) > 0 {
		t.Errorf("failed checks after a 429: %v", f)
	}
	if n := countRequests(ws.Requests(), "GET /api/2.1/unity-catalog/current-metastore-assignment"); n != 2 {
		t.Errorf("metastore assignment requested %d times, want 2 (a 429, then the retry)", n)
	}
	t.Logf("doctor with one 429 took %s", time.Since(start).Round(time.Millisecond))
}

func TestDoctorNotFound(t *testing.T) {
	ws := workspacetest.Healthy(testNow)
	ws.Metastore = nil
	ws.Warehouses[0].Name = "shared serverless"
	w, _ := connect(t, ws)
	checks, err := workspace.Doctor(context.Background(), w, loadSpec(t, "healthy.yaml"), workspace.DoctorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"metastore":            "✗ metastore: no Unity Catalog metastore is assigned to this workspace; system tables need one — fix: an account admin assigns a metastore to the workspace (account console > Catalog)",
		"system schemas":       "✗ system schemas: not checked: no metastore — fix: fix the metastore check first",
		"warehouse":            `✗ warehouse: no SQL warehouse named "Shared Serverless"; did you mean "shared serverless"?; visible warehouses: "Reporting", "shared serverless" — fix: set bundle.warehouse to the exact name (case matters) or use bundle.warehouse_id`,
		"select system tables": "✗ select system tables: not checked: no usable SQL warehouse — fix: fix the warehouse check first",
	} {
		if got := find(t, checks, name).String(); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

func TestDoctorRejectedToken(t *testing.T) {
	ws := workspacetest.Healthy(testNow)
	_, srv := connect(t, ws)
	t.Setenv("DATABRICKS_TOKEN", "dapi-wrong")
	w, err := workspace.Connect(workspace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checks, err := workspace.Doctor(context.Background(), w, loadSpec(t, "healthy.yaml"), workspace.DoctorOptions{})
	var ce *workspace.ConnectError
	if !errors.As(err, &ce) || ce.Network || len(checks) > 0 {
		t.Fatalf("got %v, %v; want an authentication ConnectError", checks, err)
	}
	want := "cannot authenticate to " + srv.URL + ": Invalid access token. (HTTP 401); set DATABRICKS_HOST and DATABRICKS_TOKEN or use --profile"
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
}

func TestDoctorUnreachable(t *testing.T) {
	isolate(t)
	srv := httptestClosed()
	t.Setenv("DATABRICKS_HOST", srv)
	t.Setenv("DATABRICKS_TOKEN", workspacetest.Token)
	w, err := workspace.Connect(workspace.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = workspace.Doctor(context.Background(), w, loadSpec(t, "healthy.yaml"), workspace.DoctorOptions{})
	var ce *workspace.ConnectError
	if !errors.As(err, &ce) || !ce.Network {
		t.Fatalf("got %v; want a network ConnectError", err)
	}
	if !strings.HasPrefix(err.Error(), "cannot reach "+srv+": ") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("unexpected message: %s", err)
	}
}

func TestDoctorNoCredentials(t *testing.T) {
	isolate(t)
	w, err := workspace.Connect(workspace.Options{})
	if err == nil {
		_, err = workspace.Doctor(context.Background(), w, loadSpec(t, "healthy.yaml"), workspace.DoctorOptions{})
	}
	want := "cannot authenticate: no credentials found: no token, OAuth client or usable profile is configured; set DATABRICKS_HOST and DATABRICKS_TOKEN or use --profile"
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

func TestDoctorUnknownProfile(t *testing.T) {
	isolate(t)
	_, err := workspace.Connect(workspace.Options{Profile: "nope"})
	want := "cannot authenticate: profile nope: " + os.Getenv("DATABRICKS_CONFIG_FILE") + " does not exist; set DATABRICKS_HOST and DATABRICKS_TOKEN or use --profile"
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	cfg := os.Getenv("DATABRICKS_CONFIG_FILE")
	if err := os.WriteFile(cfg, []byte("[DEFAULT]\nhost = https://example.cloud.databricks.com\ntoken = x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = workspace.Connect(workspace.Options{Profile: "nope"})
	want = "cannot authenticate: " + cfg + " has no nope profile configured; set DATABRICKS_HOST and DATABRICKS_TOKEN or use --profile"
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

func TestCheckString(t *testing.T) {
	for _, tc := range []struct {
		c    workspace.Check
		want string
	}{
		{workspace.Check{Name: "a", OK: true, Detail: "fine", Fix: "ignored"}, "✓ a: fine"},
		{workspace.Check{Name: "b", Detail: "broken", Fix: "mend it"}, "✗ b: broken — fix: mend it"},
		{workspace.Check{Name: "c", Detail: "broken"}, "✗ c: broken"},
	} {
		if got := tc.c.String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

// TestDoctorCollectorAccess: doctor checks that each identity the collector
// runs as can view the workspace's jobs (a workspace admin, or CAN VIEW on
// each job), since runs/get-output answers 403 otherwise, and says what to
// grant.
func TestDoctorCollectorAccess(t *testing.T) {
	const app = "5e1f0000-aaaa-bbbb-cccc-000000000001"
	view := func(group string) []jobs.JobAccessControlResponse {
		return []jobs.JobAccessControlResponse{{GroupName: group, AllPermissions: []jobs.JobPermission{{PermissionLevel: jobs.JobPermissionLevelCanView}}}}
	}
	withRunAs := func(t *testing.T) *spec.Spec {
		s := loadSpec(t, "healthy.yaml")
		s.Bundle.Targets = map[string]spec.Target{"dev": {}, "prod": {RunAs: &spec.RunAs{ServicePrincipalName: app}}}
		return s
	}
	run := func(t *testing.T, ws *workspacetest.Workspace, s *spec.Spec) ([]workspace.Check, []string) {
		t.Helper()
		w, _ := connect(t, ws)
		checks, err := workspace.Doctor(context.Background(), w, s, workspace.DoctorOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return checks, ws.Requests()
	}
	permissionReads := func(reqs []string) int {
		n := 0
		for _, r := range reqs {
			if strings.HasPrefix(r, "GET /api/2.0/permissions/jobs/") {
				n++
			}
		}
		return n
	}

	t.Run("service principal without CAN VIEW on two jobs", func(t *testing.T) {
		ws := workspacetest.Healthy(testNow)
		ws.ServicePrincipals = []iam.ServicePrincipal{{Id: "3001", ApplicationId: app, DisplayName: "dbmon-sp",
			Groups: []iam.ComplexValue{{Display: "monitoring"}}}}
		ws.JobPermissions = map[string][]jobs.JobAccessControlResponse{}
		for id := 101; id <= 109; id++ {
			ws.JobPermissions[strconv.Itoa(id)] = view("monitoring")
		}
		ws.JobPermissions["102"] = nil
		ws.JobPermissions["108"] = []jobs.JobAccessControlResponse{{ServicePrincipalName: workspacetest.MLPrincipal,
			AllPermissions: []jobs.JobPermission{{PermissionLevel: jobs.JobPermissionLevelIsOwner}}}}
		ws.JobPermissions["105"] = view("users") // every principal is in users
		checks, reqs := run(t, ws, withRunAs(t))
		sp := find(t, checks, "collector identity "+app)
		if sp.OK {
			t.Fatalf("passed: %s", sp)
		}
		for _, want := range []string{"may not view 2 of 9 job(s) visible to alice@example.com", `"102", "108"`, "permission denied", "target prod"} {
			if !strings.Contains(sp.Detail, want) {
				t.Errorf("detail %q lacks %q", sp.Detail, want)
			}
		}
		for _, want := range []string{"workspace admin", "databricks jobs update-permissions 102", `"service_principal_name": "` + app + `"`, `"permission_level": "CAN_VIEW"`} {
			if !strings.Contains(sp.Fix, want) {
				t.Errorf("fix %q lacks %q", sp.Fix, want)
			}
		}
		if n := permissionReads(reqs); n != 9 {
			t.Errorf("%d job permission reads, want one per visible job (9)", n)
		}
		// The dev target runs it as the deploying identity, which views
		// every live job.
		if dev := find(t, checks, "collector identity alice@example.com"); !dev.OK || !strings.Contains(dev.Detail, "target dev") {
			t.Errorf("deployer: %s", dev)
		}

		ws.Update(func(ws *workspacetest.Workspace) {
			ws.JobPermissions["102"] = view("monitoring")
			ws.JobPermissions["108"] = append(ws.JobPermissions["108"], view("monitoring")...)
		})
		checks, _ = run(t, ws, withRunAs(t))
		if sp := find(t, checks, "collector identity "+app); !sp.OK || !strings.Contains(sp.Detail, "CAN VIEW or more on 9 job(s)") {
			t.Errorf("after granting: %s", sp)
		}
	})

	t.Run("service principal that is a workspace admin", func(t *testing.T) {
		ws := workspacetest.Healthy(testNow)
		ws.ServicePrincipals = []iam.ServicePrincipal{{Id: "3001", ApplicationId: app, Groups: []iam.ComplexValue{{Display: "admins"}}}}
		checks, reqs := run(t, ws, withRunAs(t))
		if sp := find(t, checks, "collector identity "+app); !sp.OK || !strings.Contains(sp.Detail, "workspace admin") {
			t.Errorf("%s", sp)
		}
		if n := permissionReads(reqs); n != 0 {
			t.Errorf("%d job permission reads for an admin, want 0", n)
		}
	})

	t.Run("service principal missing from the workspace", func(t *testing.T) {
		checks, _ := run(t, workspacetest.Healthy(testNow), withRunAs(t))
		sp := find(t, checks, "collector identity "+app)
		if sp.OK || !strings.Contains(sp.Detail, "no service principal "+app) || !strings.Contains(sp.Fix, "add "+app+" to the workspace") {
			t.Errorf("%s", sp)
		}
	})

	t.Run("deploying identity sees fewer jobs than the system table", func(t *testing.T) {
		ws := workspacetest.Healthy(testNow)
		ws.StatementResults["AS live_jobs"] = [][]string{{"12"}}
		checks, _ := run(t, ws, loadSpec(t, "healthy.yaml"))
		c := find(t, checks, "collector identity alice@example.com")
		if c.OK || !strings.Contains(c.Detail, "views 9 of the 12 live jobs") || !strings.Contains(c.Detail, "other 3 as permission denied") ||
			!strings.Contains(c.Fix, `"user_name": "alice@example.com"`) {
			t.Errorf("%s", c)
		}
	})

	t.Run("collector disabled", func(t *testing.T) {
		s := loadSpec(t, "healthy.yaml")
		off := false
		s.Collector.Enabled = &off
		checks, _ := run(t, workspacetest.Healthy(testNow), s)
		for _, c := range checks {
			if strings.HasPrefix(c.Name, "collector identity") {
				t.Errorf("check %s without a collector", c)
			}
		}
	})
}

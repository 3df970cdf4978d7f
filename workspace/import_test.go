package workspace_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/dbmon/dbmon/generator"
	"github.com/dbmon/dbmon/generator/spec"
	"github.com/dbmon/dbmon/twin"
	"github.com/dbmon/dbmon/workspace"
	"github.com/dbmon/dbmon/workspace/workspacetest"
)

// checkValid requires that the proposed spec loads, passes the KPI check
// and generates a bundle.
func checkValid(t *testing.T, name string, data []byte) *spec.Spec {
	t.Helper()
	res, diags, err := generator.Prepare(name, data, generator.WithKPICheck(twin.CheckKPIs))
	if len(diags) > 0 {
		var b strings.Builder
		diags.Print(&b)
		t.Fatalf("the proposed spec is invalid:\n%s\n%s", b.String(), data)
	}
	if err != nil {
		t.Fatalf("the proposed spec does not generate: %v", err)
	}
	return res.Spec
}

func TestImportFresh(t *testing.T) {
	ws := workspacetest.Healthy(testNow)
	w, srv := connect(t, ws)
	res, err := workspace.Import(context.Background(), w, workspace.ImportOptions{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	out := bytes.ReplaceAll(res.YAML, []byte(srv.URL), []byte("$DATABRICKS_HOST"))
	golden(t, "import_fresh.golden.yaml", out)
	s := checkValid(t, "dbmon.yaml", res.YAML)

	if res.Jobs != 9 || res.Runs != 172 {
		t.Errorf("read %d jobs and %d runs, want 9 and 172", res.Jobs, res.Runs)
	}
	if got := strings.Join(res.Teams, ","); got != "data-science,finance,platform,carol,dave,sp-9f5c2c1e" {
		t.Errorf("teams %s", got)
	}
	if got := strings.Join(res.SLAs, ","); got != "revenue_daily,nightly-etl,platform_compaction,marketing-attribution,ml-training,ml-feature-refresh" {
		t.Errorf("slas %s", got)
	}
	if len(s.Teams) != len(res.Teams) || len(s.SLAs) != len(res.SLAs) || res.Doc == nil {
		t.Errorf("the spec has %d teams and %d SLAs; the result names %d and %d", len(s.Teams), len(s.SLAs), len(res.Teams), len(res.SLAs))
	}

	reqs := ws.Requests()
	// Every page of jobs (3 per page) and of runs (5 per page).
	if n := countRequests(reqs, "GET /api/2.2/jobs/list"); n != 3 {
		t.Errorf("jobs/list called %d times, want 3", n)
	}
	if n := countRequests(reqs, "GET /api/2.2/jobs/runs/list"); n != 35 {
		t.Errorf("runs/list called %d times, want 35 (172 runs, 5 a page)", n)
	}
	since := testNow.AddDate(0, 0, -30).UnixMilli()
	if !hasRequest(reqs, "GET /api/2.2/jobs/runs/list?", "completed_only=true", "limit=0", "start_time_from="+itoa(since)) {
		t.Errorf("no runs/list request with completed_only, limit=0 and start_time_from in %v", reqs[:5])
	}
	if !hasRequest(reqs, "GET /api/2.2/jobs/list?", "limit=100", "page_token=") {
		t.Errorf("jobs/list did not follow page tokens")
	}
}

// The SDK retries a 429 on a paginated listing; the result is the same.
func TestImportRetriesTooManyRequests(t *testing.T) {
	ws := workspacetest.Healthy(testNow)
	ws.Failures = map[string]*workspacetest.Failure{
		"GET /api/2.2/jobs/runs/list": {Status: 429, Code: "REQUEST_LIMIT_EXCEEDED", Message: "Too many requests.", Times: 1},
	}
	w, srv := connect(t, ws)
	res, err := workspace.Import(context.Background(), w, workspace.ImportOptions{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "import_fresh.golden.yaml", bytes.ReplaceAll(res.YAML, []byte(srv.URL), []byte("$DATABRICKS_HOST")))
	if n := countRequests(ws.Requests(), "GET /api/2.2/jobs/runs/list"); n != 36 {
		t.Errorf("runs/list called %d times, want 36 (one 429 retried)", n)
	}
}

func TestImportForbidden(t *testing.T) {
	ws := workspacetest.Healthy(testNow)
	ws.Failures = map[string]*workspacetest.Failure{
		"GET /api/2.2/jobs/runs/list": {Status: 403, Code: "PERMISSION_DENIED", Message: "This API is disabled for users without the workspace access entitlement."},
	}
	w, _ := connect(t, ws)
	_, err := workspace.Import(context.Background(), w, workspace.ImportOptions{Now: testNow})
	var ce *workspace.ConnectError
	if err == nil || errors.As(err, &ce) || err.Error() != "This API is disabled for users without the workspace access entitlement." {
		t.Errorf("got %v (%T)", err, err)
	}
}

func TestImportRejectedToken(t *testing.T) {
	ws := workspacetest.Healthy(testNow)
	ws.Token = "another"
	w, srv := connect(t, ws)
	_, err := workspace.Import(context.Background(), w, workspace.ImportOptions{Now: testNow})
	var ce *workspace.ConnectError
	if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), "cannot authenticate to "+srv.URL+": Invalid access token. (HTTP 401)") {
		t.Errorf("got %v", err)
	}
}

// Merging keeps every line of the user's spec, adds only the teams for jobs
// no existing team owns and the SLAs for jobs no existing SLA selects.
func TestImportMerge(t *testing.T) {
	ws := workspacetest.Healthy(testNow)
	w, _ := connect(t, ws)
	path := filepath.Join("testdata", "merge_existing.yaml")
	existing, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := workspace.Import(context.Background(), w, workspace.ImportOptions{Now: testNow, Existing: existing, File: path})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "import_merge.golden.yaml", res.YAML)
	checkValid(t, path, res.YAML)
	keepsLines(t, existing, res.YAML)
	if got := strings.Join(res.Teams, ","); got != "data-science,finance,carol,dave,sp-9f5c2c1e" {
		t.Errorf("teams %s (platform's jobs belong to data-platform already)", got)
	}
	if strings.Contains(strings.Join(res.SLAs, ","), "revenue") {
		t.Errorf("revenue_daily has an SLA already: %v", res.SLAs)
	}

	// Merging again adds nothing and changes nothing.
	again, err := workspace.Import(context.Background(), w, workspace.ImportOptions{Now: testNow, Existing: res.YAML, File: path})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Teams)+len(again.SLAs) > 0 || !bytes.Equal(again.YAML, res.YAML) {
		t.Errorf("a second merge added %v %v", again.Teams, again.SLAs)
	}
}

// A spec without teams or slas gets them appended; one with a flow-style
// list is rewritten through yaml.v3 nodes, comments kept.
func TestImportMergeLayouts(t *testing.T) {
	ws := workspacetest.Healthy(testNow)
	w, _ := connect(t, ws)
	for _, tc := range []struct{ name, spec string }{
		{"append", "version: 1 # mine\nbundle: {name: b, catalog: c, schema: s, warehouse: w}\n# trailing note\n"},
		{"flow", "version: 1\nbundle: {name: b, catalog: c, schema: s, warehouse: w}\nteams: []   # none yet\nslas: [{name: old, jobs: {names: [x]}, max_duration: 1h}]\n"},
		{"crlf", "version: 1\r\nbundle:\r\n  name: b\r\n  catalog: c\r\n  schema: s\r\n  warehouse: w\r\nslas:\r\n- name: old\r\n  jobs: {names: [x]}\r\n  max_duration: 1h\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := workspace.Import(context.Background(), w, workspace.ImportOptions{Now: testNow, Existing: []byte(tc.spec), File: "dbmon.yaml"})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "import_merge_"+tc.name+".golden.yaml", res.YAML)
			checkValid(t, "dbmon.yaml", res.YAML)
			if tc.name != "flow" {
				keepsLines(t, []byte(tc.spec), res.YAML)
			}
			if tc.name == "crlf" && bytes.Count(res.YAML, []byte("\n")) != bytes.Count(res.YAML, []byte("\r\n")) {
				t.Errorf("mixed line endings")
			}
		})
	}
}

func TestImportInvalidExisting(t *testing.T) {
	ws := workspacetest.Healthy(testNow)
	w, _ := connect(t, ws)
	_, err := workspace.Import(context.Background(), w, workspace.ImportOptions{Existing: []byte("version: 2\n"), File: "x.yaml"})
	var se *workspace.SpecError
	if !errors.As(err, &se) || len(se.Diags) == 0 {
		t.Fatalf("got %v", err)
	}
	if len(ws.Requests()) > 1 { // the SDK's host metadata lookup only
		t.Errorf("an invalid spec should be reported before calling the API: %v", ws.Requests())
	}
}

// With a history window other than 30 days the SLAs carry window_days.
func TestImportDays(t *testing.T) {
	ws := workspacetest.Healthy(testNow)
	w, _ := connect(t, ws)
	res, err := workspace.Import(context.Background(), w, workspace.ImportOptions{Now: testNow, Days: 7})
	if err != nil {
		t.Fatal(err)
	}
	s := checkValid(t, "dbmon.yaml", res.YAML)
	var names []string
	for _, sla := range s.SLAs {
		names = append(names, sla.Name)
		if sla.MinSuccessRate != nil && sla.WindowDays != 7 {
			t.Errorf("%s: window_days %d, want 7", sla.Name, sla.WindowDays)
		}
	}
	// platform_compaction runs on weekdays only: 5 runs in 7 days, one of
	// them failed.
	if want := []string{"revenue_daily", "nightly-etl", "marketing-attribution", "ml-training", "ml-feature-refresh"}; !reflect.DeepEqual(names, want) {
		t.Errorf("slas %v, want %v", names, want)
	}
	if !strings.Contains(strings.Join(res.Skipped, "\n"), `"platform_compaction" (4 successful runs in the last 7 days; an SLA needs 5)`) {
		t.Errorf("skipped: %v", res.Skipped)
	}
}

// keepsLines requires that every line of before appears in after, in order.
func keepsLines(t *testing.T, before, after []byte) {
	t.Helper()
	rest := strings.Split(string(after), "\n")
	for _, line := range strings.Split(string(before), "\n") {
		i := 0
		for i < len(rest) && rest[i] != line {
			i++
		}
		if i == len(rest) {
			t.Errorf("line %q of the existing spec is missing or out of order", line)
			return
		}
		rest = rest[i+1:]
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

package workspace_test

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go"
	"github.com/databricks/databricks-sdk-go/service/sql"
	"github.com/pmezard/go-difflib/difflib"

	"github.com/dbmon/dbmon/generator/spec"
	"github.com/dbmon/dbmon/workspace"
	"github.com/dbmon/dbmon/workspace/workspacetest"
)

// testNow is the fixed "now" of the fake workspaces' history.
var testNow = time.Date(2026, 6, 15, 14, 30, 0, 0, time.UTC)

// isolate keeps the developer's Databricks configuration out of a test.
func isolate(t *testing.T) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("DATABRICKS_CONFIG_FILE", filepath.Join(home, "no-databrickscfg"))
	for _, k := range []string{"DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE", "DATABRICKS_CLIENT_ID",
		"DATABRICKS_CLIENT_SECRET", "DATABRICKS_AUTH_TYPE", "DATABRICKS_ACCOUNT_ID", "DATABRICKS_WORKSPACE_ID",
		"DATABRICKS_USERNAME", "DATABRICKS_PASSWORD", "DATABRICKS_METADATA_SERVICE_URL", "DATABRICKS_CLUSTER_ID",
		"DATABRICKS_WAREHOUSE_ID", "ARM_CLIENT_ID", "ARM_CLIENT_SECRET", "ARM_TENANT_ID", "ARM_USE_MSI",
		"DATABRICKS_AZURE_RESOURCE_ID", "GOOGLE_CREDENTIALS", "DATABRICKS_GOOGLE_SERVICE_ACCOUNT"} {
		t.Setenv(k, "")
	}
	// The SDK's default of 15 requests a second would make the paginated
	// fixtures slow.
	t.Setenv("DATABRICKS_RATE_LIMIT", "10000")
}

// connect starts ws and connects to it the way the CLI does: through the
// environment.
func connect(t *testing.T, ws *workspacetest.Workspace) (*databricks.WorkspaceClient, *httptest.Server) {
	t.Helper()
	isolate(t)
	srv := ws.Start()
	t.Cleanup(srv.Close)
	t.Setenv("DATABRICKS_HOST", srv.URL)
	t.Setenv("DATABRICKS_TOKEN", workspacetest.Token)
	w, err := workspace.Connect(workspace.Options{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return w, srv
}

func loadSpec(t *testing.T, name string) *spec.Spec {
	t.Helper()
	path := filepath.Join("testdata", name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, diags := spec.Load(path, data)
	if len(diags) > 0 {
		t.Fatalf("%s is invalid:\n%v", path, diags)
	}
	return s
}

// golden compares got with testdata/name, or rewrites it with DBMON_UPDATE=1
// (the one switch of every golden in the repository).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if os.Getenv("DBMON_UPDATE") != "" {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with DBMON_UPDATE=1 to create it)", err)
	}
	if string(want) != string(got) {
		diff, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{A: difflib.SplitLines(string(want)),
			B: difflib.SplitLines(string(got)), FromFile: path, ToFile: "got", Context: 2})
		t.Errorf("%s differs (run with DBMON_UPDATE=1 to accept):\n%s", path, diff)
	}
}

func hasRequest(reqs []string, parts ...string) bool {
	for _, r := range reqs {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(r, p)
		}
		if all {
			return true
		}
	}
	return false
}

func countRequests(reqs []string, prefix string) int {
	n := 0
	for _, r := range reqs {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

type sqlError = sql.ServiceError

func insufficient(table string) sql.ServiceError {
	return sql.ServiceError{ErrorCode: sql.ServiceErrorCodeBadRequest,
		Message: "[INSUFFICIENT_PERMISSIONS] Insufficient privileges: User does not have SELECT on Table '" + table + "'. SQLSTATE: 42501"}
}

// httptestClosed returns the URL of a server that no longer listens.
func httptestClosed() string {
	srv := httptest.NewServer(nil)
	url := srv.URL
	srv.Close()
	return url
}

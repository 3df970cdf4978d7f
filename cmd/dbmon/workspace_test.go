package main

import (
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/dbmon/dbmon/workspace/workspacetest"
)

// setupWorkspaces serves two fake Databricks workspaces for the doctor_* and
// import_* scripts (package workspacetest; their history ends at the time
// the script starts): a healthy one at $DATABRICKS_HOST and a broken one at
// $BROKEN_HOST. Both accept the token in $DATABRICKS_TOKEN.
// $UNREACHABLE_HOST refuses connections.
func setupWorkspaces(env *testscript.Env) error {
	now := time.Now()
	healthy := workspacetest.Healthy(now).Start()
	broken := workspacetest.Broken(now).Start()
	env.Defer(healthy.Close)
	env.Defer(broken.Close)
	env.Setenv("DATABRICKS_HOST", healthy.URL)
	env.Setenv("DATABRICKS_TOKEN", workspacetest.Token)
	env.Setenv("BROKEN_HOST", broken.URL)
	env.Setenv("UNREACHABLE_HOST", "http://127.0.0.1:1")
	// The SDK's default of 15 requests a second makes the paginated
	// fixtures slow.
	env.Setenv("DATABRICKS_RATE_LIMIT", "10000")
	return nil
}

// Package workspace connects dbmon to a live Databricks workspace through the
// Databricks Go SDK (github.com/databricks/databricks-sdk-go), for the two
// commands that need one:
//
//   - Doctor checks that a workspace is ready for the monitor a spec
//     describes: the identity and metastore, the system schemas and SELECT on
//     every system table the pipeline reads, the spec's warehouse, catalog and
//     schema, that the Jobs API collector's identity can view the jobs, its
//     notification destinations and whether each SLA selects any job. Each
//     finding is a Check with a concrete fix.
//   - Import lists every job and its recent runs and proposes a spec: teams
//     from the most informative ownership tag (creators as a fallback) and
//     SLAs for scheduled jobs from their history. Given an existing spec it
//     adds only what is new and leaves every byte of the user's text alone.
//
// Connect builds the client with the SDK's unified authentication
// (DATABRICKS_HOST, DATABRICKS_TOKEN and the other DATABRICKS_* variables,
// ~/.databrickscfg and its profiles, OAuth). Failures to authenticate or to
// reach the host are returned as *ConnectError, whose message says what to
// set; everything else a check finds is a failed Check, not an error.
//
// Package workspacetest holds the fake workspace the tests run against.
package workspace

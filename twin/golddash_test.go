package twin_test

// Identities, the gold tables the dashboards read, and whom cluster_idle
// flags (issue 11, points 6, 9 and 10). Expected rows are worked out by hand;
// the harness is semantics_test.go's.

import (
	"testing"

	"github.com/dbmon/dbmon/generator"
)

const tWorkspaces = "system.access.workspaces_latest"

const identitySpec = baseSpec + `unassigned_team: nobody
teams:
  - {name: platform, match: {run_as: [svc@acme.com]}}
  - {name: alice, match: {run_as: [alice@acme.com]}}
`

// runAsUsage is a usage record of a job with the billing identity runAs.
func runAsUsage(ws, record, jobID, start string, runAs any) R {
	return usage(ws, record, "PREMIUM_JOBS_COMPUTE", start, 1, R{"job_id": jobID},
		R{"identity_metadata": map[string]any{"run_as": runAs}})
}

// Jobs rows written before late 2025 carry only the run_as principal id; the
// run_as name then comes from the job's latest usage that names one.
func TestIdentity_RunAsFromBillingUsage(t *testing.T) {
	old := func(principal string) R { return R{"run_as": principal} }
	f := newFixture().
		add(tJobs,
			// Old row: the id alone; its usage names the service principal.
			job("100", "1", "nightly", nil, old("7001")),
			// New row: run_as_user_name wins over an older usage identity.
			job("100", "2", "daily", nil, R{"run_as": "7002", "run_as_user_name": "alice@acme.com"}),
			// Old row, no usage: the id stays, no rule matches.
			job("100", "3", "adhoc", nil, old("7003")),
			// Old row whose identity changed: the latest usage that names one counts.
			job("100", "4", "hourly", nil, old("7004")),
			// An empty run_as_user_name is no name.
			job("100", "5", "weekly", nil, R{"run_as": "7005", "run_as_user_name": ""}),
			// Same job id in another workspace: workspace 100's usage is not its.
			job("200", "1", "other", nil, old("7006")),
		).
		add(tUsage,
			runAsUsage("100", "u1", "1", "2026-11-25T06:00", "svc@acme.com"),
			runAsUsage("100", "u2", "2", "2026-11-25T06:00", "svc@acme.com"),
			runAsUsage("100", "u3", "4", "2026-11-24T06:00", "alice@acme.com"),
			runAsUsage("100", "u4", "4", "2026-11-25T06:00", "svc@acme.com"),
			runAsUsage("100", "u5", "4", "2026-11-26T06:00", nil),
			runAsUsage("100", "u6", "5", "2026-11-25T06:00", "alice@acme.com"),
		)
	e := runSpec(t, identitySpec, f)
	expectRows(t, e, "jobs_current", []string{"workspace_id", "job_id", "run_as", "team"}, "", []R{
		{"workspace_id": "100", "job_id": "1", "run_as": "svc@acme.com", "team": "platform"},
		{"workspace_id": "100", "job_id": "2", "run_as": "alice@acme.com", "team": "alice"},
		{"workspace_id": "100", "job_id": "3", "run_as": "7003", "team": "nobody"},
		{"workspace_id": "100", "job_id": "4", "run_as": "svc@acme.com", "team": "platform"},
		{"workspace_id": "100", "job_id": "5", "run_as": "alice@acme.com", "team": "alice"},
		{"workspace_id": "200", "job_id": "1", "run_as": "7006", "team": "nobody"},
	})
	// The job's cost follows its resolved team.
	expectRows(t, e, "billing_enriched", []string{"workspace_id", "record_id", "team"}, "", []R{
		{"workspace_id": "100", "record_id": "u1", "team": "platform"},
		{"workspace_id": "100", "record_id": "u2", "team": "alice"},
		{"workspace_id": "100", "record_id": "u3", "team": "platform"},
		{"workspace_id": "100", "record_id": "u4", "team": "platform"},
		{"workspace_id": "100", "record_id": "u5", "team": "platform"},
		{"workspace_id": "100", "record_id": "u6", "team": "alice"},
	})
}

const goldWorkspacesSpec = baseSpec + `workspaces:
  - {id: "100", name: prod}
  - {id: "200"}
  - {id: "300", name: staging}
`

func workspaceRow(id, name, url string) R {
	return R{"account_id": "acc", "workspace_id": id, "workspace_name": name, "workspace_url": url,
		"create_time": ts("2026-01-01T00:00"), "status": "RUNNING"}
}

// The dashboards' workspace names and run links come from gold: the spec's
// name wins, the URL loses its trailing slash, and a run link never holds
// "//" after the host.
func TestGold_WorkspacesAndRecentFailures(t *testing.T) {
	f := newFixture().
		add(tWorkspaces,
			workspaceRow("100", "adb-prod", "https://adb-100.azuredatabricks.net/"),
			workspaceRow("200", "adb-emea", "https://adb-200.azuredatabricks.net"),
			workspaceRow("999", "unmonitored", "https://adb-999.azuredatabricks.net/")).
		add(tJobs, job("100", "1", "nightly", nil, nil), job("200", "2", "daily", nil, nil), job("300", "3", "stage", nil, nil)).
		add(tRuns,
			slice("100", "1", "r1", "2026-11-25T06:00", "2026-11-25T06:10", "FAILED", "CLOUD_FAILURE"),
			slice("100", "1", "r2", "2026-11-26T06:00", "2026-11-26T06:10", "SUCCEEDED", "SUCCESS"),
			slice("200", "2", "r3", "2026-11-26T06:00", "2026-11-26T06:20", "TIMED_OUT", nil),
			slice("300", "3", "r4", "2026-11-26T07:00", "2026-11-26T07:20", "FAILED", "RUN_EXECUTION_ERROR"),
			// 40 days ago: in silver, not in the 30-day drill-down.
			slice("100", "1", "r0", "2026-10-18T06:00", "2026-10-18T06:10", "FAILED", "CLOUD_FAILURE"),
		)
	e := runSpec(t, goldWorkspacesSpec, f)
	expectRows(t, e, "workspaces", []string{"workspace_id", "workspace_name", "workspace_url"}, "", []R{
		{"workspace_id": "100", "workspace_name": "prod", "workspace_url": "https://adb-100.azuredatabricks.net"},
		{"workspace_id": "200", "workspace_name": "adb-emea", "workspace_url": "https://adb-200.azuredatabricks.net"},
		{"workspace_id": "300", "workspace_name": "staging", "workspace_url": nil},
	})
	expectRows(t, e, "failure_classified", []string{"run_id"}, "", []R{
		{"run_id": "r0"}, {"run_id": "r1"}, {"run_id": "r3"}, {"run_id": "r4"},
	})
	expectRows(t, e, "recent_failures", []string{"workspace_id", "job_id", "run_id", "run_date", "job_name", "team",
		"workspace_name", "failure_class", "result_state", "run_url"}, "", []R{
		{"workspace_id": "100", "job_id": "1", "run_id": "r1", "run_date": day("2026-11-25"), "job_name": "nightly",
			"team": "unassigned", "workspace_name": "prod", "failure_class": "cloud_capacity", "result_state": "FAILED",
			"run_url": "https://adb-100.azuredatabricks.net/jobs/1/runs/r1"},
		{"workspace_id": "200", "job_id": "2", "run_id": "r3", "run_date": day("2026-11-26"), "job_name": "daily",
			"team": "unassigned", "workspace_name": "adb-emea", "failure_class": "timeout", "result_state": "TIMED_OUT",
			"run_url": "https://adb-200.azuredatabricks.net/jobs/2/runs/r3"},
		{"workspace_id": "300", "job_id": "3", "run_id": "r4", "run_date": day("2026-11-26"), "job_name": "stage",
			"team": "unassigned", "workspace_name": "staging", "failure_class": "user_code", "result_state": "FAILED",
			"run_url": nil},
	})
}

// cluster_idle flags all-purpose clusters only: a job cluster ends with its
// run, so "lower auto-termination" does not apply to it.
func TestClusterIdle_AllPurposeOnly(t *testing.T) {
	cluster := func(id, source string) R {
		return R{"account_id": "acc", "workspace_id": "100", "cluster_id": id, "cluster_name": id,
			"cluster_source": source, "change_time": ts("2026-11-01T00:00"), "create_time": ts("2026-11-01T00:00")}
	}
	f := newFixture().add(tClusters,
		cluster("ui", "UI"), cluster("api", "API"), cluster("job", "JOB"),
		// Created by the UI, later re-emitted as a job cluster: the latest row counts.
		cluster("moved", "UI"), with(cluster("moved", "JOB"), R{"change_time": ts("2026-11-10T00:00")}))
	// 90 minutes at 2% CPU yesterday on every cluster, and on nobody's
	// (no clusters row).
	for _, id := range []string{"ui", "api", "job", "moved", "unknown"} {
		for _, r := range nodeMinutes("i-"+id, true, "2026-11-26T10:00", 90, 1, 1) {
			r["cluster_id"] = id
			f.add(tNodes, r)
		}
	}
	e := runSpec(t, baseSpec, f)
	expectRows(t, e, "cluster_efficiency", []string{"workspace_id", "cluster_id", "usage_date", "idle_minutes", "is_all_purpose"}, "", []R{
		{"workspace_id": "100", "cluster_id": "api", "usage_date": day("2026-11-26"), "idle_minutes": 90.0, "is_all_purpose": true},
		{"workspace_id": "100", "cluster_id": "job", "usage_date": day("2026-11-26"), "idle_minutes": 90.0, "is_all_purpose": false},
		{"workspace_id": "100", "cluster_id": "moved", "usage_date": day("2026-11-26"), "idle_minutes": 90.0, "is_all_purpose": false},
		{"workspace_id": "100", "cluster_id": "ui", "usage_date": day("2026-11-26"), "idle_minutes": 90.0, "is_all_purpose": true},
		{"workspace_id": "100", "cluster_id": "unknown", "usage_date": day("2026-11-26"), "idle_minutes": 90.0, "is_all_purpose": false},
	})
	res, diags, err := generator.Prepare("spec.yaml", []byte(baseSpec))
	if err != nil || len(diags) > 0 {
		t.Fatalf("spec: %v %v", err, diags)
	}
	findings, err := e.Findings(res.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	var flagged []string
	for _, f := range findings {
		if f.Family == "cluster_idle" {
			flagged = append(flagged, f.Subject)
		}
	}
	if len(flagged) != 2 || flagged[0] != "api" || flagged[1] != "ui" {
		t.Errorf("cluster_idle flags %q, want [api ui]", flagged)
	}
}

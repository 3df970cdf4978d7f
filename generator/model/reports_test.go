package model

import (
	"reflect"
	"testing"

	"github.com/dbmon/dbmon/generator/spec"
)

// TestReportRecipients: a destination id becomes a destination subscriber
// and each e-mail a user; team expands to the teams' notify; a recipient
// reached twice is sent one copy; a per-team report has one task per team
// with recipients, filtered to the team by the team filter's URL key.
func TestReportRecipients(t *testing.T) {
	src := base + `
destinations:
  slack: {destination_id: 7a1b2c3d-0000-0000-0000-000000000001}
  leads: {emails: [a@x.com, b@x.com]}
  ops: {emails: [b@x.com]}
teams:
  - {name: core, match: {job_name: "^c"}, notify: [slack, ops]}
  - {name: quiet, match: {job_name: "^q"}}
  - {name: web, match: {job_name: "^w"}, notify: [leads]}
reports:
  - {name: digest, dashboard: executive_overview, schedule: "0 0 8 ? * MON", recipients: [leads, team], subject: Weekly}
  - {name: per-team, dashboard: failure_analysis, schedule: 24h, recipients: [team], per_team: true}
`
	b := load(t, src)
	if len(b.Reports) != 2 {
		t.Fatalf("%d reports, want 2", len(b.Reports))
	}
	digest, perTeam := b.Reports[0], b.Reports[1]
	if digest.Job.Key != "my_mon_report_digest" || digest.DashboardKey != "my_mon_executive_overview" || digest.Job.Cron != "0 0 8 ? * MON" {
		t.Errorf("digest job %s, dashboard %s, cron %s", digest.Job.Key, digest.DashboardKey, digest.Job.Cron)
	}
	want := []Subscriber{
		{UserName: "a@x.com", Destination: "leads"},
		{UserName: "b@x.com", Destination: "leads"},
		{DestinationID: "7a1b2c3d-0000-0000-0000-000000000001", Destination: "slack"},
	}
	if len(digest.Tasks) != 1 || !reflect.DeepEqual(digest.Tasks[0].Subscribers, want) || digest.Tasks[0].Subject != "Weekly" || digest.Tasks[0].Filters != nil {
		t.Errorf("digest tasks %+v, want one task to %+v", digest.Tasks, want)
	}
	// quiet has no notify, so no copy; each copy is filtered to its team.
	var got []string
	for _, task := range perTeam.Tasks {
		got = append(got, task.Key)
		if want := []KV{{TeamFilterURLKey, `["` + task.Team + `"]`}}; !reflect.DeepEqual(task.Filters, want) {
			t.Errorf("task %s filters %v, want %v", task.Key, task.Filters, want)
		}
		if task.Subject != "per-team - "+task.Team {
			t.Errorf("task %s subject %q", task.Key, task.Subject)
		}
	}
	if !reflect.DeepEqual(got, []string{"core", "web"}) {
		t.Errorf("per-team tasks %v, want [core web]", got)
	}
	s, _ := spec.Load("t.yaml", []byte(src))
	if users := ReportUsers(s); !reflect.DeepEqual(users, []string{"a@x.com", "b@x.com"}) {
		t.Errorf("ReportUsers %v", users)
	}
}

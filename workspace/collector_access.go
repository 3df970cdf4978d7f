package workspace

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/databricks/databricks-sdk-go/service/iam"
	"github.com/databricks/databricks-sdk-go/service/jobs"

	"github.com/dbmon/dbmon/generator/spec"
)

// liveJobsQuery counts the live jobs of one workspace in system.lakeflow.jobs
// (latest row per job, not deleted): what the collector's identity should
// be able to view.
const liveJobsQuery = "SELECT CAST(count(*) AS BIGINT) AS live_jobs FROM (" +
	"SELECT delete_time, row_number() OVER (PARTITION BY job_id ORDER BY change_time DESC) AS rn " +
	"FROM system.lakeflow.jobs WHERE workspace_id = %s) WHERE rn = 1 AND delete_time IS NULL"

// maxPermissionChecks bounds the job permission reads for a run_as identity
// other than the caller: one request per job.
const maxPermissionChecks = 200

// viewLevels are the job permission levels that include CAN VIEW.
var viewLevels = map[jobs.JobPermissionLevel]bool{
	jobs.JobPermissionLevelCanView: true, jobs.JobPermissionLevelCanManageRun: true,
	jobs.JobPermissionLevelCanManage: true, jobs.JobPermissionLevelIsOwner: true,
}

// collectorIdentity is one identity the collector job runs as.
type collectorIdentity struct {
	kind    string // "deployer", "user" or "service principal"
	name    string // user name or application id; the caller's name for the deployer
	targets []string
}

// collectorIdentities are the identities the collector runs as, one per
// distinct target run_as; targets without run_as run it as the deploying
// identity, here the caller.
func (d *doctor) collectorIdentities() []collectorIdentity {
	targets := d.s.Bundle.Targets
	names := make([]string, 0, len(targets))
	for n := range targets {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		names = []string{"dev", "prod"} // the bundle's default targets, without run_as
	}
	var out []collectorIdentity
	index := map[string]int{}
	for _, n := range names {
		id := collectorIdentity{kind: "deployer", name: d.me.UserName}
		if ra := targets[n].RunAs; ra != nil && ra.ServicePrincipalName != "" {
			id = collectorIdentity{kind: "service principal", name: ra.ServicePrincipalName}
		} else if ra != nil && ra.UserName != "" {
			id = collectorIdentity{kind: "user", name: ra.UserName}
		}
		key := id.kind + "/" + strings.ToLower(id.name)
		if i, ok := index[key]; ok {
			out[i].targets = append(out[i].targets, n)
			continue
		}
		index[key] = len(out)
		id.targets = []string{n}
		out = append(out, id)
	}
	return out
}

// collectorAccess checks that each identity the collector runs as can view
// the workspace's jobs: runs/get-output answers 403 for a run of a job it
// may not view, and the collector stores that run as permission denied. A
// workspace admin views every job; anyone else needs CAN VIEW (or more) on
// each job, directly, through a group, or through the users group.
func (d *doctor) collectorAccess(wh *warehouseInfo, readable map[string]bool) []Check {
	if !collectorEnabled(d.s) {
		return nil
	}
	var out []Check
	for _, id := range d.collectorIdentities() {
		c := Check{Name: "collector identity " + id.name}
		if id.kind == "deployer" {
			d.deployerAccess(&c, wh, readable)
		} else {
			d.runAsAccess(&c, id)
		}
		if d.err != nil {
			return out
		}
		c.Detail += fmt.Sprintf(" (runs the collector in target %s)", strings.Join(id.targets, ", "))
		out = append(out, c)
	}
	return out
}

func collectorEnabled(s *spec.Spec) bool {
	return s.Collector.Enabled == nil || *s.Collector.Enabled
}

func isAdmin(groups []iam.ComplexValue) bool {
	for _, g := range groups {
		if g.Display == "admins" {
			return true
		}
	}
	return false
}

// grantFix says how to let principal view the jobs, with a CLI command for
// one of them (jobs update-permissions adds to a job's list).
func grantFix(principal, field, jobID string) string {
	return fmt.Sprintf("make %s a workspace admin (add it to the admins group), or grant it CAN VIEW on every monitored job, e.g. "+
		"`databricks jobs update-permissions %s --json '{\"access_control_list\": [{\"%s\": \"%s\", \"permission_level\": \"CAN_VIEW\"}]}'` "+
		"(or grant CAN VIEW to a group it is in); then delete its 'permission denied' rows from bronze_api_job_runs so the collector fetches them again",
		principal, jobID, field, principal)
}

// deployerAccess compares the jobs the caller can list (jobs/list shows only
// jobs it may view) with the live jobs system.lakeflow.jobs has for this
// workspace.
func (d *doctor) deployerAccess(c *Check, wh *warehouseInfo, readable map[string]bool) {
	me := d.me.UserName
	if isAdmin(d.me.Groups) {
		c.OK, c.Detail = true, me+" is a workspace admin (group admins): it views every job"
		return
	}
	js, err := d.jobs()
	if d.stop(err) {
		return
	}
	if err != nil {
		c.Detail, c.Fix = "cannot list jobs: "+reason(err), "check that "+me+" may use the Jobs API"
		return
	}
	if wh == nil || !readable["system.lakeflow.jobs"] || d.wsID == "" {
		c.Detail = fmt.Sprintf("%s is not a workspace admin and sees %d job(s); not compared with system.lakeflow.jobs, which is not readable here", me, len(js))
		c.Fix = "fix the select system.lakeflow.jobs check first"
		return
	}
	stmt := fmt.Sprintf(liveJobsQuery, "'"+strings.ReplaceAll(d.wsID, "'", "''")+"'")
	rows, msg, err := d.query(wh.id, stmt)
	if d.stop(err) {
		return
	}
	var live int
	if err == nil && msg == "" {
		if len(rows) != 1 || len(rows[0]) != 1 {
			msg = fmt.Sprintf("unexpected result %v", rows)
		} else if _, serr := fmt.Sscanf(rows[0][0], "%d", &live); serr != nil {
			msg = fmt.Sprintf("unexpected count %q", rows[0][0])
		}
	}
	if err != nil || msg != "" {
		if msg == "" {
			msg = reason(err)
		}
		c.Detail = "cannot count the workspace's live jobs: " + msg
		c.Fix = fmt.Sprintf("run the query on warehouse %q in the SQL editor for details: %s", wh.name, stmt)
		return
	}
	if len(js) >= live {
		c.OK = true
		c.Detail = fmt.Sprintf("%s is not a workspace admin but views all %d live job(s) system.lakeflow.jobs has for workspace %s", me, live, d.wsID)
		return
	}
	c.Detail = fmt.Sprintf("%s views %d of the %d live jobs system.lakeflow.jobs has for workspace %s: the collector stores the failed runs of the other %d as permission denied, without error text",
		me, len(js), live, d.wsID, live-len(js))
	c.Fix = grantFix(me, "user_name", "<job_id>") + "; or deploy with a target run_as that is a workspace admin"
}

// runAsAccess looks the run_as principal up and, unless it is a workspace
// admin, reads the permissions of the jobs the caller can list.
func (d *doctor) runAsAccess(c *Check, id collectorIdentity) {
	var groups []iam.ComplexValue
	field := "user_name"
	var err error
	var found bool
	if id.kind == "service principal" {
		field = "service_principal_name"
		var sps []iam.ServicePrincipal
		sps, err = d.w.ServicePrincipals.ListAll(d.ctx, iam.ListServicePrincipalsRequest{Filter: fmt.Sprintf("applicationId eq %q", id.name)})
		if len(sps) > 0 {
			found, groups = true, sps[0].Groups
		}
	} else {
		var users []iam.User
		users, err = d.w.Users.ListAll(d.ctx, iam.ListUsersRequest{Filter: fmt.Sprintf("userName eq %q", id.name)})
		if len(users) > 0 {
			found, groups = true, users[0].Groups
		}
	}
	if d.stop(err) {
		return
	}
	switch {
	case err != nil:
		c.Detail = fmt.Sprintf("cannot look up %s %s: %s", id.kind, id.name, reason(err))
		c.Fix = "run doctor as a workspace admin, or confirm that " + id.name + " is a workspace admin or has CAN VIEW on the monitored jobs"
		return
	case !found:
		c.Detail = fmt.Sprintf("no %s %s in this workspace", id.kind, id.name)
		c.Fix = "add " + id.name + " to the workspace (a run_as identity must be a workspace principal), then " + grantFix(id.name, field, "<job_id>")
		return
	case isAdmin(groups):
		c.OK, c.Detail = true, fmt.Sprintf("%s %s is a workspace admin (group admins): it views every job", id.kind, id.name)
		return
	}
	js, err := d.jobs()
	if d.stop(err) {
		return
	}
	if err != nil {
		c.Detail, c.Fix = "cannot list jobs: "+reason(err), "check that "+d.me.UserName+" may use the Jobs API"
		return
	}
	via := map[string]bool{"users": true} // every workspace principal is in users
	for _, g := range groups {
		via[g.Display] = true
	}
	var denied []string
	checked := 0
	for _, j := range js {
		if checked == maxPermissionChecks {
			break
		}
		jobID := strconv.FormatInt(j.ID, 10)
		perms, err := d.w.Jobs.GetPermissionsByJobId(d.ctx, jobID)
		if d.stop(err) {
			return
		}
		if err != nil {
			c.Detail = fmt.Sprintf("%s %s is not a workspace admin, and the permissions of job %s cannot be read: %s", id.kind, id.name, jobID, reason(err))
			c.Fix = "run doctor as a workspace admin (reading a job's permissions needs CAN MANAGE on it), or " + grantFix(id.name, field, jobID)
			return
		}
		checked++
		if !canView(perms, id.name, via) {
			denied = append(denied, jobID)
		}
	}
	scope := fmt.Sprintf("%d job(s) visible to %s", checked, d.me.UserName)
	if checked < len(js) {
		scope = fmt.Sprintf("the first %d of the %d job(s) visible to %s", checked, len(js), d.me.UserName)
	}
	if len(denied) == 0 {
		c.OK = true
		c.Detail = fmt.Sprintf("%s %s is not a workspace admin but has CAN VIEW or more on %s", id.kind, id.name, scope)
		return
	}
	c.Detail = fmt.Sprintf("%s %s is not a workspace admin and may not view %d of %s (jobs %s): the collector stores their failed runs as permission denied, without error text",
		id.kind, id.name, len(denied), scope, quoteList(denied, 5))
	c.Fix = grantFix(id.name, field, denied[0])
}

// canView reports whether the access control list gives name, or a group in
// via, a level that includes CAN VIEW.
func canView(perms *jobs.JobPermissions, name string, via map[string]bool) bool {
	for _, a := range perms.AccessControlList {
		who := strings.EqualFold(a.UserName, name) || strings.EqualFold(a.ServicePrincipalName, name) || (a.GroupName != "" && via[a.GroupName])
		if !who {
			continue
		}
		for _, p := range a.AllPermissions {
			if viewLevels[p.PermissionLevel] {
				return true
			}
		}
	}
	return false
}

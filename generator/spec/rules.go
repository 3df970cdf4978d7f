package spec

import (
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones must resolve the same on every machine
)

// ptr builds path segments from keys and indexes.
func ptr(parts ...any) []string {
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			out = append(out, v)
		case int:
			out = append(out, strconv.Itoa(v))
		}
	}
	return out
}

// fail reports a rule violation at the value found at parts; for a block
// mapping or list, at its key, where the reader's eye goes.
func (l *loader) fail(parts []string, format string, args ...any) {
	l.errorAt(l.blockAware(parts), PathString(parts), format, args...)
}

// failKey reports a rule violation at the key of the entry found at parts.
func (l *loader) failKey(parts []string, format string, args ...any) {
	l.errorAt(l.keyNode(parts), PathString(parts), format, args...)
}

// has reports whether the document has a value at parts.
func (l *loader) has(parts ...any) bool {
	_, ok := l.nodes[pointer(ptr(parts...))]
	return ok
}

// statementKeywords may not appear in a KPI value: it is one expression that
// dbmon places inside its own SELECT.
var statementKeywords = regexp.MustCompile(`(?i)\b(select|insert|update|delete|merge|drop|create|alter|truncate|grant|revoke|with|union|from|join)\b`)

var deadlinePattern = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

// checkRules applies the cross-field rules of spec-v1.md. It reads only what
// decoded; values the schema already rejected are skipped where a second
// message would add nothing.
func (l *loader) checkRules(s *Spec) {
	l.checkBundle(s)
	l.checkDestinations(s)
	known := slices.Sorted(maps.Keys(s.Destinations))

	seenWS := map[string]int{}
	for i, w := range s.Workspaces {
		if j, dup := seenWS[w.ID]; dup && w.ID != "" {
			l.fail(ptr("workspaces", i, "id"), "duplicate workspace id `%s` (also workspaces[%d])", w.ID, j)
		}
		seenWS[w.ID] = i
		if (w.Host == "") != (w.TokenSecret == "") && l.has("workspaces", i) {
			l.fail(ptr("workspaces", i), "host and token_secret go together: give both or neither")
		}
	}

	// List prices are USD; another currency needs the rate that converts them.
	if cur := s.Pricing.Currency; cur != "" && cur != "USD" && s.Pricing.ExchangeRate == nil && l.has("pricing", "currency") {
		l.fail(ptr("pricing", "currency"), "currency %s needs pricing.exchange_rate (%s per US dollar): list prices are in USD", cur, cur)
	}

	teamNames := l.uniqueNames("teams", len(s.Teams), func(i int) string { return s.Teams[i].Name }, "team")
	if s.UnassignedTeam != "" && teamNames[s.UnassignedTeam] {
		l.fail(ptr("unassigned_team"), "`%s` is also the name of a team; unassigned_team must differ", s.UnassignedTeam)
	}
	for i, t := range s.Teams {
		m := t.Match
		if len(m.Tags) == 0 && m.JobName == "" && len(m.RunAs) == 0 && len(m.Workspaces) == 0 && l.has("teams", i, "match") {
			l.fail(ptr("teams", i, "match"), "match needs at least one condition: tags, job_name, run_as or workspaces")
		}
		l.checkRegex(ptr("teams", i, "match", "job_name"), m.JobName)
		l.checkNotify(ptr("teams", i, "notify"), t.Notify, known, false)
	}
	l.checkNotify(ptr("monitor_notify"), s.MonitorNotify, known, false)

	l.uniqueNames("slas", len(s.SLAs), func(i int) string { return s.SLAs[i].Name }, "SLA")
	for i, sla := range s.SLAs {
		l.checkSLA(i, sla, teamNames, s.UnassignedTeam, known)
	}

	generated := map[string]bool{}
	for _, d := range s.Dashboards {
		generated[d] = true
	}
	l.uniqueNames("kpis", len(s.KPIs), func(i int) string { return s.KPIs[i].Name }, "KPI")
	for i, k := range s.KPIs {
		l.checkKPI(i, k, s.Dashboards != nil, generated, known)
	}

	for key, fam := range s.Alerts.Families() {
		if fam == nil {
			continue
		}
		l.checkAlertSchedule(ptr("alerts", key, "schedule"), fam.Schedule, s.Refresh)
		l.checkNotify(ptr("alerts", key, "notify"), fam.Notify, known, true)
	}
	if m := s.Alerts.MonitorHealth; m != nil {
		l.checkMaxLag(ptr("alerts", "monitor_health", "max_lag"), m.MaxLag, s.Refresh)
	}

	l.uniqueNames("failure_classes", len(s.FailureClasses), func(i int) string { return s.FailureClasses[i].Name }, "failure class")
	for i, fc := range s.FailureClasses {
		if fc.ErrorRegex == "" && len(fc.TerminationCodes) == 0 && l.has("failure_classes", i) {
			l.fail(ptr("failure_classes", i), "a failure class needs error_regex or termination_codes")
		}
		if fc.Name == "other" {
			l.fail(ptr("failure_classes", i, "name"), "`other` is the class of unmatched failures; choose another name")
		}
		l.checkRegex(ptr("failure_classes", i, "error_regex"), fc.ErrorRegex)
	}

	l.checkSchedule(ptr("collector", "schedule"), s.Collector.Schedule)
	l.checkSchedule(ptr("refresh"), s.Refresh)
	if r := s.Retention; r.DetailDays > 0 && r.AggregateDays > 0 && r.AggregateDays < r.DetailDays {
		l.fail(ptr("retention", "aggregate_days"), "aggregate_days (%d) must be at least detail_days (%d): gold is built from silver", r.AggregateDays, r.DetailDays)
	}
	seenDash := map[string]bool{}
	for i, d := range s.Dashboards {
		if seenDash[d] {
			l.fail(ptr("dashboards", i), "dashboard `%s` is listed twice", d)
		}
		seenDash[d] = true
	}
	l.checkReports(s, generated, known)
}

// maxJobTasks is the most tasks a Databricks job may have.
const maxJobTasks = 1000

// checkReports checks the scheduled e-mails: each sends a generated
// dashboard, on a valid schedule, to destinations that exist, and someone
// receives it. Report names become job keys with '-' turned into '_', so
// two names that differ only there would collide.
func (l *loader) checkReports(s *Spec, generated map[string]bool, known []string) {
	l.uniqueNames("reports", len(s.Reports), func(i int) string { return s.Reports[i].Name }, "report")
	jobKeys := map[string]string{}
	for i, r := range s.Reports {
		if !l.has("reports", i) {
			continue
		}
		if k := strings.ReplaceAll(r.Name, "-", "_"); r.Name != "" {
			if other, dup := jobKeys[k]; dup && other != r.Name {
				l.fail(ptr("reports", i, "name"), "report names `%s` and `%s` make the same job key; rename one", other, r.Name)
			}
			jobKeys[k] = r.Name
		}
		if r.Dashboard != "" && s.Dashboards != nil && !generated[r.Dashboard] {
			l.fail(ptr("reports", i, "dashboard"), "dashboard `%s` is not generated; add it to dashboards", r.Dashboard)
		}
		l.checkSchedule(ptr("reports", i, "schedule"), r.Schedule)
		l.checkNotify(ptr("reports", i, "recipients"), r.Recipients, known, true)
		if len(r.Recipients) == 0 && l.has("reports", i, "recipients") {
			l.fail(ptr("reports", i, "recipients"), "recipients must name at least one destination key or team")
		}
		notified := slices.ContainsFunc(s.Teams, func(t Team) bool { return len(t.Notify) > 0 })
		switch {
		case r.PerTeam != nil && *r.PerTeam && len(s.Teams) == 0:
			l.fail(ptr("reports", i, "per_team"), "per_team needs teams; define teams or set per_team: false")
		case r.PerTeam != nil && *r.PerTeam && len(s.Teams) > maxJobTasks:
			l.fail(ptr("reports", i, "per_team"), "per_team makes one task per team, and a job holds at most %d tasks (%d teams); split the report", maxJobTasks, len(s.Teams))
		case len(r.Recipients) == 1 && r.Recipients[0] == "team" && !notified:
			l.fail(ptr("reports", i, "recipients"), "`team` sends to each team's notify, and no team has notify; name destinations or give teams a notify list")
		}
	}
}

func (l *loader) checkBundle(s *Spec) {
	b := s.Bundle
	if !l.has("bundle") {
		return
	}
	switch {
	case l.has("bundle", "warehouse") && l.has("bundle", "warehouse_id"):
		l.failKey(ptr("bundle", "warehouse_id"), "give either warehouse (a name) or warehouse_id, not both")
	case !l.has("bundle", "warehouse") && !l.has("bundle", "warehouse_id"):
		l.fail(ptr("bundle"), "a SQL warehouse is required: add warehouse (its name) or warehouse_id")
	}
	if b.Timezone != "" {
		if _, err := time.LoadLocation(b.Timezone); err != nil || b.Timezone == "Local" {
			l.fail(ptr("bundle", "timezone"), "unknown time zone `%s`; use an IANA name such as Europe/Berlin or UTC", b.Timezone)
		}
	}
	defaults := 0
	for _, name := range slices.Sorted(maps.Keys(b.Targets)) {
		t := b.Targets[name]
		if t.Default != nil && *t.Default {
			defaults++
			if defaults > 1 {
				l.fail(ptr("bundle", "targets", name, "default"), "only one target may be the default")
			}
		}
		if t.RunAs != nil && (t.RunAs.ServicePrincipalName == "") == (t.RunAs.UserName == "") {
			l.fail(ptr("bundle", "targets", name, "run_as"), "give exactly one of service_principal_name and user_name")
		}
		for i, p := range t.Permissions {
			n := 0
			for _, v := range []string{p.GroupName, p.UserName, p.ServicePrincipalName} {
				if v != "" {
					n++
				}
			}
			if n != 1 {
				l.fail(ptr("bundle", "targets", name, "permissions", i), "give exactly one of group_name, user_name and service_principal_name")
			}
		}
		if sharedRoot(t.RootPath) && !usersCanManage(t.Permissions) {
			l.fail(ptr("bundle", "targets", name, "root_path"), "root_path `%s` is under /Workspace/Shared, which every workspace user can write, so `databricks bundle validate --strict` fails (\"the bundle root path ... is writable by all workspace users\"); omit root_path (the default is /Workspace/Users/<deployer>/.bundle/<bundle>/<target>) or use a folder under /Workspace/Users/<deployer>, or grant CAN_MANAGE to group_name users if every user may redeploy it", t.RootPath)
		}
		if t.Mode == "development" && t.RunAs != nil {
			l.fail(ptr("bundle", "targets", name, "run_as"), "a development target runs as the deploying user; run_as belongs on a production target")
		}
	}
}

// sharedRoot reports whether the CLI takes root_path to be under
// /Workspace/Shared: it prefixes /Workspace to a path that lacks it
// (bundle/config/mutator/prepend_workspace_prefix.go) and then warns about
// every root below /Workspace/Shared/ (bundle/permissions/validate.go with
// IsWorkspaceSharedPath in bundle/libraries/workspace_path.go), in every
// target mode.
func sharedRoot(p string) bool {
	if !strings.HasPrefix(p, "/Workspace/") && !strings.HasPrefix(p, "/Volumes/") && strings.HasPrefix(p, "/") {
		p = "/Workspace" + p
	}
	return strings.HasPrefix(p, "/Workspace/Shared/")
}

// usersCanManage reports whether the permissions give CAN_MANAGE to group
// users, with which the CLI accepts a shared root as intended.
func usersCanManage(perms []Permission) bool {
	for _, p := range perms {
		if p.GroupName == "users" && p.Level == "CAN_MANAGE" {
			return true
		}
	}
	return false
}

func (l *loader) checkDestinations(s *Spec) {
	for _, key := range slices.Sorted(maps.Keys(s.Destinations)) {
		d := s.Destinations[key]
		if key == "team" {
			l.failKey(ptr("destinations", key), "`team` is reserved for routing to the owning team; choose another key")
		}
		if (d.DestinationID == "") == (len(d.Emails) == 0) {
			l.fail(ptr("destinations", key), "give exactly one of destination_id and emails")
		}
	}
}

// checkNotify checks that every name is a destination key; allowTeam admits
// the word team (alert families route to the owning team's destinations).
func (l *loader) checkNotify(at []string, names []string, known []string, allowTeam bool) {
	seen := map[string]bool{}
	for i, n := range names {
		p := append(append([]string(nil), at...), strconv.Itoa(i))
		if !l.has(p[0]) {
			continue
		}
		if _, isList := l.nodes[pointer(p)]; !isList {
			p = at // notify: team, written as a scalar
		}
		if seen[n] {
			l.fail(p, "`%s` is listed twice", n)
		}
		seen[n] = true
		if n == "team" {
			if !allowTeam {
				l.fail(p, "`team` routes an alert family to the owning team; here, name destinations")
			}
			continue
		}
		if !slices.Contains(known, n) {
			if len(known) == 0 {
				l.fail(p, "unknown destination `%s`; define it under destinations", n)
			} else {
				l.fail(p, "unknown destination `%s`%s", n, suggest(n, known))
			}
		}
	}
}

func (l *loader) checkSLA(i int, sla SLA, teams map[string]bool, unassigned string, known []string) {
	base := ptr("slas", i)
	if !l.has("slas", i) {
		return
	}
	sel := sla.Jobs
	n := 0
	for _, set := range []bool{len(sel.Names) > 0, sel.NameRegex != "", len(sel.JobIDs) > 0, len(sel.Tags) > 0, sel.Team != ""} {
		if set {
			n++
		}
	}
	switch {
	case n == 0 && l.has("slas", i, "jobs"):
		l.fail(ptr("slas", i, "jobs"), "jobs needs one selector: names, name_regex, job_ids, tags or team")
	case n > 1:
		l.fail(ptr("slas", i, "jobs"), "jobs takes exactly one of names, name_regex, job_ids, tags and team")
	}
	l.checkRegex(ptr("slas", i, "jobs", "name_regex"), sel.NameRegex)
	if sel.Team != "" && !teams[sel.Team] && sel.Team != unassigned && !(unassigned == "" && sel.Team == "unassigned") {
		var names []string
		for t := range teams {
			names = append(names, t)
		}
		sort.Strings(names)
		l.fail(ptr("slas", i, "jobs", "team"), "unknown team `%s`%s", sel.Team, suggest(sel.Team, names))
	}
	if sla.Deadline == "" && sla.MaxDuration == "" && sla.MinSuccessRate == nil {
		l.fail(base, "an SLA needs at least one check: deadline, max_duration or min_success_rate")
	}
	if sla.Deadline != "" && !deadlinePattern.MatchString(sla.Deadline) {
		l.fail(ptr("slas", i, "deadline"), "deadline must be a local time HH:MM between 00:00 and 23:59, got `%s`", sla.Deadline)
	}
	if len(sla.Days) > 0 && sla.Deadline == "" {
		l.failKey(ptr("slas", i, "days"), "days only applies to a deadline; add deadline or remove days")
	}
	if sla.MaxDuration != "" {
		if d, err := time.ParseDuration(sla.MaxDuration); err == nil && d < time.Minute {
			l.fail(ptr("slas", i, "max_duration"), "max_duration must be at least 1m, got `%s`", sla.MaxDuration)
		}
	}
	if sla.WindowDays > 0 && sla.MinSuccessRate == nil {
		l.failKey(ptr("slas", i, "window_days"), "window_days only applies to min_success_rate")
	}
	l.checkNotify(ptr("slas", i, "notify"), sla.Notify, known, false)
}

// sqlOutsideQuotes returns expr with the text inside its string literals
// ('...' and "...", where a backslash escapes the next character, as in
// Spark SQL) and quoted identifiers (`...`, where a doubled backtick stands for one) replaced
// by spaces, so that the checks for `;` and statement keywords see only the
// SQL itself: count_if(message LIKE '%sync from s3%') is one expression.
// closed is false when a quote is never closed.
func sqlOutsideQuotes(expr string) (code string, closed bool) {
	out := []byte(expr)
	var quote byte
	for i := 0; i < len(out); i++ {
		c := out[i]
		switch {
		case quote == 0:
			if c == '\'' || c == '"' || c == '`' {
				quote = c
			}
		case c == '\\' && quote != '`':
			out[i] = ' '
			if i+1 < len(out) {
				i++
				out[i] = ' '
			}
		case c == quote:
			quote = 0
		default:
			out[i] = ' '
		}
	}
	return string(out), quote == 0
}

func (l *loader) checkKPI(i int, k KPI, dashboardsListed bool, generated map[string]bool, known []string) {
	code, closed := sqlOutsideQuotes(k.Value)
	if !closed {
		l.fail(ptr("kpis", i, "value"), "value has a quote that is never closed; close the string literal or quoted name")
	} else if strings.Contains(code, ";") {
		l.fail(ptr("kpis", i, "value"), "value must be one SQL expression; remove the `;`")
	} else if m := statementKeywords.FindString(code); m != "" {
		l.fail(ptr("kpis", i, "value"), "value must be one SQL expression over %s's columns; `%s` is not allowed", k.Source, strings.ToUpper(m))
	}
	if k.Target != nil && k.Target.Min != nil && k.Target.Max != nil && *k.Target.Min > *k.Target.Max {
		l.fail(ptr("kpis", i, "target"), "target min (%v) is greater than max (%v)", *k.Target.Min, *k.Target.Max)
	}
	if len(k.Notify) > 0 && k.Target == nil {
		l.failKey(ptr("kpis", i, "notify"), "notify needs a target: the KPI alert fires when the value leaves it")
	}
	if k.Dashboard != "" && dashboardsListed && !generated[k.Dashboard] {
		l.fail(ptr("kpis", i, "dashboard"), "dashboard `%s` is not generated; add it to dashboards", k.Dashboard)
	}
	l.checkNotify(ptr("kpis", i, "notify"), k.Notify, known, false)
}

// uniqueNames reports duplicate names in a list and returns the set.
func (l *loader) uniqueNames(list string, n int, name func(int) string, what string) map[string]bool {
	first := map[string]int{}
	set := map[string]bool{}
	for i := 0; i < n; i++ {
		v := name(i)
		if v == "" {
			continue
		}
		if j, dup := first[v]; dup {
			line := 0
			if node := l.node(ptr(list, j, "name")); node != nil {
				line = node.Line
			}
			l.fail(ptr(list, i, "name"), "duplicate %s name `%s` (first defined at line %d)", what, v, line)
			continue
		}
		first[v] = i
		set[v] = true
	}
	return set
}

func (l *loader) checkRegex(at []string, re string) {
	if re == "" {
		return
	}
	if _, err := regexp.Compile(re); err != nil {
		msg := err.Error()
		msg = strings.TrimPrefix(msg, "error parsing regexp: ")
		l.fail(at, "invalid RE2 regular expression: %s", msg)
		return
	}
	// The regex runs in Databricks SQL (Java regex), in the twin and in Go
	// (RE2). Named groups are the one common construct they spell
	// differently: Java has no (?P<name>...).
	if strings.Contains(re, "(?P<") {
		l.fail(at, "write a named group as (?<name>...): Databricks SQL (Java regex) does not accept (?P<name>...)")
	}
}

// checkAlertSchedule checks an alert family's schedule: after_refresh, or
// a valid schedule that runs no more often than the pipeline refreshes.
func (l *loader) checkAlertSchedule(at []string, s, refresh string) {
	if s == "" || s == AfterRefresh {
		return
	}
	cron, err := ScheduleCron(s)
	if err != nil {
		l.fail(at, "invalid schedule: %v (or use %s)", err, AfterRefresh)
		return
	}
	if refresh == "" {
		refresh = DefaultRefresh
	}
	refreshCron, err := ScheduleCron(refresh)
	if err != nil {
		return // reported at refresh
	}
	every, err1 := ScheduleInterval(cron)
	refreshEvery, err2 := ScheduleInterval(refreshCron)
	if err1 == nil && err2 == nil && every < refreshEvery {
		l.fail(at, "schedule `%s` runs every %s, more often than the pipeline refreshes (refresh `%s`, every %s): "+
			"an alert reads the pipeline's tables, which change only at a refresh, so the extra evaluations find nothing new "+
			"and cost warehouse queries (and keep the warehouse from stopping); use %s or a schedule of at least %s",
			s, shortDuration(every), refresh, shortDuration(refreshEvery), AfterRefresh, shortDuration(refreshEvery))
	}
}

// checkMaxLag checks alerts.monitor_health.max_lag: a lag shorter than the
// longest gap between two refreshes is reached before every refresh, so
// the alert would fire on a healthy monitor.
func (l *loader) checkMaxLag(at []string, lag, refresh string) {
	if lag == "" {
		return
	}
	d, err := time.ParseDuration(lag)
	if err != nil {
		return // the schema's duration pattern reports it
	}
	if refresh == "" {
		refresh = DefaultRefresh
	}
	refreshCron, err := ScheduleCron(refresh)
	if err != nil {
		return // reported at refresh
	}
	gap, err := ScheduleMaxInterval(refreshCron)
	if err == nil && d < gap {
		l.fail(at, "max_lag `%s` is shorter than the longest gap between two refreshes (refresh `%s`: %s): "+
			"the tables are that old just before every refresh, so the alert would fire on a healthy monitor; use at least %s (default: 3 x that gap, %s)",
			lag, refresh, shortDuration(gap), shortDuration(gap), shortDuration(3*gap))
	}
}

// shortDuration prints 1h, 15m or 1h30m rather than 1h0m0s.
func shortDuration(d time.Duration) string {
	s := strings.TrimSuffix(d.String(), "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (l *loader) checkSchedule(at []string, s string) {
	if s == "" {
		return
	}
	if _, err := ScheduleCron(s); err != nil {
		l.fail(at, "invalid schedule: %v", err)
	}
}

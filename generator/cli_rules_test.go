package generator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/render"
)

// This file checks the generated bundles against what `databricks bundle
// validate --strict` (CLI v1.13.0) enforces beyond the JSON Schema, target
// by target: the CLI validates one target at a time, after merging its
// overrides and applying its mode's presets, so each rule runs on that
// merged configuration. Each rule cites the CLI source file it restates.

// targetConfig is the configuration the CLI validates for one target.
type targetConfig struct {
	name string
	mode string
	cfg  map[string]any // top level with the target merged in; no "targets"
}

// shortName stands in for ${workspace.current_user.short_name} in the
// development presets.
const shortName = "jane_doe"

// targetConfigs merges every target of the bundle into its own copy of the
// top-level configuration, as bundle/config/root.go MergeTargetOverrides
// does: bundle, workspace, artifacts, resources, sync, permissions and
// presets merge (mappings key by key, sequences concatenated, scalars
// overridden: libs/dyn/merge/merge.go); a target's variables replace the
// defaults; run_as replaces the top-level one. Then development presets
// are applied.
func targetConfigs(t *testing.T, root map[string]any) []targetConfig {
	t.Helper()
	targets, _ := root["targets"].(map[string]any)
	if len(targets) == 0 {
		t.Fatal("the bundle has no targets")
	}
	var out []targetConfig
	for _, name := range slices.Sorted(maps.Keys(targets)) {
		target := targets[name].(map[string]any)
		cfg := deepCopy(root).(map[string]any)
		delete(cfg, "targets")
		for _, field := range []string{"bundle", "workspace", "artifacts", "resources", "sync", "permissions", "presets"} {
			if v, ok := target[field]; ok {
				cfg[field] = mergeValues(cfg[field], deepCopy(v))
			}
		}
		if vars, ok := target["variables"].(map[string]any); ok {
			defs, _ := cfg["variables"].(map[string]any)
			for k, v := range vars {
				def, _ := defs[k].(map[string]any)
				if def == nil {
					t.Fatalf("target %s sets variable %s, which is not defined", name, k)
				}
				if m, isMap := v.(map[string]any); isMap {
					delete(def, "default")
					delete(def, "lookup")
					maps.Copy(def, m)
				} else {
					delete(def, "lookup")
					def["default"] = v
				}
			}
		}
		if v, ok := target["run_as"]; ok {
			cfg["run_as"] = deepCopy(v)
		}
		mode, _ := target["mode"].(string)
		if mode == "development" {
			applyDevelopmentPresets(cfg)
		}
		out = append(out, targetConfig{name: name, mode: mode, cfg: cfg})
	}
	return out
}

// applyDevelopmentPresets restates bundle/config/mutator/apply_target_mode.go
// (development mode's defaults: name prefix "[dev <short name>] ", tag dev,
// jobs_max_concurrent_runs 4, trigger_pause_status PAUSED, pipelines in
// development) and bundle/config/mutator/resourcemutator/apply_presets.go
// (a preset fills only what the resource leaves unset; alerts' schedules
// are paused since v0.286.0, CHANGELOG #4323).
func applyDevelopmentPresets(cfg map[string]any) {
	prefix := "[dev " + shortName + "] "
	res, _ := cfg["resources"].(map[string]any)
	each := func(kind string, f func(map[string]any)) {
		m, _ := res[kind].(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			f(m[k].(map[string]any))
		}
	}
	pauseIfUnset := func(r map[string]any, keys ...string) {
		for _, k := range keys {
			if sub, ok := r[k].(map[string]any); ok {
				if _, set := sub["pause_status"]; !set {
					sub["pause_status"] = "PAUSED"
				}
			}
		}
	}
	each("jobs", func(j map[string]any) {
		j["name"] = prefix + fmt.Sprint(j["name"])
		tags, _ := j["tags"].(map[string]any)
		if tags == nil {
			tags = map[string]any{}
			j["tags"] = tags
		}
		if _, ok := tags["dev"]; !ok {
			tags["dev"] = shortName
		}
		if n, _ := j["max_concurrent_runs"].(float64); n == 0 {
			j["max_concurrent_runs"] = float64(4)
		}
		pauseIfUnset(j, "schedule", "trigger", "continuous")
	})
	each("pipelines", func(p map[string]any) {
		p["name"] = prefix + fmt.Sprint(p["name"])
		p["development"] = true
		p["continuous"] = false
	})
	each("dashboards", func(d map[string]any) { d["display_name"] = prefix + fmt.Sprint(d["display_name"]) })
	each("alerts", func(a map[string]any) {
		a["display_name"] = prefix + fmt.Sprint(a["display_name"])
		pauseIfUnset(a, "schedule")
	})
	if exp, _ := cfg["experimental"].(map[string]any); exp["skip_name_prefix_for_schema"] != true {
		each("schemas", func(s map[string]any) { s["name"] = "dev_" + shortName + "_" + fmt.Sprint(s["name"]) })
	}
}

func mergeValues(a, b any) any {
	switch av := a.(type) {
	case nil:
		return b
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			return b
		}
		for k, v := range bv {
			av[k] = mergeValues(av[k], v)
		}
		return av
	case []any:
		if bv, ok := b.([]any); ok {
			return append(av, bv...)
		}
	}
	if b == nil {
		return a
	}
	return b
}

func deepCopy(v any) any {
	j, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(j, &out)
	return out
}

// walk calls f for every mapping entry of v, with its dotted path.
func walk(v any, at string, f func(path, key string, value any)) {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			f(at, k, x[k])
			walk(x[k], at+"."+k, f)
		}
	case []any:
		for i, e := range x {
			walk(e, fmt.Sprintf("%s[%d]", at, i), f)
		}
	}
}

// cliRuleViolations returns what `bundle validate --strict` would reject in
// one target's merged configuration.
func cliRuleViolations(tc targetConfig) []string {
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	cfg := tc.cfg
	ws, _ := cfg["workspace"].(map[string]any)
	rootPath, _ := ws["root_path"].(string)
	res, _ := cfg["resources"].(map[string]any)

	// bundle/config/validate/no_interpolation_in_bundle_name.go
	if n, _ := cfg["bundle"].(map[string]any)["name"].(string); n == "" || strings.Contains(n, "${") {
		fail("bundle name %q is empty or interpolated", n)
	}

	// The development presets above pause alert schedules only from CLI
	// v0.286.0 (CHANGELOG, #4323); older CLIs would run every developer's
	// alerts.
	if alerts, _ := res["alerts"].(map[string]any); len(alerts) > 0 {
		v, _ := cfg["bundle"].(map[string]any)["databricks_cli_version"].(string)
		var major, minor, patch int
		if n, _ := fmt.Sscanf(v, ">= %d.%d.%d", &major, &minor, &patch); n != 3 || (major == 0 && minor < 286) {
			fail("databricks_cli_version %q admits CLIs that do not pause alert schedules in development (need >= 0.286.0)", v)
		}
	}

	switch tc.mode {
	case "production":
		// bundle/config/mutator/resourcemutator/validate_target_mode.go:
		// an explicit root_path, and no pipeline in development.
		if rootPath == "" {
			fail("production target sets no workspace.root_path")
		}
		walk(res["pipelines"], "resources.pipelines", func(p, k string, v any) {
			if k == "development" && v == true {
				fail("%s.development is true in production", p)
			}
		})
		// Unset means unpaused in production: dbmon's schedules must run.
		walk(res, "resources", func(p, k string, v any) {
			if k == "pause_status" && v == "PAUSED" {
				fail("%s.pause_status is PAUSED in production", p)
			}
		})
	case "development":
		// validate_target_mode.go: paths must start with ~/ or name the
		// user; trigger_pause_status may not be UNPAUSED.
		if rootPath != "" && !strings.HasPrefix(rootPath, "~/") && !strings.Contains(rootPath, "${workspace.current_user.") {
			fail("development root_path %q names no user", rootPath)
		}
		if pre, _ := cfg["presets"].(map[string]any); pre["trigger_pause_status"] == "UNPAUSED" {
			fail("development presets.trigger_pause_status is UNPAUSED")
		}
		// apply_presets.go pauses only an unset pause_status: an explicit
		// UNPAUSED runs every developer's copy.
		walk(cfg, "", func(p, k string, v any) {
			if k == "pause_status" && v != "PAUSED" {
				fail("%s.pause_status is %v in development", p, v)
			}
		})
	default:
		fail("mode %q is neither development nor production", tc.mode)
	}

	// bundle/permissions/validate.go (with bundle/libraries/workspace_path.go
	// and bundle/config/mutator/prepend_workspace_prefix.go): a root under
	// /Workspace/Shared warns, an error under --strict, unless group users
	// has CAN_MANAGE.
	normalized := rootPath
	if strings.HasPrefix(normalized, "/") && !strings.HasPrefix(normalized, "/Workspace/") && !strings.HasPrefix(normalized, "/Volumes/") {
		normalized = "/Workspace" + normalized
	}
	if strings.HasPrefix(normalized, "/Workspace/Shared/") {
		usersManage := false
		perms, _ := cfg["permissions"].([]any)
		for _, p := range perms {
			m := p.(map[string]any)
			usersManage = usersManage || (m["group_name"] == "users" && m["level"] == "CAN_MANAGE")
		}
		if !usersManage {
			fail("the bundle root path %s is writable by all workspace users", rootPath)
		}
	}

	// bundle/config/mutator/resourcemutator/run_as.go: exactly one
	// identity; when it is not the deploying user (dbmon cannot know, so
	// assume so), no quality monitors, serving endpoints, apps or
	// dashboards with embedded credentials.
	if ra, ok := cfg["run_as"].(map[string]any); ok {
		n := 0
		for _, k := range []string{"user_name", "service_principal_name", "group_name"} {
			if s, _ := ra[k].(string); s != "" {
				n++
			}
		}
		if n != 1 {
			fail("run_as names %d identities, want 1", n)
		}
		if tc.mode == "development" {
			fail("development target sets run_as") // dbmon's own rule: dev runs as the developer
		}
		for _, kind := range []string{"quality_monitors", "model_serving_endpoints", "apps"} {
			if m, _ := res[kind].(map[string]any); len(m) > 0 {
				fail("run_as with resources.%s", kind)
			}
		}
		dash, _ := res["dashboards"].(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(dash)) {
			if dash[k].(map[string]any)["embed_credentials"] == true {
				fail("run_as with dashboard %s embedding credentials", k)
			}
		}
	}

	// Grants without a principal or privileges are rejected since v1.10.0
	// (bundle-format.md §7.16).
	walk(res, "resources", func(p, k string, v any) {
		if k != "grants" {
			return
		}
		for i, g := range v.([]any) {
			m := g.(map[string]any)
			if s, _ := m["principal"].(string); s == "" {
				fail("%s.grants[%d] has no principal", p, i)
			}
			if l, _ := m["privileges"].([]any); len(l) == 0 {
				fail("%s.grants[%d] has no privileges", p, i)
			}
		}
	})

	// bundle/config/validate/unique_resource_keys.go
	seen := map[string]string{}
	for _, kind := range slices.Sorted(maps.Keys(res)) {
		m, _ := res[kind].(map[string]any)
		for key := range m {
			if prev, dup := seen[key]; dup {
				fail("resource key %s used by %s and %s", key, prev, kind)
			}
			seen[key] = kind
		}
	}
	return bad
}

// includeViolations checks databricks.yml's include globs as
// bundle/config/loader/process_root_includes.go reads them: Go
// filepath.Glob (no recursive **), and every pattern matches a file.
func includeViolations(files []render.File) []string {
	root, err := decodeYAML(fileData(files, "databricks.yml"))
	if err != nil {
		return []string{err.Error()}
	}
	var bad []string
	incs, _ := root["include"].([]any)
	for _, inc := range incs {
		pattern := inc.(string)
		if strings.Contains(pattern, "**") {
			bad = append(bad, "include "+pattern+" uses **, which filepath.Glob does not recurse")
		}
		matched := false
		for _, f := range files {
			if ok, _ := path.Match(pattern, f.Path); ok {
				matched = true
			}
		}
		if !matched {
			bad = append(bad, "include "+pattern+" matches no file")
		}
	}
	return bad
}

func fileData(files []render.File, p string) []byte {
	for _, f := range files {
		if f.Path == p {
			return f.Data
		}
	}
	return nil
}

// TestCLIRules applies the CLI's rules to every target of every spec.
func TestCLIRules(t *testing.T) {
	for _, name := range specNames(t) {
		t.Run(name, func(t *testing.T) {
			files := generate(t, name)
			for _, v := range includeViolations(files) {
				t.Error(v)
			}
			root, err := mergedConfig(files)
			if err != nil {
				t.Fatal(err)
			}
			defaults := 0
			for _, v := range root["targets"].(map[string]any) {
				if v.(map[string]any)["default"] == true {
					defaults++
				}
			}
			// bundle/config/mutator/select_default_target.go
			if defaults != 1 {
				t.Errorf("%d default targets, want 1", defaults)
			}
			for _, tc := range targetConfigs(t, root) {
				for _, v := range cliRuleViolations(tc) {
					t.Errorf("target %s: %s", tc.name, v)
				}
			}
		})
	}
}

// TestCLIRulesReject proves each rule above can fail, on a bundle broken
// the way the issue found them broken.
func TestCLIRulesReject(t *testing.T) {
	root, err := mergedConfig(generate(t, "example"))
	if err != nil {
		t.Fatal(err)
	}
	for what, c := range map[string]struct {
		target string
		break_ func(target, top map[string]any)
		want   string
	}{
		"shared root": {"prod", func(tg, _ map[string]any) {
			tg["workspace"].(map[string]any)["root_path"] = "/Workspace/Shared/.bundle/x"
		}, "writable by all workspace users"},
		"shared root without /Workspace": {"prod", func(tg, _ map[string]any) {
			tg["workspace"].(map[string]any)["root_path"] = "/Shared/.bundle/x"
		}, "writable by all workspace users"},
		"no root_path": {"prod", func(tg, _ map[string]any) {
			delete(tg["workspace"].(map[string]any), "root_path")
		}, "sets no workspace.root_path"},
		"explicit UNPAUSED": {"dev", func(_, top map[string]any) {
			for _, j := range top["resources"].(map[string]any)["jobs"].(map[string]any) {
				j.(map[string]any)["schedule"].(map[string]any)["pause_status"] = "UNPAUSED"
			}
		}, "pause_status is UNPAUSED in development"},
		"two run_as identities": {"prod", func(tg, _ map[string]any) {
			tg["run_as"].(map[string]any)["user_name"] = "x@example.com"
		}, "run_as names 2 identities"},
		"interpolated name": {"prod", func(_, top map[string]any) {
			top["bundle"].(map[string]any)["name"] = "${var.catalog}"
		}, "empty or interpolated"},
		"embedded credentials": {"prod", func(_, top map[string]any) {
			for _, d := range top["resources"].(map[string]any)["dashboards"].(map[string]any) {
				d.(map[string]any)["embed_credentials"] = true
			}
		}, "embedding credentials"},
		"old CLI": {"dev", func(_, top map[string]any) {
			top["bundle"].(map[string]any)["databricks_cli_version"] = ">= 0.282.0"
		}, "do not pause alert schedules"},
		"empty grant": {"prod", func(tg, _ map[string]any) {
			for _, s := range tg["resources"].(map[string]any)["schemas"].(map[string]any) {
				s.(map[string]any)["grants"] = []any{map[string]any{"principal": "x"}}
			}
		}, "has no privileges"},
	} {
		broken := deepCopy(root).(map[string]any)
		c.break_(broken["targets"].(map[string]any)[c.target].(map[string]any), broken)
		var got []string
		for _, tc := range targetConfigs(t, broken) {
			if tc.name == c.target {
				got = cliRuleViolations(tc)
			}
		}
		if !slices.ContainsFunc(got, func(v string) bool { return strings.Contains(v, c.want) }) {
			t.Errorf("%s: violations %q do not include %q", what, got, c.want)
		}
	}
	if got := includeViolations([]render.File{{Path: "databricks.yml", Data: []byte("include: [resources/**]\n")}}); len(got) != 2 {
		t.Errorf("include resources/** with no files: %q, want 2 violations", got)
	}
}

// TestDevelopmentIsQuiet: in every development target's merged
// configuration every schedule is paused (nothing sets UNPAUSED, so the
// preset pauses them all), and no generated resource sets pause_status at
// all, so production targets run unpaused.
func TestDevelopmentIsQuiet(t *testing.T) {
	for _, name := range specNames(t) {
		root, err := mergedConfig(generate(t, name))
		if err != nil {
			t.Fatal(err)
		}
		walk(root["resources"], "resources", func(p, k string, v any) {
			if k == "pause_status" {
				t.Errorf("%s: %s sets pause_status %v; leave it unset so each mode decides", name, p, v)
			}
		})
		dev := 0
		for _, tc := range targetConfigs(t, root) {
			if tc.mode != "development" {
				continue
			}
			dev++
			schedules := 0
			walk(tc.cfg["resources"], "resources", func(p, k string, v any) {
				if k != "schedule" {
					return
				}
				schedules++
				if st := v.(map[string]any)["pause_status"]; st != "PAUSED" {
					t.Errorf("%s target %s: %s.schedule.pause_status is %v, want PAUSED", name, tc.name, p, st)
				}
			})
			if schedules == 0 {
				t.Errorf("%s target %s: no schedules found; the check saw nothing", name, tc.name)
			}
		}
		if dev == 0 {
			t.Errorf("%s: no development target", name)
		}
	}
}

// TestSchemaGrants: in every target's merged configuration, the schema
// grants the run_as identity what the monitor needs and every principal of
// the target's permissions USE_SCHEMA and SELECT, and nobody else anything.
func TestSchemaGrants(t *testing.T) {
	checked := 0
	for _, name := range specNames(t) {
		root, err := mergedConfig(generate(t, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range targetConfigs(t, root) {
			want := map[string][]string{}
			if ra, ok := tc.cfg["run_as"].(map[string]any); ok {
				for _, v := range ra {
					want[v.(string)] = model.RunAsPrivileges
				}
			}
			// The target's own permissions: the top level has none.
			perms, _ := root["targets"].(map[string]any)[tc.name].(map[string]any)["permissions"].([]any)
			for _, p := range perms {
				m := p.(map[string]any)
				for _, k := range []string{"group_name", "user_name", "service_principal_name"} {
					if s, _ := m[k].(string); s != "" {
						if s == "users" && k == "group_name" {
							s = "account users" // Unity Catalog's name for it
						}
						if _, isRunAs := want[s]; !isRunAs {
							want[s] = model.ReaderPrivileges
						}
					}
				}
			}
			got := map[string][]string{}
			schemas, _ := tc.cfg["resources"].(map[string]any)["schemas"].(map[string]any)
			for _, s := range schemas {
				grants, _ := s.(map[string]any)["grants"].([]any)
				for _, g := range grants {
					m := g.(map[string]any)
					for _, p := range m["privileges"].([]any) {
						got[m["principal"].(string)] = append(got[m["principal"].(string)], p.(string))
					}
				}
			}
			if len(want) == 0 && len(got) == 0 {
				continue
			}
			checked++
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s target %s: schema grants %v, want %v", name, tc.name, got, want)
			}
		}
	}
	if checked == 0 {
		t.Error("no target of any spec has grants; the test checked nothing")
	}
}

// TestJobTimeouts: for every task of every generated job, all its
// attempts timing out plus the waits between them fit the job's timeout,
// and so does the longest chain of tasks. It covers the specs and every
// refresh cadence with and without the collector.
func TestJobTimeouts(t *testing.T) {
	bundles := map[string][]render.File{}
	for _, name := range specNames(t) {
		bundles[name] = generate(t, name)
	}
	for _, refresh := range []string{"5m", "15m", "30m", "1h", "6h", "24h", `"0 15 * * * ?"`} {
		for _, collector := range []bool{true, false} {
			src := fmt.Sprintf("version: 1\nbundle: {name: t, catalog: c, schema: s, warehouse: w}\nrefresh: %s\ncollector: {enabled: %v}\n", refresh, collector)
			files, diags, err := Generate("spec.yaml", []byte(src))
			if err != nil || len(diags) > 0 {
				t.Fatalf("%s: %v %v", src, err, diags)
			}
			bundles[fmt.Sprintf("refresh %s collector %v", refresh, collector)] = files
		}
	}
	jobsSeen := 0
	for _, what := range slices.Sorted(maps.Keys(bundles)) {
		cfg, err := mergedConfig(bundles[what])
		if err != nil {
			t.Fatal(err)
		}
		jobs := cfg["resources"].(map[string]any)["jobs"].(map[string]any)
		for _, key := range slices.Sorted(maps.Keys(jobs)) {
			jobsSeen++
			for _, v := range timeoutViolations(jobs[key].(map[string]any)) {
				t.Errorf("%s: job %s: %s", what, key, v)
			}
		}
	}
	if jobsSeen == 0 {
		t.Fatal("no jobs generated")
	}
}

// timeoutViolations checks one job's timeouts.
func timeoutViolations(job map[string]any) []string {
	var bad []string
	jobTimeout, _ := job["timeout_seconds"].(float64)
	if jobTimeout <= 0 {
		return []string{"no timeout_seconds"}
	}
	worst := map[string]float64{}
	deps := map[string][]string{}
	for _, v := range job["tasks"].([]any) {
		task := v.(map[string]any)
		key := task["task_key"].(string)
		timeout, _ := task["timeout_seconds"].(float64)
		retries, _ := task["max_retries"].(float64)
		waitMillis, _ := task["min_retry_interval_millis"].(float64)
		if timeout <= 0 {
			bad = append(bad, "task "+key+" has no timeout_seconds, so nothing bounds it inside the job")
		}
		worst[key] = timeout*(retries+1) + retries*waitMillis/1000
		if worst[key] > jobTimeout {
			bad = append(bad, fmt.Sprintf("task %s: %.0f s x %.0f attempts + %.0f x %.0f s waits = %.0f s > job timeout %.0f s",
				key, timeout, retries+1, retries, waitMillis/1000, worst[key], jobTimeout))
		}
		dl, _ := task["depends_on"].([]any)
		for _, d := range dl {
			deps[key] = append(deps[key], d.(map[string]any)["task_key"].(string))
		}
	}
	var chain func(string) float64
	chain = func(key string) float64 {
		longest := 0.0
		for _, d := range deps[key] {
			longest = max(longest, chain(d))
		}
		return longest + worst[key]
	}
	for _, key := range slices.Sorted(maps.Keys(worst)) {
		if c := chain(key); c > jobTimeout {
			bad = append(bad, fmt.Sprintf("the chain ending in task %s takes up to %.0f s > job timeout %.0f s", key, c, jobTimeout))
		}
	}
	return bad
}

// TestTimeoutViolationsReject proves the timeout check fails on the
// contradictions the issue found: a 7,200 s task with a retry inside a
// 7,200 s job, and 3 x 1,200 s of collection plus waits in a 3,600 s job.
func TestTimeoutViolationsReject(t *testing.T) {
	var maintenance, refresh map[string]any
	_ = json.Unmarshal([]byte(`{"timeout_seconds": 7200, "tasks": [
		{"task_key": "retention", "timeout_seconds": 7200, "max_retries": 1, "min_retry_interval_millis": 300000}]}`), &maintenance)
	_ = json.Unmarshal([]byte(`{"timeout_seconds": 3600, "tasks": [
		{"task_key": "collect", "timeout_seconds": 1200, "max_retries": 2, "min_retry_interval_millis": 60000},
		{"task_key": "refresh_pipeline", "depends_on": [{"task_key": "collect"}]}]}`), &refresh)
	if got := timeoutViolations(maintenance); len(got) != 2 {
		t.Errorf("maintenance: %q, want the task and its chain", got)
	}
	if got := timeoutViolations(refresh); len(got) != 4 {
		t.Errorf("refresh: %q, want collect, the unbounded pipeline task and both chains", got)
	}
}

// TestBundleSchemaEveryTarget validates each target's merged configuration
// (what the CLI deploys for it) against the official bundle JSON Schema.
func TestBundleSchemaEveryTarget(t *testing.T) {
	sch := bundleSchema(t)
	n := 0
	for _, name := range specNames(t) {
		root, err := mergedConfig(generate(t, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range targetConfigs(t, root) {
			n++
			if err := sch.Validate(jsonValue(t, tc.cfg)); err != nil {
				t.Errorf("%s target %s: %s", name, tc.name, strings.TrimSpace(err.Error()))
			}
		}
	}
	if n < 3 {
		t.Errorf("validated %d targets; the specs have more", n)
	}
}

func jsonValue(t *testing.T, v any) any {
	t.Helper()
	j, _ := json.Marshal(v)
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

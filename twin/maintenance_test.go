package twin_test

// The maintenance job's two Python tasks, run by python3 against a fake
// SparkSession that records every statement: keep_history must send exactly
// the MERGE statements the twin runs (with the pipeline's ${dbmon.*} keys
// resolved), retention must delete detail at retention.detail_days and
// history at retention.aggregate_days.

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/generator/render"
)

// fakeSpark is a pyspark stand-in: SparkSession.builder.getOrCreate()
// returns a session whose sql() records the statement, and whose catalog
// says a table exists unless DBMON_MISSING names it. The statements are
// printed as one JSON list at exit.
const fakeSpark = `
import atexit, json, os, sys, types

executed = []
missing = set(filter(None, os.environ.get("DBMON_MISSING", "").split(",")))

class Catalog:
    def tableExists(self, name):
        return name.split(".")[-1] not in missing

class Session:
    catalog = Catalog()
    def sql(self, text):
        executed.append(text)

class Builder:
    def getOrCreate(self):
        return Session()

class SparkSession:
    builder = Builder()

pyspark = types.ModuleType("pyspark")
sql = types.ModuleType("pyspark.sql")
sql.SparkSession = SparkSession
pyspark.sql = sql
sys.modules["pyspark"] = pyspark
sys.modules["pyspark.sql"] = sql

atexit.register(lambda: print("EXECUTED " + json.dumps(executed)))
`

// runMaintenance writes the bundle's maintenance file and runs it with args
// under the fake Spark; it returns the statements it sent.
func runMaintenance(t *testing.T, files []render.File, path string, env []string, args ...string) []string {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3 is required in CI: %v", err)
		}
		t.Skipf("python3 not found: %v", err)
	}
	dir := t.TempDir()
	var src []byte
	for _, f := range files {
		if f.Path == path {
			src = f.Data
		}
	}
	if src == nil {
		t.Fatalf("the bundle has no %s", path)
	}
	script := filepath.Join(dir, filepath.Base(path))
	if err := os.WriteFile(script, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "fake_spark.py"), []byte(fakeSpark), 0o644); err != nil {
		t.Fatal(err)
	}
	runner := "import sys, runpy\nsys.path.insert(0, " + pyString(dir) + ")\nimport fake_spark\n" +
		"sys.argv = [" + pyString(script) + "] + sys.argv[1:]\nrunpy.run_path(" + pyString(script) + ", run_name='__main__')\n"
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, append([]string{"-c", runner}, args...)...)
	cmd.Env = append(append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1"), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3 %s: %v\n%s", path, err, out)
	}
	var executed []string
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "EXECUTED "); ok {
			if err := json.Unmarshal([]byte(rest), &executed); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return executed
		}
	}
	t.Fatalf("no EXECUTED line in:\n%s", out)
	return nil
}

func pyString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestMaintenance_KeepHistoryRunsTheTwinsStatements(t *testing.T) {
	res := prepare(t, "../specs/example.yaml")
	b := res.Bundle
	want, err := render.HistoryStatements(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != len(b.History) || len(want) == 0 {
		t.Fatalf("%d history statements for %d history tables", len(want), len(b.History))
	}
	resolve := func(sql string) string {
		for _, kv := range b.Pipeline.Configuration {
			sql = strings.ReplaceAll(sql, "${"+kv.Key+"}", kv.Value)
		}
		return sql
	}
	got := runMaintenance(t, res.Files, "src/maintenance/history.py", nil, "--catalog", "main", "--schema", "mon")
	if len(got) != 2+len(want) || got[0] != "USE CATALOG `main`" || got[1] != "USE SCHEMA `mon`" {
		t.Fatalf("keep_history sent %d statements, want USE CATALOG, USE SCHEMA and %d MERGEs: %q", len(got), len(want), got)
	}
	for i, w := range want {
		if g := got[2+i]; g != resolve(w.SQL) {
			t.Errorf("statement %d for %s differs from the twin's:\n%s\nwant\n%s", i, w.Table, g, resolve(w.SQL))
		}
		if strings.Contains(got[2+i], "${") {
			t.Errorf("statement for %s keeps an unresolved key", w.Table)
		}
	}

	// Before the pipeline's first update no history table exists: the task
	// skips them instead of failing.
	missing := make([]string, len(b.History))
	for i, h := range b.History {
		missing[i] = h.Name
	}
	got = runMaintenance(t, res.Files, "src/maintenance/history.py", []string{"DBMON_MISSING=" + strings.Join(missing, ",")}, "--catalog", "main", "--schema", "mon")
	if len(got) != 2 {
		t.Errorf("with no history table yet keep_history sent %q, want only the USE statements", got)
	}
}

func TestMaintenance_RetentionWindows(t *testing.T) {
	res := prepare(t, "../specs/example.yaml")
	b := res.Bundle
	got := runMaintenance(t, res.Files, "src/maintenance/retention.py", nil,
		"--catalog", "main", "--schema", "mon", "--days", "90", "--aggregate-days", "730")
	deletes := map[string]string{}
	for _, s := range got {
		if rest, ok := strings.CutPrefix(s, "DELETE FROM `main`.`mon`.`"); ok {
			name, cond, _ := strings.Cut(rest, "` WHERE ")
			deletes[name] = cond
		}
	}
	for _, bt := range b.Bronze {
		if !bt.Streaming || bt.TimeColumn == "" {
			continue
		}
		if cond := deletes[bt.Name]; !strings.Contains(cond, "`"+bt.TimeColumn+"`") || !strings.Contains(cond, " 90") {
			t.Errorf("%s: retention deletes %q, want rows older than 90 days on %s", bt.Name, cond, bt.TimeColumn)
		}
	}
	for _, h := range model.HistoryTables() {
		cond := deletes[h.Name]
		if cond != "`"+h.DateColumn+"` < date_sub(current_date(), 730)" {
			t.Errorf("%s: retention deletes %q, want rows older than 730 days on %s", h.Name, cond, h.DateColumn)
		}
	}
	for name := range deletes {
		if _, hist := model.HistoryTableByName(name); !hist && strings.Contains(deletes[name], "730") {
			t.Errorf("%s is detail but retention keeps it for aggregate_days: %q", name, deletes[name])
		}
	}
}

// fakePipelines is a pyspark.pipelines stand-in for the pipeline's history
// source, with the names and keyword arguments of the documented API
// (create_streaming_table, create_auto_cdc_flow, @temporary_view: the
// pyspark.pipelines reference): it records the tables, views and flows the
// module declares, and what each view returns, as JSON at exit. A misspelt
// function or argument fails the module here.
const fakePipelines = `
import atexit, json, sys, types, builtins

declared = {"tables": [], "flows": [], "views": {}}

def create_streaming_table(name, *, comment=None, table_properties=None, partition_cols=None,
                           cluster_by=None, schema=None, format=None):
    declared["tables"].append(dict(name=name, comment=comment, table_properties=table_properties,
                                   cluster_by=cluster_by, schema=schema))

def create_auto_cdc_flow(*, target, source, keys, sequence_by, ignore_null_updates=False,
                         apply_as_deletes=None, apply_as_truncates=None, column_list=None,
                         except_column_list=None, stored_as_scd_type=1, track_history_column_list=None,
                         track_history_except_column_list=None, name=None, once=False):
    declared["flows"].append(dict(target=target, source=source, keys=keys, sequence_by=sequence_by,
                                  stored_as_scd_type=stored_as_scd_type, name=name, once=once))

def temporary_view(name=None, comment=None):
    def wrap(fn):
        declared["views"][name] = fn()
        return fn
    return wrap

class Spark:
    def createDataFrame(self, rows, schema):
        return {"rows": rows, "schema": schema}

pyspark = types.ModuleType("pyspark")
pipelines = types.ModuleType("pyspark.pipelines")
pipelines.create_streaming_table = create_streaming_table
pipelines.create_auto_cdc_flow = create_auto_cdc_flow
pipelines.temporary_view = temporary_view
pyspark.pipelines = pipelines
sys.modules["pyspark"] = pyspark
sys.modules["pyspark.pipelines"] = pipelines
builtins.spark = Spark()

atexit.register(lambda: print("EXECUTED " + json.dumps(declared)))
`

// TestMaintenance_PipelineDeclaresHistory runs src/pipeline/gold/history.py
// under a fake pyspark.pipelines: every history table of the model is
// declared with its columns and types in order, is kept by a full refresh,
// and gets a one-time AUTO CDC flow over an empty source keyed by its grain.
func TestMaintenance_PipelineDeclaresHistory(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skipf("python3 not found: %v", err)
	}
	res := prepare(t, "../specs/example.yaml")
	var src []byte
	for _, f := range res.Files {
		if f.Path == model.HistorySource {
			src = f.Data
		}
	}
	if src == nil {
		t.Fatalf("the bundle has no %s", model.HistorySource)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "history.py")
	if err := os.WriteFile(script, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "fake_pipelines.py"), []byte(fakePipelines), 0o644); err != nil {
		t.Fatal(err)
	}
	runner := "import sys, runpy\nsys.path.insert(0, " + pyString(dir) + ")\nimport fake_pipelines\nrunpy.run_path(" + pyString(script) + ")\n"
	out, err := exec.CommandContext(t.Context(), python, "-c", runner).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", model.HistorySource, err, out)
	}
	var got struct {
		Tables []struct {
			Name            string            `json:"name"`
			Schema          string            `json:"schema"`
			ClusterBy       []string          `json:"cluster_by"`
			TableProperties map[string]string `json:"table_properties"`
		} `json:"tables"`
		Flows []struct {
			Target     string   `json:"target"`
			Source     string   `json:"source"`
			Keys       []string `json:"keys"`
			SequenceBy string   `json:"sequence_by"`
			SCDType    int      `json:"stored_as_scd_type"`
			Once       bool     `json:"once"`
		} `json:"flows"`
		Views map[string]struct {
			Rows   []any  `json:"rows"`
			Schema string `json:"schema"`
		} `json:"views"`
	}
	line := string(out)[strings.LastIndex(string(out), "EXECUTED ")+len("EXECUTED "):]
	if err := json.Unmarshal([]byte(strings.TrimSpace(line)), &got); err != nil {
		t.Fatalf("%v in:\n%s", err, out)
	}
	hist := model.HistoryTables()
	if len(got.Tables) != len(hist) || len(got.Flows) != len(hist) {
		t.Fatalf("declared %d tables and %d flows, want %d of each", len(got.Tables), len(got.Flows), len(hist))
	}
	for i, h := range hist {
		tb, fl := got.Tables[i], got.Flows[i]
		if tb.Name != h.Name || fl.Target != h.Name {
			t.Errorf("table %d is %s (flow into %s), want %s", i, tb.Name, fl.Target, h.Name)
		}
		if tb.TableProperties["pipelines.reset.allowed"] != "false" {
			t.Errorf("%s: a full refresh would truncate it: %v", h.Name, tb.TableProperties)
		}
		// The schema string: "name TYPE COMMENT '...'" per column, in order.
		var cols []string
		for _, part := range strings.Split(tb.Schema, " COMMENT ") {
			if i := strings.LastIndex(part, ", "); i >= 0 {
				part = part[i+2:]
			}
			cols = append(cols, part)
		}
		cols = cols[:len(cols)-1] // the last part is the last comment
		if len(cols) != len(h.Columns) {
			t.Errorf("%s: schema has %d columns, want %d: %s", h.Name, len(cols), len(h.Columns), tb.Schema)
			continue
		}
		for j, c := range h.Columns {
			if cols[j] != c.Name+" "+c.Type {
				t.Errorf("%s column %d is %q, want %q", h.Name, j, cols[j], c.Name+" "+c.Type)
			}
		}
		if !slices.Equal(fl.Keys, h.Keys) || fl.SequenceBy != h.DateColumn || fl.SCDType != 1 || !fl.Once {
			t.Errorf("%s: flow %+v, want a one-time SCD1 flow keyed by %v sequenced by %s", h.Name, fl, h.Keys, h.DateColumn)
		}
		v, ok := got.Views[fl.Source]
		if !ok || len(v.Rows) != 0 || v.Schema != strings.Join(cols, ", ") {
			t.Errorf("%s: the flow's source %s is %+v, want no rows with the table's columns and types", h.Name, fl.Source, v)
		}
	}
}

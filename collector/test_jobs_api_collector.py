"""Tests of the generated Jobs API collector (src/collector/jobs_api_collector.py).

Standard library only. The collector is rendered by `go test ./collector`,
which passes its path in DBMON_COLLECTOR (and the model's expectations in
DBMON_COLLECTOR_EXPECT). The tests talk real HTTP, through the collector's
default urllib transport, to a fake Jobs API 2.2 on 127.0.0.1 (http.server in
a thread), and write to an in-memory sqlite3 sink with the MERGE's upsert
semantics, whose work list stands in for the system tables. Time is a fake clock that only sleep advances, so backoff is
measured without waiting.
"""
import contextlib
import datetime
import http.server
import importlib.util
import io
import json
import os
import sqlite3
import sys
import threading
import unittest
import urllib.parse
from unittest import mock

MOD = None  # the rendered collector, loaded in setUpModule

NOW = 1780000000.0  # fake clock start, epoch seconds (2026-05-28)
MIN_MS = 60 * 1000
DAY_MS = 86400 * 1000
TOKEN = "dapi-test-token"


def setUpModule():
    global MOD
    path = os.environ.get("DBMON_COLLECTOR")
    if not path:
        raise unittest.SkipTest("DBMON_COLLECTOR is not set: run `go test ./collector`, which renders the collector")
    # The fake API is local: never send it through a proxy from the environment.
    for var in ("NO_PROXY", "no_proxy"):
        os.environ[var] = ",".join(filter(None, [os.environ.get(var), "127.0.0.1", "localhost"]))
    spec = importlib.util.spec_from_file_location("jobs_api_collector", path)
    MOD = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(MOD)


# ---------------------------------------------------------------- fakes


class FakeClock:
    """Epoch seconds that move only when sleep is called."""

    def __init__(self, now=NOW):
        self.now = now
        self.sleeps = []

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds):
        self.now += seconds

    def ms(self):
        return int(self.now * 1000)


class Fault:
    def __init__(self, path, status, times, headers, body, when, drop):
        self.path, self.status, self.times = path, status, times
        self.headers, self.body, self.when, self.drop = headers or {}, body, when, drop
        self.served = 0


def failure(ws, run_id, task_run_id, end_ms, job_id=7, key="load", state="FAILED",
            code="RUN_EXECUTION_ERROR", ttype="CLIENT_ERROR", repaired=False, minutes=4):
    """A failed task run as the work list (QUERY) returns it: ids as strings,
    times as epoch ms."""
    return {
        "workspace_id": str(ws), "job_id": str(job_id), "run_id": str(run_id), "task_run_id": str(task_run_id),
        "task_key": key, "start_ms": end_ms - minutes * MIN_MS, "end_ms": end_ms,
        "result_state": state, "termination_code": code, "termination_type": ttype, "repaired": repaired,
    }


def _dt(ms):
    return datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(milliseconds=ms)


def failures(ws, n, now_ms, first_id=1000, every=10 * MIN_MS):
    """n failed task runs, one every 10 minutes back from now; job run i has
    task run i * 10 + 2."""
    return [failure(ws, first_id + i, (first_id + i) * 10 + 2, now_ms - (i + 1) * every) for i in range(n)]


class FakeJobsAPI:
    """The slice of Jobs API 2.2 the collector uses, on 127.0.0.1.

    runs/get-output: error, error_trace and metadata (the task run) of a
    task run in task_runs (else 400 INVALID_PARAMETER_VALUE, as for a run
    the API deleted); outputs overrides a body. runs/get: a job run of runs
    (tasks and repair_history). Every request needs "Authorization: Bearer
    <token>" (else 401). Faults inject statuses, Retry-After and dropped
    connections; requests counts every request.
    """

    def __init__(self, token=TOKEN):
        self.token = token
        self.task_runs = {}  # task run id (str) -> job run id (str)
        self.outputs = {}  # task run id (str) -> body fields
        self.runs = {}  # job run id (str) -> runs/get body
        self.faults = []
        self.requests = []  # (path, params, authorization)
        self.lock = threading.Lock()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                api.handle(self)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    @property
    def host(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def add(self, work):
        """Makes the API know the task runs of a work list."""
        for t in work:
            self.task_runs[t["task_run_id"]] = t["run_id"]

    def fault(self, path, status=None, times=1, headers=None, body=None, when=None, drop=False):
        """Answer the next `times` requests to path (None: every one) for which
        when(params) holds with status, or drop the connection."""
        f = Fault(path, status, times, headers, body, when, drop)
        self.faults.append(f)
        return f

    def calls(self, path):
        return [params for p, params, _ in self.requests if p == path]

    # -- request handling

    def handle(self, h):
        url = urllib.parse.urlsplit(h.path)
        params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        with self.lock:
            self.requests.append((url.path, params, h.headers.get("Authorization")))
            if h.headers.get("Authorization") != "Bearer " + self.token:
                return self.reply(h, 401, {"error_code": "UNAUTHENTICATED", "message": "Invalid access token."})
            for f in self.faults:
                if f.path == url.path and (f.times is None or f.times > 0) and (f.when is None or f.when(params)):
                    if f.times is not None:
                        f.times -= 1
                    f.served += 1
                    if f.drop:
                        h.close_connection = True
                        return None
                    return self.reply(h, f.status, f.body if f.body is not None else
                                      {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "injected %d" % f.status},
                                      f.headers)
            route = {
                "/api/2.2/jobs/runs/get": self.runs_get,
                "/api/2.2/jobs/runs/get-output": self.runs_get_output,
            }.get(url.path)
            if route is None:
                return self.reply(h, 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": "No API found for " + url.path})
            status, body = route(params)
        return self.reply(h, status, body)

    def reply(self, h, status, body, headers=None):
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def bad(self, run_id):
        return 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "Run %s does not exist." % run_id}

    def runs_get(self, params):
        run_id = params.get("run_id", "")
        if run_id not in self.runs:
            return self.bad(run_id)
        return 200, self.runs[run_id]

    def runs_get_output(self, params):
        run_id = params.get("run_id", "")
        if run_id not in self.task_runs:
            return self.bad(run_id)
        body = {
            "metadata": {"run_id": int(run_id), "job_id": 7, "attempt_number": 0,
                         "run_page_url": "https://example.test/jobs/runs/%s" % run_id,
                         "state": {"life_cycle_state": "TERMINATED", "result_state": "FAILED"},
                         "status": {"termination_details": {"code": "RUN_EXECUTION_ERROR", "type": "CLIENT_ERROR"}}},
            "error": "RuntimeError: task run %s failed" % run_id,
            "error_trace": "Traceback (most recent call last):\nRuntimeError: task run %s failed" % run_id,
        }
        body.update(self.outputs.get(run_id, {}))
        return 200, body


class SqliteSink:
    """The collector's sink on sqlite3: the table keyed by (workspace_id,
    run_id, task_run_id) upserted with INSERT ... ON CONFLICT DO UPDATE, which
    is what the MERGE does on Databricks. Like Delta's MERGE it refuses a
    batch with two rows for one key. system holds the failed task runs the
    system tables show (work-list entries); pending returns those ending
    since the window start that the table has no row for, newest first: the
    contract of QUERY, which the twin tests on DuckDB. fail_merge(n) may
    raise on the n-th merge (a crash between batches)."""

    def __init__(self, db=None, system=None, fail_merge=None):
        self.db = db or sqlite3.connect(":memory:", check_same_thread=False)
        self.system = system if system is not None else []
        self.fail_merge = fail_merge
        self.merges = []  # key lists, one per merge
        self.windows = []  # (workspace_id, window_start_ms) per pending call

    def ensure_tables(self):
        cols = ", ".join("%s %s" % (n, "INTEGER" if t == "BIGINT" else "TEXT") for n, t, _ in MOD.COLUMNS)
        self.db.execute("CREATE TABLE IF NOT EXISTS %s (%s, PRIMARY KEY (%s))" % (MOD.TABLE, cols, ", ".join(MOD.KEYS)))

    def pending(self, workspace_id, window_start_ms):
        self.windows.append((workspace_id, window_start_ms))
        stored = set(self.keys())
        out = [dict(t) for t in self.system if t["workspace_id"] == workspace_id and t["end_ms"] >= window_start_ms
               and (t["workspace_id"], t["run_id"], t["task_run_id"]) not in stored]
        out.sort(key=lambda t: (-t["end_ms"], t["run_id"], t["task_run_id"]))
        return out

    def merge(self, rows):
        n = len(self.merges) + 1
        keys = [tuple(r[k] for k in MOD.KEYS) for r in rows]
        self.merges.append(keys)
        if self.fail_merge:
            self.fail_merge(n)
        if len(set(keys)) != len(keys):
            raise AssertionError("DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE: a batch holds one key twice")
        names = MOD.COLUMN_NAMES
        update = ", ".join("%s = excluded.%s" % (c, c) for c in names if c not in MOD.KEYS)
        sql = "INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s) DO UPDATE SET %s" % (
            MOD.TABLE, ", ".join(names), ", ".join("?" for _ in names), ", ".join(MOD.KEYS), update)
        with self.db:
            self.db.executemany(sql, [tuple(self.value(r[c]) for c in names) for r in rows])

    @staticmethod
    def value(v):
        if isinstance(v, datetime.datetime):
            assert v.tzinfo is not None and v.utcoffset() == datetime.timedelta(0), "timestamps must be UTC"
            return v.isoformat()
        return v

    def rows(self):
        cur = self.db.execute("SELECT * FROM %s ORDER BY workspace_id, run_id, task_run_id" % MOD.TABLE)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]

    def keys(self):
        return [(r["workspace_id"], r["run_id"], r["task_run_id"]) for r in self.rows()]


def keys_of(work):
    return {(t["workspace_id"], t["run_id"], t["task_run_id"]) for t in work}


class Base(unittest.TestCase):
    WS = "1234567890123456"

    def setUp(self):
        self.clock = FakeClock()
        self.logs = []
        self.api = FakeJobsAPI()
        self.addCleanup(self.api.close)
        self.sink = SqliteSink()
        self.sink.ensure_tables()

    def workspace(self, api=None, ws=None, token=TOKEN):
        return MOD.Workspace(ws or self.WS, "test", (api or self.api).host, MOD.static_token_auth(token))

    def collector(self, sink=None, rand=lambda: 0.5, max_retry_seconds=300, lookback_days=60, transport=None, **kw):
        client = MOD.ApiClient(transport, clock=self.clock.time, sleep=self.clock.sleep, rand=rand,
                               max_retry_seconds=max_retry_seconds, log=self.logs.append)
        return MOD.Collector(client, sink or self.sink, lookback_days=lookback_days, **kw)

    def failing(self, n, **kw):
        """n failed task runs in the system tables, known to the API."""
        work = failures(self.WS, n, self.clock.ms(), **kw)
        self.sink.system.extend(work)
        self.api.add(work)
        return work

    def events(self, name):
        return [e for e in self.logs if e.get("event") == name]

    def outputs_asked(self):
        return [p["run_id"] for p in self.api.calls(MOD.RUNS_GET_OUTPUT)]


# ---------------------------------------------------------------- tests


class TestGenerated(unittest.TestCase):
    def test_constants_match_the_model(self):
        expect = json.loads(os.environ.get("DBMON_COLLECTOR_EXPECT") or "null")
        if expect is None:
            self.fail("DBMON_COLLECTOR_EXPECT is not set: run `go test ./collector`")
        self.assertEqual(MOD.TABLE, expect["table"])
        self.assertEqual([[n, t] for n, t, _ in MOD.COLUMNS], expect["columns"])
        self.assertEqual(list(MOD.KEYS), expect["keys"])
        self.assertEqual(MOD.MERGE_SQL, expect["merge_sql"])
        self.assertEqual(MOD.QUERY + "\n", expect["query"])
        self.assertEqual(MOD.LOOKBACK_DAYS, expect["lookback_days"])
        self.assertEqual(MOD.WORKSPACES, expect["workspaces"])

    def test_imports_without_databricks(self):
        self.assertNotIn("pyspark", sys.modules)
        self.assertNotIn("databricks", sys.modules)

    def test_rows_have_exactly_the_table_columns(self):
        raw = MOD.pending_row(failure("1", 5, 52, 1000 * MIN_MS), 2000 * MIN_MS)
        self.assertEqual(list(MOD.coerce_row(raw)), MOD.COLUMN_NAMES)

    def test_truncate_text(self):
        self.assertIsNone(MOD.truncate_text(None))
        self.assertEqual(MOD.truncate_text("short"), "short")
        self.assertEqual(MOD.truncate_text("\x1b[0;31mValueError\x1b[0m: x"), "ValueError: x")
        long = "HEAD" + "é" * 20000 + "TAIL"
        cut = MOD.truncate_text(long, 1000)
        self.assertLessEqual(len(cut.encode("utf-8")), 1000)
        self.assertTrue(cut.startswith("HEAD") and cut.endswith("TAIL"), cut[:20] + cut[-20:])
        self.assertIn("dbmon truncated", cut)


class TestWorkList(Base):
    def test_one_get_output_per_failed_task_run_in_batches(self):
        work = self.failing(250)
        failures_ = self.collector().run([self.workspace()])
        self.assertEqual(failures_, [])
        self.assertEqual(set(self.sink.keys()), keys_of(work))
        self.assertEqual(sorted(self.outputs_asked()), sorted(t["task_run_id"] for t in work))
        self.assertEqual({p for p, _, _ in self.api.requests}, {MOD.RUNS_GET_OUTPUT}, "only get-output: no runs/list, no runs/get")
        self.assertEqual([len(m) for m in self.sink.merges], [100, 100, 50])
        # Newest first: the first batch holds the latest failures.
        self.assertEqual({k[2] for k in self.sink.merges[0]}, {t["task_run_id"] for t in work[:100]})
        self.assertEqual(self.sink.windows, [(self.WS, self.clock.ms() - 60 * DAY_MS)])
        done = self.events("workspace_done")[0]
        self.assertEqual((done["pending"], done["rows"], done["outputs"], done["batches"]), (250, 250, 250, 3))
        self.assertEqual((done["permission_denied"], done["not_found"], done["left_for_next_poll"]), (0, 0, 0))

    def test_row_values(self):
        now = self.clock.ms()
        t = failure(self.WS, 4242, 42422, now - 30 * MIN_MS, job_id=99, state="TIMED_OUT", code="RUN_EXECUTION_ERROR",
                    ttype=None)
        self.sink.system.append(t)
        self.api.add([t])
        self.api.outputs["42422"] = {"error": "boom", "error_trace": "Traceback: boom",
                                     "metadata": {"attempt_number": 2, "run_page_url": "https://example.test/jobs/99/runs/42422",
                                                  "status": {"termination_details": {"type": "CLIENT_ERROR"}}}}
        self.collector().collect(self.workspace())
        [row] = self.sink.rows()
        end = _dt(now - 30 * MIN_MS)
        self.assertEqual(row, {
            "workspace_id": self.WS, "job_id": "99", "run_id": "4242", "task_run_id": "42422", "task_key": "load",
            "attempt_number": 2, "start_time": (end - datetime.timedelta(minutes=4)).isoformat(), "end_time": end.isoformat(),
            "result_state": "TIMED_OUT", "termination_code": "RUN_EXECUTION_ERROR",
            "termination_type": "CLIENT_ERROR",  # the system table had none: the API's
            "error": "boom", "error_trace": "Traceback: boom", "run_page_url": "https://example.test/jobs/99/runs/42422",
            "collected_at": _dt(int(NOW * 1000)).isoformat(), "collect_status": "ok", "repair_attempt": None,
        })

    def test_output_text(self):
        work = self.failing(4)
        ids = [t["task_run_id"] for t in work]
        self.api.outputs[ids[0]] = {"error": "\x1b[0;31mValueError\x1b[0m: bad row", "error_trace": "Traceback ...\nValueError: bad row"}
        # No output text (the failure never reached user code): the
        # termination message stands in.
        self.api.outputs[ids[1]] = {"error": None, "error_trace": None, "metadata": {
            "state": {"life_cycle_state": "INTERNAL_ERROR"},
            "status": {"termination_details": {"code": "CLOUD_FAILURE", "type": "CLOUD_FAILURE",
                                               "message": "Cluster terminated: cloud provider capacity"}}}}
        trace = "java.lang.OutOfMemoryError: Java heap space\n" + "\tat org.apache.spark.Frame(X.scala:1)\n" * 5000 + "Caused by: the end"
        self.api.outputs[ids[2]] = {"error": "OutOfMemoryError", "error_trace": trace}
        self.collector().collect(self.workspace())
        rows = {r["task_run_id"]: r for r in self.sink.rows()}
        self.assertEqual(rows[ids[0]]["error"], "ValueError: bad row")
        self.assertEqual(rows[ids[1]]["error"], "Cluster terminated: cloud provider capacity")
        self.assertIsNone(rows[ids[1]]["error_trace"])
        cut = rows[ids[2]]["error_trace"]
        self.assertLessEqual(len(cut.encode("utf-8")), MOD.MAX_TEXT_BYTES)
        self.assertLess(MOD.MAX_TEXT_BYTES, len(trace))
        self.assertTrue(cut.startswith("java.lang.OutOfMemoryError: Java heap space"))
        self.assertTrue(cut.endswith("Caused by: the end"))
        self.assertIn("dbmon truncated", cut)
        self.assertEqual(rows[ids[3]]["error"], "RuntimeError: task run %s failed" % ids[3])

    def test_overlapping_polls_neither_duplicate_nor_refetch(self):
        work = self.failing(30)
        self.collector().collect(self.workspace())
        first = self.sink.rows()
        self.assertEqual(len(self.outputs_asked()), 30)
        self.clock.advance(15 * 60)
        new = failure(self.WS, 9000, 90002, self.clock.ms() - MIN_MS)
        self.sink.system.append(new)
        self.api.add([new])
        self.collector().collect(self.workspace())
        self.assertEqual(len(self.sink.rows()), len(first) + 1)
        self.assertEqual(set(self.sink.keys()), keys_of(work + [new]))
        self.assertEqual(self.outputs_asked()[30:], ["90002"], "get-output was called again for stored task runs")
        self.clock.advance(15 * 60)
        before = len(self.api.requests)
        self.collector().collect(self.workspace())
        self.assertEqual(len(self.api.requests), before, "a poll with nothing new calls the API")
        self.assertEqual(self.sink.merges[-1:], [[("1234567890123456", "9000", "90002")]], "an empty poll merges nothing")

    def test_old_failures_within_the_lookback_are_collected(self):
        """However old: a failure of 45 days ago that no poll stored yet (a
        new deployment, an outage) is fetched; one older than the lookback
        is not."""
        now = self.clock.ms()
        old = failure(self.WS, 1, 12, now - 45 * DAY_MS)
        too_old = failure(self.WS, 2, 22, now - 61 * DAY_MS)
        self.sink.system.extend([old, too_old])
        self.api.add([old, too_old])
        self.collector(lookback_days=60).collect(self.workspace())
        self.assertEqual(self.sink.keys(), [(self.WS, "1", "12")])
        self.assertEqual(self.sink.windows[-1], (self.WS, now - 60 * DAY_MS))

    def test_empty_work_list(self):
        self.collector().collect(self.workspace())
        self.assertEqual(self.sink.rows(), [])
        self.assertEqual(self.sink.merges, [])
        self.assertEqual(self.api.requests, [])


class TestPermissions(Base):
    def test_403_is_stored_as_permission_denied_counted_and_not_refetched(self):
        work = self.failing(5)
        denied = {work[1]["task_run_id"], work[3]["task_run_id"]}
        self.api.fault(MOD.RUNS_GET_OUTPUT, 403, times=None, when=lambda p: p["run_id"] in denied,
                       body={"error_code": "PERMISSION_DENIED", "message": "User does not have permission to view this run."})
        self.assertEqual(self.collector().run([self.workspace()]), [])
        rows = {r["task_run_id"]: r for r in self.sink.rows()}
        self.assertEqual(len(rows), 5)
        for k, r in rows.items():
            if k in denied:
                self.assertEqual(r["collect_status"], "permission denied")
                self.assertIsNone(r["error"])
                self.assertEqual(r["result_state"], "FAILED", "the system tables' columns are kept")
            else:
                self.assertEqual(r["collect_status"], "ok")
        self.assertEqual(self.clock.sleeps, [], "a 403 is not retried")
        self.assertEqual(self.events("workspace_done")[0]["permission_denied"], 2)
        [hint] = self.events("permission_denied")
        self.assertEqual(hint["task_runs"], 2)
        self.assertIn("CAN VIEW", hint["hint"])
        self.clock.advance(15 * 60)
        self.collector().collect(self.workspace())
        self.assertEqual(len(self.outputs_asked()), 5, "a permission denied row is stored: not fetched every poll")

    def test_deleted_runs_are_not_found(self):
        work = self.failing(3)
        del self.api.task_runs[work[0]["task_run_id"]]  # 400 INVALID_PARAMETER_VALUE, as for a run past 60 days
        self.api.fault(MOD.RUNS_GET_OUTPUT, 404, times=None, when=lambda p: p["run_id"] == work[1]["task_run_id"],
                       body={"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Run not found."})
        self.collector().collect(self.workspace())
        status = {r["task_run_id"]: r["collect_status"] for r in self.sink.rows()}
        self.assertEqual(status, {work[0]["task_run_id"]: "not found", work[1]["task_run_id"]: "not found",
                                  work[2]["task_run_id"]: "ok"})
        self.assertEqual(self.events("workspace_done")[0]["not_found"], 2)

    def test_unauthenticated_fails_the_workspace_at_once(self):
        self.failing(3)
        with self.assertRaises(MOD.ApiError) as cm:
            self.collector().collect(self.workspace(token="wrong"))
        self.assertIn("HTTP 401 UNAUTHENTICATED: Invalid access token.", str(cm.exception))
        self.assertEqual(len(self.api.requests), 1, "a 401 must not be retried")
        self.assertEqual(self.clock.sleeps, [])
        self.assertEqual(self.sink.rows(), [], "a 401 is the token's fault, not the run's: nothing is stored")


class TestRepairs(Base):
    def test_runs_get_once_per_repaired_run(self):
        now = self.clock.ms()
        # Job run 500 failed (task run 5001), was repaired (5002 failed
        # again), then repaired once more; job run 600 was never repaired.
        work = [failure(self.WS, 500, 5001, now - 90 * MIN_MS, repaired=True),
                failure(self.WS, 500, 5002, now - 60 * MIN_MS, repaired=True),
                failure(self.WS, 600, 6001, now - 30 * MIN_MS)]
        self.sink.system.extend(work)
        self.api.add(work)
        self.api.runs["500"] = {"run_id": 500, "tasks": [{"run_id": 5003, "task_key": "load"}], "repair_history": [
            {"type": "ORIGINAL", "id": 1, "task_run_ids": [5001]},
            {"type": "REPAIR", "id": 2, "task_run_ids": [5002]},
            {"type": "REPAIR", "id": 3, "task_run_ids": [5003]}]}
        self.collector().collect(self.workspace())
        self.assertEqual(self.api.calls(MOD.RUNS_GET), [{"run_id": "500"}])
        attempt = {r["task_run_id"]: r["repair_attempt"] for r in self.sink.rows()}
        self.assertEqual(attempt, {"5001": 0, "5002": 1, "6001": None})
        self.assertEqual(self.events("workspace_done")[0]["repaired_runs"], 1)

    def test_a_repaired_run_the_api_lost_keeps_its_error_text(self):
        t = failure(self.WS, 700, 7001, self.clock.ms() - MIN_MS, repaired=True)
        self.sink.system.append(t)
        self.api.add([t])  # runs/get answers 400: the run is not in api.runs
        self.collector().collect(self.workspace())
        [row] = self.sink.rows()
        self.assertEqual((row["collect_status"], row["repair_attempt"]), ("ok", None))
        self.assertIn("7001 failed", row["error"])


class TestRetries(Base):
    def test_429_with_retry_after_then_success(self):
        self.failing(3)
        f = self.api.fault(MOD.RUNS_GET_OUTPUT, 429, times=2, headers={"Retry-After": "7"},
                           body={"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "Too many requests"})
        self.collector(rand=lambda: 0.5).collect(self.workspace())
        self.assertEqual(f.served, 2)
        self.assertEqual(self.clock.sleeps, [7.0, 7.0])
        self.assertEqual(len(self.sink.rows()), 3)
        retries = self.events("retry")
        self.assertEqual([(e["status"], e["retry_after_s"]) for e in retries], [(429, 7.0), (429, 7.0)])

    def test_transient_5xx_and_dropped_connections_then_success(self):
        self.failing(3)
        self.api.fault(MOD.RUNS_GET_OUTPUT, 502, times=1)
        self.api.fault(MOD.RUNS_GET_OUTPUT, drop=True, times=1)
        self.api.fault(MOD.RUNS_GET_OUTPUT, 500, times=2)
        self.collector(rand=lambda: 0.5).collect(self.workspace())
        self.assertEqual(len(self.sink.rows()), 3)
        self.assertEqual({r["collect_status"] for r in self.sink.rows()}, {"ok"})
        # Full jitter: rand * min(cap, base * 2^(attempt-1)); the first
        # request takes all four faults.
        self.assertEqual(self.clock.sleeps, [0.5, 1.0, 2.0, 4.0])
        self.assertEqual([e["status"] for e in self.events("retry")], [502, None, 500, 500])
        self.assertIn("connection error", self.events("retry")[1]["error"])

    def test_backoff_is_bounded_and_the_run_is_left_for_the_next_poll(self):
        work = self.failing(2)
        self.api.fault(MOD.RUNS_GET_OUTPUT, 503, times=None)
        start = self.clock.time()
        failures_ = self.collector(rand=lambda: 0.999, max_retry_seconds=300).run([self.workspace()])
        self.assertEqual(len(failures_), 1)
        message = failures_[0][1]
        for part in (MOD.RUNS_GET_OUTPUT, "HTTP 503", "gave up", "300"):
            self.assertIn(part, message)
        self.assertLessEqual(self.clock.time() - start, 300)
        self.assertLessEqual(sum(self.clock.sleeps), 300)
        self.assertGreater(sum(self.clock.sleeps), 150)
        # Exponential then capped: 1, 2, 4, ... 60 (times the jitter).
        self.assertEqual([round(s / 0.999) for s in self.clock.sleeps[:7]], [1, 2, 4, 8, 16, 32, 60])
        self.assertLess(len(self.outputs_asked()), 15)
        self.assertEqual(self.sink.rows(), [], "a 503 is not the run's answer: nothing is stored")
        self.api.faults = []
        self.collector().run([self.workspace()])
        self.assertEqual(set(self.sink.keys()), keys_of(work))

    def test_retry_after_beyond_the_bound_fails_without_waiting(self):
        self.failing(1)
        self.api.fault(MOD.RUNS_GET_OUTPUT, 429, times=None, headers={"Retry-After": "3600"})
        with self.assertRaises(MOD.ApiError) as cm:
            self.collector(max_retry_seconds=300).collect(self.workspace())
        self.assertEqual(cm.exception.status, 429)
        self.assertEqual(self.clock.sleeps, [])


class TestCrashAndResume(Base):
    def test_crash_between_batches_then_resume(self):
        work = self.failing(250)

        def crash(n):
            if n == 2:
                raise RuntimeError("simulated crash: the job died writing batch 2")

        crashing = SqliteSink(self.sink.db, system=self.sink.system, fail_merge=crash)
        failures_ = self.collector(sink=crashing).run([self.workspace()])
        self.assertEqual(len(failures_), 1)
        self.assertIn("simulated crash", failures_[0][1])
        self.assertEqual(self.events("workspace_failed")[0]["unwritten"], "fetched again by the next poll")
        self.assertEqual(len(self.outputs_asked()), 200, "the poll must stop at the failed batch")
        self.assertEqual(set(self.sink.keys()), keys_of(work[:100]))

        self.clock.advance(15 * 60)
        self.assertEqual(self.collector().run([self.workspace()]), [])
        self.assertEqual(set(self.sink.keys()), keys_of(work))
        asked = self.outputs_asked()
        # Exactly once in the table; get-output again only for the batch
        # whose MERGE did not happen.
        self.assertEqual(len(asked), 200 + 150)
        stored_first = {t["task_run_id"] for t in work[:100]}
        self.assertEqual([a for a in asked if a in stored_first], sorted(stored_first, key=asked.index))
        self.assertEqual(len([a for a in asked if a in stored_first]), 100)

    def test_time_budget_leaves_the_rest_for_the_next_poll(self):
        work = self.failing(250)

        def slow(method, url, headers, params):
            self.clock.advance(1.0)  # one second per request
            return MOD.urllib_transport(method, url, headers, params)

        self.collector(transport=slow, time_budget_seconds=150).collect(self.workspace())
        done = self.events("workspace_done")[-1]
        self.assertEqual((done["rows"], done["left_for_next_poll"]), (200, 50))
        self.collector(transport=slow, time_budget_seconds=150).collect(self.workspace())
        self.assertEqual(set(self.sink.keys()), keys_of(work))
        self.assertEqual(len(self.outputs_asked()), 250)


class TestMultiWorkspace(Base):
    def test_two_hosts_each_with_its_token(self):
        other = FakeJobsAPI(token="dapi-other")
        self.addCleanup(other.close)
        now = self.clock.ms()
        a = self.workspace()
        b = MOD.Workspace("2000000000000002", "spoke", other.host, MOD.static_token_auth("dapi-other"))
        wa = failures(a.workspace_id, 30, now)
        wb = failures(b.workspace_id, 5, now)  # same run ids: only workspace_id tells them apart
        self.sink.system.extend(wa + wb)
        self.api.add(wa)
        other.add(wb)
        self.assertEqual(self.collector().run([a, b]), [])
        self.assertEqual(set(self.sink.keys()), keys_of(wa) | keys_of(wb))
        self.assertEqual({r[2] for r in self.api.requests}, {"Bearer " + TOKEN})
        self.assertEqual({r[2] for r in other.requests}, {"Bearer dapi-other"})
        self.assertEqual(len(other.requests), 5)
        self.assertEqual({e["workspace_id"] for e in self.events("workspace_done")}, {a.workspace_id, b.workspace_id})

    def test_one_failing_workspace_does_not_stop_the_others(self):
        other = FakeJobsAPI(token="dapi-other")
        self.addCleanup(other.close)
        a = self.workspace(token="revoked")
        b = MOD.Workspace("2000000000000002", "spoke", other.host, MOD.static_token_auth("dapi-other"))
        self.failing(2)
        wb = failures(b.workspace_id, 3, self.clock.ms())
        self.sink.system.extend(wb)
        other.add(wb)
        failures_ = self.collector().run([a, b])
        self.assertEqual([ws.workspace_id for ws, _ in failures_], [a.workspace_id])
        self.assertEqual(set(self.sink.keys()), keys_of(wb))

    def test_plan_workspaces(self):
        secrets = []

        def secret_get(scope, key):
            secrets.append((scope, key))
            return "tok-" + key

        current = MOD.Workspace("111", None, "https://hub.example.test/", lambda: {"Authorization": "Bearer hub"})
        configured = [
            {"id": "111", "name": "hub", "host": "https://hub.example.test", "token_secret": "s/hub"},
            {"id": "222", "name": "spoke", "host": "https://spoke.example.test/", "token_secret": "dbmon/spoke-token"},
            {"id": "333", "name": "same-region", "host": "", "token_secret": ""},
        ]
        plan = MOD.plan_workspaces(current, configured, secret_get, log=self.logs.append)
        self.assertEqual([(w.workspace_id, w.name, w.host) for w in plan],
                         [("111", "hub", "https://hub.example.test"), ("222", "spoke", "https://spoke.example.test")])
        self.assertEqual(secrets, [], "secrets are read on first use")
        self.assertEqual(plan[1].auth(), {"Authorization": "Bearer tok-spoke-token"})
        self.assertEqual(plan[1].auth(), {"Authorization": "Bearer tok-spoke-token"})
        self.assertEqual(secrets, [("dbmon", "spoke-token")])
        self.assertEqual(plan[0].auth(), {"Authorization": "Bearer hub"})


class FakeFrame:
    def __init__(self, spark, data, schema):
        self.spark, self.data, self.schema = spark, data, schema

    def createOrReplaceTempView(self, name):
        self.spark.views[name] = self


class FakeRow:
    def __init__(self, d):
        self.d = d

    def asDict(self):
        return dict(self.d)


class FakeResult:
    def __init__(self, rows):
        self.rows = rows

    def collect(self):
        return self.rows


class FakeTable:
    def __init__(self, columns):
        self.columns = columns


class FakeSpark:
    """Records what SparkSink sends; conflicts makes the next MERGEs raise a
    Delta concurrent-write error; columns are the existing table's."""

    def __init__(self, conflicts=0, results=None, columns=None):
        self.statements, self.views, self.conflicts = [], {}, conflicts
        self.results = results or []
        self.columns = columns if columns is not None else list(MOD.COLUMN_NAMES)

    def sql(self, statement, args=None):
        self.statements.append((statement, args))
        if statement.startswith("MERGE") and self.conflicts:
            self.conflicts -= 1
            raise RuntimeError("[DELTA_CONCURRENT_APPEND] ConcurrentAppendException: Files were added by a concurrent update.")
        return FakeResult(self.results.pop(0) if self.results and not statement.startswith(("MERGE", "CREATE", "ALTER")) else [])

    def table(self, name):
        return FakeTable(self.columns)

    def createDataFrame(self, data, schema):
        return FakeFrame(self, data, schema)


class TestSparkSink(unittest.TestCase):
    def test_statements(self):
        work = failure("1", 5, 52, 1000 * MIN_MS)
        spark = FakeSpark(conflicts=1, results=[[FakeRow(work)]])
        slept = []
        sink = MOD.SparkSink(spark, "ops", "dev_jane", sleep=slept.append)
        sink.ensure_tables()
        table = "`ops`.`dev_jane`.`%s`" % MOD.TABLE
        create = spark.statements[0][0]
        self.assertTrue(create.startswith("CREATE TABLE IF NOT EXISTS " + table + " ("))
        for name, typ, _ in MOD.COLUMNS:
            self.assertIn("\n  %s %s COMMENT '" % (name, typ), create)
        self.assertTrue(create.endswith("\nTBLPROPERTIES ('delta.enableRowTracking' = 'true')"), create)
        self.assertEqual(len(spark.statements), 1, "a table with every column is not altered")

        raw = MOD.pending_row(work, 2000 * MIN_MS)
        sink.merge([MOD.coerce_row(raw)])
        frame = spark.views[MOD.SparkSink.VIEW]
        self.assertEqual(frame.schema, ", ".join("%s %s" % (n, t) for n, t, _ in MOD.COLUMNS))
        self.assertEqual(len(frame.data[0]), len(MOD.COLUMNS))
        merges = [s for s, _ in spark.statements if s.startswith("MERGE")]
        self.assertEqual(len(merges), 2, "a concurrent-write conflict is retried")
        self.assertEqual(slept, [2.0])
        self.assertEqual(merges[1], MOD.MERGE_SQL.replace("__DBMON_TARGET__", table).replace("__DBMON_SOURCE__", MOD.SparkSink.VIEW))
        sink.merge([])
        self.assertEqual(len([s for s, _ in spark.statements if s.startswith("MERGE")]), 2)

        self.assertEqual(sink.pending("1", 1700000000000), [work])
        statement, args = spark.statements[-1]
        self.assertEqual(statement, MOD.QUERY.replace("__DBMON_SCHEMA__.", "`ops`.`dev_jane`."))
        self.assertIn("FROM `ops`.`dev_jane`.bronze_job_task_run_timeline", statement)
        self.assertNotIn("__DBMON", statement)
        self.assertEqual(args, {"workspace_id": "1", "window_start": _dt(1700000000000)})

    def test_a_table_of_an_earlier_release_gets_the_new_columns(self):
        old = [n for n in MOD.COLUMN_NAMES if n not in ("collect_status", "repair_attempt")]
        spark = FakeSpark(columns=old)
        MOD.SparkSink(spark, "ops", "s").ensure_tables()
        alter = spark.statements[-1][0]
        self.assertTrue(alter.startswith("ALTER TABLE `ops`.`s`.`%s` ADD COLUMNS (" % MOD.TABLE), alter)
        self.assertIn("\n  collect_status STRING COMMENT '", alter)
        self.assertIn("\n  repair_attempt BIGINT COMMENT '", alter)
        self.assertNotIn("error_trace", alter)

    def test_other_errors_are_not_retried(self):
        class Broken(FakeSpark):
            def sql(self, statement, args=None):
                raise RuntimeError("[TABLE_OR_VIEW_NOT_FOUND] no such table")

        sink = MOD.SparkSink(Broken(), "c", "s", sleep=lambda s: self.fail("slept"))
        with self.assertRaises(RuntimeError):
            sink.merge([MOD.coerce_row(MOD.pending_row(failure("1", 5, 52, MIN_MS), MIN_MS))])


class FakeEnvironment:
    def __init__(self, sink, current, secrets=None):
        self._sink, self._current, self.secrets = sink, current, secrets or {}
        self.sink_args = None

    def sink(self, catalog, schema):
        self.sink_args = (catalog, schema)
        return self._sink

    def current_workspace(self):
        return self._current

    def secret(self, scope, key):
        return self.secrets[(scope, key)]


class TestMain(Base):
    def test_parse_args(self):
        args = MOD.parse_args(["--catalog", "c", "--schema", "s"])
        self.assertEqual((args.catalog, args.schema, args.lookback_days, args.max_retry_seconds, args.time_budget_seconds),
                         ("c", "s", MOD.LOOKBACK_DAYS, 300, 240))
        with contextlib.redirect_stderr(io.StringIO()):
            with self.assertRaises(SystemExit) as cm:
                MOD.parse_args(["--schema", "s"])
        self.assertEqual(cm.exception.code, 2)

    def run_main(self, env, *extra):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = MOD.main(["--catalog", "ops", "--schema", "dev_jane", "--lookback-days", "1", *extra],
                            environment=env, clock=self.clock.time, sleep=self.clock.sleep, rand=lambda: 0.5,
                            log=self.logs.append)
        return code, err.getvalue()

    def test_main_collects_the_current_and_remote_workspaces(self):
        spoke = FakeJobsAPI(token="dapi-spoke")
        self.addCleanup(spoke.close)
        now = self.clock.ms()
        hub = failures("111", 2, now)
        remote = failures("222", 3, now, first_id=5000)
        self.api.add(hub)
        spoke.add(remote)
        fresh = SqliteSink(system=hub + remote + failures("333", 1, now))
        env = FakeEnvironment(fresh, self.workspace(ws="111"), {("dbmon", "spoke"): "dapi-spoke"})
        configured = [{"id": "111", "name": "hub", "host": "", "token_secret": ""},
                      {"id": "222", "name": "spoke", "host": spoke.host, "token_secret": "dbmon/spoke"},
                      {"id": "333", "name": "same-region", "host": "", "token_secret": ""}]
        with mock.patch.object(MOD, "WORKSPACES", configured):
            code, err = self.run_main(env)
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(env.sink_args, ("ops", "dev_jane"))
        self.assertEqual(set(fresh.keys()), keys_of(hub) | keys_of(remote))
        self.assertEqual(fresh.windows, [("111", now - DAY_MS), ("222", now - DAY_MS)])

    def test_main_fails_with_the_message(self):
        self.api.fault(MOD.RUNS_GET_OUTPUT, 503, times=None)
        self.failing(1)
        env = FakeEnvironment(self.sink, self.workspace())
        code, err = self.run_main(env, "--max-retry-seconds", "20")
        self.assertEqual(code, 1)
        self.assertIn("workspace %s" % self.WS, err)
        self.assertIn("GET %s failed: HTTP 503" % MOD.RUNS_GET_OUTPUT, err)
        self.assertIn("retry bound is 20", err)


if __name__ == "__main__":
    unittest.main()

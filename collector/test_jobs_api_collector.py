"""Tests of the generated Jobs API collector (src/collector/jobs_api_collector.py).

Standard library only. The collector is rendered by `go test ./collector`,
which passes its path in DBMON_COLLECTOR (and the model's expectations in
DBMON_COLLECTOR_EXPECT). The tests talk real HTTP, through the collector's
default urllib transport, to a fake Jobs API 2.2 on 127.0.0.1 (http.server in
a thread), and write to an in-memory sqlite3 sink with the MERGE's upsert
semantics. Time is a fake clock that only sleep advances, so backoff is
measured without waiting.
"""
import base64
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


def task(run_id, key, start, result="SUCCESS", attempt=0, code=None, ttype=None, message=None, life="TERMINATED"):
    """A RunTask as runs/list returns it with expand_tasks."""
    if code is None:
        code = {"SUCCESS": "SUCCESS", "FAILED": "RUN_EXECUTION_ERROR", "TIMEDOUT": "RUN_EXECUTION_ERROR",
                "CANCELED": "USER_CANCELED", "UPSTREAM_FAILED": "SKIPPED"}.get(result, "SUCCESS")
    if ttype is None:
        ttype = "CLIENT_ERROR" if result in ("FAILED", "TIMEDOUT") else "SUCCESS"
    state = {"life_cycle_state": life}
    if result:
        state["result_state"] = result
    details = {"code": code, "type": ttype}
    if message:
        details["message"] = message
    return {
        "task_key": key, "run_id": run_id, "attempt_number": attempt,
        "start_time": start, "end_time": start + 4 * MIN_MS,
        "setup_duration": 0, "execution_duration": 0, "cleanup_duration": 0,
        "state": state, "status": {"state": "TERMINATED", "termination_details": details},
        "run_page_url": "https://example.test/jobs/runs/%d" % run_id,
    }


def job_run(run_id, start, tasks=None, job_id=7, end=None):
    """A Run as runs/list returns it: tasks default to an ingest task that
    succeeds and a load task that fails."""
    if tasks is None:
        tasks = [task(run_id * 10 + 1, "ingest", start), task(run_id * 10 + 2, "load", start, "FAILED")]
    failed = any((t.get("state") or {}).get("result_state") == "FAILED" for t in tasks)
    return {
        "job_id": job_id, "run_id": run_id, "number_in_job": run_id, "run_name": "job %d" % job_id,
        "run_type": "JOB_RUN", "attempt_number": 0, "creator_user_name": "someone@example.test",
        "start_time": start, "end_time": end if end is not None else start + 5 * MIN_MS,
        "run_duration": 5 * MIN_MS, "queue_duration": 0,
        "state": {"life_cycle_state": "TERMINATED", "result_state": "FAILED" if failed else "SUCCESS"},
        "status": {"state": "TERMINATED", "termination_details": {
            "code": "RUN_EXECUTION_ERROR" if failed else "SUCCESS", "type": "CLIENT_ERROR" if failed else "SUCCESS"}},
        "run_page_url": "https://example.test/jobs/7/runs/%d" % run_id,
        "tasks": tasks,
    }


def recent_runs(n, now_ms, first_id=1000):
    """n completed runs, one every 10 minutes back from now."""
    return [job_run(first_id + i, now_ms - (i + 1) * 10 * MIN_MS) for i in range(n)]


def token_for(offset):
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


class Fault:
    def __init__(self, path, status, times, headers, body, when, drop):
        self.path, self.status, self.times = path, status, times
        self.headers, self.body, self.when, self.drop = headers or {}, body, when, drop
        self.served = 0


class FakeJobsAPI:
    """The slice of Jobs API 2.2 the collector uses, on 127.0.0.1.

    runs/list: completed_only, start_time_from (inclusive, epoch ms), limit
    (1..25, else 400), expand_tasks (without it no tasks), page_token
    (offset-based, so a run completing mid-poll shifts later pages and repeats
    a run); newest end_time first; runs with more than task_page tasks carry
    the first task_page and has_more. runs/get: one run, tasks paginated by
    page_token. runs/get-output: error and error_trace of a task run; 400
    INVALID_PARAMETER_VALUE for an unknown run. Every request needs
    "Authorization: Bearer <token>" (else 401). Faults inject statuses,
    Retry-After and dropped connections.
    """

    def __init__(self, token=TOKEN, runs=(), task_page=100):
        self.token = token
        self.runs = list(runs)
        self.outputs = {}  # run_id -> get-output body
        self.task_page = task_page
        self.faults = []
        self.requests = []  # (path, params, authorization)
        self.after_list_page = None  # callable(page number), run after a runs/list page is built
        self.list_pages = 0
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
                "/api/2.2/jobs/runs/list": self.runs_list,
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

    def bad(self, message):
        return 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": message}

    def runs_list(self, params):
        try:
            limit = int(params.get("limit", "20"))
        except ValueError:
            return self.bad("limit must be an integer")
        if not 0 < limit <= 25:
            return self.bad("Limit must be between 1 and 25 (got %d)" % limit)
        if params.get("completed_only") == "true" and params.get("active_only") == "true":
            return self.bad("active_only and completed_only are mutually exclusive")
        start_from = int(params.get("start_time_from", "0"))
        runs = [r for r in self.runs if r["start_time"] >= start_from]
        if params.get("completed_only") == "true":
            runs = [r for r in runs if r["end_time"] > 0]
        runs.sort(key=lambda r: (r["end_time"] or r["start_time"], r["run_id"]), reverse=True)
        offset = 0
        if params.get("page_token"):
            offset = json.loads(base64.urlsafe_b64decode(params["page_token"]))["offset"]
        page = []
        for r in runs[offset:offset + limit]:
            r = json.loads(json.dumps(r))
            if params.get("expand_tasks") != "true":
                r.pop("tasks", None)
            elif len(r.get("tasks") or []) > self.task_page:
                r["tasks"] = r["tasks"][:self.task_page]
                r["has_more"] = True
            page.append(r)
        body = {"has_more": offset + limit < len(runs)}
        if page:
            body["runs"] = page
        if body["has_more"]:
            body["next_page_token"] = token_for(offset + limit)
        if offset > 0:
            body["prev_page_token"] = token_for(max(0, offset - limit))
        self.list_pages += 1
        if self.after_list_page:
            self.after_list_page(self.list_pages)
        return 200, body

    def find_run(self, run_id):
        for r in self.runs:
            if str(r["run_id"]) == run_id:
                return r
        return None

    def runs_get(self, params):
        run = self.find_run(params.get("run_id", ""))
        if run is None:
            return self.bad("Run %s does not exist." % params.get("run_id"))
        offset = int(params.get("page_token") or 0)
        r = json.loads(json.dumps(run))
        tasks = r.get("tasks") or []
        r["tasks"] = tasks[offset:offset + self.task_page]
        if offset + self.task_page < len(tasks):
            r["has_more"] = True
            r["next_page_token"] = str(offset + self.task_page)
        return 200, r

    def runs_get_output(self, params):
        run_id = params.get("run_id", "")
        for r in self.runs:
            for t in r.get("tasks") or [r]:
                if str(t["run_id"]) == run_id:
                    body = {"metadata": {"run_id": t["run_id"], "job_id": r["job_id"]}}
                    if (t.get("state") or {}).get("result_state") in ("FAILED", "TIMEDOUT"):
                        body["error"] = "RuntimeError: task run %d failed" % t["run_id"]
                        body["error_trace"] = "Traceback (most recent call last):\nRuntimeError: task run %d failed" % t["run_id"]
                    body.update(self.outputs.get(t["run_id"], {}))
                    return 200, body
        return self.bad("Run %s does not exist." % run_id)


class SqliteSink:
    """The collector's sink on sqlite3: the table keyed by (workspace_id,
    run_id, task_run_id) upserted with INSERT ... ON CONFLICT DO UPDATE, which
    is what the MERGE does on Databricks. Like Delta's MERGE it refuses a
    batch with two rows for one key. fail_merge(n) may raise on the n-th
    merge (a crash between pages); check_watermark(workspace_id, ms) runs
    before a watermark is stored."""

    def __init__(self, db=None, fail_merge=None, check_watermark=None):
        self.db = db or sqlite3.connect(":memory:", check_same_thread=False)
        self.fail_merge = fail_merge
        self.check_watermark = check_watermark
        self.merges = []  # key lists, one per merge
        self.watermarks = []  # (workspace_id, ms) in order

    def ensure_tables(self):
        cols = ", ".join("%s %s" % (n, "INTEGER" if t == "BIGINT" else "TEXT") for n, t, _ in MOD.COLUMNS)
        self.db.execute("CREATE TABLE IF NOT EXISTS %s (%s, PRIMARY KEY (%s))" % (MOD.TABLE, cols, ", ".join(MOD.KEYS)))
        self.db.execute("CREATE TABLE IF NOT EXISTS %s (workspace_id TEXT PRIMARY KEY, watermark_ms INTEGER, updated_at TEXT)"
                        % MOD.STATE_TABLE)

    def merge(self, rows):
        n = len(self.merges) + 1
        keys = [tuple(r[k] for k in MOD.KEYS) for r in rows]
        self.merges.append(keys)
        if self.fail_merge:
            self.fail_merge(n)
        if len(set(keys)) != len(keys):
            raise AssertionError("DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE: a page holds one key twice")
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

    def get_watermark(self, workspace_id):
        row = self.db.execute("SELECT watermark_ms FROM %s WHERE workspace_id = ?" % MOD.STATE_TABLE,
                              (workspace_id,)).fetchone()
        return row[0] if row else None

    def set_watermark(self, workspace_id, ms):
        if self.check_watermark:
            self.check_watermark(workspace_id, ms)
        self.watermarks.append((workspace_id, ms))
        with self.db:
            self.db.execute("INSERT INTO %s VALUES (?, ?, 'now') ON CONFLICT (workspace_id) DO UPDATE SET "
                            "watermark_ms = excluded.watermark_ms" % MOD.STATE_TABLE, (workspace_id, ms))

    def known_errors(self, workspace_id, keys):
        out = {}
        for run_id, task_run_id in keys:
            row = self.db.execute("SELECT error, error_trace FROM %s WHERE workspace_id = ? AND run_id = ? AND task_run_id = ? "
                                  "AND (error IS NOT NULL OR error_trace IS NOT NULL)" % MOD.TABLE,
                                  (workspace_id, run_id, task_run_id)).fetchone()
            if row:
                out[(run_id, task_run_id)] = row
        return out

    def rows(self):
        cur = self.db.execute("SELECT * FROM %s ORDER BY workspace_id, run_id, task_run_id" % MOD.TABLE)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]

    def keys(self):
        return [(r["workspace_id"], r["run_id"], r["task_run_id"]) for r in self.rows()]


def expected_keys(workspace_id, runs):
    out = set()
    for r in runs:
        for t in r.get("tasks") or [r]:
            out.add((workspace_id, str(r["run_id"]), str(t["run_id"])))
    return out


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

    def collector(self, sink=None, rand=lambda: 0.5, max_retry_seconds=300, lookback_days=2, transport=None):
        client = MOD.ApiClient(transport, clock=self.clock.time, sleep=self.clock.sleep, rand=rand,
                               max_retry_seconds=max_retry_seconds, log=self.logs.append)
        return MOD.Collector(client, sink or self.sink, lookback_days=lookback_days)

    def events(self, name):
        return [e for e in self.logs if e.get("event") == name]

    def watermark_guard(self, api):
        """check_watermark: a watermark may be stored only when every run
        the poll was responsible for (completed before the watermark, started
        inside the poll's window) is in the table. Runs older than the next
        window are never read again, so one missing here would be lost."""

        def check(workspace_id, ms):
            window = int(api.calls("/api/2.2/jobs/runs/list")[-1]["start_time_from"])
            due = [r for r in api.runs if 0 < r["end_time"] <= ms and r["start_time"] >= window]
            missing = expected_keys(workspace_id, due) - set(self.sink.keys())
            self.assertFalse(missing, "watermark %d stored with unwritten task runs %s" % (ms, sorted(missing)[:5]))
            self.guarded.append((workspace_id, ms))

        self.guarded = []
        return check


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
        self.assertEqual(MOD.LOOKBACK_DAYS, expect["lookback_days"])
        self.assertEqual(MOD.WORKSPACES, expect["workspaces"])

    def test_imports_without_databricks(self):
        self.assertNotIn("pyspark", sys.modules)
        self.assertNotIn("databricks", sys.modules)

    def test_rows_have_exactly_the_table_columns(self):
        rows = MOD.task_rows("1", job_run(5, 1000 * MIN_MS), 2000 * MIN_MS)
        self.assertEqual(len(rows), 2)
        for raw, _ in rows:
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


class TestPagination(Base):
    def test_every_page_every_task_run(self):
        now = self.clock.ms()
        runs = recent_runs(60, now)
        old = job_run(1, now - 3 * DAY_MS)  # before the first window: never read
        running = job_run(2, now - 5 * MIN_MS, end=0)  # not completed: never read
        self.api.runs = runs + [old, running]
        self.sink.check_watermark = self.watermark_guard(self.api)

        failures = self.collector().run([self.workspace()])

        self.assertEqual(failures, [])
        self.assertEqual(set(self.sink.keys()), expected_keys(self.WS, runs))
        self.assertEqual(len(self.sink.rows()), 120)
        lists = self.api.calls("/api/2.2/jobs/runs/list")
        self.assertEqual(len(lists), 3)
        for i, p in enumerate(lists):
            self.assertEqual(p["completed_only"], "true")
            self.assertEqual(p["expand_tasks"], "true")
            self.assertEqual(p["limit"], "25")
            self.assertEqual(p["start_time_from"], str(now - 2 * DAY_MS))
            self.assertEqual("page_token" in p, i > 0)
        self.assertEqual([(e["page"], e["runs"], e["rows"]) for e in self.events("page")], [(1, 25, 50), (2, 25, 50), (3, 10, 20)])
        for e in self.events("page"):
            self.assertEqual(e["workspace_id"], self.WS)
            self.assertIn("elapsed_s", e)
        done = self.events("workspace_done")
        self.assertEqual(len(done), 1)
        self.assertEqual((done[0]["pages"], done[0]["runs"], done[0]["rows"]), (3, 60, 120))
        self.assertEqual(self.sink.get_watermark(self.WS), now)
        self.assertEqual(len(self.sink.merges), 3)
        self.assertEqual(self.guarded, [(self.WS, now)])

    def test_row_values(self):
        now = self.clock.ms()
        r = job_run(4242, now - 30 * MIN_MS, job_id=99)
        r["tasks"][1]["attempt_number"] = 2
        self.api.runs = [r]
        self.api.outputs[42422] = {"error": "boom", "error_trace": "Traceback: boom"}
        self.collector().collect(self.workspace())
        rows = {row["task_run_id"]: row for row in self.sink.rows()}
        load = rows["42422"]
        self.assertEqual(load["workspace_id"], self.WS)
        self.assertEqual(load["job_id"], "99")
        self.assertEqual(load["run_id"], "4242")
        self.assertEqual(load["task_key"], "load")
        self.assertEqual(load["attempt_number"], 2)
        start = datetime.datetime.fromtimestamp((now - 30 * MIN_MS) / 1000, tz=datetime.timezone.utc)
        self.assertEqual(load["start_time"], start.isoformat())
        self.assertEqual(load["end_time"], (start + datetime.timedelta(minutes=4)).isoformat())
        self.assertEqual(load["result_state"], "FAILED")
        self.assertEqual(load["termination_code"], "RUN_EXECUTION_ERROR")
        self.assertEqual(load["termination_type"], "CLIENT_ERROR")
        self.assertEqual(load["error"], "boom")
        self.assertEqual(load["error_trace"], "Traceback: boom")
        self.assertEqual(load["run_page_url"], "https://example.test/jobs/runs/42422")
        self.assertEqual(load["collected_at"], datetime.datetime.fromtimestamp(NOW, tz=datetime.timezone.utc).isoformat())
        self.assertIsNone(rows["42421"]["error"])
        self.assertEqual(rows["42421"]["result_state"], "SUCCESS")

    def test_run_without_tasks_is_one_row(self):
        now = self.clock.ms()
        r = job_run(77, now - 20 * MIN_MS)
        del r["tasks"]
        self.api.runs = [r]
        self.api.outputs[77] = {"error": "legacy single-task failure"}
        self.collector().collect(self.workspace())
        rows = self.sink.rows()
        self.assertEqual(len(rows), 1)
        self.assertEqual((rows[0]["run_id"], rows[0]["task_run_id"]), ("77", "77"))
        self.assertIsNone(rows[0]["task_key"])
        self.assertEqual(rows[0]["error"], "legacy single-task failure")

    def test_more_than_100_tasks_follow_runs_get(self):
        now = self.clock.ms()
        start = now - 60 * MIN_MS
        r = job_run(500, start, tasks=[task(500000 + i, "t%03d" % i, start) for i in range(230)])
        self.api.runs = [r]
        self.collector().collect(self.workspace())
        self.assertEqual(len(self.sink.rows()), 230)
        gets = self.api.calls("/api/2.2/jobs/runs/get")
        self.assertEqual([g.get("page_token") for g in gets], [None, "100", "200"])
        self.assertTrue(all(g["run_id"] == "500" for g in gets))

    def test_duplicate_runs_across_pages(self):
        """A run completing between two page requests shifts the newest-first
        list by one, so page 2 repeats the last run of page 1."""
        now = self.clock.ms()
        runs = recent_runs(40, now)
        self.api.runs = list(runs)
        late = job_run(9000, now - 2 * MIN_MS, end=now + 1)

        def complete_a_run(page):
            if page == 1:
                self.api.runs.append(late)

        self.api.after_list_page = complete_a_run
        self.sink.check_watermark = self.watermark_guard(self.api)
        self.collector().collect(self.workspace())

        page2 = self.api.calls("/api/2.2/jobs/runs/list")[1]
        self.assertIn("page_token", page2)
        self.assertEqual([e["duplicates"] for e in self.events("page")], [0, 2])
        merged = [k for batch in self.sink.merges for k in batch]
        self.assertEqual(len(merged), len(set(merged)), "a task run was merged twice in one poll")
        self.assertEqual(set(self.sink.keys()), expected_keys(self.WS, runs))
        # get-output once per failed task run, despite the repeat.
        outputs = [p["run_id"] for p in self.api.calls("/api/2.2/jobs/runs/get-output")]
        self.assertEqual(len(outputs), len(set(outputs)))
        self.assertEqual(len(outputs), 40)

        # The run that completed mid-poll is read by the next poll, whose
        # window starts lookback_days before the first poll's start.
        self.api.after_list_page = None
        self.clock.advance(15 * 60)
        self.collector().collect(self.workspace())
        self.assertEqual(set(self.sink.keys()), expected_keys(self.WS, runs + [late]))
        self.assertEqual(self.api.calls("/api/2.2/jobs/runs/list")[-1]["start_time_from"], str(now - 2 * DAY_MS))
        self.assertEqual(self.sink.get_watermark(self.WS), self.clock.ms())

    def test_overlapping_polls_neither_duplicate_nor_refetch(self):
        now = self.clock.ms()
        runs = recent_runs(30, now)
        self.api.runs = runs
        self.collector().collect(self.workspace())
        first = self.sink.rows()
        calls = len(self.api.calls("/api/2.2/jobs/runs/get-output"))
        self.assertEqual(calls, 30)
        self.clock.advance(15 * 60)
        self.collector().collect(self.workspace())
        self.assertEqual(len(self.sink.rows()), len(first))
        self.assertEqual(set(self.sink.keys()), expected_keys(self.WS, runs))
        self.assertEqual(len(self.api.calls("/api/2.2/jobs/runs/get-output")), calls,
                         "get-output was called again for task runs whose error is stored")

    def test_window_is_capped_at_the_api_retention(self):
        self.sink.set_watermark(self.WS, self.clock.ms() - 200 * DAY_MS)
        self.collector().collect(self.workspace())
        p = self.api.calls("/api/2.2/jobs/runs/list")[0]
        self.assertEqual(p["start_time_from"], str(self.clock.ms() - 60 * DAY_MS))

    def test_empty_workspace_still_advances_the_watermark(self):
        self.collector().collect(self.workspace())
        self.assertEqual(self.sink.rows(), [])
        self.assertEqual(self.sink.merges, [])
        self.assertEqual(self.sink.get_watermark(self.WS), self.clock.ms())


class TestFailedTasks(Base):
    def test_get_output_only_for_failed_task_runs(self):
        now = self.clock.ms()
        s = now - 60 * MIN_MS
        tasks = [
            task(11, "ok", s),
            task(12, "failed", s, "FAILED"),
            task(13, "timed_out", s, "TIMEDOUT"),
            task(14, "canceled", s, "CANCELED"),
            task(15, "upstream", s, "UPSTREAM_FAILED", ttype="SUCCESS"),
            task(16, "cloud", s, None, code="CLOUD_FAILURE", ttype="CLOUD_FAILURE",
                 message="Cluster terminated: cloud provider capacity", life="INTERNAL_ERROR"),
            task(17, "deleted", s, "FAILED"),
            task(18, "huge_trace", s, "FAILED"),
        ]
        r = job_run(1, s, tasks=tasks)
        self.api.runs = [r]
        self.api.outputs[12] = {"error": "\x1b[0;31mValueError\x1b[0m: bad row", "error_trace": "Traceback ...\nValueError: bad row"}
        self.api.outputs[13] = {"error": "Timed out after 3600 s", "error_trace": None}
        trace = "java.lang.OutOfMemoryError: Java heap space\n" + "\tat org.apache.spark.Frame(X.scala:1)\n" * 5000 + "Caused by: the end"
        self.api.outputs[18] = {"error": "OutOfMemoryError", "error_trace": trace}
        self.api.fault("/api/2.2/jobs/runs/get-output", 400, times=None, when=lambda p: p.get("run_id") == "17",
                       body={"error_code": "INVALID_PARAMETER_VALUE", "message": "Run 17 does not exist."})

        self.collector().collect(self.workspace())

        asked = sorted(int(p["run_id"]) for p in self.api.calls("/api/2.2/jobs/runs/get-output"))
        self.assertEqual(asked, [12, 13, 16, 17, 18])
        rows = {int(r["task_run_id"]): r for r in self.sink.rows()}
        self.assertEqual(len(rows), 8)
        self.assertEqual(rows[12]["error"], "ValueError: bad row")
        self.assertEqual(rows[13]["error"], "Timed out after 3600 s")
        self.assertIsNone(rows[13]["error_trace"])
        # No output text: the termination message stands in.
        self.assertEqual(rows[16]["error"], "Cluster terminated: cloud provider capacity")
        self.assertEqual(rows[16]["termination_type"], "CLOUD_FAILURE")
        # Output gone (400): the row stays, without output.
        self.assertIsNone(rows[17]["error_trace"])
        self.assertEqual(self.events("page")[0]["outputs_missing"], 1)
        cut = rows[18]["error_trace"]
        self.assertLessEqual(len(cut.encode("utf-8")), MOD.MAX_TEXT_BYTES)
        self.assertLess(MOD.MAX_TEXT_BYTES, len(trace))
        self.assertTrue(cut.startswith("java.lang.OutOfMemoryError: Java heap space"))
        self.assertTrue(cut.endswith("Caused by: the end"))
        self.assertIn("dbmon truncated", cut)
        for k in (11, 14, 15):
            self.assertIsNone(rows[k]["error"])


class TestRetries(Base):
    def test_429_with_retry_after_then_success(self):
        self.api.runs = recent_runs(3, self.clock.ms())
        f = self.api.fault("/api/2.2/jobs/runs/list", 429, times=2, headers={"Retry-After": "7"},
                           body={"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "Too many requests"})
        self.collector(rand=lambda: 0.5).collect(self.workspace())
        self.assertEqual(f.served, 2)
        self.assertEqual(self.clock.sleeps, [7.0, 7.0])
        self.assertEqual(len(self.sink.rows()), 6)
        retries = self.events("retry")
        self.assertEqual([(e["status"], e["retry_after_s"]) for e in retries], [(429, 7.0), (429, 7.0)])

    def test_transient_5xx_and_dropped_connections_then_success(self):
        self.api.runs = recent_runs(3, self.clock.ms())
        self.api.fault("/api/2.2/jobs/runs/list", 502, times=1)
        self.api.fault("/api/2.2/jobs/runs/list", drop=True, times=1)
        self.api.fault("/api/2.2/jobs/runs/get-output", 500, times=2)
        self.collector(rand=lambda: 0.5).collect(self.workspace())
        self.assertEqual(len(self.sink.rows()), 6)
        # Full jitter: rand * min(cap, base * 2^(attempt-1)).
        self.assertEqual(self.clock.sleeps, [0.5, 1.0, 0.5, 1.0])
        self.assertEqual([e["status"] for e in self.events("retry")], [502, None, 500, 500])
        self.assertIn("connection error", self.events("retry")[1]["error"])
        self.assertEqual(self.sink.get_watermark(self.WS), self.clock.ms() - 3000)

    def test_backoff_is_bounded(self):
        self.api.fault("/api/2.2/jobs/runs/list", 503, times=None)
        start = self.clock.time()
        failures = self.collector(rand=lambda: 0.999, max_retry_seconds=300).run([self.workspace()])
        self.assertEqual(len(failures), 1)
        message = failures[0][1]
        for part in ("/api/2.2/jobs/runs/list", "HTTP 503", "gave up", "300"):
            self.assertIn(part, message)
        self.assertLessEqual(self.clock.time() - start, 300)
        self.assertLessEqual(sum(self.clock.sleeps), 300)
        self.assertGreater(sum(self.clock.sleeps), 150)
        # Exponential then capped: 1, 2, 4, ... 60 (times the jitter).
        self.assertEqual([round(s / 0.999) for s in self.clock.sleeps[:7]], [1, 2, 4, 8, 16, 32, 60])
        self.assertLess(len(self.api.calls("/api/2.2/jobs/runs/list")), 15)
        self.assertIsNone(self.sink.get_watermark(self.WS))

    def test_retry_after_beyond_the_bound_fails_without_waiting(self):
        self.api.fault("/api/2.2/jobs/runs/list", 429, times=None, headers={"Retry-After": "3600"})
        with self.assertRaises(MOD.ApiError) as cm:
            self.collector(max_retry_seconds=300).collect(self.workspace())
        self.assertEqual(cm.exception.status, 429)
        self.assertEqual(self.clock.sleeps, [])

    def test_permanent_403_fails_at_once(self):
        """403 on page 2: a clear error, no retry, nothing past page 1
        written, watermark unchanged."""
        before = self.clock.ms() - 3 * 3600 * 1000
        self.sink.set_watermark(self.WS, before)
        self.api.runs = recent_runs(40, self.clock.ms())
        self.api.fault("/api/2.2/jobs/runs/list", 403, times=None, when=lambda p: "page_token" in p,
                       body={"error_code": "PERMISSION_DENIED", "message": "User is not authorized to list runs."})
        failures = self.collector().run([self.workspace()])
        self.assertEqual(len(failures), 1)
        self.assertEqual(failures[0][1], "GET /api/2.2/jobs/runs/list failed: HTTP 403 PERMISSION_DENIED: "
                                         "User is not authorized to list runs.")
        self.assertEqual(len(self.api.calls("/api/2.2/jobs/runs/list")), 2)
        self.assertEqual(self.clock.sleeps, [])
        self.assertEqual(set(self.sink.keys()), expected_keys(self.WS, self.api.runs[:25]))
        self.assertEqual(self.sink.get_watermark(self.WS), before)
        self.assertEqual(self.events("workspace_failed")[0]["watermark"], "unchanged")

    def test_unauthenticated_names_the_status(self):
        with self.assertRaises(MOD.ApiError) as cm:
            self.collector().collect(self.workspace(token="wrong"))
        self.assertIn("HTTP 401 UNAUTHENTICATED: Invalid access token.", str(cm.exception))
        self.assertEqual(len(self.api.requests), 1, "a 401 must not be retried")
        self.assertEqual(self.clock.sleeps, [])


class TestCrashAndResume(Base):
    def test_crash_between_pages_then_resume(self):
        now = self.clock.ms()
        runs = recent_runs(60, now)
        self.api.runs = runs
        before = now - 6 * 3600 * 1000  # a previous poll's watermark
        self.sink.set_watermark(self.WS, before)
        self.sink.check_watermark = self.watermark_guard(self.api)

        def crash(n):
            if n == 2:
                raise RuntimeError("simulated crash: the job died writing page 2")

        crashing = SqliteSink(self.sink.db, fail_merge=crash, check_watermark=self.sink.check_watermark)
        failures = self.collector(sink=crashing).run([self.workspace()])
        self.assertEqual(len(failures), 1)
        self.assertIn("simulated crash", failures[0][1])
        self.assertEqual(len(self.api.calls("/api/2.2/jobs/runs/list")), 2, "the poll must stop at the failed page")
        self.assertEqual(set(self.sink.keys()), expected_keys(self.WS, runs[:25]))
        self.assertEqual(self.sink.get_watermark(self.WS), before, "the watermark moved past unwritten pages")
        self.assertEqual(crashing.watermarks, [])

        # The next scheduled run reads the same window again.
        self.clock.advance(15 * 60)
        resumed = self.collector().run([self.workspace()])
        self.assertEqual(resumed, [])
        self.assertEqual(self.api.calls("/api/2.2/jobs/runs/list")[-3]["start_time_from"], str(before - 2 * DAY_MS))
        self.assertEqual(len(self.sink.rows()), 120)
        self.assertEqual(set(self.sink.keys()), expected_keys(self.WS, runs))
        self.assertEqual(self.sink.get_watermark(self.WS), self.clock.ms())
        self.assertGreater(self.sink.get_watermark(self.WS), before)
        self.assertEqual(self.guarded, [(self.WS, self.clock.ms())])

    def test_first_run_crash_leaves_no_watermark(self):
        self.api.runs = recent_runs(30, self.clock.ms())

        def crash(n):
            if n == 2:
                raise RuntimeError("simulated crash")

        crashing = SqliteSink(self.sink.db, fail_merge=crash)
        self.assertEqual(len(self.collector(sink=crashing).run([self.workspace()])), 1)
        self.assertIsNone(self.sink.get_watermark(self.WS))
        self.collector().run([self.workspace()])
        self.assertEqual(set(self.sink.keys()), expected_keys(self.WS, self.api.runs))
        self.assertEqual(self.sink.get_watermark(self.WS), self.clock.ms())


class TestMultiWorkspace(Base):
    def test_two_hosts_each_with_its_token(self):
        other = FakeJobsAPI(token="dapi-other")
        self.addCleanup(other.close)
        now = self.clock.ms()
        self.api.runs = recent_runs(30, now, first_id=1000)
        other.runs = recent_runs(5, now, first_id=1000)  # same run ids: only workspace_id tells them apart
        a = self.workspace()
        b = MOD.Workspace("2000000000000002", "spoke", other.host, MOD.static_token_auth("dapi-other"))
        failures = self.collector().run([a, b])
        self.assertEqual(failures, [])
        self.assertEqual(set(self.sink.keys()),
                         expected_keys(a.workspace_id, self.api.runs) | expected_keys(b.workspace_id, other.runs))
        self.assertEqual({r[2] for r in self.api.requests}, {"Bearer " + TOKEN})
        self.assertEqual({r[2] for r in other.requests}, {"Bearer dapi-other"})
        self.assertEqual(self.sink.get_watermark(a.workspace_id), now)
        self.assertEqual(self.sink.get_watermark(b.workspace_id), now)
        self.assertEqual({e["workspace_id"] for e in self.events("workspace_done")}, {a.workspace_id, b.workspace_id})

    def test_one_failing_workspace_does_not_stop_the_others(self):
        other = FakeJobsAPI(token="dapi-other")
        self.addCleanup(other.close)
        other.runs = recent_runs(3, self.clock.ms())
        a = self.workspace(token="revoked")
        b = MOD.Workspace("2000000000000002", "spoke", other.host, MOD.static_token_auth("dapi-other"))
        failures = self.collector().run([a, b])
        self.assertEqual([ws.workspace_id for ws, _ in failures], [a.workspace_id])
        self.assertEqual(len(self.sink.rows()), 6)
        self.assertIsNone(self.sink.get_watermark(a.workspace_id))

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


class FakeResult:
    def __init__(self, rows):
        self.rows = rows

    def collect(self):
        return self.rows


class FakeSpark:
    """Records what SparkSink sends; conflicts makes the next MERGEs raise a
    Delta concurrent-write error."""

    def __init__(self, conflicts=0, results=None):
        self.statements, self.views, self.conflicts = [], {}, conflicts
        self.results = results or []

    def sql(self, statement, args=None):
        self.statements.append((statement, args))
        if statement.startswith("MERGE") and self.conflicts:
            self.conflicts -= 1
            raise RuntimeError("[DELTA_CONCURRENT_APPEND] ConcurrentAppendException: Files were added by a concurrent update.")
        return FakeResult(self.results.pop(0) if statement.startswith("SELECT") and self.results else [])

    def createDataFrame(self, data, schema):
        return FakeFrame(self, data, schema)


class TestSparkSink(unittest.TestCase):
    def test_statements(self):
        spark = FakeSpark(conflicts=1, results=[[(1700000000000,)], [(None,)]])
        slept = []
        sink = MOD.SparkSink(spark, "ops", "dev_jane", sleep=slept.append)
        sink.ensure_tables()
        table = "`ops`.`dev_jane`.`%s`" % MOD.TABLE
        create, create_state = spark.statements[0][0], spark.statements[1][0]
        self.assertTrue(create.startswith("CREATE TABLE IF NOT EXISTS " + table + " ("))
        for name, typ, _ in MOD.COLUMNS:
            self.assertIn("\n  %s %s COMMENT '" % (name, typ), create)
        self.assertTrue(create.endswith("\nTBLPROPERTIES ('delta.enableRowTracking' = 'true')"), create)
        self.assertTrue(create_state.startswith("CREATE TABLE IF NOT EXISTS `ops`.`dev_jane`.`%s` (" % MOD.STATE_TABLE))
        for col in ("workspace_id STRING", "watermark_ms BIGINT", "updated_at TIMESTAMP"):
            self.assertIn(col, create_state)

        raw, _ = MOD.task_rows("1", job_run(5, 1000 * MIN_MS), 2000 * MIN_MS)[1]
        sink.merge([MOD.coerce_row(raw)])
        frame = spark.views[MOD.SparkSink.VIEW]
        self.assertEqual(frame.schema, ", ".join("%s %s" % (n, t) for n, t, _ in MOD.COLUMNS))
        self.assertEqual(len(frame.data[0]), len(MOD.COLUMNS))
        merges = [s for s, _ in spark.statements if s.startswith("MERGE")]
        self.assertEqual(len(merges), 2, "a concurrent-write conflict is retried")
        self.assertEqual(slept, [2.0])
        self.assertEqual(merges[1], MOD.MERGE_SQL.replace("__DBMON_TARGET__", table).replace("__DBMON_SOURCE__", MOD.SparkSink.VIEW))
        self.assertIn("MERGE INTO " + table + " AS t", merges[1])

        sink.merge([])
        self.assertEqual(len([s for s, _ in spark.statements if s.startswith("MERGE")]), 2)

        self.assertEqual(sink.get_watermark("1"), 1700000000000)
        self.assertIsNone(sink.get_watermark("2"))
        self.assertEqual(spark.statements[-1][1], {"ws": "2"})
        sink.set_watermark("1", 1700000000123)
        statement, args = spark.statements[-1]
        self.assertTrue(statement.startswith("MERGE INTO `ops`.`dev_jane`.`%s`" % MOD.STATE_TABLE))
        self.assertEqual(args, {"ws": "1", "ms": 1700000000123})

    def test_other_errors_are_not_retried(self):
        class Broken(FakeSpark):
            def sql(self, statement, args=None):
                raise RuntimeError("[TABLE_OR_VIEW_NOT_FOUND] no such table")

        sink = MOD.SparkSink(Broken(), "c", "s", sleep=lambda s: self.fail("slept"))
        with self.assertRaises(RuntimeError):
            sink.set_watermark("1", 1)


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
        self.assertEqual((args.catalog, args.schema, args.lookback_days, args.max_retry_seconds),
                         ("c", "s", MOD.LOOKBACK_DAYS, 300))
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

    def test_main_polls_the_current_and_remote_workspaces(self):
        spoke = FakeJobsAPI(token="dapi-spoke")
        self.addCleanup(spoke.close)
        now = self.clock.ms()
        self.api.runs = recent_runs(2, now)
        spoke.runs = recent_runs(3, now, first_id=5000)
        fresh = SqliteSink()
        env = FakeEnvironment(fresh, self.workspace(ws="111"), {("dbmon", "spoke"): "dapi-spoke"})
        configured = [{"id": "111", "name": "hub", "host": "", "token_secret": ""},
                      {"id": "222", "name": "spoke", "host": spoke.host, "token_secret": "dbmon/spoke"},
                      {"id": "333", "name": "same-region", "host": "", "token_secret": ""}]
        with mock.patch.object(MOD, "WORKSPACES", configured):
            code, err = self.run_main(env)
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(env.sink_args, ("ops", "dev_jane"))
        self.assertEqual({k[0] for k in fresh.keys()}, {"111", "222"})
        self.assertEqual(len(fresh.rows()), 10)
        self.assertEqual(self.api.calls("/api/2.2/jobs/runs/list")[0]["start_time_from"], str(now - DAY_MS))

    def test_main_fails_with_the_message(self):
        self.api.fault("/api/2.2/jobs/runs/list", 503, times=None)
        env = FakeEnvironment(SqliteSink(), self.workspace())
        code, err = self.run_main(env, "--max-retry-seconds", "20")
        self.assertEqual(code, 1)
        self.assertIn("workspace %s" % self.WS, err)
        self.assertIn("GET /api/2.2/jobs/runs/list failed: HTTP 503", err)
        self.assertIn("retry bound is 20", err)


if __name__ == "__main__":
    unittest.main()

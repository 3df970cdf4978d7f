"""Jobs API calls per day of the collector, before and after it was driven by
the system tables.

Scenario (issue 15): --jobs jobs, each running --runs-per-day times a day,
--failure-percent of the runs failing (one failed task each), polled every
--poll-minutes. Steady state: the two days before the measured day are
already collected.

After: measured. The rendered collector (DBMON_COLLECTOR, as for
test_jobs_api_collector.py) polls the measured day against the fake Jobs API
of the tests on 127.0.0.1; each poll's work list holds the failures that had
ended by then, and the figure is the fake API's request counter.

Before: computed, not measured. The runs/list collector no longer exists, so
the same run set goes through a model of its paging logic: each poll lists
every run completed since watermark - lookback_days (2 by default), 25 per
page (ceil(runs / 25) calls, at least one), and calls get-output once per new
failed task run.

Prints a table; --json prints the figures as JSON. Run with
`go test ./collector -run TestAPICallsPerDay -v`, which renders the collector,
or DBMON_COLLECTOR=<rendered file> python3 collector/measure_api_calls.py.
"""
import argparse
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_jobs_api_collector as t  # noqa: E402 - the fakes of the collector tests

DAY_S = 86400


def scenario(args):
    """The runs of the measured day and the two before: (start s, end s,
    job id, run id, failed), start times spread evenly over the day."""
    runs = []
    per_day = args.jobs * args.runs_per_day
    every = round(100 / args.failure_percent) if args.failure_percent else 0
    day0 = t.NOW - 3 * DAY_S
    run_id = 0
    for day in range(3):
        for k in range(per_day):
            run_id += 1
            start = day0 + day * DAY_S + k * DAY_S / per_day
            runs.append((start, start + 5 * 60, k % args.jobs, run_id, bool(every) and run_id % every == 0))
    return runs


def before(args, runs, polls):
    """runs/list and get-output calls of the runs/list design in the
    measured day (the paging model above)."""
    lists = outputs = 0
    lookback = args.lookback_days * DAY_S
    step = args.poll_minutes * 60
    for p in polls:
        watermark = p - step
        n = sum(1 for start, end, _, _, _ in runs if start >= watermark - lookback and end <= p)
        lists += max(1, math.ceil(n / 25))
        outputs += sum(1 for _, end, _, _, failed in runs if failed and watermark < end <= p)
    return {"runs/list": lists, "runs/get-output": outputs, "runs/get": 0}


def after(args, runs, polls):
    """The calls the collector makes in the measured day: the fake API's
    request counter over every poll."""
    t.setUpModule()  # loads the collector from DBMON_COLLECTOR
    mod = t.MOD
    clock = t.FakeClock(polls[0])
    api = t.FakeJobsAPI()
    try:
        sink = t.SqliteSink()
        sink.ensure_tables()
        ws = mod.Workspace("1", "measure", api.host, mod.static_token_auth(t.TOKEN))
        failed = []
        repaired_every = round(100 / args.repaired_percent) if args.repaired_percent else 0
        for i, (start, end, job, run, _) in enumerate(r for r in runs if r[4]):
            work = t.failure("1", run, run * 10 + 2, int(end * 1000), job_id=job,
                             repaired=bool(repaired_every) and i % repaired_every == 0)
            failed.append((end, work))
            api.add([work])
            if work["repaired"]:
                api.runs[work["run_id"]] = {"run_id": run, "repair_history": [
                    {"type": "ORIGINAL", "task_run_ids": [run * 10 + 2]}, {"type": "REPAIR", "task_run_ids": [run * 10 + 3]}]}
        # Steady state: everything that ended before the day is stored.
        first = polls[0] - args.poll_minutes * 60
        sink.merge([mod.coerce_row(dict(mod.pending_row(w, int(first * 1000)), collect_status="ok"))
                    for end, w in failed if end <= first])
        collector = mod.Collector(mod.ApiClient(None, clock=clock.time, sleep=clock.sleep, log=lambda e: None),
                                  sink, lookback_days=args.lookback_days_after, log=lambda e: None)
        for p in polls:
            clock.now = p
            sink.system = [w for end, w in failed if end <= p]
            collector.collect(ws)
        counts = {"runs/list": 0, "runs/get-output": 0, "runs/get": 0}
        for path, _, _ in api.requests:
            counts[path.split("/jobs/")[-1]] += 1
        stored = len(sink.rows())
    finally:
        api.close()
    counts["_stored_in_day"] = stored - sum(1 for end, _ in failed if end <= first)
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--runs-per-day", type=int, default=10)
    parser.add_argument("--failure-percent", type=float, default=2.0)
    parser.add_argument("--repaired-percent", type=float, default=0.0, help="of the failed runs")
    parser.add_argument("--poll-minutes", type=int, default=15)
    parser.add_argument("--lookback-days", type=float, default=2, help="of the runs/list design")
    parser.add_argument("--lookback-days-after", type=float, default=60)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    runs = scenario(args)
    day = t.NOW - DAY_S
    polls = [day + (i + 1) * args.poll_minutes * 60 for i in range(DAY_S // (args.poll_minutes * 60))]
    b = before(args, runs, polls)
    a = after(args, runs, polls)
    failed_in_day = sum(1 for _, end, _, _, failed in runs if failed and day < end <= polls[-1])
    out = {"jobs": args.jobs, "runs_per_day": args.runs_per_day, "failure_percent": args.failure_percent,
           "repaired_percent": args.repaired_percent, "polls_per_day": len(polls), "failed_task_runs_per_day": failed_in_day,
           "before": b, "before_total": sum(b.values()),
           "after": {k: v for k, v in a.items() if not k.startswith("_")},
           "after_total": sum(v for k, v in a.items() if not k.startswith("_")),
           "after_rows_stored": a["_stored_in_day"]}
    if args.json:
        print(json.dumps(out, sort_keys=True))
        return
    print("%d jobs x %d runs/day, %g%% failing (%d failed task runs/day), %g%% of those repaired, %d polls/day" % (
        args.jobs, args.runs_per_day, args.failure_percent, failed_in_day, args.repaired_percent, len(polls)))
    print("| design | runs/list | runs/get-output | runs/get | calls/day |")
    print("|---|---:|---:|---:|---:|")
    print("| before: runs/list paging (computed by the paging model) | {:,} | {:,} | {:,} | {:,} |".format(
        b["runs/list"], b["runs/get-output"], b["runs/get"], out["before_total"]))
    print("| after: system-tables work list (fake Jobs API request counter) | {:,} | {:,} | {:,} | {:,} |".format(
        a["runs/list"], a["runs/get-output"], a["runs/get"], out["after_total"]))


if __name__ == "__main__":
    main()

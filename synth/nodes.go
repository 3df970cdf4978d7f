package synth

import (
	"strings"
	"time"

	"github.com/dbmon/dbmon/generator/model"
)

// node_timeline is by far the largest table (one row per node per grain
// interval: 40 million at 1,000 jobs and the real 1-minute grain), so its
// rows are made where they are stored. The generator appends one plan row
// per cluster session (who, how many nodes, when it was up, when it was
// busy) and the sink expands the plans with nodeExpansion. The noise is a
// hash of the row's keys and the seed, so the rows are a pure function of
// the plans, in any order.

// Plan table names.
const (
	tNodeSessions = "synth_node_sessions"
	tNodeBusy     = "synth_node_busy"
)

// Plans are the plan tables the generator fills.
var Plans = []PlanTable{
	{Name: tNodeSessions, Columns: planCols(`sid bigint; seed bigint; account_id string; workspace_id string;
		cluster_id string; session bigint; nodes bigint; node_type string; up_start timestamp; up_end timestamp;
		first_bucket timestamp; grain_seconds bigint; all_busy boolean`)},
	// busy spans of the sessions that are not busy all the time (shared
	// all-purpose clusters), inside [up_start, up_end)
	{Name: tNodeBusy, Columns: planCols(`sid bigint; busy_start timestamp; busy_end timestamp`)},
}

func planCols(decl string) []model.Column {
	var out []model.Column
	for _, e := range model.SplitTop(decl, ';') {
		name, typ, ok := strings.Cut(strings.TrimSpace(e), " ")
		if !ok {
			panic("synth: plan column without type: " + e)
		}
		out = append(out, model.NewColumn(name, strings.TrimSpace(typ), ""))
	}
	return out
}

// nodeExpansion makes node_timeline from the session plans: every grain
// interval [bucket, bucket+grain) of a session, cut to the time it was up,
// times every node (node 0 the driver). f is the busy share of the
// interval; CPU is 25-85% while busy and 1-4% while idle, averaged by f.
// Eight 16-bit uniform draws per row come from two hashes of (seed, session,
// node, interval start). Percentages have two decimals, as the generator
// has always written them.
//
// No CTE is materialized: a query over a view that reads a materialized
// CTE computes every column of it (DuckDB prunes no column through the CTE
// operator), so max(end_time) over the view, monitor_freshness's question,
// took 6 s at 1,000 jobs instead of 1 s. Inlined, the intervals are made
// twice (once for the few sessions with busy spans) and each node's md5 is
// still computed once, on the build side of the join.
const nodeExpansion = `
WITH intervals AS NOT MATERIALIZED (
  SELECT sid, all_busy, greatest(bucket, up_start) AS start_time,
         least(bucket + to_seconds(grain_seconds), up_end) AS end_time
  FROM (SELECT sid, all_busy, up_start, up_end, grain_seconds,
               unnest(generate_series(first_bucket, up_end - INTERVAL 1 MICROSECOND, to_seconds(grain_seconds))) AS bucket
        FROM synth_node_sessions)
),
busy AS (
  SELECT i.sid, i.start_time,
         sum(epoch(least(b.busy_end, i.end_time)) - epoch(greatest(b.busy_start, i.start_time))) AS busy_seconds
  FROM intervals i JOIN synth_node_busy b
    ON b.sid = i.sid AND b.busy_start < i.end_time AND b.busy_end > i.start_time
  WHERE NOT i.all_busy
  GROUP BY i.sid, i.start_time
),
shares AS (
  SELECT i.sid, i.start_time, i.end_time, (epoch(i.end_time) - epoch(i.start_time)) / 60.0 AS mins,
         CASE WHEN i.all_busy THEN 1.0
              ELSE coalesce(b.busy_seconds, 0) / (epoch(i.end_time) - epoch(i.start_time)) END AS f
  FROM intervals i LEFT JOIN busy b ON b.sid = i.sid AND b.start_time = i.start_time
),
nodes AS NOT MATERIALIZED (
  SELECT sid, seed, account_id, workspace_id, cluster_id, node_type, node,
         md5(concat(seed, '/', cluster_id, '/', session, '/', node)) AS instance_id,
         MAP {'/local_disk0': 100000000000 + CAST(hash(seed, cluster_id, session, node) % 61 AS BIGINT) * 2459000000} AS disk
  FROM (SELECT *, unnest(range(nodes)) AS node FROM synth_node_sessions)
),
draws AS (
  SELECT n.*, s.start_time, s.end_time, s.mins, s.f,
         hash(n.seed, n.sid, n.node, epoch_us(s.start_time)) AS h1,
         hash(n.seed, n.sid, n.node, epoch_us(s.start_time), 1) AS h2
  FROM shares s JOIN nodes n ON n.sid = s.sid
),
uniform AS (
  SELECT *,
         (h1 & 65535) / 65536.0 AS u1, ((h1 >> 16) & 65535) / 65536.0 AS u2,
         ((h1 >> 32) & 65535) / 65536.0 AS u3, ((h1 >> 48) & 65535) / 65536.0 AS u4,
         (h2 & 65535) / 65536.0 AS u5, ((h2 >> 16) & 65535) / 65536.0 AS u6,
         ((h2 >> 32) & 65535) / 65536.0 AS u7
  FROM draws
),
cpu AS (
  SELECT *, cpu_total * (0.7 + 0.2 * u3) AS cpu_user
  FROM (SELECT *, f * (25 + 60 * u1) + (1 - f) * (1 + 3 * u2) AS cpu_total FROM uniform)
)
SELECT account_id, workspace_id, cluster_id, instance_id, start_time, end_time, node = 0 AS driver,
       least(greatest(round(cpu_user, 2), 0), 100) AS cpu_user_percent,
       least(greatest(round(cpu_total - cpu_user, 2), 0), 100) AS cpu_system_percent,
       least(greatest(round(f * 2 * u4, 2), 0), 100) AS cpu_wait_percent,
       least(greatest(round(30 + 50 * u5, 2), 0), 100) AS mem_used_percent,
       0.0 AS mem_swap_percent,
       CAST(trunc(mins * (1e6 + f * 3e8 * u6)) AS BIGINT) AS network_sent_bytes,
       CAST(trunc(mins * (1e6 + f * 6e8 * u7)) AS BIGINT) AS network_received_bytes,
       disk AS disk_free_bytes_per_mount_point, node_type
FROM cpu`

// nodeRows plans node_timeline for one cluster session (driver and
// workers): up from up0 to up1, busy throughout (allBusy: a job cluster)
// or during busy.
func (g *gen) nodeRows(ws, cluster string, session, workers int, nodeType string, up0, up1 time.Time, busy []span, allBusy bool) {
	if !up1.After(up0) {
		return
	}
	g.nodePlans++
	sid := g.nodePlans
	r := g.row(tNodeSessions)
	r[sessionCol.SID], r[sessionCol.Seed], r[sessionCol.AccountID] = sid, g.cfg.Seed, accountID
	r[sessionCol.WorkspaceID], r[sessionCol.ClusterID], r[sessionCol.Session] = ws, cluster, int64(session)
	r[sessionCol.Nodes], r[sessionCol.NodeType] = int64(workers+1), nodeType
	r[sessionCol.UpStart], r[sessionCol.UpEnd], r[sessionCol.FirstBucket] = up0, up1, up0.Truncate(g.grain)
	r[sessionCol.Grain], r[sessionCol.AllBusy] = int64(g.grain/time.Second), allBusy
	g.emit(tNodeSessions, r)
	if allBusy {
		return
	}
	for _, b := range busy {
		if s, e := maxTime(b.start, up0), minTime(b.end, up1); e.After(s) {
			r := g.row(tNodeBusy)
			r[busyCol.SID], r[busyCol.Start], r[busyCol.End] = sid, s, e
			g.emit(tNodeBusy, r)
		}
	}
}

package twin_test

import (
	"strings"
	"testing"

	"github.com/dbmon/dbmon/generator/model"
	"github.com/dbmon/dbmon/twin"
)

// TestLazyExpand: with Loader.Lazy a system table that Expand fills is a
// view of its plans. Without appended rows the view is the expansion alone;
// with them it is those rows and the expansion. Either way every column has
// its declared type, whatever the expansion query yields (here naive
// timestamps for TIMESTAMP columns and no disk or percentages at all).
func TestLazyExpand(t *testing.T) {
	const table = "system.compute.node_timeline"
	const expansion = `SELECT 'acc' AS account_id, '100' AS workspace_id, cluster_id,
	  cluster_id || '-' || CAST(k AS VARCHAR) AS instance_id,
	  TIMESTAMP '2026-11-01 00:00:00' + to_minutes(k) AS start_time,
	  TIMESTAMP '2026-11-01 00:01:00' + to_minutes(k) AS end_time, k = 0 AS driver
	FROM zz_plan, range(minutes) r(k)`
	appended := R{"account_id": "acc", "workspace_id": "100", "cluster_id": "c0", "instance_id": "c0-x",
		"start_time": ts("2026-10-31T23:59"), "end_time": ts("2026-11-01T00:00"), "driver": true,
		"cpu_user_percent": 5.0, "cpu_system_percent": 1.0, "mem_used_percent": 30.0}

	for _, tc := range []struct {
		name   string
		append bool
		rows   int64
		first  string // the earliest start_time
	}{
		{"expansion alone", false, 3 + 2, "2026-11-01 00:00:00+00"},
		{"appended rows and expansion", true, 1 + 3 + 2, "2026-10-31 23:59:00+00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := twin.Open(ts("2026-11-02T00:00"))
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			l, err := e.Loader()
			if err != nil {
				t.Fatal(err)
			}
			l.Lazy = true
			cols := []twin.Column{model.NewColumn("cluster_id", "string", ""), model.NewColumn("minutes", "bigint", "")}
			if err := l.Plan("zz_plan", cols); err != nil {
				t.Fatal(err)
			}
			for _, p := range [][]any{{"c1", int64(3)}, {"c2", int64(2)}} {
				if err := l.Append("zz_plan", p); err != nil {
					t.Fatal(err)
				}
			}
			if tc.append {
				vals, err := rowValues(table, appended)
				if err != nil {
					t.Fatal(err)
				}
				if err := l.Append(table, vals); err != nil {
					t.Fatal(err)
				}
			}
			if err := l.Expand(table, expansion); err != nil {
				t.Fatal(err)
			}
			if err := l.Append(table, make([]any, 15)); err == nil {
				t.Error("Append after Expand was accepted")
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}

			rows, err := e.Query("SELECT count(*), count(DISTINCT instance_id), CAST(min(start_time) AS STRING), " +
				"count(cpu_user_percent), count(disk_free_bytes_per_mount_point) FROM " + table)
			if err != nil {
				t.Fatal(err)
			}
			got := rows[0]
			wantMeasured := int64(0)
			if tc.append {
				wantMeasured = 1
			}
			if got[0] != tc.rows || got[1] != tc.rows || got[2] != tc.first || got[3] != wantMeasured || got[4] != int64(0) {
				t.Errorf("count, distinct instances, first start, cpu values, disk values = %v, want %d, %d, %s, %d, 0",
					got, tc.rows, tc.rows, tc.first, wantMeasured)
			}

			st, _ := twin.SystemTable(table)
			described, err := e.DB.Query("SELECT column_name, data_type FROM information_schema.columns " +
				"WHERE table_catalog = 'dbx_system' AND table_schema = 'compute' AND table_name = 'node_timeline' ORDER BY ordinal_position")
			if err != nil {
				t.Fatal(err)
			}
			defer described.Close()
			i := 0
			for ; described.Next(); i++ {
				var name, typ string
				if err := described.Scan(&name, &typ); err != nil {
					t.Fatal(err)
				}
				if i >= len(st.Columns) {
					continue
				}
				c := st.Columns[i]
				if want := twin.DuckTypeOf(c.Parsed); name != c.Name || !sameType(typ, want) {
					t.Errorf("column %d: %s %s, want %s %s", i, name, typ, c.Name, want)
				}
			}
			if i != len(st.Columns) {
				t.Errorf("the view has %d columns, the declaration %d", i, len(st.Columns))
			}
		})
	}
}

// sameType compares a type as information_schema spells it with DuckTypeOf's.
func sameType(schema, duck string) bool {
	norm := func(s string) string {
		s = strings.ToUpper(strings.ReplaceAll(strings.ReplaceAll(s, " ", ""), `"`, ""))
		return strings.ReplaceAll(s, "TIMESTAMPWITHTIMEZONE", "TIMESTAMPTZ")
	}
	return norm(schema) == norm(duck)
}

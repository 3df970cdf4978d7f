package twin_test

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dbmon/dbmon/generator"
	"github.com/dbmon/dbmon/synth"
	"github.com/dbmon/dbmon/twin"
)

// executiveQuestions are the executive overview's questions, asked of gold:
// cost this month against last month per team, budget burn, SLA compliance,
// failure rate, the KPIs against their targets, and the weekly cost trend.
var executiveQuestions = []string{
	`SELECT team,
	   sum(CASE WHEN usage_date >= CAST(date_trunc('MONTH', current_date()) AS DATE) THEN cost_net END) AS this_month,
	   sum(CASE WHEN usage_date < CAST(date_trunc('MONTH', current_date()) AS DATE) THEN cost_net END) AS last_month
	 FROM cost_by_workspace
	 WHERE usage_date >= CAST(date_trunc('MONTH', date_sub(CAST(date_trunc('MONTH', current_date()) AS DATE), 1)) AS DATE)
	 GROUP BY team ORDER BY team`,
	`SELECT team, budget, cost_net_to_date, forecast_month_end, pct_of_budget FROM budget_status
	 WHERE month = CAST(date_trunc('MONTH', current_date()) AS DATE) ORDER BY team`,
	`SELECT sla_name, avg(CASE WHEN met THEN 1.0 ELSE 0.0 END) AS compliance FROM sla_compliance
	 WHERE period_date >= date_sub(current_date(), 30) GROUP BY sla_name ORDER BY sla_name`,
	`SELECT team, try_divide(sum(failed_runs), sum(total_runs)) AS failure_rate FROM job_summary_daily
	 WHERE run_date >= date_sub(current_date(), 30) GROUP BY team ORDER BY team`,
	`SELECT kpi_name, breakdown, value, on_target FROM kpi_values ORDER BY kpi_name, breakdown`,
	`SELECT week_start, team, cost_net, cost_change_pct FROM trend_metrics
	 WHERE week_start >= date_sub(current_date(), 84) ORDER BY week_start, team`,
}

// BenchmarkPreview does what dbmon preview --synthetic does, on the
// example spec for 1,000 jobs x 90 days at preview's default node grain
// (1 minute): synthetic data, every table of the pipeline, then the report
// (findings, KPIs, SLA summary, alerts). It then answers the executive
// questions from gold and, on a second engine whose silver and gold are
// views, from bronze. scripts/bench runs it at several sizes.
//
// Environment: DBMON_BENCH_JOBS (default 1000), DBMON_BENCH_DAYS (90),
// DBMON_BENCH_GRAIN (node grain in minutes, 1), DBMON_BENCH_BRONZE=0 to
// skip the bronze engine, DBMON_BENCH_MEMORY_GB to cap DuckDB's memory at
// that many GB instead of at twin.SyntheticMemory. Metrics: synth-s,
// pipeline-s, report-s, total-s (the three, as preview spends them),
// cpu-s (process CPU time over the same span: on a shared machine it shows
// the work when wall time is inflated), peak-rss-MB (the process's high-water RSS after the preview
// part, DuckDB included), rows (built by the pipeline), gold-ms and
// bronze-ms (all questions once, best of three) and bronze/gold (the
// speed-up of answering from gold).
func BenchmarkPreview(b *testing.B) {
	jobs, days, grain := envInt("DBMON_BENCH_JOBS", 1000), envInt("DBMON_BENCH_DAYS", 90), envInt("DBMON_BENCH_GRAIN", 1)
	res := benchPrepare(b)
	cfg := synth.Config{Seed: 1, Jobs: jobs, Days: days, AsOf: asOf, NodeGrainMinutes: grain, Incidents: true}
	memory := twin.SyntheticMemory(jobs, days) // as preview sizes it
	if gb := envInt("DBMON_BENCH_MEMORY_GB", 0); gb > 0 {
		memory = int64(gb) * 1_000_000_000
	}
	for i := 0; i < b.N; i++ {
		start, cpu0 := time.Now(), cpuTime()
		gold, genTime, runs := benchEngine(b, res, cfg, memory, false)
		pipeline := time.Since(start) - genTime
		reportStart := time.Now()
		benchReport(b, gold, res)
		report := time.Since(reportStart)
		total, cpu := time.Since(start), cpuTime()-cpu0
		peak := peakRSSMB()
		goldAnswers, goldTime := ask(b, gold)
		gold.Close()

		var rows int64
		for _, r := range runs {
			rows += max(r.Rows, 0)
		}
		b.ReportMetric(genTime.Seconds(), "synth-s")
		b.ReportMetric(pipeline.Seconds(), "pipeline-s")
		b.ReportMetric(report.Seconds(), "report-s")
		b.ReportMetric(total.Seconds(), "total-s")
		b.ReportMetric(cpu.Seconds(), "cpu-s")
		b.ReportMetric(float64(rows), "rows")
		b.ReportMetric(peak, "peak-rss-MB")
		b.ReportMetric(float64(goldTime.Microseconds())/1000, "gold-ms")
		if os.Getenv("DBMON_BENCH_BRONZE") != "0" {
			bronze, _, _ := benchEngine(b, res, cfg, memory, true)
			bronzeAnswers, bronzeTime := ask(b, bronze)
			bronze.Close()
			if goldAnswers != bronzeAnswers {
				b.Fatalf("gold and bronze answers differ:\ngold:\n%s\nbronze:\n%s", goldAnswers, bronzeAnswers)
			}
			b.ReportMetric(float64(bronzeTime.Microseconds())/1000, "bronze-ms")
			b.ReportMetric(bronzeTime.Seconds()/goldTime.Seconds(), "bronze/gold")
		}
		if testing.Verbose() {
			sort.Slice(runs, func(i, j int) bool { return runs[i].Elapsed > runs[j].Elapsed })
			for _, r := range runs[:min(8, len(runs))] {
				b.Logf("%-30s %9d rows %8.2fs", r.Name, r.Rows, r.Elapsed.Seconds())
			}
		}
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchReport computes what preview prints after the pipeline.
func benchReport(b *testing.B, e *twin.Engine, res *generator.Result) {
	b.Helper()
	if _, err := e.Findings(res.Bundle); err != nil {
		b.Fatal(err)
	}
	if _, err := e.KPIs(res.Bundle); err != nil {
		b.Fatal(err)
	}
	if _, err := e.SLASummary(res.Bundle, 7); err != nil {
		b.Fatal(err)
	}
	if _, err := e.EvaluateAlerts(res.Bundle); err != nil {
		b.Fatal(err)
	}
}

// cpuTime is the process's user plus system CPU time (DuckDB's threads
// included).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchPrepare(b *testing.B) *generator.Result {
	b.Helper()
	data, err := os.ReadFile("../specs/example.yaml")
	if err != nil {
		b.Fatal(err)
	}
	res, diags, err := generator.Prepare("example.yaml", data)
	if err != nil || len(diags) > 0 {
		b.Fatal(err, diags)
	}
	return res
}

// benchEngine fills a new twin with synthetic data and builds the pipeline,
// as tables or (asViews) with silver and gold as views over bronze.
func benchEngine(b *testing.B, res *generator.Result, cfg synth.Config, memory int64, asViews bool) (*twin.Engine, time.Duration, []twin.TableRun) {
	b.Helper()
	e, err := twin.Open(cfg.AsOf, twin.Memory(memory))
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	loader, err := e.Loader()
	if err != nil {
		b.Fatal(err)
	}
	loader.Lazy = true // as preview loads it
	if _, err := synth.Generate(res.Spec, cfg, loader); err != nil {
		b.Fatal(err)
	}
	if err := loader.Close(); err != nil {
		b.Fatal(err)
	}
	gen := time.Since(start)
	build := e.RunPipeline
	if asViews {
		build = e.RunPipelineAsViews
	}
	runs, err := build(res.Bundle, res.Files)
	if err != nil {
		b.Fatal(err)
	}
	return e, gen, runs
}

// ask answers every executive question, best of three, and returns the
// answers as text (doubles rounded) so two engines can be compared.
func ask(b *testing.B, e *twin.Engine) (string, time.Duration) {
	b.Helper()
	best := time.Duration(1 << 62)
	var answers string
	for round := 0; round < 3; round++ {
		var sb strings.Builder
		start := time.Now()
		for _, q := range executiveQuestions {
			rows, err := e.Query(q)
			if err != nil {
				b.Fatalf("%s: %v", q, err)
			}
			for _, r := range rows {
				for _, v := range r {
					if f, ok := v.(float64); ok {
						v = strconv.FormatFloat(f, 'f', 4, 64)
					}
					fmt.Fprintf(&sb, "%v|", v)
				}
				sb.WriteByte('\n')
			}
		}
		best = min(best, time.Since(start))
		answers = sb.String()
	}
	return answers, best
}

// peakRSSMB reads the process's peak resident set (Linux); 0 elsewhere.
func peakRSSMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil || runtime.GOOS != "linux" {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

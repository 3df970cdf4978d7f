package twin_test

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
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

// BenchmarkPipeline1000Jobs90Days builds the whole pipeline on synthetic data
// for 1,000 jobs over 90 days (node_timeline at hourly grain), then answers
// the executive questions from gold and, on a second engine whose silver and
// gold are views, from bronze. Run it with scripts/bench. Metrics:
// pipeline-s (build of every table), peak-rss-MB (the process's high-water
// RSS, DuckDB included), gold-ms and bronze-ms (all questions once, best of
// three) and bronze/gold (the speed-up of answering from gold).
func BenchmarkPipeline1000Jobs90Days(b *testing.B) {
	jobs, days := 1000, 90
	if v, err := strconv.Atoi(os.Getenv("DBMON_BENCH_JOBS")); err == nil {
		jobs = v
	}
	res := benchPrepare(b)
	cfg := synth.Config{Seed: 1, Jobs: jobs, Days: days, AsOf: asOf, NodeGrainMinutes: 60, Incidents: true}
	for i := 0; i < b.N; i++ {
		start := time.Now()
		gold, genTime, runs := benchEngine(b, res, cfg, false)
		pipeline := time.Since(start) - genTime
		goldAnswers, goldTime := ask(b, gold)
		gold.Close()
		peak := peakRSSMB()

		bronze, _, _ := benchEngine(b, res, cfg, true)
		bronzeAnswers, bronzeTime := ask(b, bronze)
		bronze.Close()
		if goldAnswers != bronzeAnswers {
			b.Fatalf("gold and bronze answers differ:\ngold:\n%s\nbronze:\n%s", goldAnswers, bronzeAnswers)
		}
		var rows int64
		for _, r := range runs {
			rows += r.Rows
		}
		b.ReportMetric(genTime.Seconds(), "synth-s")
		b.ReportMetric(pipeline.Seconds(), "pipeline-s")
		b.ReportMetric(float64(rows), "rows")
		b.ReportMetric(peak, "peak-rss-MB")
		b.ReportMetric(float64(goldTime.Microseconds())/1000, "gold-ms")
		b.ReportMetric(float64(bronzeTime.Microseconds())/1000, "bronze-ms")
		b.ReportMetric(bronzeTime.Seconds()/goldTime.Seconds(), "bronze/gold")
		if testing.Verbose() {
			sort.Slice(runs, func(i, j int) bool { return runs[i].Elapsed > runs[j].Elapsed })
			for _, r := range runs[:min(8, len(runs))] {
				b.Logf("%-30s %9d rows %8.2fs", r.Name, r.Rows, r.Elapsed.Seconds())
			}
		}
	}
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
func benchEngine(b *testing.B, res *generator.Result, cfg synth.Config, asViews bool) (*twin.Engine, time.Duration, []twin.TableRun) {
	b.Helper()
	e, err := twin.Open(cfg.AsOf)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	loader, err := e.Loader()
	if err != nil {
		b.Fatal(err)
	}
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

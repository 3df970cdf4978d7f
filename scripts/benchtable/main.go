// Command benchtable measures dbmon on this machine and prints one table
// (scripts/bench runs it): dbmon generate on four specs of growing size
// (median of 7 runs), and preview --synthetic (twin.BenchmarkPreview) at
// several job counts, each against the targets of issue 10. A step that
// fails or times out is a FAIL row; the table is always printed.
//
// Environment: DBMON_BENCH_JOBS (default 1000,3000,10000),
// DBMON_BENCH_TIMEOUT (per preview size, default 60m), DBMON_BENCH_GRAIN
// and DBMON_BENCH_DAYS (passed to the benchmark: default 1 and 90).
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// measured is one child process: wall time, peak RSS, and how it ended.
type measured struct {
	wall    time.Duration
	rssMB   float64
	err     error
	stdout  []byte
	stderr  []byte
	timeout bool
}

// child runs a command to completion and measures it from its rusage.
func child(dir string, env []string, limit time.Duration, name string, args ...string) measured {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	m := measured{wall: time.Since(start), err: err, stdout: out.Bytes(), stderr: errb.Bytes(), timeout: ctx.Err() != nil}
	if cmd.ProcessState == nil {
		return m // never started
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		kb := float64(ru.Maxrss) // KiB on Linux, bytes on macOS
		if runtime.GOOS == "darwin" {
			kb /= 1024
		}
		m.rssMB = kb / 1024
	}
	return m
}

// generateRuns is how many times each spec is generated: one run of a
// fraction of a second is at the mercy of whatever else the machine does.
const generateRuns = 7

// medianOf runs measure n times and returns the run of median wall time,
// or the first failure.
func medianOf(n int, measure func(run int) measured) measured {
	var runs []measured
	for i := 0; i < n; i++ {
		m := measure(i)
		if m.failure() != "" {
			return m
		}
		runs = append(runs, m)
	}
	slices.SortFunc(runs, func(a, b measured) int { return cmp.Compare(a.wall, b.wall) })
	return runs[n/2]
}

func (m measured) failure() string {
	if m.timeout {
		return "FAIL: timed out after " + m.wall.Round(time.Second).String()
	}
	if m.err == nil {
		return ""
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(m.stderr)), "\n")
	if len(line) > 90 {
		line = line[:90] + "..."
	}
	return "FAIL: " + m.err.Error() + ": " + line
}

func run() error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "dbmon-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin, testBin := filepath.Join(tmp, "dbmon"), filepath.Join(tmp, "twin.test")
	for _, build := range [][]string{{"build", "-o", bin, "./cmd/dbmon"}, {"test", "-c", "-o", testBin, "./twin"}} {
		if m := child(root, nil, 20*time.Minute, "go", build...); m.err != nil {
			return fmt.Errorf("go %s: %v\n%s", strings.Join(build, " "), m.err, m.stderr)
		}
	}
	specs := []struct{ name, path string }{
		{"minimal", filepath.Join(root, "specs/minimal.yaml")},
		{"example", filepath.Join(root, "specs/example.yaml")},
		{"50 teams/200 SLAs/20 KPIs/10 ws", filepath.Join(tmp, "ordinary.yaml")},
		{"500 teams/2000 SLAs/200 KPIs/50 ws", filepath.Join(tmp, "large.yaml")},
	}
	for i, size := range [][]string{{"50", "200", "20", "10"}, {"500", "2000", "200", "50"}} {
		m := child(root, nil, 5*time.Minute, "go", "run", "./scripts/bigspec",
			"-teams", size[0], "-slas", size[1], "-kpis", size[2], "-workspaces", size[3])
		if m.err != nil {
			return fmt.Errorf("bigspec: %v\n%s", m.err, m.stderr)
		}
		if err := os.WriteFile(specs[2+i].path, m.stdout, 0o644); err != nil {
			return err
		}
	}

	fmt.Printf("dbmon bench: %s, %d cores, %s, %s\n\n", machine(), runtime.NumCPU(), loadAverage(), runtime.Version())
	fmt.Printf("%-36s %9s %10s  %s\n", "generate", "wall", "peak RSS", fmt.Sprintf("median of %d runs; target: < 1 s and < 200 MB (example < 100 ms)", generateRuns))
	for i, sp := range specs {
		m := medianOf(generateRuns, func(run int) measured {
			out := filepath.Join(tmp, fmt.Sprintf("bundle%d-%d", i, run)) // a new bundle each time
			return child(root, nil, 3*time.Minute, bin, "generate", sp.path, "--out", out)
		})
		verdict := m.failure()
		if verdict == "" {
			limit := time.Second
			if sp.name == "example" {
				limit = 100 * time.Millisecond
			}
			verdict = "ok"
			if m.wall >= limit || m.rssMB >= 200 {
				verdict = "OFF TARGET"
			}
		}
		fmt.Printf("  %-34s %8.2fs %7.0f MB  %s\n", sp.name, m.wall.Seconds(), m.rssMB, verdict)
	}

	jobs := strings.Split(envOr("DBMON_BENCH_JOBS", "1000,3000,10000"), ",")
	limit, err := time.ParseDuration(envOr("DBMON_BENCH_TIMEOUT", "60m"))
	if err != nil {
		return fmt.Errorf("DBMON_BENCH_TIMEOUT: %v", err)
	}
	fmt.Printf("\npreview --synthetic, example spec, %s days, node grain %s min (twin.BenchmarkPreview)\n",
		envOr("DBMON_BENCH_DAYS", "90"), envOr("DBMON_BENCH_GRAIN", "1"))
	fmt.Printf("  %6s %8s %10s %8s %8s %8s %10s %12s %12s  %s\n", "jobs", "synth", "pipeline", "report", "total", "cpu",
		"peak RSS", "rows", "bronze/gold", "target: 1,000 jobs < 60 s and < 4 GB")
	var prev map[string]float64
	var prevJobs float64
	for _, j := range jobs {
		j = strings.TrimSpace(j)
		n, err := strconv.Atoi(j)
		if err != nil || n <= 0 {
			return fmt.Errorf("DBMON_BENCH_JOBS: %q is not a job count", j)
		}
		m := child(filepath.Join(root, "twin"), []string{"DBMON_BENCH_JOBS=" + j}, limit, testBin,
			"-test.run", "^$", "-test.bench", "^BenchmarkPreview$", "-test.benchtime", "1x", "-test.timeout", "0")
		metrics, perr := benchMetrics(m.stdout)
		if f := m.failure(); f != "" || perr != nil {
			if f == "" {
				f = "FAIL: " + perr.Error()
			}
			fmt.Printf("  %6d  %s\n", n, f)
			continue
		}
		verdict := ""
		if n == 1000 {
			verdict = "ok"
			if metrics["total-s"] >= 60 || metrics["peak-rss-MB"] >= 4096 {
				verdict = "OFF TARGET"
			}
		}
		if prev != nil {
			x := float64(n) / prevJobs
			verdict = strings.TrimSpace(fmt.Sprintf("%s  x%.1f jobs: time x%.1f, memory x%.1f", verdict, x,
				metrics["total-s"]/prev["total-s"], metrics["peak-rss-MB"]/prev["peak-rss-MB"]))
		}
		fmt.Printf("  %6d %7.1fs %9.1fs %7.1fs %7.1fs %7.1fs %7.0f MB %12.0f %11.1fx  %s\n", n, metrics["synth-s"],
			metrics["pipeline-s"], metrics["report-s"], metrics["total-s"], metrics["cpu-s"], metrics["peak-rss-MB"],
			metrics["rows"], metrics["bronze/gold"], verdict)
		prev, prevJobs = metrics, float64(n)
	}
	fmt.Println("\n  total = synth + pipeline + report, what preview spends; cpu = process CPU time over it (all cores).")
	fmt.Println("  On a shared machine wall times include waiting for the CPU; compare cpu with cores x total.")
	return nil
}

// benchMetrics parses the "BenchmarkPreview-N 1 123 ns/op 4.5 synth-s ..." line.
func benchMetrics(out []byte) (map[string]float64, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "BenchmarkPreview") {
			continue
		}
		m := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("metric %q: %v", f[i], err)
			}
			m[f[i+1]] = v
		}
		return m, nil
	}
	return nil, errors.New("no benchmark result in the output")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func machine() string {
	host, _ := os.Hostname()
	mem := ""
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(string(data)); len(f) > 1 {
			if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
				mem = fmt.Sprintf(", %.0f GB RAM", kb/1024/1024)
			}
		}
	}
	return fmt.Sprintf("%s %s/%s%s", host, runtime.GOOS, runtime.GOARCH, mem)
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "load average unknown"
	}
	f := strings.Fields(string(data))
	return "load average " + strings.Join(f[:3], " ")
}

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// report collects the findings of a run and renders them as Markdown.
type report struct {
	started  time.Time
	command  string
	commit   string
	machine  []string
	rows     []row
	sections []section
	loads    [][2]string // when, load average
	failures []string
}

// row is one headline figure: berth's value beside its baseline.
type row struct {
	figure   string
	berth    string
	baseline string
	ratio    string
	target   string // empty: reported, no target
	met      bool
}

func (rw row) verdict(met, missed string) string {
	switch {
	case rw.target == "":
		return "—"
	case rw.met:
		return met
	default:
		return missed
	}
}

type section struct {
	title string
	lines []string
}

func newReport(ctx context.Context, root string, args []string) *report {
	r := &report{started: time.Now(), command: strings.Join(append([]string{"go run ./bench/cmd/berthbench"}, args...), " ")}
	if out, err := exec.CommandContext(ctx, "git", "-C", root, "describe", "--always", "--dirty").Output(); err == nil {
		r.commit = strings.TrimSpace(string(out))
	}
	r.machine = []string{
		fmt.Sprintf("%d cores (%s), %s/%s", runtime.NumCPU(), cpuModel(), runtime.GOOS, runtime.GOARCH),
		fmt.Sprintf("%s, GOMAXPROCS %d (berthd, baseline server and load generator alike)", runtime.Version(), runtime.GOMAXPROCS(0)),
		"memory: " + memTotal(),
	}
	return r
}

func (r *report) add(rw row) { r.rows = append(r.rows, rw) }

func (r *report) section(title string, lines ...string) {
	r.sections = append(r.sections, section{title: title, lines: lines})
}

func (r *report) failure(phase string, err error) {
	r.failures = append(r.failures, fmt.Sprintf("%s: %v", phase, err))
}

// load records the load average at a moment of the run: the machine is
// shared, and a busy one explains odd figures.
func (r *report) load(when string) {
	b, err := os.ReadFile("/proc/loadavg")
	avg := "unknown"
	if err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			avg = strings.Join(f[:3], " ")
		}
	}
	r.loads = append(r.loads, [2]string{when, avg})
}

func (r *report) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# berth benchmarks")
	p("")
	p("Produced by this command (`make bench` runs it, writing bench/RESULTS.md):")
	p("")
	p("    %s", r.command)
	p("")
	p("- started %s, took %s; berth at commit `%s`", r.started.UTC().Format("2006-01-02 15:04 UTC"), time.Since(r.started).Round(time.Second), r.commit)
	for _, m := range r.machine {
		p("- %s", m)
	}
	var loads []string
	for _, l := range r.loads {
		loads = append(loads, fmt.Sprintf("%s %s", l[0], l[1]))
	}
	p("- load average (1, 5, 15 min): %s", strings.Join(loads, "; "))
	p("")
	p("berthd runs as a child process (`--data-dir` in a temporary directory, Badger with SyncWrites on, log level info to a file) and is driven over loopback HTTP by the load generator, a separate process on the same cores. Each baseline is measured in the same run on the same machine.")
	p("")
	if len(r.failures) > 0 {
		p("## Failures")
		p("")
		for _, f := range r.failures {
			p("- %s", f)
		}
		p("")
	}
	p("## Summary")
	p("")
	p("| figure | berth | baseline | ratio | target | met |")
	p("|---|---|---|---|---|---|")
	for _, rw := range r.rows {
		p("| %s | %s | %s | %s | %s | %s |", rw.figure, rw.berth, rw.baseline, rw.ratio, rw.target, rw.verdict("yes", "**no**"))
	}
	for _, s := range r.sections {
		p("")
		p("## %s", s.title)
		p("")
		for _, l := range s.lines {
			p("%s", l)
		}
	}
	return b.String()
}

// summary is the table for the terminal.
func (r *report) summary() string {
	var b strings.Builder
	missed := 0
	for _, rw := range r.rows {
		verdict := rw.verdict("ok", "MISSED")
		if verdict == "MISSED" {
			missed++
		}
		fmt.Fprintf(&b, "%-6s %-58s berth %-24s baseline %-34s ratio %-8s target %s\n", verdict, rw.figure, rw.berth, rw.baseline, rw.ratio, rw.target)
	}
	fmt.Fprintf(&b, "%d of the targets missed\n", missed)
	for _, f := range r.failures {
		fmt.Fprintf(&b, "FAILED %s\n", f)
	}
	return b.String()
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.Lines(string(b)) {
		if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown CPU"
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "unknown"
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kb int64
			if _, err := fmt.Sscan(v, &kb); err == nil {
				return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	return "unknown"
}

// Formatting helpers.

func ms(d time.Duration) string {
	switch {
	case d >= 100*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
}

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

func perSec(v float64) string { return commas(int64(v+0.5)) + "/s" }

func ratio(v float64) string { return fmt.Sprintf("%.2fx", v) }

func commas(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + commas(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

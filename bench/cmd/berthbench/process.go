package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// adminToken is the bootstrap admin token of every berthd the bench starts.
const adminToken = "berth_bench-admin-token-0123456789"

// server is a child process serving HTTP on loopback: berthd or the
// baseline.
type server struct {
	name string
	url  string
	// pprof is the URL of berthd's profiling listener, when it has one.
	pprof string
	cmd   *exec.Cmd
	done  chan struct{}
	err   error // set when done is closed
}

var (
	listeningRe = regexp.MustCompile(`"berthd listening" addr=(http://[0-9.:]+)`)
	pprofRe     = regexp.MustCompile(`"pprof listening" addr=(http://[0-9.:]+)`)
)

// startBerthd runs bin on a data directory and waits until it listens.
// Its log goes to logPath.
func startBerthd(ctx context.Context, bin, dataDir, logPath string, extraArgs ...string) (*server, error) {
	args := append([]string{"--listen", "127.0.0.1:0", "--data-dir", dataDir}, extraArgs...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "BERTH_BOOTSTRAP_TOKEN="+adminToken)
	return startServer(ctx, "berthd", cmd, logPath, listeningRe)
}

// startBaseline runs this binary's baseline subcommand serving body with
// header.
func startBaseline(ctx context.Context, bodyPath string, header []string, logPath string) (*server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"baseline", "-listen", "127.0.0.1:0", "-body", bodyPath}
	for _, h := range header {
		args = append(args, "-header", h)
	}
	return startServer(ctx, "baseline", exec.Command(self, args...), logPath, baselineListeningRe)
}

// startServer starts cmd with its output going straight to logPath (no
// copying through this process, which generates the load) and waits for a
// line of the log matching listening, whose first group is the URL.
func startServer(ctx context.Context, name string, cmd *exec.Cmd, logPath string, listening *regexp.Regexp) (*server, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s := &server{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	deadline := time.After(60 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		log, err := os.ReadFile(logPath)
		if err != nil {
			return nil, err
		}
		if m := listening.FindSubmatch(log); m != nil {
			s.url = string(m[1])
			// berthd announces its profiling listener before its API.
			if m := pprofRe.FindSubmatch(log); m != nil {
				s.pprof = string(m[1])
			}
			return s, nil
		}
		select {
		case <-tick.C:
			continue
		case <-s.done:
			return nil, fmt.Errorf("%s exited before listening (%v); log: %s", name, s.err, logPath)
		case <-deadline:
		case <-ctx.Done():
		}
		_ = cmd.Process.Kill()
		<-s.done
		return nil, fmt.Errorf("%s did not start listening; log: %s", name, logPath)
	}
}

// stop asks the process to shut down and waits for it.
func (s *server) stop() error {
	select {
	case <-s.done:
		return s.err
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("%s did not stop within 30s of SIGTERM: killed", s.name)
	}
	var exit *exec.ExitError
	if errors.As(s.err, &exit) {
		return fmt.Errorf("%s: %w", s.name, s.err)
	}
	return s.err
}

// memory is what /proc/<pid>/status says about a process's memory.
type memory struct {
	rss  int64 // VmRSS: resident now
	anon int64 // RssAnon: of which heap, stacks and other private memory
	file int64 // RssFile: of which pages of mapped files
	peak int64 // VmHWM: the highest resident size so far
	heap int64 // Go heap in use (go_memstats_heap_inuse_bytes of /metrics)
}

// memory reads the process's memory from /proc and, when token is not
// empty, its Go heap from berthd's /metrics.
func (s *server) memory(ctx context.Context, token string) (memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return memory{}, err
	}
	var m memory
	for line := range strings.Lines(string(b)) {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var dst *int64
		switch name {
		case "VmRSS":
			dst = &m.rss
		case "RssAnon":
			dst = &m.anon
		case "RssFile":
			dst = &m.file
		case "VmHWM":
			dst = &m.peak
		default:
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return memory{}, fmt.Errorf("parse %s %q: %w", name, value, err)
		}
		*dst = kb << 10
	}
	if m.rss == 0 {
		return memory{}, fmt.Errorf("no VmRSS in /proc/%d/status", s.cmd.Process.Pid)
	}
	if token == "" {
		return m, nil
	}
	metrics, err := newHTTPClient(s.url, 1).call(ctx, http.MethodGet, "/metrics", bearer(token), nil, nil)
	if err != nil {
		return memory{}, err
	}
	match := heapInUseRe.FindSubmatch(metrics)
	if match == nil {
		return memory{}, errors.New("no go_memstats_heap_inuse_bytes in /metrics")
	}
	heap, err := strconv.ParseFloat(string(match[1]), 64)
	if err != nil {
		return memory{}, fmt.Errorf("go_memstats_heap_inuse_bytes %q: %w", match[1], err)
	}
	m.heap = int64(heap)
	return m, nil
}

var heapInUseRe = regexp.MustCompile(`(?m)^go_memstats_heap_inuse_bytes (\S+)$`)

// cpuTime is the CPU time (user + system) the process has used so far.
func (s *server) cpuTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may contain spaces: fields are
	// counted after its closing parenthesis. utime and stime are fields 14
	// and 15 of the line, in clock ticks (100 per second on Linux).
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", s.cmd.Process.Pid)
	}
	var ticks int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// buildBinaries builds berthd, the provider and the no-op provider that
// measures the plugin floor from the module at root into dir.
func buildBinaries(ctx context.Context, root, dir string) (berthd, provider, noop string, err error) {
	berthd = filepath.Join(dir, "berthd")
	provider = filepath.Join(dir, "provider", "terraform-provider-berth")
	noop = filepath.Join(dir, "noop", "terraform-provider-noop")
	for _, b := range []struct{ out, pkg string }{{berthd, "./cmd/berthd"}, {provider, "."}, {noop, "./bench/noopprovider"}} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", b.out, b.pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", "", fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
		}
	}
	return berthd, provider, noop, nil
}

// profileCPU records a CPU profile of the server for d into path in the
// background, when the server has a profiling listener; wait returns once
// it is written.
func (s *server) profileCPU(ctx context.Context, d time.Duration, path string) (wait func() error) {
	if s.pprof == "" {
		return func() error { return nil }
	}
	done := make(chan error, 1)
	go func() {
		url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", s.pprof, int(d.Round(time.Second)/time.Second))
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			done <- err
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- err
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil {
			err = os.WriteFile(path, b, 0o644)
		}
		done <- err
	}()
	return func() error { return <-done }
}

// saveProfile fetches a profile of the server (heap, goroutine...) into
// path, when the server has a profiling listener.
func (s *server) saveProfile(ctx context.Context, name, path string) error {
	if s.pprof == "" {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.pprof+"/debug/pprof/"+name, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// dirSize is the total size of the files under dir.
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	return n, err
}

// ownCPUTime is the CPU time (user + system) this process has used.
func ownCPUTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

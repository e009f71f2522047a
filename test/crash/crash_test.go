// Package crash kills berthd with SIGKILL under concurrent write load and
// checks, after each restart, that every write berthd acknowledged is still
// there and that the store's invariants hold.
//
// Quick mode (10 kills) runs in `make test`; BERTH_CRASH_KILLS=200 (`make
// crash`) is the long version.
package crash

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

const adminToken = "berth_crash_test_admin_token_0123456789"

// berthd is one run of the binary.
type berthd struct {
	cmd  *exec.Cmd
	url  string
	done chan error
}

var listeningRe = regexp.MustCompile(`addr=(http://[0-9.:]+)`)

func buildBerthd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "berthd")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	cmd := exec.Command("go", "build", "-o", bin, "github.com/berthdev/terraform-provider-berth/cmd/berthd")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build berthd: %v\n%s", err, out)
	}
	return bin
}

func startBerthd(t *testing.T, bin, dir string) *berthd {
	t.Helper()
	cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--data-dir", dir, "--log-format", "text", "--runtime", "none")
	cmd.Env = append(os.Environ(), "BERTH_BOOTSTRAP_TOKEN="+adminToken)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &berthd{cmd: cmd, done: make(chan error, 1)}
	urlCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listeningRe.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urlCh <- m[1]:
				default:
				}
			}
		}
	}()
	go func() { b.done <- cmd.Wait() }()
	select {
	case b.url = <-urlCh:
	case err := <-b.done:
		t.Fatalf("berthd exited before listening: %v", err)
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("berthd did not start listening")
	}
	return b
}

func (b *berthd) kill(t *testing.T) {
	t.Helper()
	_ = b.cmd.Process.Signal(syscall.SIGKILL)
	<-b.done
}

// client is a minimal HTTP client with short timeouts: a killed server must
// not stall the workers.
var client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
	DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
	MaxIdleConnsPerHost: 64,
}}

// call returns the status, or 0 when no answer arrived (the server died).
func call(ctx context.Context, method, url, token string, body any, out any) (int, error) {
	return do(ctx, method, url, map[string]string{"Authorization": "Bearer " + token}, body, out)
}

// callKey calls a stack route with a project key.
func callKey(ctx context.Context, method, url, key string, body any, out any) (int, error) {
	return do(ctx, method, url, map[string]string{"X-API-Key": key}, body, out)
}

func do(ctx context.Context, method, url string, header map[string]string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s: %w", b, err)
		}
	}
	return resp.StatusCode, nil
}

// A workload issues one kind of write and later verifies the acknowledged
// ones. step returns the key of a write the server acknowledged, "" when
// the answer was lost (the write may or may not have happened), and an
// error when the server answered something it should not have.
type workload interface {
	name() string
	setup(ctx context.Context, url string) error
	step(ctx context.Context, url string, worker, seq int) (acked string, err error)
	verify(t *testing.T, url string, acked []string)
}

type ledger struct {
	mu    sync.Mutex
	acked map[string][]string
}

func (l *ledger) add(w, key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acked[w] = append(l.acked[w], key)
}

func TestCrashConsistency(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills berthd processes")
	}
	kills := 10
	if v := os.Getenv("BERTH_CRASH_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("BERTH_CRASH_KILLS=%q", v)
		}
		kills = n
	}
	bin := buildBerthd(t)
	dir := t.TempDir()
	workloads := allWorkloads()
	book := &ledger{acked: map[string][]string{}}
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d, %d kills", seed, kills)

	srv := startBerthd(t, bin, dir)
	for _, w := range workloads {
		if err := w.setup(context.Background(), srv.url); err != nil {
			srv.kill(t)
			t.Fatalf("%s setup: %v", w.name(), err)
		}
	}
	seq := 0
	for round := 0; round < kills; round++ {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		const workers = 4
		for _, w := range workloads {
			for i := range workers {
				wg.Add(1)
				start := seq
				go func() {
					defer wg.Done()
					for n := start; ctx.Err() == nil; n++ {
						key, err := w.step(ctx, srv.url, i, n)
						if err != nil && ctx.Err() == nil {
							select {
							case errs <- fmt.Errorf("%s: %w", w.name(), err):
							default:
							}
							return
						}
						if key != "" {
							book.add(w.name(), key)
						}
					}
				}()
			}
		}
		seq += 1_000_000
		time.Sleep(time.Duration(50+rng.IntN(400)) * time.Millisecond)
		srv.kill(t) // mid-write, with requests in flight
		cancel()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("round %d: %v", round, err)
		}

		srv = startBerthd(t, bin, dir)
		for _, w := range workloads {
			w.verify(t, srv.url, book.acked[w.name()])
		}
		if t.Failed() {
			break
		}
	}
	srv.kill(t)
	for _, w := range workloads {
		n := len(book.acked[w.name()])
		if n == 0 {
			t.Errorf("workload %s had no write acknowledged: the test proved nothing for it", w.name())
		}
		t.Logf("%s: %d acknowledged writes survived %d kills", w.name(), n, kills)
	}
}

package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentileIsNearestRank(t *testing.T) {
	var r result
	for i := 1; i <= 200; i++ {
		r.latency = append(r.latency, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 100 * time.Millisecond}, {99, 198 * time.Millisecond}, {100, 200 * time.Millisecond}, {0, time.Millisecond}} {
		if got := r.percentile(c.p); got != c.want {
			t.Errorf("p%v = %s, want %s", c.p, got, c.want)
		}
	}
	if got := (result{}).p99(); got != 0 {
		t.Errorf("p99 of nothing = %s, want 0", got)
	}
}

func TestClosedLoopCountsOnlyTheWindow(t *testing.T) {
	var calls atomic.Int64
	rs, err := closedLoop(context.Background(), 4, 2, 50*time.Millisecond, 200*time.Millisecond, func(w int) (int, error) {
		calls.Add(1)
		time.Sleep(5 * time.Millisecond)
		return w % 2, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	counted := rs[0].ops + rs[1].ops
	if counted == 0 || int64(counted) >= calls.Load() {
		t.Fatalf("%d operations counted of %d made: the warm-up must not count, the window must", counted, calls.Load())
	}
	if rs[0].ops == 0 || rs[1].ops == 0 {
		t.Fatalf("operations by class: %d and %d, want both", rs[0].ops, rs[1].ops)
	}
}

func TestClosedLoopStopsAtTheFirstError(t *testing.T) {
	boom := errors.New("boom")
	_, err := closedLoop(context.Background(), 4, 1, 0, time.Minute, func(int) (int, error) { return 0, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
}

func TestRequestsLoggedReadsBerthdAccessLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "berthd.log")
	log := `time=2026-01-01T00:00:00Z level=INFO msg="berthd listening" addr=http://127.0.0.1:1234
time=2026-01-01T00:00:01Z level=INFO msg=request method=POST path=/apps status=200 duration=19.5ms request_id=ab user=a@b.c
time=2026-01-01T00:00:01Z level=INFO msg=request method=GET path=/apps/x status=200 duration=500µs request_id=cd user=a@b.c
`
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	n, d, err := requestsLogged(path, 0)
	if err != nil || n != 2 || d != 20*time.Millisecond {
		t.Fatalf("requestsLogged = %d, %s, %v; want 2, 20ms", n, d, err)
	}
	if m := listeningRe.FindStringSubmatch(log); m == nil || m[1] != "http://127.0.0.1:1234" {
		t.Fatalf("listening address not found: %v", m)
	}
}

func TestCommas(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 100000: "100,000", -1234567: "-1,234,567"} {
		if got := commas(n); got != want {
			t.Errorf("commas(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestMedian(t *testing.T) {
	if got := median([]time.Duration{3, 1, 2}); got != 2 {
		t.Errorf("median = %d, want 2", got)
	}
	if got := median([]time.Duration{4, 1, 3, 2}); got != 2 {
		t.Errorf("median = %d, want 2 (2.5 truncated)", got)
	}
}

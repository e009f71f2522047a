package client

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// flaky answers each request with the next status of plan (then 200), and
// counts the attempts.
func flaky(t *testing.T, header http.Header, plan ...int) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i < len(plan) {
			for k, v := range header {
				w.Header()[k] = v
			}
			w.WriteHeader(plan[i])
			_, _ = w.Write([]byte(`{"code":"unavailable","message":"try later"}`))
			return
		}
		_, _ = w.Write([]byte(`{"name":"devs","users":["a@b.c"]}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func testClient(t *testing.T, url string) *Client {
	c, err := New(url, WithRetry(3, time.Millisecond, 20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRetriesIdempotentRequestsOnTransientStatuses(t *testing.T) {
	for _, st := range []int{502, 503, 504} {
		srv, n := flaky(t, nil, st, st)
		team, _, err := testClient(t, srv.URL).Teams.Get(context.Background(), "devs")
		if err != nil || team.Name != "devs" || n.Load() != 3 {
			t.Fatalf("status %d: team %+v, err %v, attempts %d", st, team, err, n.Load())
		}
	}
}

func TestDoesNotRetryPlainPosts(t *testing.T) {
	srv, n := flaky(t, nil, 503, 503)
	_, _, err := testClient(t, srv.URL).Teams.Create(context.Background(), "devs")
	if StatusCode(err) != 503 || n.Load() != 1 {
		t.Fatalf("POST retried: err %v, attempts %d", err, n.Load())
	}
}

func TestRetriesPostWithIdempotencyKey(t *testing.T) {
	var keys []string
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		if n.Add(1) < 3 {
			w.WriteHeader(503)
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	c := testClient(t, srv.URL)
	_, err := c.do(context.Background(), request{method: http.MethodPost, path: "/x", idempotencyKey: "k-1"}, nil)
	if err != nil || n.Load() != 3 || keys[0] != "k-1" || keys[2] != "k-1" {
		t.Fatalf("err %v attempts %d keys %v", err, n.Load(), keys)
	}
}

func TestDoesNotRetryClientErrors(t *testing.T) {
	for _, st := range []int{400, 401, 404, 409, 500} {
		srv, n := flaky(t, nil, st)
		_, _, err := testClient(t, srv.URL).Teams.Get(context.Background(), "devs")
		if StatusCode(err) != st || n.Load() != 1 {
			t.Fatalf("status %d: err %v attempts %d", st, err, n.Load())
		}
	}
}

func TestHonoursRetryAfter(t *testing.T) {
	srv, n := flaky(t, http.Header{"Retry-After": {"1"}}, 429)
	c, _ := New(srv.URL, WithRetry(2, time.Millisecond, 5*time.Second))
	start := time.Now()
	if _, _, err := c.Teams.Get(context.Background(), "devs"); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 900*time.Millisecond || n.Load() != 2 {
		t.Fatalf("waited %s over %d attempts; Retry-After asked for 1s", waited, n.Load())
	}
}

func TestGivesUpAfterMaxRetries(t *testing.T) {
	srv, n := flaky(t, nil, 503, 503, 503, 503, 503, 503)
	_, _, err := testClient(t, srv.URL).Teams.Get(context.Background(), "devs")
	if StatusCode(err) != 503 || n.Load() != 4 {
		t.Fatalf("err %v attempts %d (want 1 + 3 retries)", err, n.Load())
	}
}

// resetOnce closes the first connection without answering, as a crashing
// proxy would, then serves normally.
func resetOnce(t *testing.T) (string, *atomic.Int32) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	ok := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		_, _ = w.Write([]byte(`{"name":"devs"}`))
	})}
	var first atomic.Bool
	first.Store(true)
	conns := make(chan net.Conn)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(conns)
				return
			}
			if first.CompareAndSwap(true, false) {
				n.Add(1)
				buf := make([]byte, 1024)
				_, _ = c.Read(buf)
				if tc, ok := c.(*net.TCPConn); ok {
					_ = tc.SetLinger(0) // RST instead of FIN
				}
				c.Close()
				continue
			}
			conns <- c
		}
	}()
	go func() { _ = ok.Serve(&chanListener{conns: conns, addr: ln.Addr()}) }()
	t.Cleanup(func() { ln.Close(); ok.Close() })
	return "http://" + ln.Addr().String(), &n
}

type chanListener struct {
	conns chan net.Conn
	addr  net.Addr
}

func (l *chanListener) Accept() (net.Conn, error) {
	c, ok := <-l.conns
	if !ok {
		return nil, net.ErrClosed
	}
	return c, nil
}
func (l *chanListener) Close() error   { return nil }
func (l *chanListener) Addr() net.Addr { return l.addr }

func TestRetriesConnectionResetForGet(t *testing.T) {
	url, n := resetOnce(t)
	team, _, err := testClient(t, url).Teams.Get(context.Background(), "devs")
	if err != nil || team.Name != "devs" || n.Load() != 2 {
		t.Fatalf("team %+v err %v attempts %d", team, err, n.Load())
	}
}

func TestDoesNotRetryConnectionResetForPost(t *testing.T) {
	url, n := resetOnce(t)
	_, _, err := testClient(t, url).Teams.Create(context.Background(), "devs")
	if err == nil || n.Load() != 1 {
		t.Fatalf("err %v attempts %d", err, n.Load())
	}
}

func TestContextCancelStopsRetrying(t *testing.T) {
	srv, n := flaky(t, http.Header{"Retry-After": {"30"}}, 503, 503, 503)
	c, _ := New(srv.URL, WithRetry(3, time.Millisecond, time.Minute))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := c.Teams.Get(ctx, "devs")
	if err == nil || time.Since(start) > 5*time.Second || n.Load() != 1 {
		t.Fatalf("err %v after %s, %d attempts", err, time.Since(start), n.Load())
	}
}

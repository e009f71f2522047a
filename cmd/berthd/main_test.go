package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFlagsFromEnvironment(t *testing.T) {
	env := map[string]string{"BERTH_LISTEN": "127.0.0.1:9999", "BERTH_DATA_DIR": "/tmp/x", "BERTH_IN_MEMORY": "true", "BERTH_LOG_FORMAT": "json"}
	o, err := parseFlags([]string{"--data-dir", "/flag/wins"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if o.listen != "127.0.0.1:9999" || o.dataDir != "/flag/wins" || !o.inMemory || o.logFormat != "json" {
		t.Fatalf("options: %+v", o)
	}
	if _, err := parseFlags(nil, func(k string) string { return map[string]string{"BERTH_IN_MEMORY": "maybe"}[k] }); err == nil {
		t.Fatal("bad boolean in environment accepted")
	}
	if _, err := parseFlags([]string{"--log-format", "xml"}, func(string) string { return "" }); err == nil {
		t.Fatal("bad log format accepted")
	}
}

// TestTrustedProxies: --trusted-proxies (or BERTH_TRUSTED_PROXIES) takes
// addresses and CIDR ranges; with it, the login limits count the client a
// trusted proxy names in X-Forwarded-For, without it the TCP peer.
func TestTrustedProxies(t *testing.T) {
	o, err := parseFlags(nil, func(k string) string {
		return map[string]string{"BERTH_TRUSTED_PROXIES": "10.1.2.3/8, 192.168.1.7,::1"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(o.trustedProxies); got != "[10.0.0.0/8 192.168.1.7/32 ::1/128]" {
		t.Fatalf("trusted proxies: %s", got)
	}
	if o, _ := parseFlags(nil, func(string) string { return "" }); len(o.trustedProxies) != 0 {
		t.Fatalf("trusted proxies by default: %v", o.trustedProxies)
	}

	// 33 attempts, each as another forwarded client: counted by the peer
	// (127.0.0.1) they run past its 30; counted by the forwarded client,
	// none is refused.
	refused := func(addr string) int {
		n := 0
		for i := range 33 {
			req, _ := http.NewRequest("POST", fmt.Sprintf("http://%s/users/nobody-%d@example.com/tokens", addr, i), strings.NewReader(`{"password":"x"}`))
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusTooManyRequests {
				n++
			}
		}
		return n
	}
	for _, c := range []struct {
		args    []string
		refused bool
		what    string
	}{
		{[]string{"--trusted-proxies", "127.0.0.1"}, false, "with 127.0.0.1 trusted, each forwarded client has its own budget"},
		{nil, true, "without trusted proxies, X-Forwarded-For is ignored"},
	} {
		addr, _, stop := startBerthd(t, t.TempDir(), nil, append([]string{"--in-memory"}, c.args...)...)
		if n := refused(addr); (n > 0) != c.refused {
			t.Errorf("%s: %d of 33 attempts refused", c.what, n)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	}
}

// syncBuffer is a bytes.Buffer safe to read while berthd writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startBerthd runs berthd in-process until the returned stop is called;
// args are added to its command line.
func startBerthd(t *testing.T, dir string, env map[string]string, args ...string) (addr string, stdout *syncBuffer, stop func() error) {
	t.Helper()
	addr, stdout, _, stop = startBerthdLogs(t, dir, env, args...)
	return addr, stdout, stop
}

// startBerthdLogs is startBerthd that also keeps what berthd logs.
func startBerthdLogs(t *testing.T, dir string, env map[string]string, args ...string) (addr string, stdout, stderr *syncBuffer, stop func() error) {
	t.Helper()
	addr = freeAddr(t)
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	sigs := make(chan os.Signal, 2)
	done := make(chan error, 1)
	go func() {
		done <- run(sigs, append([]string{"--listen", addr, "--data-dir", dir}, args...), stdout, stderr, func(k string) string { return env[k] })
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-done:
			t.Fatalf("berthd exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("berthd did not become ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() { sigs <- os.Interrupt; stopErr = <-done })
		return stopErr
	}
	t.Cleanup(func() { _ = stop() })
	return addr, stdout, stderr, stop
}

func get(t *testing.T, url, token string) int {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestFirstStartPrintsAdminTokenOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	addr, out, stop := startBerthd(t, dir, nil)
	tokenFile := filepath.Join(dir, "admin-token")
	b, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" || !strings.Contains(out.String(), token) {
		t.Fatalf("token %q not printed; stdout: %s", token, out)
	}
	if fi, _ := os.Stat(tokenFile); fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin-token mode %v, want 0600", fi.Mode().Perm())
	}
	if st := get(t, "http://"+addr+"/users/info", token); st != 200 {
		t.Fatalf("admin token refused: %d", st)
	}
	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	addr, out, stop = startBerthd(t, dir, nil)
	defer stop()
	if strings.Contains(out.String(), token) {
		t.Fatalf("second start printed the token again: %s", out)
	}
	b2, _ := os.ReadFile(tokenFile)
	if string(b2) != string(b) {
		t.Fatal("second start changed the admin-token file")
	}
	if st := get(t, "http://"+addr+"/users/info", token); st != 200 {
		t.Fatalf("admin token refused after restart: %d", st)
	}
}

func TestBootstrapTokenFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	const token = "ci-known-token-0123456789abcdefghij"
	addr, out, stop := startBerthd(t, dir, map[string]string{"BERTH_BOOTSTRAP_TOKEN": token})
	defer stop()
	if strings.Contains(out.String(), token) {
		t.Fatalf("a token given by the environment was printed: %s", out)
	}
	if st := get(t, "http://"+addr+"/users/info", token); st != 200 {
		t.Fatalf("bootstrap token refused: %d", st)
	}
}

func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	dir := t.TempDir()
	const token = "ci-known-token-0123456789abcdefghij"
	addr, _, stop := startBerthd(t, dir, map[string]string{"BERTH_BOOTSTRAP_TOKEN": token})

	// A slow request: its body arrives in two parts, and shutdown starts in
	// between. It must still be answered.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"name":"slow-team"}`
	fmt.Fprintf(conn, "POST /teams HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s", token, len(body), body[:5])
	time.Sleep(100 * time.Millisecond)
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	time.Sleep(100 * time.Millisecond)
	if _, err := io.WriteString(conn, body[5:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request lost: %v", err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("in-flight request: %d", resp.StatusCode)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	// The team was written and the store closed cleanly: it is there after
	// a restart.
	addr, _, stop = startBerthd(t, dir, nil)
	defer stop()
	if st := get(t, "http://"+addr+"/teams/slow-team", token); st != 200 {
		t.Fatalf("team created during shutdown: %d", st)
	}
}

func TestPprofOnlyOnLoopback(t *testing.T) {
	noenv := func(string) string { return "" }
	for _, bad := range []string{"0.0.0.0:6060", ":6060", "10.0.0.1:6060", "example.com:6060"} {
		if _, err := parseFlags([]string{"--pprof", bad}, noenv); err == nil {
			t.Errorf("--pprof %s accepted", bad)
		}
	}
	for _, ok := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:6060"} {
		if _, err := parseFlags([]string{"--pprof", ok}, noenv); err != nil {
			t.Errorf("--pprof %s refused: %v", ok, err)
		}
	}
}

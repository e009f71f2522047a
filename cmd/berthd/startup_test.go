package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets a test run the real berthd: the test binary started with
// BERTHD_TEST_MAIN=1 is berthd (main, os.Exit and signals included).
func TestMain(m *testing.M) {
	if os.Getenv("BERTHD_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// berthdCommand is the real berthd process with args.
func berthdCommand(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "BERTHD_TEST_MAIN=1"), env...)
	return cmd
}

// runBerthd runs the in-process berthd with args to its end (for command
// lines that stop at once) and returns its exit status and output.
func runBerthd(t *testing.T, env map[string]string, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	status = berthd(args, make(chan os.Signal), &out, &errOut, func(k string) string { return env[k] })
	return status, out.String(), errOut.String()
}

// Before this order was fixed, a first start on a busy port created the
// admin, printed its token "once" and then failed to listen: the token was
// never shown again.
func TestBusyPortTouchesNoData(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := filepath.Join(t.TempDir(), "data")
	for _, args := range [][]string{{"--data-dir", dir}, {"--in-memory"}} {
		status, out, errOut := runBerthd(t, nil, append([]string{"--listen", busy.Addr().String()}, args...)...)
		if status != 1 || !strings.Contains(errOut, "address already in use") || !strings.Contains(errOut, "--listen") {
			t.Fatalf("%v on a busy port: status %d, stderr %q", args, status, errOut)
		}
		if out != "" {
			t.Fatalf("%v on a busy port printed %q", args, out)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the data dir was created by a start that could not listen (stat: %v)", err)
	}
	// The next start is the first one: it shows the token.
	_, out, stop := startBerthd(t, dir, nil)
	defer stop()
	if !strings.Contains(out.String(), "first start") {
		t.Fatalf("start after the busy port is not a first start: %s", out)
	}
}

func TestAdminTokenLocationAtEveryStart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	tokenFile := filepath.Join(dir, "admin-token")
	where := "berthd: the admin token is kept in " + tokenFile + " (readable by its owner only)\n"

	_, out, stop := startBerthd(t, dir, nil)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(b))
	first := out.String()
	if strings.Count(first, token) != 1 || strings.Count(first, where) != 1 || strings.Contains(first, "shown once") {
		t.Fatalf("first start: want the token once and where it is kept once; got:\n%s", first)
	}
	if strings.Index(first, token) > strings.Index(first, where) {
		t.Fatalf("first start: the location comes before the token:\n%s", first)
	}

	for i := 0; i < 2; i++ {
		_, out, stop = startBerthd(t, dir, nil)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if got := out.String(); got != where {
			t.Fatalf("later start: want exactly %q on stdout, got %q", where, got)
		}
	}

	// Without the file (an operator removed it), a later start says nothing
	// about it rather than pointing at a file that is not there.
	if err := os.Remove(tokenFile); err != nil {
		t.Fatal(err)
	}
	_, out, stop = startBerthd(t, dir, nil)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "" {
		t.Fatalf("start without a token file printed %q", got)
	}
}

func TestAdminTokenInMemoryAndFromEnvironment(t *testing.T) {
	_, out, stop := startBerthd(t, t.TempDir(), nil, "--in-memory")
	defer stop()
	got := out.String()
	if !strings.Contains(got, "first start") || !strings.Contains(got, "kept nowhere else (--in-memory)") || strings.Contains(got, "kept in") {
		t.Fatalf("in-memory first start: %q", got)
	}

	dir := t.TempDir()
	const token = "ci-known-token-0123456789abcdefghij"
	_, out, stop2 := startBerthd(t, dir, map[string]string{"BERTH_BOOTSTRAP_TOKEN": token})
	defer stop2()
	got = out.String()
	if strings.Contains(got, token) || !strings.Contains(got, "value of BERTH_BOOTSTRAP_TOKEN") || !strings.Contains(got, "kept in "+filepath.Join(dir, "admin-token")) {
		t.Fatalf("first start with BERTH_BOOTSTRAP_TOKEN: %q", got)
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "-help"} {
		status, out, errOut := runBerthd(t, nil, arg)
		if status != 0 || errOut != "" || !strings.HasPrefix(out, "Usage:") {
			t.Fatalf("%s: status %d, stdout %q, stderr %q", arg, status, out, errOut)
		}
		for _, want := range []string{"--stack-lease-ttl DURATION", "BERTH_STACK_LEASE_TTL", "(default 6h)", "--in-memory", "BERTH_BOOTSTRAP_TOKEN", "--version", "healthcheck", "a second signal stops at once"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: help lacks %q:\n%s", arg, want, out)
			}
		}
	}
	status, out, errOut := runBerthd(t, nil, "--version")
	if status != 0 || errOut != "" || !regexp.MustCompile(`^berthd dev \(.*go1\.\d+.*, [a-z0-9]+/[a-z0-9]+\)\n$`).MatchString(out) {
		t.Fatalf("--version: status %d, stdout %q, stderr %q", status, out, errOut)
	}

	// The real process: help on stdout, exit status 0.
	cmd := berthdCommand(t, nil, "--help")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() != 0 || !strings.HasPrefix(stdout.String(), "Usage:") {
		t.Fatalf("berthd --help: %v, stdout %q, stderr %q", err, stdout.String(), stderr.String())
	}
}

func TestBadCommandLinesSayWhatIsExpected(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{args: []string{"--nosuch"}, want: "berthd: unknown flag --nosuch\n"},
		{args: []string{"--stack-lease-ttl", "5"}, want: `berthd: invalid value "5" for --stack-lease-ttl: expected a duration such as 6h, 30m or 90s`},
		{args: []string{"--in-memory=yes"}, want: `berthd: invalid boolean value "yes" for --in-memory: expected true or false`},
		{args: []string{"--default-quota", "ten"}, want: `berthd: invalid value "ten" for --default-quota: expected a whole number`},
		{args: []string{"--listen"}, want: "berthd: flag needs an argument: --listen\n"},
		{env: map[string]string{"BERTH_IN_MEMORY": "yes"}, want: `berthd: invalid BERTH_IN_MEMORY="yes": expected true or false`},
		{env: map[string]string{"BERTH_SHUTDOWN_TIMEOUT": "30"}, want: `berthd: invalid BERTH_SHUTDOWN_TIMEOUT="30": expected a duration such as 6h`},
		{args: []string{"--log-level", "loud"}, want: `berthd: invalid --log-level "loud": expected debug, info, warn or error`},
		{args: []string{"serve"}, want: `berthd: unexpected argument "serve"`},
		{args: []string{"--trusted-proxies", "10.0.0.0/8,proxy.local"}, want: `berthd: invalid value "10.0.0.0/8,proxy.local" for --trusted-proxies: "proxy.local" is neither an address nor a CIDR range`},
		{env: map[string]string{"BERTH_BOOTSTRAP_TOKEN": "x"}, want: "berthd: invalid BERTH_BOOTSTRAP_TOKEN: the bootstrap token has 1 characters: it must have 32 to 512"},
		{env: map[string]string{"BERTH_BOOTSTRAP_TOKEN": "ci-known-token-1234567890"}, want: "berthd: invalid BERTH_BOOTSTRAP_TOKEN: the bootstrap token has 25 characters"},
	} {
		status, out, errOut := runBerthd(t, c.env, c.args...)
		if status != 2 || out != "" || !strings.Contains(errOut, c.want) || strings.Contains(errOut, "parse error") {
			t.Errorf("%v %v: status %d, stdout %q, stderr %q; want status 2 and %q", c.args, c.env, status, out, errOut, c.want)
		}
		if n := strings.Count(errOut, "berthd:"); n != 1 || !strings.HasSuffix(errOut, "Run 'berthd --help' for the flags.\n") {
			t.Errorf("%v %v: the error is printed %d times, or without the hint: %q", c.args, c.env, n, errOut)
		}
	}

	// The real process prints an unknown flag's error once, and no usage.
	cmd := berthdCommand(t, nil, "--nosuch")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("berthd --nosuch: %v", err)
	}
	if got := stderr.String(); got != "berthd: unknown flag --nosuch\nRun 'berthd --help' for the flags.\n" || stdout.Len() != 0 {
		t.Fatalf("berthd --nosuch: stdout %q, stderr %q", stdout.String(), got)
	}
}

func TestListenAddressAsGiven(t *testing.T) {
	for _, c := range []struct{ flag, actual, want string }{
		{"0.0.0.0:18092", "[::]:18092", "0.0.0.0:18092"},
		{":8080", "[::]:8080", "0.0.0.0:8080"},
		{"127.0.0.1:0", "127.0.0.1:41234", "127.0.0.1:41234"},
		{"[::1]:0", "[::1]:41234", "[::1]:41234"},
		{"localhost:8080", "127.0.0.1:8080", "localhost:8080"},
	} {
		addr, err := net.ResolveTCPAddr("tcp", c.actual)
		if err != nil {
			t.Fatal(err)
		}
		if got := listenAddr(c.flag, addr); got != c.want {
			t.Errorf("--listen %s bound %s: logged %s, want %s", c.flag, c.actual, got, c.want)
		}
	}

	// berthd itself, on every interface.
	_, _, logs, stop := startBerthdLogsAt(t, "0.0.0.0:0", "--in-memory")
	defer stop()
	if !regexp.MustCompile(`msg="berthd listening" addr=http://0\.0\.0\.0:\d+ `).MatchString(logs.String()) || strings.Contains(logs.String(), "[::]") {
		t.Fatalf("listening log: %s", logs)
	}
}

// startBerthdLogsAt is startBerthdLogs on a listen address of the test's
// choice (port 0: berthd's log says which port it got).
func startBerthdLogsAt(t *testing.T, listen string, args ...string) (addr string, stdout, stderr *syncBuffer, stop func() error) {
	t.Helper()
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	sigs := make(chan os.Signal, 2)
	done := make(chan error, 1)
	go func() {
		done <- run(sigs, append([]string{"--listen", listen}, args...), stdout, stderr, func(string) string { return "" })
	}()
	port := regexp.MustCompile(`addr=http://\S+:(\d+) `)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := port.FindStringSubmatch(stderr.String()); m != nil {
			addr = "127.0.0.1:" + m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("berthd exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("berthd did not log its address: %s", stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop = func() error { sigs <- os.Interrupt; return <-done }
	return addr, stdout, stderr, stop
}

// A second SIGINT during the graceful shutdown stops berthd at once instead
// of waiting for the in-flight requests (up to --shutdown-timeout).
func TestSecondSignalStopsAtOnce(t *testing.T) {
	addr := freeAddr(t)
	cmd := berthdCommand(t, nil, "--listen", addr, "--in-memory", "--shutdown-timeout", "1m")
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &syncBuffer{}, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	waitFor(t, "berthd listening", func() bool { return strings.Contains(logs.String(), "berthd listening") })

	// A request in flight: its body never arrives, so a graceful shutdown
	// waits for it.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /users HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
	time.Sleep(100 * time.Millisecond)

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the shutdown message", func() bool { return strings.Contains(logs.String(), "signal again to stop at once") })
	select {
	case err := <-exited:
		t.Fatalf("berthd did not wait for the request in flight: %v\n%s", err, logs.String())
	case <-time.After(500 * time.Millisecond):
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("after a second signal: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("berthd still runs 5s after a second signal:\n%s", logs.String())
	}
	t.Logf("stopped %v after the second signal", time.Since(start).Round(time.Millisecond))
	if got := logs.String(); !strings.Contains(got, "second signal: stopping at once") || !strings.Contains(got, "berthd: stopped at once by a second signal") {
		t.Fatalf("logs: %s", got)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHealthcheck(t *testing.T) {
	addr, _, stop := startBerthd(t, t.TempDir(), nil, "--in-memory")
	defer stop()
	status, out, errOut := runBerthd(t, map[string]string{"BERTH_LISTEN": addr}, "healthcheck")
	if status != 0 || !strings.Contains(out, "healthy: GET http://"+addr+"/healthz answered 200 OK") {
		t.Fatalf("healthcheck of a running berthd: %d %q %q", status, out, errOut)
	}
	status, _, errOut = runBerthd(t, nil, "healthcheck", "--url", "http://"+addr+"/nosuch")
	if status != 1 || !strings.Contains(errOut, "404") {
		t.Fatalf("healthcheck of a 404: %d %q", status, errOut)
	}
	gone := freeAddr(t)
	status, _, errOut = runBerthd(t, map[string]string{"BERTH_LISTEN": gone}, "healthcheck", "--timeout", "2s")
	if status != 1 || !strings.Contains(errOut, "unhealthy") {
		t.Fatalf("healthcheck of nothing: %d %q", status, errOut)
	}
	if got := localAddr("0.0.0.0:8080"); got != "127.0.0.1:8080" {
		t.Fatalf("localAddr(0.0.0.0:8080) = %s", got)
	}
	if got := localAddr(":8080"); got != "127.0.0.1:8080" {
		t.Fatalf("localAddr(:8080) = %s", got)
	}
}

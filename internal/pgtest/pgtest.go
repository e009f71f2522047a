// Package pgtest gives tests a throwaway PostgreSQL server and a fresh
// database per test.
//
// When BERTH_TEST_DATABASE_URL is set, URL creates the test's databases on
// that server. Otherwise the package starts its own server, once per test
// binary: it finds PostgreSQL's binaries (PATH, then the newest
// /usr/lib/postgresql/*/bin), initdbs a temporary directory and starts the
// server on a free loopback port, with fsync on. Server starts a private
// server that a test may stop and start again (crash tests).
//
// Call Main from TestMain so that the servers are stopped cleanly when the
// tests end. Should the test binary die before (a panic, a timeout, a
// SIGKILL), a watchdog process started with each server stops it and
// removes its directory.
//
// Without PostgreSQL the tests fail, never skip: install it (apt-get
// install postgresql on Debian) or set BERTH_TEST_DATABASE_URL.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// EnvURL names the variable that points the tests at an existing server.
// Its user must be allowed to create databases.
const EnvURL = "BERTH_TEST_DATABASE_URL"

const installHint = "install PostgreSQL (on Debian: apt-get install postgresql) or set " + EnvURL +
	" to the URL of a server whose user may create databases"

// Mode is how Stop shuts a server down (pg_ctl stop -m).
type Mode string

const (
	// Fast disconnects the clients and shuts down cleanly.
	Fast Mode = "fast"
	// Immediate kills every server process without a checkpoint: on the
	// next start the server recovers from its WAL, as after a crash.
	Immediate Mode = "immediate"
)

var (
	sharedOnce sync.Once
	shared     *Cluster
	sharedErr  error

	mu       sync.Mutex
	clusters []*Cluster
)

// Main runs the tests and then stops the servers the package started. Use
// it in TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	mu.Lock()
	cs := clusters
	clusters = nil
	mu.Unlock()
	for _, c := range cs {
		if err := c.remove(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// URL creates a fresh, empty database for t, dropped when t ends, and
// returns its URL: on BERTH_TEST_DATABASE_URL's server, or on the server
// this test binary shares among its tests.
func URL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvURL)
	if admin == "" {
		sharedOnce.Do(func() { shared, sharedErr = start() })
		if sharedErr != nil {
			t.Fatalf("pgtest: %v", sharedErr)
		}
		admin = shared.AdminURL()
	}
	return createDB(t, admin)
}

// Server starts a private server for t, stopped and removed when t ends.
// It is for tests that stop and start the server; it needs PostgreSQL's
// binaries even when BERTH_TEST_DATABASE_URL is set.
func Server(t testing.TB) *Cluster {
	t.Helper()
	c, err := start()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := c.remove(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return c
}

// Pgbench returns the path of pgbench, beside the server's binaries.
func Pgbench(t testing.TB) string {
	t.Helper()
	bin, err := findBin()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	p := filepath.Join(bin, "pgbench")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("pgtest: no pgbench beside the server's binaries in %s: %s", bin, installHint)
	}
	return p
}

// Cluster is a PostgreSQL server this package started: a data directory
// and a port.
type Cluster struct {
	bin, root, data, logFile string
	port                     int
	cred                     *syscall.Credential

	mu       sync.Mutex
	running  bool
	removed  bool
	watchdog *os.File // its other end is the watchdog's stdin
}

// Port is the server's TCP port on 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// AdminURL is the URL of the server's postgres database as its superuser.
func (c *Cluster) AdminURL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// URL creates a fresh database on this server for t, dropped when t ends.
func (c *Cluster) URL(t testing.TB) string {
	t.Helper()
	return createDB(t, c.AdminURL())
}

// Stop stops the server (pg_ctl stop -m mode) and waits until it is down.
func (c *Cluster) Stop(mode Mode) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return errors.New("stop: the server is not running")
	}
	if err := c.pgctl("stop", "-D", c.data, "-m", string(mode), "-w", "-t", "60"); err != nil {
		return fmt.Errorf("stop -m %s: %w", mode, err)
	}
	c.running = false
	return nil
}

// Start starts the server again on the same directory and port.
func (c *Cluster) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return errors.New("start: the server is running")
	}
	if err := c.pgctl("start", "-D", c.data, "-w", "-t", "120", "-l", c.logFile); err != nil {
		return fmt.Errorf("start: %w%s", err, c.logTail())
	}
	c.running = true
	return nil
}

func (c *Cluster) pgctl(args ...string) error {
	cmd := exec.Command(filepath.Join(c.bin, "pg_ctl"), args...)
	cmd.Dir = c.root
	cmd.Env = pgEnv()
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %s: %w: %s", args[0], err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (c *Cluster) logTail() string {
	b, err := os.ReadFile(c.logFile)
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "\nserver log:\n" + string(b)
}

// remove stops the server if it runs and deletes its directory.
func (c *Cluster) remove() error {
	c.mu.Lock()
	if c.removed {
		c.mu.Unlock()
		return nil
	}
	c.removed = true
	running := c.running
	c.mu.Unlock()
	var err error
	if running {
		if err = c.pgctl("stop", "-D", c.data, "-m", "fast", "-w", "-t", "60"); err != nil {
			err = c.pgctl("stop", "-D", c.data, "-m", "immediate", "-w", "-t", "60")
		}
	}
	if rmErr := os.RemoveAll(c.root); err == nil {
		err = rmErr
	}
	// The watchdog finds nothing left to do and exits.
	_ = c.watchdog.Close()
	mu.Lock()
	for i, x := range clusters {
		if x == c {
			clusters = append(clusters[:i], clusters[i+1:]...)
			break
		}
	}
	mu.Unlock()
	return err
}

// start initdbs a temporary directory and starts a server on it.
func start() (*Cluster, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin}
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		if c.cred, err = postgresUser(); err != nil {
			return nil, err
		}
	}
	if c.root, err = os.MkdirTemp("", "berth-pgtest-"); err != nil {
		return nil, err
	}
	if c.cred != nil {
		if err := os.Chown(c.root, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			_ = os.RemoveAll(c.root)
			return nil, err
		}
	}
	c.data = filepath.Join(c.root, "data")
	c.logFile = filepath.Join(c.root, "server.log")
	if err := c.startWatchdog(); err != nil {
		_ = os.RemoveAll(c.root)
		return nil, err
	}
	mu.Lock()
	clusters = append(clusters, c)
	mu.Unlock()
	fail := func(err error) (*Cluster, error) {
		_ = c.remove()
		return nil, err
	}

	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", c.data, "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C",
		// Only initdb's own writes skip fsync; the server runs with fsync on.
		"--no-sync")
	initdb.Dir = c.root
	initdb.Env = pgEnv()
	if c.cred != nil {
		initdb.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("initdb: %w: %s", err, strings.TrimSpace(string(out))))
	}

	// Another process may take the free port before the server does: try a
	// few.
	for attempt := 0; ; attempt++ {
		if c.port, err = freePort(); err != nil {
			return fail(err)
		}
		conf := fmt.Sprintf("\n# pgtest\nport = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n"+
			"fsync = on\nsynchronous_commit = on\nmax_connections = 200\nshared_buffers = 32MB\n"+
			"max_wal_size = 256MB\nlogging_collector = off\nlog_min_messages = warning\n",
			c.port, c.root)
		if err := os.WriteFile(filepath.Join(c.data, "postgresql.auto.conf"), []byte(conf), 0o600); err != nil {
			return fail(err)
		}
		if c.cred != nil {
			if err := os.Chown(filepath.Join(c.data, "postgresql.auto.conf"), int(c.cred.Uid), int(c.cred.Gid)); err != nil {
				return fail(err)
			}
		}
		err = c.Start()
		if err == nil {
			return c, nil
		}
		if attempt == 2 {
			return fail(err)
		}
	}
}

// startWatchdog starts a shell that waits for its stdin to close, which
// happens when this process exits however it does, then stops the server
// and removes its directory. It runs in its own process group so that an
// interrupt of the test run does not kill it first.
func (c *Cluster) startWatchdog() error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	script := `read -r _; "$0" stop -D "$1" -m immediate -w -t 60 >/dev/null 2>&1; rm -rf -- "$2"`
	cmd := exec.Command("/bin/sh", "-c", script, filepath.Join(c.bin, "pg_ctl"), c.data, c.root)
	cmd.Stdin = r
	cmd.Dir = "/"
	cmd.Env = pgEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.cred}
	if err := cmd.Start(); err != nil {
		_ = w.Close()
		return fmt.Errorf("start the watchdog: %w", err)
	}
	// Reap it when it exits, so it never lingers as a zombie.
	go func() { _ = cmd.Wait() }()
	c.watchdog = w
	return nil
}

func pgEnv() []string {
	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C"}
	if tz := os.Getenv("TZ"); tz != "" {
		env = append(env, "TZ="+tz)
	}
	return env
}

func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and PostgreSQL refuses to: no postgres user to run it as (%v); %s", err, installHint)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("the postgres user has a non-numeric uid or gid")
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// findBin returns the directory of initdb, pg_ctl and postgres: PATH
// first, then the newest /usr/lib/postgresql/N/bin.
func findBin() (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if p, err = filepath.EvalSymlinks(p); err == nil && has(filepath.Dir(p)) {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(d string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(d)), 64)
		return v
	}
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH or in /usr/lib/postgresql/*/bin: %s", installHint)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var notIdent = regexp.MustCompile(`[^a-z0-9_]+`)

// createDB creates a database named after t on the server of admin and
// drops it when t ends.
func createDB(t testing.TB, admin string) string {
	t.Helper()
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("pgtest: %s must be a postgres:// URL", EnvURL)
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	name := notIdent.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	name = "t_" + strings.Trim(name, "_") + "_" + hex.EncodeToString(rnd[:])
	if err := adminExec(admin, `CREATE DATABASE "`+name+`"`); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := adminExec(admin, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

func adminExec(admin, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgconn.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql).ReadAll()
	return err
}

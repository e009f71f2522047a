package pgtest

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestMain(m *testing.M) {
	if os.Getenv(envChild) != "" {
		crashingChild()
	}
	os.Exit(Main(m))
}

func query(t *testing.T, url, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	res, err := conn.Exec(ctx, sql).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	last := res[len(res)-1]
	if len(last.Rows) == 0 {
		return ""
	}
	return string(last.Rows[0][0])
}

func TestFreshDatabases(t *testing.T) {
	a, b := URL(t), URL(t)
	if a == b {
		t.Fatal("two databases with one URL")
	}
	query(t, a, "CREATE TABLE x (i int)")
	if n := query(t, b, "SELECT count(*) FROM pg_tables WHERE tablename = 'x'"); n != "0" {
		t.Fatal("a table of one test database shows in another")
	}
	if os.Getenv(EnvURL) == "" {
		if v := query(t, a, "SHOW fsync"); v != "on" {
			t.Fatalf("fsync = %s, want on", v)
		}
	}
}

func TestServerStopStart(t *testing.T) {
	c := Server(t)
	url := c.URL(t)
	query(t, url, "CREATE TABLE x (i int); INSERT INTO x VALUES (42)")
	if err := c.Stop(Immediate); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if conn, err := pgconn.Connect(ctx, url); err == nil {
		conn.Close(ctx)
		t.Fatal("connected to a stopped server")
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if v := query(t, url, "SELECT i FROM x"); v != "42" {
		t.Fatalf("after a restart: %s", v)
	}
	if _, err := os.Stat(Pgbench(t)); err != nil {
		t.Fatal(err)
	}
}

const envChild = "BERTH_PGTEST_CRASHING_CHILD"

// crashingChild starts a server, says where it lives, and dies by SIGKILL,
// leaving its cleanup to the watchdog.
func crashingChild() {
	c, err := start()
	if err != nil {
		println("child:", err.Error())
		os.Exit(2)
	}
	pid, _ := os.ReadFile(filepath.Join(c.data, "postmaster.pid"))
	println("root", c.root)
	println("pid", strings.SplitN(string(pid), "\n", 2)[0])
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

// TestWatchdog: a test binary that dies without cleaning up leaves no
// server and no directory behind.
func TestWatchdog(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var root string
	pid := 0
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "root" {
			root = f[1]
		}
		if len(f) == 2 && f[0] == "pid" {
			pid, _ = strconv.Atoi(f[1])
		}
		t.Log(sc.Text())
	}
	_ = cmd.Wait()
	if root == "" || pid == 0 {
		t.Fatal("the child did not start a server")
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, statErr := os.Stat(root)
		alive := syscall.Kill(pid, 0) == nil
		if os.IsNotExist(statErr) && !alive {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("60s after the child died: directory exists=%v, postmaster alive=%v", statErr == nil, alive)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

package runtime_test

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/berthdev/terraform-provider-berth/controlplane/runtime"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
	"github.com/berthdev/terraform-provider-berth/internal/testimage"
)

// TestAKilledUnitComesBack: SIGKILL of a unit's container; the runtime
// reports it, the reconciler starts it again, and it answers within 10s.
func TestAKilledUnitComesBack(t *testing.T) {
	img := testimage.Build(t, "v1")
	srv := start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	tok := ana.Token
	srv.Req(t, "POST", "/apps", tok, map[string]string{"name": "phoenix", "platform": "go"}).Expect2xx(t)
	srv.Req(t, "POST", "/apps/phoenix/deploy", tok, map[string]string{"image": img}).Expect2xx(t)
	units := waitUnits(t, srv, tok, "phoenix", "one unit", allStarted(1, 1))
	before := units[0].StartedAt

	cli := testimage.Docker(t)
	res, err := cli.ContainerList(ctx, client.ContainerListOptions{Filters: make(client.Filters).Add("label", runtime.LabelApp+"=phoenix")})
	if err != nil || len(res.Items) != 1 {
		t.Fatalf("containers of phoenix: %d, %v", len(res.Items), err)
	}
	killed := time.Now()
	if _, err := cli.ContainerKill(ctx, res.Items[0].ID, client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		t.Fatal(err)
	}
	deadline := killed.Add(10 * time.Second)
	for {
		units = getApp(t, srv, tok, "phoenix").Units
		if len(units) == 1 && units[0].State == "started" && units[0].StartedAt.After(before) {
			if code, body := get(t, units[0].Address, "/version"); code == 200 && body == "v1" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the killed unit did not answer again within 10s: %+v", units)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("the unit answered again %s after SIGKILL", time.Since(killed).Round(10*time.Millisecond))
	waitContainers(t, "phoenix", 1)
}

// TestKillingBerthdMidRolloutConverges: berthd is SIGKILLed at a random
// moment while it rolls three units onto a new release; the berthd that
// starts next on the same data adopts what it finds and ends with exactly
// the three units of the new release, nothing left over.
func TestKillingBerthdMidRolloutConverges(t *testing.T) {
	imgs := []string{testimage.Build(t, "r1"), testimage.Build(t, "r2"), testimage.Build(t, "r3"), testimage.Build(t, "r4")}
	bin := buildBerthd(t)
	dir := t.TempDir()
	app := fmt.Sprintf("crash-%d", rand.IntN(1_000_000))
	t.Cleanup(func() { removeApp(t, app) })

	b := runBerthd(t, bin, dir)
	tok := berthtest.AdminToken
	b.req(t, "POST", "/apps", tok, fmt.Sprintf(`{"name":%q,"platform":"go","teamOwner":"admin"}`, app))
	b.req(t, "POST", "/apps/"+app+"/deploy", tok, fmt.Sprintf(`{"image":%q}`, imgs[0]))
	b.req(t, "PUT", "/apps/"+app+"/units?units=2", tok, "")
	b.waitRunning(t, app, 3, 1)

	for round, img := range imgs[1:] {
		release := round + 2
		b.req(t, "POST", "/apps/"+app+"/deploy", tok, fmt.Sprintf(`{"image":%q}`, img))
		time.Sleep(time.Duration(200+rand.IntN(2500)) * time.Millisecond)
		b.kill(t)
		b = runBerthd(t, bin, dir)
		b.waitRunning(t, app, 3, release)
		// Converged: exactly three containers, all running the new release,
		// and it stays that way.
		time.Sleep(2 * time.Second)
		if got := containersOf(t, app); len(got) != 3 {
			t.Fatalf("round %d: containers after convergence %v, want exactly 3", round, got)
		}
		for _, c := range containerReleases(t, app) {
			if c != fmt.Sprint(release) {
				t.Fatalf("round %d: a container of release %s remains beside release %d", round, c, release)
			}
		}
	}
	b.kill(t)
}

type berthdProc struct {
	cmd *exec.Cmd
	url string
}

func buildBerthd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "berthd")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/berthdev/terraform-provider-berth/cmd/berthd").CombinedOutput(); err != nil {
		t.Fatalf("build berthd: %v\n%s", err, out)
	}
	return bin
}

var listening = regexp.MustCompile(`addr=(http://[0-9.:]+)`)

func runBerthd(t *testing.T, bin, dir string) *berthdProc {
	t.Helper()
	cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--data-dir", dir, "--runtime", "docker")
	cmd.Env = append(os.Environ(), "BERTH_BOOTSTRAP_TOKEN="+berthtest.AdminToken)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case u := <-urls:
		return &berthdProc{cmd: cmd, url: u}
	case <-time.After(time.Minute):
		t.Fatal("berthd did not start within 1m")
	}
	return nil
}

func (b *berthdProc) kill(t *testing.T) {
	t.Helper()
	_ = b.cmd.Process.Signal(syscall.SIGKILL)
	_ = b.cmd.Wait()
}

func (b *berthdProc) req(t *testing.T, method, path, token, body string) {
	t.Helper()
	code, out := b.do(t, method, path, token, body)
	if code < 200 || code > 299 {
		t.Fatalf("%s %s: %d %s", method, path, code, out)
	}
}

func (b *berthdProc) do(t *testing.T, method, path, token, body string) (int, string) {
	t.Helper()
	req, err := httpNewRequest(method, b.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "bearer "+token)
	resp, err := httpc.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// waitRunning polls berthd until the app has n started units of release.
func (b *berthdProc) waitRunning(t *testing.T, app string, n, release int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var last string
	for time.Now().Before(deadline) {
		code, body := b.do(t, "GET", "/apps/"+app, berthtest.AdminToken, "")
		last = body
		if code == 200 {
			var a tsuruApp
			if decode(body, &a) == nil && allStarted(n, release)(a.Units) {
				return
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("app %s: %d units of release %d not started within 2m; last: %s; containers %v", app, n, release, last, containersOf(t, app))
}

// containerReleases are the release labels of the app's containers.
func containerReleases(t *testing.T, app string) []string {
	t.Helper()
	cli := testimage.Docker(t)
	res, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", runtime.LabelApp+"="+app)})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range res.Items {
		out = append(out, c.Labels[runtime.LabelRelease])
	}
	return out
}

// removeApp force-removes the app's containers (the test's berthd is gone
// by then).
func removeApp(t *testing.T, app string) {
	cli := testimage.Docker(t)
	res, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", runtime.LabelApp+"="+app)})
	if err != nil {
		t.Error(err)
		return
	}
	for _, c := range res.Items {
		_, _ = cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true})
	}
}

func decode(s string, v any) error { return jsonUnmarshal([]byte(strings.TrimSpace(s)), v) }

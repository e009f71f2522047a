// Package console drives berth's web console in a real browser: Debian's
// Chromium, headless, through the DevTools protocol (chromedp), against a
// real berthd.
package console

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/berthdev/terraform-provider-berth/client"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// screenshotPath is where BERTH_UPDATE_SCREENSHOT=1 writes the pipeline
// page's picture the README shows.
const screenshotPath = "../../docs/console-pipeline.png"

// chromium finds the browser: BERTH_CHROMIUM, or Debian's chromium on PATH.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("BERTH_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium: the console's browser test needs one. Install Debian's: apt-get install chromium (.ci/run does when it is missing), or set BERTH_CHROMIUM to a Chrome or Chromium binary")
	return ""
}

// TestConsoleInBrowser: ana signs in and sees only her team's apps, sees a
// pipeline whose production promotion is blocked by a failing check, CI
// posts a success status through the API, the page enables the button by
// itself, ana promotes and watches production's release change.
func TestConsoleInBrowser(t *testing.T) {
	exe := chromium(t)
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	bob := srv.NewTeamUser(t, "bob@example.com", "ops")
	anaAPI, bobAPI := apiClient(t, srv, ana.Token), apiClient(t, srv, bob.Token)
	ctx := context.Background()
	for _, name := range []string{"shop-dev", "shop-staging", "shop-prod"} {
		ok(anaAPI.Apps.Create(ctx, client.CreateAppRequest{Name: name, Platform: "go"})).get(t)
	}
	ok(bobAPI.Apps.Create(ctx, client.CreateAppRequest{Name: "billing", Platform: "python"})).get(t)
	ok(anaAPI.Pipelines.Create(ctx, "shop")).get(t)
	ok(anaAPI.Couplings.Create(ctx, client.NewCoupling{App: "shop-dev", Pipeline: "shop", Stage: "development"})).get(t)
	ok(anaAPI.Couplings.Create(ctx, client.NewCoupling{App: "shop-staging", Pipeline: "shop", Stage: "staging"})).get(t)
	ok(anaAPI.Couplings.Create(ctx, client.NewCoupling{App: "shop-prod", Pipeline: "shop", Stage: "production",
		RequiredStatusChecks: &client.StatusChecks{Contexts: []string{"ci/smoke-tests"}}})).get(t)
	ok(anaAPI.Apps.Deploy(ctx, "shop-dev", "registry.example/shop:1.5.0-rc1")).get(t)
	ok(anaAPI.Apps.Deploy(ctx, "shop-prod", "registry.example/shop:1.3.2")).get(t)
	ok(anaAPI.Apps.Deploy(ctx, "shop-staging", "registry.example/shop:1.4.0")).get(t)
	status := ok(anaAPI.Releases.CreateStatus(ctx, "shop-staging", "1", client.NewReleaseStatus{Context: "ci/smoke-tests", State: "failure", Description: "checkout flow: 2 of 40 failed"})).get(t)

	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true),
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
	)...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	bctx, cancelTimeout := context.WithTimeout(bctx, 90*time.Second)
	defer cancelTimeout()
	// Starting the browser first: a failure to start says so plainly.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v (on Debian: apt-get install chromium)", exe, err)
	}
	var mu sync.Mutex
	var messages []chromedp.ConsoleMessage
	listening := make(chan struct{})
	console := chromedp.Console(bctx)
	go func() {
		defer close(listening)
		for m, err := range console {
			if err != nil {
				return
			}
			mu.Lock()
			messages = append(messages, m)
			mu.Unlock()
		}
	}()

	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	step("open the console: the sign-in page",
		chromedp.Navigate(srv.URL+"/ui/apps"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), ana.Email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), ana.Password),
		chromedp.Click(chromedp.CSS(`form[action="/ui/signin"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#apps`)),
	)
	apps := text("#apps")
	for _, name := range []string{"shop-dev", "shop-staging", "shop-prod"} {
		if !strings.Contains(apps, name) {
			t.Errorf("the apps page lacks %s: %q", name, apps)
		}
	}
	if strings.Contains(apps, "billing") {
		t.Errorf("ana sees bob's app: %q", apps)
	}

	step("the pipeline, production blocked",
		chromedp.Navigate(srv.URL+"/ui/pipelines/shop"),
		chromedp.WaitVisible(chromedp.CSS(`#promote-shop-staging button[disabled]`)),
	)
	if got := text("#promote-shop-staging"); !strings.Contains(got, "failing") || !strings.Contains(got, "ci/smoke-tests") {
		t.Errorf("the blocked promotion: %q", got)
	}
	if got := text("#release-shop-prod"); got != "v1" {
		t.Errorf("production's release before: %q", got)
	}
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(shot))
	if err != nil || cfg.Width < 1000 || cfg.Height < 500 {
		t.Fatalf("screenshot: %v, %dx%d", err, cfg.Width, cfg.Height)
	}
	out := filepath.Join(t.ArtifactDir(), "console-pipeline.png")
	if os.Getenv("BERTH_UPDATE_SCREENSHOT") == "1" {
		out = screenshotPath
	}
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("pipeline page: %s (%dx%d)", out, cfg.Width, cfg.Height)

	// CI posts its result through the API; the page follows by itself.
	ok(anaAPI.Releases.UpdateStatus(ctx, "shop-staging", "1", status.ID, client.ReleaseStatusUpdate{State: "success", Description: "40 of 40 passed"})).get(t)
	step("the button enables itself", chromedp.WaitEnabled(chromedp.CSS(`#promote-shop-staging button`)))
	if got := text("#promote-shop-staging"); !strings.Contains(got, "met") {
		t.Errorf("the check after the success: %q", got)
	}

	step("promote",
		chromedp.Click(chromedp.CSS(`#promote-shop-staging button`)),
		chromedp.WaitVisible(chromedp.CSS(`#target-shop-prod`)),
	)
	deadline := time.Now().Add(30 * time.Second)
	for {
		row := text("#target-shop-prod")
		if strings.Contains(row, "successful") && strings.TrimSpace(text("#target-shop-prod .made")) == "v2" && strings.TrimSpace(text("#target-shop-prod .current")) == "v2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the promotion's page never showed production at v2: %q", row)
		}
		time.Sleep(100 * time.Millisecond)
	}
	step("back to the pipeline", chromedp.Navigate(srv.URL+"/ui/pipelines/shop"), chromedp.WaitVisible(chromedp.CSS(`#release-shop-prod`)))
	if got := text("#release-shop-prod"); got != "v2" {
		t.Errorf("production's release after the promotion: %q", got)
	}
	rel := ok(anaAPI.Releases.Get(ctx, "shop-prod", "2")).get(t)
	if rel.Image != "registry.example/shop:1.4.0" {
		t.Errorf("production's release v2 runs %q", rel.Image)
	}

	// Nothing the pages did broke their Content Security Policy or threw
	// (a 401 of the sign-in page is logged by the browser, and is fine).
	cancelTimeout()
	<-listening
	mu.Lock()
	defer mu.Unlock()
	for _, m := range messages {
		if m.IsException() || m.Source == "security" || strings.Contains(m.Text, "Content Security Policy") || (m.Type == "error" && m.Source != "network") {
			t.Errorf("browser console: %s", m)
		} else {
			t.Logf("browser console: %s", m)
		}
	}
}

func apiClient(t *testing.T, srv *berthtest.Server, token string) *client.Client {
	t.Helper()
	c, err := client.New(srv.URL, client.WithToken(token), client.WithRetry(0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// result is a client call's answer, to check in one line:
// ok(c.Apps.Get(ctx, "x")).get(t).
type result[T any] struct {
	v   T
	err error
}

func ok[T any](v T, _ *client.Response, err error) result[T] { return result[T]{v, err} }

func (r result[T]) get(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

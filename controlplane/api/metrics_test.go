package api_test

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// scrape reads /metrics as the admin and returns the value of every sample
// whose name and labels match series exactly, e.g.
// `berth_entities{kind="stack",state="leased"}`.
func scrape(t *testing.T, srv *berthtest.Server) func(series string) float64 {
	t.Helper()
	body := srv.Req(t, "GET", "/metrics", srv.AdminToken, nil).Expect(t, http.StatusOK).Body
	return func(series string) float64 {
		t.Helper()
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(body)
		if m == nil {
			t.Fatalf("metrics lack %s:\n%s", series, body)
		}
		v, err := strconv.ParseFloat(string(m[1]), 64)
		if err != nil {
			t.Fatalf("%s: %v", series, err)
		}
		return v
	}
}

func expectGauges(t *testing.T, srv *berthtest.Server, want map[string]float64) {
	t.Helper()
	value := scrape(t, srv)
	for series, v := range want {
		if got := value(series); got != v {
			t.Errorf("%s = %v, want %v", series, got, v)
		}
	}
}

// TestMetricsGauges checks the state gauges against what the API shows:
// stacks leased and available (an expired lease counts as available, as
// for requests), promotions by status, before and after a restart.
func TestMetricsGauges(t *testing.T) {
	gate := newStepGate()
	srv := berthtest.Start(t, berthtest.OnDisk(t.TempDir()),
		berthtest.WithCore(core.Config{PromotionDeadline: 10 * time.Minute}),
		berthtest.WithCoreOptions(core.WithPromotionStepHook(gate.hook)))
	expectGauges(t, srv, map[string]float64{
		`berth_entities{kind="stack",state="leased"}`:         0,
		`berth_entities{kind="stack",state="available"}`:      0,
		`berth_entities{kind="promotion",state="pending"}`:    0,
		`berth_entities{kind="promotion",state="successful"}`: 0,
		`berth_entities{kind="promotion",state="failed"}`:     0,
	})

	keyA := createProject(t, srv, map[string]any{"name": "gauges-a", "team": "admin"})
	keyB := createProject(t, srv, map[string]any{"name": "gauges-b", "team": "admin"})
	for _, branch := range []string{"b1", "b2", "b3"} {
		requestStack(t, srv, keyA, branch)
	}
	releaseStack(t, srv, keyA, "test-2")
	keyCall(t, srv, keyB, "POST", "/requestStack", map[string]any{"branch": "short", "ttl": 60}).Expect(t, http.StatusOK)
	requestStack(t, srv, keyB, "long")
	expectGauges(t, srv, map[string]float64{
		`berth_entities{kind="stack",state="leased"}`:    4,
		`berth_entities{kind="stack",state="available"}`: 1,
	})

	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	stagedPipeline(t, srv, ana.Token, "gauge", "g-stg:staging", "g-prd-a:production", "g-prd-b:production")
	createRelease(t, srv, ana.Token, "g-stg", "registry/g:1")
	stuck := promote(t, srv, ana.Token, promotionBody("gauge", "g-stg", "g-prd-a", "g-prd-b"))
	gate.wait(t) // held after its first target
	expectGauges(t, srv, map[string]float64{`berth_entities{kind="promotion",state="pending"}`: 1})

	// Past the promotion deadline the healer fails the stuck promotion; the
	// short lease has run out too.
	srv.Clock.Advance(11 * time.Minute)
	runHealer(t, srv, "promotions")
	close(gate.release)
	waitPromotion(t, srv, ana.Token, stuck.ID)
	done := promote(t, srv, ana.Token, promotionBody("gauge", "g-stg", "g-prd-a"))
	waitPromotion(t, srv, ana.Token, done.ID)
	want := map[string]float64{
		`berth_entities{kind="stack",state="leased"}`:         3,
		`berth_entities{kind="stack",state="available"}`:      2,
		`berth_entities{kind="promotion",state="pending"}`:    0,
		`berth_entities{kind="promotion",state="successful"}`: 1,
		`berth_entities{kind="promotion",state="failed"}`:     1,
	}
	expectGauges(t, srv, want)

	srv.Restart()
	expectGauges(t, srv, want)
	if got := listStacks(t, srv, keyB); len(got) != 2 || !got[0].IsAvailable || got[1].IsAvailable {
		t.Fatalf("project b's stacks disagree with the gauges: %+v", got)
	}
}

// TestMetricsStoreSize: berth_store_bytes is the size of Badger's tables
// and value log as they are on disk at the scrape.
func TestMetricsStoreSize(t *testing.T) {
	dir := t.TempDir()
	srv := berthtest.Start(t, berthtest.OnDisk(dir))
	srv.NewTeamUser(t, "ana@example.com", "devs")
	srv.Restart() // closing the store writes its first table
	onDisk := func() (lsm, vlog float64) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			info, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			switch filepath.Ext(e.Name()) {
			case ".sst":
				lsm += float64(info.Size())
			case ".vlog":
				vlog += float64(info.Size())
			}
		}
		return lsm, vlog
	}
	// Background work (the lease sweep) may write between the scrape and
	// the look at the directory: compare only when the directory did not
	// change around the scrape.
	for attempt := 0; ; attempt++ {
		lsm, vlog := onDisk()
		value := scrape(t, srv)
		gotLSM, gotVlog := value(`berth_store_bytes{part="lsm"}`), value(`berth_store_bytes{part="vlog"}`)
		if lsm2, vlog2 := onDisk(); lsm2 != lsm || vlog2 != vlog {
			if attempt == 10 {
				t.Fatal("the data directory never stood still")
			}
			continue
		}
		if gotLSM != lsm || gotVlog != vlog || lsm == 0 || vlog == 0 {
			t.Fatalf("store bytes: lsm %v vlog %v, the directory has lsm %v vlog %v", gotLSM, gotVlog, lsm, vlog)
		}
		return
	}
}

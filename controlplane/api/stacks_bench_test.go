package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/store"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// BenchmarkStackLeases runs lease cycles (POST /stacks/request, then POST
// /stacks/release with the lease id) from 64 concurrent clients over
// loopback HTTP against berthd on an on-disk store with SyncWrites on. One
// op is one cycle. It fails if a stack is ever handed to a client while
// another holds it: clients record what they hold, and every release
// carries its lease id, so a stack leased again under a holder makes that
// holder's release fail with 409. It reports leases/s and latencies.
//
//	own-branch: every client asks for its own branch and gets its stack back
//	new-branch: every request is for a new branch and takes the available
//	            stack modified longest ago
func BenchmarkStackLeases(b *testing.B) {
	const clients = 64
	b.Run("own-branch", func(b *testing.B) {
		benchLeaseCycles(b, clients, func(client, cycle int) string { return fmt.Sprintf("client-%d", client) })
	})
	b.Run("new-branch", func(b *testing.B) {
		benchLeaseCycles(b, clients, func(client, cycle int) string { return fmt.Sprintf("client-%d-%d", client, cycle) })
	})
}

func benchLeaseCycles(b *testing.B, clients int, branch func(client, cycle int) string) {
	srv := startBenchServer(b)
	lc := newLeaseClient(b, srv, clients)

	var holders sync.Map // stack name -> client holding it
	cycle := func(client, n int, reqLat, relLat *[]time.Duration) error {
		start := time.Now()
		st, err := lc.request(branch(client, n))
		if err != nil {
			return err
		}
		*reqLat = append(*reqLat, time.Since(start))
		if other, held := holders.LoadOrStore(st.StackName, client); held {
			return fmt.Errorf("stack %s leased to client %d while client %d holds it", st.StackName, client, other)
		}
		// Forget the holder before releasing: once released, the stack may
		// be handed to another client at once.
		holders.Delete(st.StackName)
		start = time.Now()
		if err := lc.release(st); err != nil {
			return err
		}
		*relLat = append(*relLat, time.Since(start))
		return nil
	}
	// Warm up: each client makes its first stack before timing starts.
	runClients(b, clients, 1, func(client, n int, reqLat, relLat *[]time.Duration) error {
		return cycle(client, -1, reqLat, relLat)
	})

	b.ResetTimer()
	start := time.Now()
	reqLat, relLat := runClients(b, clients, b.N, cycle)
	elapsed := time.Since(start)
	b.StopTimer()

	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "leases/s")
	b.ReportMetric(ms(percentile(reqLat, 50)), "p50-request-ms")
	b.ReportMetric(ms(percentile(reqLat, 99)), "p99-request-ms")
	b.ReportMetric(ms(percentile(relLat, 99)), "p99-release-ms")
	b.ReportMetric(float64(runtime.NumCPU()), "cores")

	stacks, err := lc.list()
	if err != nil {
		b.Fatal(err)
	}
	for _, st := range stacks {
		if !st.IsAvailable {
			b.Fatalf("stack %s still leased after every client released", st.StackName)
		}
	}
}

// BenchmarkStackRequestScale measures one client's lease cycle in a project
// with 100 and with 100,000 stacks: selection goes through indexes, so the
// cost must not grow with the number of stacks. Every request is for a new
// branch and takes the available stack used longest ago.
func BenchmarkStackRequestScale(b *testing.B) {
	for _, n := range []int{100, 100_000} {
		srv := startBenchServer(b)
		lc := newLeaseClient(b, srv, 1)
		seedStacks(b, srv, n)
		srv.Restart()
		branch := 0
		cycle := func() (time.Duration, error) {
			branch++
			start := time.Now()
			st, err := lc.request(fmt.Sprintf("scale-%d", branch))
			if err != nil {
				return 0, err
			}
			took := time.Since(start)
			return took, lc.release(st)
		}
		took, err := cycle()
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("first request with %d stacks after a restart: %s", n, took)
		b.Run(fmt.Sprintf("stacks=%d", n), func(b *testing.B) {
			var reqLat []time.Duration
			for range b.N {
				took, err := cycle()
				if err != nil {
					b.Fatal(err)
				}
				reqLat = append(reqLat, took)
			}
			b.ReportMetric(ms(percentile(reqLat, 50)), "p50-request-ms")
			b.ReportMetric(ms(percentile(reqLat, 99)), "p99-request-ms")
		})
	}
}

func startBenchServer(b *testing.B) *berthtest.Server {
	return berthtest.Start(b, berthtest.OnDisk(b.TempDir()), func(o *berthtest.Options) { o.SkipValidation = true })
}

// seedStacks gives the bench project n available stacks, straight through
// the store: making them over HTTP one by one would take minutes. Restart
// the server afterwards, so that the stack writer indexes them.
func seedStacks(b *testing.B, srv *berthtest.Server, n int) {
	ctx := context.Background()
	st := srv.Instance().Store
	var p *domain.StackProject
	err := st.View(ctx, func(tx *store.Tx) (err error) {
		p, err = tx.StackProject("bench")
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	base := time.Now().Add(-time.Hour)
	const batch = 1000
	for from := 1; from <= n; from += batch {
		err := st.Update(ctx, func(tx *store.Tx) error {
			last := 0
			for i := from; i < from+batch && i <= n; i++ {
				at := base.Add(time.Duration(i) * time.Millisecond)
				s := &domain.Stack{ProjectID: p.ID, Number: i, Name: p.StackName(i), Branch: fmt.Sprintf("seed-%d", i), Created: at, Modified: at}
				if err := tx.CreateStack(s, int64(i)); err != nil {
					return err
				}
				last = i
			}
			return tx.SetStackGen(p.ID, int64(last))
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// runClients runs cycles numbered 0..total-1 spread over clients
// goroutines and returns every request and release latency.
func runClients(b *testing.B, clients, total int, cycle func(client, n int, reqLat, relLat *[]time.Duration) error) (reqLat, relLat []time.Duration) {
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var req, rel []time.Duration
			for {
				n := int(next.Add(1)) - 1
				if n >= total {
					break
				}
				if err := cycle(c, n, &req, &rel); err != nil {
					b.Error(err)
					return
				}
			}
			mu.Lock()
			reqLat, relLat = append(reqLat, req...), append(relLat, rel...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	return reqLat, relLat
}

// leaseClient is a CI job's view of the API: raw HTTP with the project key.
type leaseClient struct {
	url  string
	key  string
	http *http.Client
}

func newLeaseClient(b *testing.B, srv *berthtest.Server, conns int) *leaseClient {
	key := createProject(b, srv, map[string]any{"name": "bench"})
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = conns
	b.Cleanup(tr.CloseIdleConnections)
	return &leaseClient{url: srv.URL, key: key, http: &http.Client{Transport: tr, Timeout: time.Minute}}
}

func (c *leaseClient) call(method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.url+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("X-API-Key", c.key)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return json.Unmarshal(b, out)
}

func (c *leaseClient) request(branch string) (stackJSON, error) {
	var st stackJSON
	err := c.call("POST", "/stacks/request", map[string]string{"branch": branch}, &st)
	return st, err
}

func (c *leaseClient) release(st stackJSON) error {
	var out stackJSON
	return c.call("POST", "/stacks/release", map[string]string{"stackName": st.StackName, "leaseId": st.LeaseID}, &out)
}

func (c *leaseClient) list() ([]stackJSON, error) {
	var out struct{ Stacks []stackJSON }
	err := c.call("GET", "/stacks", nil, &out)
	return out.Stacks, err
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

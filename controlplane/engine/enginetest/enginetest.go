// Package enginetest is the conformance suite every storage engine must
// pass: what the typed store, and through it every rule of berth, relies
// on. Each engine's test package runs it:
//
//	func TestMain(m *testing.M) { enginetest.CrashChild(open); os.Exit(m.Run()) }
//	func TestConformance(t *testing.T) { enginetest.Run(t, harness) }
package enginetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/engine"
)

// Harness tells the suite how to make and open storage of one engine.
type Harness struct {
	// New makes empty storage for one test and returns a spec Open
	// understands (a directory, a database URL). It cleans up after the
	// test.
	New func(t *testing.T) string
	// Open opens an engine on the storage spec names. It must also work
	// in a child process of the test binary (the crash test), so it may
	// depend on nothing but spec and the environment.
	Open func(spec string) (engine.Engine, error)
	// Shared is set when several engines (processes) may be open on one
	// storage at once: then the suite also runs its concurrency tests
	// across two engines, and checks that notifications cross them.
	Shared bool
}

// Run runs the whole suite.
func Run(t *testing.T, h Harness) {
	t.Run("ReadWrite", func(t *testing.T) { testReadWrite(t, h) })
	t.Run("Scan", func(t *testing.T) { testScan(t, h) })
	t.Run("ScanAcrossDeletedKeys", func(t *testing.T) { testScanAcrossDeletes(t, h) })
	t.Run("Limits", func(t *testing.T) { testLimits(t, h) })
	t.Run("LostUpdate", func(t *testing.T) { testLostUpdate(t, h) })
	t.Run("WriteSkew", func(t *testing.T) { testWriteSkew(t, h) })
	t.Run("Phantom", func(t *testing.T) { testPhantom(t, h) })
	t.Run("ConsistentSnapshots", func(t *testing.T) { testBank(t, h) })
	t.Run("CommitHooks", func(t *testing.T) { testCommitHooks(t, h) })
	t.Run("Notifications", func(t *testing.T) { testNotify(t, h) })
	t.Run("ContextAndClose", func(t *testing.T) { testContextAndClose(t, h) })
	t.Run("CrashSafeCommit", func(t *testing.T) { testCrash(t, h) })
}

func open(t *testing.T, h Harness, spec string) engine.Engine {
	t.Helper()
	e, err := h.Open(spec)
	if err != nil {
		t.Fatalf("open engine: %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// engines returns two engines on one storage when the engine shares its
// storage, else the same engine twice: concurrency tests spread their
// transactions over both.
func engines(t *testing.T, h Harness) (engine.Engine, engine.Engine) {
	spec := h.New(t)
	a := open(t, h, spec)
	if !h.Shared {
		return a, a
	}
	return a, open(t, h, spec)
}

var ctx = context.Background()

func put(t *testing.T, e engine.Engine, kv ...string) {
	t.Helper()
	err := e.Update(ctx, func(tx engine.Txn) error {
		for i := 0; i < len(kv); i += 2 {
			if err := tx.Put([]byte(kv[i]), []byte(kv[i+1])); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("put: %v", err)
	}
}

func get(t *testing.T, e engine.Engine, k string) (string, bool) {
	t.Helper()
	var v []byte
	err := e.View(ctx, func(r engine.Reader) (err error) {
		v, err = r.Get([]byte(k))
		return err
	})
	if errors.Is(err, engine.ErrNotFound) {
		return "", false
	}
	if err != nil {
		t.Fatalf("get %q: %v", k, err)
	}
	return string(v), true
}

// update runs fn until it commits, retrying conflicts as the typed store
// does.
func update(e engine.Engine, fn func(engine.Txn) error) error {
	for attempt := 0; ; attempt++ {
		err := e.Update(ctx, fn)
		if !errors.Is(err, engine.ErrConflict) || attempt > 1000 {
			return err
		}
		time.Sleep(time.Duration(attempt%20) * 100 * time.Microsecond)
	}
}

func testReadWrite(t *testing.T, h Harness) {
	e := open(t, h, h.New(t))
	if _, ok := get(t, e, "missing"); ok {
		t.Fatal("a missing key was found")
	}
	binKey := string([]byte{0x00, 'k', 0xff, 0x00})
	put(t, e, "a", "1", "b", "", binKey, "bin")
	for k, want := range map[string]string{"a": "1", "b": "", binKey: "bin"} {
		if v, ok := get(t, e, k); !ok || v != want {
			t.Errorf("get %q = %q, %v; want %q", k, v, ok, want)
		}
	}

	// A transaction reads its own writes and deletes.
	err := e.Update(ctx, func(tx engine.Txn) error {
		if err := tx.Put([]byte("a"), []byte("2")); err != nil {
			return err
		}
		if v, err := tx.Get([]byte("a")); err != nil || string(v) != "2" {
			return fmt.Errorf("own write: %q, %v", v, err)
		}
		if err := tx.Delete([]byte("b")); err != nil {
			return err
		}
		if _, err := tx.Get([]byte("b")); !errors.Is(err, engine.ErrNotFound) {
			return fmt.Errorf("own delete: err = %v", err)
		}
		return tx.Delete([]byte("never-there"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := get(t, e, "a"); v != "2" {
		t.Errorf("a = %q after commit, want 2", v)
	}
	if _, ok := get(t, e, "b"); ok {
		t.Error("b survived its delete")
	}

	// fn's error rolls everything back and comes back unchanged.
	boom := errors.New("boom")
	err = e.Update(ctx, func(tx engine.Txn) error {
		_ = tx.Put([]byte("a"), []byte("3"))
		_ = tx.Put([]byte("c"), []byte("new"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	if v, _ := get(t, e, "a"); v != "2" {
		t.Errorf("a = %q after a rolled back transaction, want 2", v)
	}
	if _, ok := get(t, e, "c"); ok {
		t.Error("a rolled back write is visible")
	}

	// Slices handed out and handed in belong to their owner.
	key, val := []byte("owned"), []byte("value")
	if err := e.Update(ctx, func(tx engine.Txn) error { return tx.Put(key, val) }); err != nil {
		t.Fatal(err)
	}
	copy(key, "XXXXX")
	copy(val, "XXXXX")
	var got []byte
	_ = e.View(ctx, func(r engine.Reader) (err error) { got, err = r.Get([]byte("owned")); return err })
	if string(got) != "value" {
		t.Fatalf("stored value changed with the caller's slice: %q", got)
	}
	got[0] = 'X'
	if v, _ := get(t, e, "owned"); v != "value" {
		t.Fatalf("stored value changed with a returned slice: %q", v)
	}
}

func scanKeys(t *testing.T, r engine.Reader, rg engine.Range) []string {
	t.Helper()
	var out []string
	err := r.Scan(rg, func(k, v []byte) error {
		if rg.KeysOnly {
			out = append(out, string(k))
		} else {
			out = append(out, string(k)+"="+string(v))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("scan %+v: %v", rg, err)
	}
	return out
}

func viewKeys(t *testing.T, e engine.Engine, rg engine.Range) []string {
	t.Helper()
	var out []string
	if err := e.View(ctx, func(r engine.Reader) error { out = scanKeys(t, r, rg); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func same(a, b []string) bool { return strings.Join(a, "|") == strings.Join(b, "|") }

func testScan(t *testing.T, h Harness) {
	e := open(t, h, h.New(t))
	put(t, e, "p/a", "1", "p/b", "2", "p/c", "3", "p0", "x", "p\xff", "ff", "q", "q", "o", "o")

	cases := []struct {
		name string
		rg   engine.Range
		want []string
	}{
		{"prefix", engine.Prefix([]byte("p/")), []string{"p/a=1", "p/b=2", "p/c=3"}},
		{"prefix reverse", withReverse(engine.Prefix([]byte("p/"))), []string{"p/c=3", "p/b=2", "p/a=1"}},
		{"half open", engine.Range{Start: []byte("p/b"), End: []byte("p0")}, []string{"p/b=2", "p/c=3"}},
		{"half open reverse", engine.Range{Start: []byte("p/b"), End: []byte("p0"), Reverse: true}, []string{"p/c=3", "p/b=2"}},
		{"limit", engine.Range{Start: []byte("p/"), End: []byte("q"), Limit: 2}, []string{"p/a=1", "p/b=2"}},
		{"limit reverse", engine.Range{Start: []byte("p/"), End: []byte("q"), Limit: 2, Reverse: true}, []string{"p\xff=ff", "p0=x"}},
		{"no end", engine.Range{Start: []byte("p\xff")}, []string{"p\xff=ff", "q=q"}},
		{"no end reverse", engine.Range{Start: []byte("p\xff"), Reverse: true}, []string{"q=q", "p\xff=ff"}},
		{"keys only", engine.Range{Start: []byte("p/"), End: []byte("p0"), KeysOnly: true}, []string{"p/a", "p/b", "p/c"}},
		{"prefix ending in 0xff", engine.Prefix([]byte("p\xff")), []string{"p\xff=ff"}},
		{"empty", engine.Range{Start: []byte("r"), End: []byte("s")}, nil},
		{"everything", engine.Range{}, []string{"o=o", "p/a=1", "p/b=2", "p/c=3", "p0=x", "p\xff=ff", "q=q"}},
	}
	for _, c := range cases {
		if got := viewKeys(t, e, c.rg); !same(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}

	// ErrStop ends a scan without an error; other errors come back.
	err := e.View(ctx, func(r engine.Reader) error {
		n := 0
		if err := r.Scan(engine.Prefix([]byte("p/")), func(_, _ []byte) error {
			if n++; n == 2 {
				return engine.ErrStop
			}
			return nil
		}); err != nil || n != 2 {
			return fmt.Errorf("ErrStop: n=%d err=%v", n, err)
		}
		boom := errors.New("boom")
		if err := r.Scan(engine.Prefix([]byte("p/")), func(_, _ []byte) error { return boom }); !errors.Is(err, boom) {
			return fmt.Errorf("fn's error: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// A transaction's scans see its own writes and deletes, both ways.
	err = e.Update(ctx, func(tx engine.Txn) error {
		if err := tx.Put([]byte("p/bb"), []byte("new")); err != nil {
			return err
		}
		if err := tx.Delete([]byte("p/a")); err != nil {
			return err
		}
		if err := tx.Put([]byte("p/c"), []byte("changed")); err != nil {
			return err
		}
		want := []string{"p/b=2", "p/bb=new", "p/c=changed"}
		if got := scanKeys(t, tx, engine.Prefix([]byte("p/"))); !same(got, want) {
			return fmt.Errorf("forward scan in the transaction: %q, want %q", got, want)
		}
		want = []string{"p/c=changed", "p/bb=new", "p/b=2"}
		if got := scanKeys(t, tx, withReverse(engine.Prefix([]byte("p/")))); !same(got, want) {
			return fmt.Errorf("reverse scan in the transaction: %q, want %q", got, want)
		}
		return errors.New("roll back")
	})
	if err == nil || !strings.Contains(err.Error(), "roll back") {
		t.Fatal(err)
	}
}

func withReverse(r engine.Range) engine.Range { r.Reverse = true; return r }

func numKey(prefix string, i int) []byte {
	return binary.BigEndian.AppendUint32([]byte(prefix), uint32(i))
}

// testScanAcrossDeletes: a queue-like index whose head was consumed leaves
// deleted keys (tombstones) behind; scans must skip them and stay right.
func testScanAcrossDeletes(t *testing.T, h Harness) {
	e := open(t, h, h.New(t))
	const n, keep = 20000, 100
	for base := 0; base < n; base += 2000 {
		err := e.Update(ctx, func(tx engine.Txn) error {
			for i := base; i < base+2000; i++ {
				if err := tx.Put(numKey("q/", i), []byte(strconv.Itoa(i))); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for base := 0; base < n; base += 2000 {
		err := e.Update(ctx, func(tx engine.Txn) error {
			for i := base; i < base+2000; i++ {
				if i%keep != keep-1 {
					if err := tx.Delete(numKey("q/", i)); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	for i := keep - 1; i < n; i += keep {
		want = append(want, strconv.Itoa(i))
	}
	values := func(rg engine.Range) []string {
		var out []string
		err := e.View(ctx, func(r engine.Reader) error {
			return r.Scan(rg, func(_, v []byte) error { out = append(out, string(v)); return nil })
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := values(engine.Prefix([]byte("q/"))); !same(got, want) {
		t.Fatalf("forward scan found %d keys, want %d", len(got), len(want))
	}
	rev := values(withReverse(engine.Prefix([]byte("q/"))))
	if len(rev) != len(want) || rev[0] != want[len(want)-1] || rev[len(rev)-1] != want[0] {
		t.Fatalf("reverse scan found %d keys (first %v), want %d", len(rev), rev[:min(1, len(rev))], len(want))
	}
	// The first live key after the head, and the last before the tail, one
	// key each, as a queue reads them.
	if got := values(engine.Range{Start: []byte("q/"), End: engine.PrefixEnd([]byte("q/")), Limit: 1}); !same(got, want[:1]) {
		t.Fatalf("first key: %q, want %q", got, want[:1])
	}
	mid := numKey("q/", n/2)
	if got := values(engine.Range{Start: []byte("q/"), End: mid, Reverse: true, Limit: 1}); !same(got, []string{strconv.Itoa(n/2 - 1)}) {
		t.Fatalf("last key before the middle: %q", got)
	}
}

func testLimits(t *testing.T, h Harness) {
	e := open(t, h, h.New(t))
	big := bytes.Repeat([]byte{0xab}, engine.MaxValueSize)
	if err := e.Update(ctx, func(tx engine.Txn) error { return tx.Put([]byte("big"), big) }); err != nil {
		t.Fatalf("a value of MaxValueSize: %v", err)
	}
	var got []byte
	if err := e.View(ctx, func(r engine.Reader) (err error) { got, err = r.Get([]byte("big")); return err }); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("a value of MaxValueSize came back as %d bytes, %v", len(got), err)
	}
	longKey := bytes.Repeat([]byte("k"), engine.MaxKeySize)
	if err := e.Update(ctx, func(tx engine.Txn) error { return tx.Put(longKey, []byte("v")) }); err != nil {
		t.Fatalf("a key of MaxKeySize: %v", err)
	}
	tooBig := []struct {
		name string
		k, v []byte
	}{
		{"value", []byte("k"), make([]byte, engine.MaxValueSize+1)},
		{"key", append(longKey, 'k'), []byte("v")},
		{"empty key", nil, []byte("v")},
	}
	for _, c := range tooBig {
		err := e.Update(ctx, func(tx engine.Txn) error { return tx.Put(c.k, c.v) })
		if !errors.Is(err, engine.ErrTooLarge) {
			t.Errorf("%s over the limit: err = %v, want ErrTooLarge", c.name, err)
		}
	}
}

// testLostUpdate: concurrent read-modify-writes of one key lose nothing.
func testLostUpdate(t *testing.T, h Harness) {
	a, b := engines(t, h)
	const workers, each = 16, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		e := a
		if w%2 == 1 {
			e = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				err := update(e, func(tx engine.Txn) error {
					n := 0
					switch v, err := tx.Get([]byte("counter")); {
					case err == nil:
						n, _ = strconv.Atoi(string(v))
					case !errors.Is(err, engine.ErrNotFound):
						return err
					}
					return tx.Put([]byte("counter"), []byte(strconv.Itoa(n+1)))
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if v, _ := get(t, a, "counter"); v != strconv.Itoa(workers*each) {
		t.Fatalf("counter = %s after %d increments: updates were lost", v, workers*each)
	}
}

// rendezvous lets two transactions overlap where the engine allows it: each
// waits a moment for the other inside fn. An engine with a single writer
// runs them one after the other instead, which is also serializable.
type rendezvous struct {
	wg sync.WaitGroup
}

func newRendezvous(n int) *rendezvous { r := &rendezvous{}; r.wg.Add(n); return r }

func (r *rendezvous) arrive() {
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	r.wg.Done()
	select {
	case <-done:
	case <-time.After(50 * time.Millisecond):
	}
}

// testWriteSkew: two doctors on call; each goes off call only if the other
// is still on, after reading both. Under snapshot isolation both can go;
// serializable transactions keep one on call.
func testWriteSkew(t *testing.T, h Harness) {
	a, b := engines(t, h)
	for round := range 20 {
		put(t, a, "doc/1", "on", "doc/2", "on")
		meet := newRendezvous(2)
		var once [2]sync.Once
		var wg sync.WaitGroup
		for i, e := range []engine.Engine{a, b} {
			me := fmt.Sprintf("doc/%d", i+1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := update(e, func(tx engine.Txn) error {
					on := 0
					err := tx.Scan(engine.Prefix([]byte("doc/")), func(_, v []byte) error {
						if string(v) == "on" {
							on++
						}
						return nil
					})
					if err != nil {
						return err
					}
					once[i].Do(meet.arrive)
					if on < 2 {
						return nil
					}
					return tx.Put([]byte(me), []byte("off"))
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		d1, _ := get(t, a, "doc/1")
		d2, _ := get(t, a, "doc/2")
		if d1 == "off" && d2 == "off" {
			t.Fatalf("round %d: both doctors went off call (write skew)", round)
		}
	}
}

// testPhantom: each worker claims a slot only if no slot is claimed yet,
// judging by a range scan; exactly one claim may exist, although no
// worker reads a key another writes.
func testPhantom(t *testing.T, h Harness) {
	a, b := engines(t, h)
	for round := range 10 {
		prefix := fmt.Sprintf("claim/%d/", round)
		meet := newRendezvous(4)
		var wg sync.WaitGroup
		for w := range 4 {
			e := a
			if w%2 == 1 {
				e = b
			}
			var once sync.Once
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := update(e, func(tx engine.Txn) error {
					taken := false
					err := tx.Scan(engine.Range{Start: []byte(prefix), End: engine.PrefixEnd([]byte(prefix)), Limit: 1, KeysOnly: true},
						func(_, _ []byte) error { taken = true; return nil })
					if err != nil {
						return err
					}
					once.Do(meet.arrive)
					if taken {
						return nil
					}
					return tx.Put([]byte(prefix+strconv.Itoa(w)), nil)
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if claims := viewKeys(t, a, engine.Range{Start: []byte(prefix), End: engine.PrefixEnd([]byte(prefix)), KeysOnly: true}); len(claims) != 1 {
			t.Fatalf("round %d: %d claims %q, want exactly 1 (phantom)", round, len(claims), claims)
		}
	}
}

// testBank: concurrent transfers keep the total, and every snapshot a
// reader takes sees it whole.
func testBank(t *testing.T, h Harness) {
	a, b := engines(t, h)
	const accounts, start = 8, 100
	err := a.Update(ctx, func(tx engine.Txn) error {
		for i := range accounts {
			if err := tx.Put(numKey("acct/", i), []byte(strconv.Itoa(start))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	total := func(r engine.Reader) (int, error) {
		sum := 0
		err := r.Scan(engine.Prefix([]byte("acct/")), func(_, v []byte) error {
			n, err := strconv.Atoi(string(v))
			sum += n
			return err
		})
		return sum, err
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 6 {
		e := a
		if w%2 == 1 {
			e = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				from, to := (w+i)%accounts, (w*3+i+1)%accounts
				if from == to {
					continue
				}
				err := update(e, func(tx engine.Txn) error {
					read := func(i int) (int, error) {
						v, err := tx.Get(numKey("acct/", i))
						if err != nil {
							return 0, err
						}
						return strconv.Atoi(string(v))
					}
					f, err := read(from)
					if err != nil {
						return err
					}
					g, err := read(to)
					if err != nil {
						return err
					}
					if err := tx.Put(numKey("acct/", from), []byte(strconv.Itoa(f-7))); err != nil {
						return err
					}
					return tx.Put(numKey("acct/", to), []byte(strconv.Itoa(g+7)))
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	var readers sync.WaitGroup
	for _, e := range []engine.Engine{a, b} {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for !stop.Load() {
				err := e.View(ctx, func(r engine.Reader) error {
					sum, err := total(r)
					if err == nil && sum != accounts*start {
						err = fmt.Errorf("a snapshot saw a total of %d, want %d", sum, accounts*start)
					}
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	stop.Store(true)
	readers.Wait()
	if err := a.View(ctx, func(r engine.Reader) error {
		sum, err := total(r)
		if err == nil && sum != accounts*start {
			err = fmt.Errorf("total %d after the transfers, want %d", sum, accounts*start)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func testCommitHooks(t *testing.T, h Harness) {
	e := open(t, h, h.New(t))
	var order []string
	err := e.Update(ctx, func(tx engine.Txn) error {
		tx.OnCommit(func() { order = append(order, "first") })
		tx.OnCommit(func() { order = append(order, "second") })
		if len(order) != 0 {
			return errors.New("a hook ran before the commit")
		}
		return tx.Put([]byte("k"), []byte("v"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if !same(order, []string{"first", "second"}) {
		t.Fatalf("hooks ran as %q", order)
	}
	order = nil
	_ = e.Update(ctx, func(tx engine.Txn) error {
		tx.OnCommit(func() { order = append(order, "rolled back") })
		return errors.New("abort")
	})
	if len(order) != 0 {
		t.Fatalf("a rolled back transaction ran its hooks: %q", order)
	}

	// A hook runs once per commit, never for an attempt that lost a race.
	a, b := engines(t, h)
	var ran atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		e := a
		if w%2 == 1 {
			e = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := update(e, func(tx engine.Txn) error {
				v, err := tx.Get([]byte("hooks"))
				if err != nil && !errors.Is(err, engine.ErrNotFound) {
					return err
				}
				tx.OnCommit(func() { ran.Add(1) })
				return tx.Put([]byte("hooks"), append(v, 'x'))
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ran.Load() != 8 {
		t.Fatalf("hooks ran %d times for 8 commits", ran.Load())
	}
}

func testNotify(t *testing.T, h Harness) {
	a, b := engines(t, h)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if _, err := a.Subscribe(sctx, "Bad Name!"); err == nil {
		t.Error("a channel name with spaces was accepted")
	}
	subA, err := a.Subscribe(sctx, "apps")
	if err != nil {
		t.Fatal(err)
	}
	subB, err := b.Subscribe(sctx, "apps")
	if err != nil {
		t.Fatal(err)
	}
	other, err := a.Subscribe(sctx, "stacks")
	if err != nil {
		t.Fatal(err)
	}
	waitFor := func(name string, c <-chan struct{}) {
		t.Helper()
		select {
		case <-c:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no notification within 10s", name)
		}
	}
	quiet := func(name string, c <-chan struct{}) {
		t.Helper()
		select {
		case <-c:
			t.Fatalf("%s: unexpected notification", name)
		case <-time.After(200 * time.Millisecond):
		}
	}
	_ = a.Update(ctx, func(tx engine.Txn) error { tx.Notify("apps"); return errors.New("abort") })
	quiet("after a rollback", subA)

	if err := b.Update(ctx, func(tx engine.Txn) error { tx.Notify("apps"); return tx.Put([]byte("n"), nil) }); err != nil {
		t.Fatal(err)
	}
	waitFor("the committing engine's subscriber", subB)
	waitFor("a subscriber of the same storage", subA)
	quiet("another channel", other)

	// Notifications that pile up while nobody reads merge into one.
	for range 5 {
		if err := a.Update(ctx, func(tx engine.Txn) error { tx.Notify("apps"); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	waitFor("after five commits", subA)
	time.Sleep(200 * time.Millisecond)
	select {
	case <-subA:
	default:
	}
	quiet("drained", subA)
}

func testContextAndClose(t *testing.T, h Harness) {
	e, err := h.Open(h.New(t))
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	ran := false
	if err := e.Update(cctx, func(engine.Txn) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Errorf("Update with a cancelled context: err=%v, fn ran=%v", err, ran)
	}
	ran = false
	if err := e.View(cctx, func(engine.Reader) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Errorf("View with a cancelled context: err=%v, fn ran=%v", err, ran)
	}
	if err := e.Ready(ctx); err != nil {
		t.Errorf("Ready on an open engine: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Ready(ctx); err == nil {
		t.Error("Ready on a closed engine answered nil")
	}
	err = e.Update(ctx, func(tx engine.Txn) error { return tx.Put([]byte("k"), nil) })
	if err == nil {
		t.Error("Update on a closed engine succeeded")
	}
}

// The crash test: a child process commits writes one by one and prints an
// acknowledgement after each commit returns; the parent kills it with
// SIGKILL at some point and reopens the storage. Every acknowledged write
// must be there.

const crashEnv = "BERTH_ENGINETEST_CRASH_SPEC"

// CrashChild runs the child's side of the crash test when the test binary
// was started as that child, and exits; otherwise it returns at once. Call
// it first thing in TestMain.
func CrashChild(open func(spec string) (engine.Engine, error)) {
	spec := os.Getenv(crashEnv)
	if spec == "" {
		return
	}
	e, err := open(spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child: open:", err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		err := e.Update(ctx, func(tx engine.Txn) error {
			// Each write also moves a counter, so the reopened store must show
			// a transaction's writes together or not at all.
			if err := tx.Put(numKey("crash/", i), bytes.Repeat([]byte{byte(i)}, 100+i%900)); err != nil {
				return err
			}
			return tx.Put([]byte("crash-last"), []byte(strconv.Itoa(i)))
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "crash child: update:", err)
			os.Exit(2)
		}
		fmt.Fprintf(out, "ack %d\n", i)
		_ = out.Flush()
	}
}

func testCrash(t *testing.T, h Harness) {
	spec := h.New(t)
	acked := -1
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashEnv+"="+spec)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		killAt := 50 + round*37
		n := 0
		for sc.Scan() {
			var i int
			if _, err := fmt.Sscanf(sc.Text(), "ack %d", &i); err != nil {
				continue
			}
			acked, n = max(acked, i), n+1
			if n == killAt {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
		_ = cmd.Wait()
		if n < killAt {
			t.Fatalf("round %d: the child stopped after %d acknowledgements: %s", round, n, stderr.String())
		}
		e, err := h.Open(spec)
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		var last int
		err = e.View(ctx, func(r engine.Reader) error {
			v, err := r.Get([]byte("crash-last"))
			if err != nil {
				return fmt.Errorf("crash-last: %w", err)
			}
			if last, err = strconv.Atoi(string(v)); err != nil {
				return err
			}
			if last < acked {
				return fmt.Errorf("the last committed write is %d, but %d was acknowledged", last, acked)
			}
			for i := 0; i <= last; i++ {
				v, err := r.Get(numKey("crash/", i))
				if err != nil {
					return fmt.Errorf("write %d (acknowledged up to %d): %w", i, acked, err)
				}
				if len(v) != 100+i%900 {
					return fmt.Errorf("write %d came back with %d bytes", i, len(v))
				}
			}
			// Writes the child committed but did not get to acknowledge count
			// too: the next round goes on from the last one.
			acked = last
			return nil
		})
		if cerr := e.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
}

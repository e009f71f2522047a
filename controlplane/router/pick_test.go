package router

import "testing"

func testRoute(n int) *route {
	r, err := New(nil, Options{})
	if err != nil {
		panic(err)
	}
	rt := &route{r: r}
	for range n {
		rt.backends = append(rt.backends, &backend{drained: make(chan struct{})})
	}
	return rt
}

// TestPickPrefersTheLessBusy: of the two units drawn, the one with fewer
// requests in flight gets the request, so a busy unit gets fewer.
func TestPickPrefersTheLessBusy(t *testing.T) {
	rt := testRoute(2)
	rt.backends[0].inflight.Store(100)
	for range 100 {
		b, i := rt.pick(&triedSet{})
		if i != 1 {
			t.Fatalf("picked backend %d with %d in flight", i, b.inflight.Load())
		}
		b.release()
	}
}

func TestPickSkipsTriedDownAndRetired(t *testing.T) {
	rt := testRoute(5)
	rt.backends[0].retired.Store(true)
	rt.backends[1].markDown(rt.r.nanotime(), int64(rt.r.opts.DownFor))
	var tried triedSet
	tried.add(2)
	seen := map[int]int{}
	for range 200 {
		b, i := rt.pick(&tried)
		if b == nil {
			t.Fatal("no backend picked with two left")
		}
		seen[i]++
		b.release()
	}
	if len(seen) != 2 || seen[3] == 0 || seen[4] == 0 {
		t.Errorf("picked %v, want only 3 and 4", seen)
	}
	tried.add(3)
	tried.add(4)
	if b, _ := rt.pick(&tried); b != nil {
		t.Error("picked a backend with none left")
	}
}

func TestTriedSetBeyond64(t *testing.T) {
	var s triedSet
	for _, i := range []int{0, 63, 64, 200} {
		if s.has(i) {
			t.Fatalf("%d in an empty set", i)
		}
		s.add(i)
		if !s.has(i) {
			t.Fatalf("%d not added", i)
		}
	}
	if s.has(65) || s.has(1) {
		t.Error("set has what was never added")
	}
}

package core

import (
	"context"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/engine"
	"github.com/berthdev/terraform-provider-berth/controlplane/engine/badger"
	"github.com/berthdev/terraform-provider-berth/controlplane/store"
)

var ctx = context.Background()

// memEngine is an empty Badger engine in memory, closed when the test
// ends.
func memEngine(t testing.TB) engine.Engine {
	t.Helper()
	e, err := badger.Open(badger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// memStore is an empty store in memory, closed when the test ends.
func memStore(t testing.TB) *store.Store {
	t.Helper()
	return storeOn(t, memEngine(t))
}

func storeOn(t testing.TB, e engine.Engine) *store.Store {
	t.Helper()
	st, err := store.New(ctx, e, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// clock is a test clock that only moves when told to.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// newCore is a Core over st with a cheap bcrypt and the given clock.
func newCore(t testing.TB, st *store.Store, clk *clock, opts ...Option) *Core {
	t.Helper()
	if clk == nil {
		clk = newClock()
	}
	c, err := New(ctx, st.Persist(), Config{BcryptCost: bcrypt.MinCost}, append([]Option{WithClock(clk.Now)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// userIn signs up email, makes team (when not empty) with the user as its
// member, and returns the user's identity as a session would resolve it.
func userIn(t testing.TB, c *Core, email, team string) *domain.Identity {
	t.Helper()
	if _, err := c.Identity.CreateUser(ctx, email, "secret1"); err != nil {
		t.Fatal(err)
	}
	token, err := c.Identity.Login(ctx, email, "secret1", false)
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Identity.Authenticate(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if team == "" {
		return id
	}
	if _, err := c.Identity.CreateTeam(ctx, id, team); err != nil {
		t.Fatal(err)
	}
	if id, err = c.Identity.Authenticate(ctx, token); err != nil {
		t.Fatal(err)
	}
	return id
}

// must fails the test on err and returns v.
func must[T any](t testing.TB) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

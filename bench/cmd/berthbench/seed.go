package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/engine/badger"
	"github.com/berthdev/terraform-provider-berth/controlplane/store"
)

// offlineSeeder fills the data directory of a stopped berthd with apps and
// stacks, through the same core operations the API calls (CreateApp,
// RequestStack, ReleaseStack) as the users and the project the API made.
//
// Why not over HTTP: Badger v4 syncs its write-ahead log once per
// transaction, even when it writes many transactions' commits together,
// so a server creates apps at the rate of the disk's syncs (a few hundred
// to a thousand a second; the scale section reports it), and 100,000 apps
// would take minutes. The seeder opens the store with badger.Options.BulkLoad
// (commits unsynced, everything synced by Close), which is only sound with
// the server stopped.
type offlineSeeder struct {
	st  *store.Store
	svc *core.Core
}

func openSeeder(ctx context.Context, dataDir string) (*offlineSeeder, error) {
	eng, err := badger.Open(badger.Options{Dir: dataDir, BulkLoad: true})
	if err != nil {
		return nil, err
	}
	st, err := store.New(ctx, eng, store.Options{})
	if err != nil {
		return nil, errors.Join(err, eng.Close())
	}
	svc, err := core.New(ctx, st.Persist(), core.DefaultConfig())
	if err != nil {
		return nil, errors.Join(err, st.Close())
	}
	return &offlineSeeder{st: st, svc: svc}, nil
}

func (s *offlineSeeder) close() error { return s.st.Close() }

// apps creates appName(0) .. appName(n-1), owned by benchTeam, spread over
// the users (one goroutine per user: concurrent creations by one user would
// conflict on its quota record).
func (s *offlineSeeder) apps(ctx context.Context, users []benchUser, n int) (time.Duration, error) {
	ids := make([]*domain.Identity, len(users))
	for i, u := range users {
		id, err := s.svc.Identity.Authenticate(ctx, u.token)
		if err != nil {
			return 0, fmt.Errorf("authenticate %s: %w", u.email, err)
		}
		ids[i] = id
	}
	start := time.Now()
	err := forEach(ctx, len(ids), n, func(w, i int) error {
		_, err := s.svc.Apps.Create(ctx, ids[w], core.NewApp{Name: appName(i), Platform: "go", TeamOwner: benchTeam})
		return err
	})
	return time.Since(start), err
}

// stacks makes n available stacks in the project of key: n requests for
// distinct branches while none is released, each making a new stack, then
// their releases.
func (s *offlineSeeder) stacks(ctx context.Context, key string, n, workers int) (time.Duration, error) {
	p, err := s.svc.Stacks.AuthenticateProjectKey(ctx, key)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	leases := make([]*domain.Stack, n)
	err = forEach(ctx, workers, n, func(_, i int) error {
		l, err := s.svc.Stacks.RequestStack(ctx, p, core.LeaseRequest{Branch: fmt.Sprintf("seed-%d", i)})
		if err == nil {
			leases[i] = l.Stack
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	err = forEach(ctx, workers, n, func(_, i int) error {
		_, err := s.svc.Stacks.ReleaseStack(ctx, p, leases[i].Name, leases[i].Lease.ID)
		return err
	})
	return time.Since(start), err
}

// Package core holds berth's operations: every rule that decides what a
// request may do and what it changes. Each API dialect calls it; it calls the
// store. Nothing here knows about HTTP.
package core

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/store"
)

// Store is what core needs of persistence: transactions over typed
// accessors. *store.Store implements it.
type Store interface {
	View(ctx context.Context, fn func(*store.Tx) error) error
	Update(ctx context.Context, fn func(*store.Tx) error) error
	Ready(ctx context.Context) error
}

// Config holds the tunables of the control plane. Zero values are replaced
// by DefaultConfig's.
type Config struct {
	// DefaultQuota is how many apps a new user may create; -1 is unlimited.
	DefaultQuota int
	// Platforms apps may be created on.
	Platforms []string
	// SessionTTL and LongSessionTTL bound login sessions.
	SessionTTL     time.Duration
	LongSessionTTL time.Duration
	// PasswordResetTTL bounds a password reset token.
	PasswordResetTTL time.Duration
	// BcryptCost for password hashes (tests lower it).
	BcryptCost int
	// AppDomain is the domain app addresses live under (app.<domain>).
	AppDomain string
	// GitHost is where app repositories are said to live.
	GitHost string
	// StackLeaseTTL is how long a stack lease lasts when the request does
	// not say.
	StackLeaseTTL time.Duration
	// PromotionDeadline is how long a promotion may stay pending before the
	// promotions healer fails it.
	PromotionDeadline time.Duration
	// BrokerTimeout bounds each call to a service broker.
	BrokerTimeout time.Duration
}

// DefaultConfig returns the configuration berthd runs with unless told
// otherwise.
func DefaultConfig() Config {
	return Config{
		DefaultQuota:      -1,
		Platforms:         []string{"go", "java", "node", "python", "ruby", "static"},
		SessionTTL:        time.Hour,
		LongSessionTTL:    30 * 24 * time.Hour,
		PasswordResetTTL:  time.Hour,
		BcryptCost:        10,
		AppDomain:         "berth.local",
		GitHost:           "git.berth.local",
		StackLeaseTTL:     6 * time.Hour,
		PromotionDeadline: 30 * time.Minute,
		BrokerTimeout:     10 * time.Second,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.DefaultQuota == 0 {
		c.DefaultQuota = d.DefaultQuota
	}
	if len(c.Platforms) == 0 {
		c.Platforms = d.Platforms
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = d.SessionTTL
	}
	if c.LongSessionTTL == 0 {
		c.LongSessionTTL = d.LongSessionTTL
	}
	if c.PasswordResetTTL == 0 {
		c.PasswordResetTTL = d.PasswordResetTTL
	}
	if c.BcryptCost == 0 {
		c.BcryptCost = d.BcryptCost
	}
	if c.AppDomain == "" {
		c.AppDomain = d.AppDomain
	}
	if c.GitHost == "" {
		c.GitHost = d.GitHost
	}
	if c.StackLeaseTTL == 0 {
		c.StackLeaseTTL = d.StackLeaseTTL
	}
	if c.PromotionDeadline == 0 {
		c.PromotionDeadline = d.PromotionDeadline
	}
	if c.BrokerTimeout == 0 {
		c.BrokerTimeout = d.BrokerTimeout
	}
	return c
}

// Service is the control plane's domain logic over one store.
type Service struct {
	store      Store
	cfg        Config
	log        *slog.Logger
	now        func() time.Time
	signingKey []byte

	bgOnce sync.Once
	bgWG   sync.WaitGroup

	// promotions runs pending promotions (promotions.go).
	promotions promotionRunner
	// stackWriter applies every change to stacks (stacks.go).
	stackWriter stackWriter
	// busy marks apps and instances an operation is working on.
	busy busyRegistry
}

// Option customises a Service.
type Option func(*Service)

// WithClock replaces time.Now (tests move time forward with it).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// New returns a Service over st. It creates the session signing key on the
// first start and loads it afterwards.
func New(ctx context.Context, st Store, cfg Config, opts ...Option) (*Service, error) {
	s := &Service{store: st, cfg: cfg.withDefaults(), log: slog.New(slog.DiscardHandler), now: time.Now}
	for _, o := range opts {
		o(s)
	}
	err := st.Update(ctx, func(tx *store.Tx) error {
		k, err := tx.SigningKey()
		if err != nil || k != nil {
			s.signingKey = k
			return err
		}
		k = make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return err
		}
		s.signingKey = k
		return tx.PutSigningKey(k)
	})
	if err != nil {
		return nil, fmt.Errorf("load signing key: %w", err)
	}
	if err := s.countPromotions(ctx); err != nil {
		return nil, fmt.Errorf("count promotions: %w", err)
	}
	return s, nil
}

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.cfg }

// Ready reports whether the store is usable.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ready(ctx) }

// backgroundTasks are long-running loops an area of core needs (lease
// expiry, promotion runner). Files register them in init.
var backgroundTasks []func(s *Service, ctx context.Context)

// Start runs the background tasks until ctx ends. Wait blocks until they
// have returned.
func (s *Service) Start(ctx context.Context) {
	s.bgOnce.Do(func() {
		for _, task := range backgroundTasks {
			s.bgWG.Add(1)
			go func() {
				defer s.bgWG.Done()
				task(s, ctx)
			}()
		}
	})
}

// Wait blocks until every background task started by Start has returned.
func (s *Service) Wait() { s.bgWG.Wait() }

// randomToken returns n random bytes, hex encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return fmt.Sprintf("%x", b)
}

func forbidden(id *domain.Identity, what string) error {
	return domain.Forbidden("user %q is not allowed to %s", id.Email(), what)
}

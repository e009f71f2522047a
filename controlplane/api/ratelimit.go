package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// AuthLimits bound the public routes that check a password or make one:
// login, sign-up and both steps of the password reset. They share two
// budgets: one per client address and one per account. A budget holds
// Burst attempts and regains one every Every. A login that succeeds gives
// its attempt back, so people who know their password are not held up by
// those who guess; requests with an admin's credential are not counted.
//
// A refused attempt is answered 429 with Retry-After, after RefusalHold
// (or the Retry-After, when shorter): a client that does not wait before
// trying again then makes one attempt per connection and hold, instead of
// taking the CPU from everyone else with a tight loop of refusals. At most
// maxHeldRefusals are held at once; more are answered at once.
//
// The budgets live in this process's memory: with several berthd replicas
// behind one address, a client gets each replica's budget. They protect
// the server's CPU and slow down guessing; nothing correct depends on them.
type AuthLimits struct {
	PerAddressBurst int
	PerAddressEvery time.Duration
	PerAccountBurst int
	PerAccountEvery time.Duration
	// RefusalHold: 0 is the default; negative holds nothing.
	RefusalHold time.Duration
}

// DefaultAuthLimits: per client address 30 attempts, then one a second;
// per account 10, then one every 6 s; refusals held 1 s.
func DefaultAuthLimits() AuthLimits {
	return AuthLimits{PerAddressBurst: 30, PerAddressEvery: time.Second, PerAccountBurst: 10, PerAccountEvery: 6 * time.Second, RefusalHold: time.Second}
}

const maxHeldRefusals = 1024

func (l AuthLimits) withDefaults() AuthLimits {
	d := DefaultAuthLimits()
	if l.PerAddressBurst <= 0 || l.PerAddressEvery <= 0 {
		l.PerAddressBurst, l.PerAddressEvery = d.PerAddressBurst, d.PerAddressEvery
	}
	if l.PerAccountBurst <= 0 || l.PerAccountEvery <= 0 {
		l.PerAccountBurst, l.PerAccountEvery = d.PerAccountBurst, d.PerAccountEvery
	}
	if l.RefusalHold == 0 {
		l.RefusalHold = d.RefusalHold
	}
	return l
}

// maxLimiters bounds each budget table. A flood of new addresses or
// account names first drops the budgets that are full again (forgetting
// them changes nothing), then arbitrary ones.
const maxLimiters = 1 << 16

// limiterSet is one budget per key.
type limiterSet struct {
	every time.Duration
	burst int
	mu    sync.Mutex
	m     map[string]*rate.Limiter
}

func newLimiterSet(burst int, every time.Duration) *limiterSet {
	return &limiterSet{every: every, burst: burst, m: map[string]*rate.Limiter{}}
}

// take reserves one attempt of key's budget at now; a reservation with a
// delay means the budget is spent.
func (ls *limiterSet) take(key string, now time.Time) *rate.Reservation {
	ls.mu.Lock()
	lim := ls.m[key]
	if lim == nil {
		if len(ls.m) >= maxLimiters {
			ls.evict(now)
		}
		lim = rate.NewLimiter(rate.Every(ls.every), ls.burst)
		ls.m[key] = lim
	}
	ls.mu.Unlock()
	return lim.ReserveN(now, 1)
}

func (ls *limiterSet) evict(now time.Time) {
	for k, lim := range ls.m {
		if lim.TokensAt(now) >= float64(ls.burst) {
			delete(ls.m, k)
		}
	}
	for k := range ls.m {
		if len(ls.m) < maxLimiters*3/4 {
			return
		}
		delete(ls.m, k)
	}
}

// authLimiter applies AuthLimits.
type authLimiter struct {
	byAddress *limiterSet
	byAccount *limiterSet
	proxies   []netip.Prefix
	now       func() time.Time
	hold      time.Duration
	held      chan struct{}
}

func newAuthLimiter(l AuthLimits, trustedProxies []netip.Prefix, now func() time.Time) *authLimiter {
	l = l.withDefaults()
	if now == nil {
		now = time.Now
	}
	return &authLimiter{
		byAddress: newLimiterSet(l.PerAddressBurst, l.PerAddressEvery),
		byAccount: newLimiterSet(l.PerAccountBurst, l.PerAccountEvery),
		proxies:   trustedProxies,
		now:       now,
		hold:      l.RefusalHold,
		held:      make(chan struct{}, maxHeldRefusals),
	}
}

// holdRefusal waits before a refusal is answered (see AuthLimits).
func (l *authLimiter) holdRefusal(ctx context.Context, retryAfter time.Duration) {
	d := min(l.hold, retryAfter)
	if d <= 0 {
		return
	}
	select {
	case l.held <- struct{}{}:
	default:
		return
	}
	defer func() { <-l.held }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// authAttempt is one counted attempt; done settles it.
type authAttempt struct {
	at           time.Time
	reservations []*rate.Reservation
}

// done ends the attempt; a successful login gives its attempt back.
// Reservations are cancelled as of the moment they were made: rate only
// gives back what is cancelled before its time to act.
func (a *authAttempt) done(giveBack bool) {
	if !giveBack {
		return
	}
	for _, r := range a.reservations {
		r.CancelAt(a.at)
	}
}

// authAttempt counts a login, sign-up or reset attempt for account (an
// e-mail as the client gave it) from r's client, or refuses it with 429.
func (s *Server) authAttempt(r *http.Request, account string) (*authAttempt, error) {
	if tok := bearerToken(r); tok != "" {
		if id, err := s.core.Identity.Authenticate(r.Context(), tok); err == nil && id.IsAdmin() {
			return &authAttempt{}, nil
		}
	}
	l := s.authLimits
	now := l.now()
	a := &authAttempt{at: now}
	// take counts the attempt in one budget; a spent budget refuses it, and
	// the budgets already counted get it back.
	take := func(set *limiterSet, key, whose string) error {
		res := set.take(key, now)
		a.reservations = append(a.reservations, res)
		if wait := res.DelayFrom(now); wait > 0 {
			for _, r := range a.reservations {
				r.CancelAt(now)
			}
			l.holdRefusal(r.Context(), wait)
			return tooManyAttempts(whose, wait)
		}
		return nil
	}
	if err := take(l.byAddress, l.clientAddress(r), "from your address"); err != nil {
		return nil, err
	}
	// Longer strings are no address: they fail before any password work.
	if account != "" && len(account) <= 254 {
		if err := take(l.byAccount, domain.EmailKey(account), "for this account"); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func tooManyAttempts(whose string, wait time.Duration) error {
	secs := int64(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return &transportError{
		status:     http.StatusTooManyRequests,
		code:       "too_many_requests",
		message:    fmt.Sprintf("too many login, sign-up and password reset attempts %s: try again in %d s", whose, secs),
		retryAfter: secs,
	}
}

// clientAddress is whom an attempt is counted against: the TCP peer, or,
// when the peer is a trusted proxy, the address it reports in
// X-Forwarded-For (the right-most one that is not itself a trusted
// proxy). IPv6 clients are counted by their /64, as one host usually has
// a whole /64 to pick addresses from.
func (l *authLimiter) clientAddress(r *http.Request) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	addr := ap.Addr().Unmap()
	if l.trusted(addr) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			addr = hop.Unmap()
			if !l.trusted(addr) {
				break
			}
		}
	}
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

func (l *authLimiter) trusted(a netip.Addr) bool {
	for _, p := range l.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// CountAuthAttempt counts a sign-in made outside the API, in the web
// console, against the same budgets as the API's login, so that the
// console is no way around them. A spent budget gives an error RetryAfter
// knows; done settles the attempt.
func (s *Server) CountAuthAttempt(r *http.Request, account string) (done func(succeeded bool), err error) {
	a, err := s.authAttempt(r, account)
	if err != nil {
		return nil, err
	}
	return a.done, nil
}

// RetryAfter reports the seconds to wait that a refusal of
// CountAuthAttempt carries.
func RetryAfter(err error) (seconds int64, ok bool) {
	var te *transportError
	if errors.As(err, &te) && te.retryAfter > 0 {
		return te.retryAfter, true
	}
	return 0, false
}

package api_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/api"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// tooMany checks a refusal of the attempt budgets: 429 in berth's error
// shape, with Retry-After in whole seconds; it returns the wait.
func tooMany(t *testing.T, r *berthtest.Response, whose string) time.Duration {
	t.Helper()
	r.Expect(t, http.StatusTooManyRequests)
	var e struct{ Code, Message string }
	r.JSON(t, &e)
	if e.Code != "too_many_requests" || !strings.Contains(e.Message, whose) {
		t.Fatalf("429 body: %s", r.Body)
	}
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	return time.Duration(secs) * time.Second
}

func login(srv *berthtest.Server, t *testing.T, email, password string, header map[string]string) *berthtest.Response {
	return srv.Do(t, berthtest.Call{Method: "POST", Path: "/users/" + email + "/tokens", Body: map[string]string{"password": password}, Header: header})
}

// TestAuthAttemptsPerAccount: berthd's defaults give one account 10
// attempts, then one every 6 s, whatever the address; a successful login
// gives its attempt back; a spent budget refuses the right password too,
// until Retry-After has passed.
func TestAuthAttemptsPerAccount(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewUser(t, "ana@example.com")
	for range 20 {
		login(srv, t, "ana@example.com", ana.Password, nil).Expect(t, 200)
	}
	for i := range 10 {
		// Any case of the address is the same account.
		as := "ana@example.com"
		if i%2 == 1 {
			as = "ANA@example.com"
		}
		login(srv, t, as, "wrong-password", nil).Expect(t, 401)
	}
	wait := tooMany(t, login(srv, t, "ana@example.com", "wrong-password", nil), "for this account")
	if wait > 6*time.Second {
		t.Fatalf("Retry-After %s, want at most 6s", wait)
	}
	tooMany(t, login(srv, t, "ana@example.com", ana.Password, nil), "for this account")
	tooMany(t, srv.Req(t, "POST", "/users/ana@example.com/password", "", nil), "for this account")
	// Another account is not held up.
	bo := srv.NewUser(t, "bo@example.com")
	login(srv, t, "bo@example.com", bo.Password, nil).Expect(t, 200)

	srv.Clock.Advance(wait)
	login(srv, t, "ana@example.com", ana.Password, nil).Expect(t, 200)
}

// TestAuthAttemptsPerAddress: one client address gets 30 attempts, then
// one a second, over sign-ups, logins and resets of any accounts; an
// admin's credential is not counted.
func TestAuthAttemptsPerAddress(t *testing.T) {
	srv := berthtest.Start(t)
	for i := range 30 {
		switch i % 3 {
		case 0:
			srv.Req(t, "POST", "/users", "", map[string]string{"email": fmt.Sprintf("u%d@example.com", i), "password": "s3cret!"}).Expect(t, 200)
		case 1:
			login(srv, t, fmt.Sprintf("nobody%d@example.com", i), "whatever", nil).Expect(t, 404)
		case 2:
			srv.Req(t, "POST", fmt.Sprintf("/users/nobody%d@example.com/password?token=x", i), "", nil).Expect(t, 404)
		}
	}
	wait := tooMany(t, login(srv, t, "someone@example.com", "whatever", nil), "from your address")
	tooMany(t, srv.Req(t, "POST", "/users", "", map[string]string{"email": "late@example.com", "password": "s3cret!"}), "from your address")
	if wait > time.Second {
		t.Fatalf("Retry-After %s, want 1s", wait)
	}
	// An admin provisioning accounts is not counted.
	for i := range 5 {
		srv.Req(t, "POST", "/users", srv.AdminToken, map[string]string{"email": fmt.Sprintf("staff%d@example.com", i), "password": "s3cret!"}).Expect(t, 200)
	}
	// Other routes are not limited.
	srv.Req(t, "GET", "/users/info", srv.AdminToken, nil).Expect(t, 200)

	// A second later there is one attempt again; a login that succeeds
	// gives it back.
	srv.Clock.Advance(wait)
	login(srv, t, "u0@example.com", "s3cret!", nil).Expect(t, 200)
	login(srv, t, "u0@example.com", "wrong!!", nil).Expect(t, 401)
	tooMany(t, login(srv, t, "u0@example.com", "wrong!!", nil), "from your address")
}

// TestAuthAttemptsBehindAProxy: X-Forwarded-For is ignored unless the TCP
// peer is a trusted proxy; then each forwarded client has its own budget.
func TestAuthAttemptsBehindAProxy(t *testing.T) {
	limits := api.AuthLimits{PerAddressBurst: 2, PerAddressEvery: time.Minute, PerAccountBurst: 100, PerAccountEvery: time.Second, RefusalHold: -1}
	direct := berthtest.Start(t, berthtest.WithAuthLimits(limits))
	for i := range 2 {
		login(direct, t, "nobody@example.com", "x", map[string]string{"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", i)}).Expect(t, 404)
	}
	tooMany(t, login(direct, t, "nobody@example.com", "x", map[string]string{"X-Forwarded-For": "203.0.113.99"}), "from your address")

	proxied := berthtest.Start(t, berthtest.WithAuthLimits(limits, netip.MustParsePrefix("127.0.0.0/8")))
	for range 2 {
		login(proxied, t, "nobody@example.com", "x", map[string]string{"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}).Expect(t, 404)
	}
	tooMany(t, login(proxied, t, "nobody@example.com", "x", map[string]string{"X-Forwarded-For": "203.0.113.7"}), "from your address")
	// What the client wrote left of the proxy's entry does not count.
	tooMany(t, login(proxied, t, "nobody@example.com", "x", map[string]string{"X-Forwarded-For": "198.51.100.2, 203.0.113.7"}), "from your address")
	login(proxied, t, "nobody@example.com", "x", map[string]string{"X-Forwarded-For": "203.0.113.8"}).Expect(t, 404)
	// IPv6 clients are counted by /64.
	login(proxied, t, "nobody@example.com", "x", map[string]string{"X-Forwarded-For": "2001:db8:1:2::1"}).Expect(t, 404)
	login(proxied, t, "nobody@example.com", "x", map[string]string{"X-Forwarded-For": "2001:db8:1:2::ffff"}).Expect(t, 404)
	tooMany(t, login(proxied, t, "nobody@example.com", "x", map[string]string{"X-Forwarded-For": "2001:db8:1:2:abcd::1"}), "from your address")
	login(proxied, t, "nobody@example.com", "x", map[string]string{"X-Forwarded-For": "2001:db8:1:3::1"}).Expect(t, 404)
}

// TestRefusalsAreHeld: a refused attempt is answered after the hold (or
// the Retry-After, when shorter), so that a client trying again without
// waiting makes one attempt per hold and connection, not a tight loop.
func TestRefusalsAreHeld(t *testing.T) {
	const hold = 300 * time.Millisecond
	srv := berthtest.Start(t, berthtest.WithAuthLimits(api.AuthLimits{PerAddressBurst: 1, PerAddressEvery: time.Hour, RefusalHold: hold}))
	login(srv, t, "nobody@example.com", "x", nil).Expect(t, 404)
	start := time.Now()
	tooMany(t, login(srv, t, "nobody@example.com", "x", nil), "from your address")
	if took := time.Since(start); took < hold {
		t.Fatalf("the refusal was answered after %s, want at least the %s hold", took, hold)
	}
}

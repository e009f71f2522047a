package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

func TestHealthAndReadinessArePublic(t *testing.T) {
	srv := berthtest.Start(t)
	srv.Req(t, "GET", "/healthz", "", nil).Expect(t, 200)
	srv.Req(t, "GET", "/readyz", "", nil).Expect(t, 200)
	if m := srv.Req(t, "GET", "/openapi.json", "", nil).Expect(t, 200).Map(t); m["openapi"] == nil {
		t.Fatalf("openapi.json has no openapi version: %v", m)
	}
}

func TestUnknownRouteIsJSON404(t *testing.T) {
	srv := berthtest.Start(t)
	r := srv.Req(t, "GET", "/no/such/route", "", nil).Expect(t, 404)
	if !strings.Contains(r.ErrorMessage(t), "no route") {
		t.Fatalf("message: %s", r.Body)
	}
}

func TestCreateUser(t *testing.T) {
	srv := berthtest.Start(t)
	srv.Req(t, "POST", "/users", "", map[string]string{"email": "ana@example.com", "password": "123456"}).Expect(t, 200)

	cases := []struct {
		name string
		body any
		want int
	}{
		{"duplicate email", map[string]string{"email": "ana@example.com", "password": "123456"}, 409},
		{"malformed json", `{"email":`, 400},
		{"not an object", `[1,2]`, 400},
		{"empty body", ``, 400},
		{"bad email", map[string]string{"email": "ana", "password": "123456"}, 400},
		{"email with name", map[string]string{"email": "Ana <ana2@example.com>", "password": "123456"}, 400},
		{"password too short", map[string]string{"email": "bo@example.com", "password": "12345"}, 400},
		{"password too long", map[string]string{"email": "bo@example.com", "password": strings.Repeat("x", 51)}, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := srv.Req(t, "POST", "/users", "", c.body).Expect(t, c.want)
			if r.ErrorMessage(t) == "" {
				t.Fatalf("error without message: %s", r.Body)
			}
		})
	}
	// Boundaries are inclusive: 6 and 50 characters are fine.
	srv.Req(t, "POST", "/users", "", map[string]string{"email": "six@example.com", "password": "abcdef"}).Expect(t, 200)
	srv.Req(t, "POST", "/users", "", map[string]string{"email": "fifty@example.com", "password": strings.Repeat("y", 50)}).Expect(t, 200)
}

func TestLogin(t *testing.T) {
	srv := berthtest.Start(t)
	u := srv.NewUser(t, "ana@example.com")
	srv.Req(t, "GET", "/users/info", u.Token, nil).Expect(t, 200)

	srv.Req(t, "POST", "/users/ana@example.com/tokens", "", map[string]string{"password": ""}).Expect(t, 400)
	srv.Req(t, "POST", "/users/ana@example.com/tokens", "", map[string]any{}).Expect(t, 400)
	srv.Req(t, "POST", "/users/ana@example.com/tokens", "", "{").Expect(t, 400)
	srv.Req(t, "POST", "/users/nobody@example.com/tokens", "", map[string]string{"password": "whatever"}).Expect(t, 404)
	r := srv.Req(t, "POST", "/users/ana@example.com/tokens", "", map[string]string{"password": "wrong-password"}).Expect(t, 401)
	if r.Header.Get("WWW-Authenticate") == "" {
		t.Fatal("401 without WWW-Authenticate")
	}
}

func TestAuthenticationFailures(t *testing.T) {
	srv := berthtest.Start(t)
	u := srv.NewUser(t, "ana@example.com")

	srv.Req(t, "GET", "/teams", "", nil).Expect(t, 401)
	srv.Req(t, "GET", "/teams", "not-a-token", nil).Expect(t, 401)
	srv.Req(t, "GET", "/teams", "a.b.c", nil).Expect(t, 401)
	// A JWT with the right claims but signed with another key.
	forged, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Issuer: "berth", Subject: u.Email, ID: "x", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)),
	}).SignedString([]byte("another key"))
	srv.Req(t, "GET", "/teams", forged, nil).Expect(t, 401)
	// alg=none is refused.
	unsigned, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.RegisteredClaims{
		Issuer: "berth", Subject: u.Email, ID: "x", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)),
	}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	srv.Req(t, "GET", "/teams", unsigned, nil).Expect(t, 401)

	// The scheme is case-insensitive; other schemes are not bearer tokens.
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		srv.Do(t, berthtest.Call{Method: "GET", Path: "/teams", Header: map[string]string{"Authorization": scheme + " " + u.Token}}).Expect(t, 200)
	}
	srv.Do(t, berthtest.Call{Method: "GET", Path: "/teams", Header: map[string]string{"Authorization": "Basic " + u.Token}}).Expect(t, 401)
}

func TestLogoutRevokesTheSession(t *testing.T) {
	srv := berthtest.Start(t)
	u := srv.NewUser(t, "ana@example.com")
	other := srv.Login(t, u.Email, u.Password)

	srv.Req(t, "DELETE", "/users/tokens", u.Token, nil).Expect(t, 200)
	srv.Req(t, "GET", "/teams", u.Token, nil).Expect(t, 401)
	srv.Req(t, "DELETE", "/users/tokens", u.Token, nil).Expect(t, 401)
	// Only the presented session ends.
	srv.Req(t, "GET", "/teams", other, nil).Expect(t, 200)
}

func TestSessionsExpire(t *testing.T) {
	srv := berthtest.Start(t)
	u := srv.NewUser(t, "ana@example.com")
	var long struct{ Token string }
	srv.Req(t, "POST", "/users/ana@example.com/tokens", "", map[string]any{"password": u.Password, "long": true}).Expect(t, 200).JSON(t, &long)

	srv.Clock.Advance(59 * time.Minute)
	srv.Req(t, "GET", "/teams", u.Token, nil).Expect(t, 200)
	srv.Clock.Advance(2 * time.Minute)
	srv.Req(t, "GET", "/teams", u.Token, nil).Expect(t, 401)
	srv.Req(t, "GET", "/teams", long.Token, nil).Expect(t, 200)
	srv.Clock.Advance(30 * 24 * time.Hour)
	srv.Req(t, "GET", "/teams", long.Token, nil).Expect(t, 401)
}

func TestChangePassword(t *testing.T) {
	srv := berthtest.Start(t)
	u := srv.NewUser(t, "ana@example.com")

	srv.Req(t, "PUT", "/users/password", u.Token, "{").Expect(t, 400)
	srv.Req(t, "PUT", "/users/password", u.Token, map[string]string{"old": u.Password}).Expect(t, 400)
	srv.Req(t, "PUT", "/users/password", u.Token, map[string]string{"old": u.Password, "new": "123"}).Expect(t, 400)
	srv.Req(t, "PUT", "/users/password", u.Token, map[string]string{"old": "not-it", "new": "654321"}).Expect(t, 403)
	srv.Req(t, "PUT", "/users/password", u.Token, map[string]string{"old": u.Password, "new": "654321"}).Expect(t, 200)

	srv.Req(t, "POST", "/users/ana@example.com/tokens", "", map[string]string{"password": u.Password}).Expect(t, 401)
	srv.Login(t, u.Email, "654321")
}

func TestDeleteUser(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	bo := srv.NewUser(t, "bo@example.com")

	// Ana is the last member of devs: she must not leave it memberless.
	srv.Req(t, "DELETE", "/users", ana.Token, nil).Expect(t, 409)

	srv.Req(t, "PUT", "/teams/devs/bo@example.com", ana.Token, nil).Expect(t, 200)
	var tok struct{ Token string }
	srv.Req(t, "POST", "/tokens", ana.Token, nil).Expect(t, 200).JSON(t, &tok)
	srv.Req(t, "DELETE", "/users", ana.Token, nil).Expect(t, 200)

	srv.Req(t, "GET", "/teams", ana.Token, nil).Expect(t, 401)
	srv.Req(t, "GET", "/teams", tok.Token, nil).Expect(t, 401)
	srv.Req(t, "POST", "/users/ana@example.com/tokens", "", map[string]string{"password": ana.Password}).Expect(t, 404)
	var team struct{ Users []string }
	srv.Req(t, "GET", "/teams/devs", bo.Token, nil).Expect(t, 200).JSON(t, &team)
	if len(team.Users) != 1 || team.Users[0] != "bo@example.com" {
		t.Fatalf("devs members after ana left: %v", team.Users)
	}
	// The e-mail is free again.
	srv.NewUser(t, "ana@example.com")
}

func TestUserKeys(t *testing.T) {
	srv := berthtest.Start(t)
	u := srv.NewUser(t, "ana@example.com")
	key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ ana@laptop"

	srv.Req(t, "POST", "/users/keys", u.Token, map[string]string{"key": key}).Expect(t, 200)
	srv.Req(t, "POST", "/users/keys", u.Token, map[string]string{"key": key}).Expect(t, 409)
	srv.Req(t, "POST", "/users/keys", u.Token, map[string]string{"key": ""}).Expect(t, 400)
	srv.Req(t, "POST", "/users/keys", u.Token, map[string]string{"key": "my-key", "name": "work"}).Expect(t, 200)

	var keys map[string]string
	srv.Req(t, "GET", "/users/keys", u.Token, nil).Expect(t, 200).JSON(t, &keys)
	if keys["ana@laptop"] != key || keys["work"] != "my-key" || len(keys) != 2 {
		t.Fatalf("keys: %v", keys)
	}
	srv.Req(t, "DELETE", "/users/keys", u.Token, map[string]string{"key": key}).Expect(t, 200)
	srv.Req(t, "DELETE", "/users/keys", u.Token, map[string]string{"key": key}).Expect(t, 404)
	srv.Req(t, "DELETE", "/users/keys", u.Token, nil).Expect(t, 400)
	srv.Req(t, "DELETE", "/users/keys?name=work", u.Token, nil).Expect(t, 200)
	keys = nil
	srv.Req(t, "GET", "/users/keys", u.Token, nil).Expect(t, 200).JSON(t, &keys)
	if len(keys) != 0 {
		t.Fatalf("keys after removal: %v", keys)
	}
}

func TestPasswordReset(t *testing.T) {
	srv := berthtest.Start(t)
	u := srv.NewUser(t, "ana@example.com")

	srv.Req(t, "POST", "/users/nobody@example.com/password", "", nil).Expect(t, 404)

	// Anyone may ask; only an admin sees the token in the answer.
	if m := srv.Req(t, "POST", "/users/ana@example.com/password", "", nil).Expect(t, 200).Map(t); m["token"] != nil {
		t.Fatalf("anonymous caller got the reset token: %v", m)
	}
	if m := srv.Req(t, "POST", "/users/ana@example.com/password", u.Token, nil).Expect(t, 200).Map(t); m["token"] != nil {
		t.Fatalf("non-admin got the reset token: %v", m)
	}
	m := srv.Req(t, "POST", "/users/ana@example.com/password", srv.AdminToken, nil).Expect(t, 200).Map(t)
	token, _ := m["token"].(string)
	if token == "" {
		t.Fatalf("admin got no token: %v", m)
	}

	srv.Req(t, "POST", "/users/ana@example.com/password?token=wrong", "", nil).Expect(t, 403)
	m = srv.Req(t, "POST", "/users/ana@example.com/password?token="+token, "", nil).Expect(t, 200).Map(t)
	password, _ := m["password"].(string)
	if len(password) < 6 {
		t.Fatalf("new password: %v", m)
	}
	srv.Login(t, u.Email, password)
	srv.Req(t, "POST", "/users/ana@example.com/tokens", "", map[string]string{"password": u.Password}).Expect(t, 401)
	// A token works once.
	srv.Req(t, "POST", "/users/ana@example.com/password?token="+token, "", nil).Expect(t, 403)

	// And not after it expires.
	m = srv.Req(t, "POST", "/users/ana@example.com/password", srv.AdminToken, nil).Expect(t, 200).Map(t)
	srv.Clock.Advance(61 * time.Minute)
	srv.Req(t, "POST", "/users/ana@example.com/password?token="+m["token"].(string), "", nil).Expect(t, 403)
}

func TestTeams(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewUser(t, "ana@example.com")
	bo := srv.NewUser(t, "bo@example.com")

	srv.Req(t, "POST", "/teams", ana.Token, map[string]string{"name": "devs"}).Expect(t, 200)
	srv.Req(t, "POST", "/teams", bo.Token, map[string]string{"name": "devs"}).Expect(t, 409)
	srv.Req(t, "POST", "/teams", ana.Token, map[string]string{"name": "1bad"}).Expect(t, 400)
	srv.Req(t, "POST", "/teams", ana.Token, map[string]string{"name": ""}).Expect(t, 400)
	srv.Req(t, "POST", "/teams", ana.Token, "{").Expect(t, 400)
	srv.Req(t, "POST", "/teams", bo.Token, map[string]string{"name": "ops"}).Expect(t, 200)

	var teams []struct{ Name string }
	srv.Req(t, "GET", "/teams", ana.Token, nil).Expect(t, 200).JSON(t, &teams)
	if len(teams) != 1 || teams[0].Name != "devs" {
		t.Fatalf("ana's teams: %v", teams)
	}
	srv.Req(t, "GET", "/teams", srv.AdminToken, nil).Expect(t, 200).JSON(t, &teams)
	if len(teams) != 3 { // admin, devs, ops
		t.Fatalf("admin's teams: %v", teams)
	}

	srv.Req(t, "GET", "/teams/devs", ana.Token, nil).Expect(t, 200)
	srv.Req(t, "GET", "/teams/devs", bo.Token, nil).Expect(t, 403)
	srv.Req(t, "GET", "/teams/devs", srv.AdminToken, nil).Expect(t, 200)
	srv.Req(t, "GET", "/teams/nope", ana.Token, nil).Expect(t, 404)

	// Membership: only members (or admins) change a team.
	srv.Req(t, "PUT", "/teams/devs/bo@example.com", bo.Token, nil).Expect(t, 403)
	srv.Req(t, "PUT", "/teams/devs/nobody@example.com", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "PUT", "/teams/nope/bo@example.com", ana.Token, nil).Expect(t, 404)
	var team struct {
		Name  string
		Users []string
	}
	srv.Req(t, "PUT", "/teams/devs/bo@example.com", ana.Token, nil).Expect(t, 200).JSON(t, &team)
	if len(team.Users) != 2 {
		t.Fatalf("members: %v", team.Users)
	}
	srv.Req(t, "PUT", "/teams/devs/bo@example.com", ana.Token, nil).Expect(t, 409)
	srv.Req(t, "GET", "/teams/devs", bo.Token, nil).Expect(t, 200)

	srv.Req(t, "DELETE", "/teams/devs/nobody@example.com", ana.Token, nil).Expect(t, 404)
	srv.Req(t, "DELETE", "/teams/devs/ana@example.com", bo.Token, nil).Expect(t, 200)
	srv.Req(t, "GET", "/teams/devs", ana.Token, nil).Expect(t, 403)
	// The last member stays.
	srv.Req(t, "DELETE", "/teams/devs/bo@example.com", bo.Token, nil).Expect(t, 409)

	srv.Req(t, "DELETE", "/teams/devs", ana.Token, nil).Expect(t, 403)
	srv.Req(t, "DELETE", "/teams/devs", bo.Token, nil).Expect(t, 200)
	srv.Req(t, "DELETE", "/teams/devs", bo.Token, nil).Expect(t, 404)
	srv.Req(t, "DELETE", "/teams/ops", srv.AdminToken, nil).Expect(t, 200)
}

func TestAppTokens(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")

	var tok struct {
		ID       string `json:"Id"`
		Token    string
		Creation string
		Expires  int
		AppName  string
	}
	srv.Req(t, "POST", "/tokens", ana.Token, map[string]any{"expires": 3600}).Expect(t, 200).JSON(t, &tok)
	if tok.Token == "" || tok.Expires != 3600 || tok.ID == "" {
		t.Fatalf("token: %+v", tok)
	}
	if _, err := time.Parse(time.RFC3339, tok.Creation); err != nil {
		t.Fatalf("Creation %q: %v", tok.Creation, err)
	}
	var info struct{ Email string }
	srv.Req(t, "GET", "/users/info", tok.Token, nil).Expect(t, 200).JSON(t, &info)
	if info.Email != ana.Email {
		t.Fatalf("token acts as %q", info.Email)
	}

	srv.Req(t, "POST", "/tokens", ana.Token, map[string]any{"expires": -1}).Expect(t, 400)
	srv.Req(t, "POST", "/tokens", ana.Token, map[string]any{"app": "nope"}).Expect(t, 404)

	var forever struct{ Token, Id string }
	srv.Req(t, "POST", "/tokens", ana.Token, nil).Expect(t, 200).JSON(t, &forever)

	var list []map[string]any
	srv.Req(t, "GET", "/tokens", ana.Token, nil).Expect(t, 200).JSON(t, &list)
	if len(list) != 2 {
		t.Fatalf("tokens: %v", list)
	}
	for _, l := range list {
		if l["Token"] != nil {
			t.Fatalf("list shows a secret: %v", l)
		}
	}

	srv.Clock.Advance(2 * time.Hour)
	srv.Req(t, "GET", "/users/info", tok.Token, nil).Expect(t, 401)
	srv.Req(t, "GET", "/users/info", forever.Token, nil).Expect(t, 200)
	srv.Req(t, "GET", "/users/info", ana.Token, nil).Expect(t, 401) // her one-hour session ended
	ana.Token = srv.Login(t, ana.Email, ana.Password)

	srv.Req(t, "DELETE", "/tokens/"+forever.Id, ana.Token, nil).Expect(t, 200)
	srv.Req(t, "DELETE", "/tokens/"+forever.Id, ana.Token, nil).Expect(t, 404)
	srv.Req(t, "GET", "/users/info", forever.Token, nil).Expect(t, 401)

	// Logging out with an app token revokes that token.
	srv.Req(t, "POST", "/tokens", ana.Token, nil).Expect(t, 200).JSON(t, &forever)
	srv.Req(t, "DELETE", "/users/tokens", forever.Token, nil).Expect(t, 200)
	srv.Req(t, "GET", "/users/info", forever.Token, nil).Expect(t, 401)
}

func TestBootstrapAdmin(t *testing.T) {
	srv := berthtest.Start(t)
	var info struct {
		Email string
		Teams []string
		Admin bool
	}
	srv.Req(t, "GET", "/users/info", srv.AdminToken, nil).Expect(t, 200).JSON(t, &info)
	if info.Email != "admin@berth.local" || !info.Admin || len(info.Teams) != 1 || info.Teams[0] != "admin" {
		t.Fatalf("admin: %+v", info)
	}
}

func TestRestartKeepsIdentity(t *testing.T) {
	srv := berthtest.Start(t, berthtest.OnDisk(t.TempDir()))
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	var tok struct{ Token string }
	srv.Req(t, "POST", "/tokens", ana.Token, nil).Expect(t, 200).JSON(t, &tok)
	revoked := srv.Login(t, ana.Email, ana.Password)
	srv.Req(t, "DELETE", "/users/tokens", revoked, nil).Expect(t, 200)

	srv.Restart()

	srv.Req(t, "GET", "/teams/devs", ana.Token, nil).Expect(t, 200) // session signed before the restart
	srv.Req(t, "GET", "/teams/devs", tok.Token, nil).Expect(t, 200) // app token
	srv.Req(t, "GET", "/teams/devs", revoked, nil).Expect(t, 401)   // revocation kept
	srv.Req(t, "GET", "/users/info", srv.AdminToken, nil).Expect(t, 200)
	srv.Login(t, ana.Email, ana.Password)
}

func TestBodyLimit(t *testing.T) {
	srv := berthtest.Start(t)
	big := `{"email":"` + strings.Repeat("a", 2<<20) + `@example.com","password":"123456"}`
	srv.Req(t, "POST", "/users", "", big).Expect(t, http.StatusRequestEntityTooLarge)
}

func TestMetrics(t *testing.T) {
	srv := berthtest.Start(t)
	u := srv.NewUser(t, "ana@example.com")
	srv.Req(t, "GET", "/teams", u.Token, nil).Expect(t, 200)
	srv.Req(t, "GET", "/metrics", "", nil).Expect(t, 401)
	srv.Req(t, "GET", "/metrics", u.Token, nil).Expect(t, 403)
	body := string(srv.Req(t, "GET", "/metrics", srv.AdminToken, nil).Expect(t, 200).Body)
	for _, want := range []string{
		`berth_http_requests_total{method="GET",route="/teams",status="200"} 1`,
		`berth_http_requests_total{method="POST",route="/users/{email}/tokens",status="200"} 1`,
		`berth_http_request_duration_seconds_bucket{method="GET",route="/teams"`,
		`berth_store_bytes{part="lsm"}`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

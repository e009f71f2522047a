package api_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// TestEmailsAreOneAccountWhateverTheCase: an address names one account in
// any case: sign-up refuses another case of a taken address, login, reset,
// team membership and quotas take any case, and the account keeps the
// address as it was given.
func TestEmailsAreOneAccountWhateverTheCase(t *testing.T) {
	srv := berthtest.Start(t)
	var created struct{ Email string }
	srv.Req(t, "POST", "/users", "", map[string]string{"email": "Ana@Example.com", "password": "s3cret!"}).Expect(t, 200).JSON(t, &created)
	if created.Email != "Ana@Example.com" {
		t.Fatalf("sign-up answered %q, want the address as given", created.Email)
	}
	srv.Req(t, "POST", "/users", "", map[string]string{"email": "ana@example.com", "password": "other-secret"}).Expect(t, 409)
	srv.Req(t, "POST", "/users", "", map[string]string{"email": "ANA@EXAMPLE.COM", "password": "other-secret"}).Expect(t, 409)

	var info struct{ Email string }
	for _, as := range []string{"ana@example.com", "ANA@EXAMPLE.COM", "Ana@Example.com"} {
		tok := srv.Login(t, as, "s3cret!")
		srv.Req(t, "GET", "/users/info", tok, nil).Expect(t, 200).JSON(t, &info)
		if info.Email != "Ana@Example.com" {
			t.Fatalf("logged in as %s: the account is %q", as, info.Email)
		}
	}
	ana := srv.Login(t, "ana@example.com", "s3cret!")

	bo := srv.NewTeamUser(t, "bo@example.com", "devs")
	var team struct{ Users []string }
	srv.Req(t, "PUT", "/teams/devs/ana@EXAMPLE.com", bo.Token, nil).Expect(t, 200).JSON(t, &team)
	if !slices.Equal(team.Users, []string{"bo@example.com", "Ana@Example.com"}) {
		t.Fatalf("members: %v; want the address as the account has it", team.Users)
	}
	srv.Req(t, "PUT", "/teams/devs/Ana@Example.com", bo.Token, nil).Expect(t, 409)
	srv.Req(t, "GET", "/teams/devs", ana, nil).Expect(t, 200)
	srv.Req(t, "DELETE", "/teams/devs/ANA@example.COM", bo.Token, nil).Expect(t, 200).JSON(t, &team)
	if !slices.Equal(team.Users, []string{"bo@example.com"}) {
		t.Fatalf("members after removing ANA@example.COM: %v", team.Users)
	}
	srv.Req(t, "GET", "/teams/devs", ana, nil).Expect(t, 403)

	srv.Req(t, "GET", "/quota/ANA@example.com", srv.AdminToken, nil).Expect(t, 200)
	m := srv.Req(t, "POST", "/users/aNa@example.com/password", srv.AdminToken, nil).Expect(t, 200).Map(t)
	reset, _ := m["token"].(string)
	m = srv.Req(t, "POST", "/users/ana@Example.com/password?token="+url.QueryEscape(reset), "", nil).Expect(t, 200).Map(t)
	srv.Login(t, "Ana@Example.com", m["password"].(string))
}

// TestEmailsThatBreakPathsAreRefused: an address must stand as one path
// segment (/users/{email}/tokens): '/', '%', '?', '#', spaces, control and
// invisible characters are refused at sign-up, with the rule in the
// message.
func TestEmailsThatBreakPathsAreRefused(t *testing.T) {
	srv := berthtest.Start(t)
	for _, email := range []string{"ana/evil@example.com", "a%2Fb@example.com", "a?b@example.com", "a#b@example.com", "a b@example.com", "ana\u200b@example.com", "ana\x00@example.com", "\"a b\"@example.com", "ana@localhost"} {
		r := srv.Req(t, "POST", "/users", "", map[string]string{"email": email, "password": "s3cret!"}).Expect(t, 400)
		if msg := r.ErrorMessage(t); !strings.Contains(msg, "bare address such as ana@example.com") {
			t.Errorf("sign-up as %q: %s", email, r.Body)
		}
	}
	// Every accepted address logs in through its path.
	for _, email := range []string{"o'brien+ci@mail.example.org", "x_y-z~w!$&*=@a-b.example"} {
		srv.Req(t, "POST", "/users", "", map[string]string{"email": email, "password": "s3cret!"}).Expect(t, 200)
		srv.Req(t, "POST", "/users/"+url.PathEscape(email)+"/tokens", "", map[string]string{"password": "s3cret!"}).Expect(t, 200)
		srv.Req(t, "POST", "/users/"+email+"/tokens", "", map[string]string{"password": "s3cret!"}).Expect(t, 200)
	}
}

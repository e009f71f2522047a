package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/client"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

func newClient(t *testing.T, srv *berthtest.Server, token string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(srv.URL, append([]client.Option{client.WithToken(token), client.WithRetry(2, time.Millisecond, 10*time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewRejectsBadEndpoints(t *testing.T) {
	for _, e := range []string{"", "localhost:8080", "ftp://x", "http://"} {
		if _, err := client.New(e); err == nil {
			t.Errorf("endpoint %q accepted", e)
		}
	}
	if _, err := client.New("http://x", client.WithRetry(1, time.Second, time.Millisecond)); err == nil {
		t.Error("max wait below min wait accepted")
	}
}

func TestUsersTeamsTokens(t *testing.T) {
	ctx := context.Background()
	srv := berthtest.Start(t)
	anon := newClient(t, srv, "")

	if _, err := anon.Users.Create(ctx, "ana@example.com", "secret1"); err != nil {
		t.Fatal(err)
	}
	_, err := anon.Users.Create(ctx, "ana@example.com", "secret1")
	if !client.IsConflict(err) {
		t.Fatalf("duplicate sign-up: %v", err)
	}
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Code != "conflict" || apiErr.Message == "" || apiErr.Method != "POST" || apiErr.Path != "/users" || apiErr.RequestID == "" {
		t.Fatalf("error fields: %+v", apiErr)
	}
	if _, _, err := anon.Users.Login(ctx, "ana@example.com", "wrong!!", false); !client.IsUnauthorized(err) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, _, err := anon.Users.Login(ctx, "nobody@example.com", "wrong!!", false); !client.IsNotFound(err) {
		t.Fatalf("unknown user: %v", err)
	}
	token, _, err := anon.Users.Login(ctx, "ana@example.com", "secret1", false)
	if err != nil {
		t.Fatal(err)
	}
	ana := newClient(t, srv, token)

	info, _, err := ana.Users.Info(ctx)
	if err != nil || info.Email != "ana@example.com" || info.Admin {
		t.Fatalf("info: %+v %v", info, err)
	}
	team, _, err := ana.Teams.Create(ctx, "devs")
	if err != nil || team.Name != "devs" || len(team.Users) != 1 {
		t.Fatalf("create team: %+v %v", team, err)
	}
	if _, err := anon.Users.Create(ctx, "bo@example.com", "secret2"); err != nil {
		t.Fatal(err)
	}
	if team, _, err = ana.Teams.AddMember(ctx, "devs", "bo@example.com"); err != nil || len(team.Users) != 2 {
		t.Fatalf("add member: %+v %v", team, err)
	}
	if team, _, err = ana.Teams.Get(ctx, "devs"); err != nil || len(team.Users) != 2 {
		t.Fatalf("get team: %+v %v", team, err)
	}
	teams, _, err := ana.Teams.List(ctx)
	if err != nil || len(teams) != 1 || teams[0].Name != "devs" {
		t.Fatalf("list teams: %+v %v", teams, err)
	}
	if team, _, err = ana.Teams.RemoveMember(ctx, "devs", "bo@example.com"); err != nil || len(team.Users) != 1 {
		t.Fatalf("remove member: %+v %v", team, err)
	}
	if _, _, err := ana.Teams.Get(ctx, "nope"); !client.IsNotFound(err) {
		t.Fatalf("missing team: %v", err)
	}

	if _, err := ana.Users.AddKey(ctx, "laptop", "ssh-ed25519 AAAA ana@laptop"); err != nil {
		t.Fatal(err)
	}
	keys, _, err := ana.Users.ListKeys(ctx)
	if err != nil || keys["laptop"] != "ssh-ed25519 AAAA ana@laptop" {
		t.Fatalf("keys: %v %v", keys, err)
	}
	if _, err := ana.Users.RemoveKey(ctx, "ssh-ed25519 AAAA ana@laptop"); err != nil {
		t.Fatal(err)
	}
	if _, err := ana.Users.ChangePassword(ctx, "secret1", "secret9"); err != nil {
		t.Fatal(err)
	}
	if _, err := ana.Users.ChangePassword(ctx, "secret1", "secret9"); !client.IsForbidden(err) {
		t.Fatalf("wrong old password: %v", err)
	}

	tok, _, err := ana.Tokens.Create(ctx, "", time.Hour)
	if err != nil || tok.Token == "" || tok.Expires != 3600 {
		t.Fatalf("create token: %+v %v", tok, err)
	}
	robot := newClient(t, srv, tok.Token)
	if info, _, err := robot.Users.Info(ctx); err != nil || info.Email != "ana@example.com" {
		t.Fatalf("app token identity: %+v %v", info, err)
	}
	list, _, err := ana.Tokens.List(ctx)
	if err != nil || len(list) != 1 || list[0].Token != "" {
		t.Fatalf("list tokens: %+v %v", list, err)
	}
	if _, err := ana.Tokens.Revoke(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := robot.Users.Info(ctx); !client.IsUnauthorized(err) {
		t.Fatalf("revoked token: %v", err)
	}

	admin := newClient(t, srv, srv.AdminToken)
	reset, _, err := admin.Users.RequestPasswordReset(ctx, "bo@example.com")
	if err != nil || reset.Token == "" {
		t.Fatalf("reset: %+v %v", reset, err)
	}
	done, _, err := anon.Users.ResetPassword(ctx, "bo@example.com", reset.Token)
	if err != nil || done.Password == "" {
		t.Fatalf("redeem: %+v %v", done, err)
	}
	if _, _, err := anon.Users.Login(ctx, "bo@example.com", done.Password, false); err != nil {
		t.Fatalf("login with reset password: %v", err)
	}

	if _, err := ana.Teams.Delete(ctx, "devs"); err != nil {
		t.Fatal(err)
	}
	if _, err := ana.Users.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ana.Users.Info(ctx); !client.IsUnauthorized(err) {
		t.Fatalf("after logout: %v", err)
	}
	bo, _, _ := anon.Users.Login(ctx, "bo@example.com", done.Password, true)
	if _, err := newClient(t, srv, bo).Users.Delete(ctx); err != nil {
		t.Fatal(err)
	}
}

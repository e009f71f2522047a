package domain

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidateEmail(t *testing.T) {
	good := []string{
		"ana@example.com",
		"Ana.Maria+ci@Example.COM",
		"o'brien@mail.example.org",
		"x_y-z~w!$&*=@a-b.example",
		strings.Repeat("a", 64) + "@example.com",
	}
	bad := []string{
		"",
		"ana",
		"ana@localhost",                          // no dotted domain
		"Ana <ana@example.com>",                  // display name
		"ana/evil@example.com",                   // '/' ends the path segment
		"ana%2F@example.com",                     // '%' would be decoded in a path
		"ana?x@example.com",                      // starts a query
		"ana#x@example.com",                      // starts a fragment
		"a b@example.com",                        // space
		"ana\x00@example.com",                    // NUL
		"ana\n@example.com",                      // control character
		"ana\u200b@example.com",                  // zero-width space
		"ána@example.com",                        // non-ASCII
		`"quoted"@example.com`,                   // quoted local part
		".ana@example.com",                       // empty word
		"ana..b@example.com",                     // empty word
		"ana.@example.com",                       // empty word
		"ana@-example.com",                       // label starts with '-'
		"ana@example-.com",                       // label ends with '-'
		"ana@example..com",                       // empty label
		"ana@ex_ample.com",                       // '_' in the domain
		"ana@example.com@example.com",            // two '@'
		strings.Repeat("a", 65) + "@example.com", // local part over 64
		"a@" + strings.Repeat("b", 64) + ".com",  // label over 63
		"a@" + strings.Repeat(strings.Repeat("b", 60)+".", 5) + "com", // over 254
	}
	for _, s := range good {
		if err := ValidateEmail(s); err != nil {
			t.Errorf("ValidateEmail(%q) = %v, want ok", s, err)
		}
	}
	for _, s := range bad {
		err := ValidateEmail(s)
		if err == nil {
			t.Errorf("ValidateEmail(%q) accepted it", s)
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidateEmail(%q) = %v, not an invalid-input error", s, err)
		}
	}
}

func TestEmailsCompareWithoutCase(t *testing.T) {
	if !SameEmail("Ana@Example.COM", "ana@example.com") || SameEmail("ana@example.com", "anna@example.com") {
		t.Fatal("SameEmail")
	}
	team := &Team{Members: []string{"Ana@Example.com", "bo@example.com"}}
	if !team.HasMember("ana@EXAMPLE.com") {
		t.Fatal("HasMember is case-sensitive")
	}
	team.RemoveMember("ANA@example.com")
	if len(team.Members) != 1 || team.Members[0] != "bo@example.com" {
		t.Fatalf("after RemoveMember: %v", team.Members)
	}
	scope := AppScope{Maintainer: "Ana@Example.com"}
	if !scope.Includes(&App{Maintainers: []Maintainer{{Username: "ana@example.com", Role: RoleOwner}}}) {
		t.Fatal("a maintainer is matched by case")
	}
}

func TestSessionsStandForOneAccountAndGeneration(t *testing.T) {
	u := &User{ID: "u1", SessionGeneration: 3}
	cases := []struct {
		name       string
		userID     string
		generation int64
		session    string
		want       bool
	}{
		{"this account, this generation", "u1", 3, "s1", true},
		{"an earlier account with the address", "u0", 3, "s1", false},
		{"no user id (issued before ids)", "", 3, "s1", false},
		{"an earlier generation", "u1", 2, "s1", false},
	}
	for _, c := range cases {
		if got := u.SessionValid(c.userID, c.generation, c.session); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	u.EndSessions("s-kept")
	if !u.SessionValid("u1", 3, "s-kept") || u.SessionValid("u1", 3, "s-other") || !u.SessionValid("u1", 4, "s-new") {
		t.Fatal("EndSessions(keep): the kept session goes on, the others of its generation end, new ones work")
	}
	u.EndSessions("")
	if u.SessionValid("u1", 3, "s-kept") || u.SessionValid("u1", 4, "s-new") {
		t.Fatal("EndSessions(\"\") ends every session")
	}
}

func TestAppTokenLifetime(t *testing.T) {
	max := int64(MaxAppTokenLifetime / time.Second)
	for _, c := range []struct {
		seconds int64
		want    time.Duration
		ok      bool
	}{
		{0, 0, true},
		{1, time.Second, true},
		{3600, time.Hour, true},
		{max, MaxAppTokenLifetime, true},
		{max + 1, 0, false},
		{-1, 0, false},
		{-9223372036854775808, 0, false}, // once a token that never expired
		{18446744074, 0, false},          // once "Expires":0 and dead at once
		{9223372037, 0, false},           // once refused as "negative"
	} {
		got, err := AppTokenLifetime(c.seconds)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("AppTokenLifetime(%d) = %v, %v", c.seconds, got, err)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("AppTokenLifetime(%d): %v is not an invalid-input error", c.seconds, err)
		}
	}
}

func TestValidateBootstrapToken(t *testing.T) {
	secret := "s3cr3t-but-short"
	for _, c := range []struct {
		tok string
		ok  bool
	}{
		{"x", false},
		{secret, false},
		{strings.Repeat("a", 31), false},
		{strings.Repeat("a", 32), true},
		{"berth_test_admin_token_0123456789abcdef", true},
		{strings.Repeat("A1-._~+/", 8) + "==", true},
		{strings.Repeat("a", 512), true},
		{strings.Repeat("a", 513), false},
		{strings.Repeat("a", 32) + " b", false},
		{strings.Repeat("a", 32) + "\n", false},
		{strings.Repeat("a", 32) + "=b", false},
	} {
		err := ValidateBootstrapToken(c.tok)
		if (err == nil) != c.ok {
			t.Errorf("ValidateBootstrapToken(%d characters) = %v, want ok %v", len(c.tok), err, c.ok)
		}
		if err != nil && len(c.tok) > 4 && strings.Contains(err.Error(), c.tok) {
			t.Errorf("the refusal repeats the secret: %v", err)
		}
	}
}

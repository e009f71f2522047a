package core

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// TestWrongCredentialsCostNoPasswordWork: with every password-hashing slot
// taken (as under a flood of logins), what can be refused without bcrypt
// is refused at once: an unknown user, a taken address, an empty password,
// a wrong or missing reset token. Only a request that needs the password
// work waits for a slot.
func TestWrongCredentialsCostNoPasswordWork(t *testing.T) {
	c := newCore(t, memStore(t), nil)
	id := c.Identity
	if _, err := id.CreateUser(ctx, "ana@example.com", "s3cret!"); err != nil {
		t.Fatal(err)
	}
	reset, err := id.RequestPasswordReset(ctx, "ana@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for range cap(id.hashing) {
		id.hashing <- struct{}{}
	}
	quick := func(what string, want error, f func(context.Context) error) {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := f(cctx); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v without waiting for a hashing slot", what, err, want)
		}
	}
	quick("login of an unknown user", domain.ErrNotFound, func(ctx context.Context) error {
		_, err := id.Login(ctx, "nobody@example.com", "whatever", false)
		return err
	})
	quick("login without a password", domain.ErrInvalid, func(ctx context.Context) error {
		_, err := id.Login(ctx, "ana@example.com", "", false)
		return err
	})
	quick("sign-up of a taken address, in another case", domain.ErrConflict, func(ctx context.Context) error {
		_, err := id.CreateUser(ctx, "ANA@example.com", "s3cret!")
		return err
	})
	quick("reset with a wrong token", domain.ErrForbidden, func(ctx context.Context) error {
		_, err := id.ResetPassword(ctx, "ana@example.com", "wrong")
		return err
	})
	quick("reset of an unknown user", domain.ErrNotFound, func(ctx context.Context) error {
		_, err := id.ResetPassword(ctx, "nobody@example.com", reset)
		return err
	})

	// The right token needs a hash of the new password: it waits.
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := id.ResetPassword(cctx, "ana@example.com", reset); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("reset with the right token while every slot is taken: %v, want it to wait", err)
	}
	for range cap(id.hashing) {
		<-id.hashing
	}
	if _, err := id.ResetPassword(ctx, "ana@example.com", reset); err != nil {
		t.Fatalf("the token still works once a slot is free: %v", err)
	}
}

func TestWeakBootstrapTokenIsRefused(t *testing.T) {
	c := newCore(t, memStore(t), nil)
	for _, tok := range []string{"x", "ci-known-token-1234567890", "with spaces in it but long enough to pass"} {
		if _, err := c.Identity.Bootstrap(ctx, tok); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("Bootstrap(%d characters) = %v, want refused", len(tok), err)
		}
	}
	if _, err := c.Identity.Authenticate(ctx, "x"); err == nil {
		t.Fatal("a refused bootstrap token authenticates")
	}
	const good = "a.bootstrap.token-that-looks-like-a-jwt"
	if issued, err := c.Identity.Bootstrap(ctx, good); err != nil || issued != good {
		t.Fatalf("Bootstrap(good) = %q, %v", issued, err)
	}
	if who, err := c.Identity.Authenticate(ctx, good); err != nil || !who.IsAdmin() {
		t.Fatalf("a bootstrap token with two dots (the shape of a JWT) does not authenticate the admin: %v", err)
	}
}

package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"testing"

	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

func TestEnvDigest(t *testing.T) {
	srv := berthtest.Start(t, berthtest.OnDisk(t.TempDir()))
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	web := createApp(t, srv, ana.Token, "web")
	createApp(t, srv, ana.Token, "api")
	set := func(app string, vars ...map[string]any) []envVar {
		t.Helper()
		var env []envVar
		srv.Req(t, "POST", "/apps/"+app+"/env", ana.Token, vars).Expect(t, 200).JSON(t, &env)
		return env
	}

	answer := set("web",
		map[string]any{"name": "PIN", "value": "1234", "public": false},
		map[string]any{"name": "OTHER_PIN", "value": "1234", "public": false},
		map[string]any{"name": "PORT", "value": "8080"})
	byName := map[string]envVar{}
	for _, v := range answer {
		byName[v.Name] = v
	}
	pin := byName["PIN"]
	if pin.Value != core.MaskedValue || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(pin.Digest) {
		t.Fatalf("PIN in the set answer: %+v", pin)
	}
	if byName["PORT"].Digest != "" {
		t.Fatalf("a public var has a digest: %+v", byName["PORT"])
	}
	// The same value under another name, or in another app, does not give
	// the same digest; nor is the digest a bare hash of the value.
	if byName["OTHER_PIN"].Digest == pin.Digest {
		t.Fatal("two names with the same value share a digest")
	}
	api := set("api", map[string]any{"name": "PIN", "value": "1234", "public": false})
	if api[0].Digest == pin.Digest {
		t.Fatal("two apps with the same value share a digest")
	}
	for _, plain := range []string{"1234", web.ID + "\x00PIN\x00" + "1234"} {
		sum := sha256.Sum256([]byte(plain))
		if pin.Digest == hex.EncodeToString(sum[:]) {
			t.Fatalf("the digest is a bare SHA-256 of %q", plain)
		}
	}

	// Reads agree with the set answer, for members and admins alike.
	if got := getEnv(t, srv, ana.Token, "web")["PIN"]; got.Digest != pin.Digest || got.Value != core.MaskedValue {
		t.Fatalf("member's read: %+v", got)
	}
	if got := getEnv(t, srv, srv.AdminToken, "web")["PIN"]; got.Digest != pin.Digest || got.Value != "1234" {
		t.Fatalf("admin's read: %+v", got)
	}
	var filtered []envVar
	srv.Req(t, "GET", "/apps/web/env?env=PIN", ana.Token, nil).Expect(t, 200).JSON(t, &filtered)
	if len(filtered) != 1 || filtered[0].Digest != pin.Digest {
		t.Fatalf("filtered read: %+v", filtered)
	}

	// A changed value changes the digest; setting it back restores it.
	changed := set("web", map[string]any{"name": "PIN", "value": "9999", "public": false})
	if d := digestOf(changed, "PIN"); d == "" || d == pin.Digest {
		t.Fatalf("digest after a change: %q (was %q)", d, pin.Digest)
	}
	restored := set("web", map[string]any{"name": "PIN", "value": "1234", "public": false})
	if d := digestOf(restored, "PIN"); d != pin.Digest {
		t.Fatalf("digest after restoring the value: %q, want %q", d, pin.Digest)
	}
	// Made public, the var shows its value and loses its digest.
	public := set("web", map[string]any{"name": "PIN", "value": "1234", "public": true})
	if v := findVar(public, "PIN"); v.Digest != "" || v.Value != "1234" {
		t.Fatalf("public PIN: %+v", v)
	}
	set("web", map[string]any{"name": "PIN", "value": "1234", "public": false})

	// The key survives a restart: digests are stable.
	srv.Restart()
	if got := getEnv(t, srv, ana.Token, "web")["PIN"]; got.Digest != pin.Digest {
		t.Fatalf("digest after restart: %q, want %q", got.Digest, pin.Digest)
	}

	// Vars a binding exported are private and carry a digest too; the
	// unset answer carries digests as well.
	srv.Req(t, "POST", "/services", ana.Token, staticManifest).Expect(t, 200)
	createInstance(t, srv, ana.Token, "cache1", "shared-cache")
	srv.Req(t, "PUT", "/services/instances/cache1/web", ana.Token, nil).Expect(t, 200)
	var afterUnset []envVar
	srv.Req(t, "DELETE", "/apps/web/env?env=PORT", ana.Token, nil).Expect(t, 200).JSON(t, &afterUnset)
	if v := findVar(afterUnset, "CACHE_URL"); v.Instance != "cache1" || v.Value != core.MaskedValue || len(v.Digest) != 64 {
		t.Fatalf("CACHE_URL: %+v", v)
	}
	if d := digestOf(afterUnset, "PIN"); d != pin.Digest {
		t.Fatalf("PIN in the unset answer: %q", d)
	}
}

func findVar(env []envVar, name string) envVar {
	for _, v := range env {
		if v.Name == name {
			return v
		}
	}
	return envVar{}
}

func digestOf(env []envVar, name string) string { return findVar(env, name).Digest }

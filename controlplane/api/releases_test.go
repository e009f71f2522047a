package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/store"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

func TestReleases(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	bo := srv.NewTeamUser(t, "bo@example.com", "ops")
	web := createApp(t, srv, ana.Token, "web")
	setConfig(t, srv, "web", map[string]string{"PORT": "8080"})
	err := srv.Instance().Store.Update(context.Background(), func(tx *store.Tx) error {
		a, err := tx.App("web")
		if err != nil {
			return err
		}
		if a.Env == nil {
			a.Env = map[string]domain.EnvVar{}
		}
		a.Env["DATABASE_URL"] = domain.EnvVar{Name: "DATABASE_URL", Value: "postgres://secret", Instance: "db-web", Service: "postgres"}
		return tx.PutApp(a)
	})
	if err != nil {
		t.Fatal(err)
	}

	var r1 releaseWire
	srv.Req(t, "POST", "/apps/web/releases", ana.Token, map[string]string{"image": "registry/web:1", "description": "first"}).
		Expect(t, http.StatusCreated).JSON(t, &r1)
	if uuid.Validate(r1.ID) != nil || r1.Version != 1 || r1.App != web || r1.Image != "registry/web:1" || r1.MetaVersion != "" ||
		r1.Description != "first" || !r1.Current || r1.State != "success" || r1.Promotion != nil {
		t.Fatalf("release: %+v", r1)
	}
	// The config snapshot shows private values masked.
	if len(r1.ConfigVars) != 2 || r1.ConfigVars["PORT"] != "8080" || r1.ConfigVars["DATABASE_URL"] != "*** (private variable)" {
		t.Fatalf("config snapshot: %v", r1.ConfigVars)
	}
	if _, err := time.Parse(time.RFC3339, r1.CreatedAt); err != nil {
		t.Fatalf("created_at %q: %v", r1.CreatedAt, err)
	}
	// By app id, with a lain meta_version; the config changed in between.
	setConfig(t, srv, "web", map[string]string{"WORKERS": "4"})
	var r2 releaseWire
	srv.Req(t, "POST", "/apps/"+web.ID+"/releases", ana.Token, map[string]string{"meta_version": "1435893486-ead17cc"}).
		Expect(t, http.StatusCreated).JSON(t, &r2)
	if r2.Version != 2 || r2.MetaVersion != "1435893486-ead17cc" || r2.Image != "" || len(r2.ConfigVars) != 3 {
		t.Fatalf("second release: %+v", r2)
	}

	for name, body := range map[string]any{
		"neither":     map[string]string{"description": "x"},
		"both":        map[string]string{"image": "a", "meta_version": "b"},
		"space":       map[string]string{"image": "registry/web 1"},
		"too long":    map[string]string{"image": strings.Repeat("x", 513)},
		"malformed":   "{",
		"wrong types": map[string]int{"image": 1},
	} {
		t.Run(name, func(t *testing.T) {
			srv.Req(t, "POST", "/apps/web/releases", ana.Token, body).Expect(t, http.StatusBadRequest)
		})
	}
	srv.Req(t, "POST", "/apps/nope/releases", ana.Token, map[string]string{"image": "x"}).Expect(t, http.StatusNotFound)
	srv.Req(t, "POST", "/apps/web/releases", bo.Token, map[string]string{"image": "x"}).Expect(t, http.StatusForbidden)
	srv.Req(t, "POST", "/apps/web/releases", "", map[string]string{"image": "x"}).Expect(t, http.StatusUnauthorized)
	srv.Req(t, "POST", "/apps/web/releases", srv.AdminToken, map[string]string{"image": "registry/web:3"}).Expect(t, http.StatusCreated)

	list := releases(t, srv, ana.Token, "web")
	if len(list) != 3 || list[0].Version != 3 || list[1].Version != 2 || list[2].Version != 1 || !list[0].Current || list[1].Current {
		t.Fatalf("releases are not newest first: %+v", list)
	}
	r := srv.Req(t, "GET", "/apps/web/releases?limit=2", ana.Token, nil).Expect(t, http.StatusOK)
	r.JSON(t, &list)
	srv.Req(t, "GET", "/apps/web/releases?limit=2&cursor="+r.Header.Get("X-Next-Cursor"), ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &list)
	if len(list) != 1 || list[0].ID != r1.ID {
		t.Fatalf("second page: %+v", list)
	}
	srv.Req(t, "GET", "/apps/web/releases", bo.Token, nil).Expect(t, http.StatusForbidden)
	srv.Req(t, "GET", "/apps/nope/releases", ana.Token, nil).Expect(t, http.StatusNotFound)

	var got releaseWire
	srv.Req(t, "GET", "/apps/web/releases/"+r1.ID, ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &got)
	if got.ID != r1.ID || got.Current {
		t.Fatalf("by id: %+v", got)
	}
	srv.Req(t, "GET", "/apps/web/releases/2", ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &got)
	if got.ID != r2.ID {
		t.Fatalf("by version: %+v", got)
	}
	srv.Req(t, "GET", "/apps/web/releases/9", ana.Token, nil).Expect(t, http.StatusNotFound)
	srv.Req(t, "GET", "/apps/web/releases/"+uuid.NewString(), ana.Token, nil).Expect(t, http.StatusNotFound)
	srv.Req(t, "GET", "/apps/web/releases/"+r1.ID, bo.Token, nil).Expect(t, http.StatusForbidden)
	// A release id is only found under its own app.
	createApp(t, srv, ana.Token, "api")
	srv.Req(t, "GET", "/apps/api/releases/"+r1.ID, ana.Token, nil).Expect(t, http.StatusNotFound)
}

func TestReleaseStatuses(t *testing.T) {
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	bo := srv.NewTeamUser(t, "bo@example.com", "ops")
	createApp(t, srv, ana.Token, "web")
	rel := createRelease(t, srv, ana.Token, "web", "registry/web:1")
	path := "/apps/web/releases/" + rel.ID + "/statuses"

	// What a CI job sends with curl.
	var st statusWire
	srv.Req(t, "POST", path, ana.Token, map[string]string{
		"context": "ci/circleci", "name": "CircleCI", "state": "pending",
		"description": "build running", "target_url": "https://ci.example.com/builds/1",
	}).Expect(t, http.StatusCreated).JSON(t, &st)
	if uuid.Validate(st.ID) != nil || st.Release.ID != rel.ID || st.Context != "ci/circleci" || st.Name != "CircleCI" ||
		st.State != "pending" || st.Description != "build running" || st.TargetURL != "https://ci.example.com/builds/1" {
		t.Fatalf("status: %+v", st)
	}
	var got releaseWire
	srv.Req(t, "GET", "/apps/web/releases/"+rel.ID, ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &got)
	if got.State != "pending" {
		t.Fatalf("combined state with a pending status: %q", got.State)
	}

	srv.Req(t, "POST", path, ana.Token, map[string]string{"context": "ci/circleci", "state": "success"}).Expect(t, http.StatusConflict)
	cases := map[string]any{
		"short context":   map[string]string{"context": "ci/x", "state": "success"},
		"long context":    map[string]string{"context": "ci/" + strings.Repeat("x", 29), "state": "success"},
		"context chars":   map[string]string{"context": "ci/under_score", "state": "success"},
		"no context":      map[string]string{"state": "success"},
		"no state":        map[string]string{"context": "licenses/mit-check"},
		"unknown state":   map[string]string{"context": "licenses/mit-check", "state": "green"},
		"bad target_url":  map[string]string{"context": "licenses/mit-check", "state": "success", "target_url": "ftp://x"},
		"control in name": map[string]string{"context": "licenses/mit-check", "state": "success", "name": "a\x00b"},
		"malformed":       "{",
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) { srv.Req(t, "POST", path, ana.Token, body).Expect(t, http.StatusBadRequest) })
	}
	srv.Req(t, "POST", path, bo.Token, map[string]string{"context": "licenses/mit-check", "state": "success"}).Expect(t, http.StatusForbidden)
	srv.Req(t, "POST", "/apps/web/releases/"+uuid.NewString()+"/statuses", ana.Token, map[string]string{"context": "licenses/mit-check", "state": "success"}).Expect(t, http.StatusNotFound)
	// Contexts are as Akkeris allows: letters, digits and ./\+- only; by version.
	var lic statusWire
	srv.Req(t, "POST", "/apps/web/releases/1/statuses", ana.Token, map[string]string{"context": `licenses\mit+v1.0`, "state": "failure"}).
		Expect(t, http.StatusCreated).JSON(t, &lic)
	if lic.Name != `licenses\mit+v1.0` || lic.Release.ID != rel.ID {
		t.Fatalf("name defaults to the context: %+v", lic)
	}

	// PATCH changes the state.
	var patched statusWire
	srv.Req(t, "PATCH", path+"/"+st.ID, ana.Token, map[string]string{"state": "success", "description": "green"}).Expect(t, http.StatusOK).JSON(t, &patched)
	if patched.ID != st.ID || patched.State != "success" || patched.Description != "green" || patched.Name != "CircleCI" || patched.TargetURL != st.TargetURL {
		t.Fatalf("patched: %+v", patched)
	}
	srv.Req(t, "PATCH", path+"/"+lic.ID, ana.Token, map[string]string{"state": "success"}).Expect(t, http.StatusOK)
	srv.Req(t, "GET", "/apps/web/releases/"+rel.ID, ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &got)
	if got.State != "success" {
		t.Fatalf("combined state: %q", got.State)
	}
	srv.Req(t, "PATCH", path+"/"+st.ID, ana.Token, map[string]string{"state": "error"}).Expect(t, http.StatusOK)
	srv.Req(t, "GET", "/apps/web/releases/"+rel.ID, ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &got)
	if got.State != "failure" {
		t.Fatalf("combined state with an error: %q", got.State)
	}
	srv.Req(t, "PATCH", path+"/"+st.ID, ana.Token, map[string]string{"state": "done"}).Expect(t, http.StatusBadRequest)
	srv.Req(t, "PATCH", path+"/"+st.ID, ana.Token, map[string]string{}).Expect(t, http.StatusBadRequest)
	srv.Req(t, "PATCH", path+"/"+st.ID, ana.Token, map[string]string{"context": "ci/another", "state": "success"}).Expect(t, http.StatusBadRequest)
	srv.Req(t, "PATCH", path+"/"+uuid.NewString(), ana.Token, map[string]string{"state": "success"}).Expect(t, http.StatusNotFound)
	srv.Req(t, "PATCH", path+"/"+st.ID, bo.Token, map[string]string{"state": "success"}).Expect(t, http.StatusForbidden)

	var list []statusWire
	srv.Req(t, "GET", path, ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &list)
	if len(list) != 2 || list[0].ID != st.ID || list[0].State != "error" || list[1].ID != lic.ID {
		t.Fatalf("statuses: %+v", list)
	}
	r := srv.Req(t, "GET", path+"?limit=1", ana.Token, nil).Expect(t, http.StatusOK)
	r.JSON(t, &list)
	if len(list) != 1 || r.Header.Get("X-Next-Cursor") != st.ID {
		t.Fatalf("page 1: %+v %q", list, r.Header.Get("X-Next-Cursor"))
	}
	srv.Req(t, "GET", path+"?limit=1&cursor="+st.ID, ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &list)
	if len(list) != 1 || list[0].ID != lic.ID {
		t.Fatalf("page 2: %+v", list)
	}
	srv.Req(t, "GET", path, bo.Token, nil).Expect(t, http.StatusForbidden)
	srv.Req(t, "GET", path+"/"+lic.ID, ana.Token, nil).Expect(t, http.StatusOK).JSON(t, &got)
	srv.Req(t, "GET", path+"/"+uuid.NewString(), ana.Token, nil).Expect(t, http.StatusNotFound)
	srv.Req(t, "GET", path+"/"+lic.ID, bo.Token, nil).Expect(t, http.StatusForbidden)
}

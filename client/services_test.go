package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/berthdev/terraform-provider-berth/client"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// newProvisioningBroker is a tsuru-protocol broker whose instances are
// always still being provisioned: creation succeeds, status is pending.
func newProvisioningBroker(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /resources", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusCreated) })
	mux.HandleFunc("DELETE /resources/{name}", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("GET /resources/{name}/status", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) })
	b := httptest.NewServer(mux)
	t.Cleanup(b.Close)
	return b
}

func TestServicesAndInstances(t *testing.T) {
	ctx := context.Background()
	srv := berthtest.Start(t)
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	srv.NewTeamUser(t, "bo@example.com", "ops")
	c := newClient(t, srv, ana.Token)
	broker := newProvisioningBroker(t)

	svc, _, err := c.Services.Create(ctx, client.ServiceManifest{ID: "cache", Team: "devs", Env: map[string]string{"CACHE_URL": "redis://cache"}})
	if err != nil || svc.ID != "cache" || svc.Env["CACHE_URL"] != "redis://cache" || len(svc.OwnerTeams) != 1 {
		t.Fatalf("create: %+v %v", svc, err)
	}
	if _, _, err := c.Services.Create(ctx, client.ServiceManifest{ID: "cache"}); !client.IsConflict(err) {
		t.Fatalf("duplicate: %v", err)
	}
	brokered := client.ServiceManifest{ID: "queue", Password: "pw", Endpoint: map[string]string{"production": broker.URL}}
	if _, _, err := c.Services.Create(ctx, brokered); err != nil {
		t.Fatal(err)
	}
	brokered.Endpoint["test"] = "http://test.invalid"
	if svc, _, err = c.Services.Update(ctx, brokered); err != nil || svc.Endpoint["test"] == "" || svc.Username != "" {
		t.Fatalf("update: %+v %v", svc, err)
	}
	if svc, _, err = c.Services.Get(ctx, "queue"); err != nil || svc.Endpoint["production"] != broker.URL {
		t.Fatalf("get: %+v %v", svc, err)
	}
	if _, err := c.Services.SetDoc(ctx, "cache", "A shared Redis.\n"); err != nil {
		t.Fatal(err)
	}
	if doc, _, err := c.Services.Doc(ctx, "cache"); err != nil || doc != "A shared Redis.\n" {
		t.Fatalf("doc: %q %v", doc, err)
	}
	if _, err := c.Services.Grant(ctx, "cache", "ops"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Services.Grant(ctx, "cache", "ops"); !client.IsConflict(err) {
		t.Fatalf("grant twice: %v", err)
	}
	if _, err := c.Services.Revoke(ctx, "cache", "ops"); err != nil {
		t.Fatal(err)
	}

	inst, _, err := c.Instances.Create(ctx, client.CreateInstanceRequest{Name: "cache1", Service: "cache", Owner: "devs"})
	if err != nil || inst.Name != "cache1" || inst.Service != "cache" || len(inst.Teams) != 1 {
		t.Fatalf("create instance: %+v %v", inst, err)
	}
	if _, _, err := c.Instances.Create(ctx, client.CreateInstanceRequest{Name: "q1", Service: "queue"}); err != nil {
		t.Fatal(err)
	}
	if st, _, err := c.Instances.Status(ctx, "q1"); err != nil || st.Status != "pending" || st.Service != "queue" {
		t.Fatalf("status: %+v %v", st, err)
	}
	if _, _, err := c.Apps.Create(ctx, client.CreateAppRequest{Name: "web", Platform: "go"}); err != nil {
		t.Fatal(err)
	}
	vars, _, err := c.Instances.Bind(ctx, "cache1", "web")
	if err != nil || vars["CACHE_URL"] != "redis://cache" {
		t.Fatalf("bind: %v %v", vars, err)
	}
	if inst, _, err = c.Instances.Get(ctx, "cache1"); err != nil || len(inst.Apps) != 1 || inst.Apps[0] != "web" {
		t.Fatalf("get instance: %+v %v", inst, err)
	}
	if _, err := c.Instances.Delete(ctx, "cache1"); !client.IsConflict(err) {
		t.Fatalf("delete while bound: %v", err)
	}
	if _, err := c.Instances.Unbind(ctx, "cache1", "web"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Instances.BindOfService(ctx, "queue", "cache1", "web"); !client.IsNotFound(err) {
		t.Fatalf("bind through the wrong service: %v", err)
	}
	if vars, _, err = c.Instances.BindOfService(ctx, "cache", "cache1", "web"); err != nil || len(vars) != 1 {
		t.Fatalf("bind of service: %v %v", vars, err)
	}
	if _, err := c.Instances.UnbindOfService(ctx, "cache", "cache1", "web"); err != nil {
		t.Fatal(err)
	}

	list, _, err := c.Instances.List(ctx, nil)
	if err != nil || len(list) != 2 || list[0].Service != "cache" || list[0].Instances[0] != "cache1" || list[1].Instances[0] != "q1" {
		t.Fatalf("instances: %+v %v", list, err)
	}
	owned, resp, err := c.Services.List(ctx, &client.ListOptions{Limit: 1})
	if err != nil || len(owned) != 1 || owned[0].Service != "cache" || resp.NextCursor == "" {
		t.Fatalf("services page: %+v %v", owned, err)
	}
	summaries, _, err := c.Services.Instances(ctx, "cache", nil)
	if err != nil || len(summaries) != 1 || summaries[0].Name != "cache1" || summaries[0].ServiceName != "cache" {
		t.Fatalf("service instances: %+v %v", summaries, err)
	}

	if _, err := c.Services.Delete(ctx, "cache"); !client.IsForbidden(err) {
		t.Fatalf("delete with instances: %v", err)
	}
	for _, name := range []string{"cache1", "q1"} {
		if _, err := c.Instances.Delete(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := c.Instances.Get(ctx, "cache1"); !client.IsNotFound(err) {
		t.Fatalf("deleted instance: %v", err)
	}
	for _, name := range []string{"cache", "queue"} {
		if _, err := c.Services.Delete(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
}

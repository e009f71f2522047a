package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/berthdev/terraform-provider-berth/client"
)

// queueBroker is a service broker speaking the tsuru service protocol on
// a loopback port. It keeps its instances and bindings and refuses calls
// without its credentials.
type queueBroker struct {
	*httptest.Server
	user string

	mu        sync.Mutex
	password  string
	instances map[string]map[string]bool // instance -> bound apps
}

func newQueueBroker(t *testing.T, user, password string) *queueBroker {
	b := &queueBroker{user: user, password: password, instances: map[string]map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /resources", b.authorized(func(w http.ResponseWriter, r *http.Request) {
		name := r.PostFormValue("name")
		if _, ok := b.instances[name]; ok {
			w.WriteHeader(http.StatusConflict)
			return
		}
		b.instances[name] = map[string]bool{}
		w.WriteHeader(http.StatusCreated)
	}))
	mux.HandleFunc("DELETE /resources/{name}", b.authorized(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := b.instances[r.PathValue("name")]; !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		delete(b.instances, r.PathValue("name"))
	}))
	mux.HandleFunc("POST /resources/{name}/bind-app", b.authorized(func(w http.ResponseWriter, r *http.Request) {
		apps, ok := b.instances[r.PathValue("name")]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		apps[r.PostFormValue("app-name")] = true
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]string{"QUEUE_URL": "amqp://queue.internal/" + r.PathValue("name")})
	}))
	mux.HandleFunc("DELETE /resources/{name}/bind-app", b.authorized(func(w http.ResponseWriter, r *http.Request) {
		apps, ok := b.instances[r.PathValue("name")]
		if !ok || !apps[r.FormValue("app-name")] {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		delete(apps, r.FormValue("app-name"))
	}))
	mux.HandleFunc("GET /resources/{name}/status", b.authorized(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := b.instances[r.PathValue("name")]; !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Server = httptest.NewServer(mux)
	t.Cleanup(b.Close)
	return b
}

func (b *queueBroker) authorized(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		defer b.mu.Unlock()
		if user, password, ok := r.BasicAuth(); !ok || user != b.user || password != b.password {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		h(w, r)
	}
}

func (b *queueBroker) setPassword(p string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.password = p
}

// has checks the broker's instances and the apps bound to each.
func (b *queueBroker) has(want map[string][]string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		b.mu.Lock()
		defer b.mu.Unlock()
		got := map[string][]string{}
		for inst, apps := range b.instances {
			got[inst] = []string{}
			for app := range apps {
				got[inst] = append(got[inst], app)
			}
		}
		if len(got) != len(want) {
			return fmt.Errorf("broker has %v, want %v", got, want)
		}
		for inst, apps := range want {
			if g, ok := got[inst]; !ok || !sameStrings(g, apps) {
				return fmt.Errorf("broker has %v, want %v", got, want)
			}
		}
		return nil
	}
}

func brokeredConfig(brokerURL, password string) string {
	return fmt.Sprintf(`
resource "berth_service" "q" {
  id        = "queue"
  team      = "devs"
  endpoints = { production = %[1]q }
  username  = "berth"
  password  = %[2]q
  doc       = "A message queue per app."
}

resource "berth_service_instance" "i" {
  name    = "queue-1"
  service = berth_service.q.id
  team    = "devs"
}

resource "berth_service_binding" "b" {
  instance = berth_service_instance.i.name
  app      = "web"
}
`, brokerURL, password)
}

// TestAccServiceBroker manages a brokered service end to end, as a team
// member: berthd calls the broker with the service's credentials to
// create, bind, unbind and remove the instance, and a password changed in
// Terraform reaches it.
func TestAccServiceBroker(t *testing.T) {
	testPreCheck(t)
	srv, admin := accServer(t)
	ctx := context.Background()
	// The provider acts as an ordinary member of devs, not as an admin.
	ana := srv.NewTeamUser(t, "ana@example.com", "devs")
	createApp(t, admin, "web", "devs")
	broker := newQueueBroker(t, "berth", "s3cret")
	cfg := providerConfig(srv, ana.Token)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy: resource.ComposeTestCheckFunc(
			broker.has(map[string][]string{}),
			func(*terraform.State) error {
				if _, _, err := admin.Services.Get(ctx, "queue"); !client.IsNotFound(err) {
					return fmt.Errorf("service still exists after destroy: %v", err)
				}
				return nil
			},
		),
		Steps: []resource.TestStep{
			{
				Config: cfg + brokeredConfig(broker.URL, "s3cret"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("berth_service.q", tfjsonpath.New("endpoints"),
						knownvalue.MapExact(map[string]knownvalue.Check{"production": knownvalue.StringExact(broker.URL)})),
					statecheck.ExpectKnownValue("berth_service.q", tfjsonpath.New("env"), knownvalue.Null()),
					statecheck.ExpectKnownValue("berth_service_binding.b", tfjsonpath.New("exported_vars"),
						knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("QUEUE_URL")})),
				},
				Check: resource.ComposeTestCheckFunc(
					broker.has(map[string][]string{"queue-1": {"web"}}),
					boundOnServer(admin, "queue-1", "web", map[string]string{"QUEUE_URL": "amqp://queue.internal/queue-1"}),
				),
			},
			{
				// berthd never answers the password: an import has none.
				ResourceName:            "berth_service.q",
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"password"},
			},
			{
				// The broker's password rotates; Terraform sends the new one.
				PreConfig: func() { broker.setPassword("n3w-s3cret") },
				Config:    cfg + brokeredConfig(broker.URL, "n3w-s3cret"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("berth_service.q", plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("berth_service_instance.i", plancheck.ResourceActionNoop),
						plancheck.ExpectResourceAction("berth_service_binding.b", plancheck.ResourceActionNoop),
					},
				},
				Check: func(*terraform.State) error {
					st, _, err := admin.Instances.Status(ctx, "queue-1")
					if err != nil {
						return err
					}
					if st.Status != "up" {
						return fmt.Errorf("status %q, want up", st.Status)
					}
					return nil
				},
			},
		},
	})
}

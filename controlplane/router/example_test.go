package router_test

import (
	"context"
	"log"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthdev/terraform-provider-berth/controlplane/router"
	"github.com/berthdev/terraform-provider-berth/controlplane/runtime"
)

// How berthd wires the router: one Router behind its own listener, and a
// route source that builds a Table whenever apps or units change.
func Example() {
	reg := prometheus.NewRegistry() // berthd's, served at /metrics
	r, err := router.New(reg, router.Options{Domain: "localhost", Logger: slog.Default()})
	if err != nil {
		log.Fatal(err)
	}
	// No WriteTimeout: responses may stream for as long as the unit sends.
	srv := &http.Server{Addr: ":8888", Handler: r, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { _ = srv.ListenAndServe() }()

	// The route source, for each app record (its IP is <app>.<domain>,
	// what swap exchanges along with the cnames) and the units the runtime
	// reports:
	var units []runtime.Unit
	table, err := router.NewTable([]router.App{{
		ID:        "0b0e0f4e",
		Name:      "web",
		Hostnames: append([]string{"web.localhost"}, "www.example.com"),
		Backends:  router.StartedBackends(units, "web"),
	}})
	if err != nil {
		log.Fatal(err)
	}
	r.Update(table)

	// A rollout step of the reconciler, once the new unit is in the table:
	// Update without the old unit, let its requests finish, stop it.
	oldAddress := "127.0.0.1:32768"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.WaitDrained(ctx, oldAddress); err != nil {
		log.Print(err)
	}
}

// Command app is the tiny HTTP app berth's tests run as a unit: it tells
// which app, version and unit answered, shows its environment on request,
// and can be told to crash at start. testimage builds it into an image.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// version is baked at build time (-ldflags "-X main.version=..."); the
// APP_VERSION environment variable, when set, wins over it.
var version = "dev"

func main() {
	if os.Getenv("CRASH_AT_START") == "1" {
		fmt.Fprintln(os.Stderr, "testapp: CRASH_AT_START=1, exiting with code 1")
		os.Exit(1)
	}
	if v := os.Getenv("APP_VERSION"); v != "" {
		version = v
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"app":     os.Getenv("APP_NAME"),
			"version": version,
			"unit":    os.Getenv("HOSTNAME"),
		})
	})
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, version)
	})
	mux.HandleFunc("GET /env/{name}", func(w http.ResponseWriter, r *http.Request) {
		v, ok := os.LookupEnv(r.PathValue("name"))
		if !ok {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, v)
	})

	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testapp:", err)
		os.Exit(2)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(os.Stderr, "testapp: version %s listening on :%s\n", version, port)

	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case err := <-done:
		fmt.Fprintln(os.Stderr, "testapp:", err)
		os.Exit(2)
	case <-sig:
	}
	// Shutdown stops accepting at once and waits for the requests in
	// flight; the runtime kills us when its grace period ends anyway.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "testapp: shutdown:", err)
		os.Exit(2)
	}
	fmt.Fprintln(os.Stderr, "testapp: stopped")
}

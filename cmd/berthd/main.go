// Command berthd runs the berth control plane.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane"
	"github.com/berthdev/terraform-provider-berth/controlplane/core"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "berthd:", err)
		}
		os.Exit(1)
	}
}

type options struct {
	listen            string
	dataDir           string
	inMemory          bool
	logFormat         string
	logLevel          string
	defaultQuota      int
	platforms         string
	shutdownTimeout   time.Duration
	gcInterval        time.Duration
	stackLeaseTTL     time.Duration
	promotionDeadline time.Duration
	brokerTimeout     time.Duration
	pprof             string
	timeouts          serverTimeouts
}

// serverTimeouts bound how long a connection may hold the server. Reading
// headers has a short bound of its own, so that a client trickling its
// headers (slow-loris) is cut off quickly; the body and the answer get a
// longer one, and an idle keep-alive connection is closed after a while.
type serverTimeouts struct {
	readHeader, read, write, idle time.Duration
}

// parseFlags reads flags, then fills every flag not given on the command
// line from its environment variable: --data-dir from BERTH_DATA_DIR, etc.
func parseFlags(args []string, stderr io.Writer, getenv func(string) string) (*options, error) {
	def := core.DefaultConfig()
	o := &options{}
	fs := flag.NewFlagSet("berthd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to serve HTTP on")
	fs.StringVar(&o.dataDir, "data-dir", "./berth-data", "directory of the Badger database")
	fs.BoolVar(&o.inMemory, "in-memory", false, "keep all data in memory (tests and demos; nothing survives a restart)")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.IntVar(&o.defaultQuota, "default-quota", def.DefaultQuota, "apps a new user may create (-1: unlimited)")
	fs.StringVar(&o.platforms, "platforms", strings.Join(def.Platforms, ","), "comma-separated platforms apps may use")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long to let in-flight requests finish on shutdown")
	fs.DurationVar(&o.gcInterval, "gc-interval", 10*time.Minute, "how often to garbage-collect Badger's value log")
	fs.DurationVar(&o.stackLeaseTTL, "stack-lease-ttl", def.StackLeaseTTL, "lifetime of a stack lease when the request sets no ttl")
	fs.DurationVar(&o.promotionDeadline, "promotion-deadline", def.PromotionDeadline, "how long a promotion may stay pending before it is failed")
	fs.DurationVar(&o.brokerTimeout, "broker-timeout", def.BrokerTimeout, "timeout of each call to a service broker")
	fs.DurationVar(&o.timeouts.readHeader, "read-header-timeout", 10*time.Second, "how long a client may take to send a request's headers")
	fs.DurationVar(&o.timeouts.read, "read-timeout", 60*time.Second, "how long a client may take to send a whole request, body included")
	fs.DurationVar(&o.timeouts.write, "write-timeout", 60*time.Second, "how long serving a request may take, from the end of its headers to the last byte of the answer")
	fs.DurationVar(&o.timeouts.idle, "idle-timeout", 120*time.Second, "how long an idle keep-alive connection stays open")
	fs.StringVar(&o.pprof, "pprof", "", "serve net/http/pprof on this loopback address, e.g. 127.0.0.1:6060 (off when empty)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: berthd [flags]\n\nEvery flag can also be set by its environment variable, e.g. --data-dir by BERTH_DATA_DIR.\nBERTH_BOOTSTRAP_TOKEN sets the admin token created on first start.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		env := "BERTH_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(env); v != "" && !given[f.Name] && err == nil {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("invalid %s=%q: %w", env, v, e)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if o.pprof != "" {
		if err := checkLoopback(o.pprof); err != nil {
			return nil, fmt.Errorf("invalid --pprof: %w", err)
		}
	}
	for name, d := range map[string]time.Duration{"read-header-timeout": o.timeouts.readHeader, "read-timeout": o.timeouts.read, "write-timeout": o.timeouts.write, "idle-timeout": o.timeouts.idle} {
		if d <= 0 {
			return nil, fmt.Errorf("invalid --%s %s: must be positive (0 would mean no limit)", name, d)
		}
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return nil, fmt.Errorf("invalid --log-format %q: must be text or json", o.logFormat)
	}
	return o, nil
}

func newLogger(o *options, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, fmt.Errorf("invalid --log-level %q", o.logLevel)
	}
	hopts := &slog.HandlerOptions{Level: level}
	if o.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, hopts)), nil
	}
	return slog.New(slog.NewTextHandler(w, hopts)), nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	o, err := parseFlags(args, stderr, getenv)
	if err != nil {
		return err
	}
	log, err := newLogger(o, stderr)
	if err != nil {
		return err
	}
	cfg := core.DefaultConfig()
	cfg.DefaultQuota = o.defaultQuota
	cfg.Platforms = splitList(o.platforms)
	cfg.StackLeaseTTL = o.stackLeaseTTL
	cfg.PromotionDeadline = o.promotionDeadline
	cfg.BrokerTimeout = o.brokerTimeout
	if !o.inMemory {
		if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
			return fmt.Errorf("create data dir: %w", err)
		}
	}
	bootstrapToken := getenv("BERTH_BOOTSTRAP_TOKEN")
	inst, err := controlplane.Open(ctx, controlplane.Config{
		DataDir:        o.dataDir,
		InMemory:       o.inMemory,
		Core:           cfg,
		Logger:         log,
		BootstrapToken: bootstrapToken,
		GCInterval:     o.gcInterval,
	})
	if err != nil {
		return err
	}
	if inst.IssuedAdminToken != "" {
		if err := announceAdminToken(o, inst.IssuedAdminToken, bootstrapToken != "", stdout); err != nil {
			_ = inst.Close()
			return err
		}
	}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		_ = inst.Close()
		return err
	}
	srv := &http.Server{
		Handler:           inst.API,
		ReadHeaderTimeout: o.timeouts.readHeader,
		ReadTimeout:       o.timeouts.read,
		WriteTimeout:      o.timeouts.write,
		IdleTimeout:       o.timeouts.idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	inst.Start()
	if o.pprof != "" {
		stopPprof, err := servePprof(o.pprof, log)
		if err != nil {
			_ = inst.Close()
			return err
		}
		defer stopPprof()
	}
	log.Info("berthd listening", "addr", "http://"+ln.Addr().String(), "data_dir", dataDirLabel(o), "pid", os.Getpid())

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		_ = inst.Close()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", "timeout", o.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	shutdownErr := srv.Shutdown(sctx)
	if err := inst.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	log.Info("stopped")
	return shutdownErr
}

// announceAdminToken shows the admin token of a first start, once, and
// keeps it in <data-dir>/admin-token readable by the owner only.
func announceAdminToken(o *options, token string, fromEnv bool, stdout io.Writer) error {
	where := ""
	if !o.inMemory {
		path := filepath.Join(o.dataDir, "admin-token")
		if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
			return fmt.Errorf("write admin token: %w", err)
		}
		where = " (saved in " + path + ")"
	}
	if fromEnv {
		fmt.Fprintf(stdout, "berthd: first start: admin user admin@berth.local created; its token is the value of BERTH_BOOTSTRAP_TOKEN%s\n", where)
		return nil
	}
	fmt.Fprintf(stdout, "berthd: first start: admin user admin@berth.local created\nberthd: admin token (shown once)%s:\n\n    %s\n\n", where, token)
	return nil
}

func dataDirLabel(o *options) string {
	if o.inMemory {
		return "(in memory)"
	}
	return o.dataDir
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Command berthd runs the berth control plane.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane"
	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/router"
)

// version and commit are set by goreleaser's ldflags
// (-X main.version=... -X main.commit=...).
var (
	version = "dev"
	commit  = ""
)

func main() {
	// Buffered for two: the first signal starts the graceful shutdown, the
	// second stops at once.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	os.Exit(berthd(os.Args[1:], sigs, os.Stdout, os.Stderr, os.Getenv))
}

// berthd runs the command line args and returns the exit status: 0, 1 when
// berthd failed, 2 for a command line it cannot run with. Every error is
// printed once, on stderr.
func berthd(args []string, sigs <-chan os.Signal, stdout, stderr io.Writer, getenv func(string) string) int {
	var err error
	if len(args) > 0 && args[0] == "healthcheck" {
		err = healthcheck(args[1:], stdout, getenv)
	} else {
		err = run(sigs, args, stdout, stderr, getenv)
	}
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "berthd: %v\nRun 'berthd --help' for the flags.\n", err)
		return 2
	default:
		fmt.Fprintln(stderr, "berthd:", err)
		return 1
	}
}

// versionString is what --version prints.
func versionString() string {
	v, c, dirty := version, commit, ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version // go install ...@version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && c == "":
				c = s.Value
			case s.Key == "vcs.modified" && s.Value == "true":
				dirty = "-dirty"
			}
		}
	}
	if len(c) > 12 {
		c = c[:12]
	}
	if c != "" {
		c = "commit " + c + dirty + ", "
	}
	return fmt.Sprintf("berthd %s (%s%s, %s/%s)", v, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func newLogger(o *options, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, usageErrorf("invalid --log-level %q: expected debug, info, warn or error", o.logLevel)
	}
	hopts := &slog.HandlerOptions{Level: level}
	if o.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, hopts)), nil
	}
	return slog.New(slog.NewTextHandler(w, hopts)), nil
}

// errForcedStop is run's answer when a second signal cut the graceful
// shutdown short.
var errForcedStop = errors.New("stopped at once by a second signal: requests still in flight were cut off")

// run serves until the first signal on sigs, then shuts down gracefully;
// a second signal stops at once.
func run(sigs <-chan os.Signal, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	o, err := parseFlags(args, getenv)
	switch {
	case errors.Is(err, errHelp):
		printUsage(stdout)
		return nil
	case errors.Is(err, errVersion):
		fmt.Fprintln(stdout, versionString())
		return nil
	case err != nil:
		return err
	}
	log, err := newLogger(o, stderr)
	if err != nil {
		return err
	}
	bootstrapToken := getenv("BERTH_BOOTSTRAP_TOKEN")
	if bootstrapToken != "" {
		if err := domain.ValidateBootstrapToken(bootstrapToken); err != nil {
			return usageErrorf("invalid BERTH_BOOTSTRAP_TOKEN: %v", err)
		}
	}
	cfg := core.DefaultConfig()
	cfg.DefaultQuota = o.defaultQuota
	cfg.Platforms = splitList(o.platforms)
	cfg.StackLeaseTTL = o.stackLeaseTTL
	cfg.PromotionDeadline = o.promotionDeadline
	cfg.BrokerTimeout = o.brokerTimeout
	cfg.ImageRegistry = o.imageRegistry
	cfg.AppDomain = o.routerDomain

	// The listener comes first: when the address is taken, berthd stops
	// before it touches the data directory, so a first start that fails
	// here creates no admin token nobody will see.
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("%w (is another berthd running? choose another address with --listen)", err)
	}
	defer ln.Close()
	var routerLn net.Listener
	if o.routerListen != "" {
		if routerLn, err = net.Listen("tcp", o.routerListen); err != nil {
			return fmt.Errorf("router: %w (choose another address with --router-listen)", err)
		}
		defer routerLn.Close()
	}

	if !o.inMemory {
		if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
			return fmt.Errorf("create data dir: %w", err)
		}
	}
	rt := o.runtime
	if rt == "auto" {
		rt = controlplane.RuntimeDocker
		if err := controlplane.DockerAnswers(3 * time.Second); err != nil {
			rt = controlplane.RuntimeNone
			log.Info("runtime: none: apps are records only, nothing runs them (--runtime auto found no Docker Engine; start one or set DOCKER_HOST, then restart)", "reason", err)
		}
	}
	switch rt {
	case controlplane.RuntimeDocker:
		log.Info("runtime: docker: units run as containers of the Docker Engine", "docker_host", cmp.Or(getenv("DOCKER_HOST"), "the default socket"))
	case controlplane.RuntimeKubernetes:
		log.Info("runtime: kubernetes: procs run as Deployments", "kubeconfig", cmp.Or(o.kube.Kubeconfig, "in-cluster"), "namespace_mode", o.kube.NamespaceMode)
	case controlplane.RuntimeNone:
		if o.runtime == controlplane.RuntimeNone {
			log.Info("runtime: none: apps are records only, nothing runs them (--runtime none)")
		}
	}
	inst, err := controlplane.Open(context.Background(), controlplane.Config{
		DataDir:              o.dataDir,
		InMemory:             o.inMemory,
		Core:                 cfg,
		Logger:               log,
		BootstrapToken:       bootstrapToken,
		GCInterval:           o.gcInterval,
		Runtime:              rt,
		Kubernetes:           o.kube,
		Router:               routerOptions(o),
		ConsoleSecureCookies: o.consoleSecureCookies,
		TrustedProxies:       o.trustedProxies,
	})
	if err != nil {
		return err
	}
	if err := announceAdminToken(o, inst.IssuedAdminToken, bootstrapToken != "", stdout); err != nil {
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
	log.Info("berthd listening", "addr", "http://"+listenAddr(o.listen, ln.Addr()), "data_dir", dataDirLabel(o), "version", version, "pid", os.Getpid())

	serveErr := make(chan error, 2)
	go func() { serveErr <- srv.Serve(ln) }()
	var routerSrv *http.Server
	if routerLn != nil {
		// No write timeout: an app's answer may stream for as long as it
		// sends.
		routerSrv = &http.Server{
			Handler:           inst.Router,
			ReadHeaderTimeout: o.timeouts.readHeader,
			IdleTimeout:       o.timeouts.idle,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
		go func() { serveErr <- routerSrv.Serve(routerLn) }()
		log.Info("router listening", "addr", "http://"+listenAddr(o.routerListen, routerLn.Addr()), "domain", o.routerDomain)
	}
	select {
	case err := <-serveErr:
		_ = inst.Close()
		return err
	case sig := <-sigs:
		log.Info("shutting down: finishing in-flight requests; signal again to stop at once", "signal", sig.String(), "timeout", o.shutdownTimeout)
	}
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	shutdown := make(chan error, 1)
	go func() {
		if routerSrv != nil {
			_ = routerSrv.Shutdown(sctx)
		}
		shutdown <- srv.Shutdown(sctx)
	}()
	var stopErr error
	select {
	case err := <-shutdown:
		if err != nil {
			stopErr = fmt.Errorf("shutdown: requests still in flight after --shutdown-timeout %s were cut off: %w", shortDuration(o.shutdownTimeout), err)
		}
	case sig := <-sigs:
		log.Warn("second signal: stopping at once", "signal", sig.String())
		cancel()
		stopErr = errForcedStop
	}
	if stopErr != nil {
		// Whatever is still open (the grace ran out, or a second signal)
		// is cut off before the store closes under it.
		_ = srv.Close()
	}
	if err := inst.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	log.Info("stopped")
	return stopErr
}

// listenAddr is the address berthd serves on as the operator wrote it,
// with the port the system chose for port 0: --listen 0.0.0.0:8080 is
// reported as 0.0.0.0:8080, not as the [::]:8080 Go's dual-stack listener
// would show.
func listenAddr(flagValue string, actual net.Addr) string {
	host, _, err := net.SplitHostPort(flagValue)
	_, port, err2 := net.SplitHostPort(actual.String())
	if err != nil || err2 != nil {
		return actual.String()
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return net.JoinHostPort(host, port)
}

const adminTokenFile = "admin-token"

// announceAdminToken says, on stdout, where the admin token is: on a first
// start it shows the token made up for the admin and keeps it in
// <data-dir>/admin-token, readable by the owner only; on every later start
// it says where that file is.
func announceAdminToken(o *options, issued string, fromEnv bool, stdout io.Writer) error {
	path := filepath.Join(o.dataDir, adminTokenFile)
	if issued != "" {
		switch {
		case fromEnv:
			fmt.Fprintf(stdout, "berthd: first start: created the admin user admin@berth.local (team admin); its token is the value of BERTH_BOOTSTRAP_TOKEN\n")
		case o.inMemory:
			fmt.Fprintf(stdout, "berthd: first start: created the admin user admin@berth.local (team admin) with this token:\n\n    %s\n\nberthd: the admin token is kept nowhere else (--in-memory): copy it now, it goes when berthd stops\n", issued)
		default:
			fmt.Fprintf(stdout, "berthd: first start: created the admin user admin@berth.local (team admin) with this token:\n\n    %s\n\n", issued)
		}
		if o.inMemory {
			return nil
		}
		if err := os.WriteFile(path, []byte(issued+"\n"), 0o600); err != nil {
			return fmt.Errorf("write admin token: %w", err)
		}
	} else if _, err := os.Stat(path); o.inMemory || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	fmt.Fprintf(stdout, "berthd: the admin token is kept in %s (readable by its owner only)\n", path)
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

// healthcheck is the `berthd healthcheck` command, for a container's
// HEALTHCHECK (an image without a shell or curl): it GETs /healthz of the
// local berthd and succeeds on a 200.
func healthcheck(args []string, stdout io.Writer, getenv func(string) string) error {
	fs := newFlagSet("berthd healthcheck")
	var url string
	var timeout time.Duration
	listen := getenv("BERTH_LISTEN")
	if listen == "" {
		listen = "127.0.0.1:8080"
	}
	fs.stringVar(&url, "url", "http://"+localAddr(listen)+"/healthz", "URL", "the URL to check (default: /healthz on the address of BERTH_LISTEN)")
	fs.durationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, errHelp) {
			fmt.Fprintln(stdout, "Usage: berthd healthcheck [--url URL] [--timeout DURATION]\n\nExits 0 when URL (default: /healthz on the address of BERTH_LISTEN) answers 200, else 1.")
			return nil
		}
		return &usageError{msg: flagError(err)}
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	c := &http.Client{Timeout: timeout}
	resp, err := c.Get(url)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: GET %s answered %s", url, resp.Status)
	}
	fmt.Fprintf(stdout, "healthy: GET %s answered %s\n", url, resp.Status)
	return nil
}

// localAddr is where a process on the same machine reaches a berthd that
// listens on addr: an address that means every interface is reached on
// the loopback one.
func localAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func routerOptions(o *options) *router.Options {
	if o.routerListen == "" {
		return nil
	}
	return &router.Options{Domain: o.routerDomain}
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane"
	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/controlplane/runtime/kubernetes"
)

type options struct {
	listen               string
	dataDir              string
	inMemory             bool
	logFormat            string
	logLevel             string
	defaultQuota         int
	platforms            string
	shutdownTimeout      time.Duration
	gcInterval           time.Duration
	stackLeaseTTL        time.Duration
	promotionDeadline    time.Duration
	brokerTimeout        time.Duration
	pprof                string
	consoleSecureCookies bool
	runtime              string
	imageRegistry        string
	routerListen         string
	routerDomain         string
	kube                 kubernetes.Options
	timeouts             serverTimeouts
	trustedProxies       []netip.Prefix
}

// serverTimeouts bound how long a connection may hold the server. Reading
// headers has a short bound of its own, so that a client trickling its
// headers (slow-loris) is cut off quickly; the body and the answer get a
// longer one, and an idle keep-alive connection is closed after a while.
type serverTimeouts struct {
	readHeader, read, write, idle time.Duration
}

// errHelp and errVersion are what parseFlags answers for --help and
// --version: run prints the usage or the version on stdout and exits 0.
var (
	errHelp    = flag.ErrHelp
	errVersion = errors.New("version requested")
)

// usageError is a command line berthd cannot run with: main prints it once,
// with a pointer to --help, and exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

// flagSet is berthd's flag.FlagSet plus what the usage text needs: the
// order the flags were defined in and a placeholder for each value.
type flagSet struct {
	*flag.FlagSet
	order []string
	meta  map[string]string
}

func newFlagSet(name string) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), meta: map[string]string{}}
	// The flag package prints its errors and the usage itself; berthd
	// prints them once, its own way.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

func (fs *flagSet) add(v flag.Value, name, meta, usage string) {
	fs.Var(v, name, usage)
	fs.order = append(fs.order, name)
	fs.meta[name] = meta
}

func (fs *flagSet) stringVar(p *string, name, def, meta, usage string) {
	*p = def
	fs.add((*stringValue)(p), name, meta, usage)
}

func (fs *flagSet) boolVar(p *bool, name string, def bool, usage string) {
	*p = def
	fs.add((*boolValue)(p), name, "", usage)
}

func (fs *flagSet) intVar(p *int, name string, def int, usage string) {
	*p = def
	fs.add((*intValue)(p), name, "N", usage)
}

func (fs *flagSet) durationVar(p *time.Duration, name string, def time.Duration, usage string) {
	*p = def
	fs.add((*durationValue)(p), name, "DURATION", usage)
}

// The values below say what they expect when given something else (the
// flag package's own say only "parse error").

type stringValue string

func (s *stringValue) Set(v string) error { *s = stringValue(v); return nil }
func (s *stringValue) String() string     { return string(*s) }

type boolValue bool

func (b *boolValue) Set(v string) error {
	x, err := strconv.ParseBool(v)
	if err != nil {
		return errors.New("expected true or false")
	}
	*b = boolValue(x)
	return nil
}
func (b *boolValue) String() string   { return strconv.FormatBool(bool(*b)) }
func (b *boolValue) IsBoolFlag() bool { return true }

type intValue int

func (i *intValue) Set(v string) error {
	x, err := strconv.Atoi(v)
	if err != nil {
		return errors.New("expected a whole number such as 10 or -1")
	}
	*i = intValue(x)
	return nil
}
func (i *intValue) String() string { return strconv.Itoa(int(*i)) }

// prefixListValue is a comma-separated list of addresses and CIDR ranges.
type prefixListValue []netip.Prefix

func (l *prefixListValue) Set(v string) error {
	var out []netip.Prefix
	for _, item := range splitList(v) {
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return fmt.Errorf("%q is neither an address nor a CIDR range such as 10.0.0.0/8", item)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	*l = out
	return nil
}

func (l *prefixListValue) String() string {
	parts := make([]string, len(*l))
	for i, p := range *l {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

type durationValue time.Duration

func (d *durationValue) Set(v string) error {
	x, err := time.ParseDuration(v)
	if err != nil {
		return errors.New("expected a duration such as 6h, 30m or 90s (a number and a unit: ms, s, m or h)")
	}
	*d = durationValue(x)
	return nil
}
func (d *durationValue) String() string { return shortDuration(time.Duration(*d)) }

// shortDuration writes 30s rather than 30s, 6h rather than 6h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// envName is the environment variable of a flag: --data-dir is
// BERTH_DATA_DIR.
func envName(flagName string) string {
	return "BERTH_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func defineFlags(o *options) (fs *flagSet, version *bool) {
	def := core.DefaultConfig()
	fs = newFlagSet("berthd")
	fs.stringVar(&o.listen, "listen", "127.0.0.1:8080", "ADDR", "address to serve HTTP on; 0.0.0.0:8080 for every interface")
	fs.stringVar(&o.dataDir, "data-dir", "./berth-data", "DIR", "directory of the Badger database (created if missing)")
	fs.boolVar(&o.inMemory, "in-memory", false, "keep all data in memory (tests and demos; nothing survives a restart)")
	fs.stringVar(&o.logFormat, "log-format", "text", "FORMAT", "log format: text or json")
	fs.stringVar(&o.logLevel, "log-level", "info", "LEVEL", "log level: debug, info, warn or error")
	fs.intVar(&o.defaultQuota, "default-quota", def.DefaultQuota, "apps a new user may create (-1: unlimited)")
	fs.stringVar(&o.platforms, "platforms", strings.Join(def.Platforms, ","), "LIST", "comma-separated platforms apps may use")
	fs.durationVar(&o.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long to let in-flight requests finish on shutdown (a second signal stops at once)")
	fs.durationVar(&o.gcInterval, "gc-interval", 10*time.Minute, "how often to garbage-collect Badger's value log")
	fs.durationVar(&o.stackLeaseTTL, "stack-lease-ttl", def.StackLeaseTTL, "lifetime of a stack lease when the request sets no ttl")
	fs.durationVar(&o.promotionDeadline, "promotion-deadline", def.PromotionDeadline, "how long a promotion may stay pending before it is failed")
	fs.durationVar(&o.brokerTimeout, "broker-timeout", def.BrokerTimeout, "timeout of each call to a service broker")
	fs.durationVar(&o.timeouts.readHeader, "read-header-timeout", 10*time.Second, "how long a client may take to send a request's headers")
	fs.durationVar(&o.timeouts.read, "read-timeout", 60*time.Second, "how long a client may take to send a whole request, body included")
	fs.durationVar(&o.timeouts.write, "write-timeout", 60*time.Second, "how long serving a request may take, from the end of its headers to the last byte of the answer")
	fs.durationVar(&o.timeouts.idle, "idle-timeout", 120*time.Second, "how long an idle keep-alive connection stays open")
	fs.stringVar(&o.runtime, "runtime", "auto", "RUNTIME", "what runs apps: docker (the Docker Engine of DOCKER_HOST), kubernetes (--kubeconfig's cluster), none (units are records only), or auto: docker when an engine answers, else none")
	fs.stringVar(&o.kube.Kubeconfig, "kubeconfig", "", "FILE", "with --runtime kubernetes: kubeconfig of the cluster (empty: the in-cluster configuration)")
	fs.stringVar((*string)(&o.kube.NamespaceMode), "kube-namespace-mode", string(kubernetes.OneNamespace), "MODE", "with --runtime kubernetes: one (every app in --kube-namespace) or team (a namespace per team)")
	fs.stringVar(&o.kube.Namespace, "kube-namespace", "berth", "NAME", "with --runtime kubernetes: the namespace of apps (mode one), or of apps without a team (mode team)")
	fs.stringVar(&o.kube.NamespacePrefix, "kube-namespace-prefix", "berth-", "PREFIX", "with --runtime kubernetes and mode team: what team namespaces are named with")
	fs.stringVar(&o.routerListen, "router-listen", "", "ADDR", "serve apps at their addresses on ADDR (e.g. 127.0.0.1:8088): a request for <app>.<router-domain> goes to the app's started units (off when empty)")
	fs.stringVar(&o.routerDomain, "router-domain", "localhost", "DOMAIN", "the domain of app addresses: app web answers at web.DOMAIN (*.localhost reaches this machine without DNS)")
	fs.stringVar(&o.imageRegistry, "image-registry", def.ImageRegistry, "HOST", "registry of lain images: a release at meta_version V of app A runs HOST/A:release-V")
	fs.boolVar(&o.consoleSecureCookies, "console-secure-cookies", false, "mark the web console's cookies Secure on plain http too: set it when a TLS-terminating proxy serves berthd over https (over TLS they are Secure anyway)")
	fs.add((*prefixListValue)(&o.trustedProxies), "trusted-proxies", "LIST", "comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For names the client, for the login limits (none: the TCP peer is the client)")
	fs.stringVar(&o.pprof, "pprof", "", "ADDR", "serve net/http/pprof on this loopback address, e.g. 127.0.0.1:6060 (off when empty)")
	version = fs.Bool("version", false, "print the version and exit")
	return fs, version
}

// parseFlags reads flags, then fills every flag not given on the command
// line from its environment variable: --data-dir from BERTH_DATA_DIR, etc.
// It answers errHelp for -h/--help and errVersion for --version; every
// other error is a *usageError.
func parseFlags(args []string, getenv func(string) string) (*options, error) {
	o := &options{}
	fs, version := defineFlags(o)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, &usageError{msg: flagError(err)}
	}
	if *version {
		return nil, errVersion
	}
	if fs.NArg() > 0 {
		return nil, usageErrorf("unexpected argument %q (berthd takes flags only, and the command healthcheck)", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, name := range fs.order {
		env := envName(name)
		if v := getenv(env); v != "" && !given[name] {
			if err := fs.Lookup(name).Value.Set(v); err != nil {
				return nil, usageErrorf("invalid %s=%q: %v", env, v, err)
			}
		}
	}
	if o.pprof != "" {
		if err := checkLoopback(o.pprof); err != nil {
			return nil, usageErrorf("invalid --pprof: %v", err)
		}
	}
	for _, d := range []struct {
		name  string
		value time.Duration
	}{{"read-header-timeout", o.timeouts.readHeader}, {"read-timeout", o.timeouts.read}, {"write-timeout", o.timeouts.write}, {"idle-timeout", o.timeouts.idle}} {
		if d.value <= 0 {
			return nil, usageErrorf("invalid --%s %s: must be positive (0 would mean no limit)", d.name, d.value)
		}
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return nil, usageErrorf("invalid --log-format %q: expected text or json", o.logFormat)
	}
	switch o.runtime {
	case "auto", controlplane.RuntimeDocker, controlplane.RuntimeKubernetes, controlplane.RuntimeNone:
	default:
		return nil, usageErrorf("invalid --runtime %q: expected docker, kubernetes, none or auto", o.runtime)
	}
	switch o.kube.NamespaceMode {
	case kubernetes.OneNamespace, kubernetes.NamespacePerTeam:
	default:
		return nil, usageErrorf("invalid --kube-namespace-mode %q: expected %s or %s", o.kube.NamespaceMode, kubernetes.OneNamespace, kubernetes.NamespacePerTeam)
	}
	return o, nil
}

var flagNameInError = regexp.MustCompile(`(for |argument: |unknown flag )-([A-Za-z])`)

// flagError rewrites the flag package's messages the way berthd's flags are
// written in its help and docs: --name, not -name.
func flagError(err error) string {
	msg := err.Error()
	msg = strings.Replace(msg, "flag provided but not defined: ", "unknown flag ", 1)
	msg = strings.Replace(msg, " for flag -", " for -", 1)
	return flagNameInError.ReplaceAllString(msg, "$1--$2")
}

// printUsage writes the help: every flag with its environment variable and
// default, in the order of the README's table.
func printUsage(w io.Writer) {
	fs, _ := defineFlags(&options{})
	fmt.Fprint(w, `Usage:
  berthd [flags]                 serve the berth control plane
  berthd healthcheck [--url URL] exit 0 when a berthd answers GET /healthz with 200, else 1

Every flag can also be set by the environment variable shown beside it;
a flag on the command line wins over its variable.

Flags:
`)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, name := range fs.order {
		f := fs.Lookup(name)
		left := "  --" + name
		if m := fs.meta[name]; m != "" {
			left += " " + m
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" {
			def = " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s%s\n", left, envName(name), f.Usage, def)
	}
	fmt.Fprintf(tw, "  --version\t\tprint the version and exit\n")
	fmt.Fprintf(tw, "  -h, --help\t\tprint this help and exit\n")
	_ = tw.Flush()
	fmt.Fprint(w, `
Environment only:
  BERTH_BOOTSTRAP_TOKEN  the admin token to create on first start (CI), 32 to 512
                         characters (letters, digits, -._~+/); otherwise berthd
                         makes one up, prints it and keeps it in DIR/admin-token

Signals: SIGINT or SIGTERM stop accepting connections and let in-flight
requests finish (--shutdown-timeout); a second signal stops at once.
`)
}

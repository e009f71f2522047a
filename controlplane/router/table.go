package router

import (
	"cmp"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/berthdev/terraform-provider-berth/controlplane/runtime"
)

// Backend is one started unit of an app, where the router sends requests.
type Backend struct {
	// UnitID names the unit in logs; the router does not use it otherwise.
	UnitID string
	// Address is host:port, reachable from berthd. Two apps listing the
	// same address share that backend's connections and health.
	Address string
}

// App is what NewTable builds a route from: an app, the hostnames it
// answers at (its <app>.<domain> address and its cnames, as swap left
// them) and its started units.
type App struct {
	ID   string
	Name string
	// Hostnames are compared case-insensitively, without a port; a
	// trailing dot is ignored.
	Hostnames []string
	// Backends are the started units of the app's routed proc. An app with
	// none still gets its hostnames: the router answers 503 there.
	Backends []Backend
}

// Route is where the router sends the requests for one hostname.
type Route struct {
	AppID    string
	App      string
	Backends []Backend
}

// Table maps hostnames to routes. It is immutable once built; Router.Update
// installs one.
type Table struct {
	routes []Route
	byHost map[string]int // canonical hostname -> index in routes
}

// NewTable builds a table from apps. A hostname claimed by two apps, an
// invalid hostname or an invalid backend address is an error; a backend
// listed twice for one app counts once.
func NewTable(apps []App) (*Table, error) {
	t := &Table{routes: make([]Route, 0, len(apps)), byHost: make(map[string]int)}
	owner := make(map[string]string)
	for _, a := range apps {
		if a.Name == "" {
			return nil, fmt.Errorf("router: app %q has no name", a.ID)
		}
		rt := Route{AppID: a.ID, App: a.Name}
		seen := make(map[string]bool, len(a.Backends))
		for _, b := range a.Backends {
			if err := validAddress(b.Address); err != nil {
				return nil, fmt.Errorf("router: app %q, unit %q: %w", a.Name, b.UnitID, err)
			}
			if !seen[b.Address] {
				seen[b.Address] = true
				rt.Backends = append(rt.Backends, b)
			}
		}
		i := len(t.routes)
		t.routes = append(t.routes, rt)
		for _, h := range a.Hostnames {
			host := CanonicalHost(h)
			if err := validHostname(host); err != nil {
				return nil, fmt.Errorf("router: app %q: hostname %q: %w", a.Name, h, err)
			}
			if prev, ok := owner[host]; ok {
				if prev == a.Name {
					continue
				}
				return nil, fmt.Errorf("router: hostname %q is claimed by apps %q and %q", host, prev, a.Name)
			}
			owner[host] = a.Name
			t.byHost[host] = i
		}
	}
	return t, nil
}

// Lookup returns the route of host, which may carry a port and any case.
func (t *Table) Lookup(host string) (Route, bool) {
	i, ok := t.byHost[CanonicalHost(host)]
	if !ok {
		return Route{}, false
	}
	rt := t.routes[i]
	rt.Backends = slices.Clone(rt.Backends)
	return rt, true
}

// Hostnames lists the table's hostnames, sorted.
func (t *Table) Hostnames() []string {
	hosts := make([]string, 0, len(t.byHost))
	for h := range t.byHost {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	return hosts
}

// Hostname is an app's own address under domain: <app>.<domain>.
func Hostname(app, domain string) string {
	return CanonicalHost(app + "." + domain)
}

// CanonicalHost is host as the table compares it: without a port or a
// trailing dot, in lower case. It allocates only when host has upper-case
// letters.
func CanonicalHost(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && i > strings.LastIndexByte(host, ']') {
		host = host[:i]
	}
	host = strings.TrimSuffix(host, ".")
	for i := 0; i < len(host); i++ {
		if c := host[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(host)
		}
	}
	return host
}

// StartedBackends are the units of proc (every proc when proc is empty)
// that run and have an address, sorted by unit id: the backends of the
// app's route. Which proc answers HTTP (tsuru's web process) is the
// caller's choice.
func StartedBackends(units []runtime.Unit, proc string) []Backend {
	var bs []Backend
	for _, u := range units {
		if u.State == runtime.UnitRunning && u.Address != "" && (proc == "" || u.Proc == proc) {
			bs = append(bs, Backend{UnitID: u.ID, Address: u.Address})
		}
	}
	slices.SortFunc(bs, func(a, b Backend) int { return cmp.Compare(a.UnitID, b.UnitID) })
	return bs
}

func validHostname(h string) error {
	if h == "" || len(h) > 253 {
		return fmt.Errorf("must have 1 to 253 characters")
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("each dot-separated label must have 1 to 63 characters")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("only letters, digits, '-' and '_' may appear in a label")
			}
		}
	}
	return nil
}

func validAddress(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || host == "" {
		return fmt.Errorf("address %q: want host:port with a port in 1-65535", addr)
	}
	return nil
}

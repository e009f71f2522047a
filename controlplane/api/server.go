// Package api serves berth's HTTP API: one gorilla/mux router carrying every
// dialect (tsuru, Akkeris, lain, stack-orchestrator). Handlers decode the
// wire format of their dialect, call core, and encode the answer; they hold
// no domain rules.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// AuthMode says which credential a route requires.
type AuthMode int

const (
	// AuthNone: public (health, login, sign-up, the OpenAPI document).
	AuthNone AuthMode = iota
	// AuthUser: a session or app token in Authorization: bearer.
	AuthUser
	// AuthProjectKey: a stack project key in X-API-Key.
	AuthProjectKey
)

func (m AuthMode) String() string {
	return [...]string{"none", "user", "project-key"}[m]
}

// Route describes one registered route; the table is what the OpenAPI and
// authorization tests walk.
type Route struct {
	Method string
	Path   string
	Auth   AuthMode
	// lainEnvelope routes accept access-token and answer errors with msg/url.
	lainEnvelope bool
	handler      handlerFunc
}

type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// Options configures a Server.
type Options struct {
	Logger *slog.Logger
	// ExposeResetTokens returns password reset tokens to admins in the
	// response (they are always logged).
	ExposeResetTokens bool
	// Console, when set, serves everything under ConsolePath (the web
	// console). It gets the request id and the access log, not the API's
	// routes, errors or body limit: it answers pages, not JSON.
	Console http.Handler
	// AuthLimits bound login, sign-up and password reset attempts (zero
	// values: DefaultAuthLimits).
	AuthLimits AuthLimits
	// TrustedProxies are the addresses of reverse proxies whose
	// X-Forwarded-For is believed when counting attempts by client address.
	// None by default: the TCP peer is the client.
	TrustedProxies []netip.Prefix
	// Now is the clock of the attempt budgets (default time.Now).
	Now func() time.Time
}

// ConsolePath is where the web console is mounted.
const ConsolePath = "/ui/"

// Server is the HTTP face of the control plane.
type Server struct {
	core    *core.Core
	log     *slog.Logger
	opts    Options
	router  *mux.Router
	routes  []*Route
	handler http.Handler

	observers  []RequestObserver
	metrics    *metrics
	authLimits *authLimiter
}

// New builds the router with every dialect's routes.
func New(svc *core.Core, opts Options) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{core: svc, log: log, opts: opts, router: mux.NewRouter(), authLimits: newAuthLimiter(opts.AuthLimits, opts.TrustedProxies, opts.Now)}
	// mux would answer a path with "//", "." or ".." segments with a
	// redirect to the cleaned path, before any route or credential is
	// looked at; refuseUncleanPaths answers it instead.
	s.router.SkipClean(true)
	s.router.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, domain.NotFound("no route for %s %s", r.Method, domain.Quote(r.URL.Path)))
	})
	s.router.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, domain.Invalid("method %s not allowed on %s", r.Method, domain.Quote(r.URL.Path)))
	})
	s.metrics = newMetrics(s)
	s.healthRoutes()
	s.identityRoutes()
	s.tsuruAppRoutes()
	s.tsuruDeployRoutes()
	s.tsuruServiceRoutes()
	s.lainRoutes()
	s.pipelineRoutes()
	s.stackRoutes()
	s.handler = s.requestID(s.accessLog(s.console(s.recoverer(s.refuseUncleanPaths(s.limitBody(s.router))))))
	return s
}

// console hands the console's paths to Options.Console.
func (s *Server) console(next http.Handler) http.Handler {
	if s.opts.Console == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != strings.TrimSuffix(ConsolePath, "/") && !strings.HasPrefix(r.URL.Path, ConsolePath) {
			next.ServeHTTP(w, r)
			return
		}
		if info := accessInfoFrom(r.Context()); info != nil {
			info.route = ConsolePath + "*"
		}
		s.opts.Console.ServeHTTP(w, r)
	})
}

// Observe registers o to hear about every finished request. Call it before
// serving.
func (s *Server) Observe(o RequestObserver) { s.observers = append(s.observers, o) }

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Routes returns the route table, in registration order.
func (s *Server) Routes() []Route {
	out := make([]Route, len(s.routes))
	for i, r := range s.routes {
		out[i] = *r
	}
	return out
}

// Router exposes the mux router so tests can match requests to templates.
func (s *Server) Router() *mux.Router { return s.router }

type routeOption func(*Route)

// lainStyle marks a route of the lain dialect.
func lainStyle(r *Route) { r.lainEnvelope = true }

// handle registers a route.
func (s *Server) handle(method, path string, auth AuthMode, h handlerFunc, opts ...routeOption) {
	rt := &Route{Method: method, Path: path, Auth: auth, handler: h}
	for _, o := range opts {
		o(rt)
	}
	s.routes = append(s.routes, rt)
	s.router.Handle(path, s.serveRoute(rt)).Methods(method)
}

// handleSlash registers path both with and without its trailing slash
// (lain's paths end in one; clients often drop it).
func (s *Server) handleSlash(method, path string, auth AuthMode, h handlerFunc, opts ...routeOption) {
	s.handle(method, path, auth, h, opts...)
	if trimmed := strings.TrimSuffix(path, "/"); trimmed != path {
		s.handle(method, trimmed, auth, h, opts...)
	}
}

type routeKey struct{}

func routeOf(r *http.Request) *Route {
	if rt, ok := r.Context().Value(routeKey{}).(*Route); ok {
		return rt
	}
	return &Route{}
}

func (s *Server) serveRoute(rt *Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), routeKey{}, rt)
		r = r.WithContext(ctx)
		if info := accessInfoFrom(ctx); info != nil {
			info.route = rt.Path
		}
		var err error
		switch rt.Auth {
		case AuthUser:
			r, err = s.authenticateUser(r, rt)
		case AuthProjectKey:
			r, err = s.authenticateProject(r)
		}
		if err == nil {
			err = rt.handler(w, r)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

type identityKey struct{}

// identity returns the authenticated caller of an AuthUser route.
func identity(r *http.Request) *domain.Identity {
	id, _ := r.Context().Value(identityKey{}).(*domain.Identity)
	return id
}

func (s *Server) authenticateUser(r *http.Request, rt *Route) (*http.Request, error) {
	token := bearerToken(r)
	if token == "" && rt.lainEnvelope {
		token = strings.TrimSpace(r.Header.Get("access-token"))
	}
	if token == "" {
		return r, missingCredential(r, rt)
	}
	id, err := s.core.Identity.Authenticate(r.Context(), token)
	if err != nil {
		return r, err
	}
	if info := accessInfoFrom(r.Context()); info != nil {
		info.user = id.Email()
	}
	return r.WithContext(context.WithValue(r.Context(), identityKey{}, id)), nil
}

// missingCredential words the refusal of a request without a credential:
// what to send, and what was wrong with what came.
func missingCredential(r *http.Request, rt *Route) error {
	want := "Authorization: bearer <token>"
	if rt.lainEnvelope {
		want += " or access-token: <token>"
	}
	if h := strings.TrimSpace(r.Header.Get("Authorization")); h != "" {
		scheme, _, _ := strings.Cut(h, " ")
		return domain.Unauthorized("the Authorization header uses the %q scheme; send %s", scheme, want)
	}
	return domain.Unauthorized("missing credential: send %s", want)
}

// bearerToken extracts the token of "Authorization: bearer <token>"; the
// scheme is case-insensitive.
func bearerToken(r *http.Request) string {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// Package ui is berth's web console, served by berthd under /ui/: pages
// rendered with html/template from the area services of controlplane/core,
// called with the signed-in user's identity exactly as the API calls them,
// so a page shows nothing the API would not show that user. Templates, the
// stylesheet and the little JavaScript the live pages use are embedded; no
// asset comes from anywhere else.
package ui

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/gorilla/mux"

	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// Prefix is the path the console is served under.
const Prefix = "/ui/"

// Options configures the console.
type Options struct {
	Logger *slog.Logger
	// SecureCookies marks the console's cookies Secure on every answer,
	// not only on those to requests that came over TLS. Set it when berthd
	// is served over https by a TLS-terminating proxy: berthd then sees
	// plain http and cannot tell.
	SecureCookies bool
	// SignInAttempt, when set, counts a sign-in attempt for an e-mail
	// address against the same budgets as the API's login; an error
	// refuses the attempt, and done reports whether it succeeded.
	SignInAttempt func(r *http.Request, email string) (done func(succeeded bool), err error)
}

// Access says who may open a route.
type Access int

const (
	// Public: the sign-in page and the static assets.
	Public Access = iota
	// SignedIn: any user with a console session.
	SignedIn
	// Admin: users with the admin flag.
	Admin
)

func (a Access) String() string { return [...]string{"public", "signed-in", "admin"}[a] }

// Route is one entry of the console's route table, which its tests walk.
type Route struct {
	Method string
	Path   string
	Access Access
	// Form routes (POST) check the anti-forgery token.
	Form bool
	page pageFunc
}

// pageFunc serves one route; v is nil on public routes.
type pageFunc func(w http.ResponseWriter, r *http.Request, v *visit) error

// Server is the web console.
type Server struct {
	core    *core.Core
	log     *slog.Logger
	opts    Options
	router  *mux.Router
	routes  []Route
	pages   *pages
	handler http.Handler
}

// New builds the console over the control plane's area services.
func New(c *core.Core, opts Options) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{core: c, log: log, opts: opts, router: mux.NewRouter(), pages: loadPages()}
	s.router.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, nil, domain.NotFound("there is no page at %s", r.URL.Path))
	})
	s.router.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, nil, errMethod)
	})
	s.routeTable()
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, nil, errCrossOrigin)
	}))
	s.handler = s.headers(s.recoverer(cop.Handler(s.router)))
	return s
}

// ServeHTTP serves the console.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Routes returns the route table, in registration order.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

func (s *Server) handle(method, path string, access Access, page pageFunc) {
	rt := Route{Method: method, Path: path, Access: access, Form: method == http.MethodPost, page: page}
	s.routes = append(s.routes, rt)
	s.router.Handle(path, s.serve(rt)).Methods(method)
}

// routeTable registers every page and form. The path names the object; a
// form posts to the page of what it changes.
func (s *Server) routeTable() {
	s.router.Handle(strings.TrimSuffix(Prefix, "/"), http.RedirectHandler(Prefix, http.StatusMovedPermanently))
	s.handle(http.MethodGet, Prefix, SignedIn, s.home)
	s.handle(http.MethodGet, Prefix+"static/{file}", Public, s.static)
	s.handle(http.MethodGet, Prefix+"signin", Public, s.signInPage)
	s.handle(http.MethodPost, Prefix+"signin", Public, s.signIn)
	s.handle(http.MethodPost, Prefix+"signout", SignedIn, s.signOut)

	s.handle(http.MethodGet, Prefix+"apps", SignedIn, s.appsPage)
	s.handle(http.MethodGet, Prefix+"apps/{app}", SignedIn, s.appPage)

	s.handle(http.MethodGet, Prefix+"pipelines", SignedIn, s.pipelinesPage)
	s.handle(http.MethodGet, Prefix+"pipelines/{pipeline}", SignedIn, s.pipelinePage)
	s.handle(http.MethodGet, Prefix+"pipelines/{pipeline}/state", SignedIn, s.pipelineState)
	s.handle(http.MethodPost, Prefix+"pipelines/{pipeline}/promotions", SignedIn, s.promote)
	s.handle(http.MethodGet, Prefix+"promotions/{promotion}", SignedIn, s.promotionPage)
	s.handle(http.MethodGet, Prefix+"promotions/{promotion}/state", SignedIn, s.promotionState)

	s.handle(http.MethodGet, Prefix+"stacks", SignedIn, s.projectsPage)
	s.handle(http.MethodGet, Prefix+"stacks/{project}", SignedIn, s.projectPage)

	s.handle(http.MethodGet, Prefix+"teams", SignedIn, s.teamsPage)

	s.handle(http.MethodGet, Prefix+"admin/users", Admin, s.usersPage)
	s.handle(http.MethodPost, Prefix+"admin/users/{email}/quota", Admin, s.setQuota)
	s.handle(http.MethodGet, Prefix+"admin/healers", Admin, s.healersPage)
	s.handle(http.MethodPost, Prefix+"admin/healers/{healer}", Admin, s.runHealer)
}

// visit is one signed-in request: who, and the token its forms carry.
type visit struct {
	id   *domain.Identity
	csrf string
}

func (s *Server) serve(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v *visit
		if rt.Access != Public {
			var err error
			if v, err = s.signedIn(w, r); err != nil {
				s.fail(w, r, nil, err)
				return
			}
			if rt.Access == Admin && !v.id.IsAdmin() {
				s.fail(w, r, v, domain.Forbidden("this page is for admins only"))
				return
			}
		}
		if rt.Form {
			if err := s.readForm(w, r, v); err != nil {
				s.fail(w, r, v, err)
				return
			}
		}
		if err := rt.page(w, r, v); err != nil {
			s.fail(w, r, v, err)
		}
	})
}

// headers sets what every answer of the console carries: a strict Content
// Security Policy (nothing but this origin's own stylesheet, script and
// fetches; no inline script or style, no framing, no form posted
// elsewhere), no MIME sniffing, no Referer sent anywhere, and no caching
// of pages that show private data.
func (s *Server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		if h.Get("X-Request-Id") == "" {
			// Served on its own (not behind the API, which tags requests).
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			h.Set("X-Request-Id", hex.EncodeToString(b))
		}
		next.ServeHTTP(w, r)
	})
}

// ContentSecurityPolicy is the policy of every console answer. connect-src
// lets the live pages poll their state.
const ContentSecurityPolicy = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// recoverer turns a panic into the 500 page instead of a dropped
// connection.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving console page", "panic", fmt.Sprint(v), "path", r.URL.Path, "stack", string(debug.Stack()))
				s.fail(w, r, nil, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func requestID(w http.ResponseWriter) string { return w.Header().Get("X-Request-Id") }

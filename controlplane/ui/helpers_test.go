package ui_test

import (
	"context"
	"io"
	"iter"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/berthdev/terraform-provider-berth/client"
	"github.com/berthdev/terraform-provider-berth/controlplane/core"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// visitor is a browser without JavaScript: a cookie jar, redirects not
// followed, so that each answer can be looked at.
type visitor struct {
	t    testing.TB
	base string
	hc   *http.Client
}

func newVisitor(t testing.TB, base string) *visitor {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &visitor{t: t, base: base, hc: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is one answer of the console, parsed.
type page struct {
	Status int
	Header http.Header
	Body   string
	doc    *html.Node
	call   string
}

func (v *visitor) do(req *http.Request) *page {
	v.t.Helper()
	resp, err := v.hc.Do(req)
	if err != nil {
		v.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		v.t.Fatal(err)
	}
	p := &page{Status: resp.StatusCode, Header: resp.Header, Body: string(b), call: req.Method + " " + req.URL.RequestURI()}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		if p.doc, err = html.Parse(strings.NewReader(p.Body)); err != nil {
			v.t.Fatalf("%s: parse HTML: %v", p.call, err)
		}
	}
	return p
}

func (v *visitor) get(path string) *page {
	v.t.Helper()
	req, err := http.NewRequest(http.MethodGet, v.base+path, nil)
	if err != nil {
		v.t.Fatal(err)
	}
	return v.do(req)
}

// post sends a form, with extra headers when given in pairs.
func (v *visitor) post(path string, form url.Values, headers ...string) *page {
	v.t.Helper()
	req, err := http.NewRequest(http.MethodPost, v.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		v.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return v.do(req)
}

// signIn signs in through the sign-in form and fails the test unless it
// worked.
func (v *visitor) signIn(email, password string) {
	v.t.Helper()
	form := v.get("/ui/signin").expect(v.t, http.StatusOK)
	p := v.post("/ui/signin", url.Values{"email": {email}, "password": {password}, "csrf": {form.formToken(v.t)}, "next": {"/ui/apps"}})
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/ui/apps" {
		v.t.Fatalf("sign in as %s: %d %s", email, p.Status, p.Body)
	}
}

// session returns the session cookie's value.
func (v *visitor) session() string {
	u, _ := url.Parse(v.base + "/ui/")
	for _, c := range v.hc.Jar.Cookies(u) {
		if c.Name == "berth_session" {
			return c.Value
		}
	}
	return ""
}

func (p *page) expect(t testing.TB, status int) *page {
	t.Helper()
	if p.Status != status {
		t.Fatalf("%s: status %d, want %d; body:\n%s", p.call, p.Status, status, p.Body)
	}
	return p
}

// byID returns the element with that id, or nil.
func (p *page) byID(id string) *html.Node {
	return find(p.doc, func(n *html.Node) bool { return attr(n, "id") == id })
}

// text is the text of the element with that id ("" when absent), spaces
// collapsed.
func (p *page) text(id string) string {
	n := p.byID(id)
	if n == nil {
		return ""
	}
	return textOf(n)
}

// mainText is the text of the page's main element.
func (p *page) mainText() string {
	if n := find(p.doc, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "main" }); n != nil {
		return textOf(n)
	}
	return ""
}

// formToken is the csrf field of the page's first form inside main (or
// anywhere).
func (p *page) formToken(t testing.TB) string {
	t.Helper()
	n := find(p.doc, func(n *html.Node) bool {
		return n.Type == html.ElementNode && n.Data == "input" && attr(n, "name") == "csrf"
	})
	if n == nil {
		t.Fatalf("%s: no csrf field in\n%s", p.call, p.Body)
	}
	return attr(n, "value")
}

// isSignIn reports whether the page is the sign-in form.
func (p *page) isSignIn() bool {
	return find(p.doc, func(n *html.Node) bool {
		return n.Type == html.ElementNode && n.Data == "form" && attr(n, "action") == "/ui/signin"
	}) != nil
}

type htmlNode = html.Node

// allNodes yields n and every node under it.
func allNodes(n *html.Node) iter.Seq[*html.Node] {
	return func(yield func(*html.Node) bool) {
		var walk func(*html.Node) bool
		walk = func(n *html.Node) bool {
			if n == nil {
				return true
			}
			if !yield(n) {
				return false
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if !walk(c) {
					return false
				}
			}
			return true
		}
		walk(n)
	}
}

func find(n *html.Node, match func(*html.Node) bool) *html.Node {
	if n == nil {
		return nil
	}
	if match(n) {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if m := find(c, match); m != nil {
			return m
		}
	}
	return nil
}

func attr(n *html.Node, name string) string {
	if n.Type != html.ElementNode {
		return ""
	}
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, name string) bool {
	for _, a := range n.Attr {
		if a.Key == name {
			return true
		}
	}
	return false
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			b.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// api is the Go client as a user, for setting things up through the API
// as users do.
func api(t testing.TB, srv *berthtest.Server, token string) *client.Client {
	t.Helper()
	c, err := client.New(srv.URL, client.WithToken(token), client.WithRetry(0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func must[T any](t testing.TB) func(T, *client.Response, error) T {
	return func(v T, _ *client.Response, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// adminPassword gives the first start's admin (who has no password) one,
// through tsuru's reset flow as an operator would.
func adminPassword(t testing.TB, srv *berthtest.Server) string {
	t.Helper()
	var issued struct {
		Token string `json:"token"`
	}
	srv.Req(t, http.MethodPost, "/users/"+core.AdminEmail+"/password", srv.AdminToken, nil).Expect(t, http.StatusOK).JSON(t, &issued)
	var reset struct {
		Password string `json:"password"`
	}
	srv.Req(t, http.MethodPost, "/users/"+core.AdminEmail+"/password?token="+url.QueryEscape(issued.Token), "", nil).Expect(t, http.StatusOK).JSON(t, &reset)
	return reset.Password
}

var bg = context.Background()

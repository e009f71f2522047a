// Package client is a typed Go client for the berth API, every dialect of
// it. It follows google/go-github: one service per area, every method takes
// a context, errors carry the HTTP status.
//
//	c, err := client.New("http://127.0.0.1:8080", client.WithToken(token))
//	app, _, err := c.Apps.Get(ctx, "web")
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Version is sent in the default User-Agent.
const Version = "0.1.0"

// Client talks to one berthd.
type Client struct {
	baseURL    *url.URL
	http       *retryablehttp.Client
	token      string
	projectKey string
	userAgent  string

	common service

	// tsuru: identity
	Users  *UsersService
	Teams  *TeamsService
	Tokens *TokensService
	// tsuru: apps, services
	Apps      *AppsService
	Env       *EnvService
	Services  *ServicesService
	Instances *InstancesService
	Quotas    *QuotasService
	Healers   *HealersService
	Platforms *PlatformsService
	// lain
	Repos       *ReposService
	Deployments *DeploymentsService
	Procs       *ProcsService
	// Akkeris
	Releases   *ReleasesService
	Pipelines  *PipelinesService
	Couplings  *CouplingsService
	Promotions *PromotionsService
	// stack-orchestrator
	Stacks   *StacksService
	Projects *ProjectsService
}

type service struct{ client *Client }

// Option configures a Client.
type Option func(*Client) error

// WithToken authenticates as a user: a session token or an app token.
func WithToken(token string) Option {
	return func(c *Client) error { c.token = token; return nil }
}

// WithProjectKey sets the stack project key sent as X-API-Key on the stack
// lease routes.
func WithProjectKey(key string) Option {
	return func(c *Client) error { c.projectKey = key; return nil }
}

// WithHTTPTimeout bounds each HTTP attempt (not the whole retried call; use
// the context for that). The default is 30 seconds.
func WithHTTPTimeout(d time.Duration) Option {
	return func(c *Client) error { c.http.HTTPClient.Timeout = d; return nil }
}

// WithRetry sets how often a safe request is retried and the bounds of the
// jittered wait between attempts. maxRetries 0 turns retries off.
func WithRetry(maxRetries int, minWait, maxWait time.Duration) Option {
	return func(c *Client) error {
		if maxRetries < 0 || minWait < 0 || maxWait < minWait {
			return fmt.Errorf("invalid retry policy: %d retries, wait %s..%s", maxRetries, minWait, maxWait)
		}
		c.http.RetryMax, c.http.RetryWaitMin, c.http.RetryWaitMax = maxRetries, minWait, maxWait
		return nil
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) error { c.userAgent = ua; return nil }
}

// WithLogger logs retries and request failures at debug and warn level.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error { c.http.Logger = slogAdapter{l}; return nil }
}

// WithHTTPClient replaces the underlying http.Client (its Transport and
// Timeout are used for each attempt).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error { c.http.HTTPClient = hc; return nil }
}

// New returns a client for the berthd at endpoint (scheme and host, with an
// optional path prefix).
func New(endpoint string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(endpoint))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid endpoint %q: want an http:// or https:// URL", endpoint)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	rc := retryablehttp.NewClient()
	rc.HTTPClient = &http.Client{Timeout: 30 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	rc.Logger = nil
	rc.RetryMax = 4
	rc.RetryWaitMin = 200 * time.Millisecond
	rc.RetryWaitMax = 5 * time.Second
	rc.CheckRetry = checkRetry
	rc.Backoff = backoff
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	c := &Client{baseURL: u, http: rc, userAgent: "berth-go-client/" + Version}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	c.common.client = c
	c.Users = (*UsersService)(&c.common)
	c.Teams = (*TeamsService)(&c.common)
	c.Tokens = (*TokensService)(&c.common)
	c.Apps = (*AppsService)(&c.common)
	c.Env = (*EnvService)(&c.common)
	c.Services = (*ServicesService)(&c.common)
	c.Instances = (*InstancesService)(&c.common)
	c.Quotas = (*QuotasService)(&c.common)
	c.Healers = (*HealersService)(&c.common)
	c.Platforms = (*PlatformsService)(&c.common)
	c.Repos = (*ReposService)(&c.common)
	c.Deployments = (*DeploymentsService)(&c.common)
	c.Procs = (*ProcsService)(&c.common)
	c.Releases = (*ReleasesService)(&c.common)
	c.Pipelines = (*PipelinesService)(&c.common)
	c.Couplings = (*CouplingsService)(&c.common)
	c.Promotions = (*PromotionsService)(&c.common)
	c.Stacks = (*StacksService)(&c.common)
	c.Projects = (*ProjectsService)(&c.common)
	return c, nil
}

// Endpoint returns the base URL the client talks to.
func (c *Client) Endpoint() string { return c.baseURL.String() }

// Response wraps the HTTP response of a call. NextCursor is set on a page
// of a list that has more after it.
type Response struct {
	*http.Response
	NextCursor string
}

// ListOptions pages through a list: Limit entries after Cursor. A zero
// Limit asks for everything.
type ListOptions struct {
	Limit  int
	Cursor string
}

func (o *ListOptions) query() url.Values {
	q := url.Values{}
	if o == nil {
		return q
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Cursor != "" {
		q.Set("cursor", o.Cursor)
	}
	return q
}

// credential says which credential a request carries.
type credential int

const (
	credToken credential = iota
	credProjectKey
	credNone
)

// request is one API call to make.
type request struct {
	method string
	path   string // already escaped
	query  url.Values
	body   any    // JSON-encoded unless []byte (sent as is)
	ctype  string // content type of a []byte body
	cred   credential
	header http.Header
	// idempotent POSTs (carrying an Idempotency-Key) may be retried.
	idempotencyKey string
	// notIdempotent marks a PUT or DELETE that must not be sent twice
	// (tsuru's units routes add or remove units each time).
	notIdempotent bool
}

type retryKey struct{}

// do performs r and decodes a 2xx JSON body into v (a *string receives a
// text body). Non-2xx answers become *Error.
func (c *Client) do(ctx context.Context, r request, v any) (*Response, error) {
	u := *c.baseURL
	u.RawPath = u.Path + r.path
	u.Path, _ = url.PathUnescape(u.RawPath)
	if len(r.query) > 0 {
		u.RawQuery = r.query.Encode()
	}
	var body []byte
	ctype := r.ctype
	switch b := r.body.(type) {
	case nil:
	case []byte:
		body = b
	default:
		var err error
		if body, err = json.Marshal(b); err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		ctype = "application/json"
	}
	safe := (r.method == http.MethodGet || r.method == http.MethodHead || r.method == http.MethodPut ||
		r.method == http.MethodDelete || r.idempotencyKey != "") && !r.notIdempotent
	ctx = context.WithValue(ctx, retryKey{}, safe)
	var reqBody any
	if body != nil {
		reqBody = body
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, r.method, u.String(), reqBody)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	switch r.cred {
	case credToken:
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
	case credProjectKey:
		if c.projectKey != "" {
			req.Header.Set("X-API-Key", c.projectKey)
		}
	}
	if r.idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", r.idempotencyKey)
	}
	for k, vs := range r.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	defer resp.Body.Close()
	out := &Response{Response: resp, NextCursor: resp.Header.Get("X-Next-Cursor")}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return out, newError(resp, r.method, r.path)
	}
	switch dst := v.(type) {
	case nil:
		_, _ = io.Copy(io.Discard, resp.Body)
	case *string:
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return out, err
		}
		*dst = string(b)
	default:
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return out, err
		}
		if len(bytes.TrimSpace(b)) == 0 {
			return out, nil
		}
		if err := json.Unmarshal(b, v); err != nil {
			return out, fmt.Errorf("%s %s: decode response: %w", r.method, r.path, err)
		}
	}
	return out, nil
}

// path builds an escaped path from a format and unescaped arguments.
func path(format string, args ...string) string {
	esc := make([]any, len(args))
	for i, a := range args {
		esc[i] = url.PathEscape(a)
	}
	return fmt.Sprintf(format, esc...)
}

type slogAdapter struct{ l *slog.Logger }

func (s slogAdapter) Error(msg string, kv ...any) { s.l.Warn(msg, kv...) }
func (s slogAdapter) Info(msg string, kv ...any)  { s.l.Debug(msg, kv...) }
func (s slogAdapter) Debug(msg string, kv ...any) { s.l.Debug(msg, kv...) }
func (s slogAdapter) Warn(msg string, kv ...any)  { s.l.Warn(msg, kv...) }

package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// Broker calls follow tsuru's service protocol: form-encoded requests,
// JSON answers, basic auth with the service's credentials.
const (
	// brokerAttempts bounds how often an idempotent call (GET, DELETE) is
	// sent when the broker is unreachable or answers 502, 503 or 504.
	// POSTs are sent once: the broker may have acted on a lost answer.
	brokerAttempts = 3
	brokerRetryGap = 100 * time.Millisecond
	// maxBrokerBody caps how much of a broker's answer is read.
	maxBrokerBody = 1 << 20
)

// brokerHTTP is shared by every broker call so connections are reused. Each
// call carries its own deadline (Config.BrokerTimeout) in its context.
// Redirects are not followed: a broker answers, it does not send berth
// elsewhere with the service's credentials.
var brokerHTTP = &http.Client{
	Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// broker talks to the broker of one service.
type broker struct {
	svc     *domain.Service
	timeout time.Duration
}

func (s *Services) broker(svc *domain.Service) *broker {
	return &broker{svc: svc, timeout: s.cfg.BrokerTimeout}
}

// brokerAnswer is a broker's HTTP answer.
type brokerAnswer struct {
	status int
	body   []byte
}

// createInstance asks the broker to provision an instance.
func (b *broker) createInstance(ctx context.Context, inst *domain.ServiceInstance) error {
	form := url.Values{"name": {inst.Name}, "user": {inst.CreatedBy}}
	if len(inst.Teams) > 0 {
		form.Set("team", inst.Teams[0])
	}
	op := fmt.Sprintf("creating instance %q", inst.Name)
	ans, err := b.call(ctx, http.MethodPost, "/resources", form)
	switch {
	case err != nil:
		return b.unreachable(op, err)
	case ans.status == http.StatusConflict:
		return domain.Conflict("service %q: the broker already has an instance called %q", b.svc.Name, inst.Name)
	case !success(ans.status):
		return b.failed(op, ans)
	}
	return nil
}

// destroyInstance asks the broker to remove an instance; one the broker
// does not know is already gone.
func (b *broker) destroyInstance(ctx context.Context, name string) error {
	op := fmt.Sprintf("removing instance %q", name)
	ans, err := b.call(ctx, http.MethodDelete, "/resources/"+url.PathEscape(name), nil)
	switch {
	case err != nil:
		return b.unreachable(op, err)
	case !success(ans.status) && ans.status != http.StatusNotFound:
		return b.failed(op, ans)
	}
	return nil
}

// bindApp binds an app to an instance and returns the vars the broker
// exports. Brokers that predate /bind-app answer 404 there and are asked
// at /bind, as tsuru does.
func (b *broker) bindApp(ctx context.Context, inst string, app *domain.App) (map[string]string, error) {
	op := fmt.Sprintf("binding app %q to instance %q", app.Name, inst)
	form := appForm(app)
	base := "/resources/" + url.PathEscape(inst)
	ans, err := b.call(ctx, http.MethodPost, base+"/bind-app", form)
	if err == nil && ans.status == http.StatusNotFound {
		ans, err = b.call(ctx, http.MethodPost, base+"/bind", form)
	}
	switch {
	case err != nil:
		return nil, b.unreachable(op, err)
	case ans.status == http.StatusPreconditionFailed:
		return nil, domain.Precondition("service %q: instance %q is not ready yet: %s", b.svc.Name, inst, snippet(ans.body))
	case ans.status == http.StatusNotFound:
		return nil, domain.Unavailable("service %q: the broker does not know instance %q", b.svc.Name, inst)
	case !success(ans.status):
		return nil, b.failed(op, ans)
	}
	env, err := exportedVars(ans.body)
	if err != nil {
		return nil, domain.Unavailable("service %q: %s: the broker answered %v", b.svc.Name, op, err)
	}
	return env, nil
}

// unbindApp undoes bindApp; a binding the broker does not know is already
// gone.
func (b *broker) unbindApp(ctx context.Context, inst string, app *domain.App) error {
	op := fmt.Sprintf("unbinding app %q from instance %q", app.Name, inst)
	form := appForm(app)
	base := "/resources/" + url.PathEscape(inst)
	ans, err := b.call(ctx, http.MethodDelete, base+"/bind-app", form)
	if err == nil && ans.status == http.StatusNotFound {
		ans, err = b.call(ctx, http.MethodDelete, base+"/bind", form)
	}
	switch {
	case err != nil:
		return b.unreachable(op, err)
	case !success(ans.status) && ans.status != http.StatusNotFound:
		return b.failed(op, ans)
	}
	return nil
}

// status asks the broker how an instance is, in tsuru's words.
func (b *broker) status(ctx context.Context, inst string) (string, error) {
	op := fmt.Sprintf("reading the status of instance %q", inst)
	ans, err := b.call(ctx, http.MethodGet, "/resources/"+url.PathEscape(inst)+"/status", nil)
	if err != nil {
		return "", b.unreachable(op, err)
	}
	switch ans.status {
	case http.StatusOK:
		return snippet(ans.body), nil
	case http.StatusAccepted:
		return "pending", nil
	case http.StatusNoContent:
		return "up", nil
	case http.StatusNotFound:
		return "not implemented for this service", nil
	case http.StatusInternalServerError:
		return "down", nil
	}
	return "", b.failed(op, ans)
}

func appForm(app *domain.App) url.Values {
	hosts := append([]string{app.IP}, app.CNames...)
	return url.Values{"app-name": {app.Name}, "app-host": {app.IP}, "app-hosts": hosts}
}

// call sends one request, and sends an idempotent one again while the broker
// is unreachable or overloaded.
func (b *broker) call(ctx context.Context, method, path string, form url.Values) (brokerAnswer, error) {
	attempts := 1
	if method == http.MethodGet || method == http.MethodDelete {
		attempts = brokerAttempts
	}
	for attempt := 1; ; attempt++ {
		ans, err := b.send(ctx, method, path, form)
		transient := err != nil || ans.status == http.StatusBadGateway ||
			ans.status == http.StatusServiceUnavailable || ans.status == http.StatusGatewayTimeout
		if !transient || attempt >= attempts || ctx.Err() != nil {
			return ans, err
		}
		select {
		case <-ctx.Done():
			return ans, err
		case <-time.After(time.Duration(attempt) * brokerRetryGap):
		}
	}
}

func (b *broker) send(ctx context.Context, method, path string, form url.Values) (brokerAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	target := b.svc.BrokerURL() + path
	var body io.Reader
	if method != http.MethodGet {
		body = strings.NewReader(form.Encode())
	}
	// tsuru sends a DELETE's parameters in its body, which many HTTP
	// servers (Go's ParseForm among them) do not read: they go in the query
	// string as well.
	if method != http.MethodPost && len(form) > 0 {
		target += "?" + form.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return brokerAnswer{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "berthd")
	req.SetBasicAuth(b.svc.BrokerUsername(), b.svc.Password)
	resp, err := brokerHTTP.Do(req)
	if err != nil {
		return brokerAnswer{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBrokerBody))
	if err != nil {
		return brokerAnswer{}, err
	}
	return brokerAnswer{status: resp.StatusCode, body: data}, nil
}

func (b *broker) unreachable(op string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return domain.Unavailable("service %q: %s: the broker did not answer within %s", b.svc.Name, op, b.timeout)
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	return domain.Unavailable("service %q: %s: the broker is unreachable: %v", b.svc.Name, op, err)
}

func (b *broker) failed(op string, ans brokerAnswer) error {
	return domain.Unavailable("service %q: %s: the broker answered %d: %s", b.svc.Name, op, ans.status, snippet(ans.body))
}

func success(status int) bool { return status >= 200 && status <= 299 }

// snippet is a broker's answer made fit for a message: trimmed, valid
// UTF-8, at most 512 bytes.
func snippet(body []byte) string {
	s := strings.ToValidUTF8(strings.TrimSpace(string(body)), "?")
	if len(s) <= 512 {
		return s
	}
	cut := 512
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// exportedVars reads a bind answer: a JSON object of var names to values.
// Brokers send numbers and booleans too (tsuru's own docs show a port as a
// number); those keep their JSON text. An empty body or null exports
// nothing.
func exportedVars(body []byte) (map[string]string, error) {
	env := map[string]string{}
	if len(bytes.TrimSpace(body)) == 0 {
		return env, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("with an invalid env object: %v", err)
	}
	for name, v := range raw {
		if err := domain.ValidateEnvName(name); err != nil || name == domain.ServicesEnvVar {
			return nil, fmt.Errorf("with an invalid var name %q", name)
		}
		// A string (or null, which leaves str empty) is taken as it is.
		var str string
		if json.Unmarshal(v, &str) == nil {
			env[name] = str
		} else {
			env[name] = string(v)
		}
	}
	return env, nil
}

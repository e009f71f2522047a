package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// testBroker is a service broker speaking the tsuru service protocol on a
// loopback port: it keeps instances and bindings, checks basic auth, and
// can be told to fail, hang or pause an operation.
type testBroker struct {
	t        *testing.T
	srv      *httptest.Server
	user     string
	password string
	// legacy brokers predate /bind-app and answer it 404.
	legacy bool

	mu        sync.Mutex
	instances map[string]bool
	bindings  map[string]map[string]bool // instance -> app -> bound
	vars      map[string]any             // exported on every bind, plus INSTANCE_NAME
	failures  map[string]int             // operation -> status to answer
	hangs     map[string]bool            // operation -> wait until the caller gives up
	pauses    map[string]chan struct{}   // operation -> closed when it may proceed
	entered   chan string                // operations reaching a pause
	calls     []string
	lastForm  map[string]map[string][]string // operation -> form of its last call
}

// Broker operations, as tests name them.
const (
	opCreate  = "create"
	opDestroy = "destroy"
	opBind    = "bind"
	opUnbind  = "unbind"
	opStatus  = "status"
)

func newTestBroker(t *testing.T) *testBroker {
	b := &testBroker{
		t: t, user: "brokeruser", password: "brokerpass",
		instances: map[string]bool{},
		bindings:  map[string]map[string]bool{},
		vars:      map[string]any{"DATABASE_HOST": "db.internal", "DATABASE_PORT": 5432},
		failures:  map[string]int{},
		hangs:     map[string]bool{},
		pauses:    map[string]chan struct{}{},
		entered:   make(chan string, 16),
		lastForm:  map[string]map[string][]string{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /resources", b.handle(opCreate, b.create))
	mux.HandleFunc("DELETE /resources/{name}", b.handle(opDestroy, b.destroy))
	mux.HandleFunc("POST /resources/{name}/bind-app", b.handle(opBind, b.bind))
	mux.HandleFunc("DELETE /resources/{name}/bind-app", b.handle(opUnbind, b.unbind))
	mux.HandleFunc("POST /resources/{name}/bind", b.handle(opBind, b.bind))
	mux.HandleFunc("DELETE /resources/{name}/bind", b.handle(opUnbind, b.unbind))
	mux.HandleFunc("GET /resources/{name}/status", b.handle(opStatus, b.status))
	b.srv = httptest.NewServer(mux)
	t.Cleanup(b.close)
	return b
}

// close stops the broker; calls to it then fail to connect.
func (b *testBroker) close() {
	b.mu.Lock()
	for op, ch := range b.pauses {
		close(ch)
		delete(b.pauses, op)
	}
	b.mu.Unlock()
	b.srv.Close()
}

// manifest is a YAML manifest for a service backed by this broker.
func (b *testBroker) manifest(id string) string {
	return fmt.Sprintf("id: %s\nusername: %s\npassword: %s\nendpoint:\n  production: %s\n  test: http://test.invalid\n", id, b.user, b.password, b.srv.URL)
}

func (b *testBroker) fail(op string, status int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if status == 0 {
		delete(b.failures, op)
	} else {
		b.failures[op] = status
	}
}

func (b *testBroker) hang(op string, on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.hangs[op] = on
}

// pause makes op wait until the returned function is called; entered
// receives op when a call reaches the pause.
func (b *testBroker) pause(op string) (resume func()) {
	ch := make(chan struct{})
	b.mu.Lock()
	b.pauses[op] = ch
	b.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			if b.pauses[op] == ch {
				delete(b.pauses, op)
				close(ch)
			}
			b.mu.Unlock()
		})
	}
}

func (b *testBroker) callLog() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.calls...)
}

func (b *testBroker) form(op string) map[string][]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lastForm[op]
}

func (b *testBroker) hasInstance(name string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.instances[name]
}

func (b *testBroker) isBound(instance, app string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bindings[instance][app]
}

func (b *testBroker) handle(op string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != b.user || pass != b.password {
			http.Error(w, "bad credentials", http.StatusUnauthorized)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// ParseForm leaves a DELETE's body unread; the server notices a
		// client hanging up only once the body is consumed.
		_, _ = io.Copy(io.Discard, r.Body)
		b.mu.Lock()
		b.calls = append(b.calls, r.Method+" "+r.URL.Path)
		b.lastForm[op] = r.Form
		status, failing := b.failures[op]
		hanging := b.hangs[op]
		pause := b.pauses[op]
		b.mu.Unlock()
		if pause != nil {
			b.entered <- op
			<-pause
		}
		if hanging {
			<-r.Context().Done()
			return
		}
		if failing {
			http.Error(w, "broker failure injected by the test", status)
			return
		}
		next(w, r)
	}
}

func (b *testBroker) create(w http.ResponseWriter, r *http.Request) {
	name := r.Form.Get("name")
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.instances[name] {
		w.WriteHeader(http.StatusConflict)
		return
	}
	b.instances[name] = true
	w.WriteHeader(http.StatusCreated)
}

func (b *testBroker) destroy(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.instances[name] {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	delete(b.instances, name)
	delete(b.bindings, name)
}

func (b *testBroker) bind(w http.ResponseWriter, r *http.Request) {
	if b.legacy && strings.HasSuffix(r.URL.Path, "/bind-app") {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	name := r.PathValue("name")
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.instances[name] {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if b.bindings[name] == nil {
		b.bindings[name] = map[string]bool{}
	}
	b.bindings[name][r.Form.Get("app-name")] = true
	vars := map[string]any{"INSTANCE_NAME": name}
	for k, v := range b.vars {
		vars[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(vars)
}

func (b *testBroker) unbind(w http.ResponseWriter, r *http.Request) {
	if b.legacy && strings.HasSuffix(r.URL.Path, "/bind-app") {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	name, app := r.PathValue("name"), r.Form.Get("app-name")
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.bindings[name][app] {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	delete(b.bindings[name], app)
}

func (b *testBroker) status(w http.ResponseWriter, r *http.Request) {
	if !b.hasInstance(r.PathValue("name")) {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

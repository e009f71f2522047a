package crash

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const crashUser = "crash-apps@example.com"

// apps creates apps through POST /apps as a user with a quota. After a
// crash every acknowledged app exists; the user's list (read through the
// team index), each app read by name (the name index) and the quota's
// count of the user's apps all agree.
type apps struct {
	token string
	limit int

	mu sync.Mutex
	// confirmed are the apps already read back by name.
	confirmed map[string]string // name -> id
}

func (*apps) name() string { return "apps" }

func (a *apps) setup(ctx context.Context, url string) error {
	a.confirmed = map[string]string{}
	a.limit = 1_000_000
	const password = "crash-password"
	steps := []struct {
		method, path, token string
		body                any
	}{
		{http.MethodPost, "/users", "", map[string]string{"email": crashUser, "password": password}},
		{http.MethodPut, "/quota/" + crashUser, adminToken, map[string]int{"limit": a.limit}},
	}
	for _, s := range steps {
		if st, err := call(ctx, s.method, url+s.path, s.token, s.body, nil); err != nil || st != http.StatusOK {
			return fmt.Errorf("%s %s: %d %v", s.method, s.path, st, err)
		}
	}
	var session struct{ Token string }
	if st, err := call(ctx, http.MethodPost, url+"/users/"+crashUser+"/tokens", "", map[string]string{"password": password}, &session); err != nil || st != http.StatusOK {
		return fmt.Errorf("login: %d %v", st, err)
	}
	if st, err := call(ctx, http.MethodPost, url+"/teams", session.Token, map[string]string{"name": "crash-apps"}, nil); err != nil || st != http.StatusOK {
		return fmt.Errorf("create team: %d %v", st, err)
	}
	// An app token outlives the session, whatever the number of kills.
	var tok struct{ Token string }
	if st, err := call(ctx, http.MethodPost, url+"/tokens", session.Token, map[string]any{}, &tok); err != nil || st != http.StatusOK {
		return fmt.Errorf("create app token: %d %v", st, err)
	}
	a.token = tok.Token
	return nil
}

func (a *apps) step(ctx context.Context, url string, w, n int) (string, error) {
	name := fmt.Sprintf("a-%d-%d", w, n)
	st, err := call(ctx, http.MethodPost, url+"/apps", a.token, map[string]string{"name": name, "platform": "go"}, nil)
	switch {
	case err != nil:
		return "", nil
	case st == http.StatusOK:
		return name, nil
	default:
		return "", fmt.Errorf("create app %s: status %d", name, st)
	}
}

type tsuruApp struct {
	ID   string `json:"Id"`
	Name string `json:"Name"`
}

func (a *apps) verify(t *testing.T, base string, acked []string) {
	ctx := context.Background()
	var list []tsuruApp
	if st, err := call(ctx, http.MethodGet, base+"/apps", a.token, nil, &list); err != nil || st != 200 {
		t.Fatalf("list apps: %d %v", st, err)
	}
	if !slices.IsSortedFunc(list, func(x, y tsuruApp) int { return strings.Compare(x.Name, y.Name) }) {
		t.Errorf("the app list is not ordered by name")
	}
	listed := map[string]string{}
	for _, app := range list {
		if _, dup := listed[app.Name]; dup {
			t.Errorf("app %s listed twice", app.Name)
		}
		listed[app.Name] = app.ID
	}
	for _, name := range acked {
		if _, ok := listed[name]; !ok {
			t.Errorf("acknowledged app %s is not listed", name)
		}
	}

	// Pages of the list add up to the list.
	var paged []tsuruApp
	cursor := ""
	for {
		var page []tsuruApp
		st, next, err := callPage(ctx, base+"/apps?limit=500&cursor="+url.QueryEscape(cursor), a.token, &page)
		if err != nil || st != 200 {
			t.Fatalf("list apps by page: %d %v", st, err)
		}
		paged = append(paged, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	if !slices.Equal(paged, list) {
		t.Errorf("the pages of the app list (%d apps) differ from the list (%d apps)", len(paged), len(list))
	}

	// Every listed app reads back by name as the same app. Apps are never
	// deleted here, so each is read once over the whole test.
	a.mu.Lock()
	defer a.mu.Unlock()
	for name, id := range listed {
		if prev, ok := a.confirmed[name]; ok {
			if prev != id {
				t.Errorf("app %s changed id from %s to %s", name, prev, id)
			}
			continue
		}
		var got tsuruApp
		if st, err := call(ctx, http.MethodGet, base+"/apps/"+name, a.token, nil, &got); err != nil || st != 200 || got.Name != name || got.ID != id {
			t.Errorf("listed app %s (id %s) reads back as %d %+v %v", name, id, st, got, err)
			continue
		}
		a.confirmed[name] = id
	}
	for name := range a.confirmed {
		if _, ok := listed[name]; !ok {
			t.Errorf("app %s, read back after an earlier restart, is no longer listed", name)
		}
	}

	var quota struct{ Items, Available int }
	if st, err := call(ctx, http.MethodGet, base+"/quota/"+crashUser, a.token, nil, &quota); err != nil || st != 200 {
		t.Fatalf("quota: %d %v", st, err)
	}
	if quota.Items != a.limit || quota.Available != a.limit-len(list) {
		t.Errorf("quota %+v, but the user owns %d apps of %d allowed", quota, len(list), a.limit)
	}
}

// envVars sets config vars on one app from every worker at once: each
// worker writes its own 32 vars in turn, each time with a higher value.
// After a crash every var holds its last acknowledged value or a later
// one.
type envVars struct{}

const envApp = "crash-env"

func (envVars) name() string { return "env-vars" }

func (envVars) setup(ctx context.Context, url string) error {
	st, err := call(ctx, http.MethodPost, url+"/apps", adminToken, map[string]string{"name": envApp, "platform": "go", "teamOwner": "admin"}, nil)
	if err != nil || st != http.StatusOK {
		return fmt.Errorf("create app %s: %d %v", envApp, st, err)
	}
	return nil
}

func (envVars) step(ctx context.Context, url string, w, n int) (string, error) {
	name, value := fmt.Sprintf("W%d_%d", w, n%32), strconv.Itoa(n)
	// Half in tsuru's original object form, half as the list GET answers.
	var body any = map[string]string{name: value}
	if n%2 == 1 {
		body = []map[string]any{{"name": name, "value": value, "public": n%4 == 1}}
	}
	st, err := call(ctx, http.MethodPost, url+"/apps/"+envApp+"/env", adminToken, body, nil)
	switch {
	case err != nil:
		return "", nil
	case st == http.StatusOK:
		return name + "=" + value, nil
	default:
		return "", fmt.Errorf("set %s=%s: status %d", name, value, st)
	}
}

func (envVars) verify(t *testing.T, url string, acked []string) {
	want := map[string]int{}
	for _, kv := range acked {
		name, value, _ := strings.Cut(kv, "=")
		n, _ := strconv.Atoi(value)
		want[name] = max(want[name], n)
	}
	var vars []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	if st, err := call(context.Background(), http.MethodGet, url+"/apps/"+envApp+"/env", adminToken, nil, &vars); err != nil || st != 200 {
		t.Fatalf("get env: %d %v", st, err)
	}
	got := map[string]int{}
	for _, v := range vars {
		n, err := strconv.Atoi(v.Value)
		if err != nil {
			t.Errorf("var %s holds %q, which no worker wrote", v.Name, v.Value)
		}
		got[v.Name] = n
	}
	for name, n := range want {
		v, ok := got[name]
		switch {
		case !ok:
			t.Errorf("acknowledged var %s lost", name)
		case v < n:
			t.Errorf("var %s holds %d, older than its acknowledged value %d", name, v, n)
		}
	}
}

// callPage GETs one page of a list and returns its X-Next-Cursor.
func callPage(ctx context.Context, url, token string, out any) (status int, next string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, "", nil
	}
	return resp.StatusCode, resp.Header.Get("X-Next-Cursor"), json.NewDecoder(resp.Body).Decode(out)
}

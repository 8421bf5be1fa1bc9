package probe

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
)

// webApp answers as a server-rendered web application does (Django,
// Rails, Laravel): a login form, a POST that sets a session cookie and
// redirects to the dashboard, and a dashboard that sends a request whose
// session has ended to the login form (302 to /accounts/login/?next=...),
// never a 401.
type webApp struct {
	mu       sync.Mutex
	sessions map[string]bool
	logins   atomic.Int64
	broken   atomic.Bool // the login "passes" but sets no session
}

func newWebApp(t *testing.T) (*webApp, *httptest.Server) {
	app, mux := newWebAppMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return app, srv
}

// newWebAppMux is newWebApp's application, to which a test adds pages.
func newWebAppMux() (*webApp, *http.ServeMux) {
	app := &webApp{sessions: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /accounts/login/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<form method="post"><input name="username"></form>`)
	})
	mux.HandleFunc("POST /accounts/login/", func(w http.ResponseWriter, r *http.Request) {
		n := app.logins.Add(1)
		if !app.broken.Load() {
			sid := fmt.Sprintf("sid-%d", n)
			app.mu.Lock()
			app.sessions[sid] = true
			app.mu.Unlock()
			http.SetCookie(w, &http.Cookie{Name: "sessionid", Value: sid, Path: "/"})
		}
		http.Redirect(w, r, "/dashboard/", http.StatusFound)
	})
	mux.HandleFunc("GET /dashboard/", func(w http.ResponseWriter, r *http.Request) {
		if !app.loggedIn(r) {
			http.Redirect(w, r, "/accounts/login/?next=/dashboard/", http.StatusFound)
			return
		}
		fmt.Fprint(w, "Welcome back")
	})
	return app, mux
}

// loggedIn reports whether r carries a session the application knows.
func (app *webApp) loggedIn(r *http.Request) bool {
	c, err := r.Cookie("sessionid")
	app.mu.Lock()
	defer app.mu.Unlock()
	return err == nil && app.sessions[c.Value]
}

// expire ends every session, as a server restart or a session timeout does.
func (app *webApp) expire() {
	app.mu.Lock()
	clear(app.sessions)
	app.mu.Unlock()
}

// TestSessionEndedByRedirectToLogin: a flow step that a web application
// sends to the login form (its session ended) refuses the session as a 401
// would: the run logs in again and tries the step again. Before, only 401
// and 403 did, so a flow on such an application read as down until the
// session's ttl (an hour by default) after every session timeout or server
// restart.
func TestSessionEndedByRedirectToLogin(t *testing.T) {
	flow := func(base string, maxRedirects int) config.Flow {
		dash := config.Step{Name: "dashboard", Function: "read", Request: config.Request{URL: base + "/dashboard/"},
			Expect: config.Expect{Status: []int{200}, Body: &config.Matcher{Contains: sp("Welcome back")}}}
		return config.Flow{Timeout: 5 * time.Second, Interval: time.Minute, MaxRedirects: maxRedirects,
			Session: &config.Session{TTL: time.Hour, Steps: []config.Step{
				{Name: "form", Function: "login", Request: config.Request{URL: base + "/accounts/login/"}},
				{Name: "login", Function: "login", Request: config.Request{Method: "POST", URL: base + "/accounts/login/",
					Form: map[string]string{"username": "probe"}}},
			}},
			Steps: []config.Step{dash}}
	}
	for _, tc := range []struct {
		name         string
		maxRedirects int
		fail         string // the refused step's error while the login is broken
	}{
		{"redirects followed", 5, `dashboard: body does not contain "Welcome back" (sent to the session's page "/accounts/login/")`},
		{"redirects not followed", 0, `dashboard: status 302, want 200 (sent to the session's page "/accounts/login/")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app, srv := newWebApp(t)
			cfg := testConfig(flow(srv.URL, tc.maxRedirects))
			cfg.Defaults.Interval = time.Minute // not a config built without defaults: max_redirects 0 is 0
			c := clock.NewManual(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
			r, err := NewRunner(cfg, Options{Clock: c})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(r.CloseIdle)
			f := &cfg.Services[0].Flows[0]
			runs := []loginRun{
				{"first run logs in", nil, "form=ok login=ok dashboard=ok", 1},
				{"the session reused", func() { c.Advance(time.Minute) }, "dashboard=ok", 1},
				{"the session ended: sent to the login form, one new login", func() { app.expire(); c.Advance(time.Minute) }, "form=ok login=ok dashboard=ok", 2},
				{"login broken and the session ended: one new login, refused too", func() { app.broken.Store(true); app.expire(); c.Advance(time.Minute) }, "form=ok login=ok dashboard=failed", 3},
				{"a confirm run: held, no new login", func() { c.Advance(10 * time.Second) }, "dashboard=failed", 3},
				{"fixed: the next scheduled run logs in", func() { app.broken.Store(false); c.Advance(50 * time.Second) }, "form=ok login=ok dashboard=ok", 4},
			}
			for i, got := range runLogins(t, r, f, &app.logins, runs) {
				if st := runs[i]; strings.Contains(st.steps, "dashboard=failed") {
					if e := got.Steps[len(got.Steps)-1].Error; e != tc.fail {
						t.Errorf("%s: error %q, want %q", st.name, e, tc.fail)
					}
				}
			}
		})
	}
}

// TestSessionPagesSurviveReload: a session handed to the runner of a
// reloaded config (Retire) keeps the pages its steps requested. Before, the
// moved session had none, so after every reload a flow sent to the login
// form read as down until the session's ttl, as before the pages existed.
func TestSessionPagesSurviveReload(t *testing.T) {
	app, srv := newWebApp(t)
	mk := func() (*config.Config, *config.Flow) {
		dash := config.Step{Name: "dashboard", Function: "read", Request: config.Request{URL: srv.URL + "/dashboard/"},
			Expect: config.Expect{Status: []int{200}, Body: &config.Matcher{Contains: sp("Welcome back")}}}
		cfg := testConfig(config.Flow{Timeout: 5 * time.Second, Interval: time.Minute, MaxRedirects: 5,
			Session: &config.Session{TTL: time.Hour, Steps: []config.Step{
				{Name: "form", Function: "login", Request: config.Request{URL: srv.URL + "/accounts/login/"}},
				{Name: "login", Function: "login", Request: config.Request{Method: "POST", URL: srv.URL + "/accounts/login/",
					Form: map[string]string{"username": "probe"}}},
			}},
			Steps: []config.Step{dash}})
		cfg.Defaults.Interval = time.Minute
		return cfg, &cfg.Services[0].Flows[0]
	}
	c := clock.NewManual(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	oldCfg, oldFlow := mk()
	old, err := NewRunner(oldCfg, Options{Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(old.CloseIdle)
	if got := old.Run(context.Background(), oldFlow); stepNames(got.Steps) != "form=ok login=ok dashboard=ok" {
		t.Fatalf("first run: %s", stepNames(got.Steps))
	}
	newCfg, newFlow := mk()
	r, err := NewRunner(newCfg, Options{Clock: c, Previous: old})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.CloseIdle)
	old.Retire(r)
	old.EndSessions(context.Background())
	c.Advance(time.Minute)
	if got := r.Run(context.Background(), newFlow); stepNames(got.Steps) != "dashboard=ok" {
		t.Fatalf("after the reload, the session moved: %s", stepNames(got.Steps))
	}
	app.expire()
	c.Advance(time.Minute)
	if got := r.Run(context.Background(), newFlow); stepNames(got.Steps) != "form=ok login=ok dashboard=ok" {
		t.Errorf("the moved session ended (sent to the login form): steps %s, want a new login", stepNames(got.Steps))
	}
}

// TestPageKey: the key of a session's page is its scheme, host, port and
// path, the query left out; a URL with no path is the root, which is what
// is requested (a session step fetching https://app.example for its CSRF
// cookie requested "/", where a logged-out visitor is sent).
func TestPageKey(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"https://app.example", "https://app.example/"},
		{"https://app.example?next=/x", "https://APP.example:443/"},
		{"http://app.example/accounts/login/?next=/d", "http://app.example:80/accounts/login/"},
		{"https://app.example:8443/a%20b", "https://app.example:8443/a%20b?q"},
	} {
		a, err := url.Parse(tc.a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := url.Parse(tc.b)
		if err != nil {
			t.Fatal(err)
		}
		if ka, kb := pageKey(a), pageKey(b); ka != kb {
			t.Errorf("%s and %s: keys %q and %q differ", tc.a, tc.b, ka, kb)
		}
	}
	for _, tc := range []struct{ a, b string }{
		{"http://app.example/", "https://app.example/"},
		{"https://app.example/login", "https://app.example/login/"},
		{"https://app.example:8443/", "https://app.example/"},
	} {
		a, _ := url.Parse(tc.a)
		b, _ := url.Parse(tc.b)
		if pageKey(a) == pageKey(b) {
			t.Errorf("%s and %s: the same key %q", tc.a, tc.b, pageKey(a))
		}
	}
}

// TestSessionEndedByRedirectThroughLogin: a flow step whose redirects,
// followed, pass through one of the session's pages on their way to a
// page of the identity provider (the application's /accounts/login/
// sends on to /sso/login) was sent to that page too. Before, only the last
// URL was looked at, so such a flow read as down until the session's ttl.
func TestSessionEndedByRedirectThroughLogin(t *testing.T) {
	var sessions sync.Map
	var logins atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /accounts/login/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/sso/login?client=app", http.StatusFound)
	})
	mux.HandleFunc("GET /sso/login", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<form method="post" action="/sso/authenticate"></form>`)
	})
	mux.HandleFunc("POST /sso/authenticate", func(w http.ResponseWriter, r *http.Request) {
		sid := fmt.Sprintf("sid-%d", logins.Add(1))
		sessions.Store(sid, true)
		http.SetCookie(w, &http.Cookie{Name: "sessionid", Value: sid, Path: "/"})
		http.Redirect(w, r, "/dashboard/", http.StatusFound)
	})
	mux.HandleFunc("GET /dashboard/", func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("sessionid"); err == nil {
			if _, ok := sessions.Load(c.Value); ok {
				fmt.Fprint(w, "Welcome back")
				return
			}
		}
		http.Redirect(w, r, "/accounts/login/?next=/dashboard/", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cfg := testConfig(config.Flow{Timeout: 5 * time.Second, Interval: time.Minute, MaxRedirects: 5,
		Session: &config.Session{TTL: time.Hour, Steps: []config.Step{
			{Name: "form", Function: "login", Request: config.Request{URL: srv.URL + "/accounts/login/"}},
			{Name: "login", Function: "login", Request: config.Request{Method: "POST", URL: srv.URL + "/sso/authenticate",
				Form: map[string]string{"username": "probe"}}},
		}},
		Steps: []config.Step{{Name: "dashboard", Function: "read", Request: config.Request{URL: srv.URL + "/dashboard/"},
			Expect: config.Expect{Status: []int{200}, Body: &config.Matcher{Contains: sp("Welcome back")}}}}})
	cfg.Defaults.Interval = time.Minute
	c := clock.NewManual(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	r, err := NewRunner(cfg, Options{Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.CloseIdle)
	f := &cfg.Services[0].Flows[0]
	if got := r.Run(context.Background(), f); stepNames(got.Steps) != "form=ok login=ok dashboard=ok" {
		t.Fatalf("first run: %s", stepNames(got.Steps))
	}
	sessions.Clear()
	c.Advance(time.Minute)
	if got := r.Run(context.Background(), f); stepNames(got.Steps) != "form=ok login=ok dashboard=ok" {
		t.Errorf("the session ended (sent through the login page): steps %s, want a new login", stepNames(got.Steps))
	}
	if n := logins.Load(); n != 2 {
		t.Errorf("%d logins, want 2", n)
	}
}

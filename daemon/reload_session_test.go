package daemon

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// sessionServer issues a token per login (a device) and counts logouts.
type sessionServer struct {
	mu      sync.Mutex
	live    map[string]bool
	logins  atomic.Int64
	logouts atomic.Int64
}

func newSessionServer(t *testing.T) (*sessionServer, string) {
	ss := &sessionServer{live: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		tok := fmt.Sprintf("tok-%d", ss.logins.Add(1))
		ss.mu.Lock()
		ss.live[tok] = true
		ss.mu.Unlock()
		fmt.Fprintf(w, `{"token":%q}`, tok)
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		ss.mu.Lock()
		ok := ss.live[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		ss.mu.Unlock()
		if !ok {
			http.Error(w, "unknown token", http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `{}`)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		ss.mu.Lock()
		delete(ss.live, r.URL.Query().Get("token"))
		ss.mu.Unlock()
		ss.logouts.Add(1)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return ss, srv.URL
}

func (ss *sessionServer) devices() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.live)
}

// sessionConfig has flows that log in with a session and log out when it
// ends; a flow named in changed logs in with another device name.
func sessionConfig(base string, changed map[string]bool, flows ...string) *config.Config {
	cfg := &config.Config{Location: "seoul-a", Timezone: "UTC", Loc: time.UTC}
	svc := config.Service{Name: "svc", Objective: 0.999}
	for i, name := range flows {
		login := config.Step{Name: "login", Function: "login", Request: config.Request{Method: "POST", URL: base + "/login"},
			Extract: []config.Extract{{Var: "token", JSONPath: "$.token"}}, Line: 10 * (i + 1)}
		if changed[name] {
			login.Request.URL += "?device=other"
		}
		svc.Flows = append(svc.Flows, config.Flow{Name: name, Service: "svc", Interval: time.Minute, Timeout: 5 * time.Second,
			DownAfter: 1, UpAfter: 1,
			Session: &config.Session{TTL: time.Hour, Steps: []config.Step{login}},
			Steps: []config.Step{{Name: "me", Function: "read", Request: config.Request{URL: base + "/me",
				Headers: map[string]string{"Authorization": "Bearer ${token}"}}}},
			Teardown: []config.Step{{Name: "logout", Function: "logout", When: config.WhenSessionEnd,
				Request: config.Request{Method: "POST", URL: base + "/logout?token=${token}"}}},
		})
	}
	cfg.Services = []config.Service{svc}
	return cfg
}

// runFlow runs one flow once on the daemon's current runner for it.
func runFlow(t *testing.T, d *Daemon, name string) probe.Run {
	t.Helper()
	d.mu.RLock()
	fs := d.flows[name]
	d.mu.RUnlock()
	fs.mu.Lock()
	r, f := fs.runner, fs.flow
	fs.mu.Unlock()
	return r.Run(context.Background(), f)
}

func runStepNames(run probe.Run) string {
	var out []string
	for _, s := range run.Steps {
		out = append(out, s.Step+"="+string(s.Status))
	}
	return strings.Join(out, " ")
}

func TestReloadEndsReplacedSessions(t *testing.T) {
	// A reload gives every flow a new runner. The flow whose session did
	// not change keeps its session (no new login, no new device); the one
	// whose session changed and the one that left are logged out (their
	// session_end teardown runs): the server is left with the live
	// sessions only.
	ss, base := newSessionServer(t)
	d, err := New(sessionConfig(base, nil, "same", "changed", "gone"), Deps{Store: &fakeStore{}, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"same", "changed", "gone"} {
		if run := runFlow(t, d, name); !run.OK() {
			t.Fatalf("%s: %s", name, runStepNames(run))
		}
	}
	if err := d.Reload(sessionConfig(base, map[string]bool{"changed": true}, "same", "changed")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replaced sessions logged out", func() bool { return ss.logouts.Load() == 2 })
	d.ending.Wait()
	if n := ss.logouts.Load(); n != 2 {
		t.Errorf("%d logouts after the reload, want 2 (changed, gone)", n)
	}
	if run := runFlow(t, d, "same"); runStepNames(run) != "me=ok" {
		t.Errorf("same after the reload: %s, want the session reused", runStepNames(run))
	}
	if run := runFlow(t, d, "changed"); runStepNames(run) != "login=ok me=ok" {
		t.Errorf("changed after the reload: %s, want a new login", runStepNames(run))
	}
	if l, n := ss.logins.Load(), ss.devices(); l != 4 || n != 2 {
		t.Errorf("%d logins, %d devices on the server; want 4, 2", l, n)
	}
	// Shutdown ends the rest.
	d.endSessions(context.Background())
	if n := ss.devices(); n != 0 {
		t.Errorf("%d devices left after shutdown", n)
	}
}

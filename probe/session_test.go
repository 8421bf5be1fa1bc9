package probe

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

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
)

// authTarget issues tokens at POST /login (each login is a new device, as
// Matrix does), checks them at GET /me, and deletes them at POST /logout.
type authTarget struct {
	mu       sync.Mutex
	tokens   map[string]bool
	logins   atomic.Int64
	logouts  atomic.Int64
	failLog  atomic.Bool
	failMe   atomic.Bool
	forbid   atomic.Bool  // an unknown token gets 403, not 401
	deny     atomic.Int64 // when set, /me answers this status to every token (a right the account lost)
	refused  atomic.Int64 // /me calls refused for an unknown token
	cookieOK atomic.Int64 // /me calls that carried the login's cookie
}

func newAuthTarget(t *testing.T) (*authTarget, *httptest.Server) {
	at := &authTarget{tokens: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if at.failLog.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		tok := fmt.Sprintf("tok-%d", at.logins.Add(1))
		at.mu.Lock()
		at.tokens[tok] = true
		at.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: tok, Path: "/"})
		fmt.Fprintf(w, `{"token":%q}`, tok)
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		at.mu.Lock()
		ok := at.tokens[tok]
		at.mu.Unlock()
		if !ok {
			at.refused.Add(1)
			code := http.StatusUnauthorized
			if at.forbid.Load() {
				code = http.StatusForbidden
			}
			http.Error(w, "unknown token", code)
			return
		}
		if code := at.deny.Load(); code != 0 {
			http.Error(w, "not allowed", int(code))
			return
		}
		if c, err := r.Cookie("sid"); err == nil && c.Value == tok {
			at.cookieOK.Add(1)
		}
		if at.failMe.Load() {
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, `{"me":%q}`, tok)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		at.logouts.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return at, srv
}

// revoke forgets every token, as a server that logged the probe out.
func (at *authTarget) revoke() {
	at.mu.Lock()
	clear(at.tokens)
	at.mu.Unlock()
}

func sessionFlow(base string) config.Flow {
	login := config.Step{Name: "login", Function: "login", Request: config.Request{Method: "POST", URL: base + "/login"},
		Extract: []config.Extract{{Var: "token", JSONPath: "$.token"}}}
	me := config.Step{Name: "me", Function: "read", Request: config.Request{URL: base + "/me",
		Headers: map[string]string{"Authorization": "Bearer ${token}"}}}
	logout := config.Step{Name: "logout", Function: "logout", Request: config.Request{Method: "POST", URL: base + "/logout"}}
	return config.Flow{Timeout: 5 * time.Second, Session: &config.Session{TTL: time.Hour, Steps: []config.Step{login}},
		Steps: []config.Step{me}, Teardown: []config.Step{logout}}
}

func stepNames(rs []StepResult) string {
	var out []string
	for _, s := range rs {
		out = append(out, s.Step+"="+string(s.Status))
	}
	return strings.Join(out, " ")
}

func TestSession(t *testing.T) {
	at, srv := newAuthTarget(t)
	cfg := testConfig(sessionFlow(srv.URL))
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &cfg.Services[0].Flows[0]
	mc := clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ctx := clock.NewContext(context.Background(), mc)
	run := func() Run { mc.Advance(time.Minute); return r.Run(ctx, f) }

	steps := []struct {
		name     string
		before   func()
		steps    string // run.Steps
		teardown string // run.Teardown
		logins   int64
	}{
		{"first run logs in", nil, "login=ok me=ok", "logout=ok", 1},
		{"second run reuses the session", nil, "me=ok", "logout=ok", 1},
		{"401 logs in again once, in that run", at.revoke, "login=ok me=ok", "logout=ok", 2},
		{"a failing step after login fails alone", func() { at.failMe.Store(true) }, "me=failed", "logout=ok", 2},
		{"ttl passed: log in again", func() { at.failMe.Store(false); mc.Advance(time.Hour) }, "login=ok me=ok", "logout=ok", 3},
		{"login down counts against login; teardown still runs", func() { at.revoke(); at.failLog.Store(true) },
			"login=failed me=not_run", "logout=ok", 3},
	}
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		got := run()
		if s := stepNames(got.Steps); s != st.steps {
			t.Errorf("%s: steps %s, want %s", st.name, s, st.steps)
		}
		if s := stepNames(got.Teardown); s != st.teardown {
			t.Errorf("%s: teardown %s, want %s", st.name, s, st.teardown)
		}
		if n := at.logins.Load(); n != st.logins {
			t.Errorf("%s: %d logins so far, want %d", st.name, n, st.logins)
		}
	}
	if got := run(); got.FunctionStatus("login") != StatusFailed || got.FunctionStatus("read") != StatusFailed || !strings.Contains(got.Steps[0].Error, "status 503") {
		t.Errorf("a failed login: functions login %s, read %s; steps %+v", got.FunctionStatus("login"), got.FunctionStatus("read"), got.Steps)
	}
	if at.cookieOK.Load() == 0 {
		t.Error("the session's cookie jar was not kept with the session")
	}
}

func TestTeardown(t *testing.T) {
	at, srv := newAuthTarget(t)
	f := sessionFlow(srv.URL)
	f.Session = nil
	login := config.Step{Name: "login", Function: "login", Request: config.Request{Method: "POST", URL: srv.URL + "/login"},
		Extract: []config.Extract{{Var: "token", JSONPath: "$.token"}}}
	f.Steps = append([]config.Step{login}, f.Steps...)
	// A teardown step that uses ${token}, and one that counts.
	del := config.Step{Name: "delete", Function: "cleanup", Request: config.Request{Method: "POST", URL: srv.URL + "/logout?t=${token}"}}
	gone := config.Step{Name: "gone", Function: "cleanup", Counts: true, Request: config.Request{URL: srv.URL + "/nothing-here"}}
	f.Teardown = append(f.Teardown, del, gone)

	at.failLog.Store(true)
	run := runOne(t, context.Background(), f, Options{})
	if s := stepNames(run.Steps); s != "login=failed me=not_run gone=failed" {
		t.Errorf("steps %s", s)
	}
	if s := stepNames(run.Teardown); s != "logout=ok delete=not_run" {
		t.Errorf("teardown %s", s)
	}
	if got := run.Teardown[1].Error; got != "not run: ${token} has no value in this run" {
		t.Errorf("delete: %q", got)
	}
	if got := run.Steps[2].Error; got != `gone: status 404, want 200-399: "404 page not found"` {
		t.Errorf("gone: %q", got)
	}
	if at.logouts.Load() != 1 {
		t.Errorf("%d logouts, want 1: teardown runs after a failed run", at.logouts.Load())
	}

	at.failLog.Store(false)
	run = runOne(t, context.Background(), f, Options{})
	if s := stepNames(run.Teardown); s != "logout=ok delete=ok" {
		t.Errorf("teardown after a passing run: %s", s)
	}
	if run.OK() {
		t.Error("a counted teardown step failed, but the run is ok")
	}
	f.Teardown[2].Counts = false
	run = runOne(t, context.Background(), f, Options{})
	if !run.OK() || stepNames(run.Teardown) != "logout=ok delete=ok gone=failed" {
		t.Errorf("an uncounted teardown failure: ok=%v teardown %s", run.OK(), stepNames(run.Teardown))
	}
}

// A teardown step with when: session_end logs the session out once, when
// the session is discarded, with the session's token: the server sees one
// device at a time (Matrix: each login is a device).
func TestSessionEndTeardown(t *testing.T) {
	at, srv := newAuthTarget(t)
	f := sessionFlow(srv.URL)
	f.Teardown = []config.Step{{Name: "logout", Function: "logout", When: config.WhenSessionEnd,
		Request: config.Request{Method: "POST", URL: srv.URL + "/logout?token=${token}"}}}
	cfg := testConfig(f)
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	flow := &cfg.Services[0].Flows[0]
	mc := clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ctx := clock.NewContext(context.Background(), mc)
	steps := []struct {
		name            string
		advance         time.Duration
		before          func()
		steps, teardown string
		logins, logouts int64
	}{
		{"first login", time.Minute, nil, "login=ok me=ok", "", 1, 0},
		{"session reused, no logout", time.Minute, nil, "me=ok", "", 1, 0},
		{"ttl passed: log out, then in", time.Hour, nil, "login=ok me=ok", "logout=ok", 2, 1},
		{"401: log out (best effort), then in", time.Minute, at.revoke, "login=ok me=ok", "logout=ok", 3, 2},
	}
	for _, st := range steps {
		mc.Advance(st.advance)
		if st.before != nil {
			st.before()
		}
		run := r.Run(ctx, flow)
		if s := stepNames(run.Steps); s != st.steps {
			t.Errorf("%s: steps %s, want %s", st.name, s, st.steps)
		}
		if s := stepNames(run.Teardown); s != st.teardown {
			t.Errorf("%s: teardown %s, want %s", st.name, s, st.teardown)
		}
		if at.logins.Load() != st.logins || at.logouts.Load() != st.logouts {
			t.Errorf("%s: %d logins, %d logouts; want %d, %d", st.name, at.logins.Load(), at.logouts.Load(), st.logins, st.logouts)
		}
	}
	// Shutdown ends the live session.
	ended := r.EndSessions(ctx)
	if len(ended) != 1 || stepNames(ended[0].Teardown) != "logout=ok" || at.logouts.Load() != 3 {
		t.Errorf("EndSessions: %+v, %d logouts; want one logout run, 3 logouts", ended, at.logouts.Load())
	}
	if again := r.EndSessions(ctx); len(again) != 0 {
		t.Errorf("a second EndSessions ran %d teardowns, want none", len(again))
	}
}

// TestEndSessionsInto: a one-shot caller (once) ends the sessions its runs
// logged in, and each logout is reported with the run of its flow.
func TestEndSessionsInto(t *testing.T) {
	at, srv := newAuthTarget(t)
	a, b := sessionFlow(srv.URL), sessionFlow(srv.URL)
	a.Name, b.Name = "a", "b"
	for _, f := range []*config.Flow{&a, &b} {
		f.Teardown = []config.Step{{Name: "logout", Function: "logout", When: config.WhenSessionEnd,
			Request: config.Request{Method: "POST", URL: srv.URL + "/logout", Headers: map[string]string{"Authorization": "Bearer ${token}"}}}}
	}
	cfg := testConfig(a, b)
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	runs := []Run{r.Run(ctx, &cfg.Services[0].Flows[0]), r.Run(ctx, &cfg.Services[0].Flows[1])}
	for i := range runs {
		if s := stepNames(runs[i].Teardown); s != "" {
			t.Fatalf("run %d: teardown %q before the sessions end", i, s)
		}
	}
	r.EndSessionsInto(ctx, runs)
	for i := range runs {
		if s := stepNames(runs[i].Teardown); s != "logout=ok" {
			t.Errorf("run %d (%s): teardown %q, want logout=ok", i, runs[i].Flow, s)
		}
	}
	if at.logins.Load() != 2 || at.logouts.Load() != 2 {
		t.Errorf("%d logins, %d logouts; want 2, 2", at.logins.Load(), at.logouts.Load())
	}
}

// A poll step that gets 401 or 403 on a reused session stops polling at
// once and logs in again: the token will not come back by asking again, so
// polling on until `within` spent the run's time on a dead session and left
// the new login and the retried step none (a poll as long as the flow's
// timeout turned every revoked session into a failed run).
func TestSessionPollRelogin(t *testing.T) {
	for _, code := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			at, srv := newAuthTarget(t)
			f := sessionFlow(srv.URL)
			f.Timeout = 2 * time.Second
			f.Steps[0].Poll = &config.Poll{Every: 20 * time.Millisecond, Within: 2 * time.Second}
			at.forbid.Store(code == http.StatusForbidden)
			cfg := testConfig(f)
			r, err := NewRunner(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(r.CloseIdle)
			fl := &cfg.Services[0].Flows[0]
			if run := r.Run(context.Background(), fl); !run.OK() {
				t.Fatalf("first run: %s", stepNames(run.Steps))
			}
			at.revoke()
			run := r.Run(context.Background(), fl)
			if s := stepNames(run.Steps); s != "login=ok me=ok" || !run.OK() {
				t.Errorf("a revoked session under a poll step: steps %s, want login=ok me=ok (%+v)", s, run.Steps)
			}
			if n := at.logins.Load(); n != 2 {
				t.Errorf("%d logins, want 2", n)
			}
			if n := at.refused.Load(); n != 1 {
				t.Errorf("the poll asked %d times with the revoked token, want once", n)
			}
		})
	}
}

// TestSessionRefusedWhenFresh: a step that a session logged in afresh gets
// 401 or 403 from is refused for another reason than the session (a
// Matrix 403 for a room the account left): later runs that get the same
// refusal do not log in again. Every run, confirm runs too (every few
// seconds while the flow is down), logged in again, so the login's rate
// limit answered 429 and the login function read as down while users could
// log in. A different refusal, or the same one after the step passed
// again, logs in again once.
func TestSessionRefusedWhenFresh(t *testing.T) {
	at, srv := newAuthTarget(t)
	cfg := testConfig(sessionFlow(srv.URL))
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.CloseIdle)
	f := &cfg.Services[0].Flows[0]
	steps := []loginRun{
		{"first run logs in", nil, "login=ok me=ok", 1},
		{"403 on a reused session: one new login", func() { at.deny.Store(403) }, "login=ok me=failed", 2},
		{"the same 403 again: no new login", nil, "me=failed", 2},
		{"and again", nil, "me=failed", 2},
		{"a 401 now: one new login", func() { at.deny.Store(401) }, "login=ok me=failed", 3},
		{"the 401 again: no new login", nil, "me=failed", 3},
		{"the step passes", func() { at.deny.Store(0) }, "me=ok", 3},
		{"a new 401 (revoked): one new login", at.revoke, "login=ok me=ok", 4},
		{"a 403 from the start: one new login", func() { at.deny.Store(403) }, "login=ok me=failed", 5},
		{"then none", nil, "me=failed", 5},
	}
	runLogins(t, r, f, &at.logins, steps)
}

// TestSessionRefusalHeldForAWhile: a refusal a fresh session got keeps
// later runs from logging in again for refusalHold only. Tokens issued while
// the platform's auth was broken may stay dead after it recovers: had the
// probe kept such a session until its ttl (an hour here), it would have
// measured an hour of outage after the recovery.
func TestSessionRefusalHeldForAWhile(t *testing.T) {
	at, srv := newAuthTarget(t)
	cfg := testConfig(sessionFlow(srv.URL))
	c := clock.NewManual(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	r, err := NewRunner(cfg, Options{Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.CloseIdle)
	f := &cfg.Services[0].Flows[0]
	steps := []loginRun{
		{"auth broken: a fresh session is refused", func() { at.deny.Store(401) }, "login=ok me=failed", 1},
		{"a minute later: no new login", func() { c.Advance(time.Minute) }, "me=failed", 1},
		// The platform recovers, but the token it issued while broken is
		// dead: the same step refuses it with the same status.
		{"recovered, the old token dead: still held", func() { at.deny.Store(0); at.revoke(); c.Advance(time.Minute) }, "me=failed", 1},
		{"past the hold: a new login, and it passes", func() { c.Advance(refusalHold) }, "login=ok me=ok", 2},
	}
	runLogins(t, r, f, &at.logins, steps)
}

// TestSessionRefusalHeldForAnInterval: a flow that runs more often than
// refusalHold holds a fresh session's refusal for one interval. Its
// confirm runs still do not log in, but a scheduled run does, so a token
// that stays dead after a short refusal of fresh tokens is replaced within
// an interval: held for 5 minutes, a 30-second refusal was measured as a
// 5-minute outage.
func TestSessionRefusalHeldForAnInterval(t *testing.T) {
	at, srv := newAuthTarget(t)
	f := sessionFlow(srv.URL)
	f.Interval = time.Minute
	cfg := testConfig(f)
	c := clock.NewManual(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	r, err := NewRunner(cfg, Options{Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.CloseIdle)
	steps := []loginRun{
		{"auth broken: a fresh session is refused", func() { at.deny.Store(401) }, "login=ok me=failed", 1},
		{"a confirm run 10 s later: no new login", func() { c.Advance(10 * time.Second) }, "me=failed", 1},
		{"and 50 s later", func() { c.Advance(40 * time.Second) }, "me=failed", 1},
		{"the next scheduled run (its predecessor began late): one new login, refused too", func() { c.Advance(9500 * time.Millisecond) }, "login=ok me=failed", 2},
		// The platform recovers, but the token it issued while broken is
		// dead: the same step refuses it with the same status.
		{"recovered, the old token dead: held until the interval is up", func() { at.deny.Store(0); at.revoke(); c.Advance(50 * time.Second) }, "me=failed", 2},
		{"an interval after the last refusal: a new login, and it passes", func() { c.Advance(10 * time.Second) }, "login=ok me=ok", 3},
	}
	runLogins(t, r, &cfg.Services[0].Flows[0], &at.logins, steps)
}

// loginRun is one run of a session flow in a sequence: what is done before
// it, the steps it reports and the logins the target has seen by its end.
type loginRun struct {
	name   string
	before func()
	steps  string
	logins int64
}

// runLogins runs f once per entry of runs, in order, checks each against
// the target's count of logins, and returns the runs.
func runLogins(t *testing.T, r *Runner, f *config.Flow, logins *atomic.Int64, runs []loginRun) []Run {
	t.Helper()
	out := make([]Run, 0, len(runs))
	for _, st := range runs {
		if st.before != nil {
			st.before()
		}
		got := r.Run(context.Background(), f)
		if s := stepNames(got.Steps); s != st.steps {
			t.Errorf("%s: steps %s, want %s", st.name, s, st.steps)
		}
		if n := logins.Load(); n != st.logins {
			t.Errorf("%s: %d logins so far, want %d", st.name, n, st.logins)
		}
		out = append(out, got)
	}
	return out
}

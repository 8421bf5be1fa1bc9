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

	"github.com/slaprobe/slaprobe/config"
)

// Review of #9's sessions and teardown against hostile or unlucky targets:
// a login refused forever, a logout that hangs, a token revoked in the
// middle of a flow, concurrent runs of one flow.

// sessionEndFlow is sessionFlow whose logout runs when the session ends.
func sessionEndFlow(base string) config.Flow {
	f := sessionFlow(base)
	f.Teardown = []config.Step{{Name: "logout", Function: "logout", When: config.WhenSessionEnd,
		Request: config.Request{Method: "POST", URL: base + "/logout?token=${token}"}}}
	return f
}

func TestSessionRefusedForeverDoesNotLoop(t *testing.T) {
	var logins, mes atomic.Int64
	loginCode, meCode := new(atomic.Int64), new(atomic.Int64)
	loginCode.Store(http.StatusOK)
	meCode.Store(http.StatusOK)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		logins.Add(1)
		if c := int(loginCode.Load()); c != http.StatusOK {
			http.Error(w, "no", c)
			return
		}
		fmt.Fprint(w, `{"token":"tok-abcdef"}`)
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		mes.Add(1)
		if c := int(meCode.Load()); c != http.StatusOK {
			http.Error(w, "no", c)
			return
		}
		fmt.Fprint(w, `{}`)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cfg := testConfig(sessionFlow(srv.URL))
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &cfg.Services[0].Flows[0]

	// The login itself answers 401, run after run: one login per run.
	loginCode.Store(http.StatusUnauthorized)
	for i := 1; i <= 3; i++ {
		run := r.Run(context.Background(), f)
		if s := stepNames(run.Steps); s != "login=failed me=not_run" {
			t.Errorf("run %d: steps %s", i, s)
		}
		if logins.Load() != int64(i) || mes.Load() != 0 {
			t.Errorf("run %d: %d logins, %d reads; want %d, 0", i, logins.Load(), mes.Load(), i)
		}
	}
	// Login works, but every read gets 401 (or 403): at most one login
	// and two reads per run, and no login once a fresh session got the
	// same refusal (see TestSessionRefusedWhenFresh).
	for _, code := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		loginCode.Store(http.StatusOK)
		meCode.Store(int64(code))
		for i := range 3 {
			l0, m0 := logins.Load(), mes.Load()
			run := r.Run(context.Background(), f)
			if run.OK() || run.FunctionStatus("read") != StatusFailed {
				t.Errorf("%d, run %d: %s", code, i, stepNames(run.Steps))
			}
			want := int64(1)
			if i > 0 {
				want = 0
			}
			if l, m := logins.Load()-l0, mes.Load()-m0; l != want || m > 2 {
				t.Errorf("%d, run %d: %d logins, %d reads; want %d, at most 2", code, i, l, m, want)
			}
		}
	}
}

func TestSessionForbiddenMidFlow(t *testing.T) {
	// The second of two reads gets 403 with a reused session: the session
	// runs again once, and the flow goes on from that step.
	at, srv := newAuthTarget(t)
	f := sessionFlow(srv.URL)
	me2 := f.Steps[0]
	me2.Name = "me-again"
	f.Steps = append(f.Steps, me2)
	cfg := testConfig(f)
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	flow := &cfg.Services[0].Flows[0]
	if run := r.Run(context.Background(), flow); !run.OK() {
		t.Fatalf("first run: %s", stepNames(run.Steps))
	}
	var n atomic.Int64
	orig := srv.Config.Handler
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/me" && n.Add(1) == 2 {
			at.revoke()
			http.Error(w, "revoked", http.StatusForbidden)
			return
		}
		orig.ServeHTTP(w, req)
	})
	run := r.Run(context.Background(), flow)
	if s := stepNames(run.Steps); s != "login=ok me=ok me-again=ok" || at.logins.Load() != 2 {
		t.Errorf("steps %s, %d logins; want login=ok me=ok me-again=ok, 2 logins", s, at.logins.Load())
	}
}

// hangingLogout is authTarget whose /logout hangs (until the test ends or
// the client gives up) while hang is set.
func hangingLogout(t *testing.T, at *authTarget, srv *httptest.Server) *atomic.Bool {
	var hang atomic.Bool
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	orig := srv.Config.Handler
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/logout" && hang.Load() {
			at.logouts.Add(1)
			select {
			case <-req.Context().Done():
			case <-done:
			}
			return
		}
		orig.ServeHTTP(w, req)
	})
	return &hang
}

func TestSessionEndLogoutDoesNotCostTheRun(t *testing.T) {
	// The session's ttl has passed and its logout (when: session_end, not
	// counted) hangs: the run's own steps must not pay for it. The logout
	// runs with the teardown, after the steps, within the teardown's
	// deadline.
	at, srv := newAuthTarget(t)
	hang := hangingLogout(t, at, srv)
	f := sessionEndFlow(srv.URL)
	f.Timeout = 400 * time.Millisecond
	f.Session.TTL = 300 * time.Millisecond // on the real clock: the logout really hangs
	cfg := testConfig(f)
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	flow := &cfg.Services[0].Flows[0]
	ctx := context.Background()
	if run := r.Run(ctx, flow); !run.OK() {
		t.Fatalf("first run: %s", stepNames(run.Steps))
	}
	hang.Store(true)
	for _, tc := range []struct {
		name   string
		before func()
	}{
		{"ttl passed", func() { time.Sleep(f.Session.TTL + 50*time.Millisecond) }},
		{"401", at.revoke},
	} {
		tc.before()
		start := time.Now()
		run := r.Run(ctx, flow)
		took := time.Since(start)
		if s := stepNames(run.Steps); s != "login=ok me=ok" || !run.OK() {
			t.Errorf("%s: steps %s (%+v): a hanging session_end logout failed the run", tc.name, s, run.Steps)
		}
		if s := stepNames(run.Teardown); s != "logout=failed" {
			t.Errorf("%s: teardown %s, want the logout failed", tc.name, s)
		}
		if took > 2*f.Timeout+time.Second {
			t.Errorf("%s: the run took %v, want at most twice the flow's timeout", tc.name, took)
		}
	}
}

func TestTeardownBounded(t *testing.T) {
	// Everything hangs: the steps time out at the flow's timeout, the
	// teardown at its own deadline of the same length; a run lasts at most
	// twice the flow's timeout, whatever the teardown does.
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	var teardowns atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/cleanup") {
			teardowns.Add(1)
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	f := config.Flow{Timeout: 300 * time.Millisecond, Steps: []config.Step{get("read", srv.URL+"/read")},
		Teardown: []config.Step{get("cleanup", srv.URL+"/cleanup"), get("cleanup2", srv.URL+"/cleanup2")}}
	start := time.Now()
	run := runOne(t, context.Background(), f, Options{})
	took := time.Since(start)
	wantStep(t, run.Steps[0], StatusFailed, "read: flow timeout after 300ms waiting for response headers from "+strings.TrimPrefix(srv.URL, "http://"))
	// The teardown steps share one deadline: the first, hanging, spends
	// it; the second fails at it (a step's own timeout would share it).
	if s := stepNames(run.Teardown); s != "cleanup=failed cleanup2=failed" || teardowns.Load() < 1 ||
		run.Teardown[1].Error != "cleanup2: flow timeout after 300ms" {
		t.Errorf("teardown %s (%d calls, %q): want both failed at the teardown's deadline", s, teardowns.Load(), run.Teardown[1].Error)
	}
	if took > 2*f.Timeout+time.Second {
		t.Errorf("the run took %v, want at most twice the flow's timeout (+slack)", took)
	}
	if run.Duration > 2*f.Timeout+200*time.Millisecond {
		t.Errorf("run.Duration %v, want at most twice the flow's timeout", run.Duration)
	}
}

func TestEndSessionsBounded(t *testing.T) {
	// At shutdown the logout hangs: EndSessions returns at its context's
	// deadline, with the logout failed.
	at, srv := newAuthTarget(t)
	hang := hangingLogout(t, at, srv)
	f := sessionEndFlow(srv.URL)
	f.Timeout = 5 * time.Second
	cfg := testConfig(f)
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if run := r.Run(context.Background(), &cfg.Services[0].Flows[0]); !run.OK() {
		t.Fatalf("first run: %s", stepNames(run.Steps))
	}
	hang.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	ended := r.EndSessions(ctx)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("EndSessions took %v with a 200ms context", took)
	}
	if len(ended) != 1 || stepNames(ended[0].Teardown) != "logout=failed" {
		t.Errorf("EndSessions: %+v", ended)
	}
}

func TestSessionConcurrentRunsLeaveNoSessionBehind(t *testing.T) {
	// Runs of one flow at the same time (a runner is safe for concurrent
	// use) may each log in, but every session they create is logged out in
	// the end: none is forgotten while live (a device left on the account).
	at, srv := newAuthTarget(t)
	cfg := testConfig(sessionEndFlow(srv.URL))
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	flow := &cfg.Services[0].Flows[0]
	for round := range 3 {
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if run := r.Run(context.Background(), flow); !run.OK() {
					t.Errorf("round %d: %s", round, stepNames(run.Steps))
				}
			})
		}
		wg.Wait()
		at.revoke() // the next round re-logs in
	}
	r.EndSessions(context.Background())
	if l, o := at.logins.Load(), at.logouts.Load(); l != o {
		t.Errorf("%d logins, %d logouts: %d sessions were dropped without their session_end teardown", l, o, l-o)
	}
}

func TestReusedSessionSecretsRedacted(t *testing.T) {
	// A token the session extracted as a secret stays a secret in the runs
	// that reuse the session (and in the session_end teardown).
	const token = "tok-Qw3rTy-session-secret"
	srv := httptest.NewServer(echoTarget(token))
	t.Cleanup(srv.Close)
	login := config.Step{Name: "login", Function: "login", Request: config.Request{Method: "POST", URL: srv.URL + "/login"},
		Extract: []config.Extract{{Var: "token", JSONPath: "$.token", Secret: true}}}
	// The token travels in a query (no credential header names it) and the
	// target echoes it into a failed check.
	read := config.Step{Name: "read", Function: "read", Request: config.Request{URL: srv.URL + "/echo?access_token=${token}"},
		Expect: config.Expect{Body: &config.Matcher{Equals: sp("nope")}}}
	logout := config.Step{Name: "logout", Function: "logout", When: config.WhenSessionEnd,
		Request: config.Request{URL: srv.URL + "/echo?access_token=${token}"}, Expect: config.Expect{Body: &config.Matcher{Equals: sp("nope")}}}
	cfg := testConfig(config.Flow{Timeout: 5 * time.Second, Session: &config.Session{TTL: time.Hour, Steps: []config.Step{login}},
		Steps: []config.Step{read}, Teardown: []config.Step{logout}})
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	flow := &cfg.Services[0].Flows[0]
	var errs []string
	for i := range 2 {
		run := r.Run(context.Background(), flow)
		if run.FunctionStatus("read") != StatusFailed {
			t.Fatalf("run %d: %s", i, stepNames(run.Steps))
		}
		for _, s := range append(run.Steps, run.Teardown...) {
			errs = append(errs, s.Error)
		}
	}
	for _, run := range r.EndSessions(context.Background()) {
		for _, s := range run.Teardown {
			errs = append(errs, s.Error)
		}
	}
	all := strings.Join(errs, "\n")
	if !strings.Contains(all, "does not equal") {
		t.Fatalf("no failed check quoted the body: %s", all)
	}
	if strings.Contains(all, "tok-Q") { // show() cuts long values: any prefix is a leak
		t.Errorf("the session's secret token reached a run's errors:\n%s", all)
	}
}

func TestHalfDoneSessionIsEnded(t *testing.T) {
	// The login passes, the session's next step fails: the login's token
	// is logged out at the end of the run (the server holds it: a device),
	// and a session_end step that needs a variable the session never got
	// is not run.
	at, srv := newAuthTarget(t)
	f := sessionEndFlow(srv.URL)
	join := config.Step{Name: "join", Function: "login", Request: config.Request{Method: "POST", URL: srv.URL + "/nothing"},
		Extract: []config.Extract{{Var: "room", JSONPath: "$.room"}}}
	f.Session.Steps = append(f.Session.Steps, join)
	f.Teardown = append(f.Teardown, config.Step{Name: "leave", Function: "logout", When: config.WhenSessionEnd,
		Request: config.Request{Method: "POST", URL: srv.URL + "/logout?room=${room}"}})
	cfg := testConfig(f)
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		run := r.Run(context.Background(), &cfg.Services[0].Flows[0])
		if s := stepNames(run.Steps); s != "login=ok join=failed me=not_run" {
			t.Errorf("run %d: steps %s", i, s)
		}
		if s := stepNames(run.Teardown); s != "logout=ok leave=not_run" || run.Teardown[1].Error != "not run: ${room} has no value in this session" {
			t.Errorf("run %d: teardown %s %+v", i, s, run.Teardown)
		}
		if at.logins.Load() != int64(i) || at.logouts.Load() != int64(i) {
			t.Errorf("run %d: %d logins, %d logouts: a half-done session was left on the server", i, at.logins.Load(), at.logouts.Load())
		}
	}
}

func TestRetireHandsSessionsOver(t *testing.T) {
	// A reload replaces the runner: an unchanged flow's session goes on in
	// the new runner (no new login), a changed flow's is logged out, and a
	// run still in flight on the old runner leaves no session behind.
	at, srv := newAuthTarget(t)
	same, changed := sessionEndFlow(srv.URL), sessionEndFlow(srv.URL)
	same.Name, changed.Name = "same", "changed"
	oldCfg := testConfig(same, changed)
	old, err := NewRunner(oldCfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range oldCfg.Services[0].Flows {
		if run := old.Run(context.Background(), &oldCfg.Services[0].Flows[i]); !run.OK() {
			t.Fatal(stepNames(run.Steps))
		}
	}
	same2, changed2 := sessionEndFlow(srv.URL), sessionEndFlow(srv.URL)
	same2.Name, changed2.Name = "same", "changed"
	same2.Line, same2.Session.Steps[0].Line = 40, 41 // moved in the file: the same session
	changed2.Session.Steps[0].Request.URL += "?device=new"
	newCfg := testConfig(same2, changed2)
	next, err := NewRunner(newCfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	old.Retire(next)
	ended := old.EndSessions(context.Background())
	if len(ended) != 1 || ended[0].Flow != "changed" || at.logouts.Load() != 1 {
		t.Errorf("EndSessions after Retire: %d runs, %d logouts; want the changed flow's logout only", len(ended), at.logouts.Load())
	}
	// The new runner reuses the unchanged flow's session and logs the
	// changed flow in.
	if run := next.Run(context.Background(), &newCfg.Services[0].Flows[0]); stepNames(run.Steps) != "me=ok" {
		t.Errorf("same flow on the new runner: %s, want the session reused", stepNames(run.Steps))
	}
	if run := next.Run(context.Background(), &newCfg.Services[0].Flows[1]); stepNames(run.Steps) != "login=ok me=ok" {
		t.Errorf("changed flow on the new runner: %s, want a new login", stepNames(run.Steps))
	}
	// A run still in flight on the old runner that has to log in ends
	// its session itself.
	at.revoke()
	run := old.Run(context.Background(), &oldCfg.Services[0].Flows[0])
	if stepNames(run.Steps) != "login=ok me=ok" || stepNames(run.Teardown) != "logout=ok" {
		t.Errorf("old runner after Retire: steps %s, teardown %s", stepNames(run.Steps), stepNames(run.Teardown))
	}
	next.EndSessions(context.Background())
	if l, o := at.logins.Load(), at.logouts.Load(); l != o {
		t.Errorf("%d logins, %d logouts", l, o)
	}
}

func TestSessionCookieRedacted(t *testing.T) {
	// The session's cookie (set by the login, kept in the session's jar,
	// sent by the client, never written in the config) is a credential
	// like a bearer token: a target that echoes it into a failed check
	// must not put it in the run's errors, in the run that logs in or in
	// the ones that reuse the session.
	const sid = "sid-9fK2mQ7vX1pL"
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: sid, Path: "/", HttpOnly: true})
		fmt.Fprint(w, `{}`)
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"cookie":%q}`, r.Header.Get("Cookie"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	login := config.Step{Name: "login", Function: "login", Request: config.Request{Method: "POST", URL: srv.URL + "/login"}}
	me := config.Step{Name: "me", Function: "read", Request: config.Request{URL: srv.URL + "/me"},
		Expect: config.Expect{Body: &config.Matcher{Equals: sp("nope")}}}
	cfg := testConfig(config.Flow{Timeout: 5 * time.Second, Session: &config.Session{TTL: time.Hour, Steps: []config.Step{login}},
		Steps: []config.Step{me}})
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		run := r.Run(context.Background(), &cfg.Services[0].Flows[0])
		e := run.Steps[len(run.Steps)-1].Error
		if !strings.Contains(e, "does not equal") {
			t.Fatalf("run %d: %q", i, e)
		}
		if strings.Contains(e, "9fK2") {
			t.Errorf("run %d: the session cookie reached the error: %q", i, e)
		}
	}
}

// TestRetireLeavesSessionInUse: a reload that changes a flow's session
// retires the runner and ends its sessions; one that a run in flight uses
// is ended by that run at its end, not logged out under it. It was logged
// out at once: the run's next request got 401 and the run failed (its
// session fresh) or logged in again (reused), a failure the reload made.
func TestRetireLeavesSessionInUse(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before int // runs that pass before the one in flight
	}{{"fresh session", 0}, {"reused session", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			tokens := map[string]bool{}
			var logins, logouts atomic.Int64
			inMe := make(chan struct{}, 8)
			hold := make(chan struct{})
			var held atomic.Bool // the in-flight run's /me waits on hold
			mux := http.NewServeMux()
			mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
				tok := fmt.Sprintf("tok-%08d", logins.Add(1))
				mu.Lock()
				tokens[tok] = true
				mu.Unlock()
				fmt.Fprintf(w, `{"token":%q}`, tok)
			})
			mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
				if held.Load() {
					inMe <- struct{}{}
					<-hold
				}
				mu.Lock()
				ok := tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
				mu.Unlock()
				if !ok {
					http.Error(w, "unknown token", http.StatusUnauthorized)
					return
				}
				fmt.Fprint(w, `{}`)
			})
			mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
				logouts.Add(1)
				mu.Lock()
				delete(tokens, r.URL.Query().Get("token"))
				mu.Unlock()
			})
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			cfg := testConfig(sessionEndFlow(srv.URL))
			r, err := NewRunner(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(r.CloseIdle)
			f := &cfg.Services[0].Flows[0]
			for i := range tc.before {
				if run := r.Run(context.Background(), f); !run.OK() {
					t.Fatalf("run %d: %s", i, stepNames(run.Steps))
				}
			}
			held.Store(true)
			done := make(chan Run, 1)
			go func() { done <- r.Run(context.Background(), f) }()
			<-inMe // the run is in flight, its session in use
			held.Store(false)
			r.Retire(nil)
			if ended := r.EndSessions(context.Background()); len(ended) != 0 || logouts.Load() != 0 {
				t.Errorf("EndSessions ended %d sessions (%d logouts) under the run in flight, want none", len(ended), logouts.Load())
			}
			close(hold)
			run := <-done
			if !run.OK() || logins.Load() != 1 {
				t.Errorf("the run in flight: %s, %d logins; want it to pass on its one login", stepNames(run.Steps), logins.Load())
			}
			if s := stepNames(run.Teardown); s != "logout=ok" || logouts.Load() != 1 {
				t.Errorf("the run in flight's teardown %q, %d logouts; want the session logged out once, at its end", s, logouts.Load())
			}
		})
	}
}

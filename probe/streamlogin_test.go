package probe

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
)

// newStreamWebApp is newWebApp with a notifications stream behind its
// cookie session, as an SSE endpoint (/notifications/) and a WebSocket
// (/ws/): a request whose session ended is sent to the login form (302 to
// /accounts/login/?next=...), as the dashboard's is; with moved set, both
// send every request to /maintenance/ (an HTML page) instead.
func newStreamWebApp(t *testing.T) (*webApp, *atomic.Bool, *httptest.Server) {
	app, mux := newWebAppMux()
	var moved atomic.Bool
	gate := func(w http.ResponseWriter, r *http.Request) bool {
		switch {
		case moved.Load():
			http.Redirect(w, r, "/maintenance/", http.StatusFound)
		case !app.loggedIn(r):
			http.Redirect(w, r, "/accounts/login/?next="+r.URL.Path, http.StatusFound)
		default:
			return true
		}
		return false
	}
	mux.HandleFunc("GET /maintenance/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<p>Back soon</p>")
	})
	mux.HandleFunc("/notifications/", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if !gate(w, r) {
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"n\":1}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	mux.HandleFunc("GET /ws/", func(w http.ResponseWriter, r *http.Request) {
		if !gate(w, r) {
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.Write(r.Context(), websocket.MessageText, []byte(`{"n":1}`))
		for {
			if _, _, err := c.Read(r.Context()); err != nil {
				return
			}
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return app, &moved, srv
}

// streamLoginFlow is a flow that logs in to the web application with its
// form and opens its notifications stream (sse or websocket). (No await:
// on the manual clock an await's wait ends at once; the stream step is
// what is refused.)
func streamLoginFlow(base, kind string, maxRedirects int, noRepeat bool) config.Flow {
	sub := config.Step{Name: "subscribe", Function: "receive", NoRepeat: noRepeat}
	switch kind {
	case "sse", "lines":
		sub.SSE = &config.Stream{URL: base + "/notifications/"}
		if kind == "lines" {
			sub.SSE.Format = config.FormatLines // no content type checked
		}
		if noRepeat {
			sub.SSE.Method, sub.SSE.Body = "POST", `{"subscribe":"orders"}` // it acts
		}
	case "websocket":
		sub.WebSocket = &config.Stream{URL: "ws" + strings.TrimPrefix(base, "http") + "/ws/"}
		if noRepeat {
			sub.WebSocket.Send = []string{`{"subscribe":"orders"}`} // it acts
		}
	}
	return config.Flow{Timeout: 5 * time.Second, Interval: time.Minute, MaxRedirects: maxRedirects,
		Session: &config.Session{TTL: time.Hour, Steps: []config.Step{
			{Name: "form", Function: "login", Request: config.Request{URL: base + "/accounts/login/"}},
			{Name: "login", Function: "login", Request: config.Request{Method: "POST", URL: base + "/accounts/login/",
				Form: map[string]string{"username": "probe"}}},
		}},
		Steps: []config.Step{sub}}
}

// newStreamLoginRunner is a runner of cfg on a manual clock.
func newStreamLoginRunner(t *testing.T, cfg *config.Config) (*Runner, *clock.Manual) {
	t.Helper()
	cfg.Defaults.Interval = time.Minute // not a config built without defaults: max_redirects 0 is 0
	c := clock.NewManual(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	r, err := NewRunner(cfg, Options{Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.CloseIdle)
	return r, c
}

// TestStreamSentToLoginPage: an sse or websocket step that a web
// application sends to its login form (the notifications stream of a
// session that ended: 302 to /accounts/login/) refuses the session as an
// http step's answer does: the run logs in again, once, and opens the
// stream again; a repeat: false stream step too (its request was refused,
// not acted on). A login that never lets the probe in is held as a fresh
// session's refusal: down, one login a scheduled run. Before, the stream
// failed as a bad stream (the login form's 200 text/html, or the 302) with
// no new login, and the flow read as down until the session's ttl.
func TestStreamSentToLoginPage(t *testing.T) {
	for _, tc := range []struct {
		kind         string
		maxRedirects int
		noRepeat     bool
		fail         string // the stream step's error while the login is broken
	}{
		{"sse", 5, false, `subscribe: sse: content type "text/plain; charset=utf-8", want text/event-stream (sent to the session's page "/accounts/login/")`},
		{"sse", 0, false, `subscribe: sse: status 302, want 200 (sent to the session's page "/accounts/login/")`},
		{"sse", 5, true, `subscribe: sse: content type "text/plain; charset=utf-8", want text/event-stream (sent to the session's page "/accounts/login/")`},
		{"lines", 5, false, `subscribe: sse: answered by a page, not a stream (sent to the session's page "/accounts/login/")`},
		{"websocket", 5, false, `subscribe: websocket handshake: status 200, want 101 (sent to the session's page "/accounts/login/")`},
		{"websocket", 0, false, `subscribe: websocket handshake: status 302, want 101 (sent to the session's page "/accounts/login/")`},
		{"websocket", 5, true, `subscribe: websocket handshake: status 200, want 101 (sent to the session's page "/accounts/login/")`},
	} {
		t.Run(fmt.Sprintf("%s max_redirects %d repeat %v", tc.kind, tc.maxRedirects, !tc.noRepeat), func(t *testing.T) {
			app, _, srv := newStreamWebApp(t)
			cfg := testConfig(streamLoginFlow(srv.URL, tc.kind, tc.maxRedirects, tc.noRepeat))
			r, c := newStreamLoginRunner(t, cfg)
			runs := []loginRun{
				{"first run logs in", nil, "form=ok login=ok subscribe=ok", 1},
				{"the session reused", func() { c.Advance(time.Minute) }, "subscribe=ok", 1},
				{"the session ended: sent to the login form, one new login", func() { app.expire(); c.Advance(time.Minute) }, "form=ok login=ok subscribe=ok", 2},
				{"login broken and the session ended: one new login, refused too", func() { app.broken.Store(true); app.expire(); c.Advance(time.Minute) }, "form=ok login=ok subscribe=failed", 3},
				{"a confirm run: held, no new login", func() { c.Advance(10 * time.Second) }, "subscribe=failed", 3},
				{"still broken, the next scheduled run: one login", func() { c.Advance(50 * time.Second) }, "form=ok login=ok subscribe=failed", 4},
				{"fixed: the next scheduled run logs in", func() { app.broken.Store(false); c.Advance(time.Minute) }, "form=ok login=ok subscribe=ok", 5},
			}
			for i, got := range runLogins(t, r, &cfg.Services[0].Flows[0], &app.logins, runs) {
				if st := runs[i]; strings.Contains(st.steps, "subscribe=failed") {
					if e := got.Steps[len(got.Steps)-1].Error; e != tc.fail {
						t.Errorf("%s: error %q, want %q", st.name, e, tc.fail)
					}
				}
			}
		})
	}
}

// TestStreamRedirectElsewhereNotRefusal: a stream whose handshake is
// redirected to a page that is not the session's (a maintenance page)
// fails as before, without a new login or a word of the session.
func TestStreamRedirectElsewhereNotRefusal(t *testing.T) {
	for _, tc := range []struct {
		kind         string
		maxRedirects int
		fail         string
	}{
		{"sse", 5, `subscribe: sse: content type "text/html; charset=utf-8", want text/event-stream`},
		{"sse", 0, `subscribe: sse: status 302, want 200`},
		{"websocket", 5, `subscribe: websocket handshake: status 200, want 101`},
		{"websocket", 0, `subscribe: websocket handshake: status 302, want 101`},
	} {
		t.Run(fmt.Sprintf("%s max_redirects %d", tc.kind, tc.maxRedirects), func(t *testing.T) {
			app, moved, srv := newStreamWebApp(t)
			cfg := testConfig(streamLoginFlow(srv.URL, tc.kind, tc.maxRedirects, false))
			r, c := newStreamLoginRunner(t, cfg)
			runs := []loginRun{
				{"first run logs in", nil, "form=ok login=ok subscribe=ok", 1},
				{"moved: failed, the session kept", func() { moved.Store(true); c.Advance(time.Minute) }, "subscribe=failed", 1},
				{"back: the session reused", func() { moved.Store(false); c.Advance(time.Minute) }, "subscribe=ok", 1},
			}
			got := runLogins(t, r, &cfg.Services[0].Flows[0], &app.logins, runs)
			if e := got[1].Steps[0].Error; e != tc.fail {
				t.Errorf("moved: error %q, want %q", e, tc.fail)
			}
		})
	}
}

// TestNoRepeatSSEOrderSentToLogin: a repeat: false sse step that POSTs an
// order follows the rule of a request step (TestNoRepeatRedirectStatuses)
// when a session's page is in the answer: a 302 to the login form that
// answers the POST itself is a refusal (the order was not made: a new
// login, the order sent again, once), while the login form that the
// order's own event stream sends it to, after the POST's 303 to that
// stream, refuses nothing (the order was made: no new login, not sent
// again, the step fails saying why).
func TestNoRepeatSSEOrderSentToLogin(t *testing.T) {
	for _, tc := range []struct {
		name          string
		expire        bool // the session ended: the POST is sent to the login form
		eventsToLogin bool // the order's event stream sends it to the login form
		steps         string
		err           string
		logins        int64
		orders        int64 // made in the second run
	}{
		{"the POST sent to the login form: sent again", true, false, "form=ok login=ok order=ok", "", 2, 1},
		{"the stream after the 303 sent to the login form", false, true, "order=failed",
			`order: sse: content type "text/plain; charset=utf-8", want text/event-stream (sent to the session's page "/accounts/login/") (after a 303 that answered the step's own request: not a refusal of it, and a repeat: false step is not sent again)`, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app, mux := newWebAppMux()
			var orders atomic.Int64
			var eventsToLogin atomic.Bool
			mux.HandleFunc("POST /orders/", func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				if !app.loggedIn(r) {
					http.Redirect(w, r, "/accounts/login/?next=/orders/", http.StatusFound)
					return
				}
				http.Redirect(w, r, fmt.Sprintf("/orders/o-%d/events", orders.Add(1)), http.StatusSeeOther)
			})
			mux.HandleFunc("GET /orders/{id}/events", func(w http.ResponseWriter, r *http.Request) {
				if eventsToLogin.Load() {
					http.Redirect(w, r, "/accounts/login/?next="+r.URL.Path, http.StatusFound)
					return
				}
				w.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(w, "data: {}\n\n")
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			})
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			f := streamLoginFlow(srv.URL, "sse", 5, true)
			f.Steps[0].Name, f.Steps[0].SSE.URL = "order", srv.URL+"/orders/"
			cfg := testConfig(f)
			r, c := newStreamLoginRunner(t, cfg)
			runs := []loginRun{
				{"first run logs in", nil, "form=ok login=ok order=ok", 1},
				{"second run", func() {
					c.Advance(time.Minute)
					orders.Store(0)
					eventsToLogin.Store(tc.eventsToLogin)
					if tc.expire {
						app.expire()
					}
				}, tc.steps, tc.logins},
			}
			got := runLogins(t, r, &cfg.Services[0].Flows[0], &app.logins, runs)
			if e := got[1].Steps[len(got[1].Steps)-1].Error; e != tc.err {
				t.Errorf("error %q, want %q", e, tc.err)
			}
			if n := orders.Load(); n != tc.orders {
				t.Errorf("%d orders made in the second run, want %d", n, tc.orders)
			}
		})
	}
}

// TestStreamSentToLoginAfterNoRepeat: a websocket handshake sent to the
// login form after a repeat: false step was sent in the run follows the
// rule of any refusal there (docs/config.md, "A step that must not be sent
// twice"): the run logs in again, and as the steps would be tried again
// from the notifications stream that a later await reads, before the
// payment, it ends rather than pay twice.
func TestStreamSentToLoginAfterNoRepeat(t *testing.T) {
	app, mux := newWebAppMux()
	var pays atomic.Int64
	var endAfterPay atomic.Bool
	mux.HandleFunc("POST /pay/", func(w http.ResponseWriter, r *http.Request) {
		if !app.loggedIn(r) {
			http.Redirect(w, r, "/accounts/login/?next=/pay/", http.StatusFound)
			return
		}
		pays.Add(1)
		if endAfterPay.Load() {
			app.expire() // the session ends right after the payment
		}
		fmt.Fprint(w, "paid")
	})
	mux.HandleFunc("GET /notifications/", func(w http.ResponseWriter, r *http.Request) {
		if !app.loggedIn(r) {
			http.Redirect(w, r, "/accounts/login/?next=/notifications/", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"n\":1}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	mux.HandleFunc("GET /ws/", func(w http.ResponseWriter, r *http.Request) {
		if !app.loggedIn(r) {
			http.Redirect(w, r, "/accounts/login/?next=/ws/", http.StatusFound)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.Read(r.Context())
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f := streamLoginFlow(srv.URL, "sse", 5, false)
	f.Steps[0].Name = "notifications"
	f.Steps = append(f.Steps,
		config.Step{Name: "pay", Function: "send", NoRepeat: true, Request: config.Request{Method: "POST", URL: srv.URL + "/pay/"},
			Expect: config.Expect{Status: []int{200}}},
		config.Step{Name: "events", Function: "receive", WebSocket: &config.Stream{URL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws/"}},
		config.Step{Name: "receive", Function: "receive", Timeout: 5 * time.Second, Await: &config.Await{Stream: "notifications"}})
	cfg := testConfig(f)
	r, err := NewRunner(cfg, Options{}) // real time: an await on a manual clock ends at once
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.CloseIdle)
	runs := []loginRun{
		{"first run logs in", nil, "form=ok login=ok notifications=ok pay=ok events=ok receive=ok", 1},
		{"the session ends after the payment: one new login, not paid again", func() { endAfterPay.Store(true) },
			"form=ok login=ok notifications=ok pay=ok events=failed receive=not_run", 2},
	}
	got := runLogins(t, r, &cfg.Services[0].Flows[0], &app.logins, runs)
	const want = `events: websocket handshake: status 200, want 101 (sent to the session's page "/accounts/login/"); logged in again, but the steps from ` + "`notifications`" + ` were not tried again: ` + "`pay`" + ` has repeat: false and was sent in this run`
	for _, s := range got[1].Steps {
		if s.Step == "events" && s.Error != want {
			t.Errorf("events: error %q, want %q", s.Error, want)
		}
	}
	if n := pays.Load(); n != 2 {
		t.Errorf("%d payments in two runs, want 2", n)
	}
}

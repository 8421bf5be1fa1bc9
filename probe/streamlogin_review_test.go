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

	"github.com/slaprobe/slaprobe/config"
)

// TestNoRepeatWebSocketSubscribeTaken: a repeat: false websocket step
// whose handshake acts (GET /ws/subscribe?topic=orders subscribes, then
// sends it on with a 303 to the live socket) follows the rule of a request
// step (TestNoRepeatRedirectStatuses): the login form the live socket then
// sends it to refuses nothing (the subscription was made: no new login,
// not sent again, the step fails saying why), while a handshake sent
// straight to the login form is a refusal (nothing was made: a new login,
// and the handshake sent again, once).
func TestNoRepeatWebSocketSubscribeTaken(t *testing.T) {
	for _, tc := range []struct {
		name       string
		expire     bool // the session ended: the handshake is sent to the login form
		liveLogin  bool // the live socket sends it to the login form
		steps      string
		err        string
		logins     int64
		subscribed int64 // in the second run
	}{
		{"the handshake sent to the login form: sent again", true, false, "form=ok login=ok subscribe=ok", "", 2, 1},
		{"the live socket after the 303 sent to the login form", false, true, "subscribe=failed",
			`subscribe: websocket handshake: status 200, want 101 (sent to the session's page "/accounts/login/") (after a 303 that answered the step's own request: not a refusal of it, and a repeat: false step is not sent again)`, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app, mux := newWebAppMux()
			var subscribed atomic.Int64
			var liveLogin atomic.Bool
			mux.HandleFunc("GET /ws/subscribe", func(w http.ResponseWriter, r *http.Request) {
				if !app.loggedIn(r) {
					http.Redirect(w, r, "/accounts/login/?next=/ws/subscribe", http.StatusFound)
					return
				}
				subscribed.Add(1) // it acts
				http.Redirect(w, r, "/ws/live/", http.StatusSeeOther)
			})
			mux.HandleFunc("GET /ws/live/", func(w http.ResponseWriter, r *http.Request) {
				if liveLogin.Load() {
					http.Redirect(w, r, "/accounts/login/?next=/ws/live/", http.StatusFound)
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
			f := streamLoginFlow(srv.URL, "websocket", 5, true)
			f.Steps[0].WebSocket = &config.Stream{URL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws/subscribe?topic=orders"}
			cfg := testConfig(f)
			r, c := newStreamLoginRunner(t, cfg)
			runs := []loginRun{
				{"first run logs in", nil, "form=ok login=ok subscribe=ok", 1},
				{"second run", func() {
					c.Advance(time.Minute)
					subscribed.Store(0)
					liveLogin.Store(tc.liveLogin)
					if tc.expire {
						app.expire()
					}
				}, tc.steps, tc.logins},
			}
			got := runLogins(t, r, &cfg.Services[0].Flows[0], &app.logins, runs)
			if e := got[1].Steps[len(got[1].Steps)-1].Error; e != tc.err {
				t.Errorf("error %q, want %q", e, tc.err)
			}
			if n := subscribed.Load(); n != tc.subscribed {
				t.Errorf("%d subscriptions made in the second run, want %d", n, tc.subscribed)
			}
		})
	}
}

// TestLinesStreamSentToIdentityProvider: a format: lines stream whose
// session ended is sent to the login form, which sends it on to an
// identity provider's login form (200 text/html on another host): that
// page is not the stream, and the session is refused (a new login, the
// stream tried again); a login page that sends it back to the stream (an
// SSO hop, the provider's session still good) passes as before.
func TestLinesStreamSentToIdentityProvider(t *testing.T) {
	var idpHasSession atomic.Bool
	var back string // the application's URL, set below
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if idpHasSession.Load() {
			http.Redirect(w, r, back+"/accounts/login/?sso=ok&next="+r.URL.Query().Get("next"), http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<form>Sign in to Example SSO</form>")
	}))
	t.Cleanup(idp.Close)
	app, mux := newWebAppMux()
	var ssoLogins atomic.Int64
	mux.HandleFunc("GET /feed/", func(w http.ResponseWriter, r *http.Request) {
		if !app.loggedIn(r) {
			http.Redirect(w, r, "/accounts/login/?next=/feed/", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		io.WriteString(w, "{\"n\":1}\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	// The login form of newWebAppMux, in front of it: a request sent to it
	// with ?next= goes to the identity provider, which sends it back
	// logged in (a new session cookie) when its own session is good.
	outer := http.NewServeMux()
	outer.HandleFunc("GET /accounts/login/", func(w http.ResponseWriter, r *http.Request) {
		next := r.URL.Query().Get("next")
		switch {
		case next != "" && r.URL.Query().Get("sso") == "ok":
			ssoLogins.Add(1)
			app.mu.Lock()
			app.sessions["sso"] = true
			app.mu.Unlock()
			http.SetCookie(w, &http.Cookie{Name: "sessionid", Value: "sso", Path: "/"})
			http.Redirect(w, r, next, http.StatusFound)
		case next != "":
			http.Redirect(w, r, idp.URL+"/authorize?next="+next, http.StatusFound)
		default:
			mux.ServeHTTP(w, r)
		}
	})
	outer.Handle("/", mux)
	srv := httptest.NewServer(outer)
	t.Cleanup(srv.Close)
	back = srv.URL
	f := streamLoginFlow(srv.URL, "lines", 5, false)
	f.Steps[0].SSE.URL = srv.URL + "/feed/"
	cfg := testConfig(f)
	r, c := newStreamLoginRunner(t, cfg)
	runs := []loginRun{
		{"first run logs in", nil, "form=ok login=ok subscribe=ok", 1},
		{"the session ended, the provider's too: sent to its form, one new login", func() {
			app.expire()
			c.Advance(time.Minute)
		}, "form=ok login=ok subscribe=ok", 2},
		{"the session ended, the provider's good: the SSO hop passes", func() {
			app.expire()
			idpHasSession.Store(true)
			c.Advance(time.Minute)
		}, "subscribe=ok", 2},
	}
	runLogins(t, r, &cfg.Services[0].Flows[0], &app.logins, runs)
	if n := ssoLogins.Load(); n != 1 {
		t.Errorf("%d SSO hops, want 1", n)
	}
}

// TestStreamSentToOtherHostsLoginPath: a stream sent to a page that has the
// path of the session's login form on another host or port (a status
// service's own /accounts/login/) is not sent to the session's page: no
// new login, and the step fails as for any answer that is not a stream.
func TestStreamSentToOtherHostsLoginPath(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<p>Status: maintenance</p>")
	}))
	t.Cleanup(other.Close)
	for _, tc := range []struct {
		kind string
		fail string
	}{
		{"sse", `subscribe: sse: content type "text/html; charset=utf-8", want text/event-stream`},
		{"websocket", `subscribe: websocket handshake: status 200, want 101`},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			app, mux := newWebAppMux()
			var away atomic.Bool
			for _, p := range []string{"/notifications/", "/ws/"} {
				mux.HandleFunc("GET "+p, func(w http.ResponseWriter, r *http.Request) {
					if away.Load() {
						http.Redirect(w, r, other.URL+"/accounts/login/", http.StatusFound)
						return
					}
					if p == "/ws/" {
						c, err := websocket.Accept(w, r, nil)
						if err != nil {
							return
						}
						defer c.CloseNow()
						c.Read(r.Context())
						return
					}
					w.Header().Set("Content-Type", "text/event-stream")
					io.WriteString(w, "data: {}\n\n")
					w.(http.Flusher).Flush()
					<-r.Context().Done()
				})
			}
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			cfg := testConfig(streamLoginFlow(srv.URL, tc.kind, 5, false))
			r, c := newStreamLoginRunner(t, cfg)
			runs := []loginRun{
				{"first run logs in", nil, "form=ok login=ok subscribe=ok", 1},
				{"sent to another host's /accounts/login/: no new login", func() { away.Store(true); c.Advance(time.Minute) }, "subscribe=failed", 1},
			}
			got := runLogins(t, r, &cfg.Services[0].Flows[0], &app.logins, runs)
			if e := got[1].Steps[0].Error; e != tc.fail {
				t.Errorf("error %q, want %q", e, tc.fail)
			}
		})
	}
}

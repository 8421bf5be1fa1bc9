package probe

import (
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

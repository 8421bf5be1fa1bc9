package probe

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/slaprobe/slaprobe/config"
)

// TestSessionExpiredFalseMatchKeepsWaiting: a stream of a protocol that is
// not Centrifugo's, whose traffic carries a message the defaults take for
// an expiry ({"error":{"code":109,...}}, here a market feed's "paused"
// notice before the message awaited), costs at most one login a run, as
// docs/config.md says, and the await still passes on the message after it.
// Before, the await failed at once ("session expired: stream subscribe said
// so") on every run: the run that logged in itself, the runs after it (the
// fresh session's refusal held) and a flow with no session at all, so a
// flow that passed before the upgrade read as down.
func TestSessionExpiredFalseMatchKeepsWaiting(t *testing.T) {
	noLeaks(t)
	var logins atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"token":"tok-%d"}`, logins.Add(1))
	})
	mux.HandleFunc("GET /feed", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.Write(r.Context(), websocket.MessageText, []byte(`{"error":{"code":109,"message":"quote feed paused"}}`))
		time.Sleep(20 * time.Millisecond)
		c.Write(r.Context(), websocket.MessageText, []byte(`{"id":"m-1"}`))
		c.Read(r.Context())
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	login := config.Step{Name: "login", Function: "login", Request: config.Request{Method: "POST", URL: srv.URL + "/login"},
		Extract: []config.Extract{{Var: "token", JSONPath: "$.token"}}}
	sub := config.Step{Name: "subscribe", Function: "receive",
		WebSocket: &config.Stream{URL: srv.URL + "/feed?token=${token}"}}
	recv := config.Step{Name: "receive", Function: "receive", Timeout: 3 * time.Second, Await: &config.Await{Stream: "subscribe"},
		Expect: config.Expect{JSONPath: []config.PathMatch{{Path: "$.id", Matcher: eq("m-1")}}}}

	t.Run("with a session", func(t *testing.T) {
		logins.Store(0)
		cfg := testConfig(config.Flow{Timeout: 8 * time.Second, Session: &config.Session{TTL: time.Hour, Steps: []config.Step{login}},
			Steps: []config.Step{sub, recv}})
		r, err := NewRunner(cfg, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.CloseIdle)
		runLogins(t, r, &cfg.Services[0].Flows[0], &logins, []loginRun{
			{"the run that logs in", nil, "login=ok subscribe=ok receive=ok", 1},
			// A reused session logs in again, once (it cannot tell), and
			// the await then waits for its message.
			{"a run that reuses the session", nil, "login=ok subscribe=ok receive=ok", 2},
			{"and the next", nil, "login=ok subscribe=ok receive=ok", 3},
		})
	})
	t.Run("without a session", func(t *testing.T) {
		logins.Store(0)
		cfg := testConfig(config.Flow{Timeout: 8 * time.Second, Steps: []config.Step{login, sub, recv}})
		r, err := NewRunner(cfg, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.CloseIdle)
		runLogins(t, r, &cfg.Services[0].Flows[0], &logins, []loginRun{
			{"a flow without a session", nil, "login=ok subscribe=ok receive=ok", 1},
			{"and again", nil, "login=ok subscribe=ok receive=ok", 2},
		})
	})
}

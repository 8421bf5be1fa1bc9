package probe

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/slaprobe/slaprobe/clock"

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

// TestPollSinceAfterANewLogin: a poll that a reused session's stale token
// got refused (401), and that passed after the run logged in again, is
// timed from the end of that login, not from its since step's start: the
// probe could not look for the message while it logged in, so the login's
// time is the probe's, not the delivery's. Before, the poll read the
// login's 2 s (in virtual time) on top of a delivery seen at its first
// look, over its expect.latency of 1 s: receive degraded ("latency 2s over
// objective 1s") on every run that renewed its session.
func TestPollSinceAfterANewLogin(t *testing.T) {
	c := clock.NewManual(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	var logins, current atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			c.Advance(2 * time.Second)
			n := logins.Add(1)
			current.Store(n)
			fmt.Fprintf(w, `{"token":"tok-%d"}`, n)
		case "/send": // the sender's own key: not the session's
			fmt.Fprint(w, `{"id":"m-1"}`)
		case "/inbox":
			if r.Header.Get("Authorization") != fmt.Sprintf("Bearer tok-%d", current.Load()) {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			fmt.Fprint(w, `{"messages":[{"id":"m-1"}]}`)
		}
	}))
	t.Cleanup(srv.Close)
	login := get("login", srv.URL+"/login")
	login.Extract = []config.Extract{{Var: "token", JSONPath: "$.token"}}
	send := get("send", srv.URL+"/send")
	recv := get("receive", srv.URL+"/inbox")
	recv.Request.Headers = map[string]string{"Authorization": "Bearer ${token}"}
	recv.Poll = &config.Poll{Every: time.Second, Within: 10 * time.Second}
	recv.Expect.Latency = time.Second
	recv.Expect.JSONPath = []config.PathMatch{{Path: "$.messages[*].id", Matcher: config.Matcher{Contains: ptr("m-1")}}}
	cfg := testConfig(config.Flow{Timeout: 30 * time.Second, Session: &config.Session{TTL: time.Hour, Steps: []config.Step{login}},
		Steps: []config.Step{send, recv}})
	r, err := NewRunner(cfg, Options{Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.CloseIdle)
	f := &cfg.Services[0].Flows[0]
	for i, before := range []func(){nil, func() { current.Store(-1) }} { // then the server forgets the token
		if before != nil {
			before()
		}
		run := r.Run(context.Background(), f)
		s := run.Steps[len(run.Steps)-1]
		if s.Status != StatusOK || s.Duration != 0 {
			t.Errorf("run %d: receive %s %q, %s; want ok in 0s (the message was there at the first look with a valid token)", i+1, s.Status, s.Error, s.Duration)
		}
	}
	if n := logins.Load(); n != 2 {
		t.Errorf("%d logins, want 2", n)
	}
}

// TestPollSinceStepNotRun: a poll whose since step did not run in this run
// (a teardown step skipped because the variable it uses has no value, the
// teardown going on to the poll) is timed by its own start, not by a start
// the run state kept from an earlier run. Before, the run states are pooled
// and kept each step's start: the second run's "gone" poll, its since step
// skipped, read the 60 s since the first run's delete.
func TestPollSinceStepNotRun(t *testing.T) {
	c := clock.NewManual(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	var made atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/make":
			if made.Add(1) > 1 {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			fmt.Fprint(w, `{"id":"x-1"}`)
		default:
			fmt.Fprint(w, `{"ok":true}`)
		}
	}))
	t.Cleanup(srv.Close)
	mk := get("make", srv.URL+"/make")
	mk.Extract = []config.Extract{{Var: "id", JSONPath: "$.id"}}
	del := get("delete", srv.URL+"/delete/${id}")
	gone := get("gone", srv.URL+"/gone")
	gone.Poll = &config.Poll{Every: time.Second, Within: 5 * time.Second} // since: delete, the step just before
	cfg := testConfig(config.Flow{Timeout: 10 * time.Second, Steps: []config.Step{mk}, Teardown: []config.Step{del, gone}})
	r, err := NewRunner(cfg, Options{Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.CloseIdle)
	f := &cfg.Services[0].Flows[0]
	for i, want := range []string{"delete=ok gone=ok", "delete=not_run gone=ok"} {
		run := r.Run(context.Background(), f)
		if s := stepNames(run.Teardown); s != want {
			t.Fatalf("run %d: teardown %s, want %s", i+1, s, want)
		}
		if d := run.Teardown[1].Duration; d != 0 {
			t.Errorf("run %d: gone took %s, want 0s (its own time: nothing advanced the clock)", i+1, d)
		}
		c.Advance(time.Minute)
	}
}

// TestSessionExpiredTwoStreams: a flow that opens two streams with the
// session's token and awaits the second first: when that one says the token
// expired, the run logs in again and opens both again, not only the one
// that said so. Before, it ran again from the second stream's step, so the
// first stream, opened with the expired token, failed its await ("session
// expired: stream a: closed by the server (3005 ...)") and the run failed
// after a login that had fixed everything.
func TestSessionExpiredTwoStreams(t *testing.T) {
	noLeaks(t)
	h, srv := newHubTarget(t)
	f := hubFlow(srv.URL, "uni_websocket")
	a := f.Steps[0]
	a.Name = "a"
	b := hubFlow(srv.URL, "uni_sse").Steps[0]
	b.Name = "b"
	recvA, recvB := f.Steps[1], f.Steps[1]
	recvA.Name, recvA.Await = "receive-a", &config.Await{Stream: "a"}
	recvB.Name, recvB.Await = "receive-b", &config.Await{Stream: "b"}
	f.Steps = []config.Step{a, b, recvB, recvA}
	cfg := testConfig(f)
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.CloseIdle)
	runLogins(t, r, &cfg.Services[0].Flows[0], &h.logins, []loginRun{
		{"first run logs in", nil, "login=ok a=ok b=ok receive-b=ok receive-a=ok", 1},
		{"the token expired: one new login, both streams opened again", h.revoke, "login=ok a=ok b=ok receive-b=ok receive-a=ok", 2},
	})
}

// TestHTTPStreamLastLineGzip pins the last line of a format lines stream
// sent gzip-compressed: counted when the gzip stream ended (its trailer
// read), dropped when it was cut (no trailer: a chunked body without its
// last chunk, or a close-delimited body, which a gzip stream, unlike plain
// text, can tell from a clean end).
func TestHTTPStreamLastLineGzip(t *testing.T) {
	const lines = "{\"connect\":{}}\n{\"id\":\"m-1\"}"
	for _, tc := range []struct {
		name   string
		status Status
	}{
		{"ended", StatusOK},
		{"chunked, cut", StatusFailed},
		{"close-delimited, cut", StatusFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var buf bytes.Buffer
				zw := gzip.NewWriter(&buf)
				zw.Write([]byte(lines))
				zw.Flush() // the lines, decodable, without the trailer
				if tc.name == "ended" {
					zw.Close()
				}
				if tc.name == "close-delimited, cut" {
					c, rw, _ := w.(http.Hijacker).Hijack()
					rw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n")
					rw.Write(buf.Bytes())
					rw.Flush()
					c.Close()
					return
				}
				w.Header().Set("Content-Type", "text/plain")
				w.Header().Set("Content-Encoding", "gzip")
				w.Write(buf.Bytes())
				w.(http.Flusher).Flush()
				if tc.name == "chunked, cut" {
					c, _, _ := w.(http.Hijacker).Hijack()
					c.Close()
				}
			}))
			t.Cleanup(srv.Close)
			sub := config.Step{Name: "subscribe", Function: "receive", SSE: &config.Stream{URL: srv.URL, Format: config.FormatLines}}
			recv := config.Step{Name: "receive", Function: "receive", Timeout: 2 * time.Second, Await: &config.Await{Stream: "subscribe"},
				Expect: config.Expect{JSONPath: []config.PathMatch{{Path: "$.id", Matcher: eq("m-1")}}}}
			run := runOne(t, context.Background(), config.Flow{Timeout: 5 * time.Second, Steps: []config.Step{sub, recv}}, Options{})
			if s := run.Steps[1]; s.Status != tc.status {
				t.Errorf("receive: %s %q, want %s", s.Status, s.Error, tc.status)
			}
		})
	}
}

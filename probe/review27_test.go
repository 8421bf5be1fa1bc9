package probe

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// TestSessionRefusedAfterStreamOpened: a reused session whose token expired
// opens a stream (the hub says so on it) and then gets a 401 from a send:
// the run logs in again and tries again from the stream, which the old
// token opened, not only from the send.
func TestSessionRefusedAfterStreamOpened(t *testing.T) {
	noLeaks(t)
	h, hub := newHubTarget(t)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		ok := h.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		h.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	t.Cleanup(api.Close)
	for _, kind := range []string{"websocket", "uni_websocket", "uni_sse"} {
		t.Run(kind, func(t *testing.T) {
			f := hubFlow(hub.URL, kind)
			send := config.Step{Name: "send", Function: "send", Request: config.Request{Method: "POST", URL: api.URL,
				Headers: map[string]string{"Authorization": "Bearer ${token}"}}}
			f.Steps = []config.Step{f.Steps[0], send, f.Steps[1]}
			cfg := testConfig(f)
			r, err := NewRunner(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(r.CloseIdle)
			base := h.logins.Load()
			h.logins.Store(0)
			defer h.logins.Add(base)
			runLogins(t, r, &cfg.Services[0].Flows[0], &h.logins, []loginRun{
				{"first run logs in", nil, "login=ok subscribe=ok send=ok receive=ok", 1},
				{"the token expired: one new login, the stream opened again", h.revoke, "login=ok subscribe=ok send=ok receive=ok", 2},
			})
		})
	}
}

// TestSessionRefusedStreamDoneNotReopened: a stream the run has done with
// (no await from the refused step on reads it) is not opened again when a
// later send's 401 makes the run log in again: the retry is from the send.
func TestSessionRefusedStreamDoneNotReopened(t *testing.T) {
	noLeaks(t)
	h, hub := newHubTarget(t)
	var opens atomic.Int64
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		opens.Add(1)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "data: {\"id\":\"m-1\"}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(feed.Close)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		ok := h.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		h.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	t.Cleanup(api.Close)
	f := hubFlow(hub.URL, "uni_sse")
	sub := config.Step{Name: "feed", Function: "receive", SSE: &config.Stream{URL: feed.URL}}
	recv := config.Step{Name: "receive", Function: "receive", Timeout: 3 * time.Second, Await: &config.Await{Stream: "feed"},
		Expect: config.Expect{JSONPath: []config.PathMatch{{Path: "$.id", Matcher: eq("m-1")}}}}
	send := config.Step{Name: "send", Function: "send", Request: config.Request{Method: "POST", URL: api.URL,
		Headers: map[string]string{"Authorization": "Bearer ${token}"}}}
	f.Steps = []config.Step{sub, recv, send}
	cfg := testConfig(f)
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.CloseIdle)
	runLogins(t, r, &cfg.Services[0].Flows[0], &h.logins, []loginRun{
		{"first run logs in", nil, "login=ok feed=ok receive=ok send=ok", 1},
		{"the token expired: one new login, the send tried again", h.revoke, "login=ok feed=ok receive=ok send=ok", 2},
	})
	if n := opens.Load(); n != 2 {
		t.Errorf("the feed was opened %d times in two runs, want 2", n)
	}
}

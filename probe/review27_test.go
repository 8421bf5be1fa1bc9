package probe

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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

package probe

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/slaprobe/slaprobe/config"
)

// hubTarget is a real-time hub in Centrifugo's manner: tokens from POST
// /login, and four transports that say "your token expired" inside their
// protocol, as Centrifugo v6 does: the bidirectional WebSocket answers the
// connect command with error 109, the unidirectional WebSocket closes with
// 3005, uni_sse and uni_http_stream send a disconnect push (code 3005) and
// end. A valid token gets a connect reply and then one publication.
type hubTarget struct {
	mu      sync.Mutex
	tokens  map[string]bool
	logins  atomic.Int64
	refuse  atomic.Bool // every token is expired (a hub whose clock or key is wrong)
	expired atomic.Int64
	// what a unidirectional stream says to an expired token: a close code
	// (uni_websocket) and a message (uni_sse, uni_http_stream); default
	// Centrifugo's.
	code int
	msg  string
}

func newHubTarget(t *testing.T) (*hubTarget, *httptest.Server) {
	h := &hubTarget{tokens: map[string]bool{}, code: 3005, msg: `{"disconnect":{"code":3005,"reason":"connection expired"}}`}
	valid := func(tok string) bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		ok := h.tokens[tok] && !h.refuse.Load()
		if !ok {
			h.expired.Add(1)
		}
		return ok
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		tok := fmt.Sprintf("tok-%d", h.logins.Add(1))
		h.mu.Lock()
		h.tokens[tok] = true
		h.mu.Unlock()
		fmt.Fprintf(w, `{"token":%q}`, tok)
	})
	const pub = `{"push":{"channel":"probe","pub":{"data":{"id":"m-1"}}}}`
	mux.HandleFunc("GET /connection/websocket", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		_, data, err := c.Read(r.Context())
		if err != nil {
			return
		}
		var cmd struct {
			Connect struct{ Token string } `json:"connect"`
		}
		json.Unmarshal(data, &cmd)
		if !valid(cmd.Connect.Token) {
			c.Write(r.Context(), websocket.MessageText, []byte(`{"id":1,"error":{"code":109,"message":"token expired"}}`))
			c.Read(r.Context()) // the connection stays open: the client may refresh
			return
		}
		c.Write(r.Context(), websocket.MessageText, []byte(`{"id":1,"connect":{"client":"c-1"}}`))
		c.Write(r.Context(), websocket.MessageText, []byte(pub))
		c.Read(r.Context())
	})
	mux.HandleFunc("GET /connection/uni_websocket", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		if !valid(r.URL.Query().Get("token")) {
			c.Close(websocket.StatusCode(h.code), "connection expired")
			return
		}
		c.Write(r.Context(), websocket.MessageText, []byte(`{"connect":{"client":"c-1"}}`))
		c.Write(r.Context(), websocket.MessageText, []byte(pub))
		c.Read(r.Context())
	})
	stream := func(w http.ResponseWriter, r *http.Request, tok, typ, form string) {
		w.Header().Set("Content-Type", typ)
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "\r\n")
		if !valid(tok) {
			fmt.Fprintf(w, form, h.msg)
			return
		}
		fmt.Fprintf(w, form, `{"connect":{"client":"c-1"}}`)
		fmt.Fprintf(w, form, pub)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
	mux.HandleFunc("GET /connection/uni_sse", func(w http.ResponseWriter, r *http.Request) {
		stream(w, r, r.URL.Query().Get("token"), "text/event-stream", "data: %s\n\n")
	})
	mux.HandleFunc("POST /connection/uni_http_stream", func(w http.ResponseWriter, r *http.Request) {
		var b struct{ Token string }
		json.NewDecoder(r.Body).Decode(&b)
		stream(w, r, b.Token, "application/json", "%s\n")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return h, srv
}

func (h *hubTarget) revoke() {
	h.mu.Lock()
	clear(h.tokens)
	h.mu.Unlock()
}

// hubFlow logs in in a session, subscribes with the token over kind, and
// awaits the publication.
func hubFlow(base, kind string) config.Flow {
	login := config.Step{Name: "login", Function: "login", Request: config.Request{Method: "POST", URL: base + "/login"},
		Extract: []config.Extract{{Var: "token", JSONPath: "$.token"}}}
	sub := config.Step{Name: "subscribe", Function: "receive"}
	switch kind {
	case "websocket":
		sub.WebSocket = &config.Stream{URL: base + "/connection/websocket", Send: []string{`{"id":1,"connect":{"token":"${token}"}}`}}
	case "uni_websocket":
		sub.WebSocket = &config.Stream{URL: base + "/connection/uni_websocket?token=${token}"}
	case "uni_sse":
		sub.SSE = &config.Stream{URL: base + "/connection/uni_sse?token=${token}"}
	case "uni_http_stream":
		sub.SSE = &config.Stream{URL: base + "/connection/uni_http_stream", Method: "POST", Body: `{"token":"${token}"}`, Format: config.FormatLines}
	}
	recv := config.Step{Name: "receive", Function: "receive", Timeout: 3 * time.Second, Await: &config.Await{Stream: "subscribe"},
		Expect: config.Expect{JSONPath: []config.PathMatch{{Path: "$.push.pub.data.id", Matcher: eq("m-1")}}}}
	return config.Flow{Timeout: 8 * time.Second, Session: &config.Session{TTL: time.Hour, Steps: []config.Step{login}},
		Steps: []config.Step{sub, recv}}
}

// TestSessionExpiredInProtocol: a session token that a real-time hub says
// has expired inside its protocol (Centrifugo's error 109 to a connect, a
// close with 3005, a disconnect push with 3005) makes the run log in again,
// once, and try again from the stream step, as a 401 does: before, only an
// HTTP 401/403 did, so the run failed "the only message on stream subscribe
// did not match ... (got {"id":1,"error":{"code":109,...}})" and receive
// read as down until the session's ttl. A hub that says so to every new
// token is down: the run that logged in fails, and the next ones do not
// log in again (the refusal of a fresh session is held, as a 401's).
func TestSessionExpiredInProtocol(t *testing.T) {
	for _, kind := range []string{"websocket", "uni_websocket", "uni_sse", "uni_http_stream"} {
		t.Run(kind, func(t *testing.T) {
			noLeaks(t)
			h, srv := newHubTarget(t)
			cfg := testConfig(hubFlow(srv.URL, kind))
			r, err := NewRunner(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(r.CloseIdle)
			f := &cfg.Services[0].Flows[0]
			runs := runLogins(t, r, f, &h.logins, []loginRun{
				{"first run logs in", nil, "login=ok subscribe=ok receive=ok", 1},
				{"the token expired in the protocol: one new login, and it passes", h.revoke, "login=ok subscribe=ok receive=ok", 2},
				{"the new session holds", nil, "subscribe=ok receive=ok", 2},
				{"the hub refuses every token: the run that logs in again fails", func() { h.refuse.Store(true) }, "login=ok subscribe=ok receive=failed", 3},
				{"and the next runs do not log in again", nil, "subscribe=ok receive=failed", 3},
				{"nor this one", nil, "subscribe=ok receive=failed", 3},
			})
			// Said: on a reused session at once (run 2 logs in again and
			// passes); where no new login follows (a fresh or held session)
			// the await goes on to its timeout or the stream's end, as a
			// protocol whose words only resemble the defaults may still
			// deliver (TestSessionExpiredFalseMatchKeepsWaiting).
			for _, i := range []int{3, 4} {
				if e := runs[i].Steps[len(runs[i].Steps)-1].Error; !strings.Contains(e, "session expired") {
					t.Errorf("run %d: receive's error %q does not say that the session expired", i+1, e)
				}
			}
		})
	}
}

// TestSessionExpiredConfigured: a stream's session_expired says what means
// the session expired in a hub's own protocol (a close code of its own, a
// message of its own), in place of Centrifugo's; session_expired: {} says
// nothing does (a flow whose hub uses 3005 for something else).
func TestSessionExpiredConfigured(t *testing.T) {
	own := &config.SessionExpired{CloseCodes: []int{4001},
		JSONPath: []config.PathMatch{{Path: "$.type", Matcher: eq("auth_expired")}}}
	for _, tc := range []struct {
		name, kind string
		se         *config.SessionExpired
		code       int
		msg        string
		steps      string // of the run after the revocation
		logins     int64
	}{
		{"its own message", "uni_sse", own, 3005, `{"type":"auth_expired"}`, "login=ok subscribe=ok receive=ok", 2},
		{"its own close code", "uni_websocket", own, 4001, "", "login=ok subscribe=ok receive=ok", 2},
		{"its own message, not the defaults'", "uni_sse", own, 3005, `{"disconnect":{"code":3005,"reason":"connection expired"}}`, "subscribe=ok receive=failed", 1},
		{"its own close code, not the defaults'", "uni_websocket", own, 3005, "", "subscribe=ok receive=failed", 1},
		{"the defaults do not know it", "uni_sse", nil, 3005, `{"type":"auth_expired"}`, "subscribe=ok receive=failed", 1},
		{"nothing says it: message", "uni_http_stream", &config.SessionExpired{}, 3005, `{"disconnect":{"code":3005,"reason":"connection expired"}}`, "subscribe=ok receive=failed", 1},
		{"nothing says it: close code", "uni_websocket", &config.SessionExpired{}, 3005, "", "subscribe=ok receive=failed", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, srv := newHubTarget(t)
			h.code = tc.code
			if tc.msg != "" {
				h.msg = tc.msg
			}
			f := hubFlow(srv.URL, tc.kind)
			if s := &f.Steps[0]; s.WebSocket != nil {
				s.WebSocket.SessionExpired = tc.se
			} else {
				s.SSE.SessionExpired = tc.se
			}
			f.Steps[1].Timeout = 500 * time.Millisecond
			cfg := testConfig(f)
			r, err := NewRunner(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(r.CloseIdle)
			runLogins(t, r, &cfg.Services[0].Flows[0], &h.logins, []loginRun{
				{"first run logs in", nil, "login=ok subscribe=ok receive=ok", 1},
				{"the token expired in the protocol", h.revoke, tc.steps, tc.logins},
			})
		})
	}
}

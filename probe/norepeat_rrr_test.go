package probe

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// TestNoRepeatUnansweredSaysUnknown: a repeat: false step whose request went
// out whole and got no byte of an answer (the keep-alive connection it was
// sent on closed: a crash, a proxy) is not
// sent again, by Go's Transport or by the run, so its error is all the
// operator has: it says that whether the target acted on it is unknown.
// Before, it read "send: connection closed by server", as if nothing had
// happened. The same for the request a 307 sent on (the same POST); not
// for the GET a 303 turned it into (the 303 answered it), nor for a request
// that never went out (connection refused), nor for a step without
// repeat: false (its error is as before).
func TestNoRepeatUnansweredSaysUnknown(t *testing.T) {
	noLeaks(t)
	const unknown = " (after the request went out, before any answer: whether the target acted on it is unknown, and a repeat: false step is not sent again)"
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + closed.Addr().String()
	closed.Close()
	for _, tc := range []struct {
		name     string
		noRepeat bool
		header   string
		mode     string // "": POST /transfers drops; "303", "307": its redirect's request does; "refused"
		err      string
	}{
		{"repeat: false, Idempotency-Key", true, "Idempotency-Key", "", "send: connection closed by server" + unknown},
		{"repeat: false, no key", true, "X-Request-Id", "", "send: connection closed by server" + unknown},
		{"repeat: false, the POST a 307 sent on", true, "X-Request-Id", "307", "send: connection closed by server" + unknown},
		{"repeat: false, the GET after a 303: the POST was answered", true, "X-Request-Id", "303", "send: connection closed by server"},
		{"repeat: false, connection refused: nothing went out", true, "X-Request-Id", "refused", "send: connection refused (" + closed.Addr().String() + ")"},
		{"repeat (default), no key: as before", false, "X-Request-Id", "", "send: connection closed by server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var drops atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				if r.URL.Path == "/transfers" && (tc.mode == "303" || tc.mode == "307") {
					code, _ := strconv.Atoi(tc.mode)
					http.Redirect(w, r, "/next", code)
					return
				}
				if r.URL.Path != "/ping" && drops.Add(-1) >= 0 {
					if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
						c.Close() // the transfer is made; the answer never comes
					}
					return
				}
				w.WriteHeader(http.StatusCreated)
			}))
			t.Cleanup(srv.Close)
			url := srv.URL
			if tc.mode == "refused" {
				url = closedURL
			}
			send := config.Step{Name: "send", Function: "send", NoRepeat: tc.noRepeat,
				Request: config.Request{Method: "POST", URL: url + "/transfers",
					Headers: map[string]string{tc.header: "transfer-${run.id}"}, JSON: map[string]any{"amount": 1}},
				Expect: config.Expect{Status: []int{201}}}
			cfg := testConfig(config.Flow{Timeout: 5 * time.Second, Steps: []config.Step{get("ping", srv.URL+"/ping"), send}})
			r, err := NewRunner(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(r.CloseIdle)
			drops.Store(1) // the send, on the connection the ping left idle
			if tc.mode == "303" {
				drops.Store(2) // and Go's resend of the GET, on a new one
			}
			got := r.Run(context.Background(), &cfg.Services[0].Flows[0])
			if got.Steps[0].Status != StatusOK {
				t.Fatalf("ping %s %s", got.Steps[0].Status, got.Steps[0].Error)
			}
			if s := got.Steps[1]; s.Status != StatusFailed || s.Error != tc.err {
				t.Errorf("send %s %q, want failed %q", s.Status, s.Error, tc.err)
			}
		})
	}
}

// redirectTarget is a payments API behind a session whose POST /transfers
// answers with the redirect code to where: "receipt" (the transfer is made,
// GET /receipts/1 then answers 401: a receipts service that wants another
// credential), "v2" (POST /v2/transfers gets the request, checks the token
// and makes the transfer) or "login" (the transfer is not made: the login
// form, a web application's answer to a session that ended).
type redirectTarget struct {
	tokenIssuer
	code      int // guarded by mu
	where     string
	transfers atomic.Int64
	cut       atomic.Bool // GET /receipts/1 and GET /login cut their body short
}

// cutBody writes the head of an answer with code and a body of 100 bytes,
// sends the first of them and drops the connection.
func cutBody(w http.ResponseWriter, code int) {
	w.Header().Set("Content-Length", "100")
	w.WriteHeader(code)
	io.WriteString(w, "<html><title>")
	w.(http.Flusher).Flush()
	panic(http.ErrAbortHandler)
}

func newRedirectTarget(t *testing.T) (*redirectTarget, *httptest.Server) {
	p := &redirectTarget{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", p.login)
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		if p.cut.Load() {
			cutBody(w, http.StatusOK)
		}
		fmt.Fprint(w, "<form>sign in</form>")
	})
	mux.HandleFunc("POST /transfers", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		p.mu.Lock()
		code, where := p.code, p.where
		p.mu.Unlock()
		switch {
		case code == 0 && p.known(r):
			p.transfers.Add(1)
			fmt.Fprint(w, `{"id":"t"}`)
		case code == 0:
			w.WriteHeader(http.StatusUnauthorized)
		case where == "login" && p.known(r):
			p.transfers.Add(1)
			fmt.Fprint(w, `{"id":"t"}`)
		case where == "login":
			http.Redirect(w, r, "/login?next=/transfers", code)
		case where == "receipt":
			p.transfers.Add(1)
			http.Redirect(w, r, "/receipts/1", code)
		default:
			http.Redirect(w, r, "/v2/transfers", code)
		}
	})
	mux.HandleFunc("POST /v2/transfers", func(w http.ResponseWriter, r *http.Request) {
		if !p.known(r) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		p.transfers.Add(1)
		fmt.Fprint(w, `{"id":"t"}`)
	})
	mux.HandleFunc("GET /receipts/1", func(w http.ResponseWriter, r *http.Request) {
		if p.cut.Load() {
			cutBody(w, http.StatusUnauthorized)
		}
		w.WriteHeader(http.StatusUnauthorized)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return p, srv
}

// TestNoRepeatRedirectStatuses pins, for each redirect Go follows, what a
// repeat: false POST's refusal is: a 301, 302 or 303 ends the request (Go
// follows it with a GET), so a 401 the receipt then gets refuses nothing
// (no new login, not sent again: one transfer); a 307 or 308 sends the
// request on, so the 401 its new URL answers with is the request's own
// refusal (a new login, sent again, and the run passes); and a redirect
// to the session's login page that answers the POST itself is a refusal
// whatever its code (the transfer was not made: a new login, sent again).
func TestNoRepeatRedirectStatuses(t *testing.T) {
	noLeaks(t)
	type want struct {
		steps     string
		logins    int64
		transfers int64 // in the second run
		err       string
	}
	taken := want{"send=failed", 1, 1, "(after a %d that answered the step's own request: not a refusal of it"}
	resent := want{"login=ok send=ok", 2, 1, ""}
	for _, tc := range []struct {
		code    int
		where   string
		revoked bool
		want    want
	}{
		{http.StatusMovedPermanently, "receipt", false, taken},
		{http.StatusFound, "receipt", false, taken},
		{http.StatusSeeOther, "receipt", false, taken},
		{http.StatusTemporaryRedirect, "v2", true, resent},
		{http.StatusPermanentRedirect, "v2", true, resent},
		{http.StatusMovedPermanently, "login", true, resent},
		{http.StatusFound, "login", true, resent},
		{http.StatusSeeOther, "login", true, resent},
	} {
		t.Run(fmt.Sprintf("%d to %s", tc.code, tc.where), func(t *testing.T) {
			p, srv := newRedirectTarget(t)
			login := config.Step{Name: "login", Function: "login", Request: config.Request{Method: "POST", URL: srv.URL + "/login"},
				Extract: []config.Extract{{Var: "token", JSONPath: "$.token"}}}
			send := config.Step{Name: "send", Function: "send", NoRepeat: true,
				Request: config.Request{Method: "POST", URL: srv.URL + "/transfers", Headers: map[string]string{"Authorization": "Bearer ${token}"},
					JSON: map[string]any{"amount": 1}},
				Expect:  config.Expect{Status: []int{200}},
				Extract: []config.Extract{{Var: "id", JSONPath: "$.id"}}} // a login form has none
			cfg := testConfig(config.Flow{Timeout: 5 * time.Second, Session: &config.Session{TTL: time.Hour, Steps: []config.Step{login}},
				Steps: []config.Step{send}})
			r, err := NewRunner(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(r.CloseIdle)
			f := &cfg.Services[0].Flows[0]
			if got := r.Run(context.Background(), f); stepNames(got.Steps) != "login=ok send=ok" {
				t.Fatalf("first run: %s %v", stepNames(got.Steps), got.Steps)
			}
			p.mu.Lock()
			p.code, p.where = tc.code, tc.where
			if tc.revoked {
				clear(p.tokens)
			}
			p.mu.Unlock()
			p.transfers.Store(0)
			got := r.Run(context.Background(), f)
			if s := stepNames(got.Steps); s != tc.want.steps {
				t.Errorf("steps %s, want %s (%s)", s, tc.want.steps, got.Steps[len(got.Steps)-1].Error)
			}
			e := got.Steps[len(got.Steps)-1].Error
			if w := tc.want.err; w != "" && !strings.Contains(e, fmt.Sprintf(w, tc.code)) {
				t.Errorf("send's error %q, want %q in it", e, fmt.Sprintf(w, tc.code))
			}
			if n := p.logins.Load(); n != tc.want.logins {
				t.Errorf("%d logins, want %d", n, tc.want.logins)
			}
			if n := p.transfers.Load(); n != tc.want.transfers {
				t.Errorf("%d transfers in the second run, want %d", n, tc.want.transfers)
			}
		})
	}
}

// TestNoRepeatSSERefusalAfterRedirect: the redirect rule of
// TestNoRepeatRefusalAfterRedirect for an sse step that POSTs (an order
// whose answer is a 303 to its own event stream, followed with a GET): a 401
// the stream then gets (an events service that wants another credential)
// is not a refusal of the order, so a repeat: false step is not sent again
// after a new login. Before, the run logged in again and POSTed the order
// again: two orders in one run. A 401 that answers the POST itself is still
// a refusal (the order was not made): a new login, and the step sent again.
func TestNoRepeatSSERefusalAfterRedirect(t *testing.T) {
	noLeaks(t)
	for _, tc := range []struct {
		name    string
		revoke  bool // the token refused by POST /orders itself
		steps   string
		err     string
		logins  int64
		orders  int64 // in the second run
		streams bool  // the events service refuses the token
	}{
		{"the stream after the 303 refuses", false, "send=failed", "sse: status 401, want 200 (after a 303 that answered the step's own request: not a refusal of it, and a repeat: false step is not sent again)", 1, 1, true},
		{"the POST itself refused: sent again", true, "login=ok send=ok", "", 2, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			tokens := map[string]bool{}
			var logins, orders atomic.Int64
			var refuseStream atomic.Bool
			valid := func(r *http.Request) bool {
				mu.Lock()
				defer mu.Unlock()
				return tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
			}
			mux := http.NewServeMux()
			mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
				tok := fmt.Sprintf("tok-%d", logins.Add(1))
				mu.Lock()
				tokens[tok] = true
				mu.Unlock()
				fmt.Fprintf(w, `{"token":%q}`, tok)
			})
			mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				if !valid(r) {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				http.Redirect(w, r, fmt.Sprintf("/orders/o-%d/events", orders.Add(1)), http.StatusSeeOther)
			})
			mux.HandleFunc("GET /orders/{id}/events", func(w http.ResponseWriter, r *http.Request) {
				if refuseStream.Load() {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				w.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(w, "data: {}\n\n")
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			})
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			login := config.Step{Name: "login", Function: "login", Request: config.Request{Method: "POST", URL: srv.URL + "/login"},
				Extract: []config.Extract{{Var: "token", JSONPath: "$.token"}}}
			send := config.Step{Name: "send", Function: "send", NoRepeat: true, SSE: &config.Stream{URL: srv.URL + "/orders", Method: "POST",
				Body: `{"item":1}`, Headers: map[string]string{"Authorization": "Bearer ${token}"}}}
			cfg := testConfig(config.Flow{Timeout: 5 * time.Second, Session: &config.Session{TTL: time.Hour, Steps: []config.Step{login}},
				Steps: []config.Step{send}})
			r, err := NewRunner(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(r.CloseIdle)
			f := &cfg.Services[0].Flows[0]
			if got := r.Run(context.Background(), f); stepNames(got.Steps) != "login=ok send=ok" {
				t.Fatalf("first run: %s %v", stepNames(got.Steps), got.Steps)
			}
			refuseStream.Store(tc.streams)
			if tc.revoke {
				mu.Lock()
				clear(tokens)
				mu.Unlock()
			}
			orders.Store(0)
			got := r.Run(context.Background(), f)
			if s := stepNames(got.Steps); s != tc.steps {
				t.Errorf("steps %s, want %s", s, tc.steps)
			}
			if e := got.Steps[len(got.Steps)-1].Error; tc.err == "" && e != "" || !strings.Contains(e, tc.err) {
				t.Errorf("send's error %q, want %q in it", e, tc.err)
			}
			if n := logins.Load(); n != tc.logins {
				t.Errorf("%d logins, want %d", n, tc.logins)
			}
			if n := orders.Load(); n != tc.orders {
				t.Errorf("%d orders in the second run, want %d", n, tc.orders)
			}
		})
	}
}

package probe

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// receiptTarget is a payments API behind a session: POST /login gives a
// token; POST /transfers, with a token it issued, makes a transfer and
// answers 303 to the transfer's receipt (Post/Redirect/Get), which the
// client follows; GET /receipts/{id} answers as receipt says: 200, 401 (a
// receipts service that wants another credential), or 302 to the login
// page (a web application whose receipt view wants a fresh login).
type receiptTarget struct {
	tokenIssuer
	receipt   atomic.Int64 // 0: 200, 401, or 302 to /login
	transfers atomic.Int64
}

func newReceiptTarget(t *testing.T) (*receiptTarget, *httptest.Server) {
	p := &receiptTarget{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", p.login)
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<form>sign in</form>")
	})
	mux.HandleFunc("POST /transfers", func(w http.ResponseWriter, r *http.Request) {
		if !p.known(r) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/receipts/t-%d", p.transfers.Add(1)), http.StatusSeeOther)
	})
	mux.HandleFunc("GET /receipts/{id}", func(w http.ResponseWriter, r *http.Request) {
		switch p.receipt.Load() {
		case http.StatusUnauthorized:
			w.WriteHeader(http.StatusUnauthorized)
		case http.StatusFound:
			http.Redirect(w, r, "/login?next="+r.URL.Path, http.StatusFound)
		default:
			fmt.Fprintf(w, `{"id":%q}`, r.PathValue("id"))
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return p, srv
}

// TestNoRepeatRefusalAfterRedirect: a repeat: false step whose request was
// answered with a redirect other than 307/308 (a transfer's 303 to its
// receipt) was taken by the target; a 401 or a session page that a later
// request of its redirects got is not a refusal of it, so the run does not
// log in again and send it again. Before, the final answer decided: the
// receipt's 401 (or its redirect to the login page) made the run log in
// again and POST /transfers again, two transfers in one run. A step without
// repeat: false still logs in again and is sent again, as before; a 401 or
// a redirect to the login page that answers the step's own request is a
// refusal, and the step is sent again after the new login (it did nothing).
func TestNoRepeatRefusalAfterRedirect(t *testing.T) {
	noLeaks(t)
	for _, tc := range []struct {
		name      string
		noRepeat  bool
		receipt   int64
		revoke    bool // the token refused by POST /transfers itself
		steps     string
		err       string
		logins    int64
		transfers int64
	}{
		{"repeat: false, the receipt 401", true, http.StatusUnauthorized, false, "send=failed", "send: status 401, want 200 (after a 303 that answered the step's own request: not a refusal of it, and a repeat: false step is not sent again)", 1, 2},
		{"repeat: false, the receipt sends to the login page", true, http.StatusFound, false, "send=failed", `(sent to the session's page "/login") (after a 303 that answered the step's own request: not a refusal of it, and a repeat: false step is not sent again)`, 1, 2},
		{"repeat: false, the transfer itself 401: sent again", true, 0, true, "login=ok send=ok", "", 2, 2},
		{"repeat (default), the receipt 401: sent again", false, http.StatusUnauthorized, false, "login=ok send=failed", "send: status 401", 2, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, srv := newReceiptTarget(t)
			login := config.Step{Name: "login", Function: "login", Request: config.Request{Method: "POST", URL: srv.URL + "/login"},
				Extract: []config.Extract{{Var: "token", JSONPath: "$.token"}}}
			send := config.Step{Name: "send", Function: "send", NoRepeat: tc.noRepeat,
				Request: config.Request{Method: "POST", URL: srv.URL + "/transfers", Headers: map[string]string{"Authorization": "Bearer ${token}"}},
				Expect:  config.Expect{Status: []int{200}},
				Extract: []config.Extract{{Var: "receipt", JSONPath: "$.id"}}}
			cfg := testConfig(config.Flow{Timeout: 5 * time.Second, Session: &config.Session{TTL: time.Hour, Steps: []config.Step{login}},
				Steps: []config.Step{send}})
			r, err := NewRunner(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(r.CloseIdle)
			f := &cfg.Services[0].Flows[0]
			if got := r.Run(context.Background(), f); stepNames(got.Steps) != "login=ok send=ok" {
				t.Fatalf("first run: %s", stepNames(got.Steps))
			}
			p.receipt.Store(tc.receipt)
			if tc.revoke {
				p.forget()
			}
			got := r.Run(context.Background(), f)
			if s := stepNames(got.Steps); s != tc.steps {
				t.Errorf("steps %s, want %s", s, tc.steps)
			}
			if e := got.Steps[len(got.Steps)-1].Error; tc.err == "" && e != "" || !strings.Contains(e, tc.err) {
				t.Errorf("send's error %q, want %q in it", e, tc.err)
			}
			if n := p.logins.Load(); n != tc.logins {
				t.Errorf("%d logins, want %d", n, tc.logins)
			}
			if n := p.transfers.Load(); n != tc.transfers {
				t.Errorf("%d transfers, want %d", n, tc.transfers)
			}
		})
	}
}

// TestNoRepeatNoTransportReplay: Go's Transport sends a request again, on
// a new connection, when a reused keep-alive connection closes before the
// answer, if it deems the request idempotent, which an Idempotency-Key (or
// X-Idempotency-Key) header makes a POST: the header docs/config.md has a
// repeat: false transfer carry. The target had the first request, though
// (it made the transfer and then the connection dropped: a crash, a proxy):
// the effect is unknown, and a repeat: false step is not sent again, the
// header still on the wire. Before, the transfer was made twice and the step
// passed. Without repeat: false Go's retry stays (a provider that honours
// the key pays once); without the header there is none either way.
func TestNoRepeatNoTransportReplay(t *testing.T) {
	noLeaks(t)
	for _, tc := range []struct {
		name      string
		noRepeat  bool
		header    string
		status    Status
		transfers int64
	}{
		{"repeat: false, Idempotency-Key: not sent again", true, "Idempotency-Key", StatusFailed, 2},
		{"repeat: false, X-Idempotency-Key: not sent again", true, "X-Idempotency-Key", StatusFailed, 2},
		{"repeat (default), Idempotency-Key: Go's retry", false, "Idempotency-Key", StatusOK, 3},
		{"repeat: false, no key: no retry", true, "X-Request-Id", StatusFailed, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var transfers atomic.Int64
			var drop atomic.Bool
			var keys sync.Map // header values the target saw
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				transfers.Add(1)
				for k, v := range r.Header {
					keys.Store(http.CanonicalHeaderKey(k), v[0])
				}
				if drop.CompareAndSwap(true, false) {
					c, _, err := w.(http.Hijacker).Hijack()
					if err == nil {
						c.Close() // the transfer is made; the answer never comes
					}
					return
				}
				w.WriteHeader(http.StatusCreated)
			}))
			t.Cleanup(srv.Close)
			send := config.Step{Name: "send", Function: "send", NoRepeat: tc.noRepeat,
				Request: config.Request{Method: "POST", URL: srv.URL + "/transfers",
					Headers: map[string]string{tc.header: "transfer-${run.id}"}, JSON: map[string]any{"amount": 1}},
				Expect: config.Expect{Status: []int{201}}}
			cfg := testConfig(config.Flow{Timeout: 5 * time.Second, Steps: []config.Step{send}})
			r, err := NewRunner(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(r.CloseIdle)
			f := &cfg.Services[0].Flows[0]
			if got := r.Run(context.Background(), f); stepNames(got.Steps) != "send=ok" {
				t.Fatalf("first run: %s %s", stepNames(got.Steps), got.Steps[0].Error)
			}
			drop.Store(true) // on the connection the first run left idle
			got := r.Run(context.Background(), f)
			if s := got.Steps[0].Status; s != tc.status {
				t.Errorf("send %s (%s), want %s", s, got.Steps[0].Error, tc.status)
			}
			if n := transfers.Load(); n != tc.transfers {
				t.Errorf("%d transfers, want %d", n, tc.transfers)
			}
			if v, _ := keys.Load(tc.header); v != "transfer-"+got.ID {
				t.Errorf("the target saw %s %v, want %q", tc.header, v, "transfer-"+got.ID)
			}
		})
	}
}

// TestNoRepeatNoTransportReplaySSE: the same for a stream step whose
// request acts (an SSE POST with a body, repeat: false): opened on the
// keep-alive connection a request before it left idle, which closes after
// the request went out, it is not sent again by Go's Transport. Before, the
// target got it twice and the step passed.
func TestNoRepeatNoTransportReplaySSE(t *testing.T) {
	noLeaks(t)
	var opens atomic.Int64
	var drop atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		opens.Add(1)
		if drop.CompareAndSwap(true, false) {
			if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
				c.Close()
			}
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	drop.Store(true)
	cfg := testConfig(config.Flow{Timeout: 5 * time.Second, Steps: []config.Step{
		get("ping", srv.URL+"/ping"),
		{Name: "order", Function: "send", NoRepeat: true, SSE: &config.Stream{URL: srv.URL + "/orders", Method: "POST", Body: `{"item":1}`,
			Headers: map[string]string{"Idempotency-Key": "order-${run.id}"}}},
	}})
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.CloseIdle)
	got := r.Run(context.Background(), &cfg.Services[0].Flows[0])
	if s := stepNames(got.Steps); s != "ping=ok order=failed" {
		t.Errorf("steps %s, want ping=ok order=failed", s)
	}
	if n := opens.Load(); n != 1 {
		t.Errorf("the target got the order %d times, want 1", n)
	}
	if e := got.Steps[1].Error; !strings.Contains(e, "sse: connection closed by server (after the request went out, before any answer: whether the target acted on it is unknown") {
		t.Errorf("order's error %q does not say the outcome is unknown", e)
	}
}

// TestUnusedLoginNotHeld pins what ebaff26 left alone: only the run that
// did not send a repeat: false step again marks its new login untried
// (its next use held as a fresh session's). A run that logs in and fails
// before the session is used for another reason (a 500 at its first step)
// marks nothing, with or without repeat: false: when the token is then
// refused (it expired), the next run logs in again and passes, as before
// ebaff26, rather than hold the refusal as an outage for an interval.
func TestUnusedLoginNotHeld(t *testing.T) {
	noLeaks(t)
	for _, noRepeat := range []bool{false, true} {
		t.Run(fmt.Sprintf("repeat: %v", !noRepeat), func(t *testing.T) {
			var logins atomic.Int64
			var fail atomic.Bool
			var mu sync.Mutex
			tokens := map[string]bool{}
			mux := http.NewServeMux()
			mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
				tok := fmt.Sprintf("tok-%d", logins.Add(1))
				mu.Lock()
				tokens[tok] = true
				mu.Unlock()
				fmt.Fprintf(w, `{"token":%q}`, tok)
			})
			mux.HandleFunc("POST /transfers", func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				ok := tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
				mu.Unlock()
				switch {
				case fail.Load():
					w.WriteHeader(http.StatusInternalServerError)
				case !ok:
					w.WriteHeader(http.StatusUnauthorized)
				default:
					w.WriteHeader(http.StatusCreated)
				}
			})
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			login := config.Step{Name: "login", Function: "login", Request: config.Request{Method: "POST", URL: srv.URL + "/login"},
				Extract: []config.Extract{{Var: "token", JSONPath: "$.token"}}}
			send := config.Step{Name: "send", Function: "send", NoRepeat: noRepeat,
				Request: config.Request{Method: "POST", URL: srv.URL + "/transfers", Headers: map[string]string{"Authorization": "Bearer ${token}"}},
				Expect:  config.Expect{Status: []int{201}}}
			f := config.Flow{Interval: time.Minute, Timeout: 5 * time.Second, Session: &config.Session{TTL: time.Hour, Steps: []config.Step{login}},
				Steps: []config.Step{send}}
			cfg := testConfig(f)
			c := &shiftedClock{}
			r, err := NewRunner(cfg, Options{Clock: c})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(r.CloseIdle)
			runLogins(t, r, &cfg.Services[0].Flows[0], &logins, []loginRun{
				{"a run logs in and fails before the session is used", func() { fail.Store(true) }, "login=ok send=failed", 1},
				{"the token expired: the confirm run logs in again", func() {
					fail.Store(false)
					mu.Lock()
					clear(tokens)
					mu.Unlock()
					c.Advance(10 * time.Second)
				}, "login=ok send=ok", 2},
			})
		})
	}
}

// TestNoRepeatFirstUseAwaitWaits: at the first use of a login that a run
// made and did not use (it did not send a repeat: false step again), a
// refusal is held (ebaff26), so no new login follows what a stream says,
// and the await goes on waiting, as in any run whose refusal is held
// (docs/config.md, session_expired), rather than fail at once "so that a
// new login has the run's time". A hub whose protocol only resembles the
// defaults (its {"disconnect":{"code":3005}} is not an expiry, and the
// message the await waits for comes after it) then costs the one failed run
// that logged in again. Before, the await failed at once there too, with no
// new login after it: two failed runs in a row, a window with down_after 2,
// and a third shape of error in a hub outage's causes.
func TestNoRepeatFirstUseAwaitWaits(t *testing.T) {
	noLeaks(t)
	var logins, transfers atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"token":"tok-%d"}`, logins.Add(1))
	})
	mux.HandleFunc("POST /payments/transfers", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":"t-%d"}`, transfers.Add(1))
	})
	mux.HandleFunc("GET /notifications", func(w http.ResponseWriter, r *http.Request) {
		base := transfers.Load()
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"disconnect\":{\"code\":3005,\"reason\":\"resync\"}}\n\n") // not an expiry here
		w.(http.Flusher).Flush()
		for transfers.Load() == base {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
		fmt.Fprintf(w, "data: {\"transfer\":{\"id\":\"t-%d\",\"status\":\"settled\"}}\n\n", base+1)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f := notifyFlow(srv.URL, true)
	f.Interval = time.Minute
	cfg := testConfig(f)
	c := &shiftedClock{}
	r, err := NewRunner(cfg, Options{Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.CloseIdle)
	runs := runLogins(t, r, &cfg.Services[0].Flows[0], &logins, []loginRun{
		{"the run that logs in waits past it", nil, "login=ok subscribe=ok send=ok receive=ok", 1},
		{"a reused session: it reads as an expiry, a new login, the run ends", func() { c.Advance(time.Minute) }, "login=ok subscribe=ok send=ok receive=failed", 2},
		{"the confirm run, the new login's first use: held, the await waits past it", func() { c.Advance(10 * time.Second) }, "subscribe=ok send=ok receive=ok", 2},
	})
	if e := runs[1].Steps[len(runs[1].Steps)-1].Error; !strings.Contains(e, "logged in again, but the steps") {
		t.Errorf("second run: receive's error %q", e)
	}
}

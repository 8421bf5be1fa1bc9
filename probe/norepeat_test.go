package probe

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
)

// notifyTarget is a payment provider with a notification stream: tokens from
// POST /login, POST /payments/transfers (a bearer token it issued) makes a
// transfer and counts it, and GET /notifications?token= (SSE) pushes the
// settlement of the first transfer made after it opened. A token the hub
// was told has expired is let open the stream, and the stream then says
// Centrifugo's {"disconnect":{"code":3005,...}} in place of the settlement:
// the token expired between the open and the await. An unknown token gets
// that at once, and a 401 from the transfers.
type notifyTarget struct {
	tokenIssuer                 // the tokens issued and accepted by the payments API
	expiring    map[string]bool // the hub says these expired once a transfer is made
	refuseAll   atomic.Bool     // the hub says every token expired, fresh ones too
	transfers   atomic.Int64
}

func newNotifyTarget(t *testing.T) (*notifyTarget, *httptest.Server) {
	p := &notifyTarget{expiring: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", p.login)
	mux.HandleFunc("POST /payments/transfers", func(w http.ResponseWriter, r *http.Request) {
		if !p.known(r) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":"t-%d"}`, p.transfers.Add(1))
	})
	mux.HandleFunc("GET /notifications", func(w http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("token")
		base := p.transfers.Load()
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, ": open\n\n")
		w.(http.Flusher).Flush()
		const expired = "data: {\"disconnect\":{\"code\":3005,\"reason\":\"connection expired\"}}\n\n"
		p.mu.Lock()
		known, expiring := p.tokens[tok], p.expiring[tok] || p.refuseAll.Load()
		p.mu.Unlock()
		if !known {
			io.WriteString(w, expired)
			return
		}
		for p.transfers.Load() == base {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
		if expiring {
			io.WriteString(w, expired)
			return
		}
		fmt.Fprintf(w, "data: {\"transfer\":{\"id\":\"t-%d\",\"status\":\"settled\"}}\n\n", base+1)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return p, srv
}

// expire tells the hub that every token issued so far expires now; the
// payments API still takes them.
func (p *notifyTarget) expire() {
	p.mu.Lock()
	for tok := range p.tokens {
		p.expiring[tok] = true
	}
	p.mu.Unlock()
}

// revoke ends every token issued so far, at the hub and the payments API.
func (p *notifyTarget) revoke() { p.forget() }

// notifyFlow logs in in a session, opens the notification stream, makes a
// transfer and awaits its settlement on the stream.
func notifyFlow(base string, noRepeat bool) config.Flow {
	login := config.Step{Name: "login", Function: "login", Request: config.Request{Method: "POST", URL: base + "/login"},
		Extract: []config.Extract{{Var: "token", JSONPath: "$.token"}}}
	sub := config.Step{Name: "subscribe", Function: "receive", SSE: &config.Stream{URL: base + "/notifications?token=${token}"}}
	send := config.Step{Name: "send", Function: "send", NoRepeat: noRepeat,
		Request: config.Request{Method: "POST", URL: base + "/payments/transfers", Headers: map[string]string{"Authorization": "Bearer ${token}"}},
		Expect:  config.Expect{Status: []int{201}},
		Extract: []config.Extract{{Var: "transfer_id", JSONPath: "$.id"}}}
	recv := config.Step{Name: "receive", Function: "receive", Timeout: 3 * time.Second, Await: &config.Await{Stream: "subscribe"},
		Expect: config.Expect{JSONPath: []config.PathMatch{{Path: "$.transfer.id", Matcher: eq("${transfer_id}")}}}}
	return config.Flow{Timeout: 8 * time.Second, Session: &config.Session{TTL: time.Hour, Steps: []config.Step{login}},
		Steps: []config.Step{sub, send, recv}}
}

// TestNoRepeatAfterExpiry: a payment flow opens a notification stream,
// makes a transfer and awaits its settlement on the stream; the session's
// token expires between the open and the await, and the stream says so.
// The run logs in again and, by default, tries its steps again from the
// stream, the transfer made again (two transfers in one run: harmless for
// a chat message, what the Centrifugo and Matrix examples need). A step
// with repeat: false is never sent twice in a run: the run logs in again
// (so the next run has a fresh token) and ends there, its await failed
// with an error that names the step it did not send again. Before, the
// second run made two transfers. A send that was itself refused (a 401:
// the provider did nothing) is still sent again after the new login.
func TestNoRepeatAfterExpiry(t *testing.T) {
	noLeaks(t)
	type run struct {
		name      string
		before    func(p *notifyTarget)
		steps     string
		err       string // a substring of receive's error ("" none)
		logins    int64
		transfers int64
	}
	first := run{"first run logs in", nil, "login=ok subscribe=ok send=ok receive=ok", "", 1, 1}
	for _, tc := range []struct {
		name     string
		noRepeat bool
		runs     []run
	}{
		{"repeat (default): the transfer made again", false, []run{first,
			{"the token expires after the open: a new login, the steps from the stream again", (*notifyTarget).expire, "login=ok subscribe=ok send=ok receive=ok", "", 2, 3},
		}},
		{"repeat: false: not made again, the run ends", true, []run{first,
			{"the token expires after the open: a new login, and the run ends", (*notifyTarget).expire, "login=ok subscribe=ok send=ok receive=failed",
				`session expired: stream subscribe said so (got "{\"disconnect\":{\"code\":3005,\"reason\":\"connection expired\"}}"); logged in again, but the steps from ` + "`subscribe`" + ` were not tried again: ` + "`send`" + ` has repeat: false and was sent in this run`, 2, 2},
			{"the next run reuses the new login", nil, "subscribe=ok send=ok receive=ok", "", 2, 3},
		}},
		{"repeat: false, the send itself refused: sent again", true, []run{first,
			{"the token revoked: the send's 401, a new login, the steps from the stream again", (*notifyTarget).revoke, "login=ok subscribe=ok send=ok receive=ok", "", 2, 2},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, srv := newNotifyTarget(t)
			cfg := testConfig(notifyFlow(srv.URL, tc.noRepeat))
			r, err := NewRunner(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(r.CloseIdle)
			for _, st := range tc.runs {
				if st.before != nil {
					st.before(p)
				}
				got := r.Run(context.Background(), &cfg.Services[0].Flows[0])
				if s := stepNames(got.Steps); s != st.steps {
					t.Errorf("%s: steps %s, want %s", st.name, s, st.steps)
				}
				if e := got.Steps[len(got.Steps)-1].Error; st.err == "" && e != "" || !strings.Contains(e, st.err) {
					t.Errorf("%s: receive's error %q, want %q in it", st.name, e, st.err)
				}
				if n := p.logins.Load(); n != st.logins {
					t.Errorf("%s: %d logins so far, want %d", st.name, n, st.logins)
				}
				if n := p.transfers.Load(); n != st.transfers {
					t.Errorf("%s: %d transfers so far, want %d", st.name, n, st.transfers)
				}
			}
		})
	}
}

// TestNoRepeatRefusingHubLogsInOnceAnInterval: a hub that says every token
// expired, fresh ones too, is down; a repeat: false flow must not make the
// probe a login loop there. The run that meets the expiry logs in again and
// ends before it uses the new token, so the next run is that token's first
// use: a refusal there is held as a fresh session's is (the refusal is not
// the session's), and the confirm runs after it do not log in again, the
// next scheduled run does. Before, every run (confirm runs too, every 10 s)
// logged in again, which a login's rate limit answers with 429.
func TestNoRepeatRefusingHubLogsInOnceAnInterval(t *testing.T) {
	noLeaks(t)
	p, srv := newNotifyTarget(t)
	f := notifyFlow(srv.URL, true)
	f.Interval = time.Minute
	cfg := testConfig(f)
	c := &shiftedClock{}
	r, err := NewRunner(cfg, Options{Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.CloseIdle)
	runLogins(t, r, &cfg.Services[0].Flows[0], &p.logins, []loginRun{
		{"first run logs in", nil, "login=ok subscribe=ok send=ok receive=ok", 1},
		{"the hub refuses every token: a new login, the run ends", func() { p.refuseAll.Store(true); c.Advance(time.Minute) }, "login=ok subscribe=ok send=ok receive=failed", 2},
		{"a confirm run 10 s later: the new token refused at its first use, no new login", func() { c.Advance(10 * time.Second) }, "subscribe=ok send=ok receive=failed", 2},
		{"and 20 s later", func() { c.Advance(20 * time.Second) }, "subscribe=ok send=ok receive=failed", 2},
		{"the next scheduled run: a new login", func() { c.Advance(30 * time.Second) }, "login=ok subscribe=ok send=ok receive=failed", 3},
		{"the hub recovers: its next run passes on the token that run got", func() { p.refuseAll.Store(false); c.Advance(10 * time.Second) }, "subscribe=ok send=ok receive=ok", 3},
	})
}

// shiftedClock is the wall clock moved on by Advance: the runs' starts
// (which a refusal's hold is counted in) jump, while the streams and the
// target wait in real time (a Manual clock's waits end at once, before a
// stream's message arrives).
type shiftedClock struct {
	clock.Real
	off atomic.Int64
}

func (c *shiftedClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *shiftedClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

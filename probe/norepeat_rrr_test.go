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

// redirectTarget is a payments API behind a session whose POST /transfers
// answers with the redirect code to where: "receipt" (the transfer is made,
// GET /receipts/1 then answers 401: a receipts service that wants another
// credential), "v2" (POST /v2/transfers gets the request, checks the token
// and makes the transfer) or "login" (the transfer is not made: the login
// form, a web application's answer to a session that ended).
type redirectTarget struct {
	mu        sync.Mutex
	tokens    map[string]bool
	code      int
	where     string
	revoked   bool
	logins    atomic.Int64
	transfers atomic.Int64
}

func (p *redirectTarget) valid(r *http.Request) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
}

func newRedirectTarget(t *testing.T) (*redirectTarget, *httptest.Server) {
	p := &redirectTarget{tokens: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		tok := fmt.Sprintf("tok-%d", p.logins.Add(1))
		p.mu.Lock()
		p.tokens[tok] = true
		p.mu.Unlock()
		fmt.Fprintf(w, `{"token":%q}`, tok)
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<form>sign in</form>")
	})
	mux.HandleFunc("POST /transfers", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		p.mu.Lock()
		code, where := p.code, p.where
		p.mu.Unlock()
		switch {
		case code == 0 && p.valid(r):
			p.transfers.Add(1)
			fmt.Fprint(w, `{"id":"t"}`)
		case code == 0:
			w.WriteHeader(http.StatusUnauthorized)
		case where == "login" && p.valid(r):
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
		if !p.valid(r) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		p.transfers.Add(1)
		fmt.Fprint(w, `{"id":"t"}`)
	})
	mux.HandleFunc("GET /receipts/1", func(w http.ResponseWriter, r *http.Request) {
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


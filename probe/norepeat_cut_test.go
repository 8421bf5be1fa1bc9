package probe

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// The rules of TestNoRepeatRedirectStatuses hold when the last answer's
// body is cut short (the connection dropped after its headers): a 401 that
// a receipt gets after the 303 that took a repeat: false POST refuses
// nothing, and a redirect to the session's login page refuses the session.
// Before, the error of a body that failed returned before either was
// looked at: the receipt's cut 401 read as the step's own refusal, so the
// run logged in again and sent the POST again (two transfers in one run),
// and a login page whose body was cut was no refusal, so the session that
// had ended was kept (no new login; every run failed until its ttl).
func TestNoRepeatCutBodyAfterRedirect(t *testing.T) {
	noLeaks(t)
	for _, tc := range []struct {
		code      int
		where     string
		revoked   bool
		steps     string
		logins    int64
		transfers int64 // in the second run
		err       string
	}{
		{http.StatusSeeOther, "receipt", false, "send=failed", 1, 1,
			"send: status 401, want 200 (read body: connection closed by server) (after a 303 that answered the step's own request: not a refusal of it, and a repeat: false step is not sent again)"},
		{http.StatusFound, "receipt", false, "send=failed", 1, 1,
			"send: status 401, want 200 (read body: connection closed by server) (after a 302 that answered the step's own request: not a refusal of it, and a repeat: false step is not sent again)"},
		{http.StatusFound, "login", true, "login=ok send=ok", 2, 1, ""},
		{http.StatusSeeOther, "login", true, "login=ok send=ok", 2, 1, ""},
	} {
		t.Run(fmt.Sprintf("%d to %s", tc.code, tc.where), func(t *testing.T) {
			p, srv := newRedirectTarget(t)
			login := config.Step{Name: "login", Function: "login", Request: config.Request{Method: "POST", URL: srv.URL + "/login"},
				Extract: []config.Extract{{Var: "token", JSONPath: "$.token"}}}
			send := config.Step{Name: "send", Function: "send", NoRepeat: true,
				Request: config.Request{Method: "POST", URL: srv.URL + "/transfers", Headers: map[string]string{"Authorization": "Bearer ${token}"},
					JSON: map[string]any{"amount": 1}},
				Expect:  config.Expect{Status: []int{200}},
				Extract: []config.Extract{{Var: "id", JSONPath: "$.id"}}}
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
			p.cut.Store(true)
			p.transfers.Store(0)
			got := r.Run(context.Background(), f)
			e := got.Steps[len(got.Steps)-1].Error
			if s := stepNames(got.Steps); s != tc.steps {
				t.Errorf("steps %s, want %s (%s)", s, tc.steps, e)
			}
			if tc.err != "" && e != tc.err || tc.err == "" && strings.Contains(e, "read body") {
				t.Errorf("send's error %q, want %q", e, tc.err)
			}
			if n := p.logins.Load(); n != tc.logins {
				t.Errorf("%d logins, want %d", n, tc.logins)
			}
			if n := p.transfers.Load(); n != tc.transfers {
				t.Errorf("%d transfers in the second run, want %d", n, tc.transfers)
			}
		})
	}
}

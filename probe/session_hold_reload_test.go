package probe

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
)

// TestSessionRefusalHeldAcrossReload: a session that a reload (SIGHUP)
// hands to the new runner keeps the hold of a refusal it got while fresh,
// when the flow step that refused it is the same: the first run after the
// reload does not log in again. Before, the moved session had no hold, so
// every reload during such a refusal (a Matrix 403 for a room the account
// left) cost a login, as if the hold did not exist. A reload that changed
// that step drops the hold: the new step may accept the session.
func TestSessionRefusalHeldAcrossReload(t *testing.T) {
	for _, tc := range []struct {
		name       string
		changeStep bool
		steps      string
		logins     int64
	}{
		{"the same step: held", false, "me=failed", 1},
		{"the refusing step changed: a new login", true, "login=ok me=failed", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at, srv := newAuthTarget(t)
			c := clock.NewManual(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
			oldCfg := testConfig(sessionFlow(srv.URL))
			old, err := NewRunner(oldCfg, Options{Clock: c})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(old.CloseIdle)
			at.deny.Store(403)
			runLogins(t, old, &oldCfg.Services[0].Flows[0], &at.logins, []loginRun{
				{"a fresh session refused", nil, "login=ok me=failed", 1},
				{"held", func() { c.Advance(time.Minute) }, "me=failed", 1},
			})
			f := sessionFlow(srv.URL)
			if tc.changeStep {
				f.Steps[0].Request.URL += "?v=2"
			}
			newCfg := testConfig(f)
			r, err := NewRunner(newCfg, Options{Clock: c, Previous: old})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(r.CloseIdle)
			old.Retire(r)
			old.EndSessions(context.Background())
			runLogins(t, r, &newCfg.Services[0].Flows[0], &at.logins, []loginRun{
				{"the first run after the reload", func() { c.Advance(time.Minute) }, tc.steps, tc.logins},
			})
		})
	}
}

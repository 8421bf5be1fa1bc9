package report

import (
	"fmt"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// TestReconcileSendWithASessionThatHeld: chat's send fails from 10:30 to
// 11:00, as declared, while the login never fails: the incident is measured
// from 10:30 to 11:00, no edge cut, whether the login is a flow step, a
// session step logged in at every run or one reused for an hour (runs that
// list no login step), or a session step whose function a flow step serves
// too (refresh, function login, before send): a session that held blocks
// nothing, and the blocked edges (before) change nothing.
func TestReconcileSendWithASessionThatHeld(t *testing.T) {
	for _, tc := range []struct {
		name    string
		session bool
		ttl     time.Duration
		refresh bool
	}{
		{name: "steps"},
		{name: "session logs in every run", session: true, ttl: time.Minute},
		{name: "session reused", session: true, ttl: time.Hour},
		{name: "session and refresh", session: true, ttl: time.Hour, refresh: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			chat := &cfg.Services[0].Flows[0]
			runs := schedule("seoul-a", hm(10, 0), hm(12, 0), time.Minute, func(off time.Duration) string {
				if at := hm(10, 0).Add(off); !at.Before(hm(10, 30)) && at.Before(hm(11, 0)) {
					return "fail:send"
				}
				return "ok"
			})
			if tc.session {
				sessionLogin(chat, tc.ttl)
				if tc.refresh {
					chat.Steps = append([]config.Step{{Name: "refresh", Function: "login"}}, chat.Steps...)
				}
				var loggedIn time.Time
				for i := range runs {
					r := &runs[i]
					if tc.refresh {
						r.Steps = append([]probe.StepResult{r.Steps[0], {Step: "refresh", Function: "login", Status: probe.StatusOK, Duration: 100 * time.Millisecond}}, r.Steps[1:]...)
					}
					if !loggedIn.IsZero() && r.Start.Before(loggedIn.Add(tc.ttl)) {
						r.Steps = r.Steps[1:] // reused the session
						continue
					}
					loggedIn = r.Start
				}
			}
			svc, r := buildWithSendIncident(t, cfg, runs)
			got := fmt.Sprintf("detected %v, measured %v to %v, cuts %q %q, %d undeclared", r.Detected, r.MeasuredStart, r.MeasuredEnd, r.StartCut, r.EndCut, len(svc.Undeclared))
			want := fmt.Sprintf("detected %v, measured %v to %v, cuts %q %q, %d undeclared", true, hm(10, 30).In(cfg.Loc), hm(11, 0).In(cfg.Loc), "", "", 0)
			if r.MeasuredStart == nil || r.MeasuredEnd == nil || got != want {
				t.Errorf("send: %s\nwant %s", got, want)
			}
		})
	}
}

package report

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// TestReconcileBlockedBySessionLogin: a declared login outage of a flow
// whose login is a session step (examples/demo.yaml's payments-transfer)
// explains the windows of the functions the failing login blocked (send and
// receive, cause_step login), as it does where login is an ordinary step.
// Before, the reconciliation looked the cause step up among the flow's
// steps only, not its session's: a year's replay of a 6-hour payments login
// outage listed send, receive and receipt as undeclared downtime in both
// months it fell in, beside the declared incident that caused it.
func TestReconcileBlockedBySessionLogin(t *testing.T) {
	const ivl = 5 * time.Minute
	for _, session := range []bool{false, true} {
		t.Run(fmt.Sprintf("session=%v", session), func(t *testing.T) {
			cfg, s, from, to := sessionSyncDay(t, ivl, session)
			loc := cfg.Loc
			inc := incident("login-out", "down", []string{"login"}, localAt(loc, "2022-10-01 09:30"), localAt(loc, "2022-10-01 10:30"))
			rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: from, To: to, Now: to.Add(time.Hour), Timelines: timeline(inc)})
			if err != nil {
				t.Fatal(err)
			}
			svc := rep.Services[0]
			blocked := 0
			for _, w := range svc.Windows {
				if w.Function != nil && *w.Function != "login" && w.CauseStep == "login" {
					blocked++
				}
			}
			if blocked == 0 {
				t.Fatalf("no window blocked by the login: %+v", svc.Windows)
			}
			for _, w := range svc.Undeclared {
				fn := "(flow)"
				if w.Function != nil {
					fn = *w.Function
				}
				t.Errorf("undeclared %s %s window %s-%v, cause %s: the declared login outage explains it", w.Flow, fn, w.Start.In(loc).Format("15:04"), w.End, w.CauseStep)
			}
			if len(svc.Reconciliation) != 1 || !svc.Reconciliation[0].Detected {
				t.Fatalf("reconciliation %+v, want the login outage detected", svc.Reconciliation)
			}
			if got, want := len(svc.Reconciliation[0].Windows), len(svc.Windows); got != want {
				t.Errorf("the login outage lists %d windows, want all %d", got, want)
			}
		})
	}
}

// TestReconcileSendBlockedBySessionLogin: chat's login fails from 10:00 to
// 10:30, then send itself fails until 11:00, as declared (send, 10:30 to
// 11:00): send's window from 10:00 was blocked by the login until 10:30,
// so the incident is measured from 10:30 (start_cut "blocked"), where the
// login is a session step too (the runs from 10:31 reuse the session and
// list no login step). Before, the steps a function comes after were looked
// for among the flow's steps only: with the login in the session, the send
// incident read as measured from 10:00, half an hour before it was
// declared (start delta -1800 s).
func TestReconcileSendBlockedBySessionLogin(t *testing.T) {
	for _, session := range []bool{false, true} {
		t.Run(fmt.Sprintf("session=%v", session), func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			runs := loginThenSend(hm(10, 30))()
			if session {
				chat := &cfg.Services[0].Flows[0]
				sessionLogin(chat, 2*time.Hour)
				for i := range runs {
					if runs[i].Start.After(hm(10, 30)) { // logged in at 10:30: the session is reused
						runs[i].Steps = runs[i].Steps[1:]
					}
				}
			}
			_, r := buildWithSendIncident(t, cfg, runs)
			if !r.Detected || r.MeasuredStart == nil || !r.MeasuredStart.Equal(hm(10, 30)) || r.StartCut != CutBlocked {
				t.Errorf("send: detected %v, measured start %v, start_cut %q; want true, %v, %q", r.Detected, r.MeasuredStart, r.StartCut, hm(10, 30), CutBlocked)
			}
		})
	}
}

// buildWithSendIncident builds the report of 10:00-12:00 over runs with a
// send incident (error, function send) declared from 10:30 to 11:00, and
// returns the first service and its one reconciliation row (fatal if it has
// another number of rows).
func buildWithSendIncident(t *testing.T, cfg *config.Config, runs []probe.Run) (Service, Reconciliation) {
	t.Helper()
	s := newMemStore()
	load(t, s, cfg, runs)
	inc := incident("send", "error", []string{"send"}, hm(10, 30), hm(11, 0))
	rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: hm(10, 0), To: hm(12, 0), Timelines: timeline(inc)})
	if err != nil {
		t.Fatal(err)
	}
	svc := rep.Services[0]
	if len(svc.Reconciliation) != 1 {
		t.Fatalf("reconciliation %+v, want one row", svc.Reconciliation)
	}
	return svc, svc.Reconciliation[0]
}

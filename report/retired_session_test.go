package report

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// TestRetiredSessionFlowLoginOutage: a retired flow that kept a login
// session (session.steps: login) has its runs record the login only when
// they log in: its last run in the period, reusing the session, ran send
// and receive only. Its steps in the report must still hold the session's
// login, so that a window whose cause is the login (the session could not
// be renewed) takes down the login function and is reconciled with the
// incident declared on it, as with the config that still has the flow.
func TestRetiredSessionFlowLoginOutage(t *testing.T) {
	ctx := context.Background()
	const ivl = 5 * time.Minute
	withSession := func(names ...string) *config.Config {
		cfg := withFlows(ivl, names...)
		for i := range cfg.Services[0].Flows {
			f := &cfg.Services[0].Flows[i]
			sessionLogin(f, time.Hour)
		}
		return cfg
	}
	both, renamed := withSession("old", "new"), withSession("new")
	loc := both.Loc
	from, to := time.Date(2022, 10, 1, 0, 0, 0, 0, loc), time.Date(2022, 10, 2, 0, 0, 0, 0, loc)
	mid := localAt(loc, "2022-10-01 16:00")
	down := [2]time.Time{localAt(loc, "2022-10-01 09:00"), localAt(loc, "2022-10-01 10:00")}
	tls := timeline(incident("login-01", "down", []string{"login"}, down[0], down[1]))
	old := flowSchedule("old", from, mid, ivl, between(from, "fail:login", down))
	// A run logs in at the first run and again after the outage; the
	// others reuse the session and record no login step.
	loggedIn := false
	for i := range old {
		r := &old[i]
		switch {
		case r.Steps[0].Status == probe.StatusFailed:
			loggedIn = false
		case !loggedIn:
			loggedIn = true
		default:
			r.Steps = r.Steps[1:]
		}
	}
	runs := append(old, flowSchedule("new", mid, to, ivl, failing("ok"))...)
	for _, st := range confirmStores() {
		t.Run(st.name, func(t *testing.T) {
			s := st.open(t)
			load(t, s, both, runs)
			in := Input{Store: s, From: from, To: to, Timelines: tls, Functions: true, Config: both}
			want, err := Build(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			in.Config = renamed
			got, err := Build(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			g, w := got.Services[0], want.Services[0]
			for _, r := range g.Reconciliation {
				if !r.Detected {
					t.Errorf("%s not detected", r.ID)
				}
			}
			var login *FunctionAccount
			for i := range g.Functions {
				if g.Functions[i].Name == "login" {
					login = &g.Functions[i]
				}
			}
			if login == nil || login.DowntimeSeconds != time.Hour.Seconds() {
				t.Errorf("login %+v, want 1 h down", login)
			}
			sameAccounting(t, g, w)
			if w.DowntimeSeconds != time.Hour.Seconds() {
				t.Errorf("the config with both names: downtime %v, want 1 h", w.DowntimeSeconds)
			}
		})
	}
}

// TestRetiredFlowRenamedBack: a flow renamed (a to b at 08:00) and renamed
// back (b to a at 16:00) is accounted, with the config that has a only, as
// with one that has both names: b's outage between is the service's, and
// the time a did not run is covered by b. Held already.
func TestRetiredFlowRenamedBack(t *testing.T) {
	ctx := context.Background()
	const ivl = 5 * time.Minute
	both, back := withFlows(ivl, "a", "b"), withFlows(ivl, "a")
	loc := both.Loc
	from, to := time.Date(2022, 10, 1, 0, 0, 0, 0, loc), time.Date(2022, 10, 2, 0, 0, 0, 0, loc)
	t1, t2 := localAt(loc, "2022-10-01 08:00"), localAt(loc, "2022-10-01 16:00")
	down := [2]time.Time{localAt(loc, "2022-10-01 10:00"), localAt(loc, "2022-10-01 11:00")}
	runs := append(flowSchedule("a", from, t1, ivl, failing("ok")), flowSchedule("b", t1, t2, ivl, between(t1, "fail:send", down))...)
	runs = append(runs, flowSchedule("a", t2, to, ivl, failing("ok"))...)
	for _, st := range confirmStores() {
		t.Run(st.name, func(t *testing.T) {
			s := st.open(t)
			load(t, s, both, runs)
			in := Input{Store: s, From: from, To: to, Functions: true, Config: both}
			want, err := Build(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			in.Config = back
			got, err := Build(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if g := got.Services[0]; g.DowntimeSeconds != time.Hour.Seconds() || g.UnknownSeconds != 0 || g.Incidents != 1 {
				t.Errorf("downtime %v s, unknown %v s, %d incidents; want 1 h, 0, 1", g.DowntimeSeconds, g.UnknownSeconds, g.Incidents)
			}
			sameAccounting(t, got.Services[0], want.Services[0])
		})
	}
}

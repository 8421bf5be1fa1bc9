package alert

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// gapOf is a stretch in which no location reported the flow, from start
// (end zero: up to the figures' end).
func gapOf(start, end time.Time) state.Window {
	w := flowWindow(state.KindUnknown, "", start)
	w.Location, w.CauseStep, w.Error, w.Confirmed = "", "", "", start
	w.End = end
	return w
}

// dbReturnRig is a fleet's prober (seoul-a) whose quorum's page of the
// flow fires from t0, and what its Alertmanager was sent.
type dbReturnRig struct {
	t   *testing.T
	ctx context.Context
	am  *fakeAM
	clk *clock.Manual
	n   *Notifier
	own state.Window
}

func newDBReturnRig(t *testing.T) *dbReturnRig {
	r := &dbReturnRig{t: t, ctx: context.Background(), am: newFakeAM(t), clk: clock.NewManual(t0)}
	r.n = newFleetNotifier(t, r.clk, filepath.Join(t.TempDir(), "slaprobe-alerts-seoul-a.json"), r.am.srv.URL)
	r.n.Reconcile(nil)
	r.own = flowWindow(state.KindDown, "", t0)
	r.n.Handle([]state.Event{open(r.own)})
	r.clk.Advance(time.Minute)
	r.verdict([]state.Window{counted(t0, time.Time{})})
	if got := firingAt(r.n, "page", QuorumLocation); len(got) != 1 {
		t.Fatalf("before the database stops: firing %+v, want the quorum's page", r.n.Active())
	}
	return r
}

// verdict hands the notifier a fleet's verdict and sends; it returns what
// was sent.
func (r *dbReturnRig) verdict(cs []state.Window, unknown ...state.Window) []Alert {
	seen := len(r.am.all(r.t))
	r.n.SetFleet(Fleet{Fleet: true, Counted: cs, Unknown: unknown, Next: time.Minute})
	mustTick(r.t, r.n, r.ctx)
	return r.am.all(r.t)[seen:]
}

// wait advances the clock by d in steps of 30 s, sending at each, and
// checks each step's sends with check (nil: none).
func (r *dbReturnRig) wait(d time.Duration, check func(sent []Alert)) {
	for end := r.clk.Now().Add(d); r.clk.Now().Before(end); {
		seen := len(r.am.all(r.t))
		r.clk.Advance(30 * time.Second)
		mustTick(r.t, r.n, r.ctx)
		if check != nil {
			check(r.am.all(r.t)[seen:])
		}
	}
}

// pageGoesOn fails unless every alert of sent is the quorum's page firing
// from t0 (no resolve, no other startsAt, nothing of seoul-a's own), and
// the notifier holds it firing.
func (r *dbReturnRig) pageGoesOn(when string, sent []Alert) {
	r.t.Helper()
	now := r.clk.Now()
	for _, a := range sent {
		switch {
		case a.Labels["location"] != QuorumLocation:
			r.t.Errorf("%s: sent %s severity %s of location %s (startsAt %s, endsAt %s), want nothing beside the quorum's page",
				when, a.Labels["alertname"], a.Labels["severity"], a.Labels["location"], a.StartsAt, a.EndsAt)
		case !a.StartsAt.Equal(t0):
			r.t.Errorf("%s: the quorum's page sent with startsAt %s, want %s (the outage never ended)", when, a.StartsAt, t0)
		case !a.EndsAt.After(now):
			r.t.Errorf("%s: the quorum's page resolved (endsAt %s) while the platform is still down", when, a.EndsAt)
		}
	}
	if got := firingAt(r.n, "page", QuorumLocation); len(got) != 1 || !got[0].StartsAt.Equal(t0) {
		r.t.Errorf("%s: firing %+v, want the quorum's page from %s", when, r.n.Active(), t0)
	}
}

// TestDatabaseBackOutageGoesOnKeepsQuorumPage: three probers on one
// PostgreSQL, the platform down at all of them and the quorum's page
// firing from t0; PostgreSQL stops at t0+2m and comes back at t0+10m
// while the platform is still down. The first verdict after it is built
// from figures in which every location's data ends at the database's stop
// (no prober's held runs stored yet); the next from figures with this
// prober's held runs only (restarted during the outage: its data stops
// at its restart, t0+5m, and resumes, down, at t0+5m20s, the others'
// silent); then with everyone's (one window from t0). Before, the first
// resolved the page at the database's stop (measured live: endsAt
// 07:51:37.6 while the platform was down) and pushed seoul-a's own window
// as a ticket below the quorum; the second resolved it at the restart and
// paged anew from t0+5m20s. Now the page goes on from t0, alone, through
// all three, and is resolved once, at the recovery.
func TestDatabaseBackOutageGoesOnKeepsQuorumPage(t *testing.T) {
	r := newDBReturnRig(t)
	stop := t0.Add(2 * time.Minute)
	r.wait(9*time.Minute, func(sent []Alert) { r.pageGoesOn("the database away, lapsed", sent) })

	sent := r.verdict([]state.Window{counted(t0, stop)}, gapOf(stop, time.Time{}))
	r.pageGoesOn("the database back, every location's data ending at its stop", sent)

	restart, resumed := t0.Add(5*time.Minute), t0.Add(5*time.Minute+20*time.Second)
	r.clk.Advance(time.Minute)
	sent = r.verdict([]state.Window{counted(t0, restart), counted(resumed, time.Time{})}, gapOf(restart, resumed))
	r.pageGoesOn("this prober's held runs stored (its restart's gap), the others' not yet", sent)

	r.clk.Advance(time.Minute)
	sent = r.verdict([]state.Window{counted(t0, time.Time{})})
	r.pageGoesOn("every prober's held runs stored", sent)

	// The recovery: resolved once, at its end.
	r.clk.Advance(2 * time.Minute)
	up := r.clk.Now().Add(-30 * time.Second)
	r.n.Handle([]state.Event{closeAt(r.own, up)})
	r.clk.Advance(time.Minute)
	sent = r.verdict([]state.Window{counted(t0, up)})
	var resolves int
	for _, a := range sent {
		if a.Labels["location"] == QuorumLocation && a.EndsAt.Equal(up) {
			resolves++
		}
	}
	if resolves != 1 || len(r.n.Active()) != 0 {
		t.Errorf("the platform back up at %s: sent %+v, firing %+v, want the quorum's page resolved at %s", up, sent, r.n.Active(), up)
	}
}

// TestDatabaseBackRecoveredMeanwhileResolvesOnce: the platform recovered
// while PostgreSQL was away (at t0+3m, the database stopped at t0+2m and
// back at t0+4m30s, before any lapse). The first verdict back, every
// location's data ending at the database's stop, does not resolve the
// page there; the next, this prober's held runs stored, shows the counted
// window closed at the recovery, and the page is resolved once, endsAt
// the recovery. Before, it was resolved at the database's stop (the data's
// end, not the outage's).
func TestDatabaseBackRecoveredMeanwhileResolvesOnce(t *testing.T) {
	r := newDBReturnRig(t)
	stop, up := t0.Add(2*time.Minute), t0.Add(3*time.Minute)
	r.clk.Set(up.Add(5 * time.Second))
	r.n.Handle([]state.Event{closeAt(r.own, up)})
	r.wait(90*time.Second, func(sent []Alert) { r.pageGoesOn("the database away", sent) })

	sent := r.verdict([]state.Window{counted(t0, stop)}, gapOf(stop, time.Time{}))
	r.pageGoesOn("the database back, every location's data ending at its stop", sent)

	var all []Alert
	for range 3 {
		r.clk.Advance(time.Minute)
		all = append(all, r.verdict([]state.Window{counted(t0, up)})...)
		r.wait(2*time.Minute, func(sent []Alert) { all = append(all, sent...) })
	}
	var resolves []Alert
	for _, a := range all {
		if a.Labels["location"] != QuorumLocation || a.EndsAt.After(up) {
			t.Errorf("after the held runs: sent %s of location %s startsAt %s endsAt %s, want the quorum's page's resolve only", a.Labels["alertname"], a.Labels["location"], a.StartsAt, a.EndsAt)
			continue
		}
		resolves = append(resolves, a)
	}
	if len(resolves) != 1 || !resolves[0].EndsAt.Equal(up) || !resolves[0].StartsAt.Equal(t0) {
		t.Errorf("the outage ended at %s during the database's outage: resolves sent %+v, want one, endsAt %s", up, resolves, up)
	}
	if len(r.n.Active()) != 0 {
		t.Errorf("firing at the end: %+v", r.n.Active())
	}
}

// TestDatabaseBackAloneResolves: a fleet's prober whose other locations
// stopped for good (their data ended at t0+2m; the figures still hold
// them, so the verdict is the fleet's) keeps the quorum's page through its
// own restart's gap (nothing measured the flow up there: its data resumed
// down) and resolves it once, at the recovery it measures; a verdict that
// finds it alone hands over to its own page, as before.
func TestDatabaseBackAloneResolves(t *testing.T) {
	r := newDBReturnRig(t)
	restart, resumed := t0.Add(4*time.Minute), t0.Add(4*time.Minute+20*time.Second)
	r.clk.Set(t0.Add(5 * time.Minute))
	sent := r.verdict([]state.Window{counted(t0, restart), counted(resumed, time.Time{})}, gapOf(restart, resumed))
	r.pageGoesOn("alone, after its restart's gap", sent)

	up := t0.Add(8 * time.Minute)
	r.clk.Set(up.Add(30 * time.Second))
	r.n.Handle([]state.Event{closeAt(r.own, up)})
	sent = r.verdict([]state.Window{counted(t0, restart), counted(resumed, up)}, gapOf(restart, resumed))
	if len(sent) != 1 || sent[0].Labels["location"] != QuorumLocation || !sent[0].EndsAt.Equal(up) || len(r.n.Active()) != 0 {
		t.Errorf("alone, its recovery at %s measured: sent %+v, firing %+v, want the quorum's page resolved at %s", up, sent, r.n.Active(), up)
	}

	// Down again, and a verdict that finds it alone: its own page.
	again := t0.Add(20 * time.Minute)
	r.clk.Set(again.Add(time.Minute))
	mine := flowWindow(state.KindDown, "", again)
	r.n.Handle([]state.Event{open(mine)})
	r.n.SetFleet(Fleet{Counted: []state.Window{mine}})
	mustTick(t, r.n, r.ctx)
	if got := firingAt(r.n, "page", "seoul-a"); len(got) != 1 || !got[0].StartsAt.Equal(again) {
		t.Errorf("alone: firing %+v, want seoul-a's own page from %s", r.n.Active(), again)
	}
}

// TestDatabaseBackNewWindowWhileLapsedKeepsItsPage: PostgreSQL stops at
// t0+2m with the quorum's page of the flow firing; seoul-a lapses (no
// verdict for 5 minutes) and its function send goes down at t0+7m, which
// it pages from its own location, as a prober alone does. The first
// verdict back is built from figures in which every location's data ends
// at the database's stop: nothing in them can count send's window or
// leave it below the quorum, and its page is kept as it is (before, it was
// resolved and send ticketed below the quorum, and the next verdict paged
// it from the quorum: a resolve, a ticket and a page while send stayed
// down). Once the held runs are stored the figures judge it: counted, the
// quorum's page of send takes over from seoul-a's; seen at seoul-a alone,
// it is a ticket below the quorum.
func TestDatabaseBackNewWindowWhileLapsedKeepsItsPage(t *testing.T) {
	for _, quorum := range []bool{true, false} {
		name := "counted"
		if !quorum {
			name = "below the quorum"
		}
		t.Run(name, func(t *testing.T) {
			r := newDBReturnRig(t)
			stop := t0.Add(2 * time.Minute)
			r.wait(6*time.Minute, nil)
			send := flowWindow(state.KindDown, "send", t0.Add(7*time.Minute))
			r.n.Handle([]state.Event{open(send)})
			r.wait(2*time.Minute, nil)
			if got := firingAt(r.n, "page", "seoul-a"); len(got) != 1 || got[0].Labels["function"] != "send" {
				t.Fatalf("lapsed: firing %+v, want seoul-a's own page of send", r.n.Active())
			}

			sent := r.verdict([]state.Window{counted(t0, stop)}, gapOf(stop, time.Time{}))
			changed := send
			changed.CauseStep, changed.Error = "send", "POST http://chat.internal/send: status 503"
			r.n.Handle([]state.Event{{Op: state.OpCause, Window: changed}})
			mustTick(t, r.n, r.ctx)
			r.wait(time.Minute, func(s []Alert) { sent = append(sent, s...) })
			for _, a := range sent {
				if a.Labels["function"] == "send" && (a.Labels["severity"] != "page" || a.Labels["location"] != "seoul-a" || !a.EndsAt.After(r.clk.Now().Add(-time.Minute))) {
					t.Errorf("the database back, send's window after the data's end: sent %s severity %s location %s endsAt %s, want its own page kept firing",
						a.Labels["alertname"], a.Labels["severity"], a.Labels["location"], a.EndsAt)
				}
			}
			if got := firingAt(r.n, "page", "seoul-a"); len(got) != 1 || got[0].Labels["function"] != "send" || !got[0].StartsAt.Equal(send.Start) {
				t.Errorf("the database back: firing %+v, want seoul-a's own page of send from %s", r.n.Active(), send.Start)
			}

			r.clk.Advance(time.Minute)
			cs := []state.Window{counted(t0, time.Time{})}
			if quorum {
				c := counted(send.Start, time.Time{})
				c.Function = "send"
				cs = append(cs, c)
			}
			r.verdict(cs)
			want, wantLoc := "page", QuorumLocation
			if !quorum {
				want, wantLoc = "ticket", "seoul-a"
			}
			var fns []string
			for _, a := range r.n.Active() {
				if a.Labels["function"] == "send" {
					fns = append(fns, a.Labels["severity"]+"@"+a.Labels["location"])
					if a.Labels["severity"] != want || a.Labels["location"] != wantLoc || !a.StartsAt.Equal(send.Start) {
						t.Errorf("the held runs stored: send firing %s from %s at %s, want %s from %s", a.Labels["severity"], a.Labels["location"], a.StartsAt, want, wantLoc)
					}
				}
			}
			if len(fns) != 1 {
				t.Errorf("the held runs stored: send firing as %v, want once", fns)
			}
		})
	}
}

// TestDatabaseBackNewWindowWhileLapsedCloses: as
// TestDatabaseBackNewWindowWhileLapsedKeepsItsPage, send's window closing
// after the first verdict back and before the held runs are stored: its
// kept page is resolved at the window's end, once.
func TestDatabaseBackNewWindowWhileLapsedCloses(t *testing.T) {
	r := newDBReturnRig(t)
	stop := t0.Add(2 * time.Minute)
	r.wait(6*time.Minute, nil)
	send := flowWindow(state.KindDown, "send", t0.Add(7*time.Minute))
	r.n.Handle([]state.Event{open(send)})
	r.wait(2*time.Minute, nil)
	sent := r.verdict([]state.Window{counted(t0, stop)}, gapOf(stop, time.Time{}))
	end := r.clk.Now().Add(10 * time.Second)
	r.clk.Set(end.Add(5 * time.Second))
	seen := len(r.am.all(t))
	r.n.Handle([]state.Event{closeAt(send, end)})
	mustTick(t, r.n, r.ctx)
	sent = append(sent, r.am.all(t)[seen:]...)
	r.wait(time.Minute, func(s []Alert) { sent = append(sent, s...) })
	var resolves []Alert
	for _, a := range sent {
		if a.Labels["function"] != "send" {
			continue
		}
		if a.Labels["severity"] != "page" || a.Labels["location"] != "seoul-a" || a.EndsAt.After(r.clk.Now()) && !a.EndsAt.After(end) {
			t.Errorf("sent send %s from %s endsAt %s, want its own page, resolved at %s", a.Labels["severity"], a.Labels["location"], a.EndsAt, end)
		}
		if !a.EndsAt.After(r.clk.Now()) {
			resolves = append(resolves, a)
		}
	}
	if len(resolves) != 1 || !resolves[0].EndsAt.Equal(end) {
		t.Errorf("send's window closed at %s: resolves %+v, want its page resolved once, endsAt %s", end, resolves, end)
	}
	for _, a := range r.n.Active() {
		if a.Labels["function"] == "send" {
			t.Errorf("send still firing: %+v", a)
		}
	}
}

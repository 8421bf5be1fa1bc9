package statuspage

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/alert"
	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/internal/pgtest"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// TestFleetPushDatabaseBack: three probers (seoul-a, busan-b, tokyo-c) on
// one store, quorum majority, chat every minute, down everywhere from
// 09:10 and the quorum's page firing from 09:10. The database goes away
// at 09:15: the probers go on probing and judging, their runs and events
// held (not stored), and no figures are built. It comes back while no
// prober's held runs are stored yet: seoul-a builds its figures at once
// (every location's data ends at 09:15), then stores its held runs and
// builds again, then busan-b and tokyo-c do. Before, the first build
// resolved the quorum's pages at 09:15 (the data's end: measured live,
// the page resolved at the database's stop while the platform was still
// down) and a later one fired them again.
//
//   - still down when the database is back (away 09:15-09:25, the
//     platform back at 09:30): every prober sends the quorum's pages from
//     09:10 until 09:30 and resolves them once, endsAt 09:30, and nothing
//     of its own location;
//   - the platform back at 09:17 while the database is away (09:15-09:19,
//     before the lapse): the pages are resolved once, endsAt 09:17 (where
//     the held runs measured the recovery), not at the database's stop;
//   - as the first, seoul-a restarted during the outage (no run at 09:18
//     and 09:19; its live verdict from a fresh machine, down again from
//     09:20): its held runs, stored first, resume after that gap while
//     the others' are still missing, so the counted window closes at the
//     gap and another opens at 09:20; the pages go on from 09:10 all the
//     same (before, resolved at the gap and paged anew from 09:20);
//   - as that, the database back at 09:21, one run of seoul-a's after its
//     gap: busan-b's build with seoul-a's and its own held runs stored
//     (tokyo-c's not yet) has seoul-a's failed run at 09:20, not yet a
//     window (down_after 2), which is not seoul-a reporting up: the pages
//     go on (before, 1 of 2 reporting locations down, below the majority:
//     resolved endsAt 09:20, busan-b's own windows ticketed below the
//     quorum, and paged anew dated 09:20 until 09:30).
func TestFleetPushDatabaseBack(t *testing.T) {
	stores := []struct {
		name string
		open func(t *testing.T) store.Store
	}{
		{"sqlite", func(t *testing.T) store.Store {
			s := tempStore(t)
			return s
		}},
		{"postgres", func(t *testing.T) store.Store {
			s, err := store.OpenPostgres(context.Background(), pgtest.DSN(t), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}},
	}
	cases := []struct {
		name           string
		away, back, up int // minutes: the database away [away, back), the platform up again at up
		restart        int // minute seoul-a is restarted at (no run then and the next), 0: none
	}{
		{"outage goes on", 15, 25, 30, 0},
		{"recovered meanwhile", 15, 19, 17, 0},
		{"restarted meanwhile", 15, 25, 30, 18},
		{"restarted just before back", 15, 21, 30, 18},
	}
	for _, st := range stores {
		for _, tc := range cases {
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				ctx := context.Background()
				s := st.open(t)
				t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
				clk := clock.NewManual(t0)
				ps := []*pushProber{newPushProber(t, s, clk, "seoul-a", true), newPushProber(t, s, clk, "busan-b", true), newPushProber(t, s, clk, "tokyo-c", true)}
				at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
				ok := func(i int) func(string) bool { return func(string) bool { return i < 10 || i >= tc.up } }
				for i := 0; i < tc.away; i++ {
					pushMinute(t, s, clk, at(i), ps, ok(i))
				}
				// The database away: runs and events held, no figures.
				held := map[string][]probe.Run{}
				heldEvs := map[string][]state.Event{}
				var fresh *state.Machine // seoul-a's live machine after its restart
				for i := tc.away; i < tc.back; i++ {
					clk.Set(at(i))
					for _, p := range ps {
						restarting := p.loc == "seoul-a" && tc.restart > 0 && i >= tc.restart
						if restarting && i < tc.restart+2 {
							continue // stopped, starting again
						}
						r := fleetRun(p.loc, at(i), ok(i)(p.loc))
						evs := p.m.Observe(&r) // what its store gets (re-judged from the restored windows)
						held[p.loc] = append(held[p.loc], r)
						heldEvs[p.loc] = append(heldEvs[p.loc], evs...)
						if restarting {
							if fresh == nil {
								fresh = state.New("messaging", "chat", p.loc, fleetConfig(p.loc).Services[0].Flows[0].Functions(), state.Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1})
							}
							r := r
							evs = fresh.Observe(&r)
						}
						p.n.Handle(evs)
					}
					clk.Set(at(i).Add(30 * time.Second))
					for _, p := range ps {
						if err := p.n.Tick(ctx); err != nil {
							t.Fatal(err)
						}
					}
				}
				// Back: seoul-a builds before any held run is stored, then
				// each prober stores its held runs and builds.
				clk.Set(at(tc.back))
				refresh := func(p *pushProber) {
					if err := p.page.Refresh(ctx); err != nil {
						t.Fatal(err)
					}
					if err := p.n.Tick(ctx); err != nil {
						t.Fatal(err)
					}
				}
				refresh(ps[0])
				for _, p := range ps {
					if err := s.AppendRuns(ctx, held[p.loc]); err != nil {
						t.Fatal(err)
					}
					if err := s.AppendEvents(ctx, heldEvs[p.loc]); err != nil {
						t.Fatal(err)
					}
					clk.Set(clk.Now().Add(5 * time.Second))
					refresh(p)
				}
				for i := tc.back; i < max(tc.up, tc.back)+5; i++ {
					pushMinute(t, s, clk, at(i), ps, ok(i))
				}

				for _, p := range ps {
					last := map[string]pushed{}
					resolves := map[string]int{}
					for _, a := range p.am.alerts() {
						if a.labels["location"] != alert.QuorumLocation {
							if !a.at.Before(at(12)) {
								t.Errorf("%s sent %s at %s: %s (startsAt %s), want nothing of its own location once the quorum pages",
									p.loc, a.labels["severity"], a.at.Format("15:04:05"), a.key, a.starts.Format("15:04:05"))
							}
							continue
						}
						if !a.starts.Equal(at(10)) {
							t.Errorf("%s sent %s at %s with startsAt %s, want 09:10 (one outage)", p.loc, a.key, a.at.Format("15:04:05"), a.starts.Format("15:04:05"))
						}
						if !a.ends.After(a.at) {
							resolves[a.key]++
							if !a.ends.Equal(at(tc.up)) {
								t.Errorf("%s resolved %s at %s with endsAt %s, want %s (the platform's recovery)", p.loc, a.key, a.at.Format("15:04:05"), a.ends.Format("15:04:05"), at(tc.up).Format("15:04:05"))
							}
						}
						last[a.key] = a
					}
					if len(last) != 4 {
						t.Errorf("%s sent %d quorum pages, want 4 (chat, login, send, receive): %v", p.loc, len(last), keys(map[string]pushed(last)))
					}
					for k := range last {
						if resolves[k] != 1 {
							t.Errorf("%s resolved %s %d times, want once", p.loc, k, resolves[k])
						}
					}
					if act := p.n.Active(); len(act) != 0 {
						t.Errorf("%s holds %d alerts firing at the end", p.loc, len(act))
					}
				}
			})
		}
	}
}

// TestFleetPushDatabaseBackAloneRestartedJustBefore: seoul-a, busan-b and
// tokyo-c on one store, quorum majority, chat every minute (down_after 2),
// down everywhere from 09:10, the quorum's page firing from 09:10. The
// database goes away at 09:15, and busan-b and tokyo-c stop for good
// then; seoul-a, alone on, is restarted at 09:18 (no run at 09:18 and
// 09:19, failing again from 09:20) and the database comes back at 09:21,
// one run after the restart. Its held runs, stored, resume at 09:20 with
// one failed run, which down_after 2 has not yet made a window: that is
// no recovery (the next run, at 09:21, confirms the window, backdated to
// 09:20). Before, the verdict built from them took the unknown stretch
// 09:18-09:20 for one the data had resumed from, up, and resolved the
// pages at 09:18, then fired them anew dated 09:18 and ticketed seoul-a's
// own window meanwhile; now they go on from 09:10 and are resolved once,
// at 09:30, when the platform is back.
func TestFleetPushDatabaseBackAloneRestartedJustBefore(t *testing.T) {
	ctx := context.Background()
	s := tempStore(t)
	t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	clk := clock.NewManual(t0)
	ps := []*pushProber{newPushProber(t, s, clk, "seoul-a", true), newPushProber(t, s, clk, "busan-b", true), newPushProber(t, s, clk, "tokyo-c", true)}
	seoul := ps[0]
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	const away, restart, back, up = 15, 18, 21, 30
	ok := func(i int) func(string) bool { return func(string) bool { return i < 10 || i >= up } }
	for i := 0; i < away; i++ {
		pushMinute(t, s, clk, at(i), ps, ok(i))
	}
	var held []probe.Run
	var heldEvs []state.Event
	var fresh *state.Machine
	for i := away; i < back; i++ {
		if i == restart || i == restart+1 {
			continue // stopped, starting again
		}
		clk.Set(at(i))
		r := fleetRun(seoul.loc, at(i), ok(i)(seoul.loc))
		evs := seoul.m.Observe(&r)
		held = append(held, r)
		heldEvs = append(heldEvs, evs...)
		if i > restart {
			if fresh == nil {
				fresh = state.New("messaging", "chat", seoul.loc, fleetConfig(seoul.loc).Services[0].Flows[0].Functions(), state.Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1})
			}
			r := r
			evs = fresh.Observe(&r)
		}
		seoul.n.Handle(evs)
		clk.Set(at(i).Add(30 * time.Second))
		if err := seoul.n.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	clk.Set(at(back))
	refresh := func() {
		if err := seoul.page.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if err := seoul.n.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	refresh()
	if err := s.AppendRuns(ctx, held); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvents(ctx, heldEvs); err != nil {
		t.Fatal(err)
	}
	clk.Set(clk.Now().Add(5 * time.Second))
	refresh()
	for i := back; i < up+5; i++ {
		pushMinute(t, s, clk, at(i), ps[:1], ok(i))
	}

	resolves := map[string]int{}
	for _, a := range seoul.am.alerts() {
		if a.labels["location"] != alert.QuorumLocation {
			if !a.at.Before(at(12)) {
				t.Errorf("sent %s at %s: %s (startsAt %s), want nothing of its own location once the quorum pages",
					a.labels["severity"], a.at.Format("15:04:05"), a.key, a.starts.Format("15:04:05"))
			}
			continue
		}
		if !a.starts.Equal(at(10)) {
			t.Errorf("sent %s at %s with startsAt %s, want 09:10 (one outage)", a.key, a.at.Format("15:04:05"), a.starts.Format("15:04:05"))
		}
		if !a.ends.After(a.at) {
			resolves[a.key]++
			if !a.ends.Equal(at(up)) {
				t.Errorf("resolved %s at %s with endsAt %s, want 09:30 (the platform's recovery)", a.key, a.at.Format("15:04:05"), a.ends.Format("15:04:05"))
			}
		}
	}
	if len(resolves) != 4 {
		t.Errorf("resolved %d quorum pages, want 4 (chat, login, send, receive), each once: %v", len(resolves), resolves)
	}
	for k, n := range resolves {
		if n != 1 {
			t.Errorf("resolved %s %d times, want once", k, n)
		}
	}
	if act := seoul.n.Active(); len(act) != 0 {
		t.Errorf("holds %d alerts firing at the end", len(act))
	}
}

// TestFleetPushRestartedQuorumAll: seoul-a, busan-b and tokyo-c on one
// store (no outage of it), quorum all, chat every minute (down_after 2),
// down everywhere from 09:10 to 09:30, the quorum's page firing from
// 09:10. seoul-a is restarted at 09:18 (no run at 09:18 and 09:19; its
// live verdict from a fresh machine, failing again from 09:20). While it
// is away the quorum is of busan-b and tokyo-c, both down. The rebuild at
// 09:20:30 has seoul-a's one failed run after its gap, which down_after 2
// has not yet made a window (the next run, at 09:21, makes it one
// backdated to 09:20): that is no location measuring chat up. Before,
// every prober's figures counted seoul-a up there, 2 of 3 down below a
// quorum of all, closed the counted window at 09:20 (the pages resolved,
// endsAt 09:20), ticketed busan-b's and tokyo-c's own windows below the
// quorum, and paged anew dated 09:20 a minute later; now the pages go on
// from 09:10 and are resolved once, at 09:30.
func TestFleetPushRestartedQuorumAll(t *testing.T) {
	ctx := context.Background()
	s := tempStore(t)
	t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	clk := clock.NewManual(t0)
	var ps []*pushProber
	for _, loc := range []string{"seoul-a", "busan-b", "tokyo-c"} {
		cfg := fleetConfig(loc)
		cfg.Policy.Quorum = config.Quorum{Mode: "all"}
		ps = append(ps, newPushProberWith(t, s, clk, cfg, true))
	}
	seoul := ps[0]
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	const restart, up = 18, 30
	ok := func(i int) func(string) bool { return func(string) bool { return i < 10 || i >= up } }
	var fresh *state.Machine // seoul-a's live machine after its restart
	for i := 0; i < up+5; i++ {
		clk.Set(at(i))
		for _, p := range ps {
			if p == seoul && (i == restart || i == restart+1) {
				continue // stopped, starting again
			}
			r := fleetRun(p.loc, at(i), ok(i)(p.loc))
			evs := p.m.Observe(&r) // what its store gets (re-judged from the restored windows)
			if err := s.AppendRuns(ctx, []probe.Run{r}); err != nil {
				t.Fatal(err)
			}
			if err := s.AppendEvents(ctx, evs); err != nil {
				t.Fatal(err)
			}
			if p == seoul && i > restart {
				if fresh == nil {
					fresh = state.New("messaging", "chat", p.loc, fleetConfig(p.loc).Services[0].Flows[0].Functions(), state.Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1})
				}
				r := r
				evs = fresh.Observe(&r)
			}
			p.n.Handle(evs)
		}
		clk.Set(at(i).Add(30 * time.Second))
		for _, p := range ps {
			if err := p.page.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			if err := p.n.Tick(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}

	for _, p := range ps {
		resolves := map[string]int{}
		for _, a := range p.am.alerts() {
			if a.labels["location"] != alert.QuorumLocation {
				if !a.at.Before(at(12)) {
					t.Errorf("%s sent %s at %s: %s (startsAt %s), want nothing of its own location once the quorum pages",
						p.loc, a.labels["severity"], a.at.Format("15:04:05"), a.key, a.starts.Format("15:04:05"))
				}
				continue
			}
			if !a.starts.Equal(at(10)) {
				t.Errorf("%s sent %s at %s with startsAt %s, want 09:10 (one outage)", p.loc, a.key, a.at.Format("15:04:05"), a.starts.Format("15:04:05"))
			}
			if !a.ends.After(a.at) {
				resolves[a.key]++
				if !a.ends.Equal(at(up)) {
					t.Errorf("%s resolved %s at %s with endsAt %s, want 09:30 (the platform's recovery)", p.loc, a.key, a.at.Format("15:04:05"), a.ends.Format("15:04:05"))
				}
			}
		}
		if len(resolves) != 4 {
			t.Errorf("%s resolved %d quorum pages, want 4 (chat, login, send, receive), each once: %v", p.loc, len(resolves), resolves)
		}
		for k, n := range resolves {
			if n != 1 {
				t.Errorf("%s resolved %s %d times, want once", p.loc, k, n)
			}
		}
		if act := p.n.Active(); len(act) != 0 {
			t.Errorf("%s holds %d alerts firing at the end", p.loc, len(act))
		}
	}
}

// TestFleetPushWholeFleetRestartedResolvesAtItsPass: seoul-a, busan-b and
// tokyo-c on one store, quorum majority, chat every minute (down_after 2),
// down everywhere from 09:10; every prober restarted at 09:17 (an upgrade:
// no run at 09:17 and 09:18), the platform back meanwhile, every run
// passing from 09:19. The counted window closes at 09:17, where every
// location's data stops; the runs at 09:19 measure chat up everywhere,
// which no later run can undo (a window begins at its first failed run),
// so the quorum's pages are resolved at the rebuild after them, 09:19:30.
// Before, the verdict handed the stretch in which no location reported as
// open for report.Settling after the data resumed (down_after intervals
// and the timeout: to 09:21:10) whatever the runs there said, and the
// pages went on to 09:21:30 (with an hourly flow, down_after 5 and
// confirm_every off, 5 hours).
func TestFleetPushWholeFleetRestartedResolvesAtItsPass(t *testing.T) {
	ctx := context.Background()
	s := tempStore(t)
	t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	clk := clock.NewManual(t0)
	var ps []*pushProber
	for _, loc := range []string{"seoul-a", "busan-b", "tokyo-c"} {
		ps = append(ps, newPushProber(t, s, clk, loc, true))
	}
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	const restart, up = 17, 19
	for i := 0; i < up+5; i++ {
		clk.Set(at(i))
		if i == restart || i == restart+1 {
			continue // every prober stopped, starting again
		}
		for _, p := range ps {
			r := fleetRun(p.loc, at(i), i < 10 || i >= up)
			evs := p.m.Observe(&r) // what its store gets (re-judged from the restored windows)
			if err := s.AppendRuns(ctx, []probe.Run{r}); err != nil {
				t.Fatal(err)
			}
			if err := s.AppendEvents(ctx, evs); err != nil {
				t.Fatal(err)
			}
			p.n.Handle(evs) // its machine restored from the store: the gap closes what was open
		}
		clk.Set(at(i).Add(30 * time.Second))
		for _, p := range ps {
			if err := p.page.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			if err := p.n.Tick(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, p := range ps {
		resolved := map[string]time.Time{}
		for _, a := range p.am.alerts() {
			if a.labels["location"] != alert.QuorumLocation || a.ends.After(a.at) {
				continue
			}
			if _, ok := resolved[a.key]; !ok {
				resolved[a.key] = a.at
			}
		}
		if len(resolved) != 4 {
			t.Errorf("%s resolved %d quorum pages, want 4 (chat, login, send, receive): %v", p.loc, len(resolved), resolved)
		}
		for k, when := range resolved {
			if when.After(at(up).Add(30 * time.Second)) {
				t.Errorf("%s resolved %s at %s, want at 09:19:30, the rebuild after every location's passing run", p.loc, k, when.Format("15:04:05"))
			}
		}
		if act := p.n.Active(); len(act) != 0 {
			t.Errorf("%s holds %d alerts firing at the end", p.loc, len(act))
		}
	}
}

package statuspage

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/alert"
	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// syncBuffer is a bytes.Buffer a logger may write from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// aloneRig is a prober alone (seoul-a, no other location in the store,
// ever) wired as cmd/slaprobe wires it: a fleet-aware notifier (restored,
// reconciled with the open windows) that the page's builds give verdicts.
type aloneRig struct {
	clk  *clock.Manual
	am   *recordingAM
	n    *alert.Notifier
	page *Page
	log  *syncBuffer
}

func newAloneRig(t *testing.T, s store.Store, cfg *config.Config, now time.Time, open []state.Window, exclusive func(r *aloneRig, build func()) error) *aloneRig {
	t.Helper()
	r := &aloneRig{clk: clock.NewManual(now), log: &syncBuffer{}}
	r.am = &recordingAM{clk: r.clk}
	hs := httptest.NewServer(r.am)
	t.Cleanup(hs.Close)
	log := slog.New(slog.NewTextHandler(r.log, nil))
	var err error
	r.n, err = alert.NewNotifier(alert.Options{URLs: []string{hs.URL}, Clock: r.clk, Location: cfg.Location, Zone: time.UTC,
		FleetAware: true, HoldUntilReconcile: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	r.n.Reconcile(open)
	opts := Options{Store: s, Clock: r.clk, Logger: log, Verdict: func(v Verdict) {
		r.n.SetFleet(alert.Fleet{Fleet: v.Fleet, NoRuns: !v.Runs, Counted: v.Counted, Unknown: v.Unknown, Next: v.Next})
	}}
	if exclusive != nil {
		opts.Exclusive = func(ctx context.Context, build func(context.Context)) error {
			return exclusive(r, func() { build(ctx) })
		}
	}
	if r.page, err = New(cfg, opts); err != nil {
		t.Fatal(err)
	}
	return r
}

// firstPush is when the first alert whose flow is flow was pushed firing
// (zero: never).
func (r *aloneRig) firstPush(flow string) time.Time {
	for _, a := range r.am.alerts() {
		if a.labels["flow"] == flow && a.ends.After(a.at) {
			return a.at
		}
	}
	return time.Time{}
}

func openSQLite(t *testing.T) store.Store {
	t.Helper()
	s := tempStore(t)
	return s
}

func downWindow(flow string, start time.Time) state.Window {
	return state.Window{Key: state.Key{Service: "messaging", Flow: flow, Location: "seoul-a"}, Kind: state.KindDown,
		Start: start, Confirmed: start.Add(time.Minute), CauseStep: "login"}
}

// TestAloneSlowFirstBuildPushesAfterMonth: seoul-a alone (no other
// location in the store, ever) restarted at a large store, its window
// open in the store (PostgreSQL: no state file; Reconcile hands it over)
// and another opening in the first minute; the month's figures and the 89
// days' history take 4 minutes each (virtual time). Before a6bd5c9 both
// were pushed at once; main sent nothing new until the first verdict,
// which waited for the history too: both pushed 8 minutes after the
// restart. The month's figures alone say it: pushed after 4.
func TestAloneSlowFirstBuildPushesAfterMonth(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	for i := range 10 {
		if err := s.AppendRuns(ctx, []probe.Run{fleetRun("seoul-a", t0.Add(time.Duration(i)*time.Minute), i < 5)}); err != nil {
			t.Fatal(err)
		}
	}
	start := t0.Add(10 * time.Minute)
	builds := 0
	r := newAloneRig(t, s, fleetConfig("seoul-a"), start, []state.Window{downWindow("chat", t0.Add(5*time.Minute))},
		func(r *aloneRig, build func()) error {
			if err := r.n.Tick(ctx); err != nil { // the notifier's Run, meanwhile
				return err
			}
			build()
			builds++
			if builds == 1 {
				r.clk.Advance(30 * time.Second)
				r.n.Handle([]state.Event{{Op: state.OpOpen, Window: downWindow("media", start)}})
				r.clk.Advance(3*time.Minute + 30*time.Second)
				return nil
			}
			r.clk.Advance(4 * time.Minute)
			return nil
		})
	if err := r.page.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if builds != 2 {
		t.Fatalf("%d builds, want the month's and the history's", builds)
	}
	if err := r.n.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	for _, flow := range []string{"chat", "media"} {
		at := r.firstPush(flow)
		if at.IsZero() || at.Sub(start) > 4*time.Minute {
			t.Errorf("%s's window pushed %s after the restart, want once the month's figures are built (4m0s)", flow, at.Sub(start))
		}
	}
	if strings.Contains(r.log.String(), "no verdict of the fleet") {
		t.Errorf("a prober alone warned of no verdict:\n%s", r.log)
	}
}

// TestAloneFirstBuildsFail pins what a prober alone does while its first
// builds of the figures fail (the database locked by another process for
// 30 s, or for good): the page tries again every 5 s, and its window open
// in the store is pushed at the first build that works (09:10:30), or,
// while none does, 5 minutes after the start (the lapse, which warns:
// the builds fail). Before a6bd5c9 it was pushed at once; a prober cannot
// tell it is alone without reading the store, and taking itself for alone
// would page a fleet's prober below the quorum.
func TestAloneFirstBuildsFail(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		locked time.Duration
		want   time.Duration
		warn   bool
	}{
		{"locked 30s", 30 * time.Second, 30 * time.Second, false},
		{"locked for good", time.Hour, 5 * time.Minute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openSQLite(t)
			t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
			for i := range 10 {
				if err := s.AppendRuns(ctx, []probe.Run{fleetRun("seoul-a", t0.Add(time.Duration(i)*time.Minute), i < 5)}); err != nil {
					t.Fatal(err)
				}
			}
			start := t0.Add(10 * time.Minute)
			r := newAloneRig(t, s, fleetConfig("seoul-a"), start, []state.Window{downWindow("chat", t0.Add(5*time.Minute))},
				func(r *aloneRig, build func()) error {
					if r.clk.Now().Sub(start) < tc.locked {
						return errors.New("database is locked")
					}
					build()
					return nil
				})
			next := start
			for r.clk.Now().Sub(start) < 6*time.Minute {
				if now := r.clk.Now(); !now.Before(next) {
					_ = r.page.Refresh(ctx) // fails while locked
					next = now.Add(r.page.nextRebuild())
				}
				if err := r.n.Tick(ctx); err != nil {
					t.Fatal(err)
				}
				r.clk.Advance(5 * time.Second)
			}
			if at := r.firstPush("chat"); at.Sub(start) != tc.want {
				t.Errorf("pushed %s after the start, want %s", at.Sub(start), tc.want)
			}
			if warned := strings.Contains(r.log.String(), "no verdict of the fleet"); warned != tc.warn {
				t.Errorf("warned of no verdict: %v, want %v:\n%s", warned, tc.warn, r.log)
			}
		})
	}
}

// TestAloneAcrossMidnight pins the month's change for a prober alone that
// runs through it: its window open since 23:50 on the 30th keeps firing
// while December's figures hold no run (its first runs not stored), and a
// window opening at 00:00:20 is pushed at once.
func TestAloneAcrossMidnight(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	midnight := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := range 20 {
		if err := s.AppendRuns(ctx, []probe.Run{fleetRun("seoul-a", midnight.Add(time.Duration(i-20)*time.Minute), i < 10)}); err != nil {
			t.Fatal(err)
		}
	}
	start := midnight.Add(-2 * time.Minute)
	r := newAloneRig(t, s, fleetConfig("seoul-a"), start, []state.Window{downWindow("chat", midnight.Add(-10*time.Minute))}, nil)
	opens := midnight.Add(20 * time.Second)
	next := start
	for r.clk.Now().Before(midnight.Add(6 * time.Minute)) {
		now := r.clk.Now()
		if !now.Before(next) {
			if err := r.page.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			next = now.Add(r.page.nextRebuild())
		}
		if now.Equal(opens) {
			r.n.Handle([]state.Event{{Op: state.OpOpen, Window: downWindow("media", now)}})
		}
		if err := r.n.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		r.clk.Advance(5 * time.Second)
	}
	if at := r.firstPush("chat"); !at.Equal(start) {
		t.Errorf("chat's window pushed at %s, want at the start", at.Format("15:04:05"))
	}
	for _, a := range r.am.alerts() {
		if a.labels["flow"] == "chat" && !a.ends.After(a.at) {
			t.Errorf("chat's window resolved at %s across midnight", a.at.Format("15:04:05"))
		}
	}
	if at := r.firstPush("media"); !at.Equal(opens) {
		t.Errorf("media's window pushed at %s, want at once (00:00:20)", at.Format("15:04:05"))
	}
}

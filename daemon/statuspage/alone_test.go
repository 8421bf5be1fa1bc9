package statuspage

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
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
		r.n.SetFleet(alert.Fleet{Fleet: v.Fleet, NoRuns: !v.Runs, Counted: v.Counted, Next: v.Next})
	}}
	if exclusive != nil {
		opts.Exclusive = func(_ context.Context, build func()) error { return exclusive(r, build) }
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
	s, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "r.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
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

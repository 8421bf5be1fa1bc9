package statuspage

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/daemon"
)

// A reload while a build waits for its turn (Options.Exclusive, which the
// SIGHUP reload takes too): the figures, this month's and the history, are
// built from the new config, never from the replaced one, and the history
// is not built again at the next refresh. The reload comes before the
// month's build (the first turn) or before the history's (the second).
func TestRefreshAfterReloadWhileWaiting(t *testing.T) {
	s, cfg, now := generatedMonth(t)
	for _, tt := range []struct {
		name   string
		reload int // the turn the reload takes first
		turns  int // the turns the refresh takes: the one the reload cut short, then month and history
	}{
		{"before the month's build", 1, 3},
		{"before the history's build", 2, 4}, // the month's is built again, from the new config
	} {
		t.Run(tt.name, func(t *testing.T) {
			next := genConfig(20, 3, 10*time.Minute)
			next.Services[0].Objective = 0.95 // what tells the two configs apart in the figures
			var p *Page
			turns := 0
			p, err := New(cfg, Options{Store: s, Clock: clock.NewManual(now), Exclusive: func(ctx context.Context, build func(context.Context)) error {
				if turns++; turns == tt.reload {
					p.SetConfig(next)
				}
				build(ctx)
				return nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			snap := p.snapshot()
			if snap.month == nil || snap.history == nil {
				t.Fatalf("month %v, history %v: want both", snap.month != nil, snap.history != nil)
			}
			for name, r := range map[string]float64{"month": snap.month.Services[0].Objective, "history": snap.history.Services[0].Objective} {
				if r != 0.95 {
					t.Errorf("%s built from the replaced config (objective %v)", name, r)
				}
			}
			p.mu.RLock()
			day := p.histDay
			p.mu.RUnlock()
			if day == "" {
				t.Error("the history is to be built again at the next refresh")
			}
			if turns != tt.turns {
				t.Errorf("%d turns, want %d", turns, tt.turns)
			}
		})
	}
}

// A reload that ends a build in the making (daemon.ErrSuperseded: the
// build's context ended, its figures were of the replaced config): nothing
// of the ended build is kept, no error is shown (the figures are not
// flagged stale for it), and the refresh builds the figures again from the
// reloaded config. The reload ends the month's build or the history's.
func TestRefreshAfterReloadEndedTheBuild(t *testing.T) {
	s, cfg, now := generatedMonth(t)
	for _, tt := range []struct {
		name   string
		reload int // the turn whose build the reload ends
		turns  int
	}{
		{"the month's build", 1, 3},
		{"the history's build", 2, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			next := genConfig(20, 3, 10*time.Minute)
			next.Services[0].Objective = 0.95
			var p *Page
			turns := 0
			p, err := New(cfg, Options{Store: s, Clock: clock.NewManual(now), Exclusive: func(ctx context.Context, build func(context.Context)) error {
				if turns++; turns != tt.reload {
					build(ctx)
					return nil
				}
				// The reload ends the build as it reads the store, then
				// loads the new config (cmd/slaprobe's SetConfig within
				// the reload's turn).
				bctx, cancel := context.WithCancelCause(ctx)
				cancel(daemon.ErrSuperseded)
				build(bctx)
				p.SetConfig(next)
				return daemon.ErrSuperseded
			}})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Refresh(context.Background()); err != nil {
				t.Fatalf("Refresh: %v, want nil (an ended build is built again, not an error)", err)
			}
			snap := p.snapshot()
			if snap.err != nil || snap.month == nil || snap.history == nil {
				t.Fatalf("err %v, month %v, history %v: want both and no error", snap.err, snap.month != nil, snap.history != nil)
			}
			for name, r := range map[string]float64{"month": snap.month.Services[0].Objective, "history": snap.history.Services[0].Objective} {
				if r != 0.95 {
					t.Errorf("%s built from the replaced config (objective %v)", name, r)
				}
			}
			if turns != tt.turns {
				t.Errorf("%d turns, want %d", turns, tt.turns)
			}
		})
	}
}

// A reload that comes just after a build gave its turn back (the build was
// complete, so the reload did not end it), before the refresh shows the
// figures: those are of the replaced config, and are built again from the
// reloaded one rather than shown until the next rebuild (a minute on: a
// service the reload removed, an objective it changed). On main the
// history's row showed the month and the history of the old config.
func TestRefreshAfterReloadAfterTheBuild(t *testing.T) {
	s, cfg, now := generatedMonth(t)
	for _, tt := range []struct {
		name   string
		reload int // the turn after whose build the reload comes
		turns  int
	}{
		{"after the month's build", 1, 4},   // passes on main: the history's build sees the new config
		{"after the history's build", 2, 4}, // month and history built again
	} {
		t.Run(tt.name, func(t *testing.T) {
			next := genConfig(20, 3, 10*time.Minute)
			next.Services[0].Objective = 0.95
			var p *Page
			turns := 0
			p, err := New(cfg, Options{Store: s, Clock: clock.NewManual(now), Exclusive: func(ctx context.Context, build func(context.Context)) error {
				turns++
				build(ctx)
				if turns == tt.reload {
					p.SetConfig(next) // the reload's turn, next after this build's
				}
				return nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			snap := p.snapshot()
			if snap.err != nil || snap.month == nil || snap.history == nil {
				t.Fatalf("err %v, month %v, history %v: want both and no error", snap.err, snap.month != nil, snap.history != nil)
			}
			for name, r := range map[string]float64{"month": snap.month.Services[0].Objective, "history": snap.history.Services[0].Objective} {
				if r != 0.95 {
					t.Errorf("%s shown of the replaced config (objective %v)", name, r)
				}
			}
			if turns != tt.turns {
				t.Errorf("%d turns, want %d", turns, tt.turns)
			}
		})
	}
}

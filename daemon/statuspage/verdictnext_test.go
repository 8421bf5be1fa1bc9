package statuspage

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/probe"
)

// TestVerdictSaysWhenTheNextIsDue: the verdict a build hands the notifier
// says when the next is due (the wait until the next rebuild, as Run
// sleeps it, and a build as long as this one), so that the notifier does
// not take rebuilds further apart than its 5 minutes (a large config: 9
// times the build's duration, rounded up to whole minutes and aligned on
// the clock) for builds that stopped: it lapsed 5 minutes after each
// verdict, paging from its own location below the quorum
// (TestFleetSlowRebuildsNoLapse). Here a fleet rebuilding every 7 minutes.
func TestVerdictSaysWhenTheNextIsDue(t *testing.T) {
	ctx := context.Background()
	s := tempStore(t)
	t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	clk := clock.NewManual(t0.Add(30 * time.Second))
	if err := s.AppendRuns(ctx, []probe.Run{fleetRun("seoul-a", t0, true), fleetRun("busan-b", t0, true)}); err != nil {
		t.Fatal(err)
	}
	var got []Verdict
	p, err := New(fleetConfig("seoul-a"), Options{Store: s, Clock: clk, Rebuild: 7 * time.Minute, Verdict: func(v Verdict) { got = append(got, v) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	// The first build: the month's figures tell a fleet (saying nothing)
	// before the history is built, then the verdict.
	if len(got) != 2 || !got[0].Fleet || got[0].Runs || !got[1].Fleet || !got[1].Runs {
		t.Fatalf("verdicts %+v, want a fleet's saying nothing, then one of a fleet", got)
	}
	last := got[len(got)-1]
	if wait := p.nextRebuild(); last.Next < wait || wait < 7*time.Minute/2 {
		t.Errorf("the verdict says the next is due in %s; Run waits %s for the next rebuild", last.Next, wait)
	}
}

package alert

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// TestWindowStartingAheadOfTheClockIsSent: a window that starts after the
// prober's clock (stepped back an hour) is sent firing with an endsAt after
// its startsAt, and Alertmanager takes it. Before, its endsAt (now+4m) came
// before its startsAt, Alertmanager refused it as invalid, and it was not
// sent again until it changed: a flow down for hours paged nobody, though
// once the clock had caught up the same alert, with its new endsAt, was
// valid.
func TestWindowStartingAheadOfTheClockIsSent(t *testing.T) {
	am := newValidatingAM(t)
	clk := clock.NewManual(t0)
	n := newTestNotifier(t, clk, "", am.srv.URL)
	ctx := context.Background()
	w := flowWindow(state.KindDown, "", t0.Add(time.Hour)) // the prober's clock stepped back
	n.Handle([]state.Event{open(w)})
	if err := n.Tick(ctx); err != nil {
		t.Errorf("tick: %v", err)
	}
	_, kept := am.counts()
	if len(kept) != 1 || !kept[0].EndsAt.After(w.Start) {
		t.Fatalf("Alertmanager keeps %+v; want the firing alert", kept)
	}
	if got, want := kept[0].EndsAt, w.Start.Add(4*time.Minute); !got.Equal(want) {
		t.Errorf("endsAt %s, want %s (4*resend after its start, the later of now and startsAt)", got, want)
	}
}

// TestRefusedFiringAlertTriedAgainAtResend: a firing alert an
// Alertmanager refuses (here a WAF in front of it, which the operator then
// fixes) is tried again at the resend interval, with its new endsAt, not
// every round, and is delivered once taken; a refused resolve is not tried
// again. Before, a refused firing alert was not sent to it again until it
// changed: the page was lost for as long as the window stayed open.
func TestRefusedFiringAlertTriedAgainAtResend(t *testing.T) {
	am := newValidatingAM(t)
	blocked := true
	am.block = func(a Alert) bool { return blocked && a.Labels["flow"] == "waf" }
	clk := clock.NewManual(t0)
	n := newTestNotifier(t, clk, "", am.srv.URL)
	ctx := context.Background()
	w := flowWindow(state.KindDown, "", t0.Add(-time.Minute))
	w.Key.Flow = "waf"
	n.Handle([]state.Event{open(w)})
	if err := n.Tick(ctx); err == nil {
		t.Fatal("first tick: no refusal")
	}
	posts, _ := am.counts()
	for _, at := range []time.Duration{time.Second, 10 * time.Second, 59 * time.Second} {
		clk.Set(t0.Add(at))
		n.Tick(ctx) //nolint:errcheck
		if p, _ := am.counts(); p != posts {
			t.Fatalf("at +%s: %d posts, want %d: tried again before the resend interval", at, p, posts)
		}
	}
	am.mu.Lock()
	blocked = false
	am.mu.Unlock()
	clk.Set(t0.Add(time.Minute))
	if err := n.Tick(ctx); err != nil {
		t.Errorf("at +1m: %v", err)
	}
	if _, kept := am.counts(); len(kept) != 1 || kept[0].Labels["flow"] != "waf" || !kept[0].EndsAt.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("at +1m Alertmanager keeps %+v; want the firing alert, ending at +5m", kept)
	}

	// A refused resolve is given up: Alertmanager ends the alert itself at
	// its endsAt.
	am.mu.Lock()
	blocked = true
	am.mu.Unlock()
	n.Handle([]state.Event{closeAt(w, t0.Add(90*time.Second))})
	clk.Set(t0.Add(2 * time.Minute))
	n.Tick(ctx) //nolint:errcheck
	posts, _ = am.counts()
	for _, at := range []time.Duration{3 * time.Minute, 10 * time.Minute} {
		clk.Set(t0.Add(at))
		n.Tick(ctx) //nolint:errcheck
	}
	if p, _ := am.counts(); p != posts {
		t.Errorf("a refused resolve was sent again: %d posts", p-posts)
	}
}

// TestRefusalAmongManyAlertsFewPosts: one alert refused among 1,000 open
// ones costs a few posts to find (the batch is halved, and only a refused
// half halved again), and a resend round then two (the batch of the others
// and the refused one tried alone). Before, the refused batch was sent
// again one alert at a time: 1,001 posts in a round, in which the URL was
// busy and took no new alert.
func TestRefusalAmongManyAlertsFewPosts(t *testing.T) {
	am := newValidatingAM(t)
	am.block = func(a Alert) bool { return a.Labels["flow"] == "f-0500" }
	clk := clock.NewManual(t0)
	n := newTestNotifier(t, clk, "", am.srv.URL)
	ctx := context.Background()
	var evs []state.Event
	for i := range 1000 {
		w := flowWindow(state.KindDown, "", t0.Add(-time.Minute))
		w.Key.Flow = fmt.Sprintf("f-%04d", i)
		evs = append(evs, open(w))
	}
	n.Handle(evs)
	if err := n.Tick(ctx); err == nil {
		t.Fatal("no refusal")
	}
	posts, kept := am.counts()
	if posts > 21 { // 1 + 2*ceil(log2 1000)
		t.Errorf("%d posts to find one refused alert among 1,000, want at most 21", posts)
	}
	accepted := map[string]bool{}
	for _, a := range kept {
		accepted[a.Labels["flow"]] = true
	}
	if len(accepted) != 999 || accepted["f-0500"] {
		t.Errorf("Alertmanager took %d alerts (f-0500 among them: %v), want the 999 others", len(accepted), accepted["f-0500"])
	}
	clk.Set(t0.Add(time.Minute))
	n.Tick(ctx) //nolint:errcheck
	if p, _ := am.counts(); p-posts > 2 {
		t.Errorf("resend round: %d posts, want at most 2", p-posts)
	}
}

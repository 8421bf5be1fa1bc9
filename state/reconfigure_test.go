package state

import (
	"slices"
	"testing"
	"time"
)

// Reconfigure (a config reload) keeps the streaks, verdicts and open windows
// of the flow and of the functions that stay; a new function starts unknown.
func TestReconfigureKeepsStreaks(t *testing.T) {
	p := Policy{Interval: time.Minute, DownAfter: 3, UpAfter: 1}
	mc := New("messaging", "chat", "seoul-a", []string{"login", "send", "receive"}, p)
	mc.Observe(mkRun(m(0), "ok"))
	mc.Observe(mkRun(m(1), "fail:send"))
	mc.Observe(mkRun(m(2), "fail:send"))

	p.UpAfter = 2
	mc.Reconfigure([]string{"login", "send", "receive", "media"}, p, time.Time{})
	if mc.State() != Up || mc.FunctionState("send") != Up || mc.FunctionState("media") != Unknown {
		t.Fatalf("after Reconfigure: flow %s, send %s, media %s; want up, up, unknown", mc.State(), mc.FunctionState("send"), mc.FunctionState("media"))
	}
	evs := mc.Observe(mkRun(m(3), "fail:send"))
	opened := map[string]Window{}
	for _, e := range evs {
		if e.Op == OpOpen && e.Window.Kind == KindDown {
			opened[e.Window.Function] = e.Window
		}
	}
	if w, ok := opened[""]; !ok || !w.Start.Equal(m(1)) {
		t.Errorf("third failure in a row: flow window %+v (opened %v), want one from %s", w, ok, m(1))
	}
	if w, ok := opened["send"]; !ok || !w.Start.Equal(m(1)) {
		t.Errorf("third failure in a row: send window %+v (opened %v), want one from %s", w, ok, m(1))
	}

	// The new policy holds from here: up_after 2.
	mc.Observe(mkRun(m(4), "ok"))
	if mc.State() != Down {
		t.Errorf("one passing run with up_after 2: %s, want still down", mc.State())
	}
	// A function that leaves takes its window with it; the flow's and
	// receive's (blocked behind send) stay.
	mc.Reconfigure([]string{"login", "receive"}, p, time.Time{})
	var fns []string
	for _, w := range mc.OpenWindows() {
		fns = append(fns, w.Function)
	}
	if !slices.Equal(fns, []string{"", "receive"}) {
		t.Errorf("open windows of %q after send left, want the flow's and receive's", fns)
	}
}

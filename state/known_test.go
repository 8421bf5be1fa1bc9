package state

import (
	"testing"
	"time"
)

// TestKnownIsConfirmingRunEnd: a window is known at the end of the run that
// confirmed it (Confirmed stays that run's start), for the flow and each
// function it takes down, down or degraded: with interval 10s and down_after
// 2, failing runs at :10 and :20 that hang to a 9 s timeout confirm at :20
// and are known at :29; a run refused in 3 ms is known 3 ms after its start.
func TestKnownIsConfirmingRunEnd(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		spec string
		kind Kind
		dur  time.Duration
	}{
		{"fail:send", KindDown, 9 * time.Second},
		{"fail:send", KindDown, 3 * time.Millisecond},
		{"slow:send", KindDegraded, 9 * time.Second},
	} {
		m := New("messaging", "chat", "seoul-a", []string{"login", "send", "receive"}, Policy{Interval: 10 * time.Second, DownAfter: 2, UpAfter: 1})
		var opened []Window
		for i, spec := range []string{"ok", tc.spec, tc.spec, "ok"} {
			r := mkRun(t0.Add(time.Duration(i)*10*time.Second), spec)
			r.Duration = tc.dur
			for _, e := range m.Observe(r) {
				if e.Op == OpOpen {
					opened = append(opened, e.Window)
				}
			}
		}
		if len(opened) == 0 {
			t.Fatalf("%s %s: no window opened", tc.spec, tc.dur)
		}
		for _, w := range opened {
			if w.Kind != tc.kind || !w.Confirmed.Equal(t0.Add(20*time.Second)) || !w.Known.Equal(t0.Add(20*time.Second+tc.dur)) || !w.KnownAt().Equal(w.Known) {
				t.Errorf("%s %s: %s window %q confirmed %s known %s, want %s confirmed :20 known %s", tc.spec, tc.dur, w.Kind, w.Function,
					w.Confirmed.Format("04:05.000"), w.Known.Format("04:05.000"), tc.kind, t0.Add(20*time.Second+tc.dur).Format("04:05.000"))
			}
		}
	}
	// Not stored (a window from before schema version 11): its confirmation.
	w := Window{Confirmed: t0}
	if !w.KnownAt().Equal(t0) {
		t.Errorf("KnownAt without Known = %s, want Confirmed", w.KnownAt())
	}
}

package state

import (
	"fmt"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
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

// TestFunctionKnownIsRunEnd: a function's window is known when the run that
// confirmed it ended, as the flow's is, though its later bounds follow its
// own steps (TestFunctionBoundsFollowItsSteps): MTTD counts to when slaprobe
// knew, when the daemon drops slaprobe_flow_up and pushes the alert, and the
// daemon observes a run only when it ends (README, MTTD). maps-route's route
// degraded (3 s over its objective) while its tile step then waits out a
// 10 s timeout, and route failing in 2 ms before a teardown step that hangs
// 10 s: route's window begins +3.003s / +5ms later at most, but was known
// 13.003 s / 10.005 s after its confirming run's start, not 3.003 s / 5 ms.
func TestFunctionKnownIsRunEnd(t *testing.T) {
	ms := time.Millisecond
	// run is maps-route at minute m: login 1 ms, search 2 ms, route and
	// tile (status, duration), logout (a teardown step: duration, run
	// whatever came before; none when 0).
	run := func(m float64, route probe.Status, routeDur time.Duration, tile probe.Status, tileDur, logoutDur time.Duration) *probe.Run {
		steps := []probe.StepResult{
			{Step: "login", Function: "login", Status: probe.StatusOK, Duration: 1 * ms},
			{Step: "search", Function: "search", Status: probe.StatusOK, Duration: 2 * ms},
			{Step: "route", Function: "route", Status: route, Duration: routeDur},
			{Step: "tile", Function: "tile", Status: tile, Duration: tileDur},
		}
		if logoutDur > 0 {
			steps = append(steps, probe.StepResult{Step: "logout", Function: "logout", Status: probe.StatusOK, Duration: logoutDur})
		}
		switch route {
		case probe.StatusFailed:
			steps[2].Error = "route: status 503, want 200"
		case probe.StatusDegraded:
			steps[2].Error = "route: latency 3.003s over objective 2s"
		}
		if tile == probe.StatusFailed {
			steps[3].Error = "tile: timeout after 10s waiting for response headers from 127.0.0.1:8080"
		}
		var d time.Duration
		for i := range steps {
			d += steps[i].Duration
			if steps[i].Status != probe.StatusNotRun {
				steps[i].Ended = d
			}
		}
		return &probe.Run{ID: fmt.Sprint(m), Flow: "maps-route", Service: "maps", Location: "seoul-a", Start: at(m), Duration: d, Steps: steps}
	}
	ok, failed, degr, notRun := probe.StatusOK, probe.StatusFailed, probe.StatusDegraded, probe.StatusNotRun
	for _, tc := range []struct {
		name       string
		runs       []*probe.Run
		kind       Kind
		firstLater time.Duration // route's window's start's later bound: its own step's end
		known      time.Duration // after its confirming run's start (minute 2): that run's end
	}{
		{"route degraded while tile times out", []*probe.Run{
			run(0, ok, 2*ms, ok, 2*ms, 0),
			run(1, degr, 3000*ms, failed, 10*time.Second, 0),
			run(2, degr, 3000*ms, failed, 10*time.Second, 0),
			run(3, ok, 2*ms, ok, 2*ms, 0),
		}, KindDegraded, 3003 * ms, 13003 * ms},
		{"route failed, then a teardown hangs", []*probe.Run{
			run(0, ok, 2*ms, ok, 2*ms, 1*ms),
			run(1, failed, 2*ms, notRun, 0, 10*time.Second),
			run(2, failed, 2*ms, notRun, 0, 10*time.Second),
			run(3, ok, 2*ms, ok, 2*ms, 1*ms),
		}, KindDown, 5 * ms, 10005 * ms},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mc := New("maps", "maps-route", "seoul-a", []string{"login", "search", "route", "tile", "logout"}, Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1})
			var w *Window
			for _, r := range tc.runs {
				for _, e := range mc.Observe(r) {
					if e.Op == OpOpen && e.Window.Function == "route" && e.Window.Kind == tc.kind {
						w = &e.Window
					}
				}
			}
			if w == nil {
				t.Fatalf("no %s window of route", tc.kind)
			}
			if got, ok := w.StartLater(); !ok || got != tc.firstLater {
				t.Errorf("route's start later bound %v (known %v), want %v: its own step's end", got, ok, tc.firstLater)
			}
			if !w.Confirmed.Equal(at(2)) {
				t.Errorf("route confirmed %s, want minute 2's run", w.Confirmed)
			}
			if got := w.KnownAt().Sub(w.Confirmed); got != tc.known {
				t.Errorf("route known %v after its confirmation, want %v: the confirming run's end", got, tc.known)
			}
		})
	}
}

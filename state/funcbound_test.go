package state

import (
	"fmt"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// TestFunctionBoundsFollowItsSteps: a function's evidence arrives when its
// own last step ends, not when the run ends: in make demo's 2022-10-15 fire,
// maps-route's route window ends +10s later bound because the run that
// ended it then waited out its tile step's 10 s timeout, though route
// passed in milliseconds. The start side the same: route degraded (3 s over
// its objective) in runs whose tile then timed out is known degraded at
// 3.003 s, not at the run's end. The flow's own bounds are the run's.
//
// StepResult.Duration is not a step's own span (a poll with since counts
// from its since step's start, an await its message's latency), so the
// machine takes each step's end from StepResult.Ended, which the runner sets
// from its own clock. The runs below are built with no gaps between steps:
// each Ended is the sum of the durations so far (a not-run step's 0).
// Without fnEnded the route window's end is +10.005s (want +5ms), the
// degraded one's bounds +13.003s / +7ms (want +3.003s / +5ms), while the
// flow's rows pass.
func TestFunctionBoundsFollowItsSteps(t *testing.T) {
	ms := time.Millisecond
	// run is maps-route at minute m: login 1 ms, search 2 ms, route (its
	// status and duration), tile (its status and duration; not run after
	// a failed route).
	run := func(m float64, route probe.Status, routeDur time.Duration, tile probe.Status, tileDur time.Duration) *probe.Run {
		steps := []probe.StepResult{
			{Step: "login", Function: "login", Status: probe.StatusOK, Duration: 1 * ms},
			{Step: "search", Function: "search", Status: probe.StatusOK, Duration: 2 * ms},
			{Step: "route", Function: "route", Status: route, Duration: routeDur},
			{Step: "tile", Function: "tile", Status: tile, Duration: tileDur},
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
				steps[i].Ended = d // no gaps: each step's end is the sum so far
			}
		}
		return &probe.Run{ID: fmt.Sprint(m), Flow: "maps-route", Service: "maps", Location: "seoul-a", Start: at(m), Duration: d, Steps: steps}
	}
	ok, failed, degr, notRun := probe.StatusOK, probe.StatusFailed, probe.StatusDegraded, probe.StatusNotRun
	for _, tc := range []struct {
		name     string
		runs     []*probe.Run
		fn       string // the function's window (closed)
		kind     Kind
		later    string // its start's later bound / its end's
		flowLate string // the flow's window's, the run's: unchanged
	}{
		{"route back while tile times out", []*probe.Run{
			run(0, ok, 2*ms, ok, 2*ms),
			run(1, failed, 2*ms, notRun, 0),
			run(2, failed, 2*ms, notRun, 0),
			run(3, ok, 2*ms, failed, 10*time.Second),
			run(4, ok, 2*ms, failed, 10*time.Second),
			run(5, ok, 2*ms, ok, 2*ms),
		}, "route", KindDown, "5ms / 5ms", "5ms / 7ms"},
		{"route degraded while tile times out", []*probe.Run{
			run(0, ok, 2*ms, ok, 2*ms),
			run(1, degr, 3003*ms-3*ms, failed, 10*time.Second),
			run(2, degr, 3003*ms-3*ms, failed, 10*time.Second),
			run(3, ok, 2*ms, ok, 2*ms),
		}, "route", KindDegraded, "3.003s / 5ms", "13.003s / 7ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mc := New("maps", "maps-route", "seoul-a", []string{"login", "search", "route", "tile"}, Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1})
			var fw, flw *Window
			for _, r := range tc.runs {
				for _, e := range mc.Observe(r) {
					if e.Op != OpClose {
						continue
					}
					w := e.Window
					switch {
					case w.Function == tc.fn && w.Kind == tc.kind:
						fw = &w
					case w.Function == "" && w.Kind == KindDown:
						flw = &w
					}
				}
			}
			bounds := func(w *Window) string {
				if w == nil {
					return "no window"
				}
				s, sok := w.StartLater()
				e, eok := w.EndLater()
				return fmt.Sprintf("%v / %v", map[bool]any{true: s, false: "?"}[sok], map[bool]any{true: e, false: "?"}[eok])
			}
			if got := bounds(fw); got != tc.later {
				t.Errorf("%s %s window's later bounds %s, want %s", tc.fn, tc.kind, got, tc.later)
			}
			if got := bounds(flw); got != tc.flowLate {
				t.Errorf("flow's down window's later bounds %s, want %s", got, tc.flowLate)
			}
		})
	}
}

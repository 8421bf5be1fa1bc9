package report

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

// A slow incident with a down one inside it on the same function (a
// latency degradation with a ten-minute outage in its middle) is
// reconciled each with its own windows: the down window measures the down
// incident, the degraded ones the slow one, every delta 0. What config's
// overlap warning says of two such incidents ("each one's start or end
// delta counts the other's time") does not hold for them.
func TestSlowAroundDownReconciled(t *testing.T) {
	m := time.Minute
	recv := []string{"receive"}
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			cfg := testConfig("UTC", m)
			s := st.open(t)
			load(t, s, cfg, schedule("seoul-a", hm(10, 0), hm(12, 0), m, func(off time.Duration) string {
				switch t := hm(10, 0).Add(off); {
				case t.Before(hm(10, 20)):
					return "slow:receive"
				case t.Before(hm(10, 30)):
					return "fail:receive"
				case t.Before(hm(11, 0)):
					return "slow:receive"
				}
				return "ok"
			}))
			tls := timeline(
				incident("slow", "slow", recv, hm(10, 0), hm(11, 0)),
				incident("down", "error", recv, hm(10, 20), hm(10, 30)),
			)
			rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: hm(10, 0), To: hm(12, 0), Timelines: tls})
			if err != nil {
				t.Fatal(err)
			}
			checkWants(t, rep, []want{
				{"services.0.reconciliation.0.id", "slow"},
				{"services.0.reconciliation.0.start_delta_seconds", 0},
				{"services.0.reconciliation.0.end_delta_seconds", 0},
				{"services.0.reconciliation.1.id", "down"},
				{"services.0.reconciliation.1.start_delta_seconds", 0},
				{"services.0.reconciliation.1.end_delta_seconds", 0},
				{"services.0.undeclared#", 0},
			})
		})
	}
}

// Edge cases of a counted window's later start bound (surelyDown), by
// TestCountedLaterStartBoundJoiners' harness (stored and recomputed alike):
// two locations whose windows both begin the counted one take the
// need-th's run (+15s); a counted window still open at the period's end
// that begins where the second location joins (daegu-c at 10:50:03) waits
// for busan-b's 15 s run from 10:50:00 (+12s); where no location knows its
// first run's end (windows stored before FirstInEnd), not known.
func TestCountedLaterStartBoundEdges(t *testing.T) {
	sec := time.Second
	for _, tc := range []struct {
		name   string
		quorum config.Quorum
		runs   [][]probe.Run
		forget func(*state.Window)
		want   []string
	}{
		{"majority, both at the start: the need-th", config.Quorum{Mode: "majority"}, [][]probe.Run{
			phasedRuns("seoul-a", 0, [2]int{0, 0}, nil),
			phasedRuns("busan-b", 0, [2]int{11, 20}, map[int]time.Duration{11: 15 * sec}),
			phasedRuns("daegu-c", 0, [2]int{11, 20}, nil),
		}, nil, []string{"10:11 -1m0s +15s / 10:20 -1m0s +300ms"}},
		{"majority, still open", config.Quorum{Mode: "majority"}, [][]probe.Run{
			phasedRuns("seoul-a", 0, [2]int{0, 0}, nil),
			phasedRuns("busan-b", 0, [2]int{50, 60}, map[int]time.Duration{50: 15 * sec}),
			phasedRuns("daegu-c", 3*sec, [2]int{50, 60}, nil),
		}, nil, []string{"10:50 -1m0s +12s / open -? +?"}},
		{"majority, no first run's end known", config.Quorum{Mode: "majority"}, [][]probe.Run{
			phasedRuns("seoul-a", 0, [2]int{5, 30}, nil),
			phasedRuns("busan-b", 0, [2]int{11, 20}, map[int]time.Duration{11: 15 * sec}),
			phasedRuns("daegu-c", 3*sec, [2]int{11, 20}, nil),
		}, func(w *state.Window) { w.FirstInEnd = time.Time{} }, []string{"10:11 -1m0s +? / 10:20 -1m0s +300ms"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			cfg.Policy.Quorum = tc.quorum
			checkFlowBounds(t, cfg, tc.runs, tc.forget, tc.want)
		})
	}
}

package report

import (
	"fmt"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// TestCountedQuorumBy: a counted window names the locations whose own
// windows began at its start (QuorumBy, not in the JSON): their runs made
// it count, and the alerts elect the first of them to page it when no
// verdict saw it open. Majority of 3: busan-b down from 10:10, seoul-a
// from 10:11 (it reaches the quorum), daegu-c from 10:12 (joins later):
// seoul-a; seoul-a and busan-b down from 10:11 at once: both; quorum 1:
// the first down. Where several began at once, those whose confirmations
// made the quorum known (the need-th earliest of the locations down at the
// start to know: their probers' kicked rebuilds could see it open): with
// busan-b's confirming run 5 s and seoul-a's 300 ms, busan-b, where both
// were named (and the alerts elected busan-b, the first, either way). Stored
// and recomputed alike, in both stores.
func TestCountedQuorumBy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		quorum config.Quorum
		busan  int // busan-b's first failing minute
		daegu  int // daegu-c's (12 where zero)
		// confirm are the durations of the 10:12 runs (300 ms otherwise),
		// which confirm the windows begun at 10:11.
		confirm map[string]time.Duration
		want    string
		from    time.Duration // the range's start past the hour (zero: the hour)
	}{
		{"majority, seoul-a second", config.Quorum{Mode: "majority"}, 10, 0, nil, "[seoul-a]", 0},
		{"majority, at once", config.Quorum{Mode: "majority"}, 11, 0, nil, "[busan-b seoul-a]", 0},
		{"quorum 1, busan-b first", config.Quorum{Mode: "count", N: 1}, 10, 0, nil, "[busan-b]", 0},
		// Several began at once: those whose confirmations made the
		// quorum known (the need-th earliest known), not the first
		// alphabetically.
		{"majority, two at once, busan-b known last", config.Quorum{Mode: "majority"}, 11, 0, map[string]time.Duration{"busan-b": 5 * time.Second}, "[busan-b]", 0},
		{"majority, two at once, seoul-a known last", config.Quorum{Mode: "majority"}, 11, 0, map[string]time.Duration{"seoul-a": 5 * time.Second}, "[seoul-a]", 0},
		{"majority, three at once, daegu-c known second", config.Quorum{Mode: "majority"}, 11, 11, map[string]time.Duration{"busan-b": 5 * time.Second, "daegu-c": 2 * time.Second}, "[daegu-c]", 0},
		{"all, three at once, busan-b known last", config.Quorum{Mode: "all"}, 11, 11, map[string]time.Duration{"busan-b": 5 * time.Second, "daegu-c": 2 * time.Second}, "[busan-b]", 0},
		{"quorum 1, three at once, seoul-a known first", config.Quorum{Mode: "count", N: 1}, 11, 11, map[string]time.Duration{"busan-b": 5 * time.Second, "daegu-c": 2 * time.Second}, "[seoul-a]", 0},
		// At the range's start (10:11:30), which cuts both windows: the
		// same, by their confirmations (not clipped to the range).
		{"majority, cut by the range, busan-b known last", config.Quorum{Mode: "majority"}, 11, 0, map[string]time.Duration{"busan-b": 5 * time.Second}, "[busan-b]", 11*time.Minute + 30*time.Second},
		{"majority, cut by the range, seoul-a known last", config.Quorum{Mode: "majority"}, 11, 0, map[string]time.Duration{"seoul-a": 5 * time.Second}, "[seoul-a]", 11*time.Minute + 30*time.Second},
		{"majority, three cut by the range, daegu-c known second", config.Quorum{Mode: "majority"}, 11, 11, map[string]time.Duration{"busan-b": 5 * time.Second, "daegu-c": 2 * time.Second}, "[daegu-c]", 11*time.Minute + 30*time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			cfg.Policy.Quorum = tc.quorum
			daegu := tc.daegu
			if daegu == 0 {
				daegu = 12
			}
			dur := func(loc string) map[int]time.Duration {
				if d, ok := tc.confirm[loc]; ok {
					return map[int]time.Duration{12: d}
				}
				return nil
			}
			runs := [][]probe.Run{
				phasedRuns("busan-b", 0, [2]int{tc.busan, 20}, dur("busan-b")),
				phasedRuns("seoul-a", 0, [2]int{11, 20}, dur("seoul-a")),
				phasedRuns("daegu-c", 0, [2]int{daegu, 20}, dur("daegu-c")),
			}
			windowsStoredAndRecomputed(t, cfg, runs, hourStart.Add(tc.from), func(t *testing.T, recompute bool, ws []Window) {
				var got []string
				for _, w := range ws {
					if w.Function == nil {
						got = append(got, fmt.Sprint(w.QuorumBy))
						if sw := w.State(); fmt.Sprint(sw.QuorumBy) == "" {
							t.Errorf("State() dropped QuorumBy %v", w.QuorumBy)
						}
					}
				}
				if fmt.Sprint(got) != "["+tc.want+"]" {
					t.Errorf("recompute %v: counted windows' QuorumBy %v, want [%s]", recompute, got, tc.want)
				}
			})
		})
	}
}

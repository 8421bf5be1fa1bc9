package report

import (
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// TestCountedEarlierBoundByQuorum: the earlier bound of a counted window's
// start (the need-th earliest instant at which a location may have been
// down, 7045071) takes the policy's need: quorum 1 counts seoul-a's window
// alone from 10:05, after its pass at 10:04 (-1m), busan-b's at 10:11 does
// not widen it; all (3 of 3) counts from daegu-c's 10:20, after its pass at
// 10:19 (-1m, not seoul-a's or busan-b's earlier passes); quorum 1 with
// seoul-a's first run finding it down knows no bound (start_cut no_data);
// a majority with seoul-a never recovering counts busan-b's two windows,
// each after busan-b's own pass (seoul-a, down since 10:05, is one of two);
// daegu-c down from 10:15 to 10:20 (joining and leaving after a pass at
// 10:14) leaves the bound busan-b's; and with seoul-a back at 10:20 the
// window goes on with busan-b and daegu-c. Stored and recomputed alike
// (--recompute).
func TestCountedEarlierBoundByQuorum(t *testing.T) {
	for _, tc := range []struct {
		name   string
		quorum config.Quorum
		runs   [][]probe.Run
		want   []string
	}{
		{"quorum 1", config.Quorum{Mode: "count", N: 1}, [][]probe.Run{
			laterRuns("seoul-a", [2]int{5, 30}, nil),
			laterRuns("busan-b", [2]int{11, 40}, nil),
			laterRuns("daegu-c", [2]int{0, 0}, nil),
		}, []string{"10:05 -1m0s +300ms / 10:40 -1m0s +300ms"}},
		{"quorum 1, a first run found it down", config.Quorum{Mode: "count", N: 1}, [][]probe.Run{
			schedule("seoul-a", hourStart.Add(5*time.Minute), hourStart.Add(time.Hour), time.Minute, failing("fail:send", [2]int{0, 25})),
			laterRuns("busan-b", [2]int{11, 40}, nil),
			laterRuns("daegu-c", [2]int{0, 0}, nil),
		}, []string{"10:05 -? +300ms / 10:40 -1m0s +300ms"}}, // no run before: not how much earlier; the first run still bounds how much later
		{"all", config.Quorum{Mode: "all"}, [][]probe.Run{
			laterRuns("seoul-a", [2]int{5, 30}, nil),
			laterRuns("busan-b", [2]int{11, 40}, nil),
			laterRuns("daegu-c", [2]int{20, 25}, nil),
		}, []string{"10:20 -1m0s +300ms / 10:25 -1m0s +300ms"}},
		{"one never recovers", config.Quorum{Mode: "majority"}, [][]probe.Run{
			laterRuns("seoul-a", [2]int{5, 60}, nil),
			schedule("busan-b", hourStart, hourStart.Add(time.Hour), time.Minute, failing("fail:send", [2]int{11, 30}, [2]int{40, 50})),
			laterRuns("daegu-c", [2]int{0, 0}, nil),
		}, []string{"10:11 -1m0s +300ms / 10:30 -1m0s +300ms", "10:40 -1m0s +300ms / 10:50 -1m0s +300ms"}},
		{"one joins and leaves", config.Quorum{Mode: "majority"}, [][]probe.Run{
			laterRuns("seoul-a", [2]int{5, 30}, nil),
			laterRuns("busan-b", [2]int{11, 30}, nil),
			laterRuns("daegu-c", [2]int{15, 20}, nil),
		}, []string{"10:11 -1m0s +300ms / 10:30 -1m0s +300ms"}},
		{"the first to go down leaves first", config.Quorum{Mode: "majority"}, [][]probe.Run{
			laterRuns("seoul-a", [2]int{5, 20}, nil),
			laterRuns("busan-b", [2]int{11, 30}, nil),
			laterRuns("daegu-c", [2]int{15, 25}, nil),
		}, []string{"10:11 -1m0s +300ms / 10:25 -1m0s +300ms"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			cfg.Policy.Quorum = tc.quorum
			checkFlowBounds(t, cfg, tc.runs, nil, tc.want)
		})
	}
}

package report

import (
	"slices"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

// TestCountedLaterStartBoundNeedth: a counted window began once the quorum
// really was down, so no later than the need-th earliest of the instants by
// which each location down at its start really was (the end of its first
// failing run, FirstInEnd), not the latest of them: quorum 2 of 3, all
// three down from 10:10 with first runs of 15 s, 2 s and 300 ms, two were
// down by 10:10:02 (+2s, where the latest said +15s). A location down since
// before the start counts with its own (seoul-a's 10:05:00.3). One whose
// bound is not known (a window stored before schema version 12 whose run
// was pruned: mem store only) may have gone down at any instant up to its
// run's end: the bound is not known only when it is the need-th, as the
// earlier bound's is (TestCountedEarlierBoundAcrossLocations). Where only
// need are down at the start it is the latest, as before. The end's is the
// m-th latest (TestCountedEndBoundsNeedth): with two of three to come back,
// busan-b's and daegu-c's 300 ms whatever seoul-a's was.
func TestCountedLaterStartBoundNeedth(t *testing.T) {
	sec := time.Second
	for _, tc := range []struct {
		name      string
		runs      [][]probe.Run
		notStored []string // locations whose stored windows have no later bounds (mem store only)
		want      []string
	}{
		{"three down at the start", [][]probe.Run{
			laterRuns("seoul-a", [2]int{10, 20}, map[int]time.Duration{10: 15 * sec}),
			laterRuns("busan-b", [2]int{10, 20}, map[int]time.Duration{10: 2 * sec}),
			laterRuns("daegu-c", [2]int{10, 20}, nil),
		}, nil, []string{"10:10 -1m0s +2s / 10:20 -1m0s +300ms"}},
		{"one down since before, two begin it", [][]probe.Run{
			laterRuns("seoul-a", [2]int{5, 20}, nil),
			laterRuns("busan-b", [2]int{11, 20}, map[int]time.Duration{11: 15 * sec}),
			laterRuns("daegu-c", [2]int{11, 20}, map[int]time.Duration{11: 2 * sec}),
		}, nil, []string{"10:11 -1m0s +2s / 10:20 -1m0s +300ms"}},
		{"only the quorum down at the start: the latest", [][]probe.Run{
			laterRuns("seoul-a", [2]int{10, 20}, map[int]time.Duration{10: 15 * sec}),
			laterRuns("busan-b", [2]int{10, 20}, map[int]time.Duration{10: 2 * sec}),
			laterRuns("daegu-c", [2]int{0, 0}, nil),
		}, nil, []string{"10:10 -1m0s +15s / 10:20 -1m0s +300ms"}},
		{"one not known, not the need-th", [][]probe.Run{
			laterRuns("seoul-a", [2]int{10, 20}, map[int]time.Duration{10: 15 * sec}),
			laterRuns("busan-b", [2]int{10, 20}, map[int]time.Duration{10: 2 * sec}),
			laterRuns("daegu-c", [2]int{10, 20}, nil),
		}, []string{"seoul-a"}, []string{"10:10 -1m0s +2s / 10:20 -1m0s +300ms"}},
		{"two not known, the need-th among them", [][]probe.Run{
			laterRuns("seoul-a", [2]int{10, 20}, map[int]time.Duration{10: 15 * sec}),
			laterRuns("busan-b", [2]int{10, 20}, map[int]time.Duration{10: 2 * sec}),
			laterRuns("daegu-c", [2]int{10, 20}, nil),
		}, []string{"seoul-a", "busan-b"}, []string{"10:10 -1m0s +? / 10:20 -1m0s +?"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var forget func(*state.Window)
			if tc.notStored != nil {
				forget = func(w *state.Window) {
					if slices.Contains(tc.notStored, w.Location) {
						w.FirstInEnd, w.FirstAfterEnd = time.Time{}, time.Time{}
					}
				}
			}
			checkFlowBounds(t, testConfig("UTC", time.Minute), tc.runs, forget, tc.want)
		})
	}
}

package report

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
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
// need are down at the start it is the latest, as before.
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
		}, []string{"seoul-a"}, []string{"10:10 -1m0s +2s / 10:20 -1m0s +?"}},
		{"two not known, the need-th among them", [][]probe.Run{
			laterRuns("seoul-a", [2]int{10, 20}, map[int]time.Duration{10: 15 * sec}),
			laterRuns("busan-b", [2]int{10, 20}, map[int]time.Duration{10: 2 * sec}),
			laterRuns("daegu-c", [2]int{10, 20}, nil),
		}, []string{"seoul-a", "busan-b"}, []string{"10:10 -1m0s +? / 10:20 -1m0s +?"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, st := range stores() {
				if tc.notStored != nil && st.name != "mem" {
					continue
				}
				t.Run(st.name, func(t *testing.T) {
					ctx := context.Background()
					cfg := testConfig("UTC", time.Minute)
					s := st.open(t)
					for _, runs := range tc.runs {
						load(t, s, cfg, runs)
					}
					if tc.notStored != nil {
						ms := s.(*memStore)
						for i := range ms.events {
							if w := &ms.events[i].Window; slices.Contains(tc.notStored, w.Location) {
								w.FirstInEnd, w.FirstAfterEnd = time.Time{}, time.Time{}
							}
						}
					}
					in := Input{Config: cfg, Store: s, From: hourStart, To: hourStart.Add(time.Hour), Now: hourStart.Add(time.Hour)}
					stored, got := flowLaterBounds(ctx, t, in)
					if fmt.Sprint(got) != fmt.Sprint(tc.want) {
						t.Errorf("windows %q, want %q", got, tc.want)
					}
					if tc.notStored != nil {
						return
					}
					in.Recompute = true
					rec, err := Windows(ctx, in)
					if err != nil {
						t.Fatal(err)
					}
					if a, b := jsonOf(t, stored), jsonOf(t, rec); a != b {
						t.Errorf("windows differ:\nstored     %s\nrecomputed %s", a, b)
					}
				})
			}
		})
	}
}

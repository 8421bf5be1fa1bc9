package report

import (
	"slices"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

// TestCountedEndBoundsNeedth: a counted window ends when fewer than need
// locations are down, so of the locations that come back at its end (or
// before it), as many must really have come back as there are down beyond
// need; the count may have fallen below the quorum from just after the m-th
// latest of their last failing runs, and it surely had by the m-th latest of
// the ends of the runs that ended their windows, m being need less the
// locations still down after the end (the mirror of the start's need-th
// earliest). Not the widest: with a majority of 3 and two back at 10:20, one
// sufficed, so busan-b's 40 ms run bounds it, not seoul-a's 14 s hang; with
// quorum 1 all three had to, so the last failing run is the latest one (busan-b
// skipping its 10:19 run does not widen it to -2m); all of 3 with two back
// at once, one sufficed (+40ms, and -2m, the earlier of theirs). A location
// that left before the end still counts where its runs reach past the
// others': seoul-a (runs at :30) back at 10:19:30 with a 45 s run may have
// been down to 10:20:15 beside daegu-c (+15s), and its failing run at
// 10:18:30 (-1m30s) is later than busan-b's at 10:18. Where as many come
// back as must, all had to: both bounds are the latest of theirs (-1m, not
// busan-b's -2m); one coming back alone has its own. A later bound not known
// (a window stored before schema version 12 whose run was pruned: mem store
// only) may be any instant: seoul-a's, left before, makes the end's not known
// where it is the m-th (m 1), not where it is not (majority of 4, two to come
// back: busan-b's 14 s). Stored and recomputed alike, in both stores.
func TestCountedEndBoundsNeedth(t *testing.T) {
	sec, ms := time.Second, time.Millisecond
	// runs is loc every minute from phase past the hour, failing in the
	// minutes [down[0], down[1]), taking durs[minute] where given, with no
	// run in the minutes skip.
	runs := func(loc string, phase time.Duration, down [2]int, durs map[int]time.Duration, skip ...int) []probe.Run {
		var out []probe.Run
		for _, r := range schedule(loc, hourStart.Add(phase), hourStart.Add(time.Hour), time.Minute, failing("fail:send", down)) {
			m := int(r.Start.Sub(hourStart) / time.Minute)
			if d, ok := durs[m]; ok {
				r.Duration = d
			}
			skipped := false
			for _, s := range skip {
				skipped = skipped || s == m
			}
			if !skipped {
				out = append(out, r)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		quorum    config.Quorum
		runs      [][]probe.Run
		notStored []string // locations whose stored windows have no later bounds (mem store only)
		want      []string
	}{
		{"majority, two back at once: one sufficed", config.Quorum{Mode: "majority"}, [][]probe.Run{
			runs("seoul-a", 0, [2]int{10, 20}, map[int]time.Duration{20: 14 * sec}),
			runs("busan-b", 0, [2]int{10, 20}, map[int]time.Duration{20: 40 * ms}, 19),
			runs("daegu-c", 0, [2]int{0, 0}, nil),
		}, nil, []string{"10:10 -1m0s +300ms / 10:20 -2m0s +40ms"}},
		{"quorum 1, all back at once: all had to", config.Quorum{Mode: "count", N: 1}, [][]probe.Run{
			runs("seoul-a", 0, [2]int{10, 20}, map[int]time.Duration{20: 14 * sec}),
			runs("busan-b", 0, [2]int{10, 20}, map[int]time.Duration{20: 40 * ms}, 19),
			runs("daegu-c", 0, [2]int{10, 20}, nil),
		}, nil, []string{"10:10 -1m0s +300ms / 10:20 -1m0s +14s"}},
		{"all, two back at once: one sufficed", config.Quorum{Mode: "all"}, [][]probe.Run{
			runs("seoul-a", 0, [2]int{10, 20}, map[int]time.Duration{20: 14 * sec}),
			runs("busan-b", 0, [2]int{10, 20}, map[int]time.Duration{20: 40 * ms}, 19),
			runs("daegu-c", 0, [2]int{10, 30}, nil),
		}, nil, []string{"10:10 -1m0s +300ms / 10:20 -2m0s +40ms"}},
		{"majority, one left before, its run in flight at the end", config.Quorum{Mode: "majority"}, [][]probe.Run{
			runs("seoul-a", 30*sec, [2]int{10, 19}, map[int]time.Duration{19: 45 * sec}),
			runs("busan-b", 0, [2]int{10, 20}, nil),
			runs("daegu-c", 0, [2]int{10, 30}, nil),
		}, nil, []string{"10:10 -1m0s +300ms / 10:20 -1m0s +15s"}},
		{"majority, one left before, its last failing run later", config.Quorum{Mode: "majority"}, [][]probe.Run{
			runs("seoul-a", 30*sec, [2]int{10, 19}, nil),
			runs("busan-b", 0, [2]int{10, 20}, nil, 19),
			runs("daegu-c", 0, [2]int{10, 30}, nil),
		}, nil, []string{"10:10 -1m0s +300ms / 10:20 -1m30s +300ms"}},
		{"majority, two back of three down: both had to", config.Quorum{Mode: "majority"}, [][]probe.Run{
			runs("seoul-a", 0, [2]int{10, 20}, map[int]time.Duration{20: 14 * sec}),
			runs("busan-b", 0, [2]int{10, 20}, map[int]time.Duration{20: 40 * ms}, 19),
			runs("daegu-c", 0, [2]int{10, 30}, nil),
		}, nil, []string{"10:10 -1m0s +300ms / 10:20 -1m0s +14s"}},
		{"majority, one back: its own bounds", config.Quorum{Mode: "majority"}, [][]probe.Run{
			runs("seoul-a", 0, [2]int{10, 20}, map[int]time.Duration{20: 14 * sec}),
			runs("busan-b", 0, [2]int{10, 30}, nil, 19),
			runs("daegu-c", 0, [2]int{0, 0}, nil),
		}, nil, []string{"10:10 -1m0s +300ms / 10:20 -1m0s +14s"}},
		{"majority, one left before not knowing its run's end", config.Quorum{Mode: "majority"}, [][]probe.Run{
			runs("seoul-a", 30*sec, [2]int{10, 19}, nil),
			runs("busan-b", 0, [2]int{10, 20}, nil),
			runs("daegu-c", 0, [2]int{10, 30}, nil),
		}, []string{"seoul-a"}, []string{"10:10 -1m0s +300ms / 10:20 -1m0s +?"}},
		{"majority of 4, one left before not knowing its run's end, not the m-th", config.Quorum{Mode: "majority"}, [][]probe.Run{
			runs("seoul-a", 30*sec, [2]int{10, 19}, nil),
			runs("busan-b", 0, [2]int{10, 20}, map[int]time.Duration{20: 14 * sec}),
			runs("daegu-c", 0, [2]int{10, 20}, map[int]time.Duration{20: 40 * ms}),
			runs("jeju-d", 0, [2]int{10, 30}, nil),
		}, []string{"seoul-a"}, []string{"10:10 -1m0s +300ms / 10:20 -1m0s +14s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			cfg.Policy.Quorum = tc.quorum
			var forget func(*state.Window)
			if tc.notStored != nil {
				forget = func(w *state.Window) {
					if slices.Contains(tc.notStored, w.Location) {
						w.FirstInEnd, w.FirstAfterEnd = time.Time{}, time.Time{}
					}
				}
			}
			checkFlowBounds(t, cfg, tc.runs, forget, tc.want)
		})
	}
}

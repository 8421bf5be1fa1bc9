package report

import (
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// phasedRuns is loc every minute from phase past the hour, failing in the
// minutes [down[0], down[1]), taking durs[minute] where given (300 ms
// otherwise).
func phasedRuns(loc string, phase time.Duration, down [2]int, durs map[int]time.Duration) []probe.Run {
	runs := schedule(loc, hourStart.Add(phase), hourStart.Add(time.Hour), time.Minute, failing("fail:send", down))
	for i := range runs {
		if d, ok := durs[int(runs[i].Start.Sub(hourStart)/time.Minute)]; ok {
			runs[i].Duration = d
		}
	}
	return runs
}

// TestCountedLaterStartBoundJoiners: a counted window's start may have been
// later by as much as the first instant at which the quorum surely was down:
// when need locations each had a failing run ended (the first of its window,
// FirstInEnd) and were still in that window. A location whose window joins
// the counted one a few seconds after its start counts as those down at the
// start do: quorum 2 of 3, seoul-a down since 10:05, busan-b's window begins
// the counted one at 10:11:00 with a run that hung 15 s, daegu-c's at
// 10:11:03 with a 2.3 s run: seoul-a and daegu-c were both down by
// 10:11:05.3, so +5.3s, where the need-th of those down at the start alone
// said busan-b's +15s. A joiner whose run ends later does not narrow it
// (+15s), nor does one that is down only after a location down at the start
// has come back (seoul-a back at 10:11:04: at 10:11:05.3 daegu-c alone was
// surely down; at 10:11:15 busan-b and daegu-c: +15s). Those down at the
// start count only while their windows last, too: with seoul-a back at
// 10:11:04 and busan-b's and daegu-c's first runs hung 15 s and 20 s from
// 10:11:00, two were surely down only from 10:11:20 (+20s, where the
// need-th of seoul-a's, busan-b's and daegu-c's said +15s). With quorum 1 the
// first to be surely down bounds it (busan-b's 300 ms run from 10:10:03
// before seoul-a's 15 s one from 10:10: +3.3s); with all, every location is
// down at the start and none can join (+15s, the latest, as before).
// Stored and recomputed alike, in both stores.
func TestCountedLaterStartBoundJoiners(t *testing.T) {
	sec, ms := time.Second, time.Millisecond
	for _, tc := range []struct {
		name   string
		quorum config.Quorum
		runs   [][]probe.Run
		want   []string
	}{
		{"majority, a joiner narrows", config.Quorum{Mode: "majority"}, [][]probe.Run{
			phasedRuns("seoul-a", 0, [2]int{5, 30}, nil),
			phasedRuns("busan-b", 0, [2]int{11, 20}, map[int]time.Duration{11: 15 * sec}),
			phasedRuns("daegu-c", 3*sec, [2]int{11, 20}, map[int]time.Duration{11: 2300 * ms}),
		}, []string{"10:11 -1m0s +5.3s / 10:20 -1m0s +300ms"}},
		{"majority, a joiner whose run ends later does not", config.Quorum{Mode: "majority"}, [][]probe.Run{
			phasedRuns("seoul-a", 0, [2]int{5, 30}, nil),
			phasedRuns("busan-b", 0, [2]int{11, 20}, map[int]time.Duration{11: 15 * sec}),
			phasedRuns("daegu-c", 3*sec, [2]int{11, 20}, map[int]time.Duration{11: 20 * sec}),
		}, []string{"10:11 -1m0s +15s / 10:20 -1m0s +300ms"}},
		{"majority, a joiner down only after one at the start came back does not", config.Quorum{Mode: "majority"}, [][]probe.Run{
			phasedRuns("seoul-a", 4*sec, [2]int{5, 11}, nil),
			phasedRuns("busan-b", 0, [2]int{11, 20}, map[int]time.Duration{11: 15 * sec}),
			phasedRuns("daegu-c", 3*sec, [2]int{11, 20}, map[int]time.Duration{11: 2300 * ms}),
		}, []string{"10:11 -1m0s +15s / 10:20 -1m0s +300ms"}},
		{"majority, one down at the start back before the need-th's run ended", config.Quorum{Mode: "majority"}, [][]probe.Run{
			phasedRuns("seoul-a", 4*sec, [2]int{5, 11}, nil),
			phasedRuns("busan-b", 0, [2]int{11, 20}, map[int]time.Duration{11: 15 * sec}),
			phasedRuns("daegu-c", 0, [2]int{11, 20}, map[int]time.Duration{11: 20 * sec}),
		}, []string{"10:11 -1m0s +20s / 10:20 -1m0s +300ms"}},
		{"quorum 1, a joiner narrows", config.Quorum{Mode: "count", N: 1}, [][]probe.Run{
			phasedRuns("seoul-a", 0, [2]int{10, 20}, map[int]time.Duration{10: 15 * sec}),
			phasedRuns("busan-b", 3*sec, [2]int{10, 20}, nil),
			phasedRuns("daegu-c", 0, [2]int{0, 0}, nil),
		}, []string{"10:10 -1m0s +3.3s / 10:20 -1m0s +300ms"}},
		{"all, none can join: the latest", config.Quorum{Mode: "all"}, [][]probe.Run{
			phasedRuns("seoul-a", 0, [2]int{10, 20}, map[int]time.Duration{10: 15 * sec}),
			phasedRuns("busan-b", 0, [2]int{10, 20}, map[int]time.Duration{10: 2 * sec}),
			phasedRuns("daegu-c", 0, [2]int{10, 20}, nil),
		}, []string{"10:10 -1m0s +15s / 10:20 -1m0s +300ms"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			cfg.Policy.Quorum = tc.quorum
			checkFlowBounds(t, cfg, tc.runs, nil, tc.want)
		})
	}
}

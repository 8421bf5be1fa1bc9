package report

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

// TestCountedEarlierBoundAcrossLocations: a counted window's start may have
// been as early as the earliest instant at which the quorum may really have
// been down: each location from just after its last run before its window
// (which passed), the quorum from the need-th earliest of those instants,
// over the locations down at the counted start and those joining it later
// (quorum 2 of 3). daegu-c, whose window begins after the counted start but
// whose last pass (10:09:50, its 10:10:50 run skipped) was before busan-b's
// (10:10), may have been down with seoul-a from 10:09:50: -1m10s, where
// busan-b's window alone said -1m0s. A location window at the counted start
// that knows no run before it (stored before schema version 6: mem store
// only) may have been down at any instant before, so with seoul-a down since
// after 10:04 the quorum may have been from 10:04 (-7m0s, where daegu-c's
// unknown bound was passed over for busan-b's -1m0s), and with seoul-a's
// not known either, from any instant: not known. A location whose first run
// found it down (no run before it, no data before) is one of those down at
// any instant, and busan-b's and daegu-c's passes at 10:10 still bound the
// quorum's start.
func TestCountedEarlierBoundAcrossLocations(t *testing.T) {
	// daeguC runs every minute at :50 from 09:59:50, failing from 10:11:50
	// to 10:29:50, without its run at 10:10:50.
	daeguC := func() []probe.Run {
		var out []probe.Run
		for _, r := range schedule("daegu-c", hourStart.Add(-10*time.Second), hourStart.Add(time.Hour), time.Minute, failing("fail:send", [2]int{12, 31})) {
			if !r.Start.Equal(hourStart.Add(10*time.Minute + 50*time.Second)) {
				out = append(out, r)
			}
		}
		return out
	}
	// daeguC30 runs every minute at :30, failing from 10:11:30 to 10:29:30,
	// without runs from 10:05:30 to 10:10:30 when gap.
	daeguC30 := func(gap bool) []probe.Run {
		return schedule("daegu-c", hourStart.Add(30*time.Second), hourStart.Add(time.Hour), time.Minute, func(off time.Duration) string {
			switch m := int(off / time.Minute); {
			case gap && m >= 5 && m < 11:
				return ""
			case m >= 11 && m < 30:
				return "fail:send"
			}
			return "ok"
		})
	}
	for _, tc := range []struct {
		name       string
		runs       [][]probe.Run
		noneBefore []string // locations whose stored windows know no run before them (mem store only)
		want       []string
	}{
		{"a location joining later passed last before the start", [][]probe.Run{
			laterRuns("seoul-a", [2]int{5, 30}, nil),
			laterRuns("busan-b", [2]int{11, 30}, nil),
			daeguC(),
		}, nil, []string{"10:11 -1m10s +300ms / 10:30 -1m0s +300ms"}},
		{"one at the start knows no run before it", [][]probe.Run{
			laterRuns("seoul-a", [2]int{5, 30}, nil),
			laterRuns("busan-b", [2]int{11, 30}, nil),
			laterRuns("daegu-c", [2]int{11, 30}, nil),
		}, []string{"daegu-c"}, []string{"10:11 -7m0s +300ms / 10:30 -1m0s +300ms"}},
		{"two of the quorum know no run before them", [][]probe.Run{
			laterRuns("seoul-a", [2]int{5, 30}, nil),
			laterRuns("busan-b", [2]int{11, 30}, nil),
			laterRuns("daegu-c", [2]int{11, 30}, nil),
		}, []string{"seoul-a", "daegu-c"}, []string{"10:11 -? +300ms / 10:30 -1m0s +300ms"}},
		{"one joining later knows no run before it, though it reported", [][]probe.Run{
			laterRuns("seoul-a", [2]int{5, 30}, nil),
			laterRuns("busan-b", [2]int{11, 30}, nil),
			daeguC30(false),
		}, []string{"daegu-c"}, []string{"10:11 -7m0s +300ms / 10:30 -1m0s +300ms"}},
		{"one joining later after a stretch without data", [][]probe.Run{
			laterRuns("seoul-a", [2]int{5, 30}, nil),
			laterRuns("busan-b", [2]int{11, 30}, nil),
			daeguC30(true),
		}, nil, []string{"10:11 -1m0s +300ms / 10:30 -1m0s +300ms"}},
		{"a location's first run found it down", [][]probe.Run{
			schedule("seoul-a", hourStart.Add(5*time.Minute), hourStart.Add(time.Hour), time.Minute, failing("fail:send", [2]int{0, 25})),
			laterRuns("busan-b", [2]int{11, 30}, nil),
			laterRuns("daegu-c", [2]int{11, 30}, nil),
		}, nil, []string{"10:11 -1m0s +300ms / 10:30 -1m0s +300ms"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var forget func(*state.Window)
			if tc.noneBefore != nil {
				forget = func(w *state.Window) {
					if slices.Contains(tc.noneBefore, w.Location) {
						w.LastBefore = time.Time{}
					}
				}
			}
			checkFlowBounds(t, testConfig("UTC", time.Minute), tc.runs, forget, tc.want)
		})
	}
}

// TestCutWindowConfirmed: a window the range's start cuts (start_cut
// "period") keeps the start of its confirming run as confirmed when that run
// began in the range, and reads the range's start when it began before it,
// as its start does, the same stored and recomputed: --recompute replays
// only flowLookback (10 minutes here) before --from, so of seoul-a down
// since 10:10 it would confirm at 10:21 what the stored window confirmed at
// 10:11. This pins the behaviour (see quorum in windows.go); it passed
// before, and fails with the confirmation read unclamped.
func TestCutWindowConfirmed(t *testing.T) {
	for _, tc := range []struct {
		name string
		from time.Time
		runs [][]probe.Run
		want string // the whole flow's window: start, start_cut, confirmed
	}{
		{"confirmed before the range", hourStart.Add(29*time.Minute + 30*time.Second), [][]probe.Run{
			laterRuns("seoul-a", [2]int{10, 40}, nil),
		}, "10:29:30 period 10:29:30"},
		{"confirmed in the range", hourStart.Add(29*time.Minute + 30*time.Second), [][]probe.Run{
			laterRuns("seoul-a", [2]int{29, 40}, nil),
		}, "10:29:30 period 10:30:00"},
		{"a fleet's, confirmed before the range", hourStart.Add(29*time.Minute + 30*time.Second), [][]probe.Run{
			laterRuns("seoul-a", [2]int{10, 40}, nil),
			laterRuns("busan-b", [2]int{12, 40}, nil),
			laterRuns("daegu-c", [2]int{0, 0}, nil),
		}, "10:29:30 period 10:29:30"},
		{"a fleet's, the quorum confirmed in the range", hourStart.Add(29*time.Minute + 30*time.Second), [][]probe.Run{
			laterRuns("seoul-a", [2]int{10, 40}, nil),
			laterRuns("busan-b", [2]int{29, 40}, nil),
			laterRuns("daegu-c", [2]int{0, 0}, nil),
		}, "10:29:30 period 10:30:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, st := range stores() {
				t.Run(st.name, func(t *testing.T) {
					ctx := context.Background()
					cfg := testConfig("UTC", time.Minute)
					s := st.open(t)
					for _, runs := range tc.runs {
						load(t, s, cfg, runs)
					}
					in := Input{Config: cfg, Store: s, From: tc.from, To: hourStart.Add(time.Hour), Now: hourStart.Add(time.Hour)}
					stored, err := Windows(ctx, in)
					if err != nil {
						t.Fatal(err)
					}
					var got []string
					for _, w := range stored {
						if w.Function == nil {
							got = append(got, w.Start.UTC().Format("15:04:05")+" "+w.StartCut+" "+w.Confirmed.UTC().Format("15:04:05"))
						}
					}
					if fmt.Sprint(got) != fmt.Sprint([]string{tc.want}) {
						t.Errorf("windows %q, want %q", got, tc.want)
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

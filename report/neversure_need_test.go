package report

import (
	"fmt"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// TestCountedNeverSurelyDownNeedChanges: whether the quorum was ever surely
// down at once in a counted window is judged by the quorum at each instant
// (of the locations reporting then), not by the one at its start alone:
// majority of 4, seoul-a and busan-b down from 10:11:00 with first runs that
// hung 50 s and 55 s, daegu-c down since 10:05:30 and back at 10:11:30,
// incheon-d up with its last run at 10:10:10 before its prober stopped: the
// counted window 10:11:00-10:20:00 (three of four down, then two of the
// three reporting) was surely down from 10:11:55 to its end, two of three,
// yet was marked never surely down at once because three were needed at
// its start. With incheon-d reporting throughout it ends at 10:11:30 when
// daegu-c comes back, before either first run ended: never surely down, as
// before. Stored and recomputed alike, in both stores.
func TestCountedNeverSurelyDownNeedChanges(t *testing.T) {
	sec := time.Second
	for _, tc := range []struct {
		name    string
		stopped bool // incheon-d's prober stopped after its 10:10:10 run
		want    []string
	}{
		{"incheon-d stopped: two of three surely down", true, []string{"10:11:00 -1m0s +55s / 10:20:00 -1m0s +300ms"}},
		{"incheon-d reporting: never", false, []string{"10:11:00 -1m0s +30.3s / 10:11:30 -1m0s +300ms never surely"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			cfg.Policy.Quorum = config.Quorum{Mode: "majority"}
			incheon := schedule("incheon-d", hourStart.Add(10*sec), hourStart.Add(time.Hour), time.Minute, func(off time.Duration) string {
				if m := int(off / time.Minute); tc.stopped && m >= 11 && m < 30 {
					return ""
				}
				return "ok"
			})
			runs := [][]probe.Run{
				phasedRuns("seoul-a", 0, [2]int{11, 20}, map[int]time.Duration{11: 50 * sec}),
				phasedRuns("busan-b", 0, [2]int{11, 20}, map[int]time.Duration{11: 55 * sec}),
				phasedRuns("daegu-c", 30*sec, [2]int{5, 11}, nil),
				incheon,
			}
			windowsStoredAndRecomputed(t, cfg, runs, hourStart, func(t *testing.T, recompute bool, ws []Window) {
				var got []string
				for _, w := range ws {
					if w.Function != nil {
						continue
					}
					g := boundsToSecond(w)
					if w.QuorumNeverSurelyDown {
						g += " never surely"
					}
					got = append(got, g)
				}
				if fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Errorf("recompute %v: windows %q, want %q", recompute, got, tc.want)
				}
			})
		})
	}
}

// TestNeverSurelyDownNoDataStart: the mark needs a measured end, and a
// start measured or next to time without data (start_cut "no_data": its
// later bound, the first failing run's end, is still known), not one the
// period cuts: majority of 3, seoul-a failing 10:05:04-10:11:04, busan-b
// with no runs from 10:06 to 10:11 and down from 10:11:00 with a first run
// that hung 15 s, daegu-c up: 10:11:00 (no_data) -10:11:04, never surely
// down at once; the same with the range from 10:11:01, which cuts its
// start: no mark. Stored and recomputed alike, in both stores.
func TestNeverSurelyDownNoDataStart(t *testing.T) {
	sec := time.Second
	var busan []probe.Run
	for _, r := range phasedRuns("busan-b", 0, [2]int{11, 20}, map[int]time.Duration{11: 15 * sec}) {
		if m := r.Start.Sub(hourStart) / time.Minute; m > 5 && m < 11 {
			continue
		}
		busan = append(busan, r)
	}
	runs := [][]probe.Run{phasedRuns("seoul-a", 4*sec, [2]int{5, 11}, nil), busan, phasedRuns("daegu-c", 0, [2]int{0, 0}, nil)}
	for _, tc := range []struct {
		name string
		from time.Duration
		want string
	}{
		{"no data before its start: marked", 0, "[10:11:00 no_data -? +4.3s / 10:11:04 -1m0s +300ms never surely]"},
		{"cut by the range: not", 11*time.Minute + sec, "[10:11:01 period -? +? / 10:11:04 -1m0s +300ms]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			cfg.Policy.Quorum = config.Quorum{Mode: "majority"}
			windowsStoredAndRecomputed(t, cfg, runs, hourStart.Add(tc.from), func(t *testing.T, recompute bool, ws []Window) {
				var got []string
				for _, w := range ws {
					if w.Function != nil {
						continue
					}
					g := boundsToSecond(w)
					g = g[:8] + " " + w.StartCut + g[8:]
					if w.QuorumNeverSurelyDown {
						g += " never surely"
					}
					got = append(got, g)
				}
				if fmt.Sprint(got) != tc.want {
					t.Errorf("recompute %v: windows %q, want %s", recompute, got, tc.want)
				}
			})
		})
	}
}

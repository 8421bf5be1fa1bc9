package report

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// TestCountedEndMayMove: in live figures, a counted window that ended less
// than the flow's settling before their end while a location window of it
// lasts past its end may not be over (Window.EndMayMove): majority of 4,
// seoul-a, busan-b and daegu-c down from 10:11:00, their 10:12 confirming
// runs of 300 ms, 5 s and 8 s, incheon-d without data until its 10:11:30
// run: built at 10:12:06, daegu-c's run in flight, 10:11:00-10:11:30 (two
// of four from then) may move, and does: built at 10:12:09 it is open.
// Not in a period that is over (its figures are facts), nor where the
// figures end a settling after it (daegu-c never down, built at 10:20).
func TestCountedEndMayMove(t *testing.T) {
	sec := time.Second
	at := func(m int, s time.Duration) time.Time { return hourStart.Add(time.Duration(m)*time.Minute + s) }
	for _, tc := range []struct {
		name  string
		now   time.Time
		daegu bool // daegu-c down from 10:11
		over  bool // the period ends at now
		want  string
	}{
		{"built at 10:12:06", at(12, 6*sec), true, false, "[10:11:00-10:11:30 may move]"},
		{"built at 10:12:09", at(12, 9*sec), true, false, "[10:11:00-open]"},
		{"a period to 10:12:06", at(12, 6*sec), true, true, "[10:11:00-10:11:30]"},
		{"daegu-c never down, built at 10:20", at(20, 0), false, false, "[10:11:00-10:11:30]"},
		{"daegu-c never down, built at 10:12:06", at(12, 6*sec), false, false, "[10:11:00-10:11:30 may move]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			cfg.Policy.Quorum = config.Quorum{Mode: "majority"}
			daegu := [2]int{11, 20}
			if !tc.daegu {
				daegu = [2]int{60, 60}
			}
			all := [][]probe.Run{
				phasedRuns("seoul-a", 0, [2]int{11, 20}, map[int]time.Duration{12: 300 * time.Millisecond}),
				phasedRuns("busan-b", 0, [2]int{11, 20}, map[int]time.Duration{12: 5 * sec}),
				phasedRuns("daegu-c", 0, daegu, map[int]time.Duration{12: 8 * sec}),
				schedule("incheon-d", at(0, 30*sec), at(60, 0), time.Minute, func(off time.Duration) string {
					if off < 11*time.Minute {
						return ""
					}
					return "ok"
				}),
			}
			for _, st := range stores() {
				t.Run(st.name, func(t *testing.T) {
					s := st.open(t)
					for _, rs := range all {
						var done []probe.Run
						for _, r := range rs {
							if !r.Start.Add(r.Duration).After(tc.now) {
								done = append(done, r)
							}
						}
						load(t, s, cfg, done)
					}
					in := Input{Config: cfg, Store: s, From: hourStart, To: hourStart.Add(time.Hour), Now: tc.now}
					if tc.over {
						in.To = tc.now
					}
					ws, err := Windows(context.Background(), in)
					if err != nil {
						t.Fatal(err)
					}
					var got []string
					for _, w := range ws {
						if w.Function != nil {
							continue
						}
						g := w.Start.UTC().Format("15:04:05") + "-open"
						if w.End != nil {
							g = w.Start.UTC().Format("15:04:05") + "-" + w.End.UTC().Format("15:04:05")
						}
						if w.EndMayMove {
							g += " may move"
						}
						if w.State().EndMayMove != w.EndMayMove {
							t.Errorf("its state window's EndMayMove %v", !w.EndMayMove)
						}
						got = append(got, g)
					}
					if fmt.Sprint(got) != tc.want {
						t.Errorf("counted windows %v, want %s", got, tc.want)
					}
				})
			}
		})
	}
}

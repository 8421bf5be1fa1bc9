package report

import (
	"context"
	"testing"
	"time"
)

// A flow whose down_after or up_after is more than ten runs (config allows
// up to 1000) and a range whose --from or --to falls inside the streak
// that decides a window. `windows --recompute` replayed ten of the flow's
// interval on either side of the range, fewer runs than the streak: every
// minute with down_after 15, failing 10:10-10:26 (the stored window down
// 10:10-10:26, confirmed by the 10:24 run), the range 10:22:30-10:40 read
// 210 s down from the stored events and 0 under --recompute (its replay
// began at 10:12:30 and saw 14 failures), and 10:00-10:10:30 read 30 s
// down and MTTD 840.3 s from the stored events, nothing under --recompute
// (the confirming run is 13.5 minutes after --to). With up_after 15 a
// window closed at 10:10 by passes confirmed at 10:24 read down to --to
// (10:10:30) under --recompute. Now each flow replays as far as its
// streaks need too: twice down_after or up_after of its interval (runs of
// a streak are less than two intervals apart: a longer gap is unknown and
// ends the streak).
func TestRecomputeLongStreak(t *testing.T) {
	at := func(m, s int) time.Time {
		return hourStart.Add(time.Duration(m)*time.Minute + time.Duration(s)*time.Second)
	}
	for _, tc := range []struct {
		name               string
		downAfter, upAfter int
		from, to           time.Time
		failing            [2]int // minutes after 10:00; runs every minute from 09:50
		down               float64
		mttd               float64 // -1: none
	}{
		{"--from between the first failure and the confirming run", 15, 1, at(22, 30), at(40, 0), [2]int{10, 26}, 210, -1},
		{"--to between the first failure and the confirming run", 15, 1, at(0, 0), at(10, 30), [2]int{10, 26}, 30, 840.3},
		// Down 10:00-10:10 (confirmed by the 10:01 run), passing from
		// 10:10: closed at 10:10 when the 10:24 run made 15 passes.
		{"--to between the first pass and up_after's last", 2, 15, at(0, 0), at(10, 30), [2]int{0, 10}, 600, 60.3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, st := range stores() {
				t.Run(st.name, func(t *testing.T) {
					ctx := context.Background()
					cfg := testConfig("UTC", time.Minute)
					f := &cfg.Services[0].Flows[0]
					f.DownAfter, f.UpAfter = tc.downAfter, tc.upAfter
					spec := failing("fail:send", tc.failing)
					s := st.open(t)
					load(t, s, cfg, schedule("seoul-a", hourStart.Add(-10*time.Minute), hourStart.Add(time.Hour), time.Minute, func(off time.Duration) string {
						return spec(off - 10*time.Minute)
					}))
					for _, recompute := range []bool{false, true} {
						r, err := Build(ctx, Input{Config: cfg, Store: s, From: tc.from, To: tc.to, Now: at(120, 0), Recompute: recompute})
						if err != nil {
							t.Fatal(err)
						}
						sv := r.Services[0]
						mttd := -1.0
						if sv.MTTDSeconds != nil {
							mttd = *sv.MTTDSeconds
						}
						if !near(sv.Flows[0].DowntimeSeconds, tc.down) || !near(mttd, tc.mttd) {
							t.Errorf("recompute %v: downtime %g, MTTD %g; want downtime %g, MTTD %g", recompute, sv.Flows[0].DowntimeSeconds, mttd, tc.down, tc.mttd)
						}
					}
				})
			}
		})
	}
}

package report

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// A range shorter than an interval, lying between two runs of a location:
// the run before the range covers it (README, Accounting policy: unknown is
// no run for more than twice the interval), so the location reports there
// as the state machine left it at that run, and the stretch after it is
// judged the usual way (unknown from where its data ends once two
// intervals have passed with no run). Before, a location with no run
// inside the range was taken for not reporting: a 40 s range inside an
// outage probed every 60 s read unknown 40, downtime 0 and no window, where
// the stored window says down throughout; an hourly flow in a 30-minute
// range the same. Alike from the stored windows and under --recompute.
func TestShortRangeBetweenRuns(t *testing.T) {
	type want struct {
		down, unknown float64
		windows       int // the flow's down windows
	}
	for _, tc := range []struct {
		name     string
		interval time.Duration
		runs     func() []probe.Run
		from, to time.Time
		want     want
	}{
		{
			// Down from 10:10 to 10:30 (60 s); the range 10:20:10-10:20:50.
			name: "40 s inside an outage at 60 s", interval: time.Minute,
			runs: func() []probe.Run {
				return schedule("seoul-a", hourStart, hourStart.Add(2*time.Hour), time.Minute, failing("fail:send", [2]int{10, 30}))
			},
			from: hourStart.Add(20*time.Minute + 10*time.Second), to: hourStart.Add(20*time.Minute + 50*time.Second),
			want: want{down: 40, windows: 1},
		},
		{
			// Two locations down from 10:10 to 10:30, their runs 5 s
			// apart, neither in the range: the counted window.
			name: "40 s inside an outage, two locations", interval: time.Minute,
			runs: func() []probe.Run {
				runs := schedule("seoul-a", hourStart, hourStart.Add(2*time.Hour), time.Minute, failing("fail:send", [2]int{10, 30}))
				return append(runs, schedule("busan-b", hourStart.Add(5*time.Second), hourStart.Add(2*time.Hour), time.Minute, failing("fail:send", [2]int{10, 30}))...)
			},
			from: hourStart.Add(20*time.Minute + 10*time.Second), to: hourStart.Add(20*time.Minute + 50*time.Second),
			want: want{down: 40, windows: 1},
		},
		{
			name: "40 s while up at 60 s", interval: time.Minute,
			runs: func() []probe.Run {
				return schedule("seoul-a", hourStart, hourStart.Add(2*time.Hour), time.Minute, failing("fail:send", [2]int{10, 30}))
			},
			from: hourStart.Add(40*time.Minute + 10*time.Second), to: hourStart.Add(40*time.Minute + 50*time.Second),
			want: want{},
		},
		{
			// Hourly, down from 02:00 (runs at 02:00 and 03:00 fail); the
			// range 03:10-03:40.
			name: "30 minutes of an hourly flow, down", interval: time.Hour,
			runs: func() []probe.Run {
				return schedule("seoul-a", hourStart, hourStart.Add(8*time.Hour), time.Hour, func(off time.Duration) string {
					if h := int(off / time.Hour); h >= 2 && h < 5 {
						return "fail:login"
					}
					return "ok"
				})
			},
			from: hourStart.Add(3*time.Hour + 10*time.Minute), to: hourStart.Add(3*time.Hour + 40*time.Minute),
			want: want{down: 1800, windows: 1},
		},
		{
			name: "30 minutes of an hourly flow, up", interval: time.Hour,
			runs: func() []probe.Run {
				return schedule("seoul-a", hourStart, hourStart.Add(8*time.Hour), time.Hour, func(time.Duration) string { return "ok" })
			},
			from: hourStart.Add(3*time.Hour + 10*time.Minute), to: hourStart.Add(3*time.Hour + 40*time.Minute),
			want: want{},
		},
		{
			// The prober stopped after its run at 10:20 (down since
			// 10:10): its data ends at 10:21, and from 10:22 two intervals
			// have passed with no run. The range 10:20:30-10:23 reads
			// down to 10:21 and unknown after it.
			name: "just after a prober stopped", interval: time.Minute,
			runs: func() []probe.Run {
				return schedule("seoul-a", hourStart, hourStart.Add(21*time.Minute), time.Minute, failing("fail:send", [2]int{10, 30}))
			},
			from: hourStart.Add(20*time.Minute + 30*time.Second), to: hourStart.Add(23 * time.Minute),
			want: want{down: 30, unknown: 120, windows: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, st := range stores() {
				t.Run(st.name, func(t *testing.T) {
					ctx := context.Background()
					cfg := testConfig("UTC", tc.interval)
					s := st.open(t)
					load(t, s, cfg, tc.runs())
					for _, now := range []time.Time{tc.to, tc.to.Add(24 * time.Hour)} {
						for _, recompute := range []bool{false, true} {
							in := Input{Config: cfg, Store: s, From: tc.from, To: tc.to, Now: now, Recompute: recompute}
							r, err := Build(ctx, in)
							if err != nil {
								t.Fatal(err)
							}
							f := r.Services[0].Flows[0]
							ws, err := Windows(ctx, in)
							if err != nil {
								t.Fatal(err)
							}
							var flowWs []Window // the flow's, not its functions'
							for _, w := range ws {
								if w.Function == nil {
									flowWs = append(flowWs, w)
								}
							}
							if f.DowntimeSeconds != tc.want.down || f.UnknownSeconds != tc.want.unknown || len(flowWs) != tc.want.windows {
								t.Errorf("now %s, recompute %v: downtime %g, unknown %g, %d windows %s; want downtime %g, unknown %g, %d windows",
									now.Format(time.TimeOnly), recompute, f.DowntimeSeconds, f.UnknownSeconds, len(flowWs), jsonOf(t, flowWs), tc.want.down, tc.want.unknown, tc.want.windows)
							}
						}
					}
				})
			}
		})
	}
}

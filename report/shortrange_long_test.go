package report

import (
	"context"
	"testing"
	"time"
)

// A flow probed daily (interval 24h) whose run one day was missed: its
// last run before the range is 25 h before it, less than two intervals,
// and the next came 47 h after that last run, so the state machine never
// judged the stretch unknown and the stored window says down throughout.
// From the stored events the report looked for that run only
// edgeLookaround (24 h) before the range, found none and read the hour
// unknown (3600 s, downtime 0), where --recompute (which looks back ten
// intervals) read it down: the run the edge rule reports from may be up to
// two intervals before the range.
func TestShortRangeLongInterval(t *testing.T) {
	runs := schedule("seoul-a", hourStart, hourStart.Add(48*time.Hour), 24*time.Hour, func(time.Duration) string { return "fail:login" })
	runs = append(runs, mkRun("seoul-a", hourStart.Add(71*time.Hour), "fail:login"))
	from, to := hourStart.Add(49*time.Hour), hourStart.Add(50*time.Hour)
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			cfg := testConfig("UTC", 24*time.Hour)
			s := st.open(t)
			load(t, s, cfg, runs)
			for _, now := range []time.Time{to, to.Add(72 * time.Hour)} {
				for _, recompute := range []bool{false, true} {
					r, err := Build(ctx, Input{Config: cfg, Store: s, From: from, To: to, Now: now, Recompute: recompute})
					if err != nil {
						t.Fatal(err)
					}
					if f := r.Services[0].Flows[0]; f.DowntimeSeconds != 3600 || f.UnknownSeconds != 0 {
						t.Errorf("now %s, recompute %v: downtime %g, unknown %g; want downtime 3600, unknown 0", now.Format(time.DateTime), recompute, f.DowntimeSeconds, f.UnknownSeconds)
					}
				}
			}
		})
	}
}

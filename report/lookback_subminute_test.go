package report

import (
	"context"
	"testing"
	"time"
)

// TestRecomputeLookbackSubMinuteInterval: the streak a long down_after
// needs replayed is down_after runs less than two intervals apart, so
// twice down_after of the flow's own interval; flowLookback took it in
// minutes for a flow probed more often than once a minute (the floor of
// ten intervals is at least ten minutes; the streak's is not): every 10 s
// with down_after 60, a one-hour range replayed 2 h of runs on either side
// where 20 minutes hold the streak, 1,800 runs of the flow for 600 (6x;
// at the config's limit, down_after 1000 every 10 s, 33 h on either side
// where 5.6 h do: some 24,000 runs a flow for a one-hour range where
// 4,400 do). The windows are the same: one down across --from, confirmed
// 59 failures after 09:52, and one across --to confirmed after it.
func TestRecomputeLookbackSubMinuteInterval(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig("UTC", 10*time.Second)
	cfg.Services[0].Flows[0].DownAfter = 60
	from, to := hourStart, hourStart.Add(time.Hour)
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			s := st.open(t)
			start := hourStart.Add(-3 * time.Hour)
			runs := schedule("seoul-a", start, hourStart.Add(4*time.Hour), 10*time.Second, func(off time.Duration) string {
				at := start.Add(off)
				if m := at.Sub(hourStart); m >= -8*time.Minute && m < 5*time.Minute || m >= 55*time.Minute && m < 68*time.Minute {
					return "fail:send"
				}
				return "ok"
			})
			load(t, s, cfg, runs)
			cs := &chatRunCounter{Store: s}
			in := Input{Config: cfg, Store: cs, From: from, To: to, Now: to.Add(3 * time.Hour)}
			stored, err := Windows(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			in.Recompute = true
			before := cs.chat.Load()
			rec, err := Windows(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := jsonOf(t, stored), jsonOf(t, rec); a != b {
				t.Errorf("windows differ:\nstored     %s\nrecomputed %s", a, b)
			}
			if len(stored) < 2 {
				t.Errorf("windows %s: want the two down across the edges", jsonOf(t, stored))
			}
			if n := cs.chat.Load() - before; n > 700 {
				t.Errorf("windows --recompute of one hour read %d runs of chat (every 10 s, down_after 60), want at most 700: (20 min + 1 h + 20 min) / 10 s = 600", n)
			}
		})
	}
}

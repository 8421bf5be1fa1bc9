package report

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/store"
)

// chatRunCounter counts the runs Runs returns, by flow.
type chatRunCounter struct {
	store.Store
	chat atomic.Int64
}

func (c *chatRunCounter) Runs(ctx context.Context, q store.Query) ([]probe.Run, error) {
	runs, err := c.Store.Runs(ctx, q)
	for _, r := range runs {
		if r.Flow == "chat" {
			c.chat.Add(1)
		}
	}
	return runs, err
}

// `windows --recompute` replays each flow from ten of its own interval
// (at least a minute) before the range, and for a range that is over as
// far after it: a flow's state machine sees only its own runs. Before, it
// was ten of the longest interval of the config for every flow, so one
// hourly flow among flows probed every 10 s made each of them replay ten
// hours on either side: a one-hour range read 7,560 runs of each 10 s flow
// (7.56 million over 1,000 flows) for the 360 in the range; now 480. The
// windows are the same.
func TestRecomputeLookbackPerFlow(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig("UTC", 10*time.Second)
	cfg.Services[0].Flows = append(cfg.Services[0].Flows, config.Flow{
		Name: "daily", Service: "messaging", Interval: time.Hour, DownAfter: 2, UpAfter: 1,
		Steps: []config.Step{{Name: "login", Function: "login"}},
	})
	from, to := hourStart.Add(12*time.Hour), hourStart.Add(13*time.Hour)
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			s := st.open(t)
			// chat down 22:55-23:05 (across --to) and 21:58-22:03 (across
			// --from); daily up, hourly.
			runs := schedule("seoul-a", hourStart, hourStart.Add(24*time.Hour), 10*time.Second, func(off time.Duration) string {
				if m := int(off / time.Minute); m >= 12*60+55 && m < 13*60+5 || m >= 11*60+58 && m < 12*60+3 {
					return "fail:send"
				}
				return "ok"
			})
			for at := hourStart.Add(time.Second); at.Before(hourStart.Add(24 * time.Hour)); at = at.Add(time.Hour) {
				r := mkRun("seoul-a", at, "ok")
				r.ID, r.Flow, r.Steps = "daily-"+r.ID, "daily", r.Steps[:1]
				runs = append(runs, r)
			}
			load(t, s, cfg, runs)
			cs := &chatRunCounter{Store: s}
			in := Input{Config: cfg, Store: cs, From: from, To: to, Now: to}
			stored, err := Windows(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			in.Recompute = true
			rec, err := Windows(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := jsonOf(t, stored), jsonOf(t, rec); a != b {
				t.Errorf("windows differ:\nstored     %s\nrecomputed %s", a, b)
			}
			if len(stored) == 0 {
				t.Error("no windows")
			}
			if n := cs.chat.Load(); n > 600 {
				t.Errorf("windows --recompute of one hour read %d runs of chat (every 10 s), want at most 600: (10 min + 1 h + 10 min) / 10 s = 480", n)
			}
		})
	}
}

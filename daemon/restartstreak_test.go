package daemon

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// A restart with a shorter interval in the config carries the failure
// streak over as a reload does: the runs before the stop are replayed
// (state.Machine.Resume) by the interval each had (stored with it), not by
// the config's at the restart, which took each 3-minute spacing for time
// without data and started the streak over. A flow every 3 minutes two
// failures into down_after 3, stopped 6 s after its last run and restarted
// every 30 s 100 s after it: its down window starts at its first failure,
// as `windows --recompute` of the runs at the old interval finds it, where
// it started at the second (the streak counted from the last run before
// the stop) before.
func TestRestartKeepsTheFailureStreakOfRunsAtTheirInterval(t *testing.T) {
	for _, tc := range []struct {
		to        time.Duration
		downAfter int
	}{
		{30 * time.Second, 3},
		{3 * time.Minute, 3},
		{30 * time.Second, 5},
		{3 * time.Minute, 5},
	} {
		to, fails := tc.to, tc.downAfter-1
		t.Run(fmt.Sprintf("3m0s to %s, %d failures of down_after %d", to, fails, tc.downAfter), func(t *testing.T) {
			cfg, err := config.Parse("agree.yaml", fmt.Appendf(nil, agreeYAML, "0s"), config.Options{})
			if err != nil {
				t.Fatal(err)
			}
			cfg.Services[0].Flows[0].Interval = 3 * time.Minute
			cfg.Services[0].Flows[0].DownAfter = tc.downAfter
			var failFrom time.Time
			r := newAgreeRigConfig(t, cfg, func(_ string, at time.Time) outcome {
				if !failFrom.IsZero() && !at.Before(failFrom) {
					return media
				}
				return pass
			})
			t0 := r.fc.Now()
			failFrom = t0.Add(4 * time.Minute)
			d := r.start("seoul-a", r.configAt("seoul-a"))
			r.advance(time.Duration(4+3*fails) * time.Minute)
			d.mu.RLock()
			fs := d.flows["f"]
			d.mu.RUnlock()
			fs.mu.Lock()
			l := fs.machine.LastRun()
			open := len(fs.machine.OpenWindows())
			fs.mu.Unlock()
			runs, err := r.st.Runs(context.Background(), store.Query{})
			if err != nil {
				t.Fatal(err)
			}
			var failed []time.Time
			for _, run := range runs {
				if run.Outcome() == probe.StatusFailed {
					failed = append(failed, run.Start)
				}
			}
			if len(failed) != fails || open != 0 || !failed[fails-1].Equal(l) {
				t.Fatalf("before the stop: failures at %v, %d windows open, last run %s; want %d failures, the last one last, none open", failed, open, l, fails)
			}
			r.advance(l.Add(6 * time.Second).Sub(r.fc.Now()))
			r.stop("seoul-a")
			r.advance(l.Add(100 * time.Second).Sub(r.fc.Now()))
			r.cfg.Services[0].Flows[0].Interval = to
			r.start("seoul-a", r.configAt("seoul-a"))
			r.advance(2 * to)
			r.stop("seoul-a")
			ws, err := r.st.Windows(context.Background(), store.Query{From: t0, To: r.stopped})
			if err != nil {
				t.Fatal(err)
			}
			var starts []time.Time
			for _, w := range ws {
				if w.Kind == state.KindDown && w.Function == "" {
					starts = append(starts, w.Start)
				}
			}
			if len(starts) != 1 || !starts[0].Equal(failed[0]) {
				t.Errorf("down windows from %v, want one from the first failure, of %v", starts, failed)
			}
		})
	}
}

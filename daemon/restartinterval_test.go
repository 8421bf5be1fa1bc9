package daemon

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// A restart with the flow's interval changed in the config judges the
// stretch since the last run before the stop by the interval that run had
// (stored with it), as a reload does (TestReloadShorterIntervalStoresNoUnknown):
// by the longer of the two when the restart came before that run's next
// one was due, else by the run's. Before, by the config's: a flow every
// 3 minutes stopped 6 s after its last run and restarted every 30 s 100 s
// after it stored unknown from 30 s after that run, where its next run was
// due 80 s later (and, restarted 200 s after it, where no run was missed
// for twice its 3 minutes); one every 30 s restarted every 3 minutes 100 s
// after its last run stored none for the runs missed at 30, 60 and 90 s.
func TestRestartJudgesTheGapByTheIntervalTheRunHad(t *testing.T) {
	for _, tc := range []struct {
		from, to     time.Duration
		stop, back   time.Duration // after the last run
		unknownAfter time.Duration // where the stored unknown stretch starts, after the last run; 0: none
	}{
		{3 * time.Minute, 30 * time.Second, 6 * time.Second, 100 * time.Second, 0},
		{30 * time.Second, 3 * time.Minute, 6 * time.Second, 100 * time.Second, 30 * time.Second},
		{3 * time.Minute, 30 * time.Second, 6 * time.Second, 200 * time.Second, 0},
		{3 * time.Minute, 3 * time.Minute, 6 * time.Second, 100 * time.Second, 0},
	} {
		t.Run(fmt.Sprintf("%s to %s back %s after", tc.from, tc.to, tc.back), func(t *testing.T) {
			cfg, err := config.Parse("agree.yaml", fmt.Appendf(nil, agreeYAML, "0s"), config.Options{})
			if err != nil {
				t.Fatal(err)
			}
			cfg.Services[0].Flows[0].Interval = tc.from
			r := newAgreeRigConfig(t, cfg, func(string, time.Time) outcome { return pass })
			t0 := r.fc.Now()
			d := r.start("seoul-a", r.configAt("seoul-a"))
			r.advance(2 * tc.from)
			last := func(d *Daemon) time.Time {
				d.mu.RLock()
				defer d.mu.RUnlock()
				fs := d.flows["f"]
				fs.mu.Lock()
				defer fs.mu.Unlock()
				return fs.machine.LastRun()
			}
			l := last(d)
			if l.IsZero() {
				t.Fatal("no run in two intervals")
			}
			r.advance(l.Add(tc.stop).Sub(r.fc.Now()))
			r.stop("seoul-a")
			if got := last(d); !got.Equal(l) {
				t.Fatalf("a run at %s before the stop, after the last at %s", got, l)
			}
			if r.fc.Now().After(l.Add(tc.back)) {
				t.Fatalf("stopped %s after the last run, want before %s", r.fc.Now().Sub(l), tc.back)
			}
			r.advance(l.Add(tc.back).Sub(r.fc.Now()))
			r.cfg.Services[0].Flows[0].Interval = tc.to
			d = r.start("seoul-a", r.configAt("seoul-a"))
			r.advance(2 * max(tc.from, tc.to))
			r.stop("seoul-a")
			ws, err := r.st.Windows(context.Background(), store.Query{From: t0, To: r.stopped})
			if err != nil {
				t.Fatal(err)
			}
			var got time.Duration
			for _, w := range ws {
				if w.Kind == state.KindUnknown && w.Function == "" {
					if got != 0 || !w.Start.After(l) {
						t.Errorf("unknown %s to %s after the last run before the stop", w.Start.Sub(l), w.End.Sub(l))
						continue
					}
					got = w.Start.Sub(l)
				}
			}
			if got != tc.unknownAfter {
				t.Errorf("unknown from %s after the last run before the stop (0: none), want %s", got, tc.unknownAfter)
			}
		})
	}
}

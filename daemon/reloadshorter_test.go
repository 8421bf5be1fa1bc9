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

// A reload that shortens a flow's interval stores no unknown stretch for
// time the old interval covered: a flow every 60 s, reloaded to every 10 s
// 25 s after its last run (its next run due 35 s later), runs on at the new
// interval, and no run was missed. The live machine judged the stretch
// since the last run by the new interval (25 s > twice 10 s) and stored it
// as unknown from 10 s after that run to the next. Shortened by less than
// that, or lengthened, no row stores one either way.
func TestReloadShorterIntervalStoresNoUnknown(t *testing.T) {
	for _, tc := range []struct {
		from, to time.Duration
		after    time.Duration // the reload, after the last run
	}{
		{60 * time.Second, 10 * time.Second, 25 * time.Second},
		{60 * time.Second, 10 * time.Second, 45 * time.Second},
		{20 * time.Second, 60 * time.Second, 5 * time.Second},
	} {
		t.Run(fmt.Sprintf("%s to %s %s after", tc.from, tc.to, tc.after), func(t *testing.T) {
			cfg, err := config.Parse("agree.yaml", fmt.Appendf(nil, agreeYAML, "0s"), config.Options{})
			if err != nil {
				t.Fatal(err)
			}
			cfg.Services[0].Flows[0].Interval = tc.from
			r := newAgreeRigConfig(t, cfg, func(string, time.Time) outcome { return pass })
			t0 := r.fc.Now()
			d := r.start("seoul-a", r.configAt("seoul-a"))
			r.advance(3 * tc.from)
			last := func() time.Time {
				d.mu.RLock()
				defer d.mu.RUnlock()
				fs := d.flows["f"]
				fs.mu.Lock()
				defer fs.mu.Unlock()
				return fs.machine.LastRun()
			}
			l := last()
			if l.IsZero() {
				t.Fatal("no run in three intervals")
			}
			r.advance(l.Add(tc.after).Sub(r.fc.Now()))
			if got := last(); !got.Equal(l) {
				t.Fatalf("a run at %s before the reload, %s after the last at %s", got, r.fc.Now().Sub(l), l)
			}
			r.cfg.Services[0].Flows[0].Interval = tc.to
			if err := d.Reload(r.configAt("seoul-a")); err != nil {
				t.Fatal(err)
			}
			r.advance(3 * max(tc.from, tc.to))
			r.stop("seoul-a")
			ws, err := r.st.Windows(context.Background(), store.Query{From: t0, To: r.stopped})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range ws {
				if w.Kind == state.KindUnknown {
					t.Errorf("unknown %s to %s (the last run before the reload at %s, the reload %s after)", w.Start.Sub(l), w.End.Sub(l), l.Sub(t0), tc.after)
				}
			}
		})
	}
}

package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/store"
)

// A flow removed from the config while the daemon was stopped, down when
// it stopped: the restart closes its windows as a reload that removed it
// does (at the end of its last run's interval, or the restart if that is
// earlier), so that restarting with an edited config and reloading it
// store the same windows. Before, they stayed open in the store for ever
// (no flow of the daemon's took them back), and reports ended them where
// the flow's data ended, cut "no_data", where the reload's ended measured;
// found by the randomized agreement check (TestAgreementFuzz, seed 37).
func TestRestartClosesRemovedFlowsWindows(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const yaml = `
location: seoul-a
defaults: {interval: 10s, timeout: 5s, down_after: 2, up_after: 1, confirm_every: 0s}
services:
  - name: svc
    flows:
      - name: f
        steps:
          - {name: login, function: login, request: {url: "http://127.0.0.1:1/login"}}
      - name: g
        steps:
          - {name: login, function: login, request: {url: "http://127.0.0.1:1/login"}}
`
	reload := func(r *agreeRig, d *Daemon) {
		if err := d.Reload(r.configAt("seoul-a")); err != nil {
			r.t.Fatal(err)
		}
	}
	restart := func(r *agreeRig, d *Daemon) {
		r.stop("seoul-a")
		r.start("seoul-a", r.configAt("seoul-a"))
	}
	for _, tc := range []struct {
		name   string
		keep   int // flows the edited config keeps (f, g)
		remove func(r *agreeRig, d *Daemon)
	}{
		{"reload", 1, reload},
		{"restart", 1, restart},
		// A config left with no flow (a service with none is valid):
		// before, a restart with it closed nothing, as there was no flow
		// to restore.
		{"reload, every flow removed", 0, reload},
		{"restart, every flow removed", 0, restart},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("orphan.yaml", []byte(yaml), config.Options{})
			if err != nil {
				t.Fatal(err)
			}
			r := newAgreeRigConfig(t, cfg, nil)
			r.flowScript = func(loc, flow string, at time.Time) outcome {
				if flow == "g" && !at.Before(t0.Add(30*time.Second)) {
					return refused
				}
				return pass
			}
			d := r.start("seoul-a", r.configAt("seoul-a"))
			r.advance(65 * time.Second) // g down since its first run after t0+30s
			r.cfg.Services[0].Flows = r.cfg.Services[0].Flows[:tc.keep]
			tc.remove(r, d)
			removed := r.fc.Now()
			r.advance(30 * time.Second)
			r.stop("seoul-a")
			ctx := context.Background()
			open, err := r.st.OpenWindows(ctx, "seoul-a")
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range open {
				t.Errorf("g removed: window %s still open in the store", windowString(w))
			}
			runs, err := r.st.Runs(ctx, store.Query{From: t0, To: r.stopped, Flows: []string{"g"}})
			if err != nil || len(runs) == 0 {
				t.Fatalf("runs of g: %v, %d", err, len(runs))
			}
			want := runs[len(runs)-1].Start.Add(10 * time.Second)
			if removed.Before(want) {
				want = removed
			}
			ws, err := report.Windows(ctx, report.Input{Config: r.cfg, Store: r.st, From: t0, To: r.stopped, Now: r.stopped})
			if err != nil {
				t.Fatal(err)
			}
			if len(ws) == 0 {
				t.Fatal("no window of g")
			}
			for _, w := range ws {
				if w.End == nil || !w.End.Equal(want) || w.EndCut != "" {
					t.Errorf("window of g %v..%v (end_cut %q): want it ended at %s, when the flow was removed (at most an interval after its last run)", w.Start, w.End, w.EndCut, want.Format("15:04:05.000"))
				}
			}
		})
	}
}

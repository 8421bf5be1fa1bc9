package daemon

import (
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// A reload in the middle of an outage that changes confirm_every (or turns
// it off) or the interval, then a stop longer than two intervals and a
// restart: the windows the daemon stored (the outage closed at the restart,
// the unknown stretch after the last run) are those windows --recompute
// finds with the config after the reload, as the accounting policy says
// (today's config for --recompute).
func TestReloadMidOutageThenStopAgrees(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		change func(f *config.Flow)
	}{
		{"confirm_every 2s to 5s", func(f *config.Flow) { f.ConfirmEvery = 5 * time.Second }},
		{"confirm_every 2s to 0s", func(f *config.Flow) { f.ConfirmEvery = 0 }},
		{"interval 10s to 20s", func(f *config.Flow) { f.Interval = 20 * time.Second }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := func(loc string, at time.Time) outcome {
				if at.Before(t0.Add(40 * time.Second)) {
					return pass
				}
				return refused
			}
			r := newAgreeRig(t, "2s", sc)
			d := r.start("seoul-a", r.configAt("seoul-a"))
			r.advance(60 * time.Second) // down since about t0+48s
			for i := range r.cfg.Services[0].Flows {
				tc.change(&r.cfg.Services[0].Flows[i])
			}
			if err := d.Reload(r.configAt("seoul-a")); err != nil {
				t.Fatal(err)
			}
			r.advance(23 * time.Second)
			r.stop("seoul-a")
			r.advance(90 * time.Second)
			r.start("seoul-a", r.configAt("seoul-a"))
			r.advance(45 * time.Second)
			r.stop("seoul-a")
			r.compare(t0, r.stopped)
		})
	}
}

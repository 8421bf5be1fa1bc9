package alert

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// verdictModes reads slaprobe_alert_verdict from reg: the value of each
// mode's series.
func verdictModes(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "slaprobe_alert_verdict" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "mode" {
					got[l.GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
	}
	return got
}

// TestVerdictModeGauge: slaprobe_alert_verdict{mode} says which verdict the
// push follows, every mode a series from the start and the current one 1:
// waiting before a fleet-aware notifier's first verdict, fleet once the
// quorum's verdict comes, lapsed when none came for 5 minutes (the push
// follows this prober's own verdict), fleet again at the next verdict,
// alone when the figures hold no other location; alone from the start
// for a notifier that is not fleet-aware. Before, only the lapse's warn
// line said the push had fallen back to this prober's own verdict: an SRE
// could not alert on it.
func TestVerdictModeGauge(t *testing.T) {
	ctx := context.Background()
	am := newFakeAM(t)
	clk := clock.NewManual(t0)
	reg := prometheus.NewRegistry()
	n, err := NewNotifier(Options{URLs: []string{am.srv.URL}, Resend: time.Minute, Location: "seoul-a", Zone: kst, Clock: clk,
		Metrics: reg, HoldUntilReconcile: true, FleetAware: true})
	if err != nil {
		t.Fatal(err)
	}
	n.Reconcile(nil)
	want := func(step, mode string) {
		t.Helper()
		got := verdictModes(t, reg)
		for _, m := range []string{"alone", "fleet", "waiting", "lapsed"} {
			v, ok := got[m]
			w := 0.0
			if m == mode {
				w = 1
			}
			if !ok || v != w {
				t.Errorf("%s: slaprobe_alert_verdict{mode=%q} = %v (present %v), want %v", step, m, v, ok, w)
			}
		}
	}
	want("before the first verdict", "waiting")
	verdict := Fleet{Fleet: true, Counted: []state.Window{counted(t0, time.Time{})}, Next: time.Minute}
	clk.Advance(time.Minute)
	n.SetFleet(verdict)
	mustTick(t, n, ctx)
	want("the fleet's verdict", "fleet")
	for range 6 {
		clk.Advance(time.Minute)
		mustTick(t, n, ctx)
	}
	want("no verdict for 6 minutes", "lapsed")
	n.SetFleet(verdict)
	mustTick(t, n, ctx)
	want("the verdict back", "fleet")
	n.SetFleet(Fleet{Next: time.Minute})
	want("no other location", "alone")

	reg2 := prometheus.NewRegistry()
	if _, err := NewNotifier(Options{URLs: []string{am.srv.URL}, Clock: clk, Metrics: reg2}); err != nil {
		t.Fatal(err)
	}
	if got := verdictModes(t, reg2); got["alone"] != 1 || got["waiting"] != 0 || got["fleet"] != 0 || got["lapsed"] != 0 || len(got) != 4 {
		t.Errorf("not fleet-aware: slaprobe_alert_verdict = %v, want alone 1, the others 0", got)
	}
}

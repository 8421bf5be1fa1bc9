package daemon

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
	"weak"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slaprobe/slaprobe/config"
)

// Once a reload is done and the runs on the replaced config are over,
// nothing of the daemon keeps that config: it is unreachable at the next
// collection (flows, state machines, metrics, the replaced runner with its
// compiled flows, sessions and pool of run states). The replaced runner's
// pool of run states did keep it, through the second collection after the
// reload (probe TestReplacedRunnerLetsGoOfItsConfig): at 50,000 flows the
// parsed config is ~40 MB, live with the new one until the status page's
// next rebuild.
//
// The flows run through the pipeline on the real runner (runOnce), with
// sessions (Retire, EndSessions); one flow keeps its compiled form, one
// changes, one leaves. Automatic collections are off for the test, so that
// the one it makes is the first after the reload.
func TestReloadLetsGoOfTheOldConfig(t *testing.T) {
	_, base := newSessionServer(t)
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	d, oldConfig, oldFlows := reloadedDaemon(t, base)
	d.ending.Wait() // the replaced sessions' teardowns
	runtime.GC()
	if oldConfig.Value() != nil {
		t.Error("the config a reload replaced is still reachable after a collection")
	}
	if oldFlows.Value() != nil {
		t.Error("the flows of the config a reload replaced are still reachable after a collection")
	}
	for _, name := range []string{"same", "changed"} {
		if run := runFlow(t, d, name); !run.OK() {
			t.Errorf("%s after the reload: %s", name, runStepNames(run))
		}
	}
}

// reloadedDaemon runs every flow of a daemon once through the pipeline,
// reloads it with a config where one flow changed and one left, and returns
// it with weak pointers to the replaced config and its flows.
func reloadedDaemon(t *testing.T, base string) (*Daemon, weak.Pointer[config.Config], weak.Pointer[config.Flow]) {
	t.Helper()
	cfg := sessionConfig(base, nil, "same", "changed", "gone")
	d, err := New(cfg, Deps{Store: &fakeStore{}, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	w := &fakeWriter{}
	startPipeline(d, w)
	for _, fs := range d.flowSnapshot() {
		if _, ok := d.runOnce(fs, d.clock.Now(), false); !ok {
			t.Fatalf("flow %s did not run", fs.name)
		}
	}
	if runs, _ := w.snapshot(); len(runs) != 3 {
		t.Fatalf("%d runs reached the writer, want 3", len(runs))
	}
	if err := d.Reload(sessionConfig(base, map[string]bool{"changed": true}, "same", "changed")); err != nil {
		t.Fatal(err)
	}
	return d, weak.Make(cfg), weak.Make(&cfg.Services[0].Flows[0])
}

// The availability gauge's refresh keeps no config across its builds: a
// reload during the first (its turn comes between the two) leaves the
// replaced config unreachable while the next is built, and the gauge then
// has the new config's services. The first build's figures, of the
// replaced config, are dropped and the refresh starts over: three builds.
func TestAvailabilityLetsGoOfAReplacedConfig(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	var d *Daemon
	var old weak.Pointer[config.Config]
	calls := 0
	avail := func(context.Context, time.Time, time.Time) (map[string]float64, error) {
		calls++
		switch calls {
		case 1:
			old = weak.Make(d.cfg)
			next := testConfig(time.Minute, "a")
			next.Services[0].Name = "svc2"
			next.Services[0].Flows[0].Service = "svc2"
			if err := d.Reload(next); err != nil {
				t.Error(err)
			}
		case 2:
			runtime.GC()
			if old.Value() != nil {
				t.Error("the config a reload replaced is still reachable during the gauge's next build")
			}
		}
		return map[string]float64{"svc": 0.5, "svc2": 0.25}, nil
	}
	reg := prometheus.NewRegistry()
	d, _ = newTestDaemon(t, testConfig(time.Minute, "a"), nil, Deps{Availability: avail, Registry: reg})
	d.refreshAvailability(context.Background())
	if calls != 3 {
		t.Fatalf("%d builds, want 3 (the first dropped, the two windows again)", calls)
	}
	if _, ok := sample(t, reg, "slaprobe_availability_ratio", "service", "svc"); ok {
		t.Error("the replaced config's service has an availability sample")
	}
	if v, ok := sample(t, reg, "slaprobe_availability_ratio", "service", "svc2", "window", "month"); !ok || v != 0.25 {
		t.Errorf("svc2's month availability %v (%v), want 0.25", v, ok)
	}
}

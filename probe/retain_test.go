package probe

import (
	"context"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"testing"
	"weak"

	"github.com/slaprobe/slaprobe/config"
)

// A runner that a reload replaced (Options.Previous, then Retire) lets go
// of its config at the first collection once its runs are over: nothing of
// it stays reachable. Its pool of run states did keep it: a sync.Pool that
// has been used is listed by the runtime until the second collection after
// its last use (victim cache), and one inside the Runner kept the whole
// runner, its config and its compiled flows (at 50,000 flows the old
// config's ~40 MB stayed live after a SIGHUP until the next collection, the
// status page's rebuild, which peaked with both configs in memory).
//
// Automatic collections are off for the test: one between the runs and the
// check would move the pool into the victim cache, and a second out of it,
// and the check would pass without the fix.
func TestReplacedRunnerLetsGoOfItsConfig(t *testing.T) {
	tg := &target{}
	srv := httptest.NewServer(tg.handler())
	defer srv.Close()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))

	oldConfig, oldFlows, r := replaceRunner(t, srv.URL)
	runtime.GC()
	if oldConfig.Value() != nil {
		t.Error("the replaced runner's config is still reachable after a collection")
	}
	if oldFlows.Value() != nil {
		t.Error("the replaced runner's flows are still reachable after a collection")
	}
	for f := range r.flows {
		if run := r.Run(context.Background(), f); !run.OK() {
			t.Errorf("flow %s on the new runner: %+v", f.Name, run.Steps)
		}
	}
	if r.Reused() != 2 {
		t.Errorf("%d flows kept their compiled form, want 2", r.Reused())
	}
}

// replaceRunner runs every flow of a first runner, replaces it as a reload
// does and returns weak pointers to its config and flows, and the new
// runner.
func replaceRunner(t *testing.T, base string) (weak.Pointer[config.Config], weak.Pointer[config.Flow], *Runner) {
	t.Helper()
	rc := reuseConfig{timeout: "5s", pw: testSecret, latency: "500ms", a2In: "a"}
	oldCfg := rc.parse(t, base)
	old, err := NewRunner(oldCfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for f := range old.flows {
		if run := old.Run(context.Background(), f); !run.OK() {
			t.Fatalf("flow %s on the first runner: %+v", f.Name, run.Steps)
		}
	}
	rc.latency = "750ms" // a2 changes; a1 and b1 keep their compiled form
	r, err := NewRunner(rc.parse(t, base), Options{Previous: old})
	if err != nil {
		t.Fatal(err)
	}
	old.Retire(r)
	old.EndSessions(context.Background())
	// The Flows array: the old runner's compiled flows are keyed by its
	// elements.
	return weak.Make(oldCfg), weak.Make(&oldCfg.Services[0].Flows[0]), r
}

package daemon

import (
	"fmt"
	"testing"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// A reload hands the daemon's runner to the new one as its previous
// (probe.Options.Previous): flows the reload did not change keep their
// compiled form; a change of the defaults compiles every flow again, a
// change of one flow only that one. Each reload starts from the same
// config.
func TestReloadReusesCompiledFlows(t *testing.T) {
	mk := func(timeout string, latency0 string) *config.Config {
		y := fmt.Sprintf("location: seoul-a\ntimezone: UTC\ndefaults: {interval: 1m, timeout: %s}\nservices:\n  - name: svc\n    flows:\n", timeout)
		for i := range 4 {
			lat := "500ms"
			if i == 0 {
				lat = latency0
			}
			y += fmt.Sprintf("      - name: f%d\n        steps:\n          - {name: get, function: get, request: {url: \"http://127.0.0.1:1/%d\"}, expect: {latency: %s}}\n", i, i, lat)
		}
		cfg, err := config.Parse("slaprobe.yaml", []byte(y), config.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	for _, tt := range []struct {
		name string
		cfg  *config.Config
		kept int
	}{
		{"identical", mk("5s", "500ms"), 4},
		{"defaults.timeout changed", mk("6s", "500ms"), 0},
		{"one flow changed", mk("5s", "750ms"), 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := New(mk("5s", "500ms"), Deps{Store: &fakeStore{}})
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Reload(tt.cfg); err != nil {
				t.Fatal(err)
			}
			d.mu.RLock()
			r, _ := d.runner.(*probe.Runner)
			for _, fs := range d.flows {
				if fs.runner != d.runner {
					t.Errorf("flow %s: not on the reload's runner", fs.name)
				}
			}
			d.mu.RUnlock()
			if r == nil {
				t.Fatalf("runner %T, want a *probe.Runner", d.runner)
			}
			if r.Reused() != tt.kept {
				t.Errorf("%d flows kept their compiled form, want %d", r.Reused(), tt.kept)
			}
		})
	}
}

package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestConfirmEvery(t *testing.T) {
	flow := func(extra string) string {
		return `
defaults: {interval: 60s, timeout: 10s%s}
services:
  - name: svc
    flows:
      - name: f
        %s
        steps:
          - {name: s, function: s, request: {url: "http://127.0.0.1/"}}
`
	}
	tests := []struct {
		name     string
		defaults string // appended inside defaults: {...}
		flow     string // a line of the flow
		want     time.Duration
		err      string
	}{
		{name: "default is a sixth of the interval", want: 10 * time.Second},
		{name: "of the flow's own interval", flow: "interval: 30s", want: 5 * time.Second},
		{name: "at least one second", flow: "interval: 3s\n        timeout: 1s", want: time.Second},
		{name: "off when not shorter than the interval", flow: "interval: 1s\n        timeout: 1s", want: 0},
		{name: "from the defaults", defaults: ", confirm_every: 15s", want: 15 * time.Second},
		{name: "defaults 0s turns it off", defaults: ", confirm_every: 0s", want: 0},
		{name: "defaults longer than a flow's interval: off for that flow", defaults: ", confirm_every: 20s", flow: "interval: 10s", want: 0},
		{name: "per flow", defaults: ", confirm_every: 0s", flow: "confirm_every: 5s", want: 5 * time.Second},
		{name: "per flow off", flow: "confirm_every: 0s", want: 0},
		{name: "too short", flow: "confirm_every: 500ms", err: "flows[0].confirm_every: must be 0s (off) or at least 1s"},
		{name: "longer than the flow's interval", flow: "confirm_every: 2m", err: "confirm_every 2m0s is longer than the interval 1m0s"},
		{name: "longer than the defaults' interval", defaults: ", confirm_every: 2m", err: "defaults.confirm_every: confirm_every 2m0s is longer than the interval 1m0s"},
		{name: "not a duration", flow: "confirm_every: 10", err: "confirm_every"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(flow(""), "%s", tc.defaults, 1)
			src = strings.Replace(src, "%s", tc.flow, 1)
			cfg, err := Parse("c.yaml", []byte(src), Options{})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "c.yaml:") {
					t.Fatalf("error %v, want one with the file, line and %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Services[0].Flows[0].ConfirmEvery; got != tc.want {
				t.Errorf("confirm_every %v, want %v", got, tc.want)
			}
		})
	}
}

// TestSetInterval: a new interval after parsing (demo --interval) resolves
// confirm_every again as the parser would have: the default and the
// defaults' follow the interval, a flow's own stays while shorter.
func TestSetInterval(t *testing.T) {
	tests := []struct {
		name     string
		defaults string // appended inside defaults: {...}
		flow     string // a line of the flow
		interval time.Duration
		want     time.Duration
	}{
		{name: "default follows a shorter interval", interval: 30 * time.Second, want: 5 * time.Second},
		{name: "default follows a longer interval", interval: 10 * time.Minute, want: 100 * time.Second},
		{name: "default at least one second", interval: 5 * time.Second, want: time.Second},
		{name: "default off at one second", interval: time.Second, want: 0},
		{name: "from the defaults", defaults: ", confirm_every: 15s", interval: 30 * time.Second, want: 15 * time.Second},
		{name: "defaults not shorter than the interval: off", defaults: ", confirm_every: 15s", interval: 10 * time.Second, want: 0},
		{name: "defaults off stays off", defaults: ", confirm_every: 0s", interval: 30 * time.Second, want: 0},
		{name: "per flow kept", flow: "confirm_every: 20s", interval: 30 * time.Second, want: 20 * time.Second},
		{name: "per flow not shorter than the interval: off", flow: "confirm_every: 20s", interval: 20 * time.Second, want: 0},
		{name: "per flow off stays off", flow: "confirm_every: 0s", interval: 30 * time.Second, want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := fmt.Sprintf(`
defaults: {interval: 60s, timeout: 1s%s}
services:
  - name: svc
    flows:
      - name: f
        %s
        steps:
          - {name: s, function: s, request: {url: "http://127.0.0.1/"}}
`, tc.defaults, tc.flow)
			cfg, err := Parse("c.yaml", []byte(src), Options{})
			if err != nil {
				t.Fatal(err)
			}
			cfg.SetInterval(tc.interval)
			f := cfg.Services[0].Flows[0]
			if f.Interval != tc.interval {
				t.Errorf("interval %v, want %v", f.Interval, tc.interval)
			}
			if f.ConfirmEvery != tc.want {
				t.Errorf("confirm_every %v, want %v", f.ConfirmEvery, tc.want)
			}
		})
	}
}

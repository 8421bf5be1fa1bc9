package report

import (
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// TestPolicyTextFlowThresholds: the printed policy names the thresholds a
// flow actually used when it sets its own down_after or up_after, so the
// report's words match the config rather than the defaults alone.
func TestPolicyTextFlowThresholds(t *testing.T) {
	flow := func(name string, down, up int) config.Flow {
		return config.Flow{Name: name, Service: "svc", DownAfter: down, UpAfter: up}
	}
	cases := []struct {
		name  string
		flows []config.Flow
		want  []string
		not   []string
	}{
		{"all default", []config.Flow{flow("a", 3, 2), flow("b", 3, 2)},
			nil, []string{"its own thresholds", "their own thresholds"}},
		{"one overrides both", []config.Flow{flow("a", 3, 2), flow("acct", 5, 1)},
			[]string{"Flow acct has its own thresholds: down after 5 consecutive failed runs, up again at the start of the first successful run."}, nil},
		{"two override down_after", []config.Flow{flow("x", 1, 2), flow("y", 4, 2)},
			[]string{"Flows with their own thresholds: x down after 1 failed run, up again at the start of the first of 2 consecutive successful runs; y down after 4 consecutive failed runs, up again at the start of the first of 2 consecutive successful runs."}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := &config.Config{Defaults: config.Defaults{DownAfter: 3, UpAfter: 2}}
			cfg.Services = []config.Service{{Name: "svc", Flows: c.flows}}
			text := strings.Join(policy(cfg).Text, "\n")
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("policy text lacks %q:\n%s", w, text)
				}
			}
			for _, n := range c.not {
				if strings.Contains(text, n) {
					t.Errorf("policy text has %q:\n%s", n, text)
				}
			}
		})
	}
}

// TestPolicyTextConfirmRuns: the policy speaks of confirm runs only when a
// flow makes them; with confirm_every: 0s on every flow it says they are off.
func TestPolicyTextConfirmRuns(t *testing.T) {
	const on, off = "Confirm runs (a flow re-run every confirm_every", "Confirm runs are off"
	for _, tc := range []struct {
		name  string
		every []time.Duration
		want  string
		not   string
	}{
		{"every flow confirms", []time.Duration{10 * time.Second, 5 * time.Second}, on, off},
		{"one flow confirms", []time.Duration{0, 5 * time.Second}, on, off},
		{"none confirms", []time.Duration{0, 0}, off, on},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &config.Config{Defaults: config.Defaults{DownAfter: 2, UpAfter: 1}}
			svc := config.Service{Name: "svc"}
			for i, e := range tc.every {
				svc.Flows = append(svc.Flows, config.Flow{Name: string(rune('a' + i)), Service: "svc", ConfirmEvery: e})
			}
			cfg.Services = []config.Service{svc}
			text := strings.Join(policy(cfg).Text, "\n")
			if !strings.Contains(text, tc.want) || strings.Contains(text, tc.not) {
				t.Errorf("policy text, want %q and not %q:\n%s", tc.want, tc.not, text)
			}
		})
	}
}

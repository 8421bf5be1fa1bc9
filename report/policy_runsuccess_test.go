package report

import (
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// TestPolicySaysWhatRunSuccessCounts: the run success ratio counts
// degraded runs as passed and the runs in planned maintenance too, which
// a reader of a month at 100% beside 99.907% of runs (a failed login in
// its maintenance night), or of 99.798% beside 100% of runs under
// `degraded: down`, could not tell from the policy printed in the report.
func TestPolicySaysWhatRunSuccessCounts(t *testing.T) {
	for _, tc := range []struct {
		degraded string
		want     string
	}{
		{"up", "the run success ratio is shown beside it: the scheduled runs that passed, degraded ones included, over all scheduled runs, those in planned maintenance too."},
		{"down", "the run success ratio is shown beside it: the scheduled runs that passed, degraded ones included (their time counts as down), over all scheduled runs, those in planned maintenance too."},
	} {
		t.Run(tc.degraded, func(t *testing.T) {
			cfg := &config.Config{Loc: time.UTC, Policy: config.Policy{Degraded: tc.degraded}}
			text := strings.Join(PolicyOf(cfg).Text, "\n")
			if !strings.Contains(text, tc.want) {
				t.Errorf("policy:\n%s\nwant %q", text, tc.want)
			}
		})
	}
}

package main

import (
	"testing"

	"github.com/slaprobe/slaprobe/report"
)

// TestDemoSummaryCountsDegradedAndUnknown: the demo's line for a service
// says how much degraded and unknown time there was and how the policy
// counted it, where it gave the downtime alone: with `degraded: down` a
// year with a 90-minute slow route read "availability 99.9263% ...
// downtime 4h57m0s" while the availability had counted 6h27m down.
func TestDemoSummaryCountsDegradedAndUnknown(t *testing.T) {
	avail := 0.9992635304864125
	credit := 0.0
	maps := report.Service{Name: "maps", Objective: 0.995, Availability: &avail, DowntimeSeconds: 17820, CreditPercent: &credit}
	for _, tc := range []struct {
		name              string
		degraded, unknown float64
		policy            report.Policy
		want              string
	}{
		{"neither", 0, 0, report.Policy{Degraded: "down", Unknown: "down"},
			"  maps       availability  99.9263%  objective 99.500%  downtime 4h57m0s  credit 0%"},
		{"degraded counted down", 5400, 0, report.Policy{Degraded: "down", Unknown: "exclude"},
			"  maps       availability  99.9263%  objective 99.500%  downtime 4h57m0s  degraded 1h30m0s (counted as down)  credit 0%"},
		{"degraded counted up", 5400, 0, report.Policy{Degraded: "up", Unknown: "exclude"},
			"  maps       availability  99.9263%  objective 99.500%  downtime 4h57m0s  degraded 1h30m0s (counted as up)  credit 0%"},
		{"unknown excluded", 0, 600, report.Policy{Degraded: "up", Unknown: "exclude"},
			"  maps       availability  99.9263%  objective 99.500%  downtime 4h57m0s  unknown 10m0s (excluded)  credit 0%"},
		{"both, counted down", 5400, 600, report.Policy{Degraded: "down", Unknown: "down"},
			"  maps       availability  99.9263%  objective 99.500%  downtime 4h57m0s  degraded 1h30m0s (counted as down)  unknown 10m0s (counted as down)  credit 0%"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := maps
			s.DegradedSeconds, s.UnknownSeconds = tc.degraded, tc.unknown
			if got := demoSummary(s, tc.policy); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

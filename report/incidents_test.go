package report

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// TestIncidentEdgesBehindMaintenance: maintenance never splits an incident
// nor counts in its duration, so an incident's accounted edges stop where
// maintenance begins. But an outage that ran on through maintenance to the
// end of the period went on after it, as its window says: the incident is
// not over where the maintenance began ("went on after the period", end
// null, end_cut "period"), nor did one that was under way before the period
// begin where the maintenance after the period start ended (start_cut
// "period"). An outage that ended inside maintenance ends where the
// maintenance began, as before.
func TestIncidentEdgesBehindMaintenance(t *testing.T) {
	day := time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
	next := day.Add(24 * time.Hour)
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	tests := []struct {
		name                 string
		from, to             time.Time
		failUntil            time.Time // chat's send fails from 23:00 to this
		wantStart            time.Time
		wantEnd              *time.Time
		wantStartCut, endCut string
		wantSeconds          float64
	}{
		{"into maintenance past the period end", day, next, at(25, 0), at(23, 0), nil, "", CutPeriod, 1800},
		{"from before the period through maintenance", next, next.Add(24 * time.Hour), at(25, 0), at(24, 30), ptrT(at(25, 0)), CutPeriod, "", 1800},
		{"ended inside maintenance", day, next, at(23, 45), at(23, 0), ptrT(at(23, 30)), "", "", 1800},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			cfg.Maintenance = []config.Maintenance{{Service: "messaging", Start: at(23, 30), End: at(24, 30), Reason: "across the day"}}
			s := newMemStore()
			load(t, s, cfg, schedule("seoul-a", day.Add(-time.Hour), next.Add(24*time.Hour), time.Minute,
				between(day.Add(-time.Hour), "fail:send", [2]time.Time{at(23, 0), tc.failUntil})))
			rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: tc.from, To: tc.to, Timelines: []*config.Timeline{}, Now: next.Add(48 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			incs := rep.Services[0].IncidentList
			if len(incs) != 1 {
				t.Fatalf("incidents %+v, want one", incs)
			}
			inc := incs[0]
			endOK := (inc.End == nil) == (tc.wantEnd == nil) && (inc.End == nil || inc.End.Equal(*tc.wantEnd))
			if !inc.Start.Equal(tc.wantStart) || !endOK || inc.StartCut != tc.wantStartCut || inc.EndCut != tc.endCut || inc.DurationSeconds != tc.wantSeconds {
				t.Errorf("incident %s..%v (cuts %q/%q, %gs), want %s..%v (cuts %q/%q, %gs)",
					inc.Start, inc.End, inc.StartCut, inc.EndCut, inc.DurationSeconds, tc.wantStart, tc.wantEnd, tc.wantStartCut, tc.endCut, tc.wantSeconds)
			}
		})
	}
}

func ptrT(t time.Time) *time.Time { return &t }

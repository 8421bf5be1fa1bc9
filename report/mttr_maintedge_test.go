package report

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// TestMTTRMaintenanceEdgeOfOneFlowOnly: an incident's start (end) is the
// maintenance's when any of its windows ran on into (out of) the planned
// work there, even if another flow's window begins (ends) at that very
// instant. chat down 10:30-11:00 through a 10:25-10:45 maintenance, inbox
// down from 10:45:00, the maintenance's end: the service was already down
// when the maintenance ended (chat), so 10:45 is not when the outage began.
// inbox's start at the same instant made it "measured": the incident read
// "10:45:00" unmarked and its 15 minutes went into MTTR (and its detection
// into MTTD), as a recovery time for an outage that began at 10:30.
// Likewise at the end: inbox, down since 10:41, recovered at 10:50:00, as a 10:50-11:30
// maintenance began, while chat stayed down into it (down 10:45-10:55).
func TestMTTRMaintenanceEdgeOfOneFlowOnly(t *testing.T) {
	h := hourStart
	cases := []struct {
		name        string
		chat, inbox [2]int
		maint       config.Maintenance
		cut         string // "start" or "end"
	}{
		{"start", [2]int{30, 60}, [2]int{45, 55}, config.Maintenance{Service: "messaging", Start: h.Add(25 * time.Minute), End: h.Add(45 * time.Minute)}, "start"},
		{"end", [2]int{45, 55}, [2]int{41, 50}, config.Maintenance{Service: "messaging", Start: h.Add(50 * time.Minute), End: h.Add(90 * time.Minute)}, "end"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			inbox := cfg.Services[0].Flows[0]
			inbox.Name = "inbox"
			// inbox confirms a minute later than chat: its detection
			// (120.3 s) would move MTTD.
			inbox.DownAfter = 3
			cfg.Services[0].Flows = append(cfg.Services[0].Flows, inbox)
			cfg.Maintenance = []config.Maintenance{tc.maint}
			// A recovered incident 10:05-10:15 of chat, so that MTTR is
			// not null either way.
			runs := schedule("seoul-a", h, h.Add(2*time.Hour), time.Minute, failing("fail:send", [2]int{5, 15}, tc.chat))
			var ib []probe.Run
			for _, r := range schedule("seoul-a", h, h.Add(2*time.Hour), time.Minute, failing("fail:send", tc.inbox)) {
				r.ID, r.Flow = "inbox-"+r.ID, "inbox"
				ib = append(ib, r)
			}
			s := stores()[0].open(t)
			load(t, s, cfg, append(runs, ib...))
			rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: h, To: h.Add(2 * time.Hour), Now: h.Add(2 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			sv := rep.Services[0]
			if sv.Incidents != 2 {
				t.Fatalf("incidents = %d, want 2: %+v", sv.Incidents, sv.IncidentList)
			}
			inc := sv.IncidentList[1]
			if got := inc.StartMaintenance || inc.EndMaintenance; !got || inc.StartMaintenance != (tc.cut == "start") {
				t.Errorf("incident %+v: StartMaintenance %v, EndMaintenance %v; want the %s cut by maintenance", inc, inc.StartMaintenance, inc.EndMaintenance, tc.cut)
			}
			if got := val(sv.MTTRSeconds); !near(got, 600) {
				t.Errorf("mttr = %v, want 600 (the 10:05-10:15 incident alone)", got)
			}
			if tc.cut == "start" {
				if got := val(sv.MTTDSeconds); !near(got, 60.3) {
					t.Errorf("mttd = %v, want 60.3 (the 10:05 incident's confirming run's end alone)", got)
				}
			}
		})
	}
}

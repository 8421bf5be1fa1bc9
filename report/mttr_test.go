package report

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// TestMTTRCountsRecoveredIncidentsOnly: MTTR is the mean time to recover,
// so it is taken over the incidents whose recovery was seen in the period
// (and whose start was: one cut by the period's start is only its tail). An
// outage still going on, or one whose end no run saw (the prober stopped),
// has not been seen to recover: it is in the incident count and the average
// outage, but an MTTR that averaged its length so far in would call a
// service that has not recovered "recovered in N minutes".
func TestMTTRCountsRecoveredIncidentsOnly(t *testing.T) {
	h := hourStart // 10:00; one-minute interval, down_after 2
	cases := []struct {
		name       string
		from, now  time.Time
		runs       []probe.Run
		maint      []config.Maintenance
		cutByMaint string // the last incident's edge maintenance cut: "start", "end" or ""
		incidents  int
		mttr       float64 // NaN: null
		average    float64
	}{{
		// 10:10-10:20 down and recovered; 10:40 down again, open at now
		// (11:00 of a period to 12:00): two incidents, one recovered.
		name: "one recovered, one open at now",
		from: h, now: h.Add(time.Hour),
		runs:      schedule("seoul-a", h, h.Add(time.Hour), time.Minute, failing("fail:send", [2]int{10, 20}, [2]int{40, 60})),
		incidents: 2, mttr: 600, average: (600 + 1200) / 2,
	}, {
		name: "only an open one",
		from: h, now: h.Add(time.Hour),
		runs:      schedule("seoul-a", h, h.Add(time.Hour), time.Minute, failing("fail:send", [2]int{40, 60})),
		incidents: 1, mttr: nan(), average: 1200,
	}, {
		// Down from 09:50 (before the period, which starts at 10:00)
		// to 10:05: only its last 5 minutes are in the period.
		name: "one cut by the period start, one recovered",
		from: h.Add(10 * time.Minute), now: h.Add(time.Hour),
		runs:      schedule("seoul-a", h, h.Add(time.Hour), time.Minute, failing("fail:send", [2]int{0, 15}, [2]int{30, 37})),
		incidents: 2, mttr: 420, average: (300 + 420) / 2,
	}, {
		// The prober stops after its 10:49 run, down since 10:40: the
		// end (10:50, where its data ends) was not seen.
		name: "one whose end no run saw",
		from: h, now: h.Add(2 * time.Hour),
		runs:      schedule("seoul-a", h, h.Add(50*time.Minute), time.Minute, failing("fail:send", [2]int{10, 13}, [2]int{40, 60})),
		incidents: 2, mttr: 180, average: (180 + 600) / 2,
	}, {
		// Down 10:05-10:15, and 10:30-11:00 through a 10:25-10:45
		// maintenance: the second incident is counted from 10:45 (the
		// maintenance's end), 15 minutes, but its start was not seen
		// then: it began at 10:30, inside the planned work, and an MTTR
		// of (600+900)/2 called a 30-minute outage a 15-minute recovery.
		name: "one begun inside maintenance",
		from: h, now: h.Add(2 * time.Hour),
		runs:       schedule("seoul-a", h, h.Add(2*time.Hour), time.Minute, failing("fail:send", [2]int{5, 15}, [2]int{30, 60})),
		maint:      []config.Maintenance{{Service: "messaging", Start: h.Add(25 * time.Minute), End: h.Add(45 * time.Minute)}},
		cutByMaint: "start",
		incidents:  2, mttr: 600, average: (600 + 900) / 2,
	}, {
		// Down 10:10-10:20, and 10:45-10:55 into a 10:50-11:30
		// maintenance: the second is counted up to 10:50, 5 minutes, its
		// end (10:55) inside the planned work, not seen as a recovery
		// (the old MTTR (600+300)/2).
		name: "one ended inside maintenance",
		from: h, now: h.Add(2 * time.Hour),
		runs:       schedule("seoul-a", h, h.Add(2*time.Hour), time.Minute, failing("fail:send", [2]int{10, 20}, [2]int{45, 55})),
		maint:      []config.Maintenance{{Service: "messaging", Start: h.Add(50 * time.Minute), End: h.Add(90 * time.Minute)}},
		cutByMaint: "end",
		incidents:  2, mttr: 600, average: (600 + 300) / 2,
	}, {
		// Down 10:10-10:40 with a 10:20-10:30 maintenance inside: both
		// edges measured, 20 minutes counted (maintenance does not count
		// in an incident's duration), still in MTTR.
		name: "maintenance inside one",
		from: h, now: h.Add(2 * time.Hour),
		runs:      schedule("seoul-a", h, h.Add(2*time.Hour), time.Minute, failing("fail:send", [2]int{10, 40})),
		maint:     []config.Maintenance{{Service: "messaging", Start: h.Add(20 * time.Minute), End: h.Add(30 * time.Minute)}},
		incidents: 1, mttr: 1200, average: 1200,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			cfg.Maintenance = tc.maint
			s := stores()[0].open(t)
			load(t, s, cfg, tc.runs)
			rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: tc.from, To: h.Add(2 * time.Hour), Now: tc.now})
			if err != nil {
				t.Fatal(err)
			}
			sv := rep.Services[0]
			if sv.Incidents != tc.incidents {
				t.Fatalf("incidents = %d, want %d: %+v", sv.Incidents, tc.incidents, sv.IncidentList)
			}
			if got := val(sv.MTTRSeconds); !(near(got, tc.mttr) || (got != got && tc.mttr != tc.mttr)) {
				t.Errorf("mttr = %v, want %v (incidents %+v)", got, tc.mttr, sv.IncidentList)
			}
			if got := val(sv.AverageSeconds); !near(got, tc.average) {
				t.Errorf("average outage = %v, want %v", got, tc.average)
			}
			for i, inc := range sv.IncidentList {
				last := i == len(sv.IncidentList)-1
				if want := last && tc.cutByMaint == "start"; inc.StartMaintenance != want {
					t.Errorf("incident %d: StartMaintenance = %v, want %v", i, inc.StartMaintenance, want)
				}
				if want := last && tc.cutByMaint == "end"; inc.EndMaintenance != want {
					t.Errorf("incident %d: EndMaintenance = %v, want %v", i, inc.EndMaintenance, want)
				}
			}
		})
	}
}

func nan() float64 { return val(nil) }

// TestMTBFCountsFailuresBegunInPeriod: MTBF is the up time divided by the
// failures that began in the period. An incident still going on at the
// period's end began in it: its start ended a stretch of up time, so it
// counts (10:00-10:10 up, down, 10:20-10:40 up, down until now: two
// stretches of 10 and 20 minutes each ended by a failure, 15 minutes). One
// that began before the period did not: counting it halved the MTBF of a
// month whose first hour was the tail of last month's outage.
func TestMTBFCountsFailuresBegunInPeriod(t *testing.T) {
	h := hourStart // 10:00; one-minute interval, down_after 2
	cases := []struct {
		name      string
		from, now time.Time
		runs      []probe.Run
		incidents int
		mtbf      float64 // NaN: null
	}{{
		name: "one recovered, one open at now",
		from: h, now: h.Add(time.Hour),
		runs:      schedule("seoul-a", h, h.Add(time.Hour), time.Minute, failing("fail:send", [2]int{10, 20}, [2]int{40, 60})),
		incidents: 2, mtbf: (600 + 1200) / 2,
	}, {
		// The period starts at 10:10: down from 10:00 (before it) to
		// 10:15, up 10:15-10:30, down 10:30-10:37, up 10:37-11:00: 38
		// minutes up, one failure begun in the period (old: 38/2).
		name: "one cut by the period start, one recovered",
		from: h.Add(10 * time.Minute), now: h.Add(time.Hour),
		runs:      schedule("seoul-a", h, h.Add(time.Hour), time.Minute, failing("fail:send", [2]int{0, 15}, [2]int{30, 37})),
		incidents: 2, mtbf: 38 * 60,
	}, {
		name: "only one cut by the period start",
		from: h.Add(10 * time.Minute), now: h.Add(time.Hour),
		runs:      schedule("seoul-a", h, h.Add(time.Hour), time.Minute, failing("fail:send", [2]int{0, 15})),
		incidents: 1, mtbf: nan(),
	}, {
		name: "none",
		from: h, now: h.Add(time.Hour),
		runs:      schedule("seoul-a", h, h.Add(time.Hour), time.Minute, failing("ok")),
		incidents: 0, mtbf: nan(),
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			s := stores()[0].open(t)
			load(t, s, cfg, tc.runs)
			rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: tc.from, To: h.Add(2 * time.Hour), Now: tc.now})
			if err != nil {
				t.Fatal(err)
			}
			sv := rep.Services[0]
			if sv.Incidents != tc.incidents {
				t.Fatalf("incidents = %d, want %d: %+v", sv.Incidents, tc.incidents, sv.IncidentList)
			}
			if got := val(sv.MTBFSeconds); !(near(got, tc.mtbf) || (got != got && tc.mtbf != tc.mtbf)) {
				t.Errorf("mtbf = %v, want %v (up %v s, incidents %+v)", got, tc.mtbf, sv.UptimeSeconds, sv.IncidentList)
			}
		})
	}
}

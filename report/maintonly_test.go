package report

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// TestRangeAllMaintenance: a range that planned maintenance covers whole
// has no availability (no time to judge it over) but is not "no data":
// the time is excluded from the SLA, not missing, so report.json says
// "maintenance_only": true with "no_data": false for the service, its flows
// and its days, whether or not runs were stored in it. Before, `slaprobe
// report --from 02:30 --to 03:30` inside a 02:00-04:00 upgrade read "no
// data" (no_data true) with its 60 runs 100% passing. A range partly
// maintenance, partly without runs is still no data; one partly measured
// has its figure.
func TestRangeAllMaintenance(t *testing.T) {
	m := time.Minute
	tests := []struct {
		name         string
		runs         [2]int // minutes with runs, [from, to) after 10:00
		from, to     time.Time
		avail        string // "null" or the figure
		noData, only bool
	}{
		{"all maintenance, runs throughout", [2]int{0, 60}, hm(10, 20), hm(10, 40), "null", false, true},
		{"all maintenance, no runs", [2]int{0, 0}, hm(10, 20), hm(10, 40), "null", false, true},
		{"maintenance then no runs", [2]int{0, 10}, hm(10, 30), hm(11, 0), "null", true, false},
		{"maintenance then measured", [2]int{0, 60}, hm(10, 30), hm(11, 0), "1", false, false},
	}
	for _, st := range stores() {
		for _, tc := range tests {
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				cfg := testConfig("UTC", m)
				cfg.Maintenance = config.MaintenancePlan{{Service: "messaging", Start: hm(10, 15), End: hm(10, 45), Reason: "planned database upgrade"}}
				s := st.open(t)
				if tc.runs[1] > tc.runs[0] {
					load(t, s, cfg, schedule("seoul-a", hm(10, tc.runs[0]), hm(10, tc.runs[1]), m, failing("ok")))
				}
				rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: tc.from, To: tc.to, Timelines: []*config.Timeline{}})
				if err != nil {
					t.Fatal(err)
				}
				sv := rep.Services[0]
				avail := func(v *float64) string {
					if v == nil {
						return "null"
					}
					return strconv.FormatFloat(*v, 'g', -1, 64)
				}
				if got := avail(sv.Availability); got != tc.avail || sv.NoData != tc.noData || sv.MaintenanceOnly != tc.only {
					t.Errorf("service: availability %s, no_data %v, maintenance_only %v; want %s, %v, %v", got, sv.NoData, sv.MaintenanceOnly, tc.avail, tc.noData, tc.only)
				}
				for _, f := range sv.Flows {
					if got := avail(f.Availability); got != tc.avail || f.NoData != tc.noData || f.MaintenanceOnly != tc.only {
						t.Errorf("flow %s: availability %s, no_data %v, maintenance_only %v; want %s, %v, %v", f.Name, got, f.NoData, f.MaintenanceOnly, tc.avail, tc.noData, tc.only)
					}
				}
				if d := sv.Daily[0]; d.MaintenanceOnly != tc.only {
					t.Errorf("day %s: maintenance_only %v, want %v", d.Date, d.MaintenanceOnly, tc.only)
				}
				if sv.CreditPercent != nil && tc.avail == "null" {
					t.Errorf("credit %v without an availability", *sv.CreditPercent)
				}
				if got := strings.Contains(jsonOf(t, rep), `"maintenance_only":true`); got != tc.only {
					t.Errorf("report.json has maintenance_only: true %v, want %v", got, tc.only)
				}
			})
		}
	}
}

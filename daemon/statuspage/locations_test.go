package statuspage

import (
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/daemon"
	"github.com/slaprobe/slaprobe/report"
)

// TestLocationsSilentProber: in a fleet, a prober that stopped (and has
// not come back) must read as not reporting, never as up (no open window of
// its own) nor as down (a window it left open when it stopped).
func TestLocationsSilentProber(t *testing.T) {
	cfg := genConfig(10, 2, time.Minute)
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	stopped := now.Add(-30 * time.Minute)
	svc := cfg.Services[0].Name
	open := report.Window{Service: svc, Kind: "down", Start: stopped.Add(-5 * time.Minute), Locations: []string{"busan-c"}}
	tests := []struct {
		name   string
		svc    report.Service
		silent map[string]time.Time
		want   map[string]string // location -> state word and summary
		maint  config.MaintenancePlan
	}{
		{"silent, nothing open", report.Service{Name: svc}, map[string]time.Time{"busan-c": stopped},
			map[string]string{"seoul-a": "up", "seoul-b": "up", "busan-c": "unknown: not reporting since 2026-03-20 11:30 UTC"}, nil},
		{"silent with a window left open", report.Service{Name: svc, BelowQuorum: []report.Window{open}}, map[string]time.Time{"busan-c": stopped},
			map[string]string{"seoul-a": "up", "seoul-b": "up", "busan-c": "unknown: not reporting since 2026-03-20 11:30 UTC"}, nil},
		{"reporting and down", report.Service{Name: svc, BelowQuorum: []report.Window{open}}, nil,
			map[string]string{"seoul-a": "up", "seoul-b": "up", "busan-c": "down: down: " + svc}, nil},
		// A service under planned maintenance is expected to be down: it
		// is not "down" at any location, which says it is in maintenance.
		{"down during planned maintenance", report.Service{Name: svc, BelowQuorum: []report.Window{open}}, nil,
			map[string]string{"seoul-a": "maintenance: 0/1 services up; in planned maintenance: " + svc, "busan-c": "maintenance: 0/1 services up; in planned maintenance: " + svc},
			config.MaintenancePlan{{Service: "*", Start: now.Add(-time.Hour), End: now.Add(time.Hour)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			month := &report.Report{Location: "busan-c,seoul-a,seoul-b", Services: []report.Service{tc.svc}, Silent: tc.silent}
			live := liveAll(cfg, now, "up")
			cfg := *cfg
			cfg.Maintenance = tc.maint
			got := map[string]string{}
			for _, lv := range locations(&cfg, month, &live, now) {
				got[lv.Name] = lv.State.Word
				if lv.State != stUp {
					got[lv.Name] += ": " + lv.Summary
				}
			}
			for l, want := range tc.want {
				if !strings.HasPrefix(got[l], want) {
					t.Errorf("%s: %q, want %q", l, got[l], want)
				}
			}
		})
	}
}

// liveAll is a daemon status in which every function of every flow of cfg
// is in state.
func liveAll(cfg *config.Config, now time.Time, state string) daemon.Status {
	st := daemon.Status{Location: cfg.Location, Time: now}
	for _, s := range cfg.Services {
		for _, f := range s.Flows {
			fs := daemon.FlowStatus{Flow: f.Name, Service: s.Name, Location: cfg.Location, State: state}
			for _, fn := range f.Functions() {
				fs.Functions = append(fs.Functions, daemon.FunctionStatus{Function: fn, State: state})
			}
			st.Flows = append(st.Flows, fs)
		}
	}
	return st
}

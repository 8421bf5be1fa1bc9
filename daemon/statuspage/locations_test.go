package statuspage

import (
	"strings"
	"testing"
	"time"

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
	}{
		{"silent, nothing open", report.Service{Name: svc}, map[string]time.Time{"busan-c": stopped},
			map[string]string{"seoul-a": "up", "seoul-b": "up", "busan-c": "unknown: not reporting since 2026-03-20 11:30 UTC"}},
		{"silent with a window left open", report.Service{Name: svc, BelowQuorum: []report.Window{open}}, map[string]time.Time{"busan-c": stopped},
			map[string]string{"seoul-a": "up", "seoul-b": "up", "busan-c": "unknown: not reporting since 2026-03-20 11:30 UTC"}},
		{"reporting and down", report.Service{Name: svc, BelowQuorum: []report.Window{open}}, nil,
			map[string]string{"seoul-a": "up", "seoul-b": "up", "busan-c": "down: down: " + svc}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			month := &report.Report{Location: "busan-c,seoul-a,seoul-b", Services: []report.Service{tc.svc}, Silent: tc.silent}
			live := daemon.Status{Location: cfg.Location, Time: now}
			got := map[string]string{}
			for _, lv := range locations(cfg, month, &live) {
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

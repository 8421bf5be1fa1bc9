package report

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// TestWindowMaintenanceSeconds: each window says how much of it planned
// maintenance covered (maintenance_seconds, absent when none), in the
// report's windows and in `windows` alike, stored or recomputed: a
// consumer of windows.json had to intersect every window with report.json's
// maintenance spans to tell downtime from planned work. Two maintenance
// windows that overlap count once; a "*" one covers every service; one
// that touches the window at an instant covers nothing of it.
func TestWindowMaintenanceSeconds(t *testing.T) {
	h := hourStart
	at := func(m int) time.Time { return h.Add(time.Duration(m) * time.Minute) }
	for _, tc := range []struct {
		name  string
		maint []config.Maintenance
		want  float64 // of the window 10:30-11:00
	}{
		{"none", nil, 0},
		{"inside, two overlapping", []config.Maintenance{{Service: "messaging", Start: at(35), End: at(45)}, {Service: "messaging", Start: at(40), End: at(50)}}, 15 * 60},
		{"every service", []config.Maintenance{{Service: "*", Start: at(20), End: at(40)}}, 10 * 60},
		{"another service", []config.Maintenance{{Service: "payments", Start: at(20), End: at(40)}}, 0},
		{"touching its end", []config.Maintenance{{Service: "messaging", Start: at(60), End: at(70)}}, 0},
		{"all of it", []config.Maintenance{{Service: "messaging", Start: at(0), End: at(90)}}, 30 * 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			cfg.Maintenance = tc.maint
			runs := schedule("seoul-a", h, h.Add(2*time.Hour), time.Minute, failing("fail:send", [2]int{30, 60}))
			s := stores()[0].open(t)
			load(t, s, cfg, runs)
			in := Input{Config: cfg, Store: s, From: h, To: h.Add(2 * time.Hour), Now: h.Add(2 * time.Hour)}
			rep, err := Build(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			stored, _, err := WindowsAndBelow(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			in.Recompute = true
			recomputed, _, err := WindowsAndBelow(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			for name, ws := range map[string][]Window{"report": rep.Windows, "windows": stored, "windows --recompute": recomputed} {
				if len(ws) == 0 {
					t.Fatalf("%s: no window", name)
				}
				for _, w := range ws {
					if w.MaintenanceSeconds != tc.want {
						t.Errorf("%s: window %s-%v of %v: maintenance_seconds %v, want %v", name, w.Start.Format("15:04"), w.End, ptrStr(w.Function), w.MaintenanceSeconds, tc.want)
					}
				}
			}
		})
	}
}

func ptrStr(s *string) string {
	if s == nil {
		return "the flow"
	}
	return *s
}

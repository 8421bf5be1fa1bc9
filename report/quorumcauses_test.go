package report

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// withError gives every failed step of runs the error msg (each location
// of a fleet fails with its own).
func withError(runs []probe.Run, msg string) []probe.Run {
	for i := range runs {
		for j := range runs[i].Steps {
			if runs[i].Steps[j].Status == probe.StatusFailed {
				runs[i].Steps[j].Error = msg
			}
		}
	}
	return runs
}

// errorCauses writes a window's causes as "error@HH:MM-HH:MM" ("open" for
// one that lasts).
func errorCauses(w Window) string {
	var parts []string
	for _, c := range w.Causes {
		to := "open"
		if c.To != nil {
			to = c.To.Format("15:04")
		}
		parts = append(parts, c.Error+"@"+c.From.Format("15:04")+"-"+to)
	}
	return strings.Join(parts, ", ")
}

// TestQuorumWindowCausesWholeWindow: the causes of a counted (fleet) window
// cover the whole window, from every location that made it count, each
// clipped to the window, the same cause at several locations one cause.
// Before, they were the causes of the location window that began first,
// clipped to the counted window: seoul-a down 10:10-10:20 and busan-b and
// daegu-c from 10:12 and 10:15 to 10:40 made a counted window 10:12-10:40
// whose only cause ended at 10:20, so its last 20 minutes had none (and the
// refusals and timeouts of the two locations that kept it down were in no
// cause at all).
func TestQuorumWindowCausesWholeWindow(t *testing.T) {
	m := time.Minute
	tests := []struct {
		name     string
		now      time.Time // zero: the period is over
		errs     [3]string // of seoul-a, busan-b, daegu-c
		untilEnd bool      // busan-b and daegu-c fail to the period's end
		want     string    // the counted flow window's causes
		window   string
	}{
		{"each location its own error", time.Time{},
			[3]string{"login: HTTP 503", "login: connection refused", "login: i/o timeout"}, false,
			"login: HTTP 503@10:12-10:20, login: connection refused@10:12-10:40, login: i/o timeout@10:15-10:40",
			"flow down 10:12-10:40 login busan-b,daegu-c,seoul-a"},
		{"one error everywhere", time.Time{},
			[3]string{"login: HTTP 503", "login: HTTP 503", "login: HTTP 503"}, false,
			"login: HTTP 503@10:12-10:40",
			"flow down 10:12-10:40 login busan-b,daegu-c,seoul-a"},
		{"still open", hm(10, 50),
			[3]string{"login: HTTP 503", "login: connection refused", "login: i/o timeout"}, true,
			"login: HTTP 503@10:12-10:20, login: connection refused@10:12-open, login: i/o timeout@10:15-open",
			"flow down 10:12-open login busan-b,daegu-c,seoul-a"},
	}
	for _, st := range stores() {
		for _, tc := range tests {
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				end := 40
				if tc.untilEnd {
					end = 60
				}
				to := hm(11, 0)
				if !tc.now.IsZero() {
					to = tc.now
				}
				runs := withError(schedule("seoul-a", hm(10, 0), to, m, failing("fail:login", [2]int{10, 20})), tc.errs[0])
				runs = append(runs, withError(schedule("busan-b", hm(10, 0), to, m, failing("fail:login", [2]int{12, end})), tc.errs[1])...)
				runs = append(runs, withError(schedule("daegu-c", hm(10, 0), to, m, failing("fail:login", [2]int{15, end})), tc.errs[2])...)
				cfg := testConfig("UTC", m)
				s := st.open(t)
				load(t, s, cfg, runs)
				for _, recompute := range []bool{false, true} {
					rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: hm(10, 0), To: hm(11, 0), Now: tc.now, Recompute: recompute, Timelines: []*config.Timeline{}})
					if err != nil {
						t.Fatal(err)
					}
					var flow *Window
					for i, w := range rep.Services[0].Windows {
						if w.Function == nil {
							flow = &rep.Services[0].Windows[i]
						}
					}
					if flow == nil {
						t.Fatalf("recompute %v: no counted flow window in %q", recompute, winList(rep.Services[0].Windows))
					}
					if got := winList([]Window{*flow})[0]; got != tc.window {
						t.Errorf("recompute %v: window %q, want %q", recompute, got, tc.window)
					}
					if got := errorCauses(*flow); got != tc.want {
						t.Errorf("recompute %v: causes\n got %s\nwant %s", recompute, got, tc.want)
					}
					if c := flow.Causes[0]; c.Step != flow.CauseStep || c.Error != flow.Error {
						t.Errorf("recompute %v: first cause %s: %s, but cause_step/error %s: %s", recompute, c.Step, c.Error, flow.CauseStep, flow.Error)
					}
				}
			})
		}
	}
}

package report

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// TestFunctionDowntimeIsItsOwnWindows: a function's downtime (per function
// accounting: Service.Functions, the status page's daily bars) is what the
// state machine's windows of that function cover, counted after the quorum
// as the report's other windows are, not what its flow's whole-flow windows
// cover as read from their first cause. Found by the session agreement
// fuzz (daemon/sessionagree_test.go, checkFunctionFigures; seeds 1, 3, 4
// and 9 of make sessionfuzz). Two ways they differed:
//
//   - a window whose cause changes: login fails from 10:30 to 10:40, then
//     send until 11:00. The flow is down 10:30-11:00, its first cause login;
//     login's own window is 10:30-10:40 (it passes from 10:40), send's and
//     receive's 10:30-11:00 (blocked, then failing). Read from the first
//     cause, login was down 1800 s, not 600.
//   - the quorum: seoul-a's login fails from 10:30 to 11:00 while busan-b's
//     counted teardown (cleanup) fails, with quorum all. The flow is down at
//     both locations, so its window counts; no function is down at both (its
//     windows are below the quorum, as slaprobe_function_up says at each
//     location), yet the window's cause put its functions down 1800 s.
//
// The control: one location, login failing 10:30-11:00, where both
// readings agree.
func TestFunctionDowntimeIsItsOwnWindows(t *testing.T) {
	between := func(from, to time.Time, what string) func(time.Duration) string {
		return func(off time.Duration) string {
			if at := hm(10, 0).Add(off); !at.Before(from) && at.Before(to) {
				return what
			}
			return "ok"
		}
	}
	for _, tc := range []struct {
		name    string
		quorum  config.Quorum
		seoul   func(time.Duration) string
		cleanup bool // busan-b runs too, its cleanup failing 10:30-11:00
		down    map[string]float64
	}{
		{name: "control", quorum: config.Quorum{Mode: "majority"}, seoul: between(hm(10, 30), hm(11, 0), "fail:login"),
			down: map[string]float64{"login": 1800, "send": 1800, "receive": 1800}},
		{name: "cause changes", quorum: config.Quorum{Mode: "majority"}, seoul: func(off time.Duration) string {
			if at := hm(10, 0).Add(off); !at.Before(hm(10, 40)) && at.Before(hm(11, 0)) {
				return "fail:send"
			}
			return between(hm(10, 30), hm(10, 40), "fail:login")(off)
		}, down: map[string]float64{"login": 600, "send": 1800, "receive": 1800}},
		{name: "quorum", quorum: config.Quorum{Mode: "all"}, seoul: between(hm(10, 30), hm(11, 0), "fail:login"), cleanup: true,
			down: map[string]float64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			cfg.Policy.Quorum = tc.quorum
			chat := &cfg.Services[0].Flows[0]
			chat.Teardown = []config.Step{{Name: "cleanup", Function: "cleanup", Counts: true}}
			withCleanup := func(runs []probe.Run, fail bool) []probe.Run {
				for i := range runs {
					r := &runs[i]
					st := probe.StepResult{Step: "cleanup", Function: "cleanup", Status: probe.StatusOK, Duration: 100 * time.Millisecond}
					if fail && !r.Start.Before(hm(10, 30)) && r.Start.Before(hm(11, 0)) {
						st.Status, st.Error = probe.StatusFailed, "cleanup: HTTP 503"
					}
					r.Steps = append(r.Steps, st)
				}
				return runs
			}
			s := newMemStore()
			load(t, s, cfg, withCleanup(schedule("seoul-a", hm(10, 0), hm(12, 0), time.Minute, tc.seoul), false))
			if tc.cleanup {
				load(t, s, cfg, withCleanup(schedule("busan-b", hm(10, 0), hm(12, 0), time.Minute, between(hm(10, 0), hm(12, 0), "ok")), true))
			}
			rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: hm(10, 0), To: hm(12, 0), Functions: true})
			if err != nil {
				t.Fatal(err)
			}
			svc := rep.Services[0]
			flowDown := 0.0
			for _, f := range svc.Flows {
				flowDown += f.DowntimeSeconds
			}
			if flowDown != 1800 {
				t.Errorf("the flow down %gs, want 1800s", flowDown)
			}
			// The state machine's own function windows, counted.
			own := map[string]float64{}
			for _, w := range svc.Windows {
				if w.Function != nil && w.End != nil && w.Kind == "down" {
					own[*w.Function] += w.End.Sub(w.Start).Seconds()
				}
			}
			var got, want, owns []string
			for _, fa := range svc.Functions {
				if fa.DowntimeSeconds > 0 {
					got = append(got, fmt.Sprintf("%s %gs", fa.Name, fa.DowntimeSeconds))
				}
				if own[fa.Name] > 0 {
					owns = append(owns, fmt.Sprintf("%s %gs", fa.Name, own[fa.Name]))
				}
				day := 0.0
				for _, d := range fa.Daily {
					day += d.DowntimeSeconds
				}
				if day != fa.DowntimeSeconds {
					t.Errorf("%s: its days add up to %gs down, its figure %gs", fa.Name, day, fa.DowntimeSeconds)
				}
			}
			for fn, v := range tc.down {
				want = append(want, fmt.Sprintf("%s %gs", fn, v))
			}
			slices.Sort(got)
			slices.Sort(want)
			slices.Sort(owns)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("functions down: %v, want %v", got, want)
			}
			if fmt.Sprint(owns) != fmt.Sprint(want) {
				t.Errorf("the functions' own windows: %v, want %v", owns, want)
			}
		})
	}
}

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

// TestFunctionsOfAWindowCausedOutsideTheSteps: what a whole-flow window
// took down when its cause step is not one of the flow's steps but a
// counted teardown step (docs/config.md, Teardown: it runs after a failed
// step too, so it blocks nothing) or a step of the flow's session (it
// blocks the flow's steps, as a login among the steps does, but not the
// teardown, which runs anyway). The state machine's function windows say
// so (the daemon's live states and the stored function windows): chat's
// cleanup failing from 10:30 to 11:00 takes cleanup down and nothing else;
// a session login failing takes login, send and receive down, not cleanup.
// Before, the report read such a window, its cause not found among the
// flow's steps, as taking every function of the flow down: per function
// downtime (the status page's bars), the incident's functions and the
// reconciliation's matching counted a failing cleanup as send's and
// receive's downtime too.
func TestFunctionsOfAWindowCausedOutsideTheSteps(t *testing.T) {
	for _, tc := range []struct {
		name    string
		session bool
		fail    string   // the step failing from 10:30 to 11:00
		down    []string // the functions down then
		decl    []string // a declared incident's functions, 10:30 to 11:00
		detect  bool     // whether the report detects it
	}{
		{name: "teardown", fail: "cleanup", down: []string{"cleanup"}, decl: []string{"cleanup"}, detect: true},
		{name: "teardown/declared send", fail: "cleanup", down: []string{"cleanup"}, decl: []string{"send"}},
		{name: "session login", session: true, fail: "login", down: []string{"login", "send", "receive"}, decl: []string{"cleanup"}},
		{name: "login", fail: "login", down: []string{"login", "send", "receive"}, decl: []string{"cleanup"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			chat := &cfg.Services[0].Flows[0]
			chat.Teardown = []config.Step{{Name: "cleanup", Function: "cleanup", Counts: true}}
			if tc.session {
				sessionLogin(chat, time.Minute)
			}
			runs := schedule("seoul-a", hm(10, 0), hm(12, 0), time.Minute, func(off time.Duration) string {
				if t := hm(10, 0).Add(off); !t.Before(hm(10, 30)) && t.Before(hm(11, 0)) && tc.fail == "login" {
					return "fail:login"
				}
				return "ok"
			})
			for i := range runs {
				r := &runs[i]
				st := probe.StepResult{Step: "cleanup", Function: "cleanup", Status: probe.StatusOK, Duration: 100 * time.Millisecond}
				if !r.Start.Before(hm(10, 30)) && r.Start.Before(hm(11, 0)) && tc.fail == "cleanup" {
					st.Status, st.Error = probe.StatusFailed, "cleanup: HTTP 503"
				}
				r.Steps = append(r.Steps, st)
			}
			s := newMemStore()
			load(t, s, cfg, runs)
			inc := incident("declared", "down", tc.decl, hm(10, 30), hm(11, 0))
			rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: hm(10, 0), To: hm(12, 0), Functions: true, Timelines: timeline(inc)})
			if err != nil {
				t.Fatal(err)
			}
			svc := rep.Services[0]
			var got []string
			for _, fa := range svc.Functions {
				if fa.DowntimeSeconds > 0 {
					got = append(got, fmt.Sprintf("%s %gs", fa.Name, fa.DowntimeSeconds))
				}
			}
			var want []string
			for _, fn := range tc.down {
				want = append(want, fn+" 1800s")
			}
			slices.Sort(got)
			slices.Sort(want)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("functions down: %v, want %v", got, want)
			}
			// The state machine's own function windows (the daemon's
			// live states) say the same.
			own := map[string]float64{}
			for _, w := range svc.Windows {
				if w.Function != nil && w.End != nil && w.Kind == "down" {
					own[*w.Function] += w.End.Sub(w.Start).Seconds()
				}
			}
			for _, fa := range svc.Functions {
				if fa.DowntimeSeconds != own[fa.Name] {
					t.Errorf("%s: %gs down, its own windows %gs", fa.Name, fa.DowntimeSeconds, own[fa.Name])
				}
			}
			if len(svc.IncidentList) != 1 {
				t.Fatalf("incidents %+v, want one", svc.IncidentList)
			}
			fns := slices.Clone(svc.IncidentList[0].Functions)
			slices.Sort(fns)
			want = slices.Clone(tc.down)
			slices.Sort(want)
			if fmt.Sprint(fns) != fmt.Sprint(want) {
				t.Errorf("incident's functions %v, want %v", fns, want)
			}
			if len(svc.Reconciliation) != 1 {
				t.Fatalf("reconciliation %+v, want one row", svc.Reconciliation)
			}
			r := svc.Reconciliation[0]
			if r.Detected != tc.detect {
				t.Errorf("declared %v: detected %v, want %v", tc.decl, r.Detected, tc.detect)
			}
			// A declared incident it did not detect explains none of the
			// windows: they are all undeclared downtime.
			explained := len(svc.Windows)
			if !tc.detect {
				explained = 0
			}
			if len(r.Windows) != explained || len(svc.Undeclared) != len(svc.Windows)-explained {
				t.Errorf("declared %v lists %d of %d windows, %d undeclared; want %d listed", tc.decl, len(r.Windows), len(svc.Windows), len(svc.Undeclared), explained)
			}
		})
	}
}

package report

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// errorsBy gives every failed step of runs the error msg(minute), the
// minute counted from 10:00 (hm(10, 0)).
func errorsBy(runs []probe.Run, msg func(min int) string) []probe.Run {
	for i := range runs {
		m := int(runs[i].Start.Sub(hm(10, 0)) / time.Minute)
		for j := range runs[i].Steps {
			if runs[i].Steps[j].Status == probe.StatusFailed {
				runs[i].Steps[j].Error = msg(m)
			}
		}
	}
	return runs
}

// countedFlowWindow builds the report of 10:00-11:00 (at now; zero: over)
// of runs, with and without --recompute, and hands f its counted flow
// window.
func countedFlowWindow(t *testing.T, runs []probe.Run, now time.Time, f func(t *testing.T, recompute bool, w Window)) {
	t.Helper()
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			s := st.open(t)
			load(t, s, cfg, runs)
			for _, recompute := range []bool{false, true} {
				rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: hm(10, 0), To: hm(11, 0), Now: now, Recompute: recompute, Timelines: []*config.Timeline{}})
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
				f(t, recompute, *flow)
			}
		})
	}
}

// TestCountedWindowCauseStepIsItsFirstCause: a counted window's cause_step
// and error (the CSV's and `windows`' only cause, the quorum page's "at
// first") are its first cause, as for any window. Before, they were the
// first cause of the location window that began first, which may have
// ended before the counted window began: seoul-a down from 10:10 with 503s
// to 10:14 and timeouts from 10:14, busan-b timing out from 10:15, made a
// counted window 10:15-10:40 whose one cause is the timeouts while its
// error said "login: HTTP 503", which no location saw in it.
func TestCountedWindowCauseStepIsItsFirstCause(t *testing.T) {
	m := time.Minute
	runs := errorsBy(schedule("seoul-a", hm(10, 0), hm(11, 0), m, failing("fail:login", [2]int{10, 40})), func(min int) string {
		if min < 14 {
			return "login: HTTP 503"
		}
		return "login: i/o timeout"
	})
	runs = append(runs, withError(schedule("busan-b", hm(10, 0), hm(11, 0), m, failing("fail:login", [2]int{15, 40})), "login: i/o timeout")...)
	runs = append(runs, schedule("daegu-c", hm(10, 0), hm(11, 0), m, failing("ok"))...)
	countedFlowWindow(t, runs, time.Time{}, func(t *testing.T, recompute bool, w Window) {
		if got, want := errorCauses(w), "login: i/o timeout@10:15-10:40"; got != want {
			t.Errorf("recompute %v: causes %s, want %s", recompute, got, want)
		}
		if w.CauseStep != "login" || w.Error != "login: i/o timeout" {
			t.Errorf("recompute %v: cause_step/error %q/%q, want the first cause's, login/login: i/o timeout", recompute, w.CauseStep, w.Error)
		}
	})
}

package report

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
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

// flipping is an error that changes every minute between a and b before
// minute until and is a from it on.
func flipping(a, b string, until int) func(int) string {
	return func(m int) string {
		if m < until && m%2 == 1 {
			return b
		}
		return a
	}
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

// TestCountedWindowCausesKeepThoseLasting: a counted window whose merged
// causes are more than state.MaxCauses keeps, as a location's window does,
// its first ones and those still in force at its end (at most one a
// location). Before, it kept the first 31 by start and the last to start,
// which may have ended: seoul-a and busan-b flapping from 10:10 (two
// errors each, turn by turn), seoul-a refused steadily from 10:30 and
// daegu-c 503s from 10:40, busan-b's last cause from 10:44 ended at its
// recovery at 10:45: the window, open at 10:50, listed neither seoul-a's
// refusals nor daegu-c's 503s, and its current cause (the quorum page's
// description) was busan-b's EOF, which no location saw any more.
func TestCountedWindowCausesKeepThoseLasting(t *testing.T) {
	m := time.Minute
	now := hm(10, 50)
	runs := errorsBy(schedule("seoul-a", hm(10, 0), now, m, failing("fail:login", [2]int{10, 60})), flipping("login: connection refused", "login: i/o timeout", 30))
	runs = append(runs, errorsBy(schedule("busan-b", hm(10, 0), now, m, failing("fail:login", [2]int{10, 45})), flipping("login: connection reset by peer", "login: unexpected EOF", 45))...)
	runs = append(runs, withError(schedule("daegu-c", hm(10, 0), now, m, failing("fail:login", [2]int{40, 60})), "login: HTTP 503")...)
	countedFlowWindow(t, runs, now, func(t *testing.T, recompute bool, w Window) {
		if len(w.Causes) > state.MaxCauses {
			t.Errorf("recompute %v: %d causes, more than %d", recompute, len(w.Causes), state.MaxCauses)
		}
		if w.End != nil {
			t.Fatalf("recompute %v: window ended at %v, want open", recompute, w.End)
		}
		lasting := map[string]string{}
		for _, c := range w.Causes {
			if c.To == nil {
				lasting[c.Error] = c.From.Format("15:04")
			}
		}
		want := map[string]string{"login: connection refused": "10:30", "login: HTTP 503": "10:40"}
		for e, from := range want {
			if lasting[e] != from {
				t.Errorf("recompute %v: cause %q lasting from %s missing (lasting: %v)\n%s", recompute, e, from, lasting, errorCauses(w))
			}
		}
		sw := w.State()
		if cur := sw.CurrentCause(); cur.Error != "login: HTTP 503" {
			t.Errorf("recompute %v: current cause %q, want login: HTTP 503 (the latest to begin of those lasting)", recompute, cur.Error)
		}
	})
}

// TestCountedWindowCausesEndWhereLocationStopsReporting: a location's cause
// in a counted window ends where that location's data ends (its unknown
// stretch), as its window below the quorum does. Before, a location window
// left open by a prober that stopped (no run stored since) gave its cause
// to the counted window's end: seoul-a 503s from 10:10, its prober gone
// after the 10:19 run, busan-b and daegu-c refused from 10:12 and 10:15 to
// 10:40 made the 503s last to 10:40 (and, the window still open, to null,
// the cause the quorum page described while seoul-a reported nothing).
func TestCountedWindowCausesEndWhereLocationStopsReporting(t *testing.T) {
	m := time.Minute
	for _, tc := range []struct {
		name string
		now  time.Time
		end  int
		want string
	}{
		{"over", time.Time{}, 40, "login: HTTP 503@10:12-10:20, login: connection refused@10:12-10:40"},
		{"open", hm(10, 50), 60, "login: HTTP 503@10:12-10:20, login: connection refused@10:12-open"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			to := hm(11, 0)
			if !tc.now.IsZero() {
				to = tc.now
			}
			runs := withError(schedule("seoul-a", hm(10, 0), hm(10, 20), m, failing("fail:login", [2]int{10, 20})), "login: HTTP 503")
			runs = append(runs, withError(schedule("busan-b", hm(10, 0), to, m, failing("fail:login", [2]int{12, tc.end})), "login: connection refused")...)
			runs = append(runs, withError(schedule("daegu-c", hm(10, 0), to, m, failing("fail:login", [2]int{15, tc.end})), "login: connection refused")...)
			countedFlowWindow(t, runs, tc.now, func(t *testing.T, recompute bool, w Window) {
				if got := errorCauses(w); got != tc.want {
					t.Errorf("recompute %v: causes\n got %s\nwant %s", recompute, got, tc.want)
				}
				sw := w.State()
				if cur := sw.CurrentCause(); !tc.now.IsZero() && cur.Error != "login: connection refused" {
					t.Errorf("recompute %v: current cause %q, want login: connection refused", recompute, cur.Error)
				}
			})
		})
	}
}

// TestWindowCauseStepIsItsFirstCauseAtEdges: a window's cause_step and
// error are its first cause also when the period's start cuts it and for a
// stretch of a location window listed below the quorum: the causes of both
// are clipped to them, and their cause_step and error were the whole
// location window's first cause. seoul-a down from 10:00 with 503s to
// 10:05 and timeouts from then to 10:40: the report from 10:30 (a fleet of
// one) and, with busan-b down 10:10-10:20 beside it, the stretch below the
// quorum from 10:20 read "login: HTTP 503" beside their one cause, the
// timeouts.
func TestWindowCauseStepIsItsFirstCauseAtEdges(t *testing.T) {
	m := time.Minute
	seoul := func() []probe.Run {
		return errorsBy(schedule("seoul-a", hm(10, 0), hm(11, 0), m, failing("fail:login", [2]int{0, 40})), func(min int) string {
			if min < 5 {
				return "login: HTTP 503"
			}
			return "login: i/o timeout"
		})
	}
	check := func(t *testing.T, what string, w Window) {
		t.Helper()
		if len(w.Causes) == 0 {
			t.Fatalf("%s: no causes", what)
		}
		if c := w.Causes[0]; c.Step != w.CauseStep || c.Error != w.Error {
			t.Errorf("%s: first cause %s: %s (causes %s), but cause_step/error %s: %s", what, c.Step, c.Error, errorCauses(w), w.CauseStep, w.Error)
		}
	}
	for _, st := range stores() {
		t.Run(st.name+"/period start", func(t *testing.T) {
			cfg := testConfig("UTC", m)
			s := st.open(t)
			load(t, s, cfg, seoul())
			for _, recompute := range []bool{false, true} {
				rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: hm(10, 30), To: hm(11, 0), Recompute: recompute, Timelines: []*config.Timeline{}})
				if err != nil {
					t.Fatal(err)
				}
				for _, w := range rep.Services[0].Windows {
					check(t, fmt.Sprintf("recompute %v: %s", recompute, winList([]Window{w})[0]), w)
				}
			}
		})
		t.Run(st.name+"/below quorum", func(t *testing.T) {
			cfg := testConfig("UTC", m)
			runs := append(seoul(), withError(schedule("busan-b", hm(10, 0), hm(11, 0), m, failing("fail:login", [2]int{10, 20})), "login: connection refused")...)
			runs = append(runs, schedule("daegu-c", hm(10, 0), hm(11, 0), m, failing("ok"))...)
			s := st.open(t)
			load(t, s, cfg, runs)
			for _, recompute := range []bool{false, true} {
				rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: hm(10, 0), To: hm(11, 0), Recompute: recompute, Timelines: []*config.Timeline{}})
				if err != nil {
					t.Fatal(err)
				}
				if len(rep.Services[0].BelowQuorum) == 0 {
					t.Fatalf("recompute %v: nothing below the quorum", recompute)
				}
				for _, w := range append(rep.Services[0].Windows, rep.Services[0].BelowQuorum...) {
					check(t, fmt.Sprintf("recompute %v: %s", recompute, winList([]Window{w})[0]), w)
				}
			}
		})
	}
}

// BenchmarkMergeCauses: the causes of a counted window made by three
// locations each flapping through 32 errors of their own (96 causes, none
// the same), as a month's flapping fleet has them.
func BenchmarkMergeCauses(b *testing.B) {
	s := hm(10, 0)
	var ws []seenWindow
	for l := range 3 {
		w := state.Window{Key: state.Key{Location: fmt.Sprint("loc-", l)}, Start: s}
		for i := range 32 {
			w.Causes = state.AppendCause(w.Causes, state.Cause{Step: "login", Error: fmt.Sprintf("login: error kind %c%c at loc-%d", 'a'+i%26, 'a'+i/26, l), From: s.Add(time.Duration(i) * time.Minute)})
		}
		ws = append(ws, seenWindow{w, set{{s, s.Add(time.Hour)}}})
	}
	b.ResetTimer()
	for range b.N {
		if got := mergeCauses(ws, s, s.Add(time.Hour)); len(got) != state.MaxCauses {
			b.Fatalf("%d causes", len(got))
		}
	}
}

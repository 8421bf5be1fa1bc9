package report

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// A prober stopped while it confirm-ran a flow (every 10 s at a 60 s
// interval: down, or one failure into a possible outage) has data up to
// when its next run was due, 10 s after its last, as the state machine
// judges it; a report made while it is stopped, one made after it came
// back (from the unknown stretch the machine stored), windows --recompute
// and the status page's "not reporting since" all say so. Before, the
// report counted an interval after the last run in every case: the outage
// went on 50 s past the last run that measured it (down until 10:21:30,
// where the next run was due at 10:20:40).
func TestStoppedProberDataEndsWhenTheNextRunWasDue(t *testing.T) {
	m := time.Minute
	from, to := hm(10, 0), hm(11, 0)
	runs := func(confirm time.Duration, tail ...string) []probe.Run {
		var out []probe.Run
		for at := from; at.Before(hm(10, 20)); at = at.Add(m) {
			out = append(out, mkRun("seoul-a", at, "ok"))
		}
		step := confirm
		if step == 0 {
			step = m
		}
		for i, spec := range tail {
			out = append(out, mkRun("seoul-a", hm(10, 20).Add(time.Duration(i)*step), spec))
		}
		return out
	}
	back := func(rs []probe.Run) []probe.Run { // the prober back two hours later
		for at := hm(13, 0); at.Before(hm(13, 5)); at = at.Add(m) {
			rs = append(rs, mkRun("seoul-a", at, "ok"))
		}
		return rs
	}
	cases := []struct {
		name    string
		confirm time.Duration
		runs    []probe.Run
		now     time.Time
		end     time.Time // the data's end: where the unknown stretch starts
		downEnd time.Time // the outage window's end (zero: none)
	}{
		{"down, stopped", 10 * time.Second, runs(10*time.Second, "fail:send", "fail:send", "fail:send", "fail:send"), hm(12, 0), hm(10, 20).Add(40 * time.Second), hm(10, 20).Add(40 * time.Second)},
		{"down, stopped, report made in the period", 10 * time.Second, runs(10*time.Second, "fail:send", "fail:send", "fail:send", "fail:send"), hm(10, 40), hm(10, 20).Add(40 * time.Second), hm(10, 20).Add(40 * time.Second)},
		{"down, back two hours later", 10 * time.Second, back(runs(10*time.Second, "fail:send", "fail:send", "fail:send", "fail:send")), hm(14, 0), hm(10, 20).Add(40 * time.Second), hm(10, 20).Add(40 * time.Second)},
		{"one failure while up, stopped", 10 * time.Second, runs(10*time.Second, "fail:send"), hm(12, 0), hm(10, 20).Add(10 * time.Second), time.Time{}},
		{"one failure while up, back two hours later", 10 * time.Second, back(runs(10*time.Second, "fail:send")), hm(14, 0), hm(10, 20).Add(10 * time.Second), time.Time{}},
		{"confirm_every 0s, down, stopped", 0, runs(0, "fail:send", "fail:send"), hm(12, 0), hm(10, 22), hm(10, 22)},
		{"up, stopped", 10 * time.Second, runs(10 * time.Second), hm(12, 0), hm(10, 20), time.Time{}},
	}
	for _, st := range stores() {
		for _, tc := range cases {
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				cfg := testConfig("UTC", m)
				cfg.Services[0].Flows[0].ConfirmEvery = tc.confirm
				s := st.open(t)
				load(t, s, cfg, tc.runs)
				for _, recompute := range []bool{false, true} {
					in := Input{Config: cfg, Store: s, From: from, To: to, Now: tc.now, Recompute: recompute}
					rep, err := Build(context.Background(), in)
					if err != nil {
						t.Fatal(err)
					}
					what := fmt.Sprintf("recompute %v", recompute)
					elapsed := minT(tc.now, to)
					if got, want := rep.Services[0].UnknownSeconds, elapsed.Sub(tc.end).Seconds(); !near(got, want) {
						t.Errorf("%s: unknown = %vs, want %vs (from %s)", what, got, want, tc.end.Format(time.TimeOnly))
					}
					var end *time.Time
					for _, w := range rep.Windows {
						if w.Function == nil && w.Kind == "down" {
							end = w.End
						}
					}
					switch {
					case tc.downEnd.IsZero() && end != nil:
						t.Errorf("%s: a down window ending %s, want none", what, end.Format(time.TimeOnly))
					case !tc.downEnd.IsZero() && (end == nil || !end.Equal(tc.downEnd)):
						t.Errorf("%s: the outage ends %v, want %s", what, end, tc.downEnd.Format(time.TimeOnly))
					}
					if tc.now.After(hm(13, 0)) {
						continue
					}
					if since, ok := rep.Silent["seoul-a"]; !ok || !since.Equal(tc.end) {
						t.Errorf("%s: not reporting since %s (%v), want %s", what, since.Format(time.TimeOnly), ok, tc.end.Format(time.TimeOnly))
					}
				}
			})
		}
	}
}

package report

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// A degraded run is confirm-run as a failure is (state.Machine.Confirming:
// a degraded streak while up, or a degraded window open, may be a window's
// edge), so a prober stopped after degraded runs, a degraded window open
// or one degraded run while up or down, has its data end confirm_every
// after its last run, as the state machine (--recompute) says; after a
// degraded window closed (a fully ok run, up_after 1) it ends an interval
// after it. Before, a degraded streak or window made no confirm runs, and
// the data ended an interval after the last run unless the flow was down.
func TestStoppedAfterDegradedRuns(t *testing.T) {
	m := time.Minute
	from, to := hm(10, 0), hm(11, 0)
	for _, tc := range []struct {
		name    string
		upAfter int
		tail    []string // every 10 s from 10:20 (confirm runs), then the stop
		covers  time.Duration
	}{
		{"a degraded window open", 1, []string{"slow:send", "slow:send", "slow:send"}, 10 * time.Second},
		{"a degraded window open, one pass short of up_after 2", 2, []string{"slow:send", "slow:send", "ok"}, 10 * time.Second},
		{"a degraded window closed", 1, []string{"slow:send", "slow:send", "ok"}, m},
		{"one degraded run while up", 1, []string{"slow:send"}, 10 * time.Second},
		{"down, then a degraded run (up_after 1: up)", 1, []string{"fail:send", "fail:send", "slow:send"}, 10 * time.Second},
		{"down, then a degraded run (up_after 2: still down)", 2, []string{"fail:send", "fail:send", "slow:send"}, 10 * time.Second},
		{"down, then a pass (up_after 1: up)", 1, []string{"fail:send", "fail:send", "ok"}, m},
		// A certificate under min_days_left is not confirm-run (it lasts
		// until renewed): the next run was due an interval on.
		{"a certificate's degraded window open", 1, []string{"cert:send", "cert:send", "cert:send"}, m},
		{"one certificate run while up", 1, []string{"cert:send"}, m},
		{"slow, then a certificate run", 1, []string{"slow:send", "slow:send", "cert:send"}, m},
		{"a certificate, then slow", 1, []string{"cert:send", "cert:send", "slow:send"}, 10 * time.Second},
	} {
		for _, st := range stores() {
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				cfg := testConfig("UTC", m)
				cfg.Services[0].Flows[0].ConfirmEvery = 10 * time.Second
				cfg.Services[0].Flows[0].UpAfter = tc.upAfter
				var runs []probe.Run
				for at := from; at.Before(hm(10, 20)); at = at.Add(m) {
					runs = append(runs, mkRun("seoul-a", at, "ok"))
				}
				var last time.Time
				for i, spec := range tc.tail {
					last = hm(10, 20).Add(time.Duration(i) * 10 * time.Second)
					runs = append(runs, mkRun("seoul-a", last, spec))
				}
				s := st.open(t)
				load(t, s, cfg, runs)
				for _, recompute := range []bool{false, true} {
					rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: from, To: to, Now: hm(12, 0), Recompute: recompute})
					if err != nil {
						t.Fatal(err)
					}
					if got, want := rep.Silent["seoul-a"], last.Add(tc.covers); !got.Equal(want) {
						t.Errorf("recompute %v: not reporting since %s, want %s", recompute, got.Format(time.TimeOnly), want.Format(time.TimeOnly))
					}
					if got, want := rep.Services[0].UnknownSeconds, to.Sub(last.Add(tc.covers)).Seconds(); !near(got, want) {
						t.Errorf("recompute %v: unknown %vs, want %vs", recompute, got, want)
					}
				}
			})
		}
	}
}

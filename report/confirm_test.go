package report

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/internal/pgtest"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/store"
)

// confirmRuns is an hour of chat at one location, every minute, with the
// flow failing at send from 10:20:30 to 10:30:25, run as the daemon runs it
// with confirm_every (every > 0): after a failed run, every `every` until
// the first success; the base slot passed meanwhile is covered by the first
// run at or after it, a scheduled run (Confirm false); the others are confirm
// runs, whose steps take 3 s (scheduled steps 100 ms) so that they would
// show in the percentiles. every 0: base slots only.
func confirmRuns(every time.Duration) []probe.Run {
	failing := func(t time.Time) bool {
		return !t.Before(hourStart.Add(20*time.Minute+30*time.Second)) && t.Before(hourStart.Add(30*time.Minute+25*time.Second))
	}
	spec := func(t time.Time) string {
		if failing(t) {
			return "fail:send"
		}
		return "ok"
	}
	var out []probe.Run
	end := hourStart.Add(time.Hour)
	for slot := hourStart; slot.Before(end); {
		r := mkRun("seoul-a", slot, spec(slot))
		out = append(out, r)
		next := slot.Add(time.Minute)
		if every > 0 && !r.OK() {
			covered := slot
			for t := slot.Add(every); t.Before(end); t = t.Add(every) {
				c := mkRun("seoul-a", t, spec(t))
				if s := t.Truncate(time.Minute); s.After(covered) {
					covered = s // this run is the slot's scheduled run
				} else {
					c.Confirm = true
					for i := range c.Steps {
						if c.Steps[i].Status != probe.StatusNotRun {
							c.Steps[i].Duration = 3 * time.Second
						}
					}
				}
				out = append(out, c)
				if c.OK() {
					break
				}
			}
			next = covered.Add(time.Minute)
		}
		slot = next
	}
	return out
}

// TestConfirmRunsCountedApart: confirm runs feed the windows (their edges
// come from them) but not run counts, the run success ratio or the latency
// percentiles, which count the scheduled runs only; report.json has them as
// confirm_runs. With the same runs all counted (the store before migration
// 8), the hour with confirm runs showed 108 runs, a run success ratio of
// 0.47 and a p99 of 3 s.
func TestConfirmRunsCountedApart(t *testing.T) {
	type want struct {
		runs, confirm int64
		ratio         float64
		windows       []string
	}
	cases := []struct {
		name  string
		every time.Duration
		now   time.Time // zero: the end of the hour
		want  want
	}{
		// Down from the failed run at 10:21 (10:20 passed); confirm runs
		// every 10 s find it up at 10:30:30, where the next base slot
		// (10:31) would. 60 scheduled runs, 10 of them failed (10:21..10:30);
		// 48 confirm runs (5 a minute from 10:21 to 10:29, then 10:30:10,
		// :20 and :30).
		{"confirm every 10s", 10 * time.Second, time.Time{}, want{60, 48, 50.0 / 60, []string{"flow down 10:21-10:30 send seoul-a", "receive down 10:21-10:30 send seoul-a", "send down 10:21-10:30 send seoul-a"}}},
		{"confirm off", 0, time.Time{}, want{60, 0, 50.0 / 60, []string{"flow down 10:21-10:31 send seoul-a", "receive down 10:21-10:31 send seoul-a", "send down 10:21-10:31 send seoul-a"}}},
		// Up to 10:25:15: the report reads the partial minute at its end
		// from raw runs (10:25:00 scheduled, 10:25:10 a confirm run).
		{"confirm every 10s, partial minute", 10 * time.Second, hourStart.Add(25*time.Minute + 15*time.Second),
			want{26, 21, 21.0 / 26, []string{"flow down 10:21-open send seoul-a", "receive down 10:21-open send seoul-a", "send down 10:21-open send seoul-a"}}},
	}
	ctx := context.Background()
	for _, st := range confirmStores() {
		for _, tc := range cases {
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				cfg := testConfig("UTC", time.Minute)
				s := st.open(t)
				runs := confirmRuns(tc.every)
				var in []probe.Run
				for _, r := range runs {
					if tc.now.IsZero() || r.Start.Before(tc.now) {
						in = append(in, r)
					}
				}
				load(t, s, cfg, in)
				for _, recompute := range []bool{false, true} {
					rep, err := Build(ctx, Input{Config: cfg, Store: s, From: hourStart, To: hourStart.Add(time.Hour), Now: tc.now, Recompute: recompute})
					if err != nil {
						t.Fatal(err)
					}
					svc, fl := rep.Services[0], rep.Services[0].Flows[0]
					if svc.Runs != tc.want.runs || fl.Runs != tc.want.runs || svc.ConfirmRuns != tc.want.confirm || fl.ConfirmRuns != tc.want.confirm {
						t.Errorf("recompute %v: runs %d (flow %d), confirm runs %d (flow %d); want %d and %d",
							recompute, svc.Runs, fl.Runs, svc.ConfirmRuns, fl.ConfirmRuns, tc.want.runs, tc.want.confirm)
					}
					if !near(val(svc.RunSuccessRatio), tc.want.ratio) || !near(val(fl.RunSuccessRatio), tc.want.ratio) {
						t.Errorf("recompute %v: run success ratio %v (flow %v), want %v", recompute, val(svc.RunSuccessRatio), val(fl.RunSuccessRatio), tc.want.ratio)
					}
					// Scheduled steps take 100 ms, confirm runs' 3 s.
					if val(svc.P99) > 0.2 {
						t.Errorf("recompute %v: p99 %v s: confirm runs counted", recompute, val(svc.P99))
					}
					if login := svc.Steps[0]; login.Count != tc.want.runs || val(login.P99) > 0.2 {
						t.Errorf("recompute %v: login latency over %d results, p99 %v s; want %d results under 0.2 s", recompute, login.Count, val(login.P99), tc.want.runs)
					}
					sameList(t, "windows", winList(rep.Windows), tc.want.windows)
				}
			})
		}
	}
}

// confirmStores are stores() and, when the test server is there,
// PostgreSQL.
func confirmStores() []struct {
	name string
	open func(t testing.TB) store.Store
} {
	return append(stores(), struct {
		name string
		open func(t testing.TB) store.Store
	}{"postgres", func(t testing.TB) store.Store {
		s, err := store.OpenPostgres(context.Background(), pgtest.DSN(t), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}})
}

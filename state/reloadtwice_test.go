package state

import (
	"testing"
	"time"
)

// Reloads between two runs (README, Accounting policy: the stretch after
// a run is judged by the interval and confirm_every it had, or by the
// longer of the two when a reload came before the next run was due): more
// than one reload, a reload while confirming that changes confirm_every,
// one that changes down_after too, and one that adds a function. Each row:
// runs at the first policy, the last of them spec, then the reloads (at,
// after the last run; each a policy), then the next run at next, or none
// and Close at next.
func TestReloadsBeforeTheNextRun(t *testing.T) {
	const min = time.Minute
	type reload struct {
		at           time.Duration
		ivl, confirm time.Duration
		downAfter    int
		addFunction  bool
	}
	tests := []struct {
		name      string
		ivl       time.Duration
		confirm   time.Duration
		spec      string
		reloads   []reload
		next      time.Duration
		closeOnly bool
		wantFrom  time.Duration // 0: no unknown stretch
	}{
		{name: "10m to 1m at 3m to 5m at 3.5m, next run 5m after", ivl: 10 * min, spec: "ok",
			reloads: []reload{{at: 3 * min, ivl: min}, {at: 3*min + 30*time.Second, ivl: 5 * min}}, next: 5 * min},
		{name: "10m to 1m at 3m to 5m at 3.5m, stopped, closed 19m after", ivl: 10 * min, spec: "ok",
			reloads: []reload{{at: 3 * min, ivl: min}, {at: 3*min + 30*time.Second, ivl: 5 * min}}, next: 19 * min, closeOnly: true},
		{name: "10m to 1m at 3m to 5m at 3.5m, next run 21m after", ivl: 10 * min, spec: "ok",
			reloads: []reload{{at: 3 * min, ivl: min}, {at: 3*min + 30*time.Second, ivl: 5 * min}}, next: 21 * min, wantFrom: 10 * min},
		{name: "1m to 10m at 30s to 1m at 5m, next run 6m after", ivl: min, spec: "ok",
			reloads: []reload{{at: 30 * time.Second, ivl: 10 * min}, {at: 5 * min, ivl: min}}, next: 6 * min},
		{name: "1m to 10m at 30s to 1m at 5m, next run 21m after", ivl: min, spec: "ok",
			reloads: []reload{{at: 30 * time.Second, ivl: 10 * min}, {at: 5 * min, ivl: min}}, next: 21 * min, wantFrom: 10 * min},
		// Down, confirm-run every 2m at 10m: a reload at 1m turns
		// confirm_every off (the next run is the base slot's, 10m after).
		{name: "confirming every 2m, off at 1m, next run 10m after", ivl: 10 * min, confirm: 2 * min, spec: "fail:send",
			reloads: []reload{{at: min, ivl: 10 * min}}, next: 10 * min},
		{name: "confirming every 2m, off at 1m, next run 21m after", ivl: 10 * min, confirm: 2 * min, spec: "fail:send",
			reloads: []reload{{at: min, ivl: 10 * min}}, next: 21 * min, wantFrom: 10 * min},
		// confirm_every 2m to 5m at 1m: the confirm run 5m after.
		{name: "confirming every 2m, 5m at 1m, next run 5m after", ivl: 10 * min, confirm: 2 * min, spec: "fail:send",
			reloads: []reload{{at: min, ivl: 10 * min, confirm: 5 * min}}, next: 5 * min},
		// A reload after the confirm run was due: judged by confirm_every 2m.
		{name: "confirming every 2m, off at 3m, next run 21m after", ivl: 10 * min, confirm: 2 * min, spec: "fail:send",
			reloads: []reload{{at: 3 * min, ivl: 10 * min}}, next: 21 * min, wantFrom: 2 * min},
		// down_after and a function change with the interval.
		{name: "10m to 1m and down_after 1 at 3m, next run 4m after", ivl: 10 * min, spec: "fail:send",
			reloads: []reload{{at: 3 * min, ivl: min, downAfter: 1}}, next: 4 * min},
		{name: "10m to 1m and a function at 3m, next run 4m after", ivl: 10 * min, spec: "ok",
			reloads: []reload{{at: 3 * min, ivl: min, addFunction: true}}, next: 4 * min},
		{name: "10m to 1m and a function at 3m, next run 21m after", ivl: 10 * min, spec: "ok",
			reloads: []reload{{at: 3 * min, ivl: min, addFunction: true}}, next: 21 * min, wantFrom: 10 * min},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Policy{Interval: tt.ivl, DownAfter: 3, UpAfter: 1, ConfirmEvery: tt.confirm}
			fns := []string{"login", "send", "receive"}
			mc := New("messaging", "chat", "seoul-a", fns, p)
			last := t0.Add(5 * tt.ivl)
			for at := t0; at.Before(last); at = at.Add(tt.ivl) {
				mc.Observe(mkRun(at, "ok"))
			}
			mc.Observe(mkRun(last, tt.spec))
			for _, r := range tt.reloads {
				p.Interval, p.ConfirmEvery = r.ivl, r.confirm
				if r.downAfter > 0 {
					p.DownAfter = r.downAfter
				}
				if r.addFunction {
					fns = append(fns, "media")
				}
				mc.Reconfigure(fns, p, last.Add(r.at))
			}
			checkUnknownAfter(t, mc, last, tt.next, tt.closeOnly, tt.wantFrom)
		})
	}
}

package state

import (
	"testing"
	"time"
)

// The stretch after a run is judged by the interval that run had, not by a
// reload's since (README, Accounting policy; the printed policy: "the
// interval it had when it ran"), unless the reload came before that run's
// next one was due, which the new schedule then moved: the longer of the two
// judges it. Each row: runs at the first interval, a reload at reload (from
// the last run), then the next run at next, or none and Close at next.
func TestReloadJudgesTheGapByTheIntervalTheRunHad(t *testing.T) {
	const min = time.Minute
	tests := []struct {
		name          string
		before, after time.Duration // the interval before and after the reload
		confirm       time.Duration // confirm_every, both
		fail          bool          // the last run failed (confirm-run after it)
		reload, next  time.Duration // after the last run
		closeOnly     bool          // no next run: Close at next
		wantFrom      time.Duration // the unknown stretch's start after the last run; 0: none
	}{
		// The old schedule had the next run due 7 minutes after the reload.
		{name: "10m to 1m, 3m after, next run 4m after", before: 10 * min, after: min, reload: 3 * min, next: 4 * min},
		{name: "10m to 1m, 3m after, next run 15m after", before: 10 * min, after: min, reload: 3 * min, next: 15 * min},
		{name: "10m to 1m, 3m after, stopped, closed 19m after", before: 10 * min, after: min, reload: 3 * min, next: 19 * min, closeOnly: true},
		{name: "10m to 1m, 3m after, stopped, closed 25m after", before: 10 * min, after: min, reload: 3 * min, next: 25 * min, closeOnly: true, wantFrom: 10 * min},
		// The new schedule has its next run 10 minutes after the last.
		{name: "1m to 10m, 30s after, next run 10m after", before: min, after: 10 * min, reload: 30 * time.Second, next: 10 * min},
		{name: "1m to 10m, 30s after, stopped, closed 25m after", before: min, after: 10 * min, reload: 30 * time.Second, next: 25 * min, closeOnly: true, wantFrom: 10 * min},
		// A reload after the next run was due: the gap had begun, judged
		// by the interval the run had.
		{name: "1m to 10m, 5m after, next run 10m after", before: min, after: 10 * min, reload: 5 * min, next: 10 * min, wantFrom: min},
		{name: "1m to 10m, 5m after, stopped, closed 15m after", before: min, after: 10 * min, reload: 5 * min, next: 15 * min, closeOnly: true, wantFrom: min},
		{name: "10m to 1m, 12m after, next run 13m after", before: 10 * min, after: min, reload: 12 * min, next: 13 * min},
		{name: "10m to 1m, 12m after, next run 21m after", before: 10 * min, after: min, reload: 12 * min, next: 21 * min, wantFrom: 10 * min},
		// Confirm-run after a failure: confirm_every 2m, due 2 minutes after.
		{name: "10m to 1m while confirming, 1m after, next run 3m after", before: 10 * min, after: min, confirm: 2 * min, fail: true, reload: min, next: 3 * min},
		{name: "10m to 1m while confirming, 1m after, next run 21m after", before: 10 * min, after: min, confirm: 2 * min, fail: true, reload: min, next: 21 * min, wantFrom: 2 * min},
		// No reload of the interval: as before.
		{name: "10m, next run 21m after", before: 10 * min, after: 10 * min, reload: min, next: 21 * min, wantFrom: 10 * min},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Policy{Interval: tt.before, DownAfter: 3, UpAfter: 1, ConfirmEvery: tt.confirm}
			mc := New("messaging", "chat", "seoul-a", []string{"login", "send", "receive"}, p)
			last := t0.Add(5 * tt.before)
			for at := t0; at.Before(last); at = at.Add(tt.before) {
				mc.Observe(mkRun(at, "ok"))
			}
			spec := "ok"
			if tt.fail {
				spec = "fail:send"
			}
			mc.Observe(mkRun(last, spec))
			p.Interval = tt.after
			mc.Reconfigure([]string{"login", "send", "receive"}, p, last.Add(tt.reload))
			checkUnknownAfter(t, mc, last, tt.next, tt.closeOnly, tt.wantFrom)
		})
	}
}

// checkUnknownAfter checks the flow's unknown window after the last run at
// last that mc stores at the next run, a pass at last+next (or, closeOnly,
// when it is closed then): none when wantFrom is 0, else one from
// last+wantFrom.
func checkUnknownAfter(t *testing.T, mc *Machine, last time.Time, next time.Duration, closeOnly bool, wantFrom time.Duration) {
	t.Helper()
	var got []Window
	if closeOnly {
		got = mc.Close(last.Add(next))
	} else {
		for _, e := range mc.Observe(mkRun(last.Add(next), "ok")) {
			if e.Window.Kind == KindUnknown && e.Window.Function == "" {
				got = append(got, e.Window)
			}
		}
	}
	switch {
	case wantFrom == 0 && len(got) > 0:
		t.Errorf("unknown %s to %s after the last run, want none", got[0].Start.Sub(last), got[0].End.Sub(last))
	case wantFrom > 0 && len(got) != 1:
		t.Errorf("%d unknown windows, want one from %s after the last run", len(got), wantFrom)
	case wantFrom > 0 && !got[0].Start.Equal(last.Add(wantFrom)):
		t.Errorf("unknown from %s after the last run, want from %s", got[0].Start.Sub(last), wantFrom)
	}
}

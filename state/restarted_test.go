package state

import (
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// A restart with another interval in the config judges the stretch since
// the last run as a reload at the restart does
// (TestReloadJudgesTheGapByTheIntervalTheRunHad): by the interval that run
// had (stored with it), or by the longer of the two when the restart came
// before its next run was due. Each row: runs at the first interval, a
// restart at restart (from the last run) with a fresh machine at the second
// (Restore, Resume, Restarted with the last run's interval as stored), then
// the next run at next, or none and Close at next. A run stored with no
// interval (before schema version 15) is judged by the config's, as before.
func TestRestartedJudgesTheGapByTheIntervalTheRunHad(t *testing.T) {
	const min = time.Minute
	tests := []struct {
		name          string
		before, after time.Duration // the interval the runs had, and the config's at the restart
		stored        bool          // the runs' interval stored
		restart, next time.Duration // after the last run
		closeOnly     bool
		wantFrom      time.Duration // the unknown stretch's start after the last run; 0: none
	}{
		{name: "10m to 1m, 3m after, next run 4m after", before: 10 * min, after: min, stored: true, restart: 3 * min, next: 4 * min},
		{name: "10m to 1m, 3m after, stopped, closed 25m after", before: 10 * min, after: min, stored: true, restart: 3 * min, next: 25 * min, closeOnly: true, wantFrom: 10 * min},
		{name: "10m to 1m, 12m after, next run 13m after", before: 10 * min, after: min, stored: true, restart: 12 * min, next: 13 * min},
		{name: "10m to 1m, 12m after, next run 21m after", before: 10 * min, after: min, stored: true, restart: 12 * min, next: 21 * min, wantFrom: 10 * min},
		{name: "1m to 10m, 30s after, next run 10m after", before: min, after: 10 * min, stored: true, restart: 30 * time.Second, next: 10 * min},
		{name: "1m to 10m, 3m after, next run 10m after", before: min, after: 10 * min, stored: true, restart: 3 * min, next: 10 * min, wantFrom: min},
		{name: "10m to 1m, not stored, 3m after, next run 4m after", before: 10 * min, after: min, restart: 3 * min, next: 4 * min, wantFrom: min},
		{name: "1m to 10m, not stored, 3m after, next run 10m after", before: min, after: 10 * min, restart: 3 * min, next: 10 * min},
	}
	fns := []string{"login", "send", "receive"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tail []probe.Run
			last := t0.Add(5 * tt.before)
			for at := t0; !at.After(last); at = at.Add(tt.before) {
				r := *mkRun(at, "ok")
				if tt.stored {
					r.Interval = tt.before
				}
				tail = append(tail, r)
			}
			mc := New("messaging", "chat", "seoul-a", fns, Policy{Interval: tt.after, DownAfter: 3, UpAfter: 1})
			mc.Restore(nil, last)
			mc.Resume(tail, nil)
			mc.Restarted(tail[len(tail)-1].Interval, last.Add(tt.restart))
			checkUnknownAfter(t, mc, last, tt.next, tt.closeOnly, tt.wantFrom)
		})
	}
}

package state

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// A restart with another interval in the config carries the failure and
// passing streaks over as a reload at the restart keeps them: Resume
// replays the tail of runs stored with the interval each had (schema
// version 15), so the spacing of runs made at a longer interval is not an
// unknown stretch that resets the streaks. Each row: the tail's runs at
// the interval they had, then either a reload (the live machine) or a
// restart (a fresh machine at the new interval: Restore, Resume,
// Restarted) at restart after the last run, and the next run at next:
// the windows that next run opens or closes must be the same both ways.
func TestRestartKeepsTheStreaksOfRunsAtTheirInterval(t *testing.T) {
	const min = time.Minute
	tests := []struct {
		name          string
		before, after time.Duration // the interval the runs had, and the config's at the restart
		upAfter       int
		tail          []string // runs, before apart
		restart, next time.Duration
		nextRun       string
	}{
		{name: "3m to 30s, failed twice of down_after 3", before: 3 * min, after: 30 * time.Second, upAfter: 1,
			tail: []string{"ok", "ok", "fail:send", "fail:send"}, restart: 10 * time.Second, next: 30 * time.Second, nextRun: "fail:send"},
		{name: "10m to 1m, failed twice of down_after 3", before: 10 * min, after: min, upAfter: 1,
			tail: []string{"ok", "fail:send", "fail:send"}, restart: 3 * min, next: 4 * min, nextRun: "fail:send"},
		{name: "3m to 30s, down, passed twice of up_after 3", before: 3 * min, after: 30 * time.Second, upAfter: 3,
			tail: []string{"fail:send", "fail:send", "fail:send", "ok", "ok"}, restart: 10 * time.Second, next: 30 * time.Second, nextRun: "ok"},
		{name: "1m to 30s, failed twice of down_after 3 (no gap either way)", before: min, after: 30 * time.Second, upAfter: 1,
			tail: []string{"ok", "fail:send", "fail:send"}, restart: 10 * time.Second, next: 30 * time.Second, nextRun: "fail:send"},
	}
	fns := []string{"login", "send", "receive"}
	edges := func(evs []Event) []string {
		var out []string
		for _, e := range evs {
			if e.Op == OpCause {
				continue
			}
			out = append(out, fmt.Sprintf("%s %s %q %s-%s", e.Op, e.Window.Kind, e.Window.Function, fmtTime(e.Window.Start), fmtTime(e.Window.End)))
		}
		slices.Sort(out)
		return out
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tail []probe.Run
			for i, spec := range tt.tail {
				r := *mkRun(t0.Add(time.Duration(i)*tt.before), spec)
				r.Interval = tt.before
				tail = append(tail, r)
			}
			last := tail[len(tail)-1].Start
			before := Policy{Interval: tt.before, DownAfter: 3, UpAfter: tt.upAfter}
			after := Policy{Interval: tt.after, DownAfter: 3, UpAfter: tt.upAfter}

			live := New("messaging", "chat", "seoul-a", fns, before)
			for i := range tail {
				live.Observe(&tail[i])
			}
			open := live.OpenWindows()
			live.Reconfigure(fns, after, last.Add(tt.restart))
			want := edges(live.Observe(mkRun(last.Add(tt.next), tt.nextRun)))

			mc := New("messaging", "chat", "seoul-a", fns, after)
			mc.Restore(open, last)
			mc.Resume(tail, open)
			mc.Restarted(tail[len(tail)-1].Interval, last.Add(tt.restart))
			got := edges(mc.Observe(mkRun(last.Add(tt.next), tt.nextRun)))
			if !slices.Equal(got, want) {
				t.Errorf("the next run after the restart: %q, after a reload: %q", got, want)
			}
		})
	}
}

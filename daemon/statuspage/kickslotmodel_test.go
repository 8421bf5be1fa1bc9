package statuspage

import (
	"testing"
	"time"
)

// TestKickedRebuildsOverAnHourKeepSlot is TestKickedRebuildsOverAnHour's
// model with Run's keepSlot in it (the periodic slot a kick brought a
// rebuild before stays due when it comes at least kickFloor after the
// kicked build): kicked every second, and now and then (every 7, 13, 47
// and 73 s, 5 min), at 50 ms, 1 s, 3 s and 5 s builds and one of 70 s,
// longer than the period. However the kicks come, builds take no more than
// a tenth of the hour, begin no sooner than kickFloor (or kickFactor times
// the build) after the last one ended, and at 5 s no more often than the
// periodic ones; and no fewer rebuilds come at a whole minute than
// without keepSlot, all of them with a kick every 5 min where the floor is
// under half a period (48 of 60 without it at 50 ms and 1 s builds; at 3 s,
// floor 33 s, a kicked build at :32 still puts the next minute off to the
// one after, 48 of 60 either way: keepSlot keeps a slot the floor away).
func TestKickedRebuildsOverAnHourKeepSlot(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	type tally struct {
		builds, minutes int
		building, gap   time.Duration // gap: the shortest from a build's end to the next start
	}
	run := func(took, every time.Duration, keep bool) tally {
		p := &Page{snap: &snapshot{took: took}}
		// kicks at t0+every/2, then every: the first one at or after t, or
		// t itself when one came during the build (it waits in p.kick).
		kickAt := func(start, end time.Time) (time.Time, bool) {
			if every == 0 {
				return time.Time{}, false
			}
			first := t0.Add(every / 2)
			if end.Before(first) {
				return first, true
			}
			n := (end.Sub(first) + every - 1) / every
			k := first.Add(n * every)
			if prev := k.Add(-every); !prev.Before(start) {
				return end, true // came while building
			}
			return k, true
		}
		var tl tally
		tl.gap = time.Hour
		var slot time.Time
		now := t0
		for now.Before(t0.Add(time.Hour)) {
			tl.builds++
			tl.building += took
			if now.Truncate(time.Minute).Equal(now) {
				tl.minutes++
			}
			end := now.Add(took)
			wait := periodWait(end, time.Minute, took, true)
			if keep {
				wait = p.keepSlot(end, slot, wait)
			}
			periodic := end.Add(wait)
			due := periodic
			if k, ok := kickAt(now, end); ok {
				if at := kickedAt(k, end, took); at.Before(due) {
					due = at
				}
			}
			slot = time.Time{}
			if due.Before(periodic) {
				slot = periodic
			}
			tl.gap = min(tl.gap, due.Sub(end))
			now = due
		}
		return tl
	}
	for _, took := range []time.Duration{50 * time.Millisecond, time.Second, 3 * time.Second, 5 * time.Second, 70 * time.Second} {
		floor := max(kickFloor, kickFactor*took)
		periodic := run(took, 0, true)
		for _, every := range []time.Duration{time.Second, 7 * time.Second, 13 * time.Second, 47 * time.Second, 73 * time.Second, 5 * time.Minute} {
			old, tl := run(took, every, false), run(took, every, true)
			t.Logf("builds of %s kicked every %s: %d rebuilds an hour (%.1f%% of the time), %d at a whole minute, shortest gap %s; without keepSlot %d (%.1f%%), %d at a whole minute; on the period alone %d",
				took, every, tl.builds, 100*tl.building.Seconds()/3600, tl.minutes, tl.gap, old.builds, 100*old.building.Seconds()/3600, old.minutes, periodic.builds)
			if tl.building > time.Hour/10 {
				t.Errorf("builds of %s kicked every %s take %s of the hour, more than a tenth", took, every, tl.building)
			}
			if tl.gap < floor && tl.gap < periodWait(t0, time.Minute, took, true)/2 {
				t.Errorf("builds of %s kicked every %s: one began %s after the last ended, under the floor %s", took, every, tl.gap, floor)
			}
			if tl.minutes < old.minutes {
				t.Errorf("builds of %s kicked every %s: %d at a whole minute, fewer than the %d without keepSlot", took, every, tl.minutes, old.minutes)
			}
			if every >= 5*time.Minute && floor <= 30*time.Second && tl.minutes != periodic.minutes {
				t.Errorf("builds of %s kicked every %s: %d at a whole minute, want the period's %d (a kick every 5 min, its build long before the next minute)", took, every, tl.minutes, periodic.minutes)
			}
			if took >= 5*time.Second && tl.builds > periodic.builds {
				t.Errorf("builds of %s kicked every %s: %d rebuilds, more than the period's %d", took, every, tl.builds, periodic.builds)
			}
		}
	}
}

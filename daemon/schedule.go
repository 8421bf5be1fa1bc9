package daemon

import (
	"encoding/binary"
	"hash/fnv"
	"time"
)

// JitterPercent is the most a run is delayed past its due time, as a
// percentage of the flow's interval. Jitter is deterministic per run (a hash of
// location, flow and due time), so a replay gives the same start times.
const JitterPercent = 2

// Offset is a flow's stable phase within its interval: an FNV-1a hash of
// location and flow name (mixed, see mix), modulo the interval. It is never capped (a cap
// bunches long intervals, see STYLE.md), so the first runs of many flows spread
// evenly over the whole interval, and a flow keeps its phase across restarts
// and across the live daemon and the demo replay.
func Offset(location, flow string, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(location))
	h.Write([]byte{0})
	h.Write([]byte(flow))
	return time.Duration(mix(h.Sum64()) % uint64(interval))
}

// mix is the MurmurHash3 64-bit finalizer. FNV-1a alone leaves names that
// differ only in their last characters (flow-001, flow-002, ...) clustered
// modulo an interval; mixing spreads them evenly.
func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// gridAtOrAfter returns the first point of the flow's grid (the Unix epoch
// plus the offset plus whole intervals) at or after t.
func gridAtOrAfter(offset, interval time.Duration, t time.Time) time.Time {
	g := gridAtOrBefore(offset, interval, t)
	if g.Before(t) {
		g = g.Add(interval)
	}
	return g
}

// gridAtOrBefore returns the last point of the grid at or before t.
func gridAtOrBefore(offset, interval time.Duration, t time.Time) time.Time {
	base := time.Unix(0, 0).Add(offset)
	d := t.Sub(base) // may saturate only for dates centuries away
	k := d / interval
	if d < 0 && d%interval != 0 {
		k--
	}
	return base.Add(k * interval).In(t.Location())
}

// NextDue returns when a flow's next run is due, given the start of its last
// run (zero when it never ran) and now:
//
//   - If lastRun+interval is still ahead, the rhythm goes on from the last run
//     (snapped back to the flow's grid when that stays after the last run), so
//     a restart never leaves a gap longer than one interval.
//   - Otherwise (a new flow, or one overdue after downtime) the run is due at
//     the next point of the flow's grid: within one interval from now, at its
//     stable Offset, so that not everything fires at once.
//   - But a flow overdue after a stop shorter than twice its interval runs
//     no later than two intervals after its last run, less the most jitter
//     can add: a later start is what the state machine takes for an unknown
//     stretch, and a short restart would cut an ongoing outage in two with
//     time "not measured" between (the overdue flows' deadlines follow their
//     last runs, so they stay spread).
//
// The live scheduler and the demo replay both use it.
func NextDue(location, flow string, interval time.Duration, lastRun, now time.Time) time.Time {
	if interval <= 0 {
		return now
	}
	off := Offset(location, flow, interval)
	g := gridAtOrAfter(off, interval, now)
	if !lastRun.IsZero() {
		c := lastRun.Add(interval)
		if c.After(now) {
			if g := gridAtOrBefore(off, interval, c); g.After(now) && g.After(lastRun) {
				return g
			}
			return c
		}
		if covered := lastRun.Add(2 * interval); now.Before(covered) {
			limit := covered.Add(-interval * JitterPercent / 100)
			if g.After(limit) {
				return maxTime(limit, now)
			}
		}
	}
	return g
}

// OwedSlot returns the base slot of a flow's grid that fell due while no
// process ran the flow, given the start of its last run and now (a
// restart): the last point of the grid at or before now, when that is after
// the last run; zero when none is (or the flow never ran). A restart that
// resumes confirm runs at once covers it with its first run, that slot's
// scheduled run, as a run re-run every confirm_every covers the slots passed
// meanwhile (one per slot however long the stop: the earlier ones had no
// run).
func OwedSlot(location, flow string, interval time.Duration, lastRun, now time.Time) time.Time {
	if interval <= 0 || lastRun.IsZero() {
		return time.Time{}
	}
	g := gridAtOrBefore(Offset(location, flow, interval), interval, now)
	if !g.After(lastRun) {
		return time.Time{}
	}
	return g
}

// DueAt returns the scheduled time of the run that a job anchored at anchor
// with the given interval fires at now: the last anchor+k*interval at or
// before now (anchor itself when now is earlier).
func DueAt(anchor time.Time, interval time.Duration, now time.Time) time.Time {
	if interval <= 0 || !now.After(anchor) {
		return anchor
	}
	return anchor.Add(now.Sub(anchor) / interval * interval)
}

// Jitter is the small deterministic delay of the run due at due: up to
// JitterPercent of the interval, a hash of location, flow and due time.
func Jitter(location, flow string, interval time.Duration, due time.Time) time.Duration {
	span := interval * JitterPercent / 100
	if span <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(location))
	h.Write([]byte{0})
	h.Write([]byte(flow))
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(due.UnixNano()))
	h.Write(b[:])
	return time.Duration(mix(h.Sum64()) % uint64(span))
}

package store

import (
	"sort"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// rkey is a rollup row's key: bucket start (unix ns) and series id.
type rkey struct{ bucket, series int64 }

func (a rkey) less(b rkey) bool {
	if a.bucket != b.bucket {
		return a.bucket < b.bucket
	}
	return a.series < b.series
}

// rval is a rollup row's value: the first and last run start in the bucket
// and one entry per step name (0: the runs themselves), ordered by name.
type rval struct {
	first, last int64 // run starts, unix ns (confirm runs too)
	stats       []stat
	confirm     int64 // confirm runs (probe.Run.Confirm): in first and last, not in stats
	// lastIvl is the interval of the run at last, in milliseconds
	// (rollup last_interval_ms); 0: not known. Of two runs at last, the
	// longer.
	lastIvl int64
}

// lastInterval notes a run at start (unix ns) of interval ms (0: not
// known) in a row whose last run start is last, before last is moved to
// it: the later run's interval, the longer of two at once. Merges in any
// order, as last does (late and spooled runs, rows already stored).
func lastInterval(last, ivl, start, ms int64) int64 {
	switch {
	case start > last:
		return max(ms, 0)
	case start == last:
		return max(ivl, ms, 0)
	}
	return ivl
}

// entry returns the row's entry for name, adding it in order if needed.
func (v *rval) entry(name int64) *stat {
	i := len(v.stats)
	for i > 0 && v.stats[i-1].name >= name { // entries arrive mostly in order
		i--
	}
	if i < len(v.stats) && v.stats[i].name == name {
		return &v.stats[i]
	}
	v.stats = append(v.stats, stat{})
	copy(v.stats[i+1:], v.stats[i:])
	v.stats[i] = stat{name: name}
	return &v.stats[i]
}

// runs is the number of runs counted in the row.
func (v *rval) runs() int64 {
	if len(v.stats) > 0 && v.stats[0].name == 0 {
		s := &v.stats[0]
		return runsOf(s.ok, s.failed, s.degraded, s.notRun)
	}
	return 0
}

// aggregate pre-aggregates one batch's rollups in memory, so that a batch
// upserts each (bucket, series) row once.
type aggregate struct {
	bounds       []time.Duration
	minute, hour map[rkey]*rval
	// entries is the room a new row gets for its entries (the run's and
	// its steps'); 6 unless the caller knows better (stepsHint).
	entries int
	// New rows, their entries and their first histogram bins are carved
	// from these slabs, chunk rows at a time (reserve), rather than
	// allocated one by one: in the daemon's steady state that was eight
	// allocations a run. A row that outgrows its room grows by itself
	// (its slices are capped), so rows never share memory.
	chunk int
	rvals []rval
	stats []stat
	bins  []bin
}

func newAggregate(bounds []time.Duration) *aggregate {
	return &aggregate{bounds: bounds, minute: map[rkey]*rval{}, hour: map[rkey]*rval{}, entries: 6, chunk: 1}
}

// stepsHint sizes new rows for runs of at most n steps.
func (a *aggregate) stepsHint(n int) { a.entries = n + 1 }

// reserve makes room for the rows of about n runs, both granularities, at
// most 256 rows at a time (what a chunk holds that no row uses is garbage as
// soon as the batch is).
func (a *aggregate) reserve(n int) { a.chunk = min(max(2*n, 1), 256) }

// newRow returns a new row with room for a.entries entries.
func (a *aggregate) newRow() *rval {
	if len(a.rvals) == cap(a.rvals) {
		a.rvals = make([]rval, 0, a.chunk)
	}
	a.rvals = a.rvals[:len(a.rvals)+1]
	v := &a.rvals[len(a.rvals)-1]
	n := a.entries
	if cap(a.stats)-len(a.stats) < n {
		a.stats = make([]stat, 0, a.chunk*n)
	}
	l := len(a.stats)
	a.stats = a.stats[:l+n]
	v.stats = a.stats[l : l : l+n]
	return v
}

// newHist returns an empty histogram with room for two bins (a row mostly
// counts one or two runs of a batch).
func (a *aggregate) newHist() sparse {
	const n = 2
	if cap(a.bins)-len(a.bins) < n {
		a.bins = make([]bin, 0, a.chunk*a.entries*n)
	}
	l := len(a.bins)
	a.bins = a.bins[:l+n]
	return a.bins[l : l : l+n]
}

// row returns the (bucket, series) rows of a run started at start (unix ns)
// in both granularities, creating them if needed, and notes its interval
// (ivlMS, milliseconds; 0: not known) as theirs if it is their last run.
func (a *aggregate) rows(series, start, ivlMS int64) (*rval, *rval) {
	const minute, hour = int64(time.Minute), int64(time.Hour)
	get := func(m map[rkey]*rval, size int64) *rval {
		k := rkey{bucket: start - start%size, series: series}
		v := m[k]
		if v == nil {
			// Room for the run entry and the steps: growing from empty
			// was a visible share of ingest time.
			v = a.newRow()
			v.first, v.last, v.lastIvl = start, start, ivlMS
			m[k] = v
		}
		v.lastIvl = lastInterval(v.last, v.lastIvl, start, ivlMS)
		v.first = min(v.first, start)
		v.last = max(v.last, start)
		return v
	}
	return get(a.minute, minute), get(a.hour, hour)
}

// add counts one result (a run's, with step 0, or a step's) that belongs to a
// run started at start (unix ns).
func (a *aggregate) add(series, step, start int64, st probe.Status, d time.Duration) {
	m, h := a.rows(series, start, 0)
	a.count(m, h, step, st, d)
}

// count counts one result in a run's minute and hour rows (from rows). Not-run
// steps are counted but have no duration; failed steps' durations are in the
// histogram, as users waited for them.
func (a *aggregate) count(m, h *rval, step int64, st probe.Status, d time.Duration) {
	slot := a.slot(st, d)
	a.countIn(m, step, st, d, slot)
	a.countIn(h, step, st, d, slot)
}

// countIn counts one result in row v, its duration in histogram slot slot
// (-1: none, a step not run).
func (a *aggregate) countIn(v *rval, step int64, st probe.Status, d time.Duration, slot int) {
	s := v.entry(step)
	switch st {
	case probe.StatusOK:
		s.ok++
	case probe.StatusFailed:
		s.failed++
	case probe.StatusDegraded:
		s.degraded++
	case probe.StatusNotRun:
		s.notRun++
	}
	if slot >= 0 {
		if s.hist == nil {
			s.hist = a.newHist()
		}
		s.sum += int64(d)
		s.hist = s.hist.add(slot, 1)
	}
}

// countRun counts a run of duration dur whose outcome is st and its steps
// (name ids ids) in row v alone, which is emptied first, its memory and
// the aggregate's histogram slab reused: the row is the run's own, read
// and let go before the next run is counted in it (Totals' raw runs).
func (a *aggregate) countRun(v *rval, st probe.Status, dur time.Duration, steps []probe.StepResult, ids []int64) {
	v.stats, a.bins = v.stats[:0], a.bins[:0]
	a.countIn(v, 0, st, dur, a.slot(st, dur))
	for i := range steps {
		a.countIn(v, ids[i], steps[i].Status, steps[i].Duration, a.slot(steps[i].Status, steps[i].Duration))
	}
}

// slot is the histogram slot of a result's duration d (-1: none, a step
// not run).
func (a *aggregate) slot(st probe.Status, d time.Duration) int {
	if st == probe.StatusNotRun {
		return -1
	}
	return slotOf(a.bounds, d)
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[rkey]*rval) []rkey {
	keys := make([]rkey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].less(keys[j]) })
	return keys
}

package store

import (
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// rkey is a rollup row's key: bucket start (unix ns), series id, step name id
// (0 for the run-level row).
type rkey struct{ bucket, series, step int64 }

func (a rkey) less(b rkey) bool {
	if a.bucket != b.bucket {
		return a.bucket < b.bucket
	}
	if a.series != b.series {
		return a.series < b.series
	}
	return a.step < b.step
}

// rval is a rollup row's value.
type rval struct {
	ok, failed, degraded, notRun int64
	sum                          int64 // nanoseconds
	first, last                  int64 // run starts, unix ns
	hist                         sparse
}

// aggregate pre-aggregates one batch's rollups in memory, so that a batch
// upserts each (bucket, series, step) once.
type aggregate struct {
	bounds       []time.Duration
	minute, hour map[rkey]*rval
}

func newAggregate(bounds []time.Duration) *aggregate {
	return &aggregate{bounds: bounds, minute: map[rkey]*rval{}, hour: map[rkey]*rval{}}
}

// add counts one result (a run's, with step 0, or a step's) that belongs to a
// run started at start (unix ns). Not-run steps are counted but have no
// duration; failed steps' durations are in the histogram, as users waited
// for them.
func (a *aggregate) add(series, step, start int64, st probe.Status, d time.Duration) {
	const minute, hour = int64(time.Minute), int64(time.Hour)
	slot := -1
	if st != probe.StatusNotRun {
		slot = slotOf(a.bounds, d)
	}
	for _, g := range []struct {
		m    map[rkey]*rval
		size int64
	}{{a.minute, minute}, {a.hour, hour}} {
		k := rkey{bucket: start - start%g.size, series: series, step: step}
		v := g.m[k]
		if v == nil {
			v = &rval{first: start, last: start}
			g.m[k] = v
		}
		switch st {
		case probe.StatusOK:
			v.ok++
		case probe.StatusFailed:
			v.failed++
		case probe.StatusDegraded:
			v.degraded++
		case probe.StatusNotRun:
			v.notRun++
		}
		if slot >= 0 {
			v.sum += int64(d)
			v.hist = v.hist.add(slot, 1)
		}
		v.first = min(v.first, start)
		v.last = max(v.last, start)
	}
}

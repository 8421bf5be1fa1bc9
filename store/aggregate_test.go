package store

import (
	"bytes"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
	"unsafe"

	"github.com/slaprobe/slaprobe/probe"
)

// A batch's rows are carved from shared slabs (newRow, newHist): no row may
// share memory with another, even when rows outgrow their room (more step
// names in a row than the hint, more latency slots than two), and each row
// must hold what a fold of its runs alone gives.
func TestAggregateRowsShareNoMemory(t *testing.T) {
	bounds := LatencyBounds()
	rng := rand.New(rand.NewPCG(5, 8))
	statuses := []probe.Status{probe.StatusOK, probe.StatusFailed, probe.StatusDegraded, probe.StatusNotRun}
	type result struct {
		step int64
		st   probe.Status
		d    time.Duration
	}
	type run struct {
		series, start int64
		results       []result // the run's own first (step 0)
	}
	var runs []run
	for range 600 {
		r := run{series: 1 + rng.Int64N(5), start: rng.Int64N(int64(3 * time.Hour))}
		r.results = append(r.results, result{0, statuses[rng.IntN(len(statuses))], time.Duration(rng.Int64N(int64(3 * time.Second)))})
		// Step names differ from run to run (a flow's config changed), so
		// rows gather more names than any one run has.
		for step := int64(1); step <= 9; step++ {
			if rng.IntN(3) == 0 {
				r.results = append(r.results, result{step, statuses[rng.IntN(len(statuses))], time.Duration(rng.Int64N(int64(3 * time.Second)))})
			}
		}
		runs = append(runs, r)
	}
	for _, hint := range []int{0, 1, 3} {
		agg := newAggregate(bounds)
		agg.stepsHint(hint)
		agg.reserve(len(runs))
		want := [2]map[rkey]*rval{{}, {}}
		for _, r := range runs {
			for _, x := range r.results {
				agg.add(r.series, x.step, r.start, x.st, x.d)
			}
			// The reference: this run alone, folded in with mergeStats.
			one := newAggregate(bounds)
			for _, x := range r.results {
				one.add(r.series, x.step, r.start, x.st, x.d)
			}
			for g, m := range [2]map[rkey]*rval{one.minute, one.hour} {
				for k, v := range m {
					w := want[g][k]
					if w == nil {
						w = &rval{first: v.first, last: v.last}
						want[g][k] = w
					}
					w.first, w.last = min(w.first, v.first), max(w.last, v.last)
					w.stats = mergeStats(w.stats, v.stats)
				}
			}
		}
		type span struct{ from, to uintptr }
		var spans []span
		mem := func(p unsafe.Pointer, size uintptr) {
			spans = append(spans, span{uintptr(p), uintptr(p) + size})
		}
		for g, m := range [2]map[rkey]*rval{agg.minute, agg.hour} {
			if len(m) != len(want[g]) {
				t.Fatalf("hint %d: %d rows, want %d", hint, len(m), len(want[g]))
			}
			for k, v := range m {
				w := want[g][k]
				if w == nil || v.first != w.first || v.last != w.last || !bytes.Equal(encodeStats(v.stats), encodeStats(w.stats)) {
					t.Fatalf("hint %d: row %v = %+v, want %+v", hint, k, v, w)
				}
				if c := cap(v.stats); c > 0 {
					mem(unsafe.Pointer(unsafe.SliceData(v.stats)), uintptr(c)*unsafe.Sizeof(stat{}))
				}
				for i := range v.stats {
					if h := v.stats[i].hist; cap(h) > 0 {
						mem(unsafe.Pointer(unsafe.SliceData(h)), uintptr(cap(h))*unsafe.Sizeof(bin{}))
					}
				}
			}
		}
		sort.Slice(spans, func(i, j int) bool { return spans[i].from < spans[j].from })
		for i := 1; i < len(spans); i++ {
			if spans[i].from < spans[i-1].to {
				t.Fatalf("hint %d: two rows' entries or bins share memory (%#x-%#x and %#x-%#x)", hint, spans[i-1].from, spans[i-1].to, spans[i].from, spans[i].to)
			}
		}
	}
}

package store

import (
	"sort"
	"time"
)

// maxHistSlots caps decoded histograms: a corrupt or hostile blob must not
// make a decoder allocate without bound.
const maxHistSlots = 4096

// bin is one non-empty histogram slot.
type bin struct {
	idx   int
	count int64
}

// sparse is a histogram as its non-empty slots, in slot order. Most rollup
// rows (one run per flow and minute) have one or two non-empty slots, so the
// sparse form is both the in-memory and the stored form.
type sparse []bin

// add counts n in slot idx, keeping the slots ordered.
func (h sparse) add(idx int, n int64) sparse {
	i := sort.Search(len(h), func(i int) bool { return h[i].idx >= idx })
	if i < len(h) && h[i].idx == idx {
		h[i].count += n
		return h
	}
	h = append(h, bin{})
	copy(h[i+1:], h[i:])
	h[i] = bin{idx: idx, count: n}
	return h
}

// merge returns a+b.
func merge(a, b sparse) sparse {
	out := make(sparse, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i].idx < b[j].idx):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].idx < a[i].idx:
			out = append(out, b[j])
			j++
		default:
			out = append(out, bin{idx: a[i].idx, count: a[i].count + b[j].count})
			i++
			j++
		}
	}
	return out
}

// dense expands h to n slots (len(LatencyBounds())+1).
func (h sparse) dense(n int) []int64 {
	out := make([]int64, n)
	for _, b := range h {
		if b.idx < n {
			out[b.idx] += b.count
		} else {
			out[n-1] += b.count
		}
	}
	return out
}

// slotOf returns the histogram slot of d: the first bound >= d, or
// len(bounds) above the last bound.
func slotOf(bounds []time.Duration, d time.Duration) int {
	return sort.Search(len(bounds), func(i int) bool { return bounds[i] >= d })
}

package report

import (
	"slices"
	"time"
)

// iv is a half-open interval [s, e).
type iv struct{ s, e time.Time }

func (a iv) dur() time.Duration { return a.e.Sub(a.s) }

// set is a sorted list of disjoint, non-empty intervals.
type set []iv

// union returns the sorted, merged union of intervals (empty ones dropped).
// Touching intervals are merged.
func union(xs ...[]iv) set {
	var all []iv
	for _, x := range xs {
		for _, a := range x {
			if a.e.After(a.s) {
				all = append(all, a)
			}
		}
	}
	slices.SortFunc(all, func(a, b iv) int { return a.s.Compare(b.s) })
	var out set
	for _, a := range all {
		if n := len(out); n > 0 && !a.s.After(out[n-1].e) {
			if a.e.After(out[n-1].e) {
				out[n-1].e = a.e
			}
			continue
		}
		out = append(out, a)
	}
	return out
}

// minus returns a without b.
func (a set) minus(b set) set {
	var out set
	for _, x := range a {
		cur := []iv{x}
		for _, y := range b {
			var next []iv
			for _, c := range cur {
				if !y.s.Before(c.e) || !y.e.After(c.s) { // no overlap
					next = append(next, c)
					continue
				}
				if y.s.After(c.s) {
					next = append(next, iv{c.s, y.s})
				}
				if y.e.Before(c.e) {
					next = append(next, iv{y.e, c.e})
				}
			}
			cur = next
		}
		out = append(out, cur...)
	}
	return out
}

// intersect returns a ∩ b.
func (a set) intersect(b set) set {
	var out set
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		s := maxT(a[i].s, b[j].s)
		e := minT(a[i].e, b[j].e)
		if e.After(s) {
			out = append(out, iv{s, e})
		}
		if a[i].e.Before(b[j].e) {
			i++
		} else {
			j++
		}
	}
	return out
}

// clip restricts a to [from, to).
func (a set) clip(from, to time.Time) set { return a.intersect(set{{from, to}}) }

func (a set) total() time.Duration {
	var d time.Duration
	for _, x := range a {
		d += x.dur()
	}
	return d
}

// contains reports whether t is inside one of the intervals.
func (a set) contains(t time.Time) bool {
	for _, x := range a {
		if !t.Before(x.s) && t.Before(x.e) {
			return true
		}
	}
	return false
}

func maxT(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minT(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

package daemon

import (
	"context"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/store"
)

// reportStore is the store as the daemon's periodic reports read it (the
// availability gauge every 5 minutes, the status page every minute): the
// store, with Totals and Coverage over the settled past kept between calls.
//
// Those reports cover the month or the last 30 days, so every rebuild read
// every hour rollup of every flow again: at 1,000 flows late in a month, 2 s
// of CPU a minute for the status page alone, and 50 times that at 50,000
// flows. Totals and Coverage are sums over a range (counts, histograms,
// durations; first and last runs are a min and a max), so a range splits at
// an hour boundary into a settled part, kept, and a recent part, read each
// time. The kept part only grows: when the boundary moves on, the hours in
// between are read and added. The boundary is settle before the current hour,
// so runs still in flight or queued in the writer when an hour ends land in
// hours not kept yet. A kept entry is read afresh after keepFor (and when the
// writer has failed commits, whose runs may land in the past late:
// invalidate), so late data shows within hours at most.
//
// A range from the same hour as a kept one that ends before the part kept
// (the day after last month, read for its edges, beside this month) is read
// from the store whole ("shorter"), and the kept entry stays for the range it
// serves: were it begun again at the shorter range's end, the next rebuild of
// the longer one would read its settled part afresh.
type reportStore struct {
	store.Store
	clock clock.Clock

	mu      sync.Mutex
	totals  map[cacheKey]*totalsEntry
	cover   map[cacheKey]*coverEntry
	version int // bumped by invalidate: entries of older versions are dropped
}

const (
	reportSettle  = time.Hour     // the recent part: at least this before the current hour
	reportKeepFor = 6 * time.Hour // a kept entry is read afresh after this
	reportEntries = 16            // entries kept per kind (ranges, flows lists)
)

// cacheKey is a query's identity, less its end: the start, the location,
// the flows and whether it asks for run counts alone.
type cacheKey struct {
	from     time.Time
	location string
	flows    string
	runsOnly bool
}

func keyOf(q store.Query, h0 time.Time) cacheKey {
	return cacheKey{from: h0, location: q.Location, flows: strings.Join(q.Flows, "\x00"), runsOnly: q.RunsOnly}
}

// totalsEntry is the sum of Totals over [from, upTo).
type totalsEntry struct {
	upTo, built time.Time
	version     int
	rows        map[rowKey]*keptRow
}

// rowKey identifies a Totals row.
type rowKey struct{ flow, location, service, step string }

// keptRow is a Totals row, its histogram kept sparse (most rows fill a few of
// its hundred slots).
type keptRow struct {
	r     store.Rollup // Hist nil, SumSeconds 0
	sumNS int64        // the durations, exactly (store sums nanoseconds)
	bins  []keptBin
	n     int // len(Hist)
}

type keptBin struct {
	i int32
	c int64
}

// coverEntry is Coverage over [from, upTo).
type coverEntry struct {
	upTo, built time.Time
	version     int
	spans       []store.Span // sorted by flow, location and service (cmpSpan)
}

func newReportStore(s store.Store, c clock.Clock) *reportStore {
	return &reportStore{Store: s, clock: c, totals: map[cacheKey]*totalsEntry{}, cover: map[cacheKey]*coverEntry{}}
}

// invalidate drops what is kept: runs may have been stored into the past.
func (s *reportStore) invalidate() {
	s.mu.Lock()
	s.version++
	s.mu.Unlock()
}

// parts splits q at two hour boundaries: a head [q.From, h0) (h0 the first
// whole hour: empty when q.From is one), the settled part [h0, cut) that is
// kept, and the recent part [cut, q.To). Head and recent part are read
// every time; ok is false when no whole settled hour is in q. (Keeping from
// h0 rather than q.From keeps one entry for a window that moves, like the
// last 30 days: it is read afresh once an hour, not at every call.)
func (s *reportStore) parts(q store.Query) (h0, cut time.Time, ok bool) {
	cut = s.clock.Now().UTC().Truncate(time.Hour).Add(-reportSettle)
	if q.To.Before(cut) {
		cut = q.To.UTC().Truncate(time.Hour)
	}
	h0 = q.From.UTC().Truncate(time.Hour)
	if h0.Before(q.From) {
		h0 = h0.Add(time.Hour)
	}
	return h0, cut, cut.After(h0)
}

// sub is q over [from, to).
func sub(q store.Query, from, to time.Time) store.Query {
	q.From, q.To = from, to
	return q
}

// Totals implements store.Store: the head and the recent part read now,
// plus the kept sum over the settled part, brought up to the cut.
func (s *reportStore) Totals(ctx context.Context, q store.Query) ([]store.Rollup, error) {
	h0, cut, ok := s.parts(q)
	if !ok {
		return s.Store.Totals(ctx, q)
	}
	k := keyOf(q, h0)
	s.mu.Lock()
	e, version := s.totals[k], s.version
	s.mu.Unlock()
	now := s.clock.Now()
	if e == nil || e.version != version || now.Sub(e.built) > reportKeepFor {
		e = &totalsEntry{upTo: h0, built: now, version: version, rows: map[rowKey]*keptRow{}}
	} else if cut.Before(e.upTo) {
		return s.Store.Totals(ctx, q) // a shorter range than the one kept (see reportStore)
	}
	if e.upTo.Before(cut) {
		rows, err := s.Store.Totals(ctx, sub(q, e.upTo, cut))
		if err != nil {
			return nil, err
		}
		e = e.clone() // readers may hold the kept one
		e.add(rows)
		e.upTo = cut
		s.mu.Lock()
		if len(s.totals) >= reportEntries {
			clear(s.totals)
		}
		s.totals[k] = e
		s.mu.Unlock()
	}
	var extra []store.Rollup
	for _, p := range [][2]time.Time{{q.From, h0}, {cut, q.To}} {
		if !p[0].Before(p[1]) {
			continue
		}
		rows, err := s.Store.Totals(ctx, sub(q, p[0], p[1]))
		if err != nil {
			return nil, err
		}
		if extra == nil {
			extra = rows
		} else {
			extra = append(extra, rows...)
		}
	}
	return e.with(extra, q.From), nil
}

// clone copies e (kept entries are never changed: readers share them).
func (e *totalsEntry) clone() *totalsEntry {
	c := &totalsEntry{upTo: e.upTo, built: e.built, version: e.version, rows: make(map[rowKey]*keptRow, len(e.rows))}
	for k, r := range e.rows {
		cr := *r
		cr.bins = append([]keptBin(nil), r.bins...)
		c.rows[k] = &cr
	}
	return c
}

// add sums Totals rows into e.
func (e *totalsEntry) add(rows []store.Rollup) {
	for i := range rows {
		r := &rows[i]
		k := rowKey{r.Flow, r.Location, r.Service, r.Step}
		kr := e.rows[k]
		if kr == nil {
			kr = &keptRow{r: *r, n: len(r.Hist)}
			kr.r.Hist = nil
			kr.r.OK, kr.r.Failed, kr.r.Degraded, kr.r.NotRun, kr.r.SumSeconds, kr.r.Confirm = 0, 0, 0, 0, 0, 0
			e.rows[k] = kr
		}
		addRollup(&kr.r, r)
		kr.r.SumSeconds = 0
		kr.sumNS += nanos(r.SumSeconds)
		kr.n = max(kr.n, len(r.Hist))
		for j, c := range r.Hist {
			if c != 0 {
				kr.bins = addBin(kr.bins, int32(j), c)
			}
		}
	}
}

// nanos is a Rollup's SumSeconds back in the nanoseconds store summed
// (exact below 2^53 ns, about 104 days of summed durations).
func nanos(sec float64) int64 { return int64(math.Round(sec * 1e9)) }

func addRollup(dst, r *store.Rollup) {
	dst.OK += r.OK
	dst.Failed += r.Failed
	dst.Degraded += r.Degraded
	dst.NotRun += r.NotRun
	dst.SumSeconds += r.SumSeconds
	dst.Confirm += r.Confirm
}

// addBin adds c to slot i of the sorted bins.
func addBin(bins []keptBin, i int32, c int64) []keptBin {
	j := sort.Search(len(bins), func(j int) bool { return bins[j].i >= i })
	if j < len(bins) && bins[j].i == i {
		bins[j].c += c
		return bins
	}
	bins = append(bins, keptBin{})
	copy(bins[j+1:], bins[j:])
	bins[j] = keptBin{i, c}
	return bins
}

// with returns the kept rows plus extra (rows of the other parts), as
// store's Totals returns them: Bucket from, sorted by flow, location,
// service and step, durations summed in nanoseconds.
//
// extra is the store's own answer, which nobody else holds: its rows and
// histograms become the answer in place, the kept rows added to them. (A
// copy of each was 36 MB of every status page rebuild at 50,000 flows.)
func (e *totalsEntry) with(extra []store.Rollup, from time.Time) []store.Rollup {
	out := extra[:0]
	sums := make([]int64, 0, max(len(extra), len(e.rows)))
	index := make(map[rowKey]int, max(len(extra), len(e.rows)))
	for i := range extra {
		r := extra[i] // out[j] for j <= i may be written below: copy first
		k := rowKey{r.Flow, r.Location, r.Service, r.Step}
		j, ok := index[k]
		if !ok {
			r.Bucket = from
			index[k] = len(out)
			out = append(out, r)
			sums = append(sums, nanos(r.SumSeconds))
			continue
		}
		o := &out[j]
		addRollup(o, &r)
		sums[j] += nanos(r.SumSeconds)
		if len(r.Hist) > len(o.Hist) {
			o.Hist = append(o.Hist, make([]int64, len(r.Hist)-len(o.Hist))...)
		}
		for h, c := range r.Hist {
			o.Hist[h] += c
		}
	}
	for k, kr := range e.rows {
		j, ok := index[k]
		if !ok {
			r := kr.r
			r.Bucket = from
			r.Hist = nil
			j = len(out)
			out = append(out, r)
			sums = append(sums, 0)
		} else {
			addRollup(&out[j], &kr.r) // kr.r.SumSeconds is 0: kr.sumNS has it
		}
		sums[j] += kr.sumNS
		o := &out[j]
		if kr.n > len(o.Hist) {
			o.Hist = append(o.Hist, make([]int64, kr.n-len(o.Hist))...)
		}
		for _, b := range kr.bins {
			o.Hist[b.i] += b.c
		}
	}
	for i := range out {
		out[i].SumSeconds = time.Duration(sums[i]).Seconds()
	}
	store.SortTotals(out)
	return out
}

// Coverage implements store.Store like Totals: first and last runs are the
// earliest and latest of the parts, the runs their sum.
func (s *reportStore) Coverage(ctx context.Context, q store.Query) ([]store.Span, error) {
	h0, cut, ok := s.parts(q)
	if !ok {
		return s.Store.Coverage(ctx, q)
	}
	k := keyOf(q, h0)
	k.runsOnly = false // the same coverage either way
	s.mu.Lock()
	e, version := s.cover[k], s.version
	s.mu.Unlock()
	now := s.clock.Now()
	if e == nil || e.version != version || now.Sub(e.built) > reportKeepFor {
		e = &coverEntry{upTo: h0, built: now, version: version}
	} else if cut.Before(e.upTo) {
		return s.Store.Coverage(ctx, q) // a shorter range than the one kept (see reportStore)
	}
	if e.upTo.Before(cut) {
		spans, err := s.Store.Coverage(ctx, sub(q, e.upTo, cut))
		if err != nil {
			return nil, err
		}
		e = &coverEntry{upTo: cut, built: e.built, version: e.version, spans: mergeSpans(e.spans, sortSpans(spans))}
		s.mu.Lock()
		if len(s.cover) >= reportEntries {
			clear(s.cover)
		}
		s.cover[k] = e
		s.mu.Unlock()
	}
	// Sorted lists merged, not maps: at 50,000 flows a map of every span
	// was ~15 MB of every status page rebuild.
	out, merged := e.spans, false // the kept spans are never changed
	for _, p := range [][2]time.Time{{q.From, h0}, {cut, q.To}} {
		if !p[0].Before(p[1]) {
			continue
		}
		spans, err := s.Store.Coverage(ctx, sub(q, p[0], p[1]))
		if err != nil {
			return nil, err
		}
		if len(spans) > 0 {
			out, merged = mergeSpans(out, sortSpans(spans)), true
		}
	}
	if !merged {
		out = mergeSpans(out, nil) // a copy: the caller's own
	}
	return out, nil
}

// cmpSpan orders spans as store's Coverage does: by flow, location and
// service.
func cmpSpan(a, b store.Span) int {
	if c := strings.Compare(a.Flow, b.Flow); c != 0 {
		return c
	}
	if c := strings.Compare(a.Location, b.Location); c != 0 {
		return c
	}
	return strings.Compare(a.Service, b.Service)
}

// sortSpans sorts a store's answer (its own) if it is not sorted already.
func sortSpans(spans []store.Span) []store.Span {
	if !slices.IsSortedFunc(spans, cmpSpan) {
		slices.SortFunc(spans, cmpSpan)
	}
	return spans
}

// mergeSpans returns the sorted a and b as one new sorted list, the spans
// of the same flow, location and service joined; a and b are not changed.
func mergeSpans(a, b []store.Span) []store.Span {
	out := make([]store.Span, 0, max(len(a), len(b)))
	add := func(sp store.Span) {
		if n := len(out); n > 0 && cmpSpan(out[n-1], sp) == 0 {
			out[n-1] = joinSpan(out[n-1], sp)
			return
		}
		out = append(out, sp)
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		if j == len(b) || (i < len(a) && cmpSpan(a[i], b[j]) <= 0) {
			add(a[i])
			i++
		} else {
			add(b[j])
			j++
		}
	}
	return out
}

// joinSpan is the span of two parts of a range (a may be the zero Span).
func joinSpan(a, b store.Span) store.Span {
	if a.Runs == 0 && a.Confirm == 0 && a.First.IsZero() {
		return b
	}
	if b.First.Before(a.First) {
		a.First = b.First
	}
	a.Last, a.LastInterval = store.JoinLast(a.Last, a.LastInterval, b.Last, b.LastInterval)
	a.Runs += b.Runs
	a.Confirm += b.Confirm
	return a
}

// RunsEach hands a report's batch of small run reads (its retired flows'
// last runs) to the store's own RunsEach where it has one (SQLite,
// PostgreSQL), which reads the series table once for all of them; else
// it reads them one query at a time. Without it, the embedded store.Store
// hid the store's, and the report read a retired flow at a time.
func (s *reportStore) RunsEach(ctx context.Context, qs []store.Query) ([][]probe.Run, error) {
	return store.RunsEach(ctx, s.Store, qs)
}

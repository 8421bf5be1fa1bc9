package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

func rollupTable(g Granularity) (string, error) {
	switch g {
	case Minute:
		return "rollup_minute", nil
	case Hour:
		return "rollup_hour", nil
	}
	return "", fmt.Errorf("store: unknown rollup granularity %q (want %q or %q)", g, Minute, Hour)
}

// seriesFilter returns the series of q by id (shared: read only) and an SQL
// condition on the series column ("" when every series matches).
func (c *core) seriesFilter(ctx context.Context, q Query) (seriesIndex, string, []any, error) {
	if len(q.Flows) == 0 && q.Location == "" {
		_, byID, err := c.allSeries(ctx)
		if err != nil {
			return nil, "", nil, err
		}
		return byID, "", nil, nil
	}
	series, err := c.findSeries(ctx, q.Flows, q.Location)
	if err != nil {
		return nil, "", nil, err
	}
	byID := indexSeries(series)
	if len(series) == 0 {
		return byID, " AND 1 = 0", nil, nil
	}
	if len(series) > 500 { // filter in Go rather than bind a huge list
		return byID, "", nil, nil
	}
	args := make([]any, len(series))
	for i, s := range series {
		args[i] = s.ID
	}
	return byID, " AND series IN (?" + strings.Repeat(",?", len(series)-1) + ")", args, nil
}

// Rollups implements Store.
func (c *core) Rollups(ctx context.Context, g Granularity, q Query) (_ []Rollup, err error) {
	ctx, done := c.reading(ctx, "reading the rollups")
	defer done(&err)
	table, err := rollupTable(g)
	if err != nil {
		return nil, err
	}
	from, to, _ := rangeNS(q)
	byID, cond, cargs, err := c.seriesFilter(ctx, q)
	if err != nil {
		return nil, err
	}
	names, err := c.stepNames(ctx)
	if err != nil {
		return nil, err
	}
	query := c.r.Rebind(`SELECT bucket_ns, series, data, confirm_runs FROM ` + table +
		` WHERE bucket_ns >= ? AND bucket_ns < ?` + cond + ` ORDER BY bucket_ns, series`)
	rows, err := c.r.QueryContext(ctx, query, append([]any{from, to}, cargs...)...)
	if err != nil {
		return nil, fmt.Errorf("store: read %s: %w", table, err)
	}
	defer rows.Close()
	var (
		out         []Rollup
		n           = len(c.bounds) + 1
		bucket, sid int64
		confirm     int64
		data        sql.RawBytes
		scratch     stat
		sr          seriesRow
		runRow      int // the index in out of the row's run-level entry, -1: none
	)
	add := func(st *stat) {
		if st.name == 0 {
			runRow = len(out)
		}
		nk := names[st.name]
		out = append(out, Rollup{Bucket: fromNS(bucket), Service: sr.Service, Flow: sr.Flow, Step: nk.step, Function: nk.function,
			Location: sr.Location, OK: st.ok, Failed: st.failed, Degraded: st.degraded, NotRun: st.notRun,
			Hist: st.hist.dense(n), SumSeconds: time.Duration(st.sum).Seconds()})
	}
	for rows.Next() {
		if err := rows.Scan(&bucket, &sid, &data, &confirm); err != nil {
			return nil, fmt.Errorf("store: read %s: %w", table, err)
		}
		var ok bool
		if sr, ok = byID.get(sid); !ok {
			continue
		}
		runRow = -1
		if err := eachStat(data, &scratch, add); err != nil {
			return nil, err
		}
		if confirm > 0 {
			if runRow < 0 { // confirm runs only
				scratch = stat{}
				add(&scratch)
			}
			out[runRow].Confirm = confirm
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read %s: %w", table, err)
	}
	return out, nil
}

// source is where a part of a range is read from.
type source int8

const (
	fromRaw    source = iota // raw runs
	fromMinute               // minute rollups
	fromHour                 // hour rollups
)

// part is a piece [from, to) of a range (unix ns) and its source.
type part struct {
	src      source
	from, to int64
}

// split cuts [from, to) into the parts each source covers exactly: the whole
// hours inside it from the hour rollups, the whole minutes at its edges from
// the minute rollups, and the partial minutes at its very edges from the raw
// runs. This is the one place that decides which rows a range reads
// (Totals and Coverage use it): a bucket counts when it lies inside the
// range, so nothing from before From or from To on is ever counted.
func split(from, to int64) []part {
	const minute, hour = int64(time.Minute), int64(time.Hour)
	if from >= to {
		return nil
	}
	var out []part
	add := func(src source, a, b int64) {
		if a < b {
			out = append(out, part{src, a, b})
		}
	}
	mFrom, mTo := ceilTo(from, minute), to-to%minute
	if mFrom >= mTo {
		add(fromRaw, from, to)
		return out
	}
	add(fromRaw, from, mFrom)
	if hFrom, hTo := ceilTo(mFrom, hour), mTo-mTo%hour; hFrom < hTo {
		add(fromMinute, mFrom, hFrom)
		add(fromHour, hFrom, hTo)
		add(fromMinute, hTo, mTo)
	} else {
		add(fromMinute, mFrom, mTo)
	}
	add(fromRaw, mTo, to)
	return out
}

// ceilTo rounds x (>= 0) up to a multiple of d, saturating.
func ceilTo(x, d int64) int64 {
	if r := x % d; r != 0 {
		if x > math.MaxInt64-d {
			return math.MaxInt64
		}
		return x - r + d
	}
	return x
}

// totals accumulates rollup entries per series and step. Entries are
// grouped by series, so a row of a rollup table (one series, a stat per
// step) costs one map lookup, and its steps a short scan: keyed by series
// and step in two maps, a month of hour rollups at 50,000 flows made 10 M
// lookups in maps of 200,000 keys, two thirds of the report's time.
type totals struct {
	n        int  // histogram slots; 0: none kept
	runsOnly bool // Query.RunsOnly: the run-level entries alone
	series   map[int64]*seriesTotals
}

// add adds s to the sums of series st, unless runsOnly leaves it out.
func (t *totals) add(st *seriesTotals, s *stat) {
	if t.runsOnly && s.name != 0 {
		return
	}
	st.add(t.n, s)
}

// seriesTotals is one series' sums: a stepTotal per step name id (0: whole
// runs), in the order first seen, and its confirm runs.
type seriesTotals struct {
	steps   []stepTotal
	confirm int64
}

type stepTotal struct {
	name                         int64
	ok, failed, degraded, notRun int64
	sum                          int64 // nanoseconds
	// hist is only as long as its last used slot (see Store.Totals): at
	// 50,000 flows, full ones (n slots) were 100k rows of 808 bytes, where a
	// step's durations fill a few slots. Nil when no duration was counted.
	hist []int64
}

// of returns series' sums, added if new.
func (t *totals) of(series int64) *seriesTotals {
	st := t.series[series]
	if st == nil {
		st = &seriesTotals{}
		t.series[series] = st
	}
	return st
}

// step returns the sums of step name id name, added if new.
func (st *seriesTotals) step(name int64) *stepTotal {
	for i := range st.steps {
		if st.steps[i].name == name {
			return &st.steps[i]
		}
	}
	st.steps = append(st.steps, stepTotal{name: name})
	return &st.steps[len(st.steps)-1]
}

// addConfirm counts n confirm runs.
func (st *seriesTotals) addConfirm(n int64) {
	if n > 0 {
		st.confirm += n
		st.step(0) // the series has a run-level row
	}
}

// add adds s, of a histogram of n slots at most.
func (st *seriesTotals) add(n int, s *stat) {
	a := st.step(s.name)
	a.ok += s.ok
	a.failed += s.failed
	a.degraded += s.degraded
	a.notRun += s.notRun
	a.sum += s.sum
	if n == 0 {
		return
	}
	for _, b := range s.hist {
		i := min(b.idx, n-1)
		if i >= len(a.hist) {
			a.hist = append(a.hist, make([]int64, i+1-len(a.hist))...)
		}
		a.hist[i] += b.count
	}
}

// Totals implements Store.
func (c *core) Totals(ctx context.Context, q Query) (_ []Rollup, err error) {
	ctx, done := c.reading(ctx, "reading the totals")
	defer done(&err)
	from, to, _ := rangeNS(q)
	byID, cond, cargs, err := c.seriesFilter(ctx, q)
	if err != nil {
		return nil, err
	}
	names, err := c.stepNames(ctx)
	if err != nil {
		return nil, err
	}
	t := &totals{n: len(c.bounds) + 1, runsOnly: q.RunsOnly, series: map[int64]*seriesTotals{}}
	if q.RunsOnly {
		t.n = 0
	}
	for _, p := range split(from, to) {
		args := append([]any{p.from, p.to}, cargs...)
		var err error
		if p.src == fromRaw {
			err = c.totalsRaw(ctx, t, cond, args, byID)
		} else {
			err = c.totalsRollups(ctx, t, p.src, cond, args, byID)
		}
		if err != nil {
			return nil, err
		}
	}
	n := 0
	for _, st := range t.series {
		n += len(st.steps)
	}
	out := make([]Rollup, 0, n)
	for sid, st := range t.series {
		sr, _ := byID.get(sid)
		for i := range st.steps {
			a := &st.steps[i]
			nk := names[a.name]
			r := Rollup{Bucket: fromNS(from), Service: sr.Service, Flow: sr.Flow, Step: nk.step, Function: nk.function,
				Location: sr.Location, OK: a.ok, Failed: a.failed, Degraded: a.degraded, NotRun: a.notRun,
				Hist: a.hist, SumSeconds: time.Duration(a.sum).Seconds()}
			if a.name == 0 {
				r.Confirm = st.confirm
			}
			out = append(out, r)
		}
	}
	SortTotals(out)
	return out, nil
}

func (c *core) totalsRollups(ctx context.Context, t *totals, src source, cond string, args []any, byID seriesIndex) error {
	table := "rollup_minute"
	if src == fromHour {
		table = "rollup_hour"
	}
	rows, err := c.r.QueryContext(ctx, c.r.Rebind(`SELECT series, data, confirm_runs FROM `+table+` WHERE bucket_ns >= ? AND bucket_ns < ?`+cond), args...)
	if err != nil {
		return fmt.Errorf("store: read %s: %w", table, err)
	}
	defer rows.Close()
	var (
		sid, confirm int64
		data         sql.RawBytes
		scratch      stat
		st           *seriesTotals
	)
	add := func(s *stat) { t.add(st, s) }
	for rows.Next() {
		if err := rows.Scan(&sid, &data, &confirm); err != nil {
			return fmt.Errorf("store: read %s: %w", table, err)
		}
		if _, ok := byID[sid]; !ok {
			continue
		}
		st = t.of(sid)
		if err := eachStat(data, &scratch, add); err != nil {
			return err
		}
		st.addConfirm(confirm)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: read %s: %w", table, err)
	}
	return nil
}

// totalsRaw folds the raw runs of a partial minute into t, as AppendRuns
// folds them into the rollups.
func (c *core) totalsRaw(ctx context.Context, t *totals, cond string, args []any, byID seriesIndex) error {
	rows, err := c.r.QueryContext(ctx, c.r.Rebind(`SELECT series, duration_ns, steps, confirm FROM runs WHERE start_ns >= ? AND start_ns < ?`+cond), args...)
	if err != nil {
		return fmt.Errorf("store: read runs: %w", err)
	}
	defer rows.Close()
	var (
		sid, dur, confirm int64
		blob              sql.RawBytes
		ids               []int64
		run               probe.Run
		// One row counts each run, as AppendRuns counts it into a rollup
		// row, and is reused for the next: a new aggregate a run was 5-6 MB
		// of garbage at each of the status page's rebuilds at 1,000 flows
		// every 10 s (the minute under way, up to 6,000 runs).
		agg = newAggregate(c.bounds)
		row rval
	)
	for rows.Next() {
		if err := rows.Scan(&sid, &dur, &blob, &confirm); err != nil {
			return fmt.Errorf("store: read runs: %w", err)
		}
		if _, ok := byID[sid]; !ok {
			continue
		}
		st := t.of(sid)
		if confirm != 0 { // counted apart, as AppendRuns does
			st.addConfirm(1)
			continue
		}
		ids = ids[:0]
		if run.Steps, err = decodeStepsTo(run.Steps, blob, nil, &ids); err != nil {
			return fmt.Errorf("store: read runs: %w", err)
		}
		agg.countRun(&row, run.Outcome(), time.Duration(dur), run.Steps, ids)
		for i := range row.stats {
			t.add(st, &row.stats[i])
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: read runs: %w", err)
	}
	return nil
}

// Coverage implements Store. It reads as Totals does (split): the first and
// last run start and the number of runs of every part, so First is never
// before q.From and Last never at or after q.To.
func (c *core) Coverage(ctx context.Context, q Query) (_ []Span, err error) {
	ctx, done := c.reading(ctx, "reading the coverage")
	defer done(&err)
	from, to, _ := rangeNS(q)
	byID, cond, cargs, err := c.seriesFilter(ctx, q)
	if err != nil {
		return nil, err
	}
	spans := map[int64]*Span{}
	for _, p := range split(from, to) {
		// The interval of each series' last run in the part: that run's
		// (the longest of those at that instant), or its rollup row's, in
		// the bucket that holds last_ns (a primary key lookup).
		query := `SELECT series, MIN(start_ns) AS f, MAX(start_ns) AS l, COUNT(*) - SUM(confirm) AS n, SUM(confirm) AS nc FROM runs WHERE start_ns >= ? AND start_ns < ?`
		atLast := `(SELECT MAX(x.interval_ms) FROM runs x WHERE x.series = g.series AND x.start_ns = g.l)`
		switch p.src {
		case fromMinute:
			query = `SELECT series, MIN(first_ns) AS f, MAX(last_ns) AS l, SUM(runs) AS n, SUM(confirm_runs) AS nc FROM rollup_minute WHERE bucket_ns >= ? AND bucket_ns < ?`
			atLast = fmt.Sprintf(`(SELECT x.last_interval_ms FROM rollup_minute x WHERE x.bucket_ns = g.l - g.l %% %d AND x.series = g.series)`, int64(time.Minute))
		case fromHour:
			query = `SELECT series, MIN(first_ns) AS f, MAX(last_ns) AS l, SUM(runs) AS n, SUM(confirm_runs) AS nc FROM rollup_hour WHERE bucket_ns >= ? AND bucket_ns < ?`
			atLast = fmt.Sprintf(`(SELECT x.last_interval_ms FROM rollup_hour x WHERE x.bucket_ns = g.l - g.l %% %d AND x.series = g.series)`, int64(time.Hour))
		}
		query = `SELECT g.series, g.f, g.l, g.n, g.nc, COALESCE(` + atLast + `, 0) FROM (` + query + cond + ` GROUP BY series) g`
		rows, err := c.r.QueryContext(ctx, c.r.Rebind(query), append([]any{p.from, p.to}, cargs...)...)
		if err != nil {
			return nil, fmt.Errorf("store: read coverage: %w", err)
		}
		for rows.Next() {
			var sid, first, last, n, nc, ivl int64
			if err := rows.Scan(&sid, &first, &last, &n, &nc, &ivl); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: read coverage: %w", err)
			}
			s, ok := byID.get(sid)
			if !ok {
				continue
			}
			lastIvl := time.Duration(ivl) * time.Millisecond
			sp := spans[sid]
			if sp == nil {
				sp = &Span{Flow: s.Flow, Service: s.Service, Location: s.Location, First: fromNS(first), Last: fromNS(last), LastInterval: lastIvl}
				spans[sid] = sp
			}
			if t := fromNS(first); t.Before(sp.First) {
				sp.First = t
			}
			sp.Last, sp.LastInterval = JoinLast(sp.Last, sp.LastInterval, fromNS(last), lastIvl)
			sp.Runs += n
			sp.Confirm += nc
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("store: read coverage: %w", err)
		}
	}
	out := make([]Span, 0, len(spans))
	for _, sp := range spans {
		out = append(out, *sp)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Flow != b.Flow {
			return a.Flow < b.Flow
		}
		if a.Location != b.Location {
			return a.Location < b.Location
		}
		return a.Service < b.Service
	})
	return out, nil
}

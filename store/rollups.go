package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
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

// seriesFilter returns the series of q by id and an SQL condition on the
// series column ("" when every series matches).
func (c *core) seriesFilter(ctx context.Context, q Query) (map[int64]seriesRow, string, []any, error) {
	series, err := c.findSeries(ctx, q.Flows, q.Location)
	if err != nil {
		return nil, "", nil, err
	}
	byID := make(map[int64]seriesRow, len(series))
	for _, s := range series {
		byID[s.ID] = s
	}
	if len(q.Flows) == 0 && q.Location == "" {
		return byID, "", nil, nil
	}
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
func (c *core) Rollups(ctx context.Context, g Granularity, q Query) ([]Rollup, error) {
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
	query := c.r.Rebind(`SELECT bucket_ns, series, data FROM ` + table +
		` WHERE bucket_ns >= ? AND bucket_ns < ?` + cond + ` ORDER BY bucket_ns, series`)
	rows, err := c.r.QueryContext(ctx, query, append([]any{from, to}, cargs...)...)
	if err != nil {
		return nil, fmt.Errorf("store: read %s: %w", table, err)
	}
	defer rows.Close()
	var out []Rollup
	n := len(c.bounds) + 1
	for rows.Next() {
		var (
			bucket, sid int64
			data        any
		)
		if err := rows.Scan(&bucket, &sid, &data); err != nil {
			return nil, fmt.Errorf("store: read %s: %w", table, err)
		}
		s, ok := byID[sid]
		if !ok {
			continue
		}
		stats, err := c.d.statsScan(data)
		if err != nil {
			return nil, err
		}
		for i := range stats {
			st := &stats[i]
			nk := names[st.name]
			out = append(out, Rollup{Bucket: fromNS(bucket), Service: s.Service, Flow: s.Flow, Step: nk.step, Function: nk.function,
				Location: s.Location, OK: st.ok, Failed: st.failed, Degraded: st.degraded, NotRun: st.notRun,
				Hist: st.hist.dense(n), SumSeconds: time.Duration(st.sum).Seconds()})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read %s: %w", table, err)
	}
	return out, nil
}

// Coverage implements Store. Whole hours inside the range come from the hour
// rollups, the partial hours at its edges from the minute rollups; the first
// and last run starts are exact, but a run in the minute that contains From
// and starts before it is counted.
func (c *core) Coverage(ctx context.Context, q Query) ([]Span, error) {
	from, to, _ := rangeNS(q)
	byID, cond, cargs, err := c.seriesFilter(ctx, q)
	if err != nil {
		return nil, err
	}
	const minute, hour = int64(time.Minute), int64(time.Hour)
	from = from - from%minute
	type part struct {
		table    string
		from, to int64
	}
	var parts []part
	hFrom := from
	if r := hFrom % hour; r != 0 {
		hFrom += hour - r
	}
	hTo := to - to%hour
	if hFrom < hTo && hFrom >= from {
		parts = append(parts, part{"rollup_minute", from, hFrom}, part{"rollup_hour", hFrom, hTo}, part{"rollup_minute", hTo, to})
	} else {
		parts = append(parts, part{"rollup_minute", from, to})
	}
	spans := map[int64]*Span{}
	for _, p := range parts {
		if p.from >= p.to {
			continue
		}
		query := c.r.Rebind(`SELECT series, MIN(first_ns), MAX(last_ns), SUM(runs) FROM ` + p.table +
			` WHERE bucket_ns >= ? AND bucket_ns < ?` + cond + ` GROUP BY series`)
		rows, err := c.r.QueryContext(ctx, query, append([]any{p.from, p.to}, cargs...)...)
		if err != nil {
			return nil, fmt.Errorf("store: read coverage: %w", err)
		}
		for rows.Next() {
			var sid, first, last, n int64
			if err := rows.Scan(&sid, &first, &last, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: read coverage: %w", err)
			}
			s, ok := byID[sid]
			if !ok {
				continue
			}
			sp := spans[sid]
			if sp == nil {
				sp = &Span{Flow: s.Flow, Service: s.Service, Location: s.Location, First: fromNS(first), Last: fromNS(last)}
				spans[sid] = sp
			}
			if t := fromNS(first); t.Before(sp.First) {
				sp.First = t
			}
			if t := fromNS(last); t.After(sp.Last) {
				sp.Last = t
			}
			sp.Runs += n
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

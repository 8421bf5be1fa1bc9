package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// runsOfSeries reads one series' runs in [from, to), in order of start.
const runsOfSeries = `SELECT run_id, start_ns, duration_ns, steps, confirm, interval_ms FROM runs
WHERE series = ? AND start_ns >= ? AND start_ns < ? ORDER BY start_ns, id`

// Runs implements Store.
func (c *core) Runs(ctx context.Context, q Query) (_ []probe.Run, err error) {
	ctx, done := c.reading(ctx, "reading the runs")
	defer done(&err)
	from, to, _ := rangeNS(q)
	series, err := c.findSeries(ctx, q.Flows, q.Location)
	if err != nil {
		return nil, err
	}
	names, err := c.stepNames(ctx)
	if err != nil {
		return nil, err
	}
	query := c.r.Rebind(runsOfSeries)
	var out []probe.Run
	for _, sr := range series {
		if err := c.readRuns(ctx, query, sr, from, to, names, &out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RunsEach is Runs of each of qs of s (out[i] those of qs[i]): at once
// through s's own RunsEach where it has one (SQLite, PostgreSQL, a Pending
// store: the series table and the step names read once for all of qs),
// else a query at a time.
func RunsEach(ctx context.Context, s Store, qs []Query) ([][]probe.Run, error) {
	if b, ok := s.(interface {
		RunsEach(context.Context, []Query) ([][]probe.Run, error)
	}); ok && len(qs) > 0 {
		return b.RunsEach(ctx, qs)
	}
	out := make([][]probe.Run, len(qs))
	for i, q := range qs {
		runs, err := s.Runs(ctx, q)
		if err != nil {
			return nil, err
		}
		out[i] = runs
	}
	return out, nil
}

// RunsEach is Runs of each of qs (out[i] those of qs[i]), with the series
// table and the step names read once for all of them rather than once a
// query: a report's retired flows each want one run (report.findRetired),
// and one Runs call apiece read the whole series table's count and every
// step name each time, so 400 retired flows of 4,000 read the series
// table 400 times.
func (c *core) RunsEach(ctx context.Context, qs []Query) (_ [][]probe.Run, err error) {
	ctx, done := c.reading(ctx, "reading the runs")
	defer done(&err)
	all, _, err := c.allSeries(ctx)
	if err != nil {
		return nil, err
	}
	names, err := c.stepNames(ctx)
	if err != nil {
		return nil, err
	}
	query := c.r.Rebind(runsOfSeries)
	byFlow := map[string][]seriesRow{}
	for _, sr := range all {
		byFlow[sr.Flow] = append(byFlow[sr.Flow], sr)
	}
	out := make([][]probe.Run, len(qs))
	var points []runPoint
	for i, q := range qs {
		from, to, _ := rangeNS(q)
		series := all
		if len(q.Flows) > 0 {
			series = nil
			fs := slices.Clone(q.Flows)
			slices.Sort(fs) // Runs' order: by flow, location, service
			for _, f := range slices.Compact(fs) {
				series = append(series, byFlow[f]...)
			}
		}
		for _, sr := range filterSeries(series, q.Flows, q.Location) {
			if to == from+1 {
				points = append(points, runPoint{sr: sr, at: from, q: i})
				continue
			}
			if err := c.readRuns(ctx, query, sr, from, to, names, &out[i]); err != nil {
				return nil, err
			}
		}
	}
	if err := c.readPoints(ctx, points, names, out); err != nil {
		return nil, err
	}
	return out, nil
}

// runPoint is a query of RunsEach for the runs of one series at one
// instant (a run's start, as a report asks for a flow's last run).
type runPoint struct {
	sr seriesRow
	at int64 // start, Unix ns
	q  int   // the query's index
}

// pointsPerRead is how many runPoints one statement reads: two bound
// values each, well under SQLite's 32,766 and PostgreSQL's 65,535.
const pointsPerRead = 100

// readPoints reads the runs of points, pointsPerRead of them a statement,
// and appends each point's to out[p.q], in the order of points and, at one
// point, of their ids, as readRuns would have one at a time. A report whose
// 50,000 flows' probers had all stopped read each one's last run with a
// statement of its own: 5.1 s a build where 3.2 s without.
func (c *core) readPoints(ctx context.Context, points []runPoint, names map[int64]nameKey, out [][]probe.Run) error {
	if len(points) == 0 {
		return nil
	}
	// One statement of n points, prepared once: parsing it anew for each
	// chunk cost as much as the reads. The last chunk repeats its last
	// point up to n (a row matched twice is returned once).
	n := min(len(points), pointsPerRead)
	var q strings.Builder
	q.WriteString(`SELECT series, run_id, start_ns, duration_ns, steps, confirm, interval_ms FROM runs WHERE `)
	for i := range n {
		if i > 0 {
			q.WriteString(" OR ")
		}
		q.WriteString("(series = ? AND start_ns = ?)")
	}
	q.WriteString(" ORDER BY id")
	stmt, err := c.r.PreparexContext(ctx, c.r.Rebind(q.String()))
	if err != nil {
		return fmt.Errorf("store: read runs: %w", err)
	}
	defer stmt.Close()
	type key struct{ series, at int64 }
	args := make([]any, 2*n)
	for len(points) > 0 {
		chunk := points[:min(len(points), n)]
		points = points[len(chunk):]
		for i := range n {
			p := chunk[min(i, len(chunk)-1)]
			args[2*i], args[2*i+1] = p.sr.ID, p.at
		}
		found := map[key][]probe.Run{}
		if err := func() error {
			rows, err := stmt.QueryContext(ctx, args...)
			if err != nil {
				return fmt.Errorf("store: read runs: %w", err)
			}
			defer rows.Close()
			var blob []byte
			for rows.Next() {
				var series int64
				r, err := scanRun(rows, names, &series, &blob)
				if err != nil {
					return err
				}
				k := key{series, r.Start.UnixNano()}
				found[k] = append(found[k], r)
			}
			if err := rows.Err(); err != nil {
				return fmt.Errorf("store: read runs: %w", err)
			}
			return nil
		}(); err != nil {
			return err
		}
		for _, p := range chunk {
			for _, r := range found[key{p.sr.ID, p.at}] {
				r.Flow, r.Service, r.Location = p.sr.Flow, p.sr.Service, p.sr.Location
				out[p.q] = append(out[p.q], r)
			}
		}
	}
	return nil
}

func (c *core) readRuns(ctx context.Context, query string, sr seriesRow, from, to int64, names map[int64]nameKey, out *[]probe.Run) error {
	rows, err := c.r.QueryContext(ctx, query, sr.ID, from, to)
	if err != nil {
		return fmt.Errorf("store: read runs: %w", err)
	}
	defer rows.Close()
	var blob []byte
	for rows.Next() {
		r, err := scanRun(rows, names, nil, &blob)
		if err != nil {
			return err
		}
		r.Flow, r.Service, r.Location = sr.Flow, sr.Service, sr.Location
		*out = append(*out, r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: read runs: %w", err)
	}
	return nil
}

// scanRun reads a runs row as runsOfSeries selects it (run_id, start_ns,
// duration_ns, steps, confirm, interval_ms), or with its series first into series when
// that is not nil (readPoints), into a run without its series' names. blob
// is the caller's buffer, kept across rows.
func scanRun(rows *sql.Rows, names map[int64]nameKey, series *int64, blob *[]byte) (probe.Run, error) {
	var (
		start, dur, confirm int64
		ivl                 sql.NullInt64 // NULL: stored before schema version 15
		runID               string
		err                 error
	)
	if series != nil {
		err = rows.Scan(series, &runID, &start, &dur, blob, &confirm, &ivl)
	} else {
		err = rows.Scan(&runID, &start, &dur, blob, &confirm, &ivl)
	}
	if err != nil {
		return probe.Run{}, fmt.Errorf("store: read runs: %w", err)
	}
	steps, err := decodeSteps(*blob, names, nil)
	if err != nil {
		return probe.Run{}, fmt.Errorf("store: run %q: %w", runID, err)
	}
	return probe.Run{ID: runID, Start: fromNS(start), Duration: time.Duration(dur), Steps: steps, Confirm: confirm != 0,
		Interval: time.Duration(ivl.Int64) * time.Millisecond}, nil
}

// LastRuns implements Store.
func (c *core) LastRuns(ctx context.Context, location string) (_ map[string]time.Time, err error) {
	ctx, done := c.reading(ctx, "reading the last runs")
	defer done(&err)
	series, err := c.findSeries(ctx, nil, location)
	if err != nil {
		return nil, err
	}
	out := map[string]time.Time{}
	query := c.r.Rebind(`SELECT MAX(start_ns) FROM runs WHERE series = ?`)
	for _, s := range series {
		var last sql.NullInt64
		if err := c.r.QueryRowxContext(ctx, query, s.ID).Scan(&last); err != nil {
			return nil, fmt.Errorf("store: read last run: %w", err)
		}
		if !last.Valid {
			continue
		}
		if t := fromNS(last.Int64); t.After(out[s.Flow]) {
			out[s.Flow] = t
		}
	}
	return out, nil
}

package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/slaprobe/slaprobe/state"
)

// A window is the open and close rows of one key, kind and start (the
// close's end wins), plus its 'cause' rows: one per change of cause after
// the first, the time it began in confirmed_ns (read by readCauses).
const windowCols = `kind, service, flow, function, location, start_ns, MAX(end_ns),
MAX(CASE WHEN op <> 'cause' THEN confirmed_ns ELSE 0 END),
MAX(CASE WHEN op <> 'cause' THEN cause_step ELSE '' END),
MAX(CASE WHEN op <> 'cause' THEN error ELSE '' END),
MAX(last_before_ns), MAX(last_in_ns), MAX(known_ns),
MAX(first_in_end_ns), MAX(first_after_end_ns)`
const windowGroup = ` GROUP BY kind, service, flow, function, location, start_ns`

// Windows implements Store. An open and a close event of the same key, kind
// and start are one window; the close's end wins.
//
// It reads only the events that can touch [from, to): those of closed
// windows that started at most max_window_ns (the longest closed window
// stored) before from, found through events_window, and those of open
// windows (end_ns 0, since a close settles its window's open event), found
// through events_end. A year of history costs what the range holds.
func (c *core) Windows(ctx context.Context, q Query) (_ []state.Window, err error) {
	ctx, done := c.reading(ctx, "reading the windows")
	defer done(&err)
	from, to, _ := rangeNS(q)
	m, err := c.meta(ctx, c.r)
	if err != nil {
		return nil, err
	}
	lo := max(from-m[metaMaxWindow], 0)
	cond, cargs := "", []any{}
	if q.Location != "" {
		cond += " AND location = ?"
		cargs = append(cargs, q.Location)
	}
	if len(q.Flows) > 0 {
		cond += " AND flow IN (?" + strings.Repeat(",?", len(q.Flows)-1) + ")"
		for _, f := range q.Flows {
			cargs = append(cargs, f)
		}
	}
	args := append([]any{lo, to, from}, cargs...)
	args = append(append(args, lo), cargs...)
	args = append(args, from)
	ws, err := c.readWindows(ctx, c.r.Rebind(windowsSQL(cond)), args)
	if err != nil {
		return nil, err
	}
	return ws, c.readCauses(ctx, ws, cond, cargs)
}

// windowsSQL is Windows' query with the filter cond (on location and flow;
// its arguments come after each branch's own). Arguments: lo, to, from,
// cond's; lo, cond's; from.
func windowsSQL(cond string) string {
	return `SELECT ` + windowCols + ` FROM (
	SELECT * FROM events WHERE start_ns >= ? AND start_ns < ? AND (end_ns > ? OR end_ns = 0)` + cond + `
	UNION ALL
	SELECT * FROM events WHERE end_ns = 0 AND start_ns < ?` + cond + `
) AS e` + windowGroup + ` HAVING MAX(end_ns) = 0 OR MAX(end_ns) > ? ORDER BY start_ns, flow, function, location, kind`
}

// OpenWindows implements Store: the windows whose open event is not
// settled, through events_end (end_ns 0).
func (c *core) OpenWindows(ctx context.Context, location string) (_ []state.Window, err error) {
	ctx, done := c.reading(ctx, "reading the open windows")
	defer done(&err)
	query := c.r.Rebind(`SELECT ` + windowCols + ` FROM events WHERE location = ? AND end_ns = 0 AND kind <> 'unknown'` + windowGroup +
		` HAVING MAX(end_ns) = 0 ORDER BY start_ns, flow, function, kind`)
	ws, err := c.readWindows(ctx, query, []any{location})
	if err != nil {
		return nil, err
	}
	return ws, c.readCauses(ctx, ws, " AND location = ?", []any{location})
}

func (c *core) readWindows(ctx context.Context, query string, args []any) ([]state.Window, error) {
	rows, err := c.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: read windows: %w", err)
	}
	defer rows.Close()
	var out []state.Window
	for rows.Next() {
		var w state.Window
		var kind string
		var start, end, confirmed, before, lastIn, known, firstInEnd, firstAfterEnd int64
		if err := rows.Scan(&kind, &w.Service, &w.Flow, &w.Function, &w.Location, &start, &end, &confirmed, &w.CauseStep, &w.Error, &before, &lastIn, &known, &firstInEnd, &firstAfterEnd); err != nil {
			return nil, fmt.Errorf("store: read windows: %w", err)
		}
		w.Kind, w.Start, w.End, w.Confirmed = state.Kind(kind), fromNS(start), fromNS(end), fromNS(confirmed)
		w.LastBefore, w.LastIn, w.Known = fromNS(before), fromNS(lastIn), fromNS(known)
		w.FirstInEnd, w.FirstAfterEnd = fromNS(firstInEnd), fromNS(firstAfterEnd)
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read windows: %w", err)
	}
	return out, nil
}

// readCauses fills in the Causes of ws: the first from the window's own
// cause, then its 'cause' rows in time order, each lasting until the next
// (the last until the window's end). cond and args narrow the rows as the
// windows' query did.
// causeChunk bounds the start times bound in one causes query (SQLite's
// and PostgreSQL's limits on parameters are far above it).
const causeChunk = 500

func (c *core) readCauses(ctx context.Context, ws []state.Window, cond string, args []any) error {
	if len(ws) == 0 {
		return nil
	}
	type wkey struct {
		kind, service, flow, function, location string
		start                                   int64
	}
	idx := make(map[wkey]int, len(ws))
	var starts []any // the windows' distinct start times, ascending
	seen := make(map[int64]bool, len(ws))
	for i := range ws {
		w := &ws[i]
		if w.Kind == state.KindUnknown {
			continue
		}
		st := toNS(w.Start)
		if !seen[st] {
			seen[st] = true
			starts = append(starts, st)
		}
		idx[wkey{string(w.Kind), w.Service, w.Flow, w.Function, w.Location, st}] = i
		w.Causes = []state.Cause{{Step: w.CauseStep, Error: w.Error, From: w.Start}}
	}
	slices.SortFunc(starts, func(a, b any) int { return cmp.Compare(a.(int64), b.(int64)) })
	// The cause rows of exactly these windows: an index seek per start time
	// (events_window leads with start_ns). A range from the earliest start to
	// the latest read every event in between, a year of them when one open
	// window started a year ago (250-740 ms for one day's windows).
	type causeRow struct {
		k        wkey
		from, id int64
		cs       state.Cause
	}
	var found []causeRow
	for len(starts) > 0 {
		chunk := starts[:min(len(starts), causeChunk)]
		starts = starts[len(chunk):]
		query := c.r.Rebind(`SELECT kind, service, flow, function, location, start_ns, confirmed_ns, cause_step, error, id FROM events
WHERE op = 'cause' AND start_ns IN (?` + strings.Repeat(",?", len(chunk)-1) + `)` + cond)
		rows, err := c.r.QueryContext(ctx, query, append(chunk, args...)...)
		if err != nil {
			return fmt.Errorf("store: read causes: %w", err)
		}
		for rows.Next() {
			var r causeRow
			if err := rows.Scan(&r.k.kind, &r.k.service, &r.k.flow, &r.k.function, &r.k.location, &r.k.start, &r.from, &r.cs.Step, &r.cs.Error, &r.id); err != nil {
				rows.Close()
				return fmt.Errorf("store: read causes: %w", err)
			}
			if _, ok := idx[r.k]; ok {
				r.cs.From = fromNS(r.from)
				found = append(found, r)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("store: read causes: %w", err)
		}
	}
	// In the order they were recorded, as the one range query gave them.
	slices.SortFunc(found, func(a, b causeRow) int {
		if c := cmp.Compare(a.from, b.from); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	for _, r := range found {
		w := &ws[idx[r.k]]
		cs := r.cs
		last := &w.Causes[len(w.Causes)-1]
		if !cs.From.After(last.From) || (!w.End.IsZero() && !cs.From.Before(w.End)) {
			continue // a repeated row, or one outside the window
		}
		w.Causes = state.AppendCause(w.Causes, cs) // at most state.MaxCauses, as the machine keeps them
	}
	for i := range ws {
		if n := len(ws[i].Causes); n > 0 {
			ws[i].Causes[n-1].To = ws[i].End
		}
	}
	return nil
}

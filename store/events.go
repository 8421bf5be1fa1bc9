package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/slaprobe/slaprobe/state"
)

const windowCols = `kind, service, flow, function, location, start_ns, MAX(end_ns), MAX(confirmed_ns), MAX(cause_step), MAX(error)`
const windowGroup = ` GROUP BY kind, service, flow, function, location, start_ns`

// Windows implements Store. An open and a close event of the same key, kind
// and start are one window; the close's end wins.
//
// It reads only the events that can touch [from, to): those of closed
// windows that started at most max_window_ns (the longest closed window
// stored) before from, found through events_start, and those of open
// windows (end_ns 0, since a close settles its window's open event), found
// through events_end. A year of history costs what the range holds.
func (c *core) Windows(ctx context.Context, q Query) ([]state.Window, error) {
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
	return c.readWindows(ctx, c.r.Rebind(windowsSQL(cond)), args)
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
// settled, through events_location (location, end_ns).
func (c *core) OpenWindows(ctx context.Context, location string) ([]state.Window, error) {
	query := c.r.Rebind(`SELECT ` + windowCols + ` FROM events WHERE location = ? AND end_ns = 0 AND kind <> 'unknown'` + windowGroup +
		` HAVING MAX(end_ns) = 0 ORDER BY start_ns, flow, function, kind`)
	return c.readWindows(ctx, query, []any{location})
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
		var start, end, confirmed int64
		if err := rows.Scan(&kind, &w.Service, &w.Flow, &w.Function, &w.Location, &start, &end, &confirmed, &w.CauseStep, &w.Error); err != nil {
			return nil, fmt.Errorf("store: read windows: %w", err)
		}
		w.Kind, w.Start, w.End, w.Confirmed = state.Kind(kind), fromNS(start), fromNS(end), fromNS(confirmed)
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read windows: %w", err)
	}
	return out, nil
}

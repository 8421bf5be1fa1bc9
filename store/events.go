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
func (c *core) Windows(ctx context.Context, q Query) ([]state.Window, error) {
	from, to, _ := rangeNS(q)
	cond, args := "", []any{to}
	if q.Location != "" {
		cond += " AND location = ?"
		args = append(args, q.Location)
	}
	if len(q.Flows) > 0 {
		cond += " AND flow IN (?" + strings.Repeat(",?", len(q.Flows)-1) + ")"
		for _, f := range q.Flows {
			args = append(args, f)
		}
	}
	args = append(args, from)
	query := c.r.Rebind(`SELECT ` + windowCols + ` FROM events WHERE start_ns < ?` + cond + windowGroup +
		` HAVING MAX(end_ns) = 0 OR MAX(end_ns) > ? ORDER BY start_ns, flow, function, location, kind`)
	return c.readWindows(ctx, query, args)
}

// OpenWindows implements Store.
func (c *core) OpenWindows(ctx context.Context, location string) ([]state.Window, error) {
	query := c.r.Rebind(`SELECT ` + windowCols + ` FROM events WHERE location = ? AND kind <> 'unknown'` + windowGroup +
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

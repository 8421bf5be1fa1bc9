package report

import (
	"context"
	"fmt"
	"time"

	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// recomputeKept is Recompute over what the store still holds raw: before
// the raw runs' horizon (what retention pruned) the windows are the stored
// ones, and in.Warn says so; a stored window still open at the horizon is
// joined with the recomputed window that continues it. Each flow is
// replayed from its flowLookback before in.From (q.From is the earliest of
// them), and ahead is recomputeAhead's.
func recomputeKept(ctx context.Context, in Input, q store.Query, ahead bool) ([]state.Window, error) {
	h, err := in.Store.Horizon(ctx)
	if err != nil {
		return nil, err
	}
	gone := h.Runs
	if gone.IsZero() || !gone.After(q.From) {
		return recomputeAhead(ctx, in.Config, in.Store, q, in.From, ahead)
	}
	gone = minT(gone, q.To)
	if in.Warn != nil && gone.After(in.From) {
		in.Warn(fmt.Sprintf("raw results before %s were pruned (storage.retention): windows before then are the stored ones, not recomputed",
			gone.In(zone(in.Config)).Format(time.RFC3339)))
	}
	sq := q
	sq.To = gone
	stored, err := in.Store.Windows(ctx, sq)
	if err != nil {
		return nil, err
	}
	if !gone.Before(q.To) {
		return stored, nil
	}
	rq := q
	rq.From = gone
	rec, err := recomputeAhead(ctx, in.Config, in.Store, rq, in.From, ahead)
	if err != nil {
		return nil, err
	}
	// A window that starts at the first run after the horizon cannot see
	// the (pruned) run before it: how late its start may be is the stored
	// window's.
	after, err := in.Store.Windows(ctx, rq)
	if err != nil {
		return nil, err
	}
	type id struct {
		key   state.Key
		kind  state.Kind
		start int64
	}
	before := map[id]time.Time{}
	for _, w := range after {
		before[id{w.Key, w.Kind, w.Start.UnixNano()}] = w.LastBefore
	}
	for i := range rec {
		if rec[i].LastBefore.IsZero() {
			rec[i].LastBefore = before[id{rec[i].Key, rec[i].Kind, rec[i].Start.UnixNano()}]
		}
	}
	// A window open at the horizon shows up again in the recomputation,
	// starting with the first failing run after it: one window.
	type wk struct {
		key  state.Key
		kind state.Kind
	}
	cont := map[wk]int{} // the first recomputed window of each key, by index
	for i, w := range rec {
		k := wk{w.Key, w.Kind}
		if j, ok := cont[k]; !ok || w.Start.Before(rec[j].Start) {
			cont[k] = i
		}
	}
	used := map[int]bool{}
	out := make([]state.Window, 0, len(stored)+len(rec))
	for _, w := range stored {
		if w.End.IsZero() || w.End.After(gone) {
			ivl := time.Minute
			if _, f := in.Config.Flow(w.Flow); f != nil && f.Interval > 0 {
				ivl = f.Interval
			}
			if i, ok := cont[wk{w.Key, w.Kind}]; ok && !used[i] && !rec[i].Start.After(gone.Add(2*ivl)) {
				used[i] = true
				w.End, w.LastIn, w.FirstAfterEnd = rec[i].End, rec[i].LastIn, rec[i].FirstAfterEnd
				w.Causes = state.JoinCauses(w.Causes, rec[i].Causes)
			}
		}
		out = append(out, w)
	}
	for i, w := range rec {
		if !used[i] {
			out = append(out, w)
		}
	}
	sortStateWindows(out)
	return out, nil
}

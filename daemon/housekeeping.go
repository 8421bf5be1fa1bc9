package daemon

import (
	"context"
	"sort"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// pruneLoop deletes raw results older than the retention, in small batches
// once a minute, off the hot path.
func (d *Daemon) pruneLoop(ctx context.Context) {
	for {
		if err := d.clock.Sleep(ctx, pruneEvery); err != nil {
			return
		}
		d.mu.RLock()
		ret := d.cfg.Storage.Retention
		d.mu.RUnlock()
		if ret <= 0 {
			continue
		}
		d.prune(ctx, d.clock.Now().Add(-ret))
	}
}

// prune deletes up to pruneMaxBatches batches of results started before
// cutoff and returns how many it deleted.
func (d *Daemon) prune(ctx context.Context, cutoff time.Time) int {
	total := 0
	for range pruneMaxBatches {
		n, err := d.store.Prune(ctx, cutoff, pruneBatch)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("pruning old results", "err", err)
			}
			return total
		}
		total += n
		if n < pruneBatch || ctx.Err() != nil {
			break
		}
	}
	if total > 0 {
		d.log.Debug("pruned old results", "runs", total, "before", cutoff)
	}
	return total
}

// availabilityLoop refreshes slaprobe_availability_ratio now and then.
func (d *Daemon) availabilityLoop(ctx context.Context) {
	for {
		d.refreshAvailability(ctx)
		if err := d.clock.Sleep(ctx, availabilityEvery); err != nil {
			return
		}
	}
}

// refreshAvailability sets slaprobe_availability_ratio for every service,
// over the last 30 days and over the current month (in the config's time
// zone); a service with no data yet has no sample.
func (d *Daemon) refreshAvailability(ctx context.Context) {
	d.mu.RLock()
	cfg := d.cfg
	d.mu.RUnlock()
	now := d.clock.Now()
	loc := cfg.Loc
	if loc == nil {
		loc = time.UTC
	}
	ln := now.In(loc)
	month := time.Date(ln.Year(), ln.Month(), 1, 0, 0, 0, 0, loc)
	for _, s := range cfg.Services {
		for _, win := range []struct {
			name string
			from time.Time
		}{{"30d", now.Add(-30 * 24 * time.Hour)}, {"month", month}} {
			r, ok, err := d.availability(ctx, s.Name, win.from, now)
			switch {
			case err != nil:
				if ctx.Err() == nil {
					d.log.Warn("computing availability", "service", s.Name, "window", win.name, "err", err)
				}
			case ok:
				d.m.availability.WithLabelValues(s.Name, win.name).Set(r)
			default:
				d.m.availability.DeleteLabelValues(s.Name, win.name)
			}
		}
	}
}

// storeAvailability is the default AvailabilityFunc: from the store's
// coverage (rollups) and windows at this location, time-weighted: down time
// over (covered time - maintenance - unknown), with the config's policy for
// degraded and unknown. A flow-level window of any of the service's flows
// counts. The monthly report is the authoritative number; this is the cheap
// live estimate.
func (d *Daemon) storeAvailability(ctx context.Context, service string, from, to time.Time) (float64, bool, error) {
	d.mu.RLock()
	cfg := d.cfg
	d.mu.RUnlock()
	return StoreAvailability(ctx, d.store, cfg, service, from, to)
}

// StoreAvailability computes a service's availability over [from, to) at the
// config's location from the store, as storeAvailability describes.
func StoreAvailability(ctx context.Context, st store.Store, cfg *config.Config, service string, from, to time.Time) (float64, bool, error) {
	var flows []string
	for _, s := range cfg.Services {
		if s.Name == service {
			for _, f := range s.Flows {
				flows = append(flows, f.Name)
			}
		}
	}
	if len(flows) == 0 || !to.After(from) {
		return 0, false, nil
	}
	q := store.Query{From: from, To: to, Flows: flows, Location: cfg.Location}
	spans, err := st.Coverage(ctx, q)
	if err != nil {
		return 0, false, err
	}
	var first time.Time
	for _, sp := range spans {
		if sp.Service != "" && sp.Service != service {
			continue
		}
		if first.IsZero() || sp.First.Before(first) {
			first = sp.First
		}
	}
	if first.IsZero() {
		return 0, false, nil
	}
	if first.After(from) {
		from = first
	}
	q.From = from
	wins, err := st.Windows(ctx, q)
	if err != nil {
		return 0, false, err
	}
	var down, excl []span
	for _, w := range wins {
		if w.Service != service || w.Function != "" {
			continue
		}
		sp := clip(w, from, to)
		if !sp.end.After(sp.start) {
			continue
		}
		switch {
		case w.Kind == state.KindDown,
			w.Kind == state.KindDegraded && cfg.Policy.Degraded == "down",
			w.Kind == state.KindUnknown && cfg.Policy.Unknown == "down":
			down = append(down, sp)
		case w.Kind == state.KindUnknown:
			excl = append(excl, sp)
		}
	}
	for _, m := range cfg.Maintenance {
		if m.Service == "" || m.Service == "*" || m.Service == service {
			sp := span{maxT(m.Start, from), minT(m.End, to)}
			if sp.end.After(sp.start) {
				excl = append(excl, sp)
			}
		}
	}
	excl = union(excl)
	denom := to.Sub(from) - total(excl)
	if denom <= 0 {
		return 0, false, nil
	}
	dt := total(subtract(union(down), excl))
	r := 1 - float64(dt)/float64(denom)
	return min(1, max(0, r)), true, nil
}

type span struct{ start, end time.Time }

func clip(w state.Window, from, to time.Time) span {
	end := w.End
	if w.Open() || end.After(to) {
		end = to
	}
	return span{maxT(w.Start, from), end}
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

// union merges overlapping spans, sorted by start.
func union(in []span) []span {
	if len(in) == 0 {
		return nil
	}
	s := append([]span(nil), in...)
	sort.Slice(s, func(i, j int) bool { return s[i].start.Before(s[j].start) })
	out := []span{s[0]}
	for _, x := range s[1:] {
		last := &out[len(out)-1]
		if !x.start.After(last.end) {
			last.end = maxT(last.end, x.end)
			continue
		}
		out = append(out, x)
	}
	return out
}

// subtract removes the (merged, sorted) spans cut from the merged, sorted
// spans in.
func subtract(in, cut []span) []span {
	var out []span
	for _, x := range in {
		cur := x
		for _, c := range cut {
			if !c.end.After(cur.start) || !c.start.Before(cur.end) {
				continue
			}
			if c.start.After(cur.start) {
				out = append(out, span{cur.start, c.start})
			}
			cur.start = c.end
			if !cur.end.After(cur.start) {
				break
			}
		}
		if cur.end.After(cur.start) {
			out = append(out, cur)
		}
	}
	return out
}

func total(s []span) time.Duration {
	var t time.Duration
	for _, x := range s {
		t += x.end.Sub(x.start)
	}
	return t
}

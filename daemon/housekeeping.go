package daemon

import (
	"context"
	"errors"
	"time"
	"weak"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/store"
)

// pruneLoop deletes what is older than the retentions (raw runs, minute
// rollups, hour rollups and ended windows), in small batches once a minute,
// off the hot path. Each minute it also checks the wall clock for a step
// (checkClockStep): one reading a minute for the whole daemon, not a timer
// per flow.
func (d *Daemon) pruneLoop(ctx context.Context) {
	last := clock.Read(d.clock)
	for {
		if err := d.clock.Sleep(ctx, pruneEvery); err != nil {
			return
		}
		last = d.checkClockStep(last)
		d.mu.RLock()
		st := d.cfg.Storage
		d.mu.RUnlock()
		d.prune(ctx, Cutoffs(st, d.clock.Now()))
	}
}

// Cutoffs are what the storage settings let Prune delete at now (a zero or
// negative retention keeps everything of its kind).
func Cutoffs(st config.Storage, now time.Time) store.Cutoffs {
	before := func(ret time.Duration) time.Time {
		if ret <= 0 {
			return time.Time{}
		}
		return now.Add(-ret)
	}
	return store.Cutoffs{Runs: before(st.Retention), Minute: before(st.MinuteRetention), Hour: before(st.HourRetention)}
}

// prune deletes up to pruneMaxBatches batches of rows older than the
// cutoffs and returns how many it deleted.
func (d *Daemon) prune(ctx context.Context, cutoff store.Cutoffs) int {
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
		d.log.Debug("pruned old results", "rows", total, "runs_before", cutoff.Runs, "minute_rollups_before", cutoff.Minute,
			"hour_rollups_before", cutoff.Hour)
	}
	return total
}

// availabilityLoop refreshes slaprobe_availability_ratio every
// availabilityEvery, or less often when a refresh takes long (a large
// config): it never spends more than a tenth of the time on them. While a
// service has no sample (a new store, a service just added) it refreshes
// again after availabilityRetry: the service's first runs land within its
// flows' interval, and the gauge should not wait 5 minutes for them.
func (d *Daemon) availabilityLoop(ctx context.Context) {
	for {
		t0 := time.Now() // the wall clock on purpose: the cost, not the virtual time
		every := d.availabilityRetry(d.refreshAvailability(ctx))
		if err := d.clock.Sleep(ctx, max(every, 9*time.Since(t0))); err != nil {
			return
		}
	}
}

// availabilityRetry is when to refresh the gauge again: after the shortest
// interval of the flows of the services without a sample (missing), at least
// 15 s, at most availabilityEvery. Only those services' intervals count: a
// service of hourly flows without data yet does not make the others' gauge
// rebuilt every 15 s for an hour, nor a service of 10 s flows wait for it.
func (d *Daemon) availabilityRetry(missing map[string]bool) time.Duration {
	d.mu.RLock()
	defer d.mu.RUnlock()
	every := availabilityEvery
	for _, s := range d.cfg.Services {
		if !missing[s.Name] {
			continue
		}
		for _, f := range s.Flows {
			every = min(every, max(f.Interval, 15*time.Second))
		}
	}
	return every
}

// refreshAvailability sets slaprobe_availability_ratio for every service,
// over the last 30 days and over the current month (in the config's time
// zone); a service with no data yet has no sample. It returns the services
// left without a sample (not those a failed build left as they were).
//
// The services are read after each build: a reload during a build (its
// turn comes between the two) replaced the config, which this must not
// keep live (at 50,000 flows ~45 MB) through the next build. A build a
// reload ended (ErrSuperseded), or that a reload came during or after (the
// config is not the one the refresh began with), publishes nothing: the
// gauge keeps its last complete values, and the refresh starts over, after
// the reload, from the new config, both windows of one config.
func (d *Daemon) refreshAvailability(ctx context.Context) (missing map[string]bool) {
	for {
		missing, superseded := d.refreshAvailabilityOnce(ctx)
		if !superseded {
			return missing
		}
	}
}

// refreshAvailabilityOnce is refreshAvailability; superseded when a reload
// ended one of its builds, or came between them: the config is not the one
// the refresh began with, so a window built before it is of the replaced
// config, the 30 days' beside the month's of the new one until the next
// refresh. A window's figures are published under d.mu, the config checked
// the same, so that a reload (which swaps the config under d.mu, then drops
// the series of the services it removed) cannot come between the check and
// the publication and see a removed service's series set again. The config
// is known by a weak pointer, which does not keep a replaced one live.
func (d *Daemon) refreshAvailabilityOnce(ctx context.Context) (missing map[string]bool, superseded bool) {
	d.mu.RLock()
	began, loc, w := weak.Make(d.cfg), d.cfg.Loc, d.writer
	d.mu.RUnlock()
	d.checkWriterFailures(w)
	now := d.clock.Now()
	if loc == nil {
		loc = time.UTC
	}
	// The first instant of the month's first local day, as in a report
	// (time.Date's midnight is an hour early where the clocks jump over it).
	month := report.MonthStart(now, loc)
	missing = map[string]bool{}
	for _, win := range []struct {
		name string
		from time.Time
	}{{"30d", now.Add(-30 * 24 * time.Hour)}, {"month", month}} {
		var ratios map[string]float64
		var err error
		e := d.Exclusive(ctx, func(ctx context.Context) { ratios, err = d.availability(ctx, win.from, now) })
		if errors.Is(e, ErrSuperseded) {
			return missing, true
		}
		if e != nil {
			err = e
		}
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("computing availability", "window", win.name, "err", err)
			}
			continue
		}
		d.mu.RLock()
		if weak.Make(d.cfg) != began {
			d.mu.RUnlock()
			return missing, true
		}
		for _, s := range d.cfg.Services {
			if r, ok := ratios[s.Name]; ok {
				d.m.availability.WithLabelValues(s.Name, win.name).Set(r)
			} else {
				d.m.availability.DeleteLabelValues(s.Name, win.name)
				missing[s.Name] = true
			}
		}
		d.mu.RUnlock()
	}
	return missing, false
}

// reportAvailability is the default AvailabilityFunc: ReportAvailability
// over the daemon's store and current config.
func (d *Daemon) reportAvailability(ctx context.Context, from, to time.Time) (map[string]float64, error) {
	d.mu.RLock()
	cfg := d.cfg
	d.mu.RUnlock()
	return ReportAvailability(ctx, d.reports, cfg, from, to)
}

// ReportAvailability returns each service's availability over [from, to)
// as the SLA report computes it — the same code (report.Build), so the live
// gauge and the monthly report cannot disagree. Services with no run in the
// range, or nothing measured (availability null), are left out.
func ReportAvailability(ctx context.Context, st store.Store, cfg *config.Config, from, to time.Time) (map[string]float64, error) {
	if !to.After(from) {
		return map[string]float64{}, nil
	}
	r, err := report.Build(ctx, report.Input{Config: cfg, Store: st, From: from, To: to, Now: to, Timelines: []*config.Timeline{}, NoLatency: true})
	if err != nil {
		return nil, err
	}
	out := make(map[string]float64, len(r.Services))
	for _, s := range r.Services {
		if s.Runs > 0 && s.Availability != nil {
			out[s.Name] = *s.Availability
		}
	}
	return out, nil
}

// checkWriterFailures lets the report store read the past afresh when the
// store writer has failed commits since the last look: the runs it held
// back may have been stored into hours the report store keeps.
func (d *Daemon) checkWriterFailures(w resultWriter) {
	if w == nil {
		return
	}
	if n := w.Stats().Failures; n != d.writerFailures.Swap(n) {
		d.reports.invalidate()
	}
}

// ErrSuperseded is what Exclusive returns when a reload (ExclusiveWithin)
// ended the build in the making: its figures were of the config the reload
// replaces, so whatever it made is to be dropped, not published, and the
// build made again (its turn comes after the reload's).
var ErrSuperseded = errors.New("report build superseded by a config reload")

// Exclusive runs build once no other periodic report of the daemon is being
// built (the availability gauge's, the status page's: Exclusive is the
// page's Options.Exclusive), or returns ctx's error while it waits. At
// 50,000 flows a report holds over 100 MB while it is built; two at once
// (both start with the daemon, and meet every 5 minutes) made the peak.
// Deps.Heavy is called around build. A program may run other heavy phases
// through it too (Exclusive does not touch the daemon's own locks, so
// build may call Reload).
//
// build's context is ctx, ended early (cause ErrSuperseded) when a reload
// asks for the slot (ExclusiveWithin): then Exclusive returns ErrSuperseded
// and the caller drops what build made. While a reload waits for the slot
// or holds it, builds wait for it to end before they take their turn.
func (d *Daemon) Exclusive(ctx context.Context, build func(ctx context.Context)) error {
	for {
		d.buildMu.Lock()
		wait := d.reloadsEnded
		d.buildMu.Unlock()
		if wait != nil {
			select {
			case <-wait:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		select {
		case d.builds <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		bctx, cancel := context.WithCancelCause(ctx)
		d.buildMu.Lock()
		if d.reloading > 0 {
			// A reload came while this one waited: it goes first.
			d.buildMu.Unlock()
			cancel(nil)
			<-d.builds
			continue
		}
		d.building = cancel
		d.buildMu.Unlock()
		return d.runBuild(bctx, cancel, build)
	}
}

// runBuild runs build in the slot Exclusive took, and gives it back. The
// build is superseded when a reload ended its context before it gave the
// slot back (d.building is cleared under the same lock the reload ends it
// under): then its result is dropped even if it had finished.
func (d *Daemon) runBuild(ctx context.Context, cancel context.CancelCauseFunc, build func(context.Context)) (err error) {
	defer func() { <-d.builds }()
	defer func() {
		d.buildMu.Lock()
		d.building = nil
		if errors.Is(context.Cause(ctx), ErrSuperseded) {
			err = ErrSuperseded
		}
		d.buildMu.Unlock()
		cancel(nil)
	}()
	if d.heavy != nil {
		defer d.heavy()()
	}
	build(ctx)
	return nil
}

// ReloadBuildWait is how long a SIGHUP reload waits for a report build in
// the making to give way (ExclusiveWithin); the reload's own store reads
// are bounded alike.
const ReloadBuildWait = 30 * time.Second

// ExclusiveWithin is Exclusive for work that must not wait on a report
// build (a SIGHUP reload): it ends the build in the making (its context,
// cause ErrSuperseded: its figures are of the config being replaced, and
// at 50,000 flows it took seconds more of a reload under load), keeps
// builds that wait from starting, and takes the slot once the build has
// given it back. A build that does not give it back within wait (stuck on
// a store that stopped answering, in code that does not read its context)
// is not waited for longer: build runs beside it (alone is false), since
// the slot is there only to keep the memory peak down. It returns ctx's
// error if ctx ends first. The wait is on d's clock.
func (d *Daemon) ExclusiveWithin(ctx context.Context, wait time.Duration, build func()) (alone bool, err error) {
	return d.exclusiveWithin(ctx, wait, true, build)
}

// exclusiveWithin is ExclusiveWithin; heavy false runs build outside a
// heavy phase of its own (Deps.Heavy), for a caller already in one (the
// Reloader, whose phase spans the parse and the turn).
func (d *Daemon) exclusiveWithin(ctx context.Context, wait time.Duration, heavy bool, build func()) (alone bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, err // and the build in the making goes on
	}
	defer d.holdBuilds(true)()
	select {
	case d.builds <- struct{}{}:
	case <-d.clock.After(wait):
		if heavy && d.heavy != nil {
			defer d.heavy()()
		}
		build()
		return false, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-d.builds }()
	if err := ctx.Err(); err != nil {
		// ctx ended as the turn came free: select chose at random.
		return false, err
	}
	if heavy && d.heavy != nil {
		defer d.heavy()()
	}
	build()
	return true, nil
}

// holdBuilds keeps the periodic report builds that have not begun from
// beginning (Exclusive waits) until release is called, and, with end, ends
// the build in the making (cause ErrSuperseded); without, that build goes
// on and gives the slot back when it is done. Holds may overlap: builds
// begin again once the last is released. release may be called once.
func (d *Daemon) holdBuilds(end bool) (release func()) {
	d.buildMu.Lock()
	if d.reloading == 0 {
		d.reloadsEnded = make(chan struct{})
	}
	d.reloading++
	if end && d.building != nil {
		d.building(ErrSuperseded)
	}
	d.buildMu.Unlock()
	return func() {
		d.buildMu.Lock()
		if d.reloading--; d.reloading == 0 {
			close(d.reloadsEnded)
			d.reloadsEnded = nil
		}
		d.buildMu.Unlock()
	}
}

// ReportStore is the daemon's store as periodic reports should read it (the
// status page's figures): the settled past is kept between calls (see
// reportStore).
func (d *Daemon) ReportStore() store.Store { return d.reports }

// checkClockStep compares the clock's reading now with last, the one of
// the previous check: when the wall clock moved apart from the monotonic
// clock by clock.StepThreshold or more (chrony's makestep, a VM resumed or
// live-migrated, date -s), it logs "wall clock stepped" at warn, with the
// size and direction and the wall time before (what the clock would read
// without the step) and after, and counts it in
// slaprobe_clock_steps_total, so that an SRE reading a report knows the
// evidence of that time is bent. It returns the reading now, for the next
// check.
func (d *Daemon) checkClockStep(last clock.Reading) clock.Reading {
	now := clock.Read(d.clock)
	step := clock.Stepped(last, now)
	if step.Abs() < clock.StepThreshold {
		return now
	}
	dir := "forward"
	if step < 0 {
		dir = "backward"
	}
	d.m.clockSteps.WithLabelValues(dir).Inc()
	d.log.Warn("wall clock stepped", "direction", dir, "by", step.Abs(),
		"before", now.Wall.Add(-step).Round(0).UTC(), "after", now.Wall.Round(0).UTC())
	return now
}

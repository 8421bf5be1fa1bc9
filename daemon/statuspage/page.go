// Package statuspage serves slaprobe's status page: per service each
// function's state now (from the daemon's live state machines; in a fleet,
// from the counted windows of the month's figures: see isFleet), this
// month's availability against the objective and the error budget left, 90
// daily bars per function, open windows, recent incidents reconciled with
// the declared timelines, a per-location breakdown and links to the report
// archive.
//
// The figures come from report.Build (the report's own accounting over the
// rollups and stored events, with Input.Functions for the per-function
// bars), rebuilt in the background: the current month every rebuild period,
// the 89 days before it when the day changes (or every six hours, for late
// data). A request renders from the latest snapshot and the live state: it
// never queries the store.
//
// The internal page (Handler(false)) shows everything; the public one
// (Handler(true)) shows only services, functions, states and figures: no
// errors, URLs, flows, step names, locations or archive.
package statuspage

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/daemon"
	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/store"
)

// Days is how many daily bars each function has.
const Days = 90

// historyEvery is how often the days before this month are rebuilt when the
// day has not changed (late data from other probers).
const historyEvery = 6 * time.Hour

// ArchiveMonth is one month of the report archive, as the page links it.
type ArchiveMonth struct {
	Month   string // YYYY-MM
	Version int
	Files   []ArchiveFile
}

// ArchiveFile is one file of an archived month.
type ArchiveFile struct {
	Name string // report.pdf
	Path string // relative to the archive directory: 2022-10/report.pdf
}

// Options are what the page is given rather than makes.
type Options struct {
	Store  store.Store  // required
	Clock  clock.Clock  // nil: clock.Real
	Logger *slog.Logger // nil: discard
	// Live returns the daemon's live state (Daemon.Status); nil: none, and
	// a prober alone shows its functions unknown and no open window. In a
	// fleet (see isFleet) the state now and the open windows come from the
	// snapshot's counted windows; Live adds this prober's own windows and
	// its location's line on the internal page.
	Live func() daemon.Status
	// Archive lists the report archive, newest first; nil: no archive.
	Archive func() ([]ArchiveMonth, error)
	// StoreHealth says whether results are being stored (Daemon.StoreHealth);
	// while not, the page is marked stale. nil: always.
	StoreHealth func() (bool, string)
	// ArchiveDir is served under /reports/ on the internal page; "": not served.
	ArchiveDir string
	// Rebuild is how often this month's figures are rebuilt; default 1m.
	Rebuild time.Duration
	// Exclusive runs each build of the figures once no other periodic
	// report is being built (Daemon.Exclusive), or returns ctx's error; nil:
	// at once. The build's context may end before ctx when a config reload
	// takes the slot: Exclusive then returns daemon.ErrSuperseded, nothing
	// of the build is kept, and it is made again.
	Exclusive func(ctx context.Context, build func(ctx context.Context)) error
	// Verdict, when set, is called after every good build of this month's
	// figures with what they say of the fleet (the daemon's alerts follow
	// it in a fleet); nil: not called.
	Verdict func(Verdict)
}

// snapshot is the latest figures.
type snapshot struct {
	month, history *report.Report
	built          time.Time
	took           time.Duration // how long the rebuild took (wall clock)
	err            error
}

// Page is the status page. Build it with New, keep it fresh with Run.
type Page struct {
	opts Options
	tmpl *template.Template
	csp  string // the page's Content-Security-Policy

	// The public page's rendered bytes (see publicCacheFor), by variant.
	pubMu sync.Mutex
	pub   map[pubKey]pubBytes

	// kick holds a request for an early rebuild (Kick), one at most:
	// requests coalesce.
	kick chan struct{}
	// kickTime is when Kick was last called (UnixNano; 0: never).
	kickTime atomic.Int64

	mu         sync.RWMutex
	cfg        *config.Config
	snap       *snapshot
	histDay    string // the local date the history was built on
	histBuilt  time.Time
	historyRep *report.Report
}

// New builds a page for cfg.
func New(cfg *config.Config, opts Options) (*Page, error) {
	if cfg == nil || opts.Store == nil {
		return nil, errors.New("statuspage: a config and a store are required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Rebuild <= 0 {
		opts.Rebuild = time.Minute
	}
	tmpl, err := templates()
	if err != nil {
		return nil, fmt.Errorf("statuspage: template: %w", err)
	}
	return &Page{opts: opts, cfg: cfg, tmpl: tmpl, csp: pageCSP(pageJS), kick: make(chan struct{}, 1)}, nil
}

// SetConfig switches to a reloaded config; the next rebuild uses it (and
// rebuilds the history too).
func (p *Page) SetConfig(cfg *config.Config) {
	p.mu.Lock()
	p.cfg, p.histDay = cfg, ""
	p.mu.Unlock()
}

func (p *Page) config() *config.Config {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.cfg
}

// Run rebuilds the figures now and then every Rebuild until ctx is done.
// A failing build is logged when it first fails, when its error changes,
// and then once a Rebuild while it goes on failing: a daemon started
// without its store retries every 5 s (emptyRebuild), which logged 12
// lines a minute for one outage.
func (p *Page) Run(ctx context.Context) error {
	var logged time.Time // when a failure was last logged; zero: the last build worked
	var lastErr string
	var slot time.Time // the periodic rebuild a kick brought this one before; zero: none
	for {
		if err := p.Refresh(ctx); err != nil && ctx.Err() == nil {
			now := p.opts.Clock.Now()
			if logged.IsZero() || err.Error() != lastErr || now.Sub(logged) >= p.opts.Rebuild {
				p.opts.Logger.Warn("status page: building figures", "err", err)
				logged, lastErr = now, err.Error()
			}
		} else if err == nil {
			logged, lastErr = time.Time{}, ""
		}
		end := p.opts.Clock.Now()
		var err error
		if slot, err = p.waitRebuildSlot(ctx, end, p.keepSlot(end, slot, p.nextRebuild())); err != nil {
			return nil
		}
	}
}

// Kick asks for a rebuild of the figures sooner than the next one due:
// the daemon's alerts call it in a fleet when this prober's own window
// opens or closes, which may change the fleet's verdict (a quorum reached
// or left), so that the page, and its verdict for the alerts, follow
// within seconds, not a rebuild period later. It never waits; requests
// before the rebuild coalesce into it, and it comes no sooner than
// kickedAt allows.
func (p *Page) Kick() {
	p.kickTime.Store(p.opts.Clock.Now().UnixNano())
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// kickSettle is how long after a kick its rebuild waits at least: the run
// whose window opened or closed reaches the store first (the store writer
// commits every 250 ms).
const kickSettle = 2 * time.Second

// kickFloor and kickFactor bound how soon after the end of the last build
// a kicked one may begin: kickFloor, or kickFactor times that build's
// duration when longer, so that, however often windows open and close,
// builds take no more than a twelfth of the time (the periodic rebuilds:
// up to a tenth, nextRebuild), and at 50,000 flows, where a build takes 5
// seconds, come no more often than the periodic ones (a minute apart):
// TestKickedRebuildsOverAnHour.
const (
	kickFloor  = 10 * time.Second
	kickFactor = 11
)

// kickedAt is when a rebuild kicked at kick begins, the last build having
// ended at end after took.
func kickedAt(kick, end time.Time, took time.Duration) time.Time {
	at := kick.Add(kickSettle)
	if floor := end.Add(max(kickFloor, kickFactor*took)); at.Before(floor) {
		at = floor
	}
	return at
}

// waitRebuild waits from end (the last build's) for wait, or until a kick
// (Kick) makes the rebuild due sooner (kickedAt); ctx's error when it
// ends. A kick that came less than kickSettle before the rebuild is asked
// for again after it: its run may not be in the store yet, and the rebuild
// it coalesced into would not see it (a window closing 0.1 s before a
// rebuild waited for the next periodic one).
func (p *Page) waitRebuild(ctx context.Context, end time.Time, wait time.Duration) error {
	_, err := p.waitRebuildSlot(ctx, end, wait)
	return err
}

// waitRebuildSlot is waitRebuild, and says which periodic rebuild (end
// plus wait) a kick brought this one before (zero: none, the rebuild is
// the periodic one).
func (p *Page) waitRebuildSlot(ctx context.Context, end time.Time, wait time.Duration) (time.Time, error) {
	periodic := end.Add(wait)
	due := periodic
	var took time.Duration
	if snap := p.snapshot(); snap != nil {
		took = snap.took
	}
	for {
		kicked, err := p.sleepOrKick(ctx, due.Sub(p.opts.Clock.Now()))
		if err != nil {
			return time.Time{}, err
		}
		if !kicked {
			// Kicks that came while it slept coalesce into this
			// rebuild, but one of the last kickSettle.
			select {
			case <-p.kick:
			default:
			}
			if k := p.kickTime.Load(); k != 0 && p.opts.Clock.Now().Before(time.Unix(0, k).Add(kickSettle)) {
				p.Kick()
			}
			if due.Before(periodic) {
				return periodic, nil
			}
			return time.Time{}, nil
		}
		if at := kickedAt(p.opts.Clock.Now(), end, took); at.Before(due) {
			due = at
		}
	}
}

// keepSlot is the wait after a build that ended at end, wait being the
// periodic one (nextRebuild): when a kick brought that build before its
// periodic rebuild (slot), the periodic one stays due if it comes no sooner
// after end than a kicked one could (kickedAt's floor), so that the
// fleet's probers still rebuild at the clock's whole minutes. Before,
// aligned's "never within half a period" moved it a period on: a prober
// whose window opened 13 s before the minute, kicked when the quorum was
// not reached yet, next rebuilt 73 s later, its ticket "not counted"
// firing beside the quorum's page all that while.
func (p *Page) keepSlot(end, slot time.Time, wait time.Duration) time.Duration {
	if slot.IsZero() || !slot.Before(end.Add(wait)) {
		return wait
	}
	var took time.Duration
	if snap := p.snapshot(); snap != nil {
		took = snap.took
	}
	if slot.Before(end.Add(max(kickFloor, kickFactor*took))) {
		return wait
	}
	return slot.Sub(end)
}

// sleepOrKick waits d on the clock, or until a kick comes (true), or ctx
// ends (its error).
func (p *Page) sleepOrKick(ctx context.Context, d time.Duration) (bool, error) {
	select {
	case <-p.kick:
		return true, nil
	default:
	}
	if d <= 0 {
		return false, ctx.Err()
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	kicked := make(chan bool, 1)
	go func() {
		select {
		case <-p.kick:
			kicked <- true
			cancel()
		case <-sctx.Done():
			kicked <- false
		}
	}()
	err := p.opts.Clock.Sleep(sctx, d)
	cancel()
	if <-kicked {
		return true, nil
	}
	if err != nil && ctx.Err() != nil {
		return false, ctx.Err()
	}
	return false, nil
}

// emptyRebuild is how soon the figures are rebuilt while this month has no
// run yet (a daemon that just started its first month).
const emptyRebuild = 5 * time.Second

func (p *Page) nextRebuild() time.Duration {
	p.mu.RLock()
	snap := p.snap
	p.mu.RUnlock()
	if snap == nil || snap.month == nil {
		return min(p.opts.Rebuild, emptyRebuild)
	}
	for _, s := range snap.month.Services {
		if s.Runs > 0 {
			return periodWait(p.opts.Clock.Now(), p.opts.Rebuild, snap.took, isFleet(p.config(), snap.month))
		}
	}
	return min(p.opts.Rebuild, emptyRebuild)
}

// periodWait is how long from now until the next periodic rebuild of
// figures with runs, the last build having taken took: a large config's
// figures take a while, so never spend more than a tenth of the time
// rebuilding them; a fleet's aligned on the clock.
func periodWait(now time.Time, rebuild, took time.Duration, fleet bool) time.Duration {
	d := max(rebuild, 9*took)
	if fleet {
		return aligned(now, d, rebuild)
	}
	return d
}

// aligned is how long from now until the next rebuild of a fleet's figures
// every d (rounded up to a whole number of rebuild periods): at the next
// multiple of it on the clock, so that the probers of a fleet, whose pages
// tell the same counted windows, rebuild them at the same moments and their
// pages differ only while they build, not for up to a period because each
// started at its own second. Never sooner than half a period.
func aligned(now time.Time, d, period time.Duration) time.Duration {
	if period <= 0 {
		return d
	}
	d = (d + period - 1) / period * period
	wait := now.Truncate(d).Add(d).Sub(now)
	if wait < d/2 {
		wait += d
	}
	return wait
}

// bounds returns, for now in loc, the first day of the bars, the start of
// the month and the end of the month.
// Every boundary is the first instant of a local date (report.DayStart),
// also in zones whose clocks jump at midnight.
func bounds(now time.Time, loc *time.Location) (first, month, monthEnd time.Time) {
	n := now.In(loc)
	first = report.DayStart(n.Year(), n.Month(), n.Day()-(Days-1), loc)
	month = report.DayStart(n.Year(), n.Month(), 1, loc)
	return first, month, report.DayStart(n.Year(), n.Month()+1, 1, loc)
}

// newCutWindow reports whether the month's figures hold a window open
// since before the month began (cut at its start) that the previous
// figures (prev; nil before the first build) did not: the history, built
// with those previous figures, may have been built before the window's
// confirming run was stored (a failing run at 23:59 and the second at
// 00:00 with down_after 2, the history built at 00:00:10 before the 00:00
// run was in the store; a prober restarted while a confirming run that
// times out after 2 minutes was still running), and would have nothing to
// date it from until the next day or historyEvery, so the pages would
// date it from the month's first instant. One more history build per such
// window, whenever its run was stored and whatever the clock says of its
// confirmation (a clock stepped back, another prober's clock ahead): a
// window the previous figures held is not new, so the history is never
// rebuilt at every rebuild for one.
func newCutWindow(prev, month *report.Report) bool {
	if month == nil {
		return false
	}
	type key struct{ service, flow, fn, kind string }
	open := func(r *report.Report, f func(key) bool) bool {
		for si := range r.Services {
			for _, w := range r.Services[si].Windows {
				if w.End != nil || w.StartCut != report.CutPeriod {
					continue
				}
				k := key{w.Service, w.Flow, "", w.Kind}
				if w.Function != nil {
					k.fn = *w.Function
				}
				if f(k) {
					return true
				}
			}
		}
		return false
	}
	held := map[key]bool{}
	if prev != nil {
		open(prev, func(k key) bool { held[k] = true; return false })
	}
	return open(month, func(k key) bool { return !held[k] })
}

// errReloaded is a build's that did not start because the config was
// replaced (SetConfig) while it waited for its turn, or that a reload
// ended (Options.Exclusive).
var errReloaded = errors.New("statuspage: config reloaded while the build waited")

// Refresh rebuilds this month's figures, and the history when it is due.
//
// A build waits for its turn (Options.Exclusive), which a SIGHUP reload
// takes too; when the config was replaced meanwhile, the figures are
// started over from the new one rather than built from the replaced
// config: that build would keep it live beside the new one (at 50,000
// flows ~45 MB, at the rebuild's peak) and show its figures, the history's
// for hours. Each new start needs another reload.
func (p *Page) Refresh(ctx context.Context) error {
	for {
		if err := p.refresh(ctx); !errors.Is(err, errReloaded) {
			return err
		}
	}
}

func (p *Page) refresh(ctx context.Context) error {
	cfg := p.config()
	now := p.opts.Clock.Now()
	loc := cfg.Loc
	if loc == nil {
		loc = time.UTC
	}
	first, month, monthEnd := bounds(now, loc)
	snap := &snapshot{built: now}
	t0 := time.Now() // wall clock on purpose: the cost, not the virtual time
	rep, err := p.build(ctx, report.Input{Config: cfg, Store: p.opts.Store, From: month, To: monthEnd, Now: now, Functions: true, NoLatency: true})
	if errors.Is(err, errReloaded) {
		return err
	}
	if err != nil {
		snap.err = err
	}
	snap.month = rep

	p.mu.RLock()
	hist, day, at := p.historyRep, p.histDay, p.histBuilt
	var prev *report.Report
	if p.snap != nil {
		prev = p.snap.month
	}
	p.mu.RUnlock()
	today := now.In(loc).Format("2006-01-02")
	if first.Before(month) && (hist == nil || day != today || now.Sub(at) >= historyEvery || newCutWindow(prev, rep)) {
		if p.opts.Verdict != nil && rep != nil && err == nil {
			// The 89 days take about three times a month's figures.
			if isFleet(cfg, rep) {
				// The verdict waits for the history (it dates windows
				// open since before the month from it); meanwhile the
				// notifier hears that the builds work and that it is in
				// a fleet, or, at a large store, the first build (the 89
				// days' for the first time) outlasts its 5 minutes and it
				// lapses to this prober's own verdict, paging below the
				// quorum.
				p.opts.Verdict(Verdict{Fleet: true, Next: 3 * time.Since(t0)})
			} else if v := verdictOf(cfg, rep, nil, now, month); v.Runs && !atMonthStart(cfg, now, month) {
				// Alone, past the month's first two intervals: the
				// history changes nothing of it (it tells only which
				// locations the figures may lack at the month's start,
				// and dates a fleet's counted windows), so it is not
				// waited for: at a restart a prober alone sent nothing
				// new until the 89 days were built too (a window opened
				// in the first minute was pushed minutes late).
				v.Next = 3 * time.Since(t0)
				p.opts.Verdict(v)
			}
		}
		h, herr := p.build(ctx, report.Input{Config: cfg, Store: p.opts.Store, From: first, To: month, Functions: true, NoLatency: true})
		if errors.Is(herr, errReloaded) {
			return herr
		}
		if herr != nil {
			snap.err = errors.Join(snap.err, herr)
		} else {
			hist, day, at = h, today, now
		}
	}
	if !first.Before(month) {
		hist = nil
	}
	snap.history = hist
	snap.took = time.Since(t0)
	p.mu.Lock()
	if p.cfg != cfg {
		// Reloaded since the builds began, after the last of them gave its
		// turn back (one in the making the reload ended): the figures are
		// of the replaced config, and are built again from the new one
		// rather than shown until the next rebuild.
		p.mu.Unlock()
		return errReloaded
	}
	if p.snap != nil && snap.month == nil {
		snap.month = p.snap.month // keep the last good figures, flagged stale
	}
	p.snap, p.historyRep, p.histDay, p.histBuilt = snap, hist, day, at
	p.mu.Unlock()
	if p.opts.Verdict != nil && rep != nil && err == nil {
		v := verdictOf(cfg, rep, hist, now, month)
		// The next verdict is due after the wait until the next rebuild
		// (Run's) and a build as long as this one.
		v.Next = p.nextRebuild() + snap.took
		p.opts.Verdict(v)
	}
	return snap.err
}

// build builds one report of the figures (through Options.Exclusive) and
// keeps of it what the page shows; errReloaded when in.Config was replaced
// while it waited.
func (p *Page) build(ctx context.Context, in report.Input) (*report.Report, error) {
	var rep *report.Report
	var err error
	run := func(ctx context.Context) {
		if p.config() != in.Config {
			err = errReloaded
			return
		}
		rep, err = report.Build(ctx, in)
	}
	if p.opts.Exclusive == nil {
		run(ctx)
	} else if e := p.opts.Exclusive(ctx, run); errors.Is(e, daemon.ErrSuperseded) {
		// A reload ended the build: nothing of it is kept, and the
		// figures are built again from the config it loaded (or, if it
		// was refused, from the same one).
		return nil, errReloaded
	} else if e != nil {
		return nil, e
	}
	if err != nil {
		return nil, err
	}
	trim(rep)
	return rep, nil
}

// trim drops from a report what the page never shows, since a snapshot is
// kept for minutes (the history for hours): each flow's figures and unknown
// stretches (but those still open at the figures' end, one a flow at most,
// that tell a flow nobody runs now: measuredNow, and those that begin where
// a counted window of the flow ends, whose end they say is where every
// location's data ends: Verdict.Unknown), and the step latencies but one per function (the incident
// timeline takes its lanes' functions, in order, from them). At 50,000 flows
// they were most of a snapshot's memory (about 15 MB a report).
func trim(r *report.Report) {
	end := elapsedEnd(r)
	for i := range r.Services {
		s := &r.Services[i]
		ends := map[string]map[int64]bool{} // flow -> its counted windows' ends
		for _, w := range s.Windows {
			if w.End != nil {
				if ends[w.Flow] == nil {
					ends[w.Flow] = map[int64]bool{}
				}
				ends[w.Flow][w.End.UnixNano()] = true
			}
		}
		var open []report.Span
		for _, u := range s.Unknown {
			if !u.End.Before(end) || ends[u.Flow][u.Start.UnixNano()] {
				open = append(open, u)
			}
		}
		s.Flows, s.Unknown = nil, open
		var steps []report.StepLatency
		for _, st := range s.Steps {
			if !slices.ContainsFunc(steps, func(x report.StepLatency) bool { return x.Function == st.Function }) {
				steps = append(steps, report.StepLatency{Flow: st.Flow, Step: st.Step, Function: st.Function})
			}
		}
		s.Steps = steps
	}
}

func (p *Page) snapshot() *snapshot {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.snap
}

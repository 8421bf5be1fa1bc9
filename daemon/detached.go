package daemon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// A daemon started while its store cannot be read or written (PostgreSQL
// down, a SQLite file another process holds locked, a read-only disk)
// probes anyway: its flows start with fresh state machines (unknown, as a
// prober with no history), whose verdicts drive the metrics, the log, the
// status API and the alerts, and its runs are held in memory (up to
// heldMax), not stored. Every storeRetry it tries to attach: store the
// spool of the last stop, restore the windows and streaks from the store
// as at a normal start (as of the start, not of now), then re-judge the
// held runs, in order, through the restored machines, which replace the
// fresh ones; the held runs and the events of that re-judging are stored,
// so that the store holds what a prober that started with its database
// would have written: one window, from its original start, for a flow down
// across the restart, closed at the right run if it recovered meanwhile.
// The fresh machines' own events are never stored (their windows start at
// the restart). A stop while detached keeps the held runs in the held file
// (heldPath), which the next start re-judges the same way.

// storeRetry is how often a daemon started without its store tries it
// again (the store writer's retry).
const storeRetry = 5 * time.Second

// heldMax bounds the runs held while detached (the store writer's buffer).
const heldMax = 50000

// attachWait bounds one attempt to attach (the spool's flushes have their
// own bound): a database that stops answering during the restore's reads
// must not hold the runs that wait for it.
const attachWait = 60 * time.Second

// storeError marks an error of the store (not of a file or the config):
// Run starts detached on it rather than failing.
type storeError struct{ err error }

func (e storeError) Error() string { return e.err.Error() }
func (e storeError) Unwrap() error { return e.err }

// isStoreError reports whether err is the store's, which a later attempt
// may not meet; a newer schema is not (it refuses until an upgrade).
func isStoreError(err error) bool {
	var se storeError
	return errors.As(err, &se) && !errors.Is(err, store.ErrSchemaNewer)
}

// heldPath is where a stop while detached keeps the runs it held: beside
// the spool, named after it.
func (d *Daemon) heldPath() string {
	if d.spoolFile == "" {
		return ""
	}
	return d.spoolFile + ".held"
}

// readHeld returns the runs a stop while detached kept (heldPath), to be
// re-judged after a restore as of from, the start of the process that
// held them (the file's header time: see writeHeld); of a damaged file,
// the complete runs before the damage.
func (d *Daemon) readHeld() (runs []probe.Run, from time.Time, _ error) {
	p := d.heldPath()
	if p == "" {
		return nil, time.Time{}, nil
	}
	sp, err := store.ReadSpool(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, time.Time{}, nil
	}
	if errors.Is(err, store.ErrSpoolNewer) {
		// A downgrade after a stop without the store: as a spool of a
		// newer slaprobe, moved aside (a newer slaprobe can store it), not
		// a start refused until someone removes it.
		aside := p + ".unreadable-" + d.clock.Now().UTC().Format("20060102T150405Z")
		if rerr := os.Rename(p, aside); rerr != nil {
			return nil, time.Time{}, fmt.Errorf("daemon: %v; moving it aside: %w", err, rerr)
		}
		d.log.Error("the file of runs held at the last stop is unreadable: moved aside, not stored", "file", aside, "err", err)
		return nil, time.Time{}, nil
	}
	if err != nil && !errors.Is(err, store.ErrSpoolDamaged) {
		return nil, time.Time{}, fmt.Errorf("daemon: reading the runs held at the last stop: %w", err)
	}
	if sp != nil {
		from = sp.Written
		for _, it := range sp.Items {
			if it.Run != nil {
				runs = append(runs, *it.Run)
			}
		}
	}
	if err != nil {
		d.log.Error("the file of runs held at the last stop is damaged: its complete runs are kept", "file", p, "runs", len(runs), "err", err)
	}
	return runs, from, nil
}

// writeHeld keeps the held runs at a stop while detached, in the spool's
// format, its header's time the start of this process (started): the next
// start restores the windows as of it before it re-judges them. It reports
// an error with ErrResultsLost when they cannot be kept.
func (d *Daemon) writeHeld(runs []probe.Run, started time.Time) error {
	if len(runs) == 0 {
		return nil
	}
	p := d.heldPath()
	if p == "" {
		return fmt.Errorf("daemon: %d runs held while the store was unreachable, and no spool (%w)", len(runs), ErrResultsLost)
	}
	items := make([]store.SpoolItem, len(runs))
	for i := range runs {
		items[i].Run = &runs[i]
	}
	n, err := store.WriteSpool(p, d.location, started, items, d.spoolMax)
	if err != nil {
		d.log.Error("held runs not written: the runs held while the store was unreachable are lost", "file", p, "lost_runs", len(runs), "err", err)
		return fmt.Errorf("daemon: keeping the held runs: %v (%w)", err, ErrResultsLost)
	}
	d.m.spooled.Add(float64(n.Runs))
	d.log.Warn("stopped without its store: the runs held are kept, re-judged and stored at the next start that reaches it", "file", p, "runs", n.Runs)
	if n.CutRuns > 0 {
		d.log.Error("spool full: the latest held runs are left out and lost", "file", p, "lost_runs", n.CutRuns)
		return fmt.Errorf("daemon: %d held runs lost: the held file is full (%w)", n.CutRuns, ErrResultsLost)
	}
	return nil
}

// hold keeps a run while detached, judging it through the flow's fresh
// machine for the metrics and alerts; it reports false once attached
// (the caller stores the run as usual).
func (d *Daemon) hold(run *probe.Run, fs *flowState) bool {
	d.det.Lock()
	defer d.det.Unlock()
	if !d.detached.Load() {
		return false
	}
	if len(d.held) >= heldMax {
		d.m.dropped.Inc()
		d.dropped.Add(1)
		d.log.Warn("store unreachable since start and the held runs at their bound: run result dropped", "flow", run.Flow, "run", run.ID, "held", len(d.held))
	} else {
		d.held = append(d.held, *run)
	}
	if fs == nil {
		return true
	}
	evs := fs.observe(d.m, run)
	for _, ev := range evs {
		d.logWindow(ev)
	}
	if d.alerter != nil && len(evs) > 0 {
		d.alerter.Handle(evs)
	}
	return true
}

// heldMark is a reload that changed a flow while the daemon had not
// reached its store: before the held run at pos, at at, the flow became f;
// or, gone set, removed it (or moved it to another service): gone is the
// flow as it ran until then, whose runs held before are judged by a machine
// restored for it, and whose windows close there (rejudge).
type heldMark struct {
	pos  int
	at   time.Time
	flow string
	f    *config.Flow
	of   *flowState // the flow f changed (a later reload may remove it)
	gone *flowState
}

// markReload records, while detached, the flows a reload changes (where
// they come among the held runs) and those it adds (as they start), for
// rejudge: the held runs are judged by the flow as it was when they ran,
// as the live machines judged them. Called by reload before it applies
// the change; removed are the flows it removed.
func (d *Daemon) markReload(removed, changed, added []*flowState, next map[string]*config.Flow, now time.Time) {
	d.det.Lock()
	defer d.det.Unlock()
	if !d.detached.Load() {
		return
	}
	for _, fs := range removed {
		d.marks = append(d.marks, heldMark{pos: len(d.held), at: now, flow: fs.name, gone: fs})
	}
	for _, fs := range changed {
		f := next[fs.name]
		fs.mu.Lock()
		old := fs.flow
		fs.mu.Unlock()
		// Only what the machine judges by: a reload that changes no
		// flow's policy or functions (the usual one) adds nothing.
		if policyOf(old) != policyOf(f) || !slices.Equal(old.Functions(), f.Functions()) {
			d.marks = append(d.marks, heldMark{pos: len(d.held), at: now, flow: fs.name, f: f, of: fs})
		}
	}
	for _, fs := range added {
		if d.detFlows == nil {
			d.detFlows = map[string]*config.Flow{}
		}
		if _, ok := d.detFlows[fs.name]; !ok {
			d.detFlows[fs.name] = fs.flow
		}
	}
}

// goneFlows returns the flows a reload removed while the daemon had not
// reached its store (marks), but for one that fss has again, by name and
// service (added back: its held runs are judged by that flow, as before).
func goneFlows(marks []heldMark, fss []*flowState) []*flowState {
	var out []*flowState
	for _, m := range marks {
		g := m.gone
		if g == nil || slices.Contains(out, g) || slices.ContainsFunc(fss, func(fs *flowState) bool { return fs.name == g.name && fs.service == g.service }) {
			continue
		}
		out = append(out, g)
	}
	return out
}

// reconfigure brings a machine re-judging held runs from the flow as it
// was (prev) to f at at, as the reload did to the live one (update): the
// windows of the functions f no longer has closed, the policy f's. No
// metrics: the reload set them. fs.mu held.
func (fs *flowState) reconfigure(prev, f *config.Flow, at time.Time) []state.Event {
	fns := f.Functions()
	if prev == f || fs.machine.HasFunctions(fns) && policyOf(prev) == policyOf(f) {
		return nil
	}
	keep := func(fn string) bool { return fn == "" || slices.Contains(fns, fn) }
	evs := fs.closing(prev.Interval, at, keep)
	fs.machine.Reconfigure(fns, policyOf(f), at)
	return evs
}

// rejudge feeds the held runs, in order, through the flows' machines
// (restored from the store) and hands each run and the events it causes
// to w, as process would have. The metrics' window gauges follow. base is
// each flow as the machines were made from (the flow at the start), marks
// the reloads that changed flows meanwhile, applied where they came.
//
// The downtime is accounted as the daemon that had its store accounted it
// (from the restore's accounting: a window open across the restart counts
// from the last stored run), and each flow's accounting left as its; with
// counted (what slaprobe_downtime_seconds_total read before the restore:
// the fresh machines' counting, when the daemon started without its store)
// the counter is raised to what that daemon counted since the start where
// the fresh machines counted less (it cannot go down: where they counted
// more, that stays). Called with d.det held (or before the flows run).
func (d *Daemon) rejudge(w resultWriter, held []probe.Run, base map[string]*config.Flow, marks []heldMark, flows map[string]*flowState, counted map[*flowState]map[string]float64) (evs []state.Event, dropped int) {
	cur := make(map[*flowState]*config.Flow, len(flows))
	sim := make(map[*flowState]map[string]time.Time, len(flows)) // as fs.acct
	ideal := make(map[*flowState]map[string]float64, len(flows))
	// The flows a reload removed meanwhile judge their runs until the
	// reload; no metrics: the reload deleted their series.
	type nameService struct{ flow, service string }
	gone := map[nameService]*flowState{}
	all := slices.Collect(maps.Values(flows))
	for _, g := range goneFlows(marks, all) {
		gone[nameService{g.name, g.service}] = g
		all = append(all, g)
	}
	// A run the store had when the machine was restored from it is judged
	// there already: a held file its next start judged, and whose runs it
	// committed, is left when a kill comes before its removal; judged
	// again, its failing runs, taken as if they came after the last stored
	// one, opened a window there that no run measured.
	storedTo := make(map[*flowState]time.Time, len(all))
	for _, fs := range all {
		fs.mu.Lock()
		storedTo[fs] = fs.machine.LastRun()
		cur[fs] = fs.flow
		sim[fs] = maps.Clone(fs.acct)
		if sim[fs] == nil {
			sim[fs] = map[string]time.Time{}
		}
		fs.mu.Unlock()
		if f := base[fs.name]; f != nil {
			cur[fs] = f
		}
	}
	count := func(fs *flowState, fn string, secs float64) {
		if gone[nameService{fs.name, fs.service}] == fs {
			return
		}
		if ideal[fs] == nil {
			ideal[fs] = map[string]float64{}
		}
		ideal[fs][fn] += secs
	}
	// account is apply's and observe's accounting, into ideal.
	account := func(fs *flowState, ev state.Event) {
		win := ev.Window
		if win.Kind != state.KindDown {
			return
		}
		switch ev.Op {
		case state.OpOpen:
			sim[fs][win.Function] = win.Start
		case state.OpClose:
			until, ok := sim[fs][win.Function]
			if !ok {
				until = win.Start
			}
			if win.End.After(until) {
				count(fs, win.Function, win.End.Sub(until).Seconds())
			}
			delete(sim[fs], win.Function)
		}
	}
	// to brings a flow's machine to f (a reload's, or the flow as it is
	// now once every held run is judged).
	to := func(fs *flowState, f *config.Flow, at time.Time) {
		fs.mu.Lock()
		e := fs.reconfigure(cur[fs], f, at)
		fs.mu.Unlock()
		cur[fs] = f
		for _, ev := range e {
			account(fs, ev)
		}
		if len(e) > 0 {
			w.SubmitEvents(e...)
			evs = append(evs, e...)
		}
	}
	mark := func(i int) {
		for len(marks) > 0 && marks[0].pos <= i {
			if g := marks[0].gone; g != nil {
				// Removed here: its windows close as the reload's
				// closeAll closed the live ones.
				if k := (nameService{g.name, g.service}); gone[k] == g {
					g.mu.Lock()
					e := g.closing(cur[g].Interval, marks[0].at, nil)
					g.mu.Unlock()
					for _, ev := range e {
						account(g, ev)
					}
					if len(e) > 0 {
						w.SubmitEvents(e...)
						evs = append(evs, e...)
					}
					delete(gone, k)
				}
			} else if marks[0].f != nil {
				fs := flows[marks[0].flow]
				if of := marks[0].of; of != nil && gone[nameService{of.name, of.service}] == of {
					fs = of // a later reload removed it
				}
				if fs != nil {
					to(fs, marks[0].f, marks[0].at)
				}
			}
			marks = marks[1:]
		}
	}
	for i := range held {
		mark(i)
		run := &held[i]
		if !w.Submit(*run) {
			dropped++
		}
		fs := flows[run.Flow]
		g := gone[nameService{run.Flow, run.Service}]
		if g != nil {
			fs = g
		}
		if fs == nil {
			continue
		}
		fs.mu.Lock()
		var e []state.Event
		judge := run.Service == fs.service && run.Location == fs.location && run.Start.After(storedTo[fs])
		if judge {
			e = fs.machine.Observe(run)
		}
		for _, ev := range e {
			if g == nil {
				fs.gauge(d.m, ev)
			}
			account(fs, ev)
		}
		if judge {
			for fn, until := range sim[fs] {
				st := run.Outcome()
				if fn != "" {
					st = run.FunctionStatus(fn)
				}
				if st == probe.StatusFailed && run.Start.After(until) {
					count(fs, fn, run.Start.Sub(until).Seconds())
					sim[fs][fn] = run.Start
				}
			}
		}
		fs.mu.Unlock()
		if len(e) > 0 {
			w.SubmitEvents(e...)
			evs = append(evs, e...)
		}
	}
	mark(len(held))
	for _, fs := range flows {
		fs.mu.Lock()
		f := fs.flow
		fs.mu.Unlock()
		to(fs, f, d.clock.Now())
	}
	for fs, acct := range sim {
		fs.mu.Lock()
		fs.acct = acct
		fs.mu.Unlock()
	}
	if counted != nil {
		for fs, fns := range ideal {
			fs.mu.Lock()
			have := fs.flow.Functions()
			fs.mu.Unlock()
			for fn, secs := range fns {
				if fn != "" && !slices.Contains(have, fn) {
					continue // a reload removed it, and its series
				}
				if more := secs - counted[fs][fn]; more > 0 {
					d.m.downtime.WithLabelValues(fs.name, fs.service, fn).Add(more)
				}
			}
		}
	}
	return evs, dropped
}

// downtimeCounted reads slaprobe_downtime_seconds_total: by flow and
// service, each function's ("" the flow's) count. It reads the series there
// are and makes none: they are sparse, made when a down window opens (a
// series made here for every flow and function would read 0 on /metrics
// where the daemon that had its store has none).
func (d *Daemon) downtimeCounted() map[[2]string]map[string]float64 {
	ch := make(chan prometheus.Metric, 256)
	go func() { d.m.downtime.Collect(ch); close(ch) }()
	out := map[[2]string]map[string]float64{}
	for m := range ch {
		var pb dto.Metric
		if m.Write(&pb) != nil {
			continue
		}
		var flow, service, fn string
		for _, l := range pb.GetLabel() {
			switch l.GetName() {
			case "flow":
				flow = l.GetValue()
			case "service":
				service = l.GetValue()
			case "function":
				fn = l.GetValue()
			}
		}
		k := [2]string{flow, service}
		if out[k] == nil {
			out[k] = map[string]float64{}
		}
		out[k][fn] = pb.GetCounter().GetValue()
	}
	return out
}

// gauge reflects an event in slaprobe_window_open only. fs.mu held.
func (fs *flowState) gauge(m *metrics, ev state.Event) {
	w := ev.Window
	if w.Kind == state.KindUnknown {
		return
	}
	switch ev.Op {
	case state.OpOpen:
		m.windowOpen.WithLabelValues(fs.name, fs.service, w.Function, string(w.Kind)).Set(1)
	case state.OpClose:
		m.windowOpen.WithLabelValues(fs.name, fs.service, w.Function, string(w.Kind)).Set(0)
	}
}

// attachLoop tries, every storeRetry, to attach the daemon started
// without its store, until it is attached or ctx is done.
func (d *Daemon) attachLoop(ctx context.Context, started time.Time, gone func(string) time.Duration, opts store.WriterOptions) {
	failures := 0
	for {
		if err := d.clock.Sleep(ctx, storeRetry); err != nil {
			return
		}
		err := d.attachLate(ctx, started, gone, opts)
		if err == nil {
			d.settleHeld(ctx, d.storeWriter())
			return
		}
		if ctx.Err() != nil {
			return
		}
		failures++
		if !isStoreError(err) {
			d.log.Error("store back, but the daemon cannot use it: probing on without it", "err", err)
		} else if failures%12 == 0 {
			d.log.Warn("store still unreachable: probing on, results held", "err", err, "held", d.heldCount())
		}
		d.det.Lock()
		d.detachErr = err
		d.det.Unlock()
	}
}

func (d *Daemon) heldCount() int {
	d.det.Lock()
	defer d.det.Unlock()
	return len(d.held)
}

// attachLate attaches the store to a daemon running detached: see the
// comment at the top of this file. The fresh machines go on judging the
// runs while the spool is stored; the swap, under d.det, holds the runs
// that end meanwhile for as long as the restore's reads take (bounded by
// attachWait).
func (d *Daemon) attachLate(ctx context.Context, started time.Time, gone func(string) time.Duration, opts store.WriterOptions) error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	if d.stopping0() {
		return ctx.Err()
	}
	if err := d.ping(ctx); err != nil {
		return err
	}
	w := d.newWriter(opts)
	abandon := func() {
		cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		cancel()
		_ = w.Close(cctx)
	}
	if err := d.replaySpool(ctx, w); err != nil {
		abandon()
		return err
	}
	d.mu.RLock()
	fss := d.flowList()
	flows := make(map[string]*flowState, len(fss))
	for _, fs := range fss {
		flows[fs.name] = fs
	}
	d.mu.RUnlock()

	d.det.Lock()
	defer d.det.Unlock()
	// The fresh machines are set aside (back if the restore fails).
	type saved struct {
		machine *state.Machine
		anchor  time.Time
		acct    map[string]time.Time
	}
	old := make(map[*flowState]saved, len(fss))
	counted := make(map[*flowState]map[string]float64, len(fss))
	downtime := d.downtimeCounted()
	// The flows a reload removed meanwhile are restored too: their runs
	// held until the reload are judged, their windows closed there.
	gss := goneFlows(d.marks, fss)
	for _, fs := range append(slices.Clone(fss), gss...) {
		fs.mu.Lock()
		old[fs] = saved{fs.machine, fs.anchor, fs.acct}
		counted[fs] = downtime[[2]string{fs.name, fs.service}]
		for _, win := range fs.machine.OpenWindows() {
			fs.gauge(d.m, state.Event{Op: state.OpClose, Window: win})
		}
		// As the flow was at the start (the reloads since are applied
		// where they came among the held runs: rejudge).
		base := fs.flow
		if f := d.detFlows[fs.name]; f != nil {
			base = f
		}
		fs.machine = state.New(fs.service, fs.name, fs.location, base.Functions(), policyOf(base))
		fs.acct = nil
		fs.mu.Unlock()
	}
	rctx, cancel := context.WithTimeout(ctx, attachWait)
	closed, err := d.restoreQuiet(rctx, append(slices.Clone(fss), gss...), started, gone)
	cancel()
	if err != nil {
		for fs, s := range old {
			fs.mu.Lock()
			for _, win := range fs.machine.OpenWindows() {
				fs.gauge(d.m, state.Event{Op: state.OpClose, Window: win})
			}
			fs.machine, fs.anchor, fs.acct = s.machine, s.anchor, s.acct
			for _, win := range fs.machine.OpenWindows() {
				fs.gauge(d.m, state.Event{Op: state.OpOpen, Window: win})
			}
			fs.mu.Unlock()
		}
		for _, g := range gss {
			d.m.deleteFlowOf(g.name, g.service)
		}
		abandon()
		return err
	}
	for fs, s := range old {
		fs.mu.Lock()
		fs.anchor = s.anchor // the schedule runs on as it began
		fs.mu.Unlock()
	}
	if len(closed) > 0 {
		w.SubmitEvents(closed...)
	}
	held := d.held
	evs, dropped := d.rejudge(w, held, d.detFlows, d.marks, flows, counted)
	d.held, d.marks, d.detFlows = nil, nil, nil
	for _, g := range gss {
		d.m.deleteFlowOf(g.name, g.service) // their restore's gauges
	}
	// The writer first: a run that finds the daemon attached stores
	// through it (process).
	d.mu.Lock()
	d.writer = w
	d.mu.Unlock()
	d.detached.Store(false)
	d.reports.invalidate()
	if dropped > 0 {
		d.m.dropped.Add(float64(dropped))
		d.dropped.Add(int64(dropped))
		d.log.Error("store back: the writer's buffer could not take every held run: dropped", "dropped", dropped)
	}
	d.reconcileAlerts(fss, append(closed, evs...))
	d.heldInWriter.Store(true) // the held file goes once they are committed (settleHeld)
	d.log.Warn("store back: the daemon started without it now stores its results; the runs held meanwhile are re-judged from the restored windows and stored",
		"held_runs", len(held), "events", len(closed)+len(evs), "detached_for", d.clock.Now().Sub(started).Round(time.Second))
	return nil
}

// pingWait bounds the store's ping before a start stores the spool (whose
// flushes wait up to spoolFlushWait for a database that does not answer).
const pingWait = 10 * time.Second

// ping checks, before the spool and the restore, that the store answers at
// all: a database down (or a store not yet open) is found at once.
func (d *Daemon) ping(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, pingWait)
	defer cancel()
	if err := d.store.Ping(pctx); err != nil {
		return storeError{fmt.Errorf("daemon: the store does not answer: %w", err)}
	}
	return nil
}

// stopping0 reports whether the daemon's stop has begun.
func (d *Daemon) stopping0() bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.stopping
}

// restoreQuiet is restore without the alerter (reconcileAlerts follows),
// its errors marked as the store's.
func (d *Daemon) restoreQuiet(ctx context.Context, fss []*flowState, at time.Time, gone func(string) time.Duration) ([]state.Event, error) {
	closed, err := d.restore(ctx, fss, at, gone, true)
	if err != nil {
		return nil, storeError{err}
	}
	return closed, nil
}

// reconcileAlerts hands the alerter the closes of the windows the restore
// and the re-judging ended (the alerts of the windows open at the last stop
// resolve with their ends) and then every window open now, as at a
// normal start: what it holds firing for any other window (the fresh
// machines' windows, which started at the restart) is resolved, and every
// window open gets its alert, with its original start.
func (d *Daemon) reconcileAlerts(fss []*flowState, evs []state.Event) {
	if d.alerter == nil {
		return
	}
	var closes []state.Event
	for _, ev := range evs {
		if ev.Op == state.OpClose {
			closes = append(closes, ev)
		}
	}
	if len(closes) > 0 {
		d.alerter.Handle(closes)
	}
	if r, ok := d.alerter.(Reconciler); ok {
		var open []state.Window
		for _, fs := range fss {
			fs.mu.Lock()
			open = append(open, fs.machine.OpenWindows()...)
			fs.mu.Unlock()
		}
		r.Reconcile(open)
	}
}

// settleHeld removes the held file once the writer has committed the runs
// re-judged from it (and their events): until then they are in memory
// only, and a kill would lose them. A stop first (ctx done) leaves it to
// Run, which removes it once the writer is closed or what it did not
// commit is in the spool.
func (d *Daemon) settleHeld(ctx context.Context, w resultWriter) {
	if w == nil || !d.heldInWriter.Load() {
		return
	}
	if err := w.Flush(ctx); err != nil {
		return
	}
	if d.heldInWriter.CompareAndSwap(true, false) {
		d.removeHeld()
	}
}

// removeHeld removes the held file once its runs are stored (or in the
// spool, with their events).
func (d *Daemon) removeHeld() {
	p := d.heldPath()
	if p == "" {
		return
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		d.log.Warn("cannot remove the file of held runs once stored", "file", p, "err", err)
	}
}

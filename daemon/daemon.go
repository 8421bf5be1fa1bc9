// Package daemon runs slaprobe unattended for months: it schedules every flow
// of the config at this prober's location (gocron v2, one job per flow, first
// runs spread over the interval by a stable offset, a flow never overlapping
// itself), passes each finished run through one pipeline (store writer, the
// flow's state machine, alerts, metrics), serves /metrics, /healthz and
// /api/v1/status, prunes old raw results off the hot path, reloads its config
// without a restart, and drains in-flight runs on shutdown.
//
// Replay drives the very same runner, pipeline, store writer and state
// machines in virtual time for `slaprobe demo`.
//
// Time comes from a clock.Clock. The scheduler needs a clockwork clock: with
// clock.Real (the default) it gets the real one; tests pass ClockworkClock(fake)
// so that the scheduler and the daemon share one fake clock.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// Alerter receives the state events of every run (window opens and closes);
// the alert package's Notifier is one. Handle must not block for long.
type Alerter interface {
	Handle(evs []state.Event)
}

// Reconciler is an Alerter that keeps its alerts across restarts (the alert
// package's Notifier, with a state file). At startup, once the open windows
// are restored from the store, the daemon hands it all of them: it resolves
// what it holds firing for any other window.
type Reconciler interface {
	Reconcile(open []state.Window)
}

// Unholder is an Alerter that holds the alerts its state file brought back
// until Reconcile (the alert package's Notifier with HoldUntilReconcile): a
// daemon started without its store, which cannot reconcile them yet, lets
// them be sent again, firing (what was down at the stop is taken as down
// still), until the store answers and Reconcile resolves those whose
// windows have closed.
type Unholder interface {
	Unhold()
}

// AvailabilityFunc returns every service's time-weighted availability over
// [from, to), by service name; a service with no data yet is absent.
type AvailabilityFunc func(ctx context.Context, from, to time.Time) (map[string]float64, error)

// Deps are what the daemon is given rather than makes.
type Deps struct {
	Store     store.Store          // required
	Clock     clock.Clock          // nil: clock.Real
	Logger    *slog.Logger         // nil: discard
	Registry  *prometheus.Registry // nil: a new one (see Registry)
	Alerter   Alerter              // nil: no alerts
	Transport http.RoundTripper    // the probes' transport; nil: the runner's default
	// Webhooks is the callback registry the runs' await webhook steps use;
	// Handler serves it under /webhooks/ too. nil: no webhooks.
	Webhooks *probe.Webhooks
	Version  string // for slaprobe_build_info

	// Grace bounds how long in-flight runs may take to finish on shutdown;
	// default 30s.
	Grace time.Duration
	// Availability feeds slaprobe_availability_ratio; nil: the report's own
	// accounting over the store (see ReportAvailability).
	Availability AvailabilityFunc
	// QuarantineFile is where the store writer keeps (as JSON lines) the
	// results and events the store refuses for good; "": in memory and in
	// the log only (see store.Writer).
	QuarantineFile string
	// SpoolFile is where the results and events the store has not taken
	// when Run stops (the database not taking writes) are kept, and whence
	// the next Run stores them before anything else (see store.WriteSpool);
	// "": they are lost, as the error Run returns says.
	SpoolFile string
	// Heavy, if set, is called as each periodic report build begins (the
	// availability gauge's, and the status page's through Exclusive), and
	// the function it returns as the build ends. At 50,000 flows a build
	// allocates ~100 MB over a ~190 MB live heap in seconds: the program may
	// collect more often meanwhile (cmd/slaprobe lowers GOGC). The daemon,
	// a library, changes no process-wide setting itself. Builds run one at
	// a time, but Heavy may be shared with other phases of the program.
	// A Reloader's reload is one phase too, from the file's read to after
	// its "config reloaded" line (the daemon returns the memory itself
	// after a reload only without Heavy).
	Heavy func() (done func())
}

// DefaultGrace is how long in-flight runs may take to finish on shutdown.
const DefaultGrace = 30 * time.Second

// Housekeeping cadence.
const (
	pruneEvery        = time.Minute
	pruneBatch        = 5000
	pruneMaxBatches   = 20 // per tick, so that pruning never hogs the database
	availabilityEvery = 5 * time.Minute
	writerCloseWait   = 30 * time.Second
)

// flowRunner runs one flow once; *probe.Runner is one.
type flowRunner interface {
	Run(ctx context.Context, f *config.Flow) probe.Run
}

// resultWriter is the part of *store.Writer the daemon uses.
type resultWriter interface {
	Submit(runs ...probe.Run) bool
	SubmitEvents(evs ...state.Event)
	Flush(ctx context.Context) error
	Close(ctx context.Context) error
	Stats() store.WriterStats
	// Uncommitted is what Close left (see store.Writer.Uncommitted).
	Uncommitted() []store.SpoolItem
}

// Daemon is the long-running prober. Build it with New, start it with Run.
type Daemon struct {
	log          *slog.Logger
	clock        clock.Clock
	cw           clockwork.Clock
	store        store.Store
	reg          *prometheus.Registry
	flowReg      *prometheus.Registry // the per-flow collector (see serveMetrics)
	m            *metrics
	alerter      Alerter
	transport    http.RoundTripper
	webhooks     *probe.Webhooks
	grace        time.Duration
	availability AvailabilityFunc
	// quarantineFile: see Deps.QuarantineFile.
	quarantineFile string
	// spoolFile: see Deps.SpoolFile; spoolMax bounds it (0:
	// store.MaxSpoolBytes).
	spoolFile string
	spoolMax  int64
	// closeWait bounds the store writer's flush at shutdown
	// (writerCloseWait), spoolWait each flush of the spool at startup
	// (spoolFlushWait); tests shorten them.
	closeWait, spoolWait time.Duration
	// endWait bounds the session_end steps of a stop, and of the sessions
	// a reload replaced (sessionEndWait); tests lengthen it.
	endWait time.Duration
	// hurried is done once Hurry was called: the drain stops waiting (see
	// Hurry); hurry does it.
	hurried context.Context
	hurry   context.CancelFunc

	// Seams for tests; set by New. newRunner builds the runner of a
	// config; prev is the runner it replaces (nil at start-up), whose
	// compiled flows it may take over (probe.Options.Previous).
	newRunner func(cfg *config.Config, prev flowRunner) (flowRunner, error)
	// retainTransports, after a reload, lets go of the transports only the
	// replaced runner used (nil in tests with fake runners).
	retainTransports func(current flowRunner)
	newWriter        func(opts store.WriterOptions) resultWriter
	jitter           func(location, flow string, interval time.Duration, due time.Time) time.Duration
	warm             *warmPool // where fire runs the flows (see warmPool)

	location string // cfg.Location, which a reload cannot change; read without a lock

	reloadMu sync.Mutex // serialises Run's start and stop, and Reload

	mu     sync.RWMutex
	cfg    *config.Config
	runner flowRunner // the one compiled from cfg, which every flow's is
	flows  map[string]*flowState
	// gone holds the running flags of flows a reload removed whose last run
	// may still be in flight, so that a flow that comes back (or moves to
	// another service) never overlaps it.
	gone        map[string]*atomic.Bool
	maxInterval time.Duration
	writer      resultWriter
	sched       *scheduler
	stopCtx     context.Context // done when shutdown begins: no run starts after it
	runCtx      context.Context // done when the grace period is over: runs in flight are cancelled
	started     bool
	stopping    bool

	inflight     sync.WaitGroup
	ending       sync.WaitGroup // session_end teardowns of runners a reload replaced
	dropped      atomic.Int64   // results the writer refused
	processed    atomic.Int64   // runs that went through process (for the stop log line)
	lastActivity atomic.Int64   // unix nanos of the last run start or end

	// detached: Run started without its store (see detached.go); det
	// guards held (the runs held meanwhile) and detachErr (why).
	detached  atomic.Bool
	det       sync.Mutex
	held      []probe.Run
	heldFrom  time.Time // the windows are restored as of it for held (see readHeld)
	detachErr error
	// detFlows: each flow as it was at the start (or when a reload added
	// it), and marks: the reloads that changed a flow meanwhile, where in
	// held they came; the held runs are re-judged through them.
	detFlows map[string]*config.Flow
	marks    []heldMark
	// heldInWriter: the runs of the held file are in the writer, not yet
	// all committed; the file stays until they are (settleHeld), or until
	// a stop has spooled what the writer did not commit.
	heldInWriter atomic.Bool

	reports        *reportStore         // the store as periodic reports read it
	writerFailures atomic.Int64         // the writer's failed commits last seen (checkWriterFailures)
	builds         chan struct{}        // held while a periodic report is built (see Exclusive)
	heavy          func() (done func()) // Deps.Heavy, around each build
	// buildMu guards building and the reloads waiting for the slot
	// (ExclusiveWithin), which the periodic builds give way to.
	buildMu      sync.Mutex
	building     context.CancelCauseFunc // ends the build holding the slot; nil: none
	reloading    int                     // reloads under way (holdBuilds): no build begins
	reloadsEnded chan struct{}           // closed when reloading is back to 0
}

// flowState is the runtime state of one flow at this location. Runtime state
// lives here, never on the config.
type flowState struct {
	name     string
	location string
	// running: a run is in flight (the flow never overlaps itself). A flow
	// that a reload brings back or moves to another service gets a new
	// flowState that shares it with the old one (see Daemon.gone).
	running    *atomic.Bool
	confirming atomic.Bool // fire is re-running it every confirm_every (see confirm)
	// retryAfter is the last run's probe.Run.RetryAfter (ns): the wait a
	// 429 or 503 asked for, which confirm honours.
	retryAfter atomic.Int64

	mu      sync.Mutex
	flow    *config.Flow
	runner  flowRunner // the runner compiled from flow's config: the two change together
	service string
	machine *state.Machine
	anchor  time.Time            // the job's first due time; later ones are anchor+k*interval
	job     *schedJob            // nil until scheduled
	acct    map[string]time.Time // open down windows: downtime counted up to (nil until one opens: see account)
	stats   flowStats            // for the per-flow metrics, collected at scrape time
	last    *runInfo
}

// runInfo is what the status API shows of a flow's last run.
type runInfo struct {
	Start     time.Time
	Duration  time.Duration
	Outcome   probe.Status
	CauseStep string
	Error     string
}

// ClockworkClock adapts a clockwork clock (for instance
// clockwork.NewFakeClock()) to clock.Clock. When Deps.Clock is one, the
// scheduler runs on the same clockwork clock, so a test moves both at once.
func ClockworkClock(c clockwork.Clock) clock.Clock { return cwClock{c} }

type cwClock struct{ c clockwork.Clock }

func (w cwClock) Now() time.Time { return w.c.Now() }

func (w cwClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := w.c.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.Chan():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// After fires when the clockwork clock has moved d forward.
func (w cwClock) After(d time.Duration) <-chan time.Time { return w.c.After(d) }

// New builds a daemon for a validated config. It registers the daemon's
// metrics on deps.Registry and parses the flows; nothing runs until Run.
func New(cfg *config.Config, deps Deps) (*Daemon, error) {
	if cfg == nil {
		return nil, errors.New("daemon: no config")
	}
	if deps.Store == nil {
		return nil, errors.New("daemon: no store")
	}
	if err := checkIntervals(cfg); err != nil {
		return nil, err
	}
	d := &Daemon{
		log:            deps.Logger,
		clock:          deps.Clock,
		store:          deps.Store,
		reg:            deps.Registry,
		alerter:        deps.Alerter,
		transport:      deps.Transport,
		webhooks:       deps.Webhooks,
		grace:          deps.Grace,
		availability:   deps.Availability,
		quarantineFile: deps.QuarantineFile,
		spoolFile:      deps.SpoolFile,
		closeWait:      writerCloseWait,
		spoolWait:      spoolFlushWait,
		endWait:        sessionEndWait,
		heavy:          deps.Heavy,
		jitter:         Jitter,
		warm:           newWarmPool(),
		flows:          map[string]*flowState{},
		gone:           map[string]*atomic.Bool{},
		builds:         make(chan struct{}, 1),
	}
	d.hurried, d.hurry = context.WithCancel(context.Background())
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.clock == nil {
		d.clock = clock.Real{}
	}
	if w, ok := d.clock.(cwClock); ok {
		d.cw = w.c
	} else {
		d.cw = clockwork.NewRealClock()
	}
	if d.reg == nil {
		d.reg = prometheus.NewRegistry()
	}
	if d.grace <= 0 {
		d.grace = DefaultGrace
	}
	if d.availability == nil {
		d.availability = d.reportAvailability
	}
	d.reports = newReportStore(d.store, d.clock)
	// One set of transports for the daemon's life: a reload's runner reuses
	// the transports (and warm connections) of unchanged TLS settings.
	transports := probe.NewTransports()
	d.newRunner = func(cfg *config.Config, prev flowRunner) (flowRunner, error) {
		p, _ := prev.(*probe.Runner)
		return probe.NewRunner(cfg, probe.Options{Clock: d.clock, Transport: d.transport, Logger: d.log, Transports: transports, Webhooks: d.webhooks, Previous: p})
	}
	d.retainTransports = func(current flowRunner) {
		if r, ok := current.(*probe.Runner); ok {
			transports.Keep(r)
		}
	}
	d.newWriter = func(opts store.WriterOptions) resultWriter { return store.NewWriter(d.store, opts) }

	d.flowReg = prometheus.NewRegistry()
	m, err := newMetrics(d.reg, d.flowReg, deps.Version, d.queueDepth, d.committedRuns, d.quarantined, d.flowSnapshot)
	if err != nil {
		return nil, fmt.Errorf("daemon: registering metrics: %w", err)
	}
	d.m = m
	if err := d.reg.Register(newMaintenanceCollector(d)); err != nil {
		return nil, fmt.Errorf("daemon: registering metrics: %w", err)
	}
	d.configLoaded()
	if hooks := deps.Webhooks; hooks != nil {
		if err := registerWebhookMetrics(d.reg, hooks); err != nil {
			return nil, fmt.Errorf("daemon: registering metrics: %w", err)
		}
	}
	r, err := d.newRunner(cfg, nil)
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	d.cfg, d.runner, d.location = cfg, r, cfg.Location
	for _, f := range flowsOf(cfg) {
		d.flows[f.Name] = newFlowState(cfg.Location, f, r)
	}
	d.maxInterval = maxInterval(cfg)
	d.setObjectives(nil, cfg)
	if ma, ok := d.alerter.(MaintenanceAware); ok {
		ma.SetMaintenance(cfg.Maintenance)
	}
	return d, nil
}

// Registry is the registry the daemon's metrics are on, except the dense
// per-flow families (probe_*, slaprobe_runs_total, slaprobe_flow_up,
// slaprobe_function_up), which Handler's /metrics streams; Gatherer has all.
func (d *Daemon) Registry() *prometheus.Registry { return d.reg }

// Gatherer gathers every metric of the daemon, the per-flow families
// included (what /metrics serves, through client_golang's data model).
func (d *Daemon) Gatherer() prometheus.Gatherer { return prometheus.Gatherers{d.reg, d.flowReg} }

// flowSnapshot returns the current flows, for the metrics collector.
func (d *Daemon) flowSnapshot() []*flowState {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]*flowState, 0, len(d.flows))
	for _, fs := range d.flows {
		out = append(out, fs)
	}
	return out
}

// storeWriter is the daemon's store writer, nil while it has none (started
// without its store and not attached yet).
func (d *Daemon) storeWriter() resultWriter {
	d.mu.RLock()
	w := d.writer
	d.mu.RUnlock()
	return w
}

func (d *Daemon) queueDepth() float64 {
	if w := d.storeWriter(); w != nil {
		return float64(w.Stats().Queued)
	}
	// Started without its store: the runs held are what waits.
	return float64(d.heldCount())
}

// committedRuns is how many runs the store writer has committed: the results
// it acknowledged, which survive a crash.
func (d *Daemon) committedRuns() float64 {
	if w := d.storeWriter(); w != nil {
		return float64(w.Stats().Committed)
	}
	return 0
}

// quarantined is how many results and events the store writer set aside
// because the store refuses them for good.
func (d *Daemon) quarantined() float64 {
	if w := d.storeWriter(); w != nil {
		return float64(w.Stats().Quarantined)
	}
	return 0
}

// flowsOf returns pointers to every flow of the config, in config order.
func flowsOf(cfg *config.Config) []*config.Flow {
	var out []*config.Flow
	for i := range cfg.Services {
		for j := range cfg.Services[i].Flows {
			out = append(out, &cfg.Services[i].Flows[j])
		}
	}
	return out
}

func maxInterval(cfg *config.Config) time.Duration {
	var m time.Duration
	for _, f := range flowsOf(cfg) {
		m = max(m, f.Interval)
	}
	return m
}

func policyOf(f *config.Flow) state.Policy {
	return state.Policy{Interval: f.Interval, DownAfter: f.DownAfter, UpAfter: f.UpAfter, ConfirmEvery: f.ConfirmEvery}
}

func newFlowState(location string, f *config.Flow, r flowRunner) *flowState {
	return &flowState{
		name:     f.Name,
		location: location,
		running:  new(atomic.Bool),
		flow:     f,
		runner:   r,
		service:  f.Service,
		machine:  state.New(f.Service, f.Name, location, f.Functions(), policyOf(f)),
		stats:    newFlowStats(stepNames(f)),
	}
}

// account records that fn's open down window has its downtime counted up
// to t. The map is made when the flow's first down window opens: most flows
// never have one (an empty map is 48 bytes, at 50,000 flows 2.4 MB).
func (fs *flowState) account(fn string, t time.Time) {
	if fs.acct == nil {
		fs.acct = map[string]time.Time{}
	}
	fs.acct[fn] = t
}

// stepNames lists every step of f that has metrics: the session's steps,
// the steps and the teardown steps.
func stepNames(f *config.Flow) []string {
	var out []string
	if f.Session != nil {
		for _, s := range f.Session.Steps {
			out = append(out, s.Name)
		}
	}
	for _, s := range f.Steps {
		out = append(out, s.Name)
	}
	for _, s := range f.Teardown {
		out = append(out, s.Name)
	}
	return out
}

func (d *Daemon) setObjectives(old, cfg *config.Config) {
	keep := map[string]bool{}
	for _, s := range cfg.Services {
		keep[s.Name] = true
		d.m.objective.WithLabelValues(s.Name).Set(s.Objective)
	}
	if old != nil {
		for _, s := range old.Services {
			if !keep[s.Name] {
				d.m.deleteService(s.Name)
			}
		}
	}
}

// restore puts back, from the store, the open windows and the last run of
// every flow in fs, and sets each flow's first due time. It returns the
// events of the windows a long stop ended (state.Machine.Stale), for the
// caller to store and hand to the alerter.
//
// At startup (gone set) it also closes the windows left open at this
// location by a flow that none of fss is (removed from the config, or moved
// to another service, while the daemon was stopped), as a reload that
// removed it closes them (closeAll): at the end of its last run's
// interval, or now if that is earlier. gone is the interval to judge such a
// flow by: its own if the config has it under another service, else the
// defaults'.
//
// quiet leaves the alerter out: the caller hands it the windows.
func (d *Daemon) restore(ctx context.Context, fss []*flowState, now time.Time, gone func(flow string) time.Duration, quiet bool) ([]state.Event, error) {
	if len(fss) == 0 && gone == nil {
		// At startup a config with no flow still closes what the flows
		// it no longer has left open.
		return nil, nil
	}
	loc := d.location
	open, err := d.store.OpenWindows(ctx, loc)
	if err != nil {
		return nil, fmt.Errorf("daemon: reading open windows: %w", err)
	}
	last, err := d.store.LastRuns(ctx, loc)
	if err != nil {
		return nil, fmt.Errorf("daemon: reading last runs: %w", err)
	}
	byFlow := map[string][]state.Window{}
	for _, w := range open {
		if w.Location == loc || w.Location == "" {
			byFlow[w.Flow] = append(byFlow[w.Flow], w)
		}
	}
	// Each flow's machine is resumed as its batch of history is read (the
	// runs of one batch at a time in memory), the flows without history
	// after; the metrics and events follow once every batch was read, in
	// the flows' order. A read that fails leaves every flow fresh (the
	// restore is made again, or the flows start fresh): nothing counted.
	resumed := make(map[*flowState]bool, len(fss))
	resume := func(fs *flowState, h history) {
		fs.resume(byFlow[fs.name], last[fs.name], h, now)
		resumed[fs] = true
	}
	if err := d.recentHistory(ctx, loc, fss, last, now, resume); err != nil {
		for fs := range resumed {
			fs.mu.Lock()
			fs.machine = state.New(fs.service, fs.name, fs.location, fs.flow.Functions(), policyOf(fs.flow))
			fs.mu.Unlock()
		}
		return nil, err
	}
	var reopened, closed []state.Event
	if gone != nil {
		closed = orphaned(fss, open, loc, last, now, gone)
	}
	for _, fs := range fss {
		if !resumed[fs] {
			fs.resume(byFlow[fs.name], last[fs.name], history{}, now)
		}
		fs.restored(d.m, last[fs.name], now)
		fs.mu.Lock()
		for _, ev := range fs.machine.Stale(now) {
			fs.apply(d.m, ev)
			closed = append(closed, ev)
		}
		for _, w := range fs.machine.OpenWindows() {
			reopened = append(reopened, state.Event{Op: state.OpOpen, Window: w})
		}
		fs.mu.Unlock()
	}
	// The alerter keeps its own state, and a repeated open of a firing alert
	// changes nothing; but if that state was lost, this re-fires what is
	// still down, with its original startsAt.
	if d.alerter != nil && len(reopened) > 0 && !quiet {
		d.alerter.Handle(reopened)
	}
	return closed, nil
}

// orphaned closes the open windows at loc of flows (by name and service)
// that none of fss is: see restore.
func orphaned(fss []*flowState, open []state.Window, loc string, last map[string]time.Time, now time.Time, interval func(flow string) time.Duration) []state.Event {
	type fk struct{ flow, service string }
	kept := make(map[fk]bool, len(fss))
	for _, fs := range fss {
		kept[fk{fs.name, fs.service}] = true
	}
	var evs []state.Event
	for _, w := range open {
		if w.Location != loc && w.Location != "" || kept[fk{w.Flow, w.Service}] {
			continue
		}
		lastRun := last[w.Flow]
		end := lastRun.Add(interval(w.Flow))
		if lastRun.IsZero() || end.After(now) {
			end = now
		}
		end = maxTime(maxTime(end, lastRun), w.Start)
		w.End = end
		evs = append(evs, state.Event{Op: state.OpClose, Window: w})
	}
	return evs
}

// resume restores the flow's machine from its open windows and history;
// restored then sets its metrics.
func (fs *flowState) resume(open []state.Window, lastRun time.Time, h history, now time.Time) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var mine []state.Window
	for _, w := range open {
		if w.Service == fs.service {
			mine = append(mine, w)
		}
	}
	fs.machine.Restore(mine, lastRun)
	fs.machine.Resume(h.runs, h.windows)
	if n := len(h.runs); n > 0 && h.runs[n-1].Start.Equal(fs.machine.LastRun()) {
		// The stretch since the last run is judged by the interval it had.
		fs.machine.Restarted(h.runs[n-1].Interval, now)
	}
}

func (fs *flowState) restored(m *metrics, lastRun, now time.Time) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, w := range fs.machine.OpenWindows() {
		m.windowOpen.WithLabelValues(fs.name, fs.service, w.Function, string(w.Kind)).Set(1)
		if w.Kind == state.KindDown {
			// The process before us counted up to about its last run.
			from := w.Start
			if lastRun.After(from) {
				from = lastRun
			}
			fs.account(w.Function, from)
			m.downtime.WithLabelValues(fs.name, fs.service, w.Function).Add(0)
		}
	}
	fs.anchor = NextDue(fs.location, fs.name, fs.flow.Interval, fs.machine.LastRun(), now)
}

// process is the one pipeline every finished run goes through, live and in
// replay: (a) the run goes to the store writer, (b) the flow's state machine
// sees it and its events go to the writer and the alerter, (c) metrics.
func (d *Daemon) process(run *probe.Run) {
	d.processed.Add(1)
	d.mu.RLock()
	w := d.writer
	fs := d.flows[run.Flow]
	d.mu.RUnlock()
	if d.detached.Load() && d.hold(run, fs) {
		return // held, not stored yet: see detached.go
	}
	if w == nil {
		w = d.storeWriter() // attached since it was read (the writer is set first)
	}
	if w != nil && !w.Submit(*run) {
		d.m.dropped.Inc()
		d.dropped.Add(1)
		d.log.Warn("store writer full: run result dropped", "flow", run.Flow, "run", run.ID)
	}
	if fs == nil {
		return // removed by a reload while it ran: stored, nothing else
	}
	evs := fs.observe(d.m, run)
	if len(evs) == 0 {
		return
	}
	for _, ev := range evs {
		d.logWindow(ev)
	}
	if w != nil {
		w.SubmitEvents(evs...)
	}
	if d.alerter != nil {
		d.alerter.Handle(evs)
	}
}

// logWindow logs a down or degraded window's opening, change of cause and
// closing, so that the log tells an outage as it happens, as the alerts
// and metrics do (at info: a replay logs at warn and above). Its times are
// in UTC, as the alerts' are: a window restored from the store and one
// opened in the process print in one zone.
func (d *Daemon) logWindow(ev state.Event) {
	w := &ev.Window
	if w.Kind == state.KindUnknown {
		return
	}
	attrs := []any{"service", w.Service, "flow", w.Flow, "function", w.Function, "kind", string(w.Kind), "start", w.Start.UTC()}
	switch ev.Op {
	case state.OpOpen:
		d.log.Info("window opened", append(attrs, "cause_step", w.CauseStep, "error", w.Error)...)
	case state.OpCause:
		if n := len(w.Causes); n > 0 {
			c := w.Causes[n-1]
			d.log.Info("window cause changed", append(attrs, "cause_step", c.Step, "error", c.Error, "since", c.From.UTC())...)
		}
	case state.OpClose:
		d.log.Info("window closed", append(attrs, "end", w.End.UTC(), "duration", w.End.Sub(w.Start))...)
	}
}

// observe feeds a run to the flow's machine and updates the metrics.
func (fs *flowState) observe(m *metrics, run *probe.Run) []state.Event {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if run.Service != fs.service || run.Location != fs.location {
		return nil // the flow moved to another service while this run was in flight
	}
	evs := fs.machine.Observe(run)
	fs.stats.observe(run)
	for _, ev := range evs {
		fs.apply(m, ev)
	}
	for fn, until := range fs.acct {
		st := run.Outcome()
		if fn != "" {
			st = run.FunctionStatus(fn)
		}
		// A failing run proves the window lasts at least until its start:
		// any later close ends at or after it.
		if st == probe.StatusFailed && run.Start.After(until) {
			m.downtime.WithLabelValues(fs.name, fs.service, fn).Add(run.Start.Sub(until).Seconds())
			fs.acct[fn] = run.Start
		}
	}
	info := &runInfo{Start: run.Start, Duration: run.Duration, Outcome: run.Outcome()}
	if f := run.FirstFailure(); f != nil {
		info.CauseStep, info.Error = f.Step, f.Error
	}
	fs.last = info
	return evs
}

// apply reflects one event in the window and downtime series. Called with
// fs.mu held.
func (fs *flowState) apply(m *metrics, ev state.Event) {
	w := ev.Window
	if w.Kind == state.KindUnknown {
		return
	}
	fn := w.Function
	switch ev.Op {
	case state.OpOpen:
		m.windowOpen.WithLabelValues(fs.name, fs.service, fn, string(w.Kind)).Set(1)
		if w.Kind == state.KindDown {
			fs.account(fn, w.Start)
			m.downtime.WithLabelValues(fs.name, fs.service, fn).Add(0)
		}
	case state.OpClose:
		m.windowOpen.WithLabelValues(fs.name, fs.service, fn, string(w.Kind)).Set(0)
		if w.Kind == state.KindDown {
			until, ok := fs.acct[fn]
			if !ok {
				until = w.Start
			}
			if w.End.After(until) {
				m.downtime.WithLabelValues(fs.name, fs.service, fn).Add(w.End.Sub(until).Seconds())
			}
			delete(fs.acct, fn)
		}
	}
}

// closeAll ends the flow's open windows because the flow (or some of its
// functions) left the config: at the end of the last run's interval (the
// interval that run had: a reload's update passes the flow's before it), or
// now if that is earlier, but never before the last run (a step back of the
// wall clock puts now before it). keep says which functions stay; nil closes everything.
func (fs *flowState) closeAll(m *metrics, interval time.Duration, now time.Time, keep func(fn string) bool) []state.Event {
	evs := fs.closing(interval, now, keep)
	for _, ev := range evs {
		fs.apply(m, ev)
	}
	return evs
}

// closing is closeAll without the metrics, by a flow's interval.
func (fs *flowState) closing(interval time.Duration, now time.Time, keep func(fn string) bool) []state.Event {
	end := fs.machine.LastRun().Add(interval)
	if fs.machine.LastRun().IsZero() || end.After(now) {
		end = now
	}
	// Never before the last run, which a window open at it was measured
	// to last until: after a step back of the wall clock, now is earlier
	// than that (m-4 after a last run at m3), and a window closed at now
	// would end at its start, 0 s.
	end = maxTime(end, fs.machine.LastRun())
	var evs []state.Event
	for _, w := range fs.machine.OpenWindows() {
		if keep != nil && keep(w.Function) {
			continue
		}
		if end.Before(w.Start) {
			w.End = w.Start
		} else {
			w.End = end
		}
		evs = append(evs, state.Event{Op: state.OpClose, Window: w})
	}
	return evs
}

// Run restores open windows and last runs from the store, starts the store
// writer, the scheduler and housekeeping, and probes until ctx is done. Then
// it shuts down in order: no run starts any more (a run waiting out its
// jitter gives up at once), the scheduler stops, runs in flight finish within
// the grace period (cancelled after it), and the store writer is flushed.
// When Run returns, every event of every run has been handed to the Alerter:
// the caller then flushes that, and stops serving HTTP last (Handler keeps
// answering during the drain; /healthz says "shutting down").
func (d *Daemon) Run(ctx context.Context) error {
	d.reloadMu.Lock()
	if d.started {
		d.reloadMu.Unlock()
		return errors.New("daemon: already running")
	}
	opts := store.WriterOptions{
		BatchSize:  500,
		FlushEvery: time.Second,
		Buffer:     50000,
		RetryEvery: 5 * time.Second,
		Logger:     d.log,
		Clock:      d.clock,
		OnCommit:   func(_ int, took time.Duration) { d.m.batchWrite.Observe(took.Seconds()) },
		// Items the store refuses for good are set aside here.
		QuarantineFile: d.quarantineFile,
	}
	w := d.newWriter(opts)
	abandon := func() {
		cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		cancel()
		_ = w.Close(cctx) // what it holds is still in the spool
	}
	now := d.clock.Now()
	d.mu.RLock()
	fss := d.flowList()
	cfg := d.cfg
	d.mu.RUnlock()
	gone := func(flow string) time.Duration {
		if _, f := cfg.Flow(flow); f != nil && f.Interval > 0 {
			return f.Interval
		}
		return cfg.Defaults.Interval
	}
	// Runs a stop while the store was unreachable held (see detached.go):
	// re-judged once the windows are restored.
	held, heldFrom, err := d.readHeld()
	if err != nil {
		d.reloadMu.Unlock()
		abandon()
		return err
	}
	// What the store did not take when the process before us stopped is
	// stored first: the windows and streaks below are restored from a
	// store that holds it, as if that process had stored it itself.
	err = d.ping(ctx)
	if err == nil {
		err = d.replaySpool(ctx, w)
	}
	var closed []state.Event
	if err == nil {
		// Held runs are re-judged from the windows as the process that
		// held them would have restored them, at its start.
		at := now
		if len(held) > 0 && heldFrom.Before(now) {
			at = heldFrom
		}
		closed, err = d.restore(ctx, fss, at, gone, false)
		if err != nil {
			err = storeError{err}
		}
	}
	if err != nil && (!isStoreError(err) || ctx.Err() != nil) {
		d.reloadMu.Unlock()
		abandon()
		return err
	}
	if err != nil {
		// Started without its store: probe on, hold the runs, attach
		// when it answers (attachLoop).
		abandon()
		w = nil
		d.det.Lock()
		d.detached.Store(true)
		d.held, d.detachErr = held, err
		d.heldFrom = now
		if len(held) > 0 && heldFrom.Before(now) {
			d.heldFrom = heldFrom // a stop before held some already
		}
		d.detFlows = make(map[string]*config.Flow, len(fss))
		for _, fs := range fss {
			fs.mu.Lock()
			d.detFlows[fs.name] = fs.flow
			fs.mu.Unlock()
		}
		d.det.Unlock()
		for _, fs := range fss {
			fs.mu.Lock()
			fs.anchor = NextDue(fs.location, fs.name, fs.flow.Interval, time.Time{}, now)
			fs.mu.Unlock()
		}
		if u, ok := d.alerter.(Unholder); ok {
			u.Unhold()
		}
		d.log.Warn("daemon started without its store: probing, alerting and serving on, results held (re-judged and stored once it answers); retrying",
			"err", err, "retry", storeRetry, "held_max", heldMax)
	} else {
		if len(closed) > 0 {
			w.SubmitEvents(closed...)
		}
		// Windows open when the process before us stopped and closed here
		// (a stop longer than twice the interval) are logged as closed: the
		// log of that process said they opened.
		for _, ev := range closed {
			d.logWindow(ev)
		}
		if len(held) > 0 {
			d.mu.RLock()
			flows := maps.Clone(d.flows)
			d.mu.RUnlock()
			evs, dropped := d.rejudge(w, held, nil, nil, flows, nil)
			// Then as at any start: a stop long enough since the last
			// held run ends what is open (state.Machine.Stale).
			for _, fs := range fss {
				fs.mu.Lock()
				for _, ev := range fs.machine.Stale(now) {
					fs.apply(d.m, ev)
					d.logWindow(ev)
					w.SubmitEvents(ev)
					evs = append(evs, ev)
				}
				fs.anchor = NextDue(fs.location, fs.name, fs.flow.Interval, fs.machine.LastRun(), now)
				fs.mu.Unlock()
			}
			closed = append(closed, evs...)
			d.m.dropped.Add(float64(dropped))
			d.dropped.Add(int64(dropped))
			d.log.Warn("stored the runs held at the last stop (started without its store), re-judged from the restored windows", "runs", len(held), "events", len(evs), "dropped", dropped)
			d.heldInWriter.Store(true) // the held file goes once they are committed (settleHeld)
		}
		d.reconcileAlerts(fss, closed)
	}
	s, err := newScheduler(d.cw, d.fire, d.grace)
	if err != nil {
		d.reloadMu.Unlock()
		if w != nil {
			_ = w.Close(context.WithoutCancel(ctx))
		}
		return fmt.Errorf("daemon: %w", err)
	}
	// Runs get their own context: shutdown lets them finish within the
	// grace period instead of cancelling them at once.
	runCtx, cancelRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRuns()
	d.mu.Lock()
	d.writer, d.sched, d.stopCtx, d.runCtx, d.started = w, s, ctx, runCtx, true
	d.mu.Unlock()
	d.lastActivity.Store(now.UnixNano())
	// A flow whose verdict was in question when the process before us
	// stopped (down or degraded, or failing or degraded short of
	// down_after) goes on confirming now, not at its next base slot. A
	// base slot of its grid that fell due while no process ran (after its
	// last run) is owed: the first run covers it, as a run re-run every
	// confirm_every covers the slots passed meanwhile, and the base slots
	// go on from it on the grid (not from the last run, a confirm run,
	// which put them off the grid and lost the owed slot's run).
	type resumed struct {
		fs         *flowState
		last, owed time.Time
	}
	var resume []resumed
	for _, fs := range fss {
		fs.mu.Lock()
		if every := fs.flow.ConfirmEvery; every > 0 && fs.machine.Confirming() {
			lastRun := fs.machine.LastRun()
			owed := OwedSlot(fs.location, fs.name, fs.flow.Interval, lastRun, now)
			if !owed.IsZero() {
				fs.anchor = owed.Add(fs.flow.Interval)
			}
			resume = append(resume, resumed{fs, maxTime(lastRun, now.Add(-every)), owed})
		}
		fs.mu.Unlock()
	}
	for _, fs := range fss {
		if err := d.schedule(fs); err != nil {
			d.log.Error("scheduling flow", "flow", fs.name, "err", err)
		}
	}
	s.Start()
	var bg sync.WaitGroup
	for _, r := range resume {
		bg.Go(func() {
			if r.fs.running.CompareAndSwap(false, true) {
				defer r.fs.running.Store(false)
				// No run before it in this process (ended zero): the
				// time from its due time to here is the prober's lag.
				d.confirm(r.fs, ctx, r.last, time.Time{}, time.Time{}, r.owed)
			}
		})
	}
	d.reloadMu.Unlock()
	d.log.Info("daemon started", "flows", len(fss), "location", d.location)

	if w == nil {
		bg.Go(func() { d.attachLoop(ctx, d.heldFrom, gone, opts) })
	} else if d.heldInWriter.Load() {
		bg.Go(func() { d.settleHeld(ctx, w) })
	}
	bg.Go(func() { d.pruneLoop(ctx) })
	bg.Go(func() { d.availabilityLoop(ctx) })

	<-ctx.Done()
	began := time.Now()
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	// 1. No run starts from here on: fire checks stopping (under d.mu)
	// before it counts a run in flight, and ctx, done now, wakes every run
	// still waiting out its jitter.
	d.mu.Lock()
	d.stopping = true
	d.mu.Unlock()
	d.log.Info("daemon stopping: no new runs; draining the runs in flight", "grace", d.grace)
	// 2. The scheduler stops (it waits for the jobs running, which the drain
	// below bounds).
	schedDone := make(chan error, 1)
	go func() { schedDone <- s.Shutdown() }()

	// 3. Runs in flight finish. The grace period bounds how long the process
	// takes to exit, so it is wall-clock time on purpose (a fake clock must
	// not hold shutdown).
	drained := make(chan struct{})
	go func() { d.inflight.Wait(); close(drained) }()
	t := time.NewTimer(d.grace)
	var cut string
	select {
	case <-drained:
	case <-t.C:
		cut = "grace period over"
	case <-d.hurried.Done():
		cut = "stop hurried"
	}
	if cut != "" {
		d.log.Warn(cut + ": cancelling in-flight runs")
		cancelRuns()
		select {
		case <-drained:
		case <-time.After(5 * time.Second):
			d.log.Error("in-flight runs did not stop after cancel")
		}
	}
	t.Stop()
	if err := <-schedDone; err != nil {
		d.log.Warn("scheduler shutdown", "err", err)
	}
	bg.Wait()
	// Live sessions end: their session_end teardown steps (a logout) run
	// once, bounded by the wall clock like the drain.
	ectx, cancelEnd := d.endContext(ctx)
	stopEnd := context.AfterFunc(d.hurried, cancelEnd)
	d.ending.Wait() // the sessions of runners a reload replaced (each bounded by sessionEndWait)
	d.endSessions(ectx)
	stopEnd()
	cancelEnd()
	d.closeIdle()
	d.warm.stop()
	// 4. Every result and state event is in the store.
	w = d.storeWriter() // set when the store came back after a start without it
	if w == nil {
		// Still without its store: the runs held go to the held file,
		// re-judged and stored at the next start that reaches it.
		d.det.Lock()
		held := d.held
		d.held = nil
		d.det.Unlock()
		if err := d.writeHeld(held, d.heldFrom); err != nil {
			return err
		}
		d.log.Info("daemon stopped: runs drained; the store was never reached", "took", time.Since(began).Round(time.Millisecond),
			"runs", d.processed.Load(), "held", len(held))
		return nil
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.closeWait)
	defer cancel()
	defer context.AfterFunc(d.hurried, cancel)()
	flushed := "results flushed"
	if err := w.Close(cctx); err != nil {
		// What the database did not take goes to the spool, stored at
		// the next start.
		if err := d.spool(w, err); err != nil {
			return err
		}
		flushed = "results spooled" // not stored: the spool's line says how many
	}
	// The held runs re-judged into the writer are stored, or in the spool.
	if d.heldInWriter.CompareAndSwap(true, false) {
		d.removeHeld()
	}
	// The counts let a benchmark check that every run was stored.
	d.log.Info("daemon stopped: runs drained, "+flushed, "took", time.Since(began).Round(time.Millisecond),
		"runs", d.processed.Load(), "committed", w.Stats().Committed)
	return nil
}

// Hurry cuts a shutdown short (a second SIGINT or SIGTERM): the runs in
// flight are cancelled rather than given the grace period, sessions end
// without their session_end steps (also those a reload replaced, whose
// logout may still be under way: retire), and what the store writer holds goes to
// the spool at once rather than after the writer's flush (up to 30 s of a
// database that is not answering), so that an operator who will not wait
// loses no measured run. Before Run's shutdown begins it only marks the
// shutdown to come as hurried.
func (d *Daemon) Hurry() { d.hurry() }

// registerWebhookMetrics exposes the webhook registry's counts as
// slaprobe_webhook_callbacks_total{result}.
func registerWebhookMetrics(reg prometheus.Registerer, hooks *probe.Webhooks) error {
	for _, r := range []struct {
		result string
		get    func(probe.WebhookStats) int64
	}{
		{"accepted", func(s probe.WebhookStats) int64 { return s.Accepted }},
		{"unmatched", func(s probe.WebhookStats) int64 { return s.Unmatched }},
		{"late", func(s probe.WebhookStats) int64 { return s.Late }},
		{"rejected", func(s probe.WebhookStats) int64 { return s.Rejected }},
	} {
		get := r.get
		c := prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "slaprobe_webhook_callbacks_total",
			Help:        "Webhook callbacks received: accepted for a running run, unmatched (no run, or unread when the run ended), late (the run had ended) or rejected (too large, too many).",
			ConstLabels: prometheus.Labels{"result": r.result},
		}, func() float64 { return float64(get(hooks.Stats())) })
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// reloadRestoreWait bounds the store reads of a reload that adds flows.
const reloadRestoreWait = 30 * time.Second

// sessionEndWait bounds the session_end teardown steps run at shutdown.
const sessionEndWait = 10 * time.Second

// sessionEnder is the part of *probe.Runner that ends live sessions.
type sessionEnder interface {
	EndSessions(ctx context.Context) []probe.Run
}

// sessionRetirer is the part of *probe.Runner a reload retires.
type sessionRetirer interface {
	sessionEnder
	Retire(next *probe.Runner)
}

// retire hands the live sessions of the runners a reload replaced over to
// next (the flows whose session did not change keep it) and ends the
// others in the background: their session_end teardown steps (a logout)
// run, bounded like at shutdown, which waits for them unless hurried
// (Hurry cuts them short as it does the live sessions' at shutdown).
func (d *Daemon) retire(replaced []sessionRetirer, next flowRunner) {
	nr, _ := next.(*probe.Runner)
	for _, rr := range replaced {
		rr.Retire(nr)
		d.ending.Go(func() {
			ctx, cancel := context.WithTimeoutCause(context.Background(), d.endWait,
				fmt.Errorf("a reload's %s for the session_end steps of the sessions it ended ran out", d.endWait))
			defer cancel()
			// A hurried stop does not wait for them either.
			defer context.AfterFunc(d.hurried, cancel)()
			d.logSessionEnds(rr.EndSessions(ctx))
		})
	}
}

// endContext bounds a stop's session_end steps by endWait, with a cause that
// a step cut short by it says ("logout: canceled: the stop's 10s for
// session_end steps ran out waiting for response headers from HOST:PORT"),
// where it read Go's "context deadline exceeded".
func (d *Daemon) endContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(context.WithoutCancel(ctx), d.endWait,
		fmt.Errorf("the stop's %s for session_end steps ran out", d.endWait))
}

// runners returns the flows' runners, each once.
func (d *Daemon) runners() []flowRunner {
	d.mu.RLock()
	defer d.mu.RUnlock()
	seen := map[flowRunner]bool{}
	var rs []flowRunner
	for _, fs := range d.flows {
		fs.mu.Lock()
		switch r := fs.runner; {
		case r == nil:
		case !reflect.TypeOf(r).Comparable(): // a test's func runner
			rs = append(rs, r)
		case !seen[r]:
			seen[r] = true
			rs = append(rs, r)
		}
		fs.mu.Unlock()
	}
	return rs
}

// closeIdle closes the runners' idle keep-alive connections to the targets
// (and with them their goroutines), once nothing runs any more.
func (d *Daemon) closeIdle() {
	for _, r := range d.runners() {
		if c, ok := r.(interface{ CloseIdle() }); ok {
			c.CloseIdle()
		}
	}
}

// endSessions runs the session_end teardown steps of every live session
// and logs the ones that failed (they count against nothing).
func (d *Daemon) endSessions(ctx context.Context) {
	for _, fr := range d.runners() {
		if r, ok := fr.(sessionEnder); ok {
			d.logSessionEnds(r.EndSessions(ctx))
		}
	}
}

// logSessionEnds logs the session_end teardown steps that failed; after a
// hurried stop (Hurry), which cuts them short, as a session left on the
// target: a Matrix login is a device on the account until it logs out.
func (d *Daemon) logSessionEnds(runs []probe.Run) {
	for _, run := range runs {
		for _, s := range run.Teardown {
			switch {
			case s.Status != probe.StatusFailed:
			case d.hurried.Err() != nil:
				d.log.Warn("stop hurried: session not ended, its session_end step cut short: the login stays on the target (a Matrix device on its account) until it expires or is removed",
					"flow", run.Flow, "step", s.Step, "error", s.Error)
			default:
				d.log.Warn("session end", "flow", run.Flow, "step", s.Step, "error", s.Error)
			}
		}
	}
}

// flowList returns the flows in a stable order. Called with d.mu held.
func (d *Daemon) flowList() []*flowState {
	out := make([]*flowState, 0, len(d.flows))
	for _, f := range flowsOf(d.cfg) {
		if fs := d.flows[f.Name]; fs != nil {
			out = append(out, fs)
		}
	}
	return out
}

// schedule adds the flow's job, first due at its anchor. Called with
// reloadMu held once the scheduler exists.
func (d *Daemon) schedule(fs *flowState) error {
	d.mu.RLock()
	s := d.sched
	d.mu.RUnlock()
	if s == nil {
		return nil
	}
	fs.mu.Lock()
	anchor, interval := fs.anchor, fs.flow.Interval
	fs.mu.Unlock()
	j, err := s.add(fs, anchor, interval)
	if err != nil {
		return err
	}
	fs.mu.Lock()
	fs.job = j
	fs.mu.Unlock()
	return nil
}

// unschedule removes the flow's job; a run in flight finishes.
func (d *Daemon) unschedule(fs *flowState) {
	d.mu.RLock()
	s := d.sched
	d.mu.RUnlock()
	fs.mu.Lock()
	j := fs.job
	fs.job = nil
	fs.mu.Unlock()
	if s != nil && j != nil {
		if err := s.remove(j); err != nil {
			d.log.Warn("removing job", "flow", fs.name, "err", err)
		}
	}
}

// fire is a flow's job: wait out the run's jitter, run the flow, and pass the
// result down the pipeline; then, while the flow's verdict is in question,
// re-run it every confirm_every (confirm).
func (d *Daemon) fire(fs *flowState) {
	// A flow never overlaps itself: a run still in flight when the next is
	// due makes that one skipped. While the flow is re-run every
	// confirm_every, its base slots are covered by those runs: not skipped,
	// not run.
	if !fs.running.CompareAndSwap(false, true) {
		if !fs.confirming.Load() {
			d.countSkip(fs.name)
		}
		return
	}
	defer fs.running.Store(false)
	d.mu.RLock()
	stop, live := d.stopCtx, d.started && !d.stopping
	d.mu.RUnlock()
	if !live {
		return
	}

	now := d.clock.Now()
	fs.mu.Lock()
	anchor, interval := fs.anchor, fs.flow.Interval
	fs.mu.Unlock()
	slot := DueAt(anchor, interval, now)
	due := slot.Add(d.jitter(fs.location, fs.name, interval, slot))
	if wait := due.Sub(now); wait > 0 {
		if err := d.clock.Sleep(stop, wait); err != nil {
			return
		}
	}
	start, ok := d.runOnce(fs, due, false)
	if ok {
		d.confirm(fs, stop, start, d.clock.Now(), slot, time.Time{})
	}
}

// runOnce runs the flow once now, unless shutdown has begun, and passes the
// result down the pipeline; confirm marks a confirm run (probe.Run.Confirm).
// It returns the run's start and whether it ran.
func (d *Daemon) runOnce(fs *flowState, due time.Time, confirm bool) (time.Time, bool) {
	ctx, ok := d.enter(fs)
	if !ok {
		return time.Time{}, false
	}
	defer d.inflight.Done()
	fs.mu.Lock()
	runner, f := fs.runner, fs.flow
	fs.mu.Unlock()

	start := d.clock.Now()
	d.lastActivity.Store(start.UnixNano())
	d.m.lag.Observe(max(0, start.Sub(due)).Seconds())
	// The run and the pipeline go deep: on a warm stack (see warmPool).
	ran := false
	d.warm.do(func() {
		run := runner.Run(ctx, f)
		if ctx.Err() != nil {
			// Cancelled by our own shutdown: the result measures us, not
			// the target, and must not count as a failure.
			d.log.Warn("run cancelled by shutdown; result discarded", "flow", fs.name)
			return
		}
		run.Interval = f.Interval // the stretch after it is judged by it, in the store too
		if confirm {
			run.Confirm = true
			d.m.confirmRuns.WithLabelValues(fs.name, fs.service, fs.location).Inc()
		}
		fs.retryAfter.Store(int64(run.RetryAfter))
		d.process(&run)
		d.lastActivity.Store(d.clock.Now().UnixNano())
		ran = true
	})
	return start, ran
}

// confirm is adaptive edge probing: while the flow's verdict is in question
// (a failed or degraded run while up, or down or degraded:
// state.Machine.Confirming) it runs the flow again confirm_every after the
// last run's start (at once if that run took longer), without jitter,
// until the verdict is settled; then the base schedule goes on. Nothing
// changes while nothing is in question. last is
// the start of the run that was just processed, ended its end (zero: no run
// before it in this process, as a restart's resumed confirming), slot the
// base slot (before jitter) it ran for (zero: none), owed a base slot that
// fell due while the daemon was stopped (zero: none; OwedSlot), which the
// first run covers: it is that slot's scheduled run.
//
// A last run that failed on a 429 or 503 asking for a longer wait
// (Retry-After, probe.Run.RetryAfter) gets it, up to the flow's next base
// slot: confirm runs every 10 s into a rate limit kept the limit on, and
// the probe measured an outage of its own making; the scheduled runs go on
// as they would without confirm runs (confirmDue).
//
// The base slots that pass meanwhile are not run (fire finds the flow
// running): each is covered by the first run at or after it (slot <= the
// run's start), which is recorded as that slot's scheduled run; the others
// are confirm runs (probe.Run.Confirm), left out of run counts. Replay
// decides the same way (replayFlow.covers).
//
// A confirm run due before ended (confirm_every after a run that hung to
// its timeout) starts when that run ends, and that wait is the target's,
// not schedule lag: its lag counts from ended. Without a run before it
// (ended zero) it counts from the due time, as a base run's does, so a
// restart's late start is lag.
func (d *Daemon) confirm(fs *flowState, stop context.Context, last, ended, slot, owed time.Time) {
	defer fs.confirming.Store(false)
	for {
		fs.mu.Lock()
		every := fs.flow.ConfirmEvery
		want := every > 0 && fs.machine.Confirming()
		anchor, interval := fs.anchor, fs.flow.Interval
		fs.mu.Unlock()
		d.mu.RLock()
		current := d.flows[fs.name] == fs
		d.mu.RUnlock()
		if !want || !current {
			return
		}
		fs.confirming.Store(true)
		next := DueAt(anchor, interval, last).Add(interval)
		due := confirmDue(last, every, time.Duration(fs.retryAfter.Load()), next)
		if wait := due.Sub(d.clock.Now()); wait > 0 {
			if err := d.clock.Sleep(stop, wait); err != nil {
				return
			}
			// A reload may have changed confirm_every (or turned it off)
			// or removed the flow meanwhile: decide again.
			continue
		}
		fs.mu.Lock()
		anchor, interval = fs.anchor, fs.flow.Interval
		fs.mu.Unlock()
		now := d.clock.Now()
		scheduled := false
		if s := DueAt(anchor, interval, now); !s.After(now) && s.After(slot) {
			scheduled, slot = true, s
		} else if !owed.IsZero() && !owed.After(now) && owed.After(slot) {
			scheduled, slot = true, owed
		}
		start, ok := d.runOnce(fs, maxTime(due, ended), !scheduled)
		if !ok {
			return
		}
		last, ended = start, d.clock.Now()
	}
}

// confirmDue is when a confirm run after a run that started at last is
// due: confirm_every (every) after it, or what the run's last answer asked
// (retryAfter, Retry-After) if longer, but never after next, the flow's
// next base slot, whose run goes on as scheduled. The live daemon (confirm)
// and replay (replayFlow.next) decide the same way.
func confirmDue(last time.Time, every, retryAfter time.Duration, next time.Time) time.Time {
	due := last.Add(every)
	if retryAfter > every {
		due = last.Add(retryAfter)
		if due.After(next) {
			due = maxTime(next, last.Add(every))
		}
	}
	return due
}

// enter counts a run of fs in flight and returns its context, unless
// shutdown has begun or a reload removed the flow (or moved it to another
// service) while the run waited for its time: then it returns false and the
// run must not start. The check and inflight.Add happen under d.mu, which
// Run takes to set stopping before it waits, and Reload to change the
// flows: every run Run waits for was counted before it began to wait, and
// no run of a flow starts once Reload has taken it out.
func (d *Daemon) enter(fs *flowState) (context.Context, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if !d.started || d.stopping || d.stopCtx.Err() != nil || d.flows[fs.name] != fs {
		return nil, false
	}
	d.inflight.Add(1)
	return d.runCtx, true
}

func (d *Daemon) countSkip(flow string) {
	d.mu.RLock()
	_, ok := d.flows[flow]
	d.mu.RUnlock()
	if ok {
		d.m.skipped.WithLabelValues(flow).Inc()
	}
}

// Reload applies a new, already validated config without a restart: flows
// that left lose their job, metric series and open windows (closed at the end
// of their last run's interval); new flows get a job and a machine (restored
// from the store); changed flows keep their machine: its verdict, open
// windows and failure streaks carry over, also when their functions or policy
// change (the windows of functions that left are closed). The new runner
// reuses the transports (and their warm connections) of the settings that
// did not change; it also takes over the live sessions of the flows whose
// session did not change, and the others are ended (their session_end
// teardown runs in the background, bounded; shutdown waits for it). The
// location cannot change; the settings that are read
// only at startup (RestartKeys) are logged with a warning when they changed,
// and keep their running values until a restart. A reload once the daemon
// is stopping returns ErrShuttingDown and leaves
// slaprobe_config_last_reload_successful as it was: no config was judged.
func (d *Daemon) Reload(cfg *config.Config) error {
	if err := d.reload(cfg); err != nil {
		if !errors.Is(err, ErrShuttingDown) {
			d.ReloadRejected()
		}
		return err
	}
	d.configLoaded()
	return nil
}

// ErrShuttingDown is Reload's error once the daemon is stopping (a SIGHUP
// that came with or after SIGTERM): the running config stays, and the
// reload says nothing about the config it was given.
var ErrShuttingDown = errors.New("daemon: reload: shutting down")

// Stopping is whether the daemon has begun to stop (no run starts any
// more): a reload asked now is ignored (Reloader) or refused with
// ErrShuttingDown (Reload).
func (d *Daemon) Stopping() bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.stopping
}

// ReloadRejected records, in slaprobe_config_last_reload_successful, a
// reload whose config did not load (Reload records its own outcome).
func (d *Daemon) ReloadRejected() { d.m.reloadOK.Set(0) }

// configLoaded records that the running config was loaded now.
func (d *Daemon) configLoaded() {
	d.m.reloadOK.Set(1)
	d.m.reloadTime.Set(float64(d.clock.Now().UnixNano()) / 1e9)
}

// refuses is what Reload refuses cfg for before it compiles anything: no
// config, a flow run faster than the floor, another location (which no
// reload changes). The Reloader asks it before it takes the turn, so that
// such a config ends no report build in the making.
func (d *Daemon) refuses(cfg *config.Config) error {
	if cfg == nil {
		return errors.New("daemon: reload: no config")
	}
	if err := checkIntervals(cfg); err != nil {
		return fmt.Errorf("daemon: reload: %w", err)
	}
	d.mu.RLock()
	loc := d.cfg.Location
	d.mu.RUnlock()
	if cfg.Location != loc {
		return fmt.Errorf("daemon: reload: location changed from %q to %q; restart to change it", loc, cfg.Location)
	}
	return nil
}

func (d *Daemon) reload(cfg *config.Config) error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	d.mu.RLock()
	old, prev, stopping, stopCtx := d.cfg, d.runner, d.stopping, d.stopCtx
	d.mu.RUnlock()
	if stopping {
		return ErrShuttingDown
	}
	if err := d.refuses(cfg); err != nil {
		return err
	}
	if stopCtx == nil {
		stopCtx = context.Background() // not running yet
	}
	runner, err := d.newRunner(cfg, prev)
	if err != nil {
		return fmt.Errorf("daemon: reload: %w", err)
	}
	if keys := RestartKeys(old, cfg); len(keys) > 0 {
		d.log.Warn("reload: these settings changed but take effect only after a restart; their running values stay",
			"keys", strings.Join(keys, ", "))
	}
	now := d.clock.Now()
	next := map[string]*config.Flow{}
	for _, f := range flowsOf(cfg) {
		next[f.Name] = f
	}
	if r, ok := runner.(*probe.Runner); ok {
		d.log.Info("reload: flows compiled", "compiled", len(next)-r.Reused(), "kept", r.Reused())
	}

	d.mu.Lock()
	var removed, added []*flowState
	var changed []*flowState
	var replaced []sessionRetirer // the runners this reload replaces (that keep sessions), once each
	for _, fs := range d.flows {
		fs.mu.Lock()
		// Only runners of comparable types keep sessions: comparing them
		// cannot panic.
		if r, ok := fs.runner.(sessionRetirer); ok && any(r) != any(runner) && !slices.Contains(replaced, r) {
			replaced = append(replaced, r)
		}
		fs.mu.Unlock()
	}
	for name, fs := range d.flows {
		nf, ok := next[name]
		if !ok || nf.Service != fs.service {
			removed = append(removed, fs)
			delete(d.flows, name)
			d.gone[name] = fs.running
			continue
		}
		changed = append(changed, fs)
	}
	for name, f := range next {
		if _, ok := d.flows[name]; !ok {
			fs := newFlowState(cfg.Location, f, runner)
			if running, ok := d.gone[name]; ok {
				// Back (or moved to another service) while a run of its
				// old self may be in flight: still one run at a time.
				fs.running = running
				delete(d.gone, name)
			}
			added = append(added, fs)
			d.flows[name] = fs
		}
	}
	for name, running := range d.gone {
		if !running.Load() {
			delete(d.gone, name) // its last run ended
		}
	}
	d.cfg, d.runner, d.maxInterval = cfg, runner, maxInterval(cfg)
	w := d.writer
	d.mu.Unlock()
	if d.retainTransports != nil {
		d.retainTransports(runner)
	}

	var evs []state.Event
	for _, fs := range removed {
		d.unschedule(fs)
		fs.mu.Lock()
		evs = append(evs, fs.closeAll(d.m, fs.flow.Interval, now, nil)...)
		fs.mu.Unlock()
		d.m.deleteFlow(fs.name)
		d.log.Info("reload: flow removed", "flow", fs.name)
	}
	d.markReload(removed, changed, added, next, now)
	same := probe.NewFlowComparer()
	for _, fs := range changed {
		e, resched := fs.update(d.m, next[fs.name], runner, now, same)
		evs = append(evs, e...)
		if resched {
			d.unschedule(fs)
			if err := d.schedule(fs); err != nil {
				d.log.Error("reload: rescheduling flow", "flow", fs.name, "err", err)
			}
		}
	}
	if len(added) > 0 {
		// Bounded, and ended by a shutdown, which waits for the reload:
		// a database that does not answer must hold neither.
		ctx, cancel := context.WithTimeout(stopCtx, reloadRestoreWait)
		closed, err := d.restore(ctx, added, now, nil, false)
		evs = append(evs, closed...)
		if err != nil {
			// Start them fresh rather than not at all.
			d.log.Warn("reload: restoring new flows", "err", err)
			for _, fs := range added {
				fs.mu.Lock()
				fs.anchor = NextDue(fs.location, fs.name, fs.flow.Interval, time.Time{}, now)
				fs.mu.Unlock()
			}
		}
		cancel()
		for _, fs := range added {
			if err := d.schedule(fs); err != nil {
				d.log.Error("reload: scheduling flow", "flow", fs.name, "err", err)
			}
			d.log.Info("reload: flow added", "flow", fs.name)
		}
	}
	d.retire(replaced, runner)
	d.setObjectives(old, cfg)
	if ma, ok := d.alerter.(MaintenanceAware); ok {
		ma.SetMaintenance(cfg.Maintenance)
	}
	if len(evs) > 0 {
		// Windows the reload closed (flows removed, functions gone, the
		// stretch a re-added flow was away) are logged as their runs'
		// would be: the log said they opened.
		for _, ev := range evs {
			d.logWindow(ev)
		}
		if w != nil {
			w.SubmitEvents(evs...)
		}
		if d.alerter != nil {
			d.alerter.Handle(evs)
		}
	}
	return nil
}

// restartKey is a setting read only when the process starts (by cmd, to
// open the store, the listener and the notifier), with how to read it.
type restartKey struct {
	name string
	get  func(c *config.Config) any
}

// restartKeys lists, by their YAML names, the settings a reload cannot
// apply. A section added to the config that is read only at startup belongs
// here, so that changing it on SIGHUP is reported rather than ignored.
var restartKeys = []restartKey{
	{"listen", func(c *config.Config) any { return c.Listen }},
	{"storage.driver", func(c *config.Config) any { return c.Storage.Driver }},
	{"storage.dsn", func(c *config.Config) any { return c.Storage.DSN }},
	{"alerting.alertmanager.urls", func(c *config.Config) any { return c.Alerting.AlertmanagerURLs }},
	{"alerting.alertmanager.resend", func(c *config.Config) any { return c.Alerting.Resend }},
	{"alerting.runbook_url", func(c *config.Config) any { return c.Alerting.RunbookURL }},
	{"alerting.severity.down", func(c *config.Config) any { return c.Alerting.SeverityDown }},
	{"alerting.severity.degraded", func(c *config.Config) any { return c.Alerting.SeverityDegraded }},
	{"status.listen", func(c *config.Config) any { return c.Status.Listen }},
	// The report publisher (reports:) is built at startup only when the
	// block is there, and the status page lists the archive it started
	// with. (Its cron schedule and time zone follow a reload.)
	{"reports", func(c *config.Config) any { return c.Reports.Enabled }},
	{"reports.archive", func(c *config.Config) any { return c.Reports.Archive }},
	{"webhooks.listen", func(c *config.Config) any { return c.Webhooks.Listen }},
	{"webhooks.public_url", func(c *config.Config) any { return c.Webhooks.PublicURL }},
	{"webhooks.max_body_bytes", func(c *config.Config) any { return c.Webhooks.MaxBodyBytes }},
}

// RestartKeys returns the settings (YAML key paths, never their values,
// which may hold credentials) that differ between old and next and that only
// a restart applies: listen, storage.driver and storage.dsn, every
// alerting key, status.listen, the reports block itself (added or removed),
// reports.archive, and the webhooks keys. (location is refused outright by
// Reload; storage.retention, timezone, policy, services, maintenance and the
// other reports keys, reports.schedule among them, apply on reload.)
func RestartKeys(old, next *config.Config) []string {
	var out []string
	for _, k := range restartKeys {
		if !reflect.DeepEqual(k.get(old), k.get(next)) {
			out = append(out, k.name)
		}
	}
	return out
}

// update moves a flow to its new config and the runner compiled from it
// (always both, together). It returns the events of windows it had to close
// and whether the job must be rescheduled (its interval changed).
func (fs *flowState) update(m *metrics, f *config.Flow, r flowRunner, now time.Time, same *probe.FlowComparer) ([]state.Event, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	old := fs.flow
	fs.flow, fs.runner = f, r
	if same.Same(old, f) { // source lines moved at most
		return nil, false
	}
	fs.stats = fs.stats.rebuild(stepNames(f))
	fns := f.Functions()
	var evs []state.Event
	if !fs.machine.HasFunctions(fns) || policyOf(old) != policyOf(f) {
		keep := func(fn string) bool { return fn == "" || slices.Contains(fns, fn) }
		// By the interval the last run had, as the re-judging of held
		// runs closes them (reconfigure): fs.flow is f already, and a
		// reload every 5 minutes to every minute 2 minutes after the
		// last run closed a removed function's window a minute after it.
		evs = fs.closeAll(m, old.Interval, now, keep)
		for fn := range fs.machine.Functions() {
			if !slices.Contains(fns, fn) {
				m.deleteFunction(fs.name, fn)
				delete(fs.acct, fn)
			}
		}
		// The machine is reconfigured in place: the flow's verdict (and
		// with it slaprobe_flow_up), the failure and success streaks and
		// the open windows of the functions that stay carry over.
		fs.machine.Reconfigure(fns, policyOf(f), now)
	}
	resched := f.Interval != old.Interval
	if resched {
		fs.anchor = NextDue(fs.location, fs.name, f.Interval, fs.machine.LastRun(), now)
	}
	return evs, resched
}

package alert

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/state"
)

const (
	defaultResend    = time.Minute
	sendTimeout      = 10 * time.Second
	flushTimeout     = 5 * time.Second
	backoffBase      = time.Second
	backoffMax       = time.Minute
	maxStateBytes    = 16 << 20
	tombstoneTTL     = 24 * time.Hour
	maxErrBodyBytes  = 512
	maxErrBodyRead   = 4 << 10 // read of an error answer, redacted before it is cut to maxErrBodyBytes
	stateFileVersion = 1
)

// Options configure a Notifier.
type Options struct {
	// URLs are the Alertmanager base URLs (http://host:9093); every alert
	// goes to each of them, as Prometheus does. At least one is required.
	URLs []string
	// Resend is how often an open alert is sent again (default 1m). A firing
	// alert carries endsAt = now + 4*Resend, so Alertmanager resolves it by
	// itself if the daemon stops sending.
	Resend time.Duration
	// RunbookURL becomes the runbook_url annotation; "{service}" is replaced
	// by the service name. Empty: no annotation.
	RunbookURL string
	// SeverityDown and SeverityDegraded are the severity labels (defaults
	// "page" and "ticket").
	SeverityDown, SeverityDegraded string
	// Location is used when a window carries none.
	Location string
	// Zone is the time zone of the times in descriptions (the config's
	// timezone; nil is UTC), so that an alert reads the same whatever the
	// host's TZ, and keeps its description across a restart (a window
	// restored from the store carries UTC times). SetZone changes it.
	Zone *time.Location
	// GeneratorURL, when set, is sent as every alert's generatorURL (for
	// example the daemon's /api/v1/status).
	GeneratorURL string
	// Client sends the requests (default: a client with a 10s timeout).
	Client *http.Client
	// Clock tells the time (default clock.Real). Run sleeps on it, so it
	// needs a clock whose Sleep waits; tests drive Tick instead.
	Clock clock.Clock
	// Logger receives send failures and drops (default: discard).
	Logger *slog.Logger
	// Redact, when set, removes secrets from what is shown of a URL (the
	// url label of the metrics, errors and logs) and from an
	// Alertmanager's error answers: the config's secrets, which a URL may
	// hold anywhere (a user name, a token in the path). A URL's password
	// is never shown in any case.
	Redact func(string) string
	// RedactMaxLen is the length of the longest form Redact replaces
	// (redact.Redactor.MaxLen); set it with Redact. An error answer longer
	// than the 4 KiB read loses that much of its redacted read's end, where
	// a secret the read cut shows its start, which Redact, seeing no whole
	// secret, keeps.
	RedactMaxLen int
	// Metrics, when set, gets slaprobe_alert_notifications_total{url,result}
	// and slaprobe_alerts_active.
	Metrics prometheus.Registerer
	// StatePath is a JSON file that keeps the alerts across restarts, so
	// that a pending resolve is not lost and a firing alert keeps its
	// startsAt. "" keeps them in memory only.
	StatePath string
	// LegacyStatePath is a state file shared by the probers of a directory
	// (LegacyStateFile, written by earlier versions): read while StatePath
	// does not exist yet, for the alerts of Location only.
	LegacyStatePath string
	// HoldUntilReconcile keeps the firing alerts the state file brings back
	// from being re-sent until Reconcile has said which of them are still
	// open (changes that Handle records meanwhile are sent as ever). The
	// daemon sets it: the notifier starts before the daemon has read its
	// open windows, and re-sending, firing, an alert whose window a long stop
	// ended paged again once Alertmanager had let it expire.
	HoldUntilReconcile bool
	// Maintenance is the config's maintenance: windows (SetMaintenance
	// changes them). A window detected while its service is in one is held:
	// not sent until the maintenance ends, and then only if it is still
	// open. An alert already sent keeps being re-sent.
	Maintenance config.MaintenancePlan
	// FleetAware sends no new alert until the first SetFleet says whether
	// this prober is alone on its store or in a fleet (the daemon sets it
	// and calls SetFleet from every rebuild of the month's figures): in a
	// fleet, this prober's own window may be below the quorum, and paging on
	// it at startup is what SetFleet is there to avoid. Closes are handled
	// meanwhile. Without it, the notifier is a prober alone's until
	// SetFleet says otherwise. A verdict that does not come (no build of
	// the figures succeeds) is not waited for past fleetWait: see lapse.
	FleetAware bool
}

// Alert is one alert as Alertmanager's v2 API takes it. EndsAt is zero while
// the alert fires (the notifier fills in now+4*Resend when it sends).
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Resolved reports whether the alert has ended.
func (a *Alert) Resolved() bool { return !a.EndsAt.IsZero() }

// entry is one alert and what each target still needs of it.
type entry struct {
	Alert
	fp      string               // label fingerprint
	rev     int                  // bumped on every change
	pending map[string]bool      // target id -> the current version is not delivered
	sentAt  map[string]time.Time // target id -> last successful send
	// doneAt is when a resolved alert reached every target. It is kept as a
	// tombstone for a day, so a replayed open of an ended window is ignored.
	doneAt time.Time
	// refused: target id -> the version (rev) that Alertmanager refused as
	// invalid (400, 422), and when; a resolve is not sent to it again until
	// the alert changes, a firing alert is tried again at the resend
	// interval. Kept in memory only: after a restart a firing alert is
	// tried once more; a refused resolve is not pending in the state file,
	// so it is not.
	refused map[string]refused
	// held: its window was detected while its service was in planned
	// maintenance; nothing is sent until that ends (see release). A held
	// alert is in no Alertmanager.
	held bool
	// lateUntil: a late page (pageLate), resolved here (EndsAt its
	// window's end) but sent firing, once, until then; its resolve goes
	// at lateUntil. Zero: not one, or its resolve is due already.
	lateUntil time.Time
}

// lateFiring reports whether e is a late page still sent firing.
func (e *entry) lateFiring() bool { return !e.lateUntil.IsZero() }

func (e *entry) id() string { return entryID(e.fp, e.StartsAt) }

// entryID identifies an alert: its labels' fingerprint and its startsAt.
func entryID(fp string, startsAt time.Time) string {
	return fp + "@" + startsAt.UTC().Format(time.RFC3339Nano)
}

// Notifier pushes alerts for downtime windows to Alertmanager. Handle takes
// state events without blocking; Run (or Tick, in tests) delivers them.
type Notifier struct {
	o       Options
	targets []*target
	wake    chan struct{}

	sending  sync.Mutex     // one round at a time; guards the targets' state
	inflight sync.WaitGroup // Run's sends

	mu      sync.Mutex
	entries map[string]*entry // by id
	dirty   bool              // state changed since the last save
	holding bool              // HoldUntilReconcile, until Reconcile runs

	// The fleet (see SetFleet): mode, this prober's own open windows, when
	// each that closed ended (until syncFleet takes it), and the verdict.
	mode    fleetMode
	own     map[ownKey]state.Window
	ownEnd  map[ownKey]time.Time
	verdict Fleet
	counted map[ownKey]bool // the verdict's open counted windows (syncFleet)
	// unjudged are this prober's own windows the verdict's figures cannot
	// judge yet, whose own page (the lapse's) is kept (syncFleetWith).
	unjudged map[ownKey]bool
	// verdictAt is when the last verdict that said anything came (the
	// notifier's start before the first), verdictGap the interval between
	// the last two, verdictNext when it said the next was due: see lapse.
	verdictAt   time.Time
	verdictGap  time.Duration
	verdictNext time.Duration // the last verdict's Next
	// lateFrom is when the notifier started: a counted window that ended
	// before it is not paged late (pageLate), nor one that ended more
	// than lateSlack before a verdict.
	lateFrom time.Time
	// lateDone are the counted windows pageLate judged (paged, or seen
	// open), with their ends: not judged again, forgotten lateSlack after.
	lateDone map[lateID]time.Time
	// lateWait are the counted windows pageLate left for a later verdict
	// as their end may move (state.Window.EndMayMove), with their ends:
	// judged when it settles, even past lateSlack (a flow's settling may
	// be longer) and after a restart (the state file keeps them),
	// forgotten a day after.
	lateWait map[lateID]time.Time
	// fleetChange, when set, is called (without n.mu) when, in a fleet,
	// this prober's own window opens or closes (SetFleetChange).
	fleetChange atomic.Pointer[func()]

	sent   *prometheus.CounterVec
	active prometheus.Gauge
	// verdictMode is slaprobe_alert_verdict: which verdict the push
	// follows (setMode).
	verdictMode *prometheus.GaugeVec
	// lapsed: the push follows this prober's own verdict because no
	// verdict came for verdictWait (lapse), until one with runs does.
	lapsed bool
	// saveFailures counts failed saves of the state file: alerts and
	// resolves it does not keep are lost or sent again by a restart.
	saveFailures prometheus.Counter

	zone  atomic.Pointer[time.Location]          // Options.Zone, or what SetZone set
	maint atomic.Pointer[config.MaintenancePlan] // Options.Maintenance, or what SetMaintenance set
}

// NewNotifier checks the options, loads the state file (if any) and
// registers the metrics.
func NewNotifier(o Options) (*Notifier, error) {
	if len(o.URLs) == 0 {
		return nil, errors.New("alert: no Alertmanager URL")
	}
	if o.Resend < 0 {
		return nil, fmt.Errorf("alert: resend interval %s is negative", o.Resend)
	}
	if o.Resend == 0 {
		o.Resend = defaultResend
	}
	if o.SeverityDown == "" {
		o.SeverityDown = "page"
	}
	if o.SeverityDegraded == "" {
		o.SeverityDegraded = "ticket"
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: sendTimeout}
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Redact == nil {
		o.Redact = func(s string) string { return s }
	}
	n := &Notifier{o: o, wake: make(chan struct{}, 1), entries: map[string]*entry{}, holding: o.HoldUntilReconcile,
		own: map[ownKey]state.Window{}, ownEnd: map[ownKey]time.Time{}, verdictAt: o.Clock.Now(), lateFrom: o.Clock.Now()}
	n.SetZone(o.Zone)
	n.maint.Store(&o.Maintenance)
	seen := map[string]bool{}
	for _, raw := range o.URLs {
		t, err := newTarget(raw, o.Redact)
		if err != nil {
			return nil, err
		}
		if seen[t.id] {
			return nil, fmt.Errorf("alert: Alertmanager URL %s given twice", t.label)
		}
		seen[t.id] = true
		n.targets = append(n.targets, t)
	}

	n.sent = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "slaprobe_alert_notifications_total",
		Help: "Rounds of sends to Alertmanager (one or more POSTs: a refused or too large batch is halved), by URL and result (ok; failed: a round that failed or in which an alert was refused).",
	}, []string{"url", "result"})
	n.active = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "slaprobe_alerts_active",
		Help: "Alerts the daemon currently holds firing.",
	})
	n.verdictMode = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "slaprobe_alert_verdict",
		Help: "Which verdict the Alertmanager push follows, 1 for the current mode: alone (this prober's own: no other location in the month's figures), fleet (the quorum's), waiting (before the first verdict: nothing new is sent), lapsed (this prober's own, because no verdict of the fleet came for 5 minutes or more).",
	}, []string{"mode"})
	n.saveFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "slaprobe_alert_state_save_failures_total",
		Help: "Failed saves of the alert state file (its directory read-only or gone, the disk full): a restart would lose or repeat what it did not keep.",
	})
	if o.FleetAware {
		n.setMode(modeUnknown, false)
	} else {
		n.setMode(modeAlone, false)
	}
	for _, t := range n.targets {
		n.sent.WithLabelValues(t.label, "ok")
		n.sent.WithLabelValues(t.label, "failed")
	}
	if o.Metrics != nil {
		for _, c := range []prometheus.Collector{n.sent, n.active, n.verdictMode, n.saveFailures} {
			if err := o.Metrics.Register(c); err != nil {
				return nil, fmt.Errorf("alert: register metrics: %w", err)
			}
		}
	}
	if err := n.load(); err != nil {
		return nil, err
	}
	n.updateActive()
	return n, nil
}

// SetZone sets the time zone of the times in descriptions (a reload of the
// config's timezone); nil is UTC. Alerts already firing take it when their
// window next changes.
func (n *Notifier) SetZone(loc *time.Location) {
	if loc == nil {
		loc = time.UTC
	}
	n.zone.Store(loc)
}

// SetMaintenance sets the planned maintenance windows (a reload of the
// config's maintenance:). Held alerts whose service is no longer in
// maintenance are sent at the next round, which it wakes.
func (n *Notifier) SetMaintenance(plan config.MaintenancePlan) {
	n.maint.Store(&plan)
	n.signal()
}

// maintenance returns the stretch of planned maintenance service is in at
// t, if any.
func (n *Notifier) maintenance(service string, t time.Time) (config.MaintenanceSpan, bool) {
	return n.maint.Load().Cover(service, t)
}

// holds reports whether a new alert for w is held: its service is in
// planned maintenance now and was when the window was detected (the end of
// its confirming run, state.Window.KnownAt, when the daemon pushes it: a run
// begun before the maintenance that hung into it sent nothing before; a
// window restored from the store after a restart without the state file
// was alerted if it was detected before the maintenance began, so it is
// sent again rather than held).
func (n *Notifier) holds(w state.Window, now time.Time) (config.MaintenanceSpan, bool) {
	sp, ok := n.maintenance(w.Service, now)
	if !ok {
		return sp, false
	}
	detected := w.KnownAt()
	if detected.IsZero() || detected.After(now) {
		detected = now
	}
	if _, ok := n.maintenance(w.Service, detected); !ok {
		return sp, false
	}
	return sp, true
}

// holdIn holds e, the alert of w, when w was detected in a planned
// maintenance of its service (holds), and logs it. n.mu held.
func (n *Notifier) holdIn(e *entry, w state.Window, now time.Time) {
	sp, ok := n.holds(w, now)
	if !ok {
		return
	}
	e.held = true
	n.o.Logger.Info("alert held: its service is in planned maintenance; sent when the maintenance ends if the window is still open",
		"alertname", e.Labels["alertname"], "service", w.Service, "flow", w.Flow, "function", w.Function,
		"starts_at", e.StartsAt, "maintenance_end", sp.End, "reason", strings.Join(sp.Reasons, "; "))
}

// Handle records state events; it never waits on the network. An opened
// down or degraded window becomes a firing alert whose startsAt is the
// backdated window start; a closed one resolves it with endsAt = the window
// end. A change of an open window's cause (state.OpCause) rewrites the
// alert's description and sends it again. Unknown windows are not alerted.
// Handling the same open event twice changes nothing.
//
// In a fleet (see SetFleet) the events only say which of this prober's own
// windows are open; what is pushed follows the fleet's verdict.
func (n *Notifier) Handle(evs []state.Event) {
	n.mu.Lock()
	mine := n.track(evs)
	changed := n.lapse(n.o.Clock.Now())
	fleet := n.mode == modeFleet
	switch n.mode {
	case modeFleet:
		changed = n.syncOwn(mine, n.o.Clock.Now()) || changed
	case modeUnknown:
		// Until the first verdict, nothing new is sent: this prober's own
		// window may be below a quorum. A close still resolves what fires.
		var closes []state.Event
		for _, ev := range evs {
			if ev.Op == state.OpClose {
				closes = append(closes, ev)
			}
		}
		changed = n.handleLocked(closes) || changed
	default:
		evs, dropped := n.lapsedEvents(evs)
		changed = n.handleLocked(evs) || dropped || changed
	}
	n.mu.Unlock()
	if changed {
		n.updateActive()
		n.signal()
	}
	if fleet {
		n.fleetChanged(evs)
	}
}

// handleLocked is Handle for a prober alone (n.mu held); it reports
// whether anything changed (the state is then dirty).
func (n *Notifier) handleLocked(evs []state.Event) bool {
	changed := false
	for _, ev := range evs {
		if ev.Window.Kind != state.KindDown && ev.Window.Kind != state.KindDegraded {
			continue
		}
		a := n.render(ev.Window)
		fp := fingerprint(a.Labels)
		firing := n.firing(fp)
		switch ev.Op {
		case state.OpOpen, state.OpCause:
			if firing != nil {
				// Already firing (a new cause, or a replayed open after a
				// restart): keep the first startsAt, so Alertmanager never
				// sees it move. The same window with another cause than the
				// alert shows sends the new description (and one with
				// other annotations, such as an alert kept from before
				// started_between, sends them).
				sameWindow := ev.Op == state.OpCause || firing.StartsAt.Equal(a.StartsAt)
				if sameWindow && !maps.Equal(firing.Annotations, a.Annotations) {
					firing.Annotations = a.Annotations
					n.touch(firing)
					changed = true
				}
				continue
			}
			e := &entry{Alert: a, fp: fp}
			if old, ok := n.entries[e.id()]; ok && old.Resolved() {
				continue // this very window was already resolved: a replayed open
			}
			n.holdIn(e, ev.Window, n.o.Clock.Now())
			n.touch(e)
			n.entries[e.id()] = e
			changed = true
		case state.OpClose:
			end := ev.Window.End
			if end.IsZero() {
				end = n.o.Clock.Now()
			}
			if firing == nil {
				// Not known (opened before the state was kept, or the state
				// was lost): send the resolve anyway; Alertmanager ignores a
				// resolve for an alert it never had.
				a.EndsAt = end
				e := &entry{Alert: a, fp: fp}
				if _, ok := n.entries[e.id()]; ok {
					continue
				}
				n.touch(e)
				n.entries[e.id()] = e
				changed = true
				continue
			}
			firing.EndsAt = end
			if !end.After(firing.StartsAt) {
				firing.EndsAt = firing.StartsAt.Add(time.Millisecond)
			}
			firing.Annotations = a.Annotations
			changed = true
			if firing.held {
				// Closed during the maintenance: never sent. Closed after it
				// ended, before the round that would have released it
				// (Alertmanager in backoff, or this close reached Handle
				// first): it was an outage outside the planned work, and is
				// sent as release would have (its record, resolved).
				if _, in := n.maintenance(firing.Labels["service"], firing.EndsAt.Add(-time.Nanosecond)); in {
					n.drop(firing, "its window closed during planned maintenance")
					continue
				}
				firing.held = false
				n.o.Logger.Info("held alert sent: its window was still open when planned maintenance ended", "alertname", firing.Labels["alertname"],
					"service", firing.Labels["service"], "flow", firing.Labels["flow"], "function", firing.Labels["function"], "starts_at", firing.StartsAt, "ends_at", firing.EndsAt)
			}
			n.touch(firing)
		}
	}
	if changed {
		n.dirty = true
	}
	return changed
}

// Reconcile makes the firing alerts those of open, the down and degraded
// windows open now; the daemon calls it at startup with the windows it
// restored from the store. A firing alert brought back by the state file
// whose window is not among them is resolved now: its window closed while
// no state was saved (a crash between the close event's commit and the
// save), its flow was removed from the config, or its labels changed with
// the config (another alerting.severity_down). Without this it was re-sent,
// firing, for as long as the daemon ran. A window of open without its alert
// gets one, as Handle would give it.
//
// A firing alert whose labels are those of an open window that started no
// later than it is the same outage, under way since before the alert
// said: it is dated from the window's start, not resolved. The daemon that
// started without its store judged the outage with a fresh machine, whose
// window (and alert) began at the restart; the store's window began
// before it and is still open: resolving the fresh alert and firing the
// store's, with the same labels, told Alertmanager the outage had ended
// and begun again.
func (n *Notifier) Reconcile(open []state.Window) {
	now := n.o.Clock.Now()
	want := map[string]bool{}
	since := map[string]time.Time{} // fingerprint -> the open window's start
	var opens []state.Event
	n.mu.Lock()
	fleet := n.mode != modeAlone
	n.mu.Unlock()
	for _, w := range open {
		if w.Kind != state.KindDown && w.Kind != state.KindDegraded {
			continue
		}
		a := n.render(w)
		want[entryID(fingerprint(a.Labels), a.StartsAt)] = true
		since[fingerprint(a.Labels)] = a.StartsAt
		if fleet {
			// In a fleet, or before the first verdict, the window may be
			// pushed below the quorum: that alert is its too.
			b := n.renderAs(w, n.belowQuorum())
			want[entryID(fingerprint(b.Labels), b.StartsAt)] = true
			since[fingerprint(b.Labels)] = b.StartsAt
		}
		opens = append(opens, state.Event{Op: state.OpOpen, Window: w})
	}
	var resolved []Alert
	var redated []*entry
	stale := 0
	n.mu.Lock()
	held := n.holding
	n.holding = false
	for id, e := range n.entries {
		if e.Resolved() || want[id] {
			continue
		}
		if s, ok := since[e.fp]; ok && !s.After(e.StartsAt) && !e.held {
			delete(n.entries, id)
			e.StartsAt = s
			redated = append(redated, e)
			continue
		}
		if (fleet || n.lapsed) && e.Labels["location"] == QuorumLocation {
			if held && n.endedInAM(e, now) {
				// The state file's, Alertmanager ended it while slaprobe
				// was stopped (as Unhold drops it): the verdict fires it
				// anew from the counted window's start if that is open.
				// Kept, it was sent again, firing from its old start,
				// until the first verdict: "down since" days back (the
				// whole fleet stopped), a new notification.
				delete(n.entries, id)
				n.dirty = true
				stale++
			}
			continue // the fleet's, not this prober's: its verdict says (syncFleet; lapsed: keptQuorum)
		}
		e.EndsAt = now
		if !now.After(e.StartsAt) {
			e.EndsAt = e.StartsAt.Add(time.Millisecond)
		}
		if e.held {
			n.drop(e, "no open window for it in the store at startup")
			continue
		}
		if d := e.Annotations["description"]; d != "" {
			e.Annotations["description"] = d + " (resolved when slaprobe restarted: it has no open window for it)"
		}
		n.touch(e)
		resolved = append(resolved, cloneAlert(e.Alert))
	}
	for _, e := range redated {
		n.touch(e)
		n.entries[e.id()] = e
	}
	n.dirty = n.dirty || len(resolved) > 0 || len(redated) > 0
	n.mu.Unlock()
	if stale > 0 {
		n.o.Logger.Info("alerts of the state file not sent again: Alertmanager ended them while slaprobe was stopped; the fleet's verdict fires them anew if the outage goes on",
			"alerts", stale)
	}
	for _, e := range redated {
		n.o.Logger.Info("alert dated from its window's start in the store: the same outage, under way since then", "alertname", e.Labels["alertname"],
			"flow", e.Labels["flow"], "function", e.Labels["function"], "severity", e.Labels["severity"], "starts_at", e.StartsAt)
	}
	for _, a := range resolved {
		n.o.Logger.Info("alert resolved at startup: no open window for it in the store", "alertname", a.Labels["alertname"],
			"flow", a.Labels["flow"], "function", a.Labels["function"], "severity", a.Labels["severity"], "starts_at", a.StartsAt)
	}
	n.Handle(opens)
	// In a fleet whose verdict came before this, the fleet's alerts are
	// due now (Handle syncs only on this prober's own windows).
	n.mu.Lock()
	synced := n.mode == modeFleet && n.syncFleet(now)
	n.mu.Unlock()
	if len(resolved) > 0 || len(redated) > 0 || held || synced { // held: the ones kept are due again
		n.updateActive()
		select {
		case n.wake <- struct{}{}:
		default:
		}
	}
}

// Unhold ends HoldUntilReconcile without resolving anything: the firing
// alerts the state file brought back are sent again as they were. The
// daemon calls it when it starts without its store, which it cannot read
// the open windows from: what was down at the stop is taken as down still
// (left held, Alertmanager would resolve it at its endsAt while the outage
// may go on), until the store answers and Reconcile resolves the alerts of
// the windows that closed meanwhile.
//
// An alert Alertmanager has ended already (every send of it, the last
// before the stop, is 4 x resend old: its endsAt passed) is not sent
// again: what the store says (Reconcile) or the fresh machine finding it
// down again fires it anew. Sent again, it paged for an outage nothing had
// measured since the stop, were that days ago.
func (n *Notifier) Unhold() {
	now := n.o.Clock.Now()
	n.mu.Lock()
	held := n.holding
	n.holding = false
	stale := 0
	if held {
		for id, e := range n.entries {
			if e.Resolved() || e.held {
				continue
			}
			if n.endedInAM(e, now) {
				delete(n.entries, id)
				n.dirty = true
				stale++
			}
		}
	}
	n.mu.Unlock()
	if stale > 0 {
		n.o.Logger.Info("alerts of the state file not sent again: Alertmanager ended them while slaprobe was stopped; the store or this prober's runs fire them anew if the outage goes on",
			"alerts", stale)
	}
	if held {
		n.updateActive()
		select {
		case n.wake <- struct{}{}:
		default:
		}
	}
}

// endedInAM reports whether Alertmanager has ended the firing alert e by
// now: every send of it (the last before a stop, for the state file's) is
// 4 x resend old, its endsAt passed. Never sent: not. n.mu held.
func (n *Notifier) endedInAM(e *entry, now time.Time) bool {
	var last time.Time
	for _, at := range e.sentAt {
		if at.After(last) {
			last = at
		}
	}
	return !last.IsZero() && !now.Before(last.Add(4*n.o.Resend))
}

// drop ends a held alert, which no Alertmanager has: it is resolved with
// nothing to send, and kept as a tombstone like a delivered resolve. n.mu
// held, e.EndsAt set.
func (n *Notifier) drop(e *entry, why string) {
	e.held = false
	e.rev++
	clear(e.pending)
	n.dirty = true
	n.o.Logger.Info("held alert not sent: "+why, "alertname", e.Labels["alertname"], "service", e.Labels["service"],
		"flow", e.Labels["flow"], "function", e.Labels["function"], "starts_at", e.StartsAt)
}

// release sends the held alerts whose service is out of planned
// maintenance at now (still firing: a closed one was dropped), and reports
// whether there were any. n.mu held. Not before Reconcile, with
// HoldUntilReconcile: a held alert the state file brought back may be of a
// window that closed while the prober was stopped (Reconcile drops it).
func (n *Notifier) release(now time.Time) bool {
	released := false
	if n.holding {
		return false
	}
	for _, e := range n.entries {
		if !e.held {
			continue
		}
		if _, ok := n.maintenance(e.Labels["service"], now); ok {
			continue
		}
		e.held = false
		n.touch(e)
		n.dirty, released = true, true
		n.o.Logger.Info("held alert sent: planned maintenance is over and its window is still open", "alertname", e.Labels["alertname"],
			"service", e.Labels["service"], "flow", e.Labels["flow"], "function", e.Labels["function"], "starts_at", e.StartsAt)
	}
	return released
}

// touch marks e as changed: every target needs it again.
func (n *Notifier) touch(e *entry) {
	e.rev++
	if e.pending == nil {
		e.pending = map[string]bool{}
	}
	for _, t := range n.targets {
		e.pending[t.id] = true
	}
}

// firing returns the firing entry with the fingerprint, if any. n.mu held.
func (n *Notifier) firing(fp string) *entry {
	for _, e := range n.entries {
		if e.fp == fp && !e.Resolved() {
			return e
		}
	}
	return nil
}

// Active returns the alerts firing now, oldest first (not the ones held
// for planned maintenance, which no Alertmanager has); a late page still
// sent firing (pageLate) is among them, with EndsAt its window's end.
func (n *Notifier) Active() []Alert {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []Alert
	for _, e := range n.sorted() {
		if (!e.Resolved() || e.lateFiring()) && !e.held {
			out = append(out, cloneAlert(e.Alert))
		}
	}
	return out
}

// sorted returns the entries by startsAt, then fingerprint: a resolve of an
// older alert goes before a new alert with the same labels. n.mu held.
func (n *Notifier) sorted() []*entry {
	out := make([]*entry, 0, len(n.entries))
	for _, e := range n.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartsAt.Equal(out[j].StartsAt) {
			return out[i].StartsAt.Before(out[j].StartsAt)
		}
		return out[i].fp < out[j].fp
	})
	return out
}

func (n *Notifier) updateActive() {
	n.mu.Lock()
	c := 0
	for _, e := range n.entries {
		if (!e.Resolved() || e.lateFiring()) && !e.held {
			c++
		}
	}
	n.mu.Unlock()
	n.active.Set(float64(c))
}

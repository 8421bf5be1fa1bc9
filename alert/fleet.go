package alert

import (
	"maps"
	"time"

	"github.com/slaprobe/slaprobe/state"
)

// QuorumLocation is the location label of a fleet's alerts: the windows
// the report counts after the location quorum, which every prober of the
// fleet reads alike from the store and pushes with the same labels, so
// that Alertmanager takes them for one alert. (A location of their own
// would make them one alert per prober.)
const QuorumLocation = "quorum"

// Fleet is the fleet's verdict, as the month's figures (the report's own
// accounting over the store) say it.
type Fleet struct {
	// Fleet: the figures hold runs from a location other than this
	// prober's (several probers share the store).
	Fleet bool
	// NoRuns: the figures hold no run yet (a month's first moments, a new
	// database; the status page says alone instead when the previous days
	// hold no other location): they say nothing of the fleet, and the notifier keeps
	// what it knew and pushed (before the first verdict: sends nothing
	// new), a window open across the month's start included. With Fleet
	// (the previous days' figures show other locations reporting), a
	// build that works even before the first verdict: a prober restarted
	// then waits for the fleet's verdict rather than lapsing to its own.
	NoRuns bool
	// Counted are the figures' counted windows (after the location
	// quorum): those open at their end (End zero) are pushed; a closed one
	// gives the endsAt of its alert. Location is the locations that saw
	// it, comma-separated (the description's; the label is
	// QuorumLocation).
	Counted []state.Window
	// Next is how long after this verdict the next is due (the wait until
	// the next rebuild of the figures and a build as long as this one's;
	// zero: not known). The notifier waits three times it for a verdict
	// before it lapses (verdictWait): at a large config the rebuilds come
	// 9 times the build's duration apart, rounded up to whole minutes and
	// aligned on the clock, further apart than fleetWait.
	Next time.Duration
	// Unknown are the figures' stretches in which no location reported a
	// flow (Kind state.KindUnknown, Function ""; End zero when one reaches
	// the figures' end): where every location's data ends. A counted
	// window closed at the start of one (the data stopped: PostgreSQL away,
	// the probers' held runs not stored yet) is not a recovery: see
	// syncFleetWith.
	Unknown []state.Window
}

// fleetMode is what the notifier knows of the fleet.
type fleetMode int

const (
	modeAlone   fleetMode = iota // a prober alone: its own verdict, pushed as it changes
	modeUnknown                  // FleetAware, before the first verdict: nothing new is sent
	modeFleet                    // the fleet's verdict (syncFleet)
)

// modeNames are the values of slaprobe_alert_verdict's mode label.
var modeNames = [...]string{"alone", "fleet", "waiting", "lapsed"}

// setMode makes m the notifier's mode, lapsed when a lapse made it
// (modeAlone only), and says so in slaprobe_alert_verdict: every mode has
// a series, 1 for the current one. n.mu held (or before the notifier is
// shared).
func (n *Notifier) setMode(m fleetMode, lapsed bool) {
	n.mode, n.lapsed = m, lapsed && m == modeAlone
	cur := "alone"
	switch {
	case n.lapsed:
		cur = "lapsed"
	case m == modeFleet:
		cur = "fleet"
	case m == modeUnknown:
		cur = "waiting"
	}
	for _, name := range modeNames {
		v := 0.0
		if name == cur {
			v = 1
		}
		n.verdictMode.WithLabelValues(name).Set(v)
	}
}

// ownKey identifies a window of this prober, as its alerts' labels do.
type ownKey struct {
	service, flow, function string
	kind                    state.Kind
}

func keyOf(w state.Window) ownKey {
	return ownKey{w.Service, w.Flow, w.Function, w.Kind}
}

// keyOfAlert is the key of the window an alert is of.
func keyOfAlert(a Alert) ownKey {
	k := ownKey{a.Labels["service"], a.Labels["flow"], a.Labels["function"], state.KindDown}
	if a.Labels["alertname"] == NameDegraded {
		k.kind = state.KindDegraded
	}
	return k
}

// belowQuorum is how a fleet shows this prober's own window that the
// quorum does not count: at the lower severity, at its location.
func (n *Notifier) belowQuorum() shown {
	return shown{severity: n.o.SeverityDegraded, note: "; below the quorum of locations: not counted (the quorum's alert pages if it is reached)"}
}

// countedShown is how a fleet shows a counted window.
var countedShown = shown{label: QuorumLocation, note: "; counted: the quorum of locations sees it"}

// track keeps this prober's own open down and degraded windows (n.mu
// held), and, in a fleet, when each that closed ended; it returns the keys
// of those evs held.
func (n *Notifier) track(evs []state.Event) []ownKey {
	var seen []ownKey
	for _, ev := range evs {
		w := ev.Window
		if w.Kind != state.KindDown && w.Kind != state.KindDegraded {
			continue
		}
		k := keyOf(w)
		seen = append(seen, k)
		switch ev.Op {
		case state.OpOpen, state.OpCause:
			n.own[k] = w
			delete(n.ownEnd, k)
		case state.OpClose:
			if cur, on := n.own[k]; on && w.Start.Before(cur.Start) {
				// An earlier window of the key closing (the restore's,
				// closed at a restart's gap, handed at the attach after
				// the fresh machine's window opened): the one open goes on.
				continue
			}
			delete(n.own, k)
			if n.mode == modeFleet {
				end := w.End
				if end.IsZero() {
					end = n.o.Clock.Now()
				}
				n.ownEnd[k] = end
			}
		}
	}
	return seen
}

// SetFleet takes the fleet's verdict; the daemon calls it with every
// rebuild of the month's figures. Alone, the notifier pushes this prober's
// own windows as they open and close (Handle), as ever. In a fleet it
// pushes:
//
//   - each counted window open at the figures' end (the quorum of
//     locations down at once, as the report, windows and the rules count
//     it) at its kind's severity (severity.down: page), labelled
//     location=QuorumLocation, startsAt the counted window's start; it is
//     resolved, endsAt the window's end, when the figures show it closed;
//   - each of this prober's own windows that no open counted window covers
//     (below the quorum: shown, not counted) at severity.degraded (ticket),
//     labelled with its location, resolved when it closes or when the
//     quorum's alert replaces it.
//
// Whatever it pushed that is neither is resolved (a switch from alone to a
// fleet resolves this prober's own pages). A change of the fleet reaches
// Alertmanager with the next verdict: the period of the figures' rebuild.
func (n *Notifier) SetFleet(f Fleet) {
	now := n.o.Clock.Now()
	if f.NoRuns {
		// Says nothing: a window open across the month's start stays. In a
		// fleet, or one the previous days showed (f.Fleet: a prober
		// restarted in the month's first moments), a build that works
		// (lapse waits no longer); before the first verdict not otherwise
		// (a prober alone whose runs are not stored is not held silent).
		n.mu.Lock()
		if n.mode == modeFleet || f.Fleet {
			n.verdictAt, n.verdictNext = now, f.Next
		}
		n.mu.Unlock()
		return
	}
	// The quorum's alerts are rendered before the lock is taken (they
	// need none): the bulk of a verdict's cost, which the runs' window
	// events (Handle) would wait for.
	var pre *quorumAlerts
	if f.Fleet {
		pre = n.renderCounted(f.Counted, f.Unknown)
	}
	n.mu.Lock()
	if gap := now.Sub(n.verdictAt); gap < n.verdictWait() {
		n.verdictGap = gap // not the end of a lapse: the builds' period
	}
	n.verdictAt, n.verdictNext = now, f.Next
	prev := n.mode
	n.verdict = f
	changed := false
	switch {
	case f.Fleet:
		n.setMode(modeFleet, false)
		if prev != modeFleet {
			n.o.Logger.Info("alerts follow the fleet's quorum: the store holds runs from other locations; this prober's own windows below the quorum are pushed at severity " + n.o.SeverityDegraded)
		}
		changed = n.syncFleetWith(pre, now)
	case prev == modeFleet:
		n.setMode(modeAlone, false)
		n.o.Logger.Info("alerts follow this prober's own verdict: the store holds no runs from other locations this month")
		changed = n.syncAlone(now)
	case prev == modeUnknown:
		n.setMode(modeAlone, false)
		changed = n.becomeAlone(now)
	default:
		wasLapsed := n.lapsed
		n.setMode(modeAlone, false) // alone, or back from a lapse
		if wasLapsed {
			// The quorum's pages the lapse kept are resolved, this
			// prober's own pages fire for them.
			changed = n.syncAlone(now)
		}
	}
	n.mu.Unlock()
	if changed {
		n.updateActive()
		n.signal()
	}
}

// fleetWait is how long a fleet-aware notifier goes without a verdict
// (since it started, or since the last verdict that said anything) before
// it pushes this prober's own verdict (lapse); longer when the verdicts
// come further apart (verdictWait).
const fleetWait = 5 * time.Minute

// verdictWait is how long no verdict may come: fleetWait, or three times
// the interval between the last two verdicts or the one the last verdict
// said the next was due in (Fleet.Next: a large config's rebuild period, 9
// times its build's duration, rounded up to whole minutes and aligned on
// the clock), whichever is longer. The interval alone was learnt only when
// shorter than the wait, so rebuilds every 7 minutes lapsed 5 minutes
// after each verdict. n.mu held.
func (n *Notifier) verdictWait() time.Duration {
	return max(fleetWait, 3*n.verdictGap, 3*n.verdictNext)
}

// lapse makes the notifier a prober alone's, pushing this prober's own
// verdict, when no verdict came for verdictWait (n.mu held); it reports
// whether anything changed. A verdict comes from a good build of the
// month's figures only: with the store unreachable or locked, or builds
// failing, timing out or hanging, a prober alone would otherwise never
// send anything new (before the first verdict), and a fleet would keep
// its last verdict for as long as the builds fail, this prober's own
// windows pushed at ticket while the platform may be down everywhere
// (the shared database unreachable is when pages matter). Its own page
// then, from one location, rather than no page; the quorum's pages are
// no longer sent (nothing here says they go on; other probers may), not
// resolved, but for one of a window this prober's own window of the same
// key says goes on, which it keeps sending (keptQuorum, lapsedEvents).
// The next verdict that comes rules again (SetFleet).
func (n *Notifier) lapse(now time.Time) bool {
	if n.mode == modeAlone || now.Sub(n.verdictAt) < n.verdictWait() {
		return false
	}
	prev := n.mode
	n.setMode(modeAlone, true)
	// The quorum's alerts are no longer sent, and not resolved either:
	// other probers that read the store may push them still, and
	// Alertmanager takes the younger update, so a resolve from here ended
	// a page they fired (and it fired again at their next resend, a new
	// notification). They end at their endsAt (4 x resend) if no prober
	// pushes them; the verdict back sends them again from the counted
	// window's start.
	// A page of a window this prober's own measurement says goes on (its
	// own window of the same flow or function open) it keeps sending, and
	// pages nothing of its own for it (keptQuorum): the whole fleet lapses
	// when the shared database goes, so nothing sent the page any more,
	// Alertmanager ended it at its endsAt while the platform was still
	// down, each prober paged from its own location and the verdict back
	// fired the quorum's page again. Before a first verdict (prev
	// modeUnknown) the pages it knows are the state file's: a prober
	// restarted while the shared database is down (started without its
	// store) keeps the page it was sending when its fresh machine finds
	// the window down again, rather than paging from its own location
	// from the restart.
	dropped := false
	for id, e := range n.entries {
		if e.Resolved() || e.Labels["location"] != QuorumLocation {
			continue
		}
		if _, on := n.own[keyOfAlert(e.Alert)]; on {
			continue
		}
		delete(n.entries, id)
		n.dirty, dropped = true, true
	}
	n.o.Logger.Warn("no verdict of the fleet: no build of the month's figures succeeded (store unreachable, builds failing or too slow?); alerts follow this prober's own verdict until one does",
		"last_verdict", n.verdictAt, "waited", now.Sub(n.verdictAt).Round(time.Second))
	if prev == modeFleet {
		return n.syncAlone(now) || dropped
	}
	return n.becomeAlone(now) || dropped
}

// becomeAlone pushes this prober's own verdict once the notifier, which
// had no verdict yet, is a prober alone's (n.mu held): its own windows are
// opened as a prober alone opens them, and what else fires is resolved:
// the fleet's alerts the state file brought back, which Reconcile left to
// the first verdict (the quorum's page, this prober's ticket below the
// quorum), would otherwise be sent for ever. Not before Reconcile, which
// does both.
func (n *Notifier) becomeAlone(now time.Time) bool {
	if n.holding {
		return false
	}
	// Lapsed: no own page for a window whose quorum's page it keeps.
	opens, _ := n.lapsedEvents(n.ownOpens())
	changed := n.handleLocked(opens)
	return n.syncAlone(now) || changed
}

// ownOpens are open events of this prober's own open windows. n.mu held.
func (n *Notifier) ownOpens() []state.Event {
	evs := make([]state.Event, 0, len(n.own))
	for _, w := range n.own {
		evs = append(evs, state.Event{Op: state.OpOpen, Window: w})
	}
	return evs
}

// wanted is an alert that should fire, and its window.
type wanted struct {
	a Alert
	w state.Window
}

// quorumAlerts are a verdict's counted windows as the notifier pushes
// them: the open ones' alerts by fingerprint, their keys, and the closed
// ones' ends by key.
type quorumAlerts struct {
	alerts  map[string]wanted
	counted map[ownKey]bool
	ended   map[ownKey][]time.Time
	// starts are the starts of the counted windows, open or closed, by key;
	// unknown the stretches no location reported, by service and flow.
	starts  map[ownKey][]time.Time
	unknown map[[2]string][]state.Window
	// of are the verdict's counted windows q was rendered from (pageLate
	// reads its closed ones).
	of []state.Window
}

// renderCounted renders counted's windows (no lock needed: it reads the
// options and the zone only); unknown is the verdict's Unknown.
func (n *Notifier) renderCounted(counted, unknown []state.Window) *quorumAlerts {
	q := &quorumAlerts{alerts: map[string]wanted{}, counted: map[ownKey]bool{}, ended: map[ownKey][]time.Time{},
		starts: map[ownKey][]time.Time{}, unknown: map[[2]string][]state.Window{}, of: counted}
	for _, u := range unknown {
		k := [2]string{u.Service, u.Flow}
		q.unknown[k] = append(q.unknown[k], u)
	}
	for _, w := range counted {
		if _, gaps := q.unknown[[2]string{w.Service, w.Flow}]; gaps {
			q.starts[keyOf(w)] = append(q.starts[keyOf(w)], w.Start) // for unmeasured only
		}
		if !w.End.IsZero() {
			q.ended[keyOf(w)] = append(q.ended[keyOf(w)], w.End)
			continue
		}
		if w.Kind != state.KindDown && w.Kind != state.KindDegraded {
			continue
		}
		a := n.renderAs(w, countedShown)
		q.alerts[fingerprint(a.Labels)] = wanted{a, w}
		q.counted[keyOf(w)] = true
	}
	return q
}

// unmeasured reports whether the figures measured nothing of k's outage
// up since p (a page's startsAt): some counted window of k closed after
// p, and every one that did closed where every location's data ends (an
// unknown stretch of its flow begins there, no location reporting it)
// with that stretch reaching the figures' end (unknown as yet, as a window
// still open is) or ending where a counted window of k begins (the data
// resumed, and down: a prober's restart during the database's outage, its
// held runs stored before the others'). A window that closed where a
// location measured it up, or that the quorum left while locations
// reported, is a recovery. A page Alertmanager ended while the prober was
// stopped (the whole fleet stopped for days, a new outage found at the
// start) is not carried on so: the start drops it (Reconcile, Unhold).
func (q *quorumAlerts) unmeasured(k ownKey, p time.Time) bool {
	found := false
	for _, t := range q.ended[k] {
		if !t.After(p) {
			continue
		}
		found = true
		var gap *state.Window
		for i, u := range q.unknown[[2]string{k.service, k.flow}] {
			if !u.Start.After(t) && (u.End.IsZero() || t.Before(u.End)) {
				gap = &q.unknown[[2]string{k.service, k.flow}][i]
				break
			}
		}
		if gap == nil {
			return false
		}
		if gap.End.IsZero() {
			continue
		}
		resumed := false
		for _, s := range q.starts[k] {
			if !s.Before(t) && !s.After(gap.End) {
				resumed = true
				break
			}
		}
		if !resumed {
			return false
		}
	}
	return found
}

// unjudged reports whether this prober's own window w began where every
// location's data ends in the figures: in an unknown stretch of its flow
// open at their end.
func (q *quorumAlerts) unjudged(w state.Window) bool {
	for _, u := range q.unknown[[2]string{w.Service, w.Flow}] {
		if u.End.IsZero() && !w.Start.Before(u.Start) {
			return true
		}
	}
	return false
}

// fires reports whether a, as rendered, fires (the same labels and
// startsAt). n.mu held.
func (n *Notifier) fires(a Alert) bool {
	e, ok := n.entries[entryID(fingerprint(a.Labels), a.StartsAt)]
	return ok && !e.Resolved()
}

// syncFleet makes the firing alerts the fleet's (see SetFleet). n.mu
// held; not before Reconcile (HoldUntilReconcile), which calls it.
func (n *Notifier) syncFleet(now time.Time) bool {
	if n.holding {
		return false
	}
	return n.syncFleetWith(n.renderCounted(n.verdict.Counted, n.verdict.Unknown), now)
}

// syncFleetWith is syncFleet with the verdict's alerts rendered (q, of
// n.verdict). n.mu held.
func (n *Notifier) syncFleetWith(q *quorumAlerts, now time.Time) bool {
	if n.holding {
		return false
	}
	desired := make(map[string]wanted, len(q.alerts)+len(n.own))
	for fp, d := range q.alerts {
		desired[fp] = d
	}
	counted, ended := q.counted, q.ended
	// A quorum's page firing whose counted window the figures show closed
	// only where every location's data ends, nothing measured up since
	// (unmeasured), is kept as it is: not resolved, not dated anew, and
	// this prober's own window of its key is not pushed below the quorum
	// beside it. The data ends there because the shared database was
	// away, not because the platform came back: the probers' held runs
	// reach it at their next retry, and the figures then say whether the
	// outage went on (the counted window joins up again) or ended (it
	// closes where the runs measured it up, which resolves the page).
	// Before, the first prober back built its verdict from figures in
	// which every location's data ended at the database's stop, resolved
	// the page there, and the next verdict fired it again.
	kept := map[string]bool{}
	for _, e := range n.entries {
		if e.Resolved() || e.Labels["location"] != QuorumLocation {
			continue
		}
		k := keyOfAlert(e.Alert)
		if !q.unmeasured(k, e.StartsAt) {
			continue
		}
		kept[e.fp] = true
		d := desired[e.fp]
		d.a = e.Alert
		desired[e.fp] = d
		counted[k] = true
	}
	n.counted = counted
	// This prober's own window that began where every location's data
	// ends in the figures (an unknown stretch of its flow open at their
	// end: the database away, the held runs not stored yet) is nothing
	// the figures can count or leave below the quorum: the page it has
	// from the lapse (paged from this location while no verdict came) is
	// kept as it is until they can. Before, the first verdict back
	// resolved that page and ticketed the window below the quorum, and
	// the next, the held runs stored, paged it from the quorum: a
	// resolve, a ticket and a page for one outage that went on.
	n.unjudged = nil
	for k, w := range n.own {
		if counted[k] {
			continue
		}
		if q.unjudged(w) {
			if a := n.render(w); n.fires(a) {
				desired[fingerprint(a.Labels)] = wanted{a, w}
				if n.unjudged == nil {
					n.unjudged = map[ownKey]bool{}
				}
				n.unjudged[k] = true
				continue
			}
		}
		a := n.renderAs(w, n.belowQuorum())
		desired[fingerprint(a.Labels)] = wanted{a, w}
	}
	// A quorum's page firing whose outage the verdict says ended (a
	// counted window of its key closed after the page began and no later
	// than the open one's start) is not the open window's page, though its
	// labels are: it is resolved at that end and the open window pages
	// from its own start. Only a page the verdicts did not see close does
	// so: the state file's, of an outage that ended, and another began,
	// while the prober was stopped (before, the new outage was paged as
	// the old one, from its start days before).
	resolved := false
	for _, e := range n.entries {
		if e.Resolved() || e.Labels["location"] != QuorumLocation || kept[e.fp] {
			continue
		}
		d, ok := desired[e.fp]
		if !ok || !d.w.Start.After(e.StartsAt) {
			continue
		}
		var end time.Time
		for _, t := range ended[keyOfAlert(e.Alert)] {
			if t.After(e.StartsAt) && !t.After(d.w.Start) && t.After(end) {
				end = t
			}
		}
		if !end.IsZero() {
			n.resolveFiring(e, end)
			resolved = true
		}
	}
	var ending map[ownKey][]*entry // the quorum's alerts resolved here (pageLate)
	changed := n.syncTo(desired, now, func(e *entry) time.Time {
		k := keyOfAlert(e.Alert)
		if e.Labels["location"] != QuorumLocation {
			return n.ownEndOf(k, now)
		}
		if ending == nil {
			ending = map[ownKey][]*entry{}
		}
		ending[k] = append(ending[k], e)
		// Looked up by key: scanning every counted window for each alert
		// resolved took minutes at the end of a large outage (n.mu held).
		var end time.Time
		for _, t := range ended[k] {
			if t.After(e.StartsAt) && t.After(end) {
				end = t
			}
		}
		if end.IsZero() || end.After(now) {
			end = now
		}
		return end
	})
	clear(n.ownEnd)
	late := n.pageLate(q, ending, now)
	return changed || resolved || late
}

// ownEndOf is the endsAt of this prober's own alert of k, no longer
// desired: its window's end when it closed, else now (replaced by the
// quorum's alert, or the mode changed). n.mu held.
func (n *Notifier) ownEndOf(k ownKey, now time.Time) time.Time {
	if end, ok := n.ownEnd[k]; ok {
		return end
	}
	return now
}

// syncOwn is syncFleet for this prober's own windows of keys alone, whose
// events came (Handle): the verdict did not change, so neither did the
// quorum's alerts. Rendering every alert of the verdict again at each
// run's events, as syncFleet does, cost the run path 2.6 ms a Handle at
// 1,000 flows down (0.08 ms alone), linear in the flows: at 50,000 some
// 150 ms each, for each of the 50,000 flows' events as an outage begins
// and ends. n.mu held.
func (n *Notifier) syncOwn(keys []ownKey, now time.Time) bool {
	if n.holding || len(keys) == 0 {
		return false
	}
	desired := map[string]wanted{}
	scope := map[string]ownKey{} // the fingerprints of keys' own alerts
	for _, k := range keys {
		w, open := n.own[k]
		if !open {
			w = state.Window{Key: state.Key{Service: k.service, Flow: k.flow, Function: k.function}, Kind: k.kind}
		}
		a := n.renderAs(w, n.belowQuorum())
		fp := fingerprint(a.Labels)
		scope[fp] = k
		if n.unjudged[k] {
			// Its page kept (syncFleetWith): its cause and close.
			p := n.render(w)
			pfp := fingerprint(p.Labels)
			scope[pfp] = k
			if open {
				desired[pfp] = wanted{p, w}
			} else {
				delete(n.unjudged, k)
			}
			continue
		}
		if open && !n.counted[k] {
			desired[fp] = wanted{a, w}
		}
	}
	firing := map[string]*entry{}
	for _, e := range n.entries {
		if _, ok := scope[e.fp]; ok && !e.Resolved() {
			firing[e.fp] = e
		}
	}
	changed := n.syncIn(firing, desired, now, func(e *entry) time.Time { return n.ownEndOf(scope[e.fp], now) })
	for _, k := range keys {
		delete(n.ownEnd, k)
	}
	return changed
}

// syncAlone makes the firing alerts this prober's own, as a prober alone
// pushes them (a fleet whose other locations left the month's figures).
// n.mu held.
func (n *Notifier) syncAlone(now time.Time) bool {
	if n.holding {
		return false
	}
	desired := map[string]wanted{}
	kept := n.keptQuorum()
	for k, w := range n.own {
		if e := kept[k]; e != nil {
			desired[e.fp] = wanted{e.Alert, w}
			continue
		}
		a := n.render(w)
		desired[fingerprint(a.Labels)] = wanted{a, w}
	}
	return n.syncTo(desired, now, func(*entry) time.Time { return now })
}

// keptQuorum are the quorum's alerts a lapsed notifier keeps sending (see
// lapse), by the key of their window: firing, and this prober's own window
// of the key open. Nothing but while lapsed. n.mu held.
func (n *Notifier) keptQuorum() map[ownKey]*entry {
	if !n.lapsed {
		return nil
	}
	var kept map[ownKey]*entry
	for _, e := range n.entries {
		if e.Resolved() || e.Labels["location"] != QuorumLocation {
			continue
		}
		k := keyOfAlert(e.Alert)
		if _, on := n.own[k]; !on {
			continue
		}
		if kept == nil {
			kept = map[ownKey]*entry{}
		}
		kept[k] = e
	}
	return kept
}

// lapsedEvents are evs as a lapsed notifier pushes them (n.mu held, after
// track): an event of a window whose quorum's page it keeps sends no alert
// of this prober's own, and that window's close stops sending the page,
// not resolved (others may push it still: see lapse).
func (n *Notifier) lapsedEvents(evs []state.Event) ([]state.Event, bool) {
	if !n.lapsed {
		return evs, false
	}
	// The quorum's pages firing, by the key of their window: looked up
	// once per event, not searched for (a whole platform recovering at
	// once is thousands of events against thousands of pages).
	pages := map[ownKey]*entry{}
	for _, e := range n.entries {
		if !e.Resolved() && e.Labels["location"] == QuorumLocation {
			pages[keyOfAlert(e.Alert)] = e
		}
	}
	dropped := false
	out := evs[:0:0]
	for _, ev := range evs {
		k := keyOf(ev.Window)
		page := pages[k]
		if page == nil {
			out = append(out, ev)
			continue
		}
		if _, on := n.own[k]; !on {
			delete(n.entries, page.id())
			delete(pages, k)
			n.dirty, dropped = true, true
		}
	}
	return out, dropped
}

// syncTo resolves the firing alerts not in desired (endsAt endOf's) and
// fires those of desired not firing; one firing takes desired's
// annotations (its description, started_between). A desired alert whose
// very version (labels, startsAt) was resolved before (the quorum's alert
// replaced this prober's, and ended while this prober's window goes on)
// starts when that one ended. n.mu held.
func (n *Notifier) syncTo(desired map[string]wanted, now time.Time, endOf func(*entry) time.Time) bool {
	firing := map[string]*entry{}
	for _, e := range n.entries {
		if !e.Resolved() {
			firing[e.fp] = e
		}
	}
	return n.syncIn(firing, desired, now, endOf)
}

// syncIn is syncTo over the firing alerts firing (by fingerprint). n.mu
// held.
func (n *Notifier) syncIn(firing map[string]*entry, desired map[string]wanted, now time.Time, endOf func(*entry) time.Time) bool {
	changed := false
	for fp, e := range firing {
		if _, ok := desired[fp]; ok {
			continue
		}
		n.resolveFiring(e, endOf(e))
		changed = true
	}
	for fp, d := range desired {
		if e := firing[fp]; e != nil {
			if !maps.Equal(e.Annotations, d.a.Annotations) {
				e.Annotations = d.a.Annotations
				n.touch(e)
				changed = true
			}
			continue
		}
		a := d.a
		for {
			old, ok := n.entries[entryID(fp, a.StartsAt)]
			if !ok || !old.Resolved() {
				break
			}
			a.StartsAt = old.EndsAt
		}
		e := &entry{Alert: a, fp: fp}
		n.holdIn(e, d.w, now)
		n.touch(e)
		n.entries[e.id()] = e
		changed = true
	}
	if changed {
		n.dirty = true
	}
	return changed
}

// resolveFiring ends a firing alert at end, as a close event does. n.mu
// held.
func (n *Notifier) resolveFiring(e *entry, end time.Time) {
	e.EndsAt = end
	if !end.After(e.StartsAt) {
		e.EndsAt = e.StartsAt.Add(time.Millisecond)
	}
	n.dirty = true
	if e.held {
		if _, in := n.maintenance(e.Labels["service"], e.EndsAt.Add(-time.Nanosecond)); in {
			n.drop(e, "its window closed during planned maintenance")
			return
		}
		e.held = false
	}
	n.touch(e)
}

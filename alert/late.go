package alert

import (
	"slices"
	"strings"
	"time"

	"github.com/slaprobe/slaprobe/state"
)

// lateSlack is how long before a verdict a counted window may have ended
// and still be paged late (pageLate): the runs of other probers that
// counted it may reach the store after the verdict that would have seen it
// open (a store writer behind, a spool after the database's outage). A
// resolved alert is kept a day (tombstoneTTL), far longer, so a window
// paged once is never paged again.
const lateSlack = time.Hour

// lateWaitMax is how long after its end a counted window whose end may
// move (pageLate's lateWait) is still judged when it settles: a day, far
// longer than any flow's settling (report.Settling).
const lateWaitMax = 24 * time.Hour

// lateHoldMin is how long a late page fires at least before its resolve
// is sent: Alertmanager notifies a group only at its flushes (group_wait,
// 30 s by default, after a new group's first alert; group_interval, 5
// minutes, for a group already notified), and only what fires then: an
// alert it first receives resolved, or that resolves before the flush,
// notifies nobody.
const lateHoldMin = 5 * time.Minute

// lateID identifies a counted window pageLate judged: its key and start.
type lateID struct {
	k     ownKey
	start int64
}

// lateShown is how a fleet shows a counted window it pages late.
var lateShown = shown{label: QuorumLocation, past: true,
	note: "; counted: the quorum of locations saw it; it began and ended between two builds of the fleet's figures, so it is paged after its end, once"}

// neverSurelyDown follows the description of a counted window the report
// marks quorum_never_surely_down (state.Window.QuorumNeverSurelyDown): the
// policy counts it, its location windows overlapping, but no instant of it
// had the quorum surely down at once.
const neverSurelyDown = "; the quorum was never surely down at once: it may not have been one outage"

// countedAfterAll replaces the below-quorum note of this prober's own
// ticket whose window the figures count after all (pageLate).
const countedAfterAll = "; counted after all: the quorum of locations saw it down (the alert with location=" + QuorumLocation + ")"

// lateHold is how long a late page fires before its resolve: lateHoldMin,
// or twice the interval between verdicts when longer (the other probers,
// whose pushes of it Alertmanager merges with this one, see it by their
// next). n.mu held.
func (n *Notifier) lateHold() time.Duration {
	return max(lateHoldMin, 2*n.verdictGap, 2*n.verdictNext)
}

// pageLate pages the verdict's counted windows that began and ended since
// the verdict before (none saw them open, so no page fired for them): the
// report counts them as downtime, and Alertmanager heard nothing of them.
// Each is pushed as the quorum's alert of its window (its labels, startsAt
// its start, at its kind's severity: page for down), firing, with a
// summary and description that say it is over; its resolve, endsAt its
// end, follows lateHold later (an alert Alertmanager first receives
// resolved notifies nobody). Once: the alert is kept (the state file
// included) as any resolved one, and a window with an alert of its key and
// severity that overlaps it, this prober's own page of it included (a
// lapse), is not paged again; nor is one that ended before the notifier
// started or more than lateSlack ago (but for one left for a later
// verdict as its end might move: judged when it settles, a flow's
// settling may be longer than lateSlack, and after a restart, the state
// file keeping n.lateWait), one that ended where every
// location's data ends (not known to be over: the next verdicts say), one
// whose end the verdict says may yet move (state.Window.EndMayMove: a
// location down at its end may have its confirmation in flight, which
// carries the window on; the next verdicts say), one that closed during planned maintenance it was detected in, or one while
// an alert of its labels fires (the on-call has that page).
//
// Of the probers of a fleet, which all see it so, only those elected
// page it (the locations whose windows reached the quorum: elected): the
// pushes of the others, with the same labels and startsAt, fired it again
// in Alertmanager once that prober (or one that saw the window open) had
// resolved it, a second notification of one outage.
//
// This prober's own tickets of the window, resolved with "below the quorum
// of locations: not counted", are sent again, resolved, saying it was
// counted after all. n.mu held; it reports whether anything changed.
//
// ending are the quorum's alerts this verdict resolved, by key: a window
// one covers was seen open, which every window that closed since the last
// verdict but a short one was, so those cost no look at the other alerts;
// a window judged once is not judged again (n.lateDone).
func (n *Notifier) pageLate(q *quorumAlerts, ending map[ownKey][]*entry, now time.Time) bool {
	from := maxTime(n.lateFrom, now.Add(-lateSlack))
	for id, end := range n.lateDone {
		if !end.After(from) {
			delete(n.lateDone, id)
		}
	}
	for id, end := range n.lateWait {
		if !end.After(now.Add(-lateWaitMax)) {
			delete(n.lateWait, id)
			n.dirty = true
		}
	}
	var byKey map[ownKey][]*entry
	changed := false
	for i := range q.of {
		c := &q.of[i] // the windows are large: copied once past these
		if c.End.IsZero() || (c.Kind != state.KindDown && c.Kind != state.KindDegraded) ||
			c.End.After(now) || !c.End.After(c.Start) {
			continue
		}
		if !c.End.After(from) && len(n.lateWait) == 0 {
			continue
		}
		w := *c
		id := lateID{keyOf(w), w.Start.UnixNano()}
		if _, done := n.lateDone[id]; done {
			continue
		}
		if _, waited := n.lateWait[id]; !w.End.After(from) && !waited {
			continue
		}
		if n.lateDone == nil {
			n.lateDone = map[lateID]time.Time{}
		}
		if slices.ContainsFunc(ending[id.k], func(e *entry) bool { return covers(e, w) }) {
			n.forgetWait(id)
			n.lateDone[id] = w.End
			continue
		}
		if w.EndMayMove {
			if n.lateWait == nil {
				n.lateWait = map[lateID]time.Time{}
			}
			if end, ok := n.lateWait[id]; !ok || !end.Equal(w.End) {
				n.lateWait[id] = w.End
				n.dirty = true // kept in the state file: judged after a restart too
			}
			continue // judged again by the verdicts that follow
		}
		if q.endsInGap(w) {
			continue // judged again by the verdicts that follow
		}
		n.forgetWait(id)
		n.lateDone[id] = w.End
		if byKey == nil {
			byKey = map[ownKey][]*entry{}
			for _, e := range n.entries {
				k := keyOfAlert(e.Alert)
				byKey[k] = append(byKey[k], e)
			}
		}
		es := byKey[keyOf(w)]
		if seen(es, w) {
			continue // its page was pushed: the verdicts saw it open
		}
		if n.amendTickets(es, w) {
			changed = true
		}
		if !n.elected(w) {
			continue
		}
		if _, in := n.holds(w, w.End.Add(-time.Nanosecond)); in {
			continue // closed in the planned maintenance it was detected in
		}
		a := n.renderAs(w, lateShown)
		fp := fingerprint(a.Labels)
		if _, open := q.alerts[fp]; open || n.firing(fp) != nil || paged(es, a.Labels["severity"], w) {
			continue
		}
		a.EndsAt = w.End
		e := &entry{Alert: a, fp: fp, lateUntil: now.Add(n.lateHold())}
		if _, dup := n.entries[e.id()]; dup {
			continue
		}
		n.touch(e)
		n.entries[e.id()] = e
		byKey[keyOf(w)] = append(byKey[keyOf(w)], e)
		changed = true
		n.o.Logger.Info("counted window paged after its end: it began and ended between two verdicts of the fleet",
			"alertname", a.Labels["alertname"], "service", w.Service, "flow", w.Flow, "function", w.Function,
			"severity", a.Labels["severity"], "start", w.Start.UTC(), "end", w.End.UTC(), "resolve_at", e.lateUntil.UTC())
	}
	if changed {
		n.dirty = true
	}
	return changed
}

// forgetWait drops id from n.lateWait (judged). n.mu held.
func (n *Notifier) forgetWait(id lateID) {
	if _, ok := n.lateWait[id]; ok {
		delete(n.lateWait, id)
		n.dirty = true
	}
}

// seen reports whether a quorum's alert of es (one key's) covers some of
// w.
func seen(es []*entry, w state.Window) bool {
	for _, e := range es {
		if e.Labels["location"] == QuorumLocation && covers(e, w) {
			return true
		}
	}
	return false
}

// covers reports whether e's alert covers some of w.
func covers(e *entry, w state.Window) bool {
	return !e.StartsAt.After(w.End) && (!e.Resolved() || !e.EndsAt.Before(w.Start))
}

// paged reports whether an alert of es (one key's) at severity sev covers
// some of w: the on-call was told of it.
func paged(es []*entry, sev string, w state.Window) bool {
	for _, e := range es {
		if e.Labels["severity"] == sev && covers(e, w) {
			return true
		}
	}
	return false
}

// amendTickets sends again, resolved, this prober's own tickets of es (the
// key of w) that said w's time was below the quorum, saying it was counted
// after all (and, of a window the report marks so, that the quorum was
// never surely down at once). n.mu held.
func (n *Notifier) amendTickets(es []*entry, w state.Window) bool {
	note := n.belowQuorum().note
	changed := false
	for _, e := range es {
		if e.Labels["location"] == QuorumLocation || !e.Resolved() || e.held || !covers(e, w) {
			continue
		}
		d := e.Annotations["description"]
		if !strings.HasSuffix(d, note) {
			continue
		}
		e.Annotations["description"] = strings.TrimSuffix(d, note) + countedAfterAll
		if w.QuorumNeverSurelyDown {
			e.Annotations["description"] += neverSurelyDown
		}
		n.touch(e)
		changed = true
	}
	return changed
}

// elected reports whether this prober pages w late: its location is the
// first of those whose windows began at w's start (w.QuorumBy: their runs
// made it count, so their kicked rebuilds, not the others', could have
// seen it open and paged it as ever, and a late page from another prober
// after that page's resolve fired it again in Alertmanager; of several
// that began at once, the report keeps those whose confirmations made the
// quorum known, the first of them tied at one instant); where none
// did (the quorum reached as a location went unknown), the first of those
// w was seen from (all, when they are not known).
func (n *Notifier) elected(w state.Window) bool {
	from := w.QuorumBy
	if from == "" {
		from = w.Location
	}
	first, _, _ := strings.Cut(from, ",")
	first = strings.TrimSpace(first)
	return first == "" || first == n.o.Location
}

// endsInGap reports whether w ended where every location's data ends, in
// an unknown stretch of its flow open at the figures' end: not known to
// be over (see unmeasured).
func (q *quorumAlerts) endsInGap(w state.Window) bool {
	for _, u := range q.unknown[[2]string{w.Service, w.Flow}] {
		if u.End.IsZero() && !u.Start.After(w.End) {
			return true
		}
	}
	return false
}

// endLate sends the resolve of the late pages whose lateUntil has come
// (pageLate), but for one whose labels fire again meanwhile (a new outage
// of its key: Alertmanager took the two for one alert, and the resolve
// would end the new page until its next resend): it is done with, not
// sent. One whose firing push an Alertmanager has not taken yet (down, a
// proxy's 503) waits for it, lateSlack at most: its resolve alone
// notifies nobody, and the hold counts from its delivery (delivered). n.mu
// held; it reports whether anything changed.
func (n *Notifier) endLate(now time.Time) bool {
	changed := false
	for _, e := range n.entries {
		if !e.lateFiring() || now.Before(e.lateUntil) {
			continue
		}
		if anyPending(e.pending) && now.Before(e.lateUntil.Add(lateSlack)) {
			continue
		}
		e.lateUntil = time.Time{}
		if n.firing(e.fp) != nil {
			e.rev++
			clear(e.pending)
		} else {
			n.touch(e)
		}
		n.dirty, changed = true, true
	}
	return changed
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

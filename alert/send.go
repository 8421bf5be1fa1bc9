package alert

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slaprobe/slaprobe/internal/redact"
)

// target is one Alertmanager.
type target struct {
	id       string // hash of the URL: the state file never holds the URL itself
	endpoint string // .../api/v2/alerts
	label    string // the URL without credentials, for metrics and logs
	failures int
	retryAt  time.Time
	busy     bool // a send of Run's is in flight (n.sending guards these three)
}

// CheckURL reports whether raw (its secrets filled in) is an Alertmanager
// URL a notifier can post to, as NewNotifier would, its error naming it
// without credentials (scrub removes the secrets of the config). run checks
// its --alertmanager flags so before any work.
func CheckURL(raw string, scrub func(string) string) error {
	_, err := newTarget(raw, scrub)
	return err
}

func newTarget(raw string, scrub func(string) string) (*target, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		label := "(unparsable)"
		if err == nil {
			label = scrub(u.Redacted())
		}
		return nil, fmt.Errorf("alert: Alertmanager URL %q: want http(s)://host[:port][/prefix]", label)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("alert: Alertmanager URL %q: no query or fragment allowed", scrub(u.Redacted()))
	}
	sum := sha256.Sum256([]byte(u.String()))
	label := scrub(u.Redacted())
	u = u.JoinPath("api", "v2", "alerts")
	return &target{id: hex.EncodeToString(sum[:8]), endpoint: u.String(), label: label}, nil
}

// Tick does one round of delivery at the clock's now: to every target not
// backing off, it sends the changed alerts and the firing ones whose last
// send is Resend old; it then marks resolves that every target has as done
// (forgotten a day later), and saves the state if it changed. It returns the send and save errors (they
// are also logged and counted). Run calls it; tests call it directly.
func (n *Notifier) Tick(ctx context.Context) error {
	return n.tick(ctx, false, true)
}

// send is one round to an Alertmanager: to t, batch (the alerts of the
// entries ids), whose entries' versions are revs, begun at, its last again
// alerts the firing ones t refused before, tried again; and what came of
// it (deliver): the entries delivered, those Alertmanager refused, and the
// error of the moment that failed the rest.
type send struct {
	t       *target
	batch   []Alert
	ids     []string
	again   int
	revs    map[string]int
	at      time.Time
	ok      []string         // the entries delivered
	refused map[string]error // entry id -> Alertmanager's refusal
	err     error
	// tooBig is the smallest body of one alert alone a proxy answered 413
	// (too large) in this round, and its error: a body as large is not
	// sent, so that a URL answering 413 to everything costs a few POSTs a
	// round, not one an alert. (Of one alert alone: a proxy that limits
	// the alerts of a POST, not its bytes, answers 413 to a batch smaller
	// than an alert it takes.)
	tooBig    int
	tooBigErr error
}

// postBatch POSTs batch to s's target, but for a body as large as that of
// an alert alone a proxy found too large this round, which fails as that
// one did.
func (n *Notifier) postBatch(ctx context.Context, s *send, batch []Alert) error {
	body, err := json.Marshal(batch)
	if err != nil {
		return fmt.Errorf("alert: encode alerts: %w", err)
	}
	if s.tooBig > 0 && len(body) >= s.tooBig {
		return s.tooBigErr
	}
	err = n.post(ctx, s.t, body)
	var tl *tooLarge
	if errors.As(err, &tl) && len(batch) == 1 && (s.tooBig == 0 || len(body) < s.tooBig) {
		s.tooBig, s.tooBigErr = len(body), err
	}
	return err
}

// refusal is an Alertmanager's answer that refuses the alerts it was sent
// as invalid: 400 Bad Request (its v2 API keeps the valid alerts of a POST
// and names the invalid ones: a label it does not take) or 422
// Unprocessable Entity (one its schema refuses); a WAF in front of it may
// answer 400 to an alert whose text it does not like. The same version of
// an alert is not sent again but for a firing one, tried again at the
// resend interval. Other answers, 401, 403 and 404 included (a
// proxy's, or a wrong URL prefix), are about the URL or the way there,
// which is fixed without the alerts changing: they are retried, and a
// resolve they delay is delivered once fixed.
type refusal struct{ err error }

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

// tooLarge is a 413 Content Too Large: a proxy's limit on a request's body
// (nginx's client_max_body_size). A batch is halved until it passes; one
// alert alone is retried with the backoff, as the limit is fixed without
// the alert changing.
type tooLarge struct{ err error }

func (e *tooLarge) Error() string { return e.err.Error() }
func (e *tooLarge) Unwrap() error { return e.err }

// refused is the version of an alert an Alertmanager refused, and when.
type refused struct {
	rev int
	at  time.Time
}

// deliver makes s's POSTs. A batch Alertmanager refuses is halved and each
// half sent again, a refused half halved again, so that the alerts it
// takes (one that a transient error had held back, a resolve) are
// delivered and only those it refuses are given up, in a few POSTs (one
// refused alert among 1,000: at most 21); the alerts it refused before are
// tried again together in one POST of their own (halved only when a proxy
// finds it too large), so that they cost no halving of the others each
// resend. The first error of the moment ends
// the sends and fails the rest.
func (n *Notifier) deliver(ctx context.Context, s *send) {
	s.refused = map[string]error{}
	k := len(s.batch) - s.again
	if k > 0 && !n.sendBatch(ctx, s, s.batch[:k], s.ids[:k], true) {
		return
	}
	if s.again > 0 {
		n.sendBatch(ctx, s, s.batch[k:], s.ids[k:], false)
	}
}

// sendBatch sends batch (the alerts of ids) and records what came of each
// alert in s; false when an error of the moment ended the sends (the
// alerts not yet delivered or refused stay pending). Too large (413), a
// batch is halved and each half sent on its own, so that the alerts are
// delivered however many a proxy's limit lets through in one POST; one
// alert alone too large stays pending, retried with the backoff (s.err:
// the limit is fixed without it changing), and holds back none of the
// others. Refused (400, 422), a batch is halved too when splitRefused, a
// half refused halved again down to the alert, so that only the alerts
// Alertmanager refuses are given up; otherwise (the alerts it refused
// before, tried again) all of it is refused again: a WAF that refuses
// every alert costs one POST a resend, not 2N.
func (n *Notifier) sendBatch(ctx context.Context, s *send, batch []Alert, ids []string, splitRefused bool) bool {
	err := n.postBatch(ctx, s, batch)
	var r *refusal
	var tl *tooLarge
	switch {
	case err == nil:
		s.ok = append(s.ok, ids...)
		return true
	case errors.As(err, &tl) && len(batch) > 1:
		// Halved below.
	case errors.As(err, &tl):
		if s.err == nil {
			s.err = err
		}
		return true
	case !errors.As(err, &r):
		s.err = err
		return false
	case !splitRefused || len(batch) == 1:
		for _, id := range ids {
			s.refused[id] = err
		}
		return true
	}
	m := len(batch) / 2
	return n.sendBatch(ctx, s, batch[:m], ids[:m], splitRefused) && n.sendBatch(ctx, s, batch[m:], ids[m:], splitRefused)
}

// tick is one round of delivery. With wait, it waits for the sends it
// begins and returns their errors (Tick, the flush at shutdown). Without,
// as Run has it, it begins them and returns: each send's end is recorded
// when it comes (done) and wakes Run, and a URL with a send in flight is
// left out of the rounds meanwhile, so that one that does not answer (a
// black hole, its whole timeout) holds back neither the others nor the next
// change to them.
func (n *Notifier) tick(ctx context.Context, force, wait bool) error {
	n.sending.Lock()
	defer n.sending.Unlock()
	now := n.o.Clock.Now()
	n.mu.Lock()
	released := n.release(now)
	if n.lapse(now) {
		released = true
	}
	if n.endLate(now) {
		released = true
	}
	n.mu.Unlock()
	if released {
		n.updateActive()
	}
	var errs []error
	var sends []*send
	for _, t := range n.targets {
		if t.busy || (!force && now.Before(t.retryAt)) {
			continue
		}
		batch, ids, again, revs := n.due(t, now, force)
		if len(batch) == 0 {
			continue
		}
		sends = append(sends, &send{t: t, batch: batch, ids: ids, again: again, revs: revs, at: now})
	}
	if wait {
		// Side by side here too.
		var wg sync.WaitGroup
		for _, s := range sends {
			wg.Go(func() { n.deliver(ctx, s) })
		}
		wg.Wait()
		for _, s := range sends {
			if err := n.done(s); err != nil {
				errs = append(errs, err)
			}
		}
	} else {
		for _, s := range sends {
			s.t.busy = true
			n.inflight.Go(func() {
				n.deliver(ctx, s)
				n.sending.Lock()
				s.t.busy = false
				if ctx.Err() == nil || s.err == nil {
					n.done(s) //nolint:errcheck // logged and counted there
				} // else cut short by our own shutdown: the flush sends it again
				n.sending.Unlock()
				n.signal()
			})
		}
	}
	if err := n.settle(now); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// done records the end of a send (n.sending held) and returns its error:
// the alerts delivered, those refused for good (not sent to t again until
// they change; logged as errors, once each), and the error of the moment
// that failed the rest (retried after a backoff).
func (n *Notifier) done(s *send) error {
	t := s.t
	delivered := make(map[string]int, len(s.ok))
	for _, id := range s.ok {
		delivered[id] = s.revs[id]
	}
	if len(delivered) > 0 {
		n.delivered(t, delivered, s.at)
	}
	var errs []error
	if len(s.refused) > 0 || s.err != nil {
		n.sent.WithLabelValues(t.label, "failed").Inc()
	} else {
		n.sent.WithLabelValues(t.label, "ok").Inc()
	}
	if len(s.refused) > 0 {
		n.refuse(t, s)
		for _, id := range s.ids {
			if err, ok := s.refused[id]; ok {
				errs = append(errs, err)
			}
		}
	}
	if s.err != nil {
		t.failures++
		// From when it failed: a send that took its whole timeout (a
		// black hole) must not use up the wait.
		t.retryAt = n.o.Clock.Now().Add(backoff(t.failures))
		n.o.Logger.Warn("alertmanager send failed", "url", t.label, "alerts", len(s.batch), "attempt", t.failures, "retry_at", t.retryAt, "err", s.err)
		return errors.Join(append(errs, s.err)...)
	}
	t.failures, t.retryAt = 0, time.Time{}
	return errors.Join(errs...)
}

// refuse records the alerts of s that t refused: not pending for it any
// more (a refused resolve is done with: Alertmanager ends the alert at the
// endsAt it has), and not sent to it again until they change, but for a
// firing one, tried again at the resend interval (its endsAt is new each
// time, and a WAF may be fixed). The first refusal of a version is logged
// as an error, those that follow at debug.
func (n *Notifier) refuse(t *target, s *send) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, id := range s.ids {
		err, ok := s.refused[id]
		if !ok {
			continue
		}
		e, ok := n.entries[id]
		if !ok || e.rev != s.revs[id] {
			continue // changed meanwhile: the new version is sent
		}
		if e.refused == nil {
			e.refused = map[string]refused{}
		}
		level, msg := slog.LevelError, "alertmanager refused an alert; not sent to it again until the alert changes"
		if !e.Resolved() {
			msg = "alertmanager refused an alert; tried again at the resend interval"
		}
		if r, ok := e.refused[t.id]; ok && r.rev == e.rev {
			level, msg = slog.LevelDebug, "alertmanager refused an alert again"
		}
		e.refused[t.id] = refused{rev: e.rev, at: s.at}
		delete(e.pending, t.id)
		n.o.Logger.Log(context.Background(), level, msg, "url", t.label,
			"alertname", e.Labels["alertname"], "service", e.Labels["service"], "flow", e.Labels["flow"], "function", e.Labels["function"],
			"location", e.Labels["location"], "resolved", e.Resolved(), "err", err)
	}
	n.dirty = true
}

// settle marks resolves that every target has as done (forgotten a day
// later) and saves the state if it changed (n.sending held).
func (n *Notifier) settle(now time.Time) error {
	n.mu.Lock()
	for id, e := range n.entries {
		switch {
		case !e.Resolved() || anyPending(e.pending) || e.lateFiring():
		case e.doneAt.IsZero():
			e.doneAt = now
			n.dirty = true
		case now.Sub(e.doneAt) > tombstoneTTL:
			delete(n.entries, id)
			n.dirty = true
		}
	}
	save := n.dirty
	n.mu.Unlock()
	if !save {
		return nil
	}
	if err := n.save(); err != nil {
		n.saveFailures.Inc()
		n.o.Logger.Error("cannot save alert state", "path", n.o.StatePath, "err", err)
		return err
	}
	return nil
}

// due picks what t needs now and renders it; ids are the entries of the
// alerts, revs remembers the version of each entry sent. The last again
// alerts are firing ones t refused, due again at the resend interval.
func (n *Notifier) due(t *target, now time.Time, force bool) (batch []Alert, ids []string, again int, revs map[string]int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	revs = map[string]int{}
	build := func(e *entry) Alert {
		a := cloneAlert(e.Alert)
		if e.lateFiring() {
			// Firing until its resolve at lateUntil, which must find it
			// firing still (an Alertmanager that ended it by itself
			// keeps its own endsAt, not the window's end): not sent
			// again meanwhile (see pageLate); from now, when its first
			// push was refused (delivered holds it from then).
			a.EndsAt = maxTime(e.lateUntil, now.Add(n.lateHold())).Add(4 * n.o.Resend)
			return a
		}
		if !a.Resolved() {
			// From its start if that is after now (the prober's clock
			// stepped back): an alert that ends before it starts is
			// invalid, and Alertmanager refuses it.
			from := now
			if a.StartsAt.After(from) {
				from = a.StartsAt
			}
			a.EndsAt = from.Add(4 * n.o.Resend)
		}
		return a
	}
	// Every time in UTC, as Prometheus sends them: a location's ticket
	// and the quorum's page (whose times come from the fleet's figures,
	// in the config's zone) read alike in Alertmanager's API, its
	// templates and its UI; the instants are the same either way.
	render := func(e *entry) Alert {
		a := build(e)
		a.StartsAt, a.EndsAt = a.StartsAt.UTC(), a.EndsAt.UTC()
		return a
	}
	var retry []*entry
	for _, e := range n.sorted() {
		if e.held {
			continue // in planned maintenance: release sends it
		}
		if r, ok := e.refused[t.id]; ok && r.rev == e.rev {
			// t refused this version: a resolve for good, a firing one
			// until the resend interval.
			if !e.Resolved() && !n.holding && (force || now.Sub(r.at) >= n.o.Resend) {
				retry = append(retry, e)
			}
			continue
		}
		need := e.pending[t.id]
		if !e.Resolved() && !n.holding && (force || now.Sub(e.sentAt[t.id]) >= n.o.Resend) {
			need = true
		}
		if !need {
			continue
		}
		batch = append(batch, render(e))
		ids = append(ids, e.id())
		revs[e.id()] = e.rev
	}
	for _, e := range retry {
		batch = append(batch, render(e))
		ids = append(ids, e.id())
		revs[e.id()] = e.rev
	}
	return batch, ids, len(retry), revs
}

// delivered records a successful send of the versions in revs to t.
func (n *Notifier) delivered(t *target, revs map[string]int, now time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for id, rev := range revs {
		e, ok := n.entries[id]
		if !ok {
			continue
		}
		if e.sentAt == nil {
			e.sentAt = map[string]time.Time{}
		}
		e.sentAt[t.id] = now
		if e.rev == rev && e.pending[t.id] {
			delete(e.pending, t.id)
			if e.lateFiring() {
				// A late page fires its hold from when Alertmanager
				// has it (endLate): one down when it was pushed got
				// nothing firing until now.
				e.lateUntil = maxTime(e.lateUntil, now.Add(n.lateHold()))
			}
		}
		if r, ok := e.refused[t.id]; ok && r.rev == rev {
			delete(e.refused, t.id) // taken when tried again
		}
	}
	n.dirty = true
}

func (n *Notifier) post(ctx context.Context, t *target, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("alert: %s: %w", t.label, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "slaprobe")
	resp, err := n.o.Client.Do(req)
	if err != nil {
		return fmt.Errorf("alert: POST %s: %s", t.label, n.o.Redact(redactURLError(err)))
	}
	defer resp.Body.Close()
	// The start of an error answer is read with room to spare and
	// redacted before it is cut: cut first, a secret the answer echoes
	// across the cut would leave its first bytes, which the redactor,
	// never seeing the whole secret, keeps.
	// MaxLen more than the read, so that a secret that begins in it is
	// seen whole.
	read := maxErrBodyRead + max(n.o.RedactMaxLen, 0)
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, int64(read)+1))
	cut := len(msg) > read
	if cut {
		msg = msg[:read]
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		red := n.o.Redact(strings.TrimSpace(strings.ToValidUTF8(string(msg), "?")))
		if cut && n.o.RedactMaxLen > 1 {
			// The read's last MaxLen-1 bytes may begin a secret the
			// redactor could not see whole, and the secrets redacted
			// before them shrank to "***" (a token echoed five times
			// left 89 bytes of its fifth copy in 108): they go, what
			// stays reaches past the first 4 KiB.
			red = redact.TrimUnseen(red, n.o.RedactMaxLen) + "…"
		}
		err := fmt.Errorf("alert: POST %s: %s: %s", t.label, resp.Status, redact.Shorten(red, maxErrBodyBytes))
		if resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnprocessableEntity {
			return &refusal{err: err}
		}
		if resp.StatusCode == http.StatusRequestEntityTooLarge {
			return &tooLarge{err: err}
		}
		return err
	}
	return nil
}

// redactURLError keeps a *url.Error's cause but not its URL, which may hold
// credentials.
func redactURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// Run delivers alerts until ctx is done: pending changes promptly (Handle
// wakes it), open alerts every Resend, failed sends again after a per-URL
// backoff (1s doubling up to 1m). When ctx ends it makes one last attempt to
// deliver pending changes to every URL and saves the state, then returns nil.
func (n *Notifier) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		_ = n.tick(ctx, false, false)
		n.sending.Lock()
		d := n.nextWake(n.o.Clock.Now())
		n.sending.Unlock()
		n.sleep(ctx, d)
	}
	// The sends in flight end with ctx; what they carried is still pending
	// and goes out now.
	n.inflight.Wait()
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer cancel()
	_ = n.tick(fctx, true, true)
	return nil
}

// signal wakes Run.
func (n *Notifier) signal() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// sleep waits for d on the clock, or until Handle wakes it or ctx ends.
func (n *Notifier) sleep(ctx context.Context, d time.Duration) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-n.wake:
			cancel()
		case <-sctx.Done():
		}
	}()
	_ = n.o.Clock.Sleep(sctx, d)
	cancel()
	<-done
}

// nextWake is how long until something is due, at most Resend (n.sending
// held). A target with a send in flight is left out: its end wakes Run.
func (n *Notifier) nextWake(now time.Time) time.Duration {
	next := now.Add(n.o.Resend)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.mode != modeAlone {
		// The verdict's deadline (lapse).
		if due := n.verdictAt.Add(n.verdictWait()); due.Before(next) {
			next = due
		}
	}
	for _, t := range n.targets {
		if t.busy {
			continue
		}
		at := now
		if t.retryAt.After(now) {
			at = t.retryAt
		}
		for _, e := range n.entries {
			due := time.Time{}
			if r, ok := e.refused[t.id]; ok && r.rev == e.rev {
				// Refused: a resolve not sent to t again, a firing one
				// at the resend interval.
				if e.Resolved() || e.held || n.holding {
					continue
				}
				if due = r.at.Add(n.o.Resend); due.Before(at) {
					due = at
				}
				if due.Before(next) {
					next = due
				}
				continue
			}
			if e.lateFiring() && !e.held && !anyPending(e.pending) {
				// Its resolve (endLate); while its firing push is
				// pending, the retries wake it.
				if due = e.lateUntil; due.Before(at) {
					due = at
				}
				if due.Before(next) {
					next = due
				}
			}
			switch {
			case e.held && n.holding: // Reconcile wakes it
				continue
			case e.held:
				// Due when its service's maintenance ends (a reload that
				// changes it wakes Run).
				due = now
				if sp, ok := n.maintenance(e.Labels["service"], now); ok {
					due = sp.End
				}
				if due.Before(at) {
					due = at
				}
			case e.pending[t.id]:
				due = at
			case !e.Resolved() && !n.holding: // held: Reconcile wakes it
				due = e.sentAt[t.id].Add(n.o.Resend)
				if due.Before(at) {
					due = at
				}
			default:
				continue
			}
			if due.Before(next) {
				next = due
			}
		}
	}
	return max(next.Sub(now), 10*time.Millisecond)
}

func backoff(failures int) time.Duration {
	d := backoffBase
	for i := 1; i < failures && d < backoffMax; i++ {
		d *= 2
	}
	return min(d, backoffMax)
}

func anyPending(m map[string]bool) bool {
	for _, p := range m {
		if p {
			return true
		}
	}
	return false
}

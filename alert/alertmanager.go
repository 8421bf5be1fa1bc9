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
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// Alert names pushed by the daemon. They differ from the names of the
// Prometheus rules (see Rules) so that both paths can run side by side.
const (
	NameFlowDown     = "SlaprobeFlowDown"
	NameFunctionDown = "SlaprobeFunctionDown"
	NameDegraded     = "SlaprobeFlowDegraded"
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
	// Metrics, when set, gets slaprobe_alert_notifications_total{url,result}
	// and slaprobe_alerts_active.
	Metrics prometheus.Registerer
	// StatePath is a JSON file that keeps the alerts across restarts, so
	// that a pending resolve is not lost and a firing alert keeps its
	// startsAt. "" keeps them in memory only.
	StatePath string
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
}

func (e *entry) id() string { return e.fp + "@" + e.StartsAt.UTC().Format(time.RFC3339Nano) }

// target is one Alertmanager.
type target struct {
	id       string // hash of the URL: the state file never holds the URL itself
	endpoint string // .../api/v2/alerts
	label    string // the URL without credentials, for metrics and logs
	failures int
	retryAt  time.Time
}

// Notifier pushes alerts for downtime windows to Alertmanager. Handle takes
// state events without blocking; Run (or Tick, in tests) delivers them.
type Notifier struct {
	o       Options
	targets []*target
	wake    chan struct{}

	sending sync.Mutex // one Tick at a time

	mu      sync.Mutex
	entries map[string]*entry // by id
	dirty   bool              // state changed since the last save

	sent   *prometheus.CounterVec
	active prometheus.Gauge
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
	n := &Notifier{o: o, wake: make(chan struct{}, 1), entries: map[string]*entry{}}
	seen := map[string]bool{}
	for _, raw := range o.URLs {
		t, err := newTarget(raw)
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
		Help: "Requests to Alertmanager, by URL and result (ok or failed).",
	}, []string{"url", "result"})
	n.active = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "slaprobe_alerts_active",
		Help: "Alerts the daemon currently holds firing.",
	})
	for _, t := range n.targets {
		n.sent.WithLabelValues(t.label, "ok")
		n.sent.WithLabelValues(t.label, "failed")
	}
	if o.Metrics != nil {
		for _, c := range []prometheus.Collector{n.sent, n.active} {
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

func newTarget(raw string) (*target, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		label := raw
		if err == nil {
			label = u.Redacted()
		} else {
			label = "(unparsable)"
		}
		return nil, fmt.Errorf("alert: Alertmanager URL %q: want http(s)://host[:port][/prefix]", label)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("alert: Alertmanager URL %q: no query or fragment allowed", u.Redacted())
	}
	sum := sha256.Sum256([]byte(u.String()))
	label := u.Redacted()
	u = u.JoinPath("api", "v2", "alerts")
	return &target{id: hex.EncodeToString(sum[:8]), endpoint: u.String(), label: label}, nil
}

// Handle records state events; it never waits on the network. An opened
// down or degraded window becomes a firing alert whose startsAt is the
// backdated window start; a closed one resolves it with endsAt = the window
// end. Unknown windows are not alerted. Handling the same open event twice
// changes nothing.
func (n *Notifier) Handle(evs []state.Event) {
	changed := false
	n.mu.Lock()
	for _, ev := range evs {
		if ev.Window.Kind != state.KindDown && ev.Window.Kind != state.KindDegraded {
			continue
		}
		a := n.render(ev.Window)
		fp := fingerprint(a.Labels)
		firing := n.firing(fp)
		switch ev.Op {
		case state.OpOpen:
			if firing != nil {
				// Already firing (a replayed open after a restart): keep
				// the first startsAt, so Alertmanager never sees it move.
				continue
			}
			e := &entry{Alert: a, fp: fp}
			if old, ok := n.entries[e.id()]; ok && old.Resolved() {
				continue // this very window was already resolved: a replayed open
			}
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
			n.touch(firing)
			changed = true
		}
	}
	if changed {
		n.dirty = true
	}
	n.mu.Unlock()
	if changed {
		n.updateActive()
		select {
		case n.wake <- struct{}{}:
		default:
		}
	}
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

// render builds the alert for a window (EndsAt zero).
func (n *Notifier) render(w state.Window) Alert {
	loc := w.Location
	if loc == "" {
		loc = n.o.Location
	}
	name, sev, verb := NameFlowDown, n.o.SeverityDown, "down"
	switch {
	case w.Kind == state.KindDegraded:
		name, sev, verb = NameDegraded, n.o.SeverityDegraded, "degraded"
	case w.Function != "":
		name = NameFunctionDown
	}
	labels := map[string]string{
		"alertname": name,
		"service":   w.Service,
		"flow":      w.Flow,
		"location":  loc,
		"severity":  sev,
	}
	what := fmt.Sprintf("%s at %s", w.Flow, loc)
	if w.Function != "" {
		labels["function"] = w.Function
		what = fmt.Sprintf("%s %s (flow %s) at %s", w.Service, w.Function, w.Flow, loc)
	}
	for k, v := range labels {
		if v == "" {
			delete(labels, k) // Alertmanager drops empty labels anyway
		}
	}
	desc := fmt.Sprintf("%s has been %s since %s", what, verb, w.Start.Format(time.RFC3339))
	if w.CauseStep != "" {
		if w.Kind == state.KindDegraded {
			desc += fmt.Sprintf("; step %s is over its latency objective", w.CauseStep)
		} else {
			desc += fmt.Sprintf("; first failing step: %s", w.CauseStep)
		}
	}
	if w.Error != "" {
		desc += ": " + w.Error
	}
	if !w.End.IsZero() {
		desc += fmt.Sprintf(" (ended %s after %s)", w.End.Format(time.RFC3339), w.End.Sub(w.Start).Round(time.Second))
	}
	ann := map[string]string{
		"summary":     fmt.Sprintf("%s is %s", what, verb),
		"description": desc,
	}
	if n.o.RunbookURL != "" {
		ann["runbook_url"] = strings.ReplaceAll(n.o.RunbookURL, "{service}", url.PathEscape(w.Service))
	}
	return Alert{Labels: labels, Annotations: ann, StartsAt: w.Start, GeneratorURL: n.o.GeneratorURL}
}

// Active returns the alerts firing now, oldest first.
func (n *Notifier) Active() []Alert {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []Alert
	for _, e := range n.sorted() {
		if !e.Resolved() {
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
		if !e.Resolved() {
			c++
		}
	}
	n.mu.Unlock()
	n.active.Set(float64(c))
}

// Tick does one round of delivery at the clock's now: to every target not
// backing off, it sends the changed alerts and the firing ones whose last
// send is Resend old; it then marks resolves that every target has as done
// (forgotten a day later), and saves the state if it changed. It returns the send and save errors (they
// are also logged and counted). Run calls it; tests call it directly.
func (n *Notifier) Tick(ctx context.Context) error {
	return n.tick(ctx, false)
}

func (n *Notifier) tick(ctx context.Context, force bool) error {
	n.sending.Lock()
	defer n.sending.Unlock()
	now := n.o.Clock.Now()
	var errs []error
	for _, t := range n.targets {
		if !force && now.Before(t.retryAt) {
			continue
		}
		batch, revs := n.due(t, now, force)
		if len(batch) == 0 {
			continue
		}
		if err := n.post(ctx, t, batch); err != nil {
			t.failures++
			t.retryAt = now.Add(backoff(t.failures))
			n.sent.WithLabelValues(t.label, "failed").Inc()
			n.o.Logger.Warn("alertmanager send failed", "url", t.label, "alerts", len(batch), "attempt", t.failures, "retry_at", t.retryAt, "err", err)
			errs = append(errs, err)
			continue
		}
		t.failures, t.retryAt = 0, time.Time{}
		n.sent.WithLabelValues(t.label, "ok").Inc()
		n.delivered(t, revs, now)
	}
	n.mu.Lock()
	for id, e := range n.entries {
		switch {
		case !e.Resolved() || anyPending(e.pending):
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
	if save {
		if err := n.save(); err != nil {
			n.o.Logger.Error("cannot save alert state", "path", n.o.StatePath, "err", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// due picks what t needs now and renders it; revs remembers the version of
// each entry sent.
func (n *Notifier) due(t *target, now time.Time, force bool) ([]Alert, map[string]int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var batch []Alert
	revs := map[string]int{}
	for _, e := range n.sorted() {
		need := e.pending[t.id]
		if !e.Resolved() && (force || now.Sub(e.sentAt[t.id]) >= n.o.Resend) {
			need = true
		}
		if !need {
			continue
		}
		a := cloneAlert(e.Alert)
		if !a.Resolved() {
			a.EndsAt = now.Add(4 * n.o.Resend)
		}
		batch = append(batch, a)
		revs[e.id()] = e.rev
	}
	return batch, revs
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
		}
	}
	n.dirty = true
}

func (n *Notifier) post(ctx context.Context, t *target, batch []Alert) error {
	body, err := json.Marshal(batch)
	if err != nil {
		return fmt.Errorf("alert: encode alerts: %w", err)
	}
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
		return fmt.Errorf("alert: POST %s: %s", t.label, redactURLError(err))
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrBodyBytes))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("alert: POST %s: %s: %s", t.label, resp.Status, strings.TrimSpace(strings.ToValidUTF8(string(msg), "?")))
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
		_ = n.Tick(ctx)
		n.sleep(ctx, n.nextWake(n.o.Clock.Now()))
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer cancel()
	_ = n.tick(fctx, true)
	return nil
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

// nextWake is how long until something is due, at most Resend.
func (n *Notifier) nextWake(now time.Time) time.Duration {
	next := now.Add(n.o.Resend)
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, t := range n.targets {
		at := now
		if t.retryAt.After(now) {
			at = t.retryAt
		}
		for _, e := range n.entries {
			due := time.Time{}
			switch {
			case e.pending[t.id]:
				due = at
			case !e.Resolved():
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

// stateFile is the JSON kept at StatePath.
type stateFile struct {
	Version int          `json:"version"`
	Alerts  []stateAlert `json:"alerts"`
}

type stateAlert struct {
	Alert
	Pending []string             `json:"pending,omitempty"` // target ids
	SentAt  map[string]time.Time `json:"sent_at,omitempty"`
	DoneAt  time.Time            `json:"done_at,omitzero"`
}

func (n *Notifier) save() error {
	if n.o.StatePath == "" {
		n.mu.Lock()
		n.dirty = false
		n.mu.Unlock()
		return nil
	}
	n.mu.Lock()
	sf := stateFile{Version: stateFileVersion, Alerts: []stateAlert{}}
	for _, e := range n.sorted() {
		sa := stateAlert{Alert: cloneAlert(e.Alert), SentAt: map[string]time.Time{}, DoneAt: e.doneAt}
		for id, p := range e.pending {
			if p {
				sa.Pending = append(sa.Pending, id)
			}
		}
		sort.Strings(sa.Pending)
		for id, at := range e.sentAt {
			sa.SentAt[id] = at
		}
		sf.Alerts = append(sf.Alerts, sa)
	}
	n.dirty = false
	n.mu.Unlock()

	data, err := json.MarshalIndent(sf, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(n.o.StatePath, append(data, '\n')); err != nil {
		n.mu.Lock()
		n.dirty = true
		n.mu.Unlock()
		return err
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("alert: save state: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("alert: save state: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("alert: save state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("alert: save state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("alert: save state: %w", err)
	}
	ok = true
	return nil
}

func (n *Notifier) load() error {
	if n.o.StatePath == "" {
		return nil
	}
	f, err := os.Open(n.o.StatePath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("alert: state file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStateBytes+1))
	if err != nil {
		return fmt.Errorf("alert: state file %s: %w", n.o.StatePath, err)
	}
	if len(data) > maxStateBytes {
		return fmt.Errorf("alert: state file %s: larger than %d bytes", n.o.StatePath, maxStateBytes)
	}
	var sf stateFile
	if err := json.Unmarshal(data, &sf); err != nil {
		return fmt.Errorf("alert: state file %s: %w (delete it to start over)", n.o.StatePath, err)
	}
	if sf.Version != stateFileVersion {
		return fmt.Errorf("alert: state file %s: version %d, want %d", n.o.StatePath, sf.Version, stateFileVersion)
	}
	known := map[string]bool{}
	for _, t := range n.targets {
		known[t.id] = true
	}
	for _, sa := range sf.Alerts {
		if len(sa.Labels) == 0 || sa.StartsAt.IsZero() {
			return fmt.Errorf("alert: state file %s: an alert without labels or startsAt", n.o.StatePath)
		}
		e := &entry{Alert: sa.Alert, pending: map[string]bool{}, sentAt: map[string]time.Time{}, doneAt: sa.DoneAt}
		if e.Annotations == nil {
			e.Annotations = map[string]string{}
		}
		e.GeneratorURL = n.o.GeneratorURL
		e.fp = fingerprint(e.Labels)
		for _, id := range sa.Pending {
			if known[id] {
				e.pending[id] = true
			}
		}
		for id, at := range sa.SentAt {
			if known[id] {
				e.sentAt[id] = at
			}
		}
		if e.Resolved() && len(e.pending) == 0 && e.doneAt.IsZero() {
			e.doneAt = n.o.Clock.Now()
		}
		n.entries[e.id()] = e
	}
	return nil
}

// fingerprint identifies a label set, as Alertmanager does.
func fingerprint(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0xff})
		h.Write([]byte(labels[k]))
		h.Write([]byte{0xff})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func cloneAlert(a Alert) Alert {
	b := a
	b.Labels = make(map[string]string, len(a.Labels))
	for k, v := range a.Labels {
		b.Labels[k] = v
	}
	b.Annotations = make(map[string]string, len(a.Annotations))
	for k, v := range a.Annotations {
		b.Annotations[k] = v
	}
	return b
}

func anyPending(m map[string]bool) bool {
	for _, p := range m {
		if p {
			return true
		}
	}
	return false
}

package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// The review's agreement harness: live daemons on one fake clock and one
// SQLite store, driven by a script of what the target does at each moment
// (per location), stopped, restarted and reloaded in the middle of things;
// then the windows the daemons stored (rebuilt from their events) must be
// those `windows --recompute` finds in the stored runs, edge for edge:
// start, end, kind, causes, and the runs that bound each edge
// (start/end uncertainty).

// outcome is what a scripted target does to a run that starts at some time.
type outcome struct {
	failStep string        // "" passes; else "login" or "media"
	err      string        // the failing step's error
	took     time.Duration // how long the run takes (a hang takes its timeout)
	slowStep string        // a step that passes over its latency objective (degraded)
	certStep string        // a step that passes on a certificate under min_days_left (degraded; slowStep's latency first, as probe words it)
}

// script says what the target does at a location at a moment.
type script func(location string, at time.Time) outcome

// agreeRig is the daemons under test and their store.
type agreeRig struct {
	t      *testing.T
	fc     *clockwork.FakeClock
	st     *store.SQLite
	script script
	// flowScript, when set, is used instead of script: what the target
	// does to one flow at a location at a moment.
	flowScript func(location, flow string, at time.Time) outcome
	cfg        *config.Config // per location, the location replaced
	live       map[string]*agreeDaemon
	step       time.Duration
	// stopped is when the last stop began (the clock may move on while
	// Run drains; the stored and recomputed windows are compared up to it).
	stopped time.Time
}

type agreeDaemon struct {
	d      *Daemon
	cancel context.CancelFunc
	done   chan error
}

const agreeYAML = `
location: seoul-a
defaults: {interval: 10s, timeout: 10s, down_after: 2, up_after: 2, confirm_every: %s}
services:
  - name: svc
    flows:
      - name: f
        steps:
          - {name: login, function: login, request: {url: "http://127.0.0.1:1/login"}}
          - {name: media, function: media, request: {url: "http://127.0.0.1:1/media"}}
`

func newAgreeRig(t *testing.T, confirm string, sc script) *agreeRig {
	t.Helper()
	cfg, err := config.Parse("agree.yaml", fmt.Appendf(nil, agreeYAML, confirm), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return newAgreeRigConfig(t, cfg, sc)
}

// newAgreeRigConfig is the rig with a config of its own.
func newAgreeRigConfig(t *testing.T, cfg *config.Config, sc script) *agreeRig {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "agree.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := &agreeRig{t: t, fc: clockwork.NewFakeClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)), st: st, script: sc,
		cfg: cfg, live: map[string]*agreeDaemon{}, step: 100 * time.Millisecond}
	t.Cleanup(func() {
		for loc := range r.live {
			r.stop(loc)
		}
	})
	return r
}

// configAt is the rig's config with the location set.
func (r *agreeRig) configAt(loc string) *config.Config {
	c := *r.cfg
	c.Location = loc
	c.Services = slices.Clone(r.cfg.Services)
	for i := range c.Services {
		c.Services[i].Flows = slices.Clone(c.Services[i].Flows)
	}
	return &c
}

// runner runs a flow as the script says, taking its time on the fake clock.
func (r *agreeRig) runner(loc string, d *Daemon) flowRunner {
	return funcRunner(func(ctx context.Context, f *config.Flow) probe.Run {
		start := d.clock.Now()
		var o outcome
		if r.flowScript != nil {
			o = r.flowScript(loc, f.Name, start)
		} else {
			o = r.script(loc, start)
		}
		if err := d.clock.Sleep(ctx, o.took); err != nil {
			// The first step (login in agreeYAML's flow) was cancelled.
			o = outcome{failStep: f.Steps[0].Name, err: f.Steps[0].Name + ": cancelled"}
		}
		run := probe.Run{ID: fmt.Sprintf("%s.%s.%d", loc, f.Name, start.UnixNano()), Flow: f.Name, Service: f.Service, Location: loc,
			Start: start, Duration: d.clock.Now().Sub(start)}
		// Each step's end (probe.StepResult.Ended): the run's time is spent
		// in its failing step, else its slow one, else its last; the steps
		// before it end a millisecond apart, those after it with the run.
		hang := len(f.Steps) - 1
		for i, s := range f.Steps {
			if s.Name == o.failStep || (s.Name == o.slowStep && o.failStep == "") {
				hang = i
				break
			}
		}
		failed := false
		for i, s := range f.Steps {
			sr := probe.StepResult{Step: s.Name, Function: s.Function, Status: probe.StatusOK, HTTPStatus: 200, Attempts: 1, Duration: time.Millisecond}
			sr.Ended = max(min(time.Duration(i+1)*time.Millisecond, run.Duration), time.Nanosecond)
			if i >= hang {
				sr.Ended = max(run.Duration, time.Nanosecond)
			}
			switch {
			case failed:
				sr = probe.StepResult{Step: s.Name, Function: s.Function, Status: probe.StatusNotRun}
			case s.Name == o.failStep:
				sr.Status, sr.HTTPStatus, sr.Error = probe.StatusFailed, 0, o.err
				failed = true
			case s.Name == o.slowStep:
				sr.Status, sr.Duration = probe.StatusDegraded, 3*time.Second
				sr.Error = s.Name + ": took 3s, over its latency objective"
			case s.Name == o.certStep: // as probe words it
				sr.Status, sr.Error = probe.StatusDegraded, s.Name+": certificate expires in 3.0 days, under min_days_left 14"
			}
			run.Steps = append(run.Steps, sr)
		}
		return run
	})
}

// start starts (or restarts) the daemon of a location with cfg.
func (r *agreeRig) start(loc string, cfg *config.Config) *Daemon {
	r.t.Helper()
	d, err := New(cfg, Deps{Store: r.st, Clock: ClockworkClock(r.fc), Grace: 5 * time.Second})
	if err != nil {
		r.t.Fatal(err)
	}
	setRunner(d, r.runner(loc, d))
	ctx, cancel := context.WithCancel(context.Background())
	a := &agreeDaemon{d: d, cancel: cancel, done: make(chan error, 1)}
	go func() { a.done <- d.Run(ctx) }()
	waitFor(r.t, "scheduler start", func() bool {
		d.mu.RLock()
		defer d.mu.RUnlock()
		return d.sched != nil && len(d.sched.Jobs()) == len(d.flows)
	})
	r.live[loc] = a
	return d
}

// stop shuts the daemons of the locations down (drained, flushed) at one
// moment of the fake clock.
func (r *agreeRig) stop(locs ...string) {
	r.t.Helper()
	r.stopped = r.fc.Now()
	var as []*agreeDaemon
	for _, loc := range locs {
		if a := r.live[loc]; a != nil {
			delete(r.live, loc)
			a.cancel()
			as = append(as, a)
		}
	}
	// A run may be waiting on the fake clock: move it until Run returns.
	for _, a := range as {
		for waiting := true; waiting; {
			select {
			case err := <-a.done:
				if err != nil {
					r.t.Errorf("Run: %v", err)
				}
				waiting = false
			case <-time.After(5 * time.Millisecond):
				r.fc.Advance(r.step)
			}
		}
	}
}

// advance moves the fake clock by total, in small steps.
func (r *agreeRig) advance(total time.Duration) {
	end := r.fc.Now().Add(total)
	for r.fc.Now().Before(end) {
		r.fc.Advance(r.step)
		time.Sleep(time.Millisecond)
	}
}

// compare checks that the stored windows are the recomputed ones, and that
// report's windows (after the quorum, with uncertainty and causes) are the
// same either way. It returns the stored windows.
func (r *agreeRig) compare(from, to time.Time) []state.Window {
	r.t.Helper()
	ctx := context.Background()
	q := store.Query{From: from, To: to}
	stored, err := r.st.Windows(ctx, q)
	if err != nil {
		r.t.Fatal(err)
	}
	rec, err := report.Recompute(ctx, r.cfg, r.st, q)
	if err != nil {
		r.t.Fatal(err)
	}
	// A flow the config no longer has (removed by a reload) is not
	// replayed (its down_after and up_after are not known): its windows
	// are the stored ones either way (README, Accounting policy), which
	// report.Windows below compares.
	configured := map[string]bool{}
	for _, svc := range r.cfg.Services {
		for _, f := range svc.Flows {
			configured[f.Name] = true
		}
	}
	stored = slices.DeleteFunc(stored, func(w state.Window) bool { return !configured[w.Flow] })
	// A location stopped for good has no stored unknown stretch after its
	// last run (its daemon stores that when it runs again); Recompute
	// reports it up to the range's end (Machine.Close), which the reports
	// judge the same way from the location's coverage.
	rec = slices.DeleteFunc(rec, func(w state.Window) bool { return w.Kind == state.KindUnknown && w.End.Equal(to) })
	norm := func(ws []state.Window) []string {
		var out []string
		for _, w := range ws {
			out = append(out, windowString(w))
		}
		slices.Sort(out)
		return out
	}
	s, c := norm(stored), norm(rec)
	if !slices.Equal(s, c) {
		r.t.Errorf("stored windows differ from the recomputed ones:\nstored:\n  %s\nrecomputed:\n  %s",
			strings.Join(s, "\n  "), strings.Join(c, "\n  "))
	}
	in := report.Input{Config: r.cfg, Store: r.st, From: from, To: to, Now: to}
	a, err := report.Windows(ctx, in)
	if err != nil {
		r.t.Fatal(err)
	}
	in.Recompute = true
	b, err := report.Windows(ctx, in)
	if err != nil {
		r.t.Fatal(err)
	}
	ja, _ := json.MarshalIndent(a, "", " ")
	jb, _ := json.MarshalIndent(b, "", " ")
	if string(ja) != string(jb) {
		r.t.Errorf("windows (stored):\n%s\nwindows --recompute:\n%s", ja, jb)
	}
	return stored
}

// windowString is every field of a window that the report shows.
func windowString(w state.Window) string {
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("15:04:05.000")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s/%s/%s %s %s..%s before=%s lastIn=%s firstInEnd=%s firstAfterEnd=%s cause=%s:%q", w.Location, w.Service, w.Flow, w.Function, w.Kind,
		ts(w.Start), ts(w.End), ts(w.LastBefore), ts(w.LastIn), ts(w.FirstInEnd), ts(w.FirstAfterEnd), w.CauseStep, w.Error)
	for _, c := range w.Causes {
		fmt.Fprintf(&b, " [%s %q %s..%s]", c.Step, c.Error, ts(c.From), ts(c.To))
	}
	return b.String()
}

// outage is a script: the target fails with each phase's outcome from its
// start (offsets from t0) until the next phase; "" passes.
type phase struct {
	at time.Duration
	o  outcome
}

func phases(t0 time.Time, ps map[string][]phase) script {
	return func(loc string, at time.Time) outcome {
		o := outcome{took: 50 * time.Millisecond}
		for _, p := range ps[loc] {
			if !at.Before(t0.Add(p.at)) {
				o = p.o
			}
		}
		return o
	}
}

var (
	pass    = outcome{took: 50 * time.Millisecond}
	refused = outcome{failStep: "login", err: "login: connection refused", took: 20 * time.Millisecond}
	media   = outcome{failStep: "media", err: "media: status 503, want 201", took: 60 * time.Millisecond}
	hang    = outcome{failStep: "media", err: "media: flow timeout after 10s", took: 10 * time.Second}
)

// TestLiveAndRecomputeAgree: for hangs (runs as long as the interval, so
// base slots are skipped), confirm runs, causes that change, and two
// locations (the quorum), the windows the live daemons stored are the ones
// recomputed from their runs.
func TestLiveAndRecomputeAgree(t *testing.T) {
	for _, confirm := range []string{"0s", "2s"} {
		t.Run("confirm_every "+confirm, func(t *testing.T) {
			t.Parallel()
			var r *agreeRig
			t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			r = newAgreeRig(t, confirm, phases(t0, map[string][]phase{
				"seoul-a": {{60 * time.Second, refused}, {95 * time.Second, media}, {130 * time.Second, hang}, {190 * time.Second, pass},
					{250 * time.Second, media}, {256 * time.Second, pass}},
				"busan-b": {{75 * time.Second, hang}, {150 * time.Second, refused}, {200 * time.Second, pass}},
			}))
			r.start("seoul-a", r.configAt("seoul-a"))
			r.start("busan-b", r.configAt("busan-b"))
			r.advance(300 * time.Second)
			r.stop("seoul-a", "busan-b")
			ws := r.compare(t0, r.stopped)
			if len(ws) < 4 {
				t.Errorf("%d windows stored, want the outages at both locations", len(ws))
			}
		})
	}
}

// TestRestartAgreesWithRecompute: a daemon restarted in the middle of
// things (a failure streak shorter than down_after, a window with a pass
// streak shorter than up_after, a confirmation, a window whose cause
// changed, a hanging run in flight) stores the windows that recomputing
// from its runs finds: its failure and success streaks, causes and edge
// runs survive the restart.
func TestRestartAgreesWithRecompute(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sc := phases(t0, map[string][]phase{"seoul-a": {
		{60 * time.Second, refused}, {95 * time.Second, media}, {130 * time.Second, hang}, {175 * time.Second, pass},
		{206 * time.Second, media}, {216 * time.Second, pass},
	}})
	// seoul-a's base runs are at :08.3 past every 10 s (its offset).
	for _, tc := range []struct {
		name    string
		confirm string
		at      time.Duration // restart when the clock reaches t0+at
	}{
		{"one failure before the restart", "0s", 69 * time.Second},
		{"one failure, confirming", "2s", 69 * time.Second},
		{"down, cause changed", "0s", 110 * time.Second},
		{"hang in flight", "0s", 140 * time.Second},
		{"one pass of up_after 2", "0s", 179 * time.Second},
		{"one pass of up_after 2, confirming", "2s", 181 * time.Second},
		{"a failure after the window", "0s", 209 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newAgreeRig(t, tc.confirm, sc)
			r.start("seoul-a", r.configAt("seoul-a"))
			r.advance(tc.at)
			r.stop("seoul-a")
			r.start("seoul-a", r.configAt("seoul-a"))
			r.advance(240*time.Second - r.fc.Now().Sub(t0))
			r.stop("seoul-a")
			if ws := r.compare(t0, r.stopped); len(ws) < 3 {
				t.Errorf("%d windows stored, want the outage's", len(ws))
			}
		})
	}
}

// A window whose cause changes every run (more than state.MaxCauses
// times): the store reads its cause rows back to the same list as the
// machine keeps (the first causes and the current one), across a restart
// too.
func TestFlappingCausesAgree(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	n := 0
	sc := func(loc string, at time.Time) outcome {
		if at.Before(t0.Add(60*time.Second)) || !at.Before(t0.Add(200*time.Second)) {
			return pass
		}
		mu.Lock()
		defer mu.Unlock()
		n++
		return []outcome{refused, media}[n%2]
	}
	r := newAgreeRig(t, "2s", sc)
	r.start("seoul-a", r.configAt("seoul-a"))
	r.advance(130 * time.Second)
	r.stop("seoul-a")
	r.start("seoul-a", r.configAt("seoul-a"))
	r.advance(110 * time.Second)
	r.stop("seoul-a")
	ws := r.compare(t0, r.stopped)
	most := 0
	for _, w := range ws {
		most = max(most, len(w.Causes))
	}
	if most != state.MaxCauses {
		t.Errorf("the flapping window lists %d causes, want %d", most, state.MaxCauses)
	}
}

// A daemon restarted while a flow is down (or one failure into a possible
// outage) goes on confirming at once: its first run comes confirm_every
// after the last one before the restart, not at the next base slot (up to
// an interval later, and the window's end as late). Before, it waited for
// the base slot.
func TestRestartGoesOnConfirming(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		at   time.Duration // restart when the clock reaches t0+at
	}{
		{"down", 110 * time.Second},
		{"one failure", 80 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var starts []time.Time
			sc := func(loc string, at time.Time) outcome {
				mu.Lock()
				starts = append(starts, at)
				mu.Unlock()
				if at.Before(t0.Add(60 * time.Second)) {
					return pass
				}
				return refused
			}
			r := newAgreeRig(t, "2s", sc)
			// Base runs every 10 s at :08.3 (the flow's offset); make the
			// interval longer so that a base slot is far off.
			for i := range r.cfg.Services[0].Flows {
				r.cfg.Services[0].Flows[i].Interval = time.Minute
			}
			r.start("seoul-a", r.configAt("seoul-a"))
			r.advance(tc.at)
			r.stop("seoul-a")
			mu.Lock()
			last := starts[len(starts)-1]
			mu.Unlock()
			restarted := r.fc.Now()
			r.start("seoul-a", r.configAt("seoul-a"))
			r.advance(30 * time.Second)
			r.stop("seoul-a")
			mu.Lock()
			defer mu.Unlock()
			var next time.Time
			for _, s := range starts {
				if s.After(restarted) || s.Equal(restarted) {
					next = s
					break
				}
			}
			if next.IsZero() || next.Sub(maxTime(restarted, last.Add(2*time.Second))) > time.Second {
				t.Errorf("last run before the restart at %s, restarted at %s, next run at %s: want it confirm_every (2s) after the last one, or at once",
					last.Format("15:04:05.0"), restarted.Format("15:04:05.0"), next.Format("15:04:05.0"))
			}
		})
	}
}

// TestRestartCertificateDegradedKeepsItsInterval: a restart while the flow
// is degraded by a certificate under min_days_left alone (state.Machine.
// Resume carries that the last run was so) neither confirm-runs the flow
// at once, where a restart while slow does (TestRestartGoesOnConfirming),
// nor, after a stop longer than two intervals, closes the degraded window
// confirm_every after the last run, where windows --recompute closes it
// an interval after it (the unknown stretch's start, state.Policy.Covers).
func TestRestartCertificateDegradedKeepsItsInterval(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cert := outcome{certStep: "media", took: 50 * time.Millisecond}
	for _, tc := range []struct {
		name      string
		stop, off time.Duration // stop when the clock reaches t0+stop, for off
	}{
		{"quick restart", 95 * time.Second, 1 * time.Second},
		{"after more than two intervals", 95 * time.Second, 45 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newAgreeRig(t, "2s", func(loc string, at time.Time) outcome {
				if at.Before(t0.Add(30 * time.Second)) {
					return pass
				}
				return cert
			})
			r.start("seoul-a", r.configAt("seoul-a"))
			r.advance(tc.stop)
			r.stop("seoul-a")
			r.advance(tc.off)
			r.start("seoul-a", r.configAt("seoul-a"))
			r.advance(40 * time.Second)
			r.stop("seoul-a")
			end := r.fc.Now().Add(time.Millisecond)
			runs, err := r.st.Runs(context.Background(), store.Query{From: t0, To: end})
			if err != nil {
				t.Fatal(err)
			}
			for _, run := range runs {
				if run.Confirm {
					t.Errorf("a confirm run at +%s (the certificate alone: none, before or after the restart)", run.Start.Sub(t0))
				}
			}
			r.compare(t0, end)
		})
	}
}

package daemon

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

var updateRestore = flag.Bool("update-restore", false, "rewrite testdata/restore_snapshot.golden")

// TestRestoreSnapshot pins what a restart's restore does with a mixed store
// (flows of 10 s, 30 s, 1 m, 5 m and 1 h, with and without a session, a
// flow that never ran, an open window of a flow the config no longer has,
// a down window a long stop makes stale, 2,100 flows of one lookback: more
// than a resume batch): the events it returns (closed: orphaned, then
// stale), the events the alerter is handed, each flow's machine after it
// (state, open windows, confirming, last run) and every metric sample with
// a flow label (window_open, downtime, flow_up, ...). The golden was made
// on main at 7209d4d, before the restart reads history batch by batch: a
// change to how restore reads must leave it as it is (go test ./daemon
// -run TestRestoreSnapshot -update-restore rewrites it, for a change meant).
func TestRestoreSnapshot(t *testing.T) {
	ctx := context.Background()
	s, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "s.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	const loc = "seoul-a"
	step := func(name, fn string) config.Step {
		return config.Step{Name: name, Function: fn, Request: config.Request{URL: "http://127.0.0.1/" + name}}
	}
	cfg := &config.Config{Location: loc, Timezone: "UTC", Loc: time.UTC}
	svc := config.Service{Name: "svc", Objective: 0.999}
	bulk := config.Service{Name: "bulk", Objective: 0.99}
	type plan struct {
		from, to time.Time                 // runs every interval in [from, to)
		fails    func(at time.Time) string // the step that fails at, "" none
		login    func(i int, lastFailed bool) bool
	}
	plans := map[string]plan{}
	add := func(sv *config.Service, f config.Flow, p plan) {
		f.Service = sv.Name
		if f.Timeout == 0 {
			f.Timeout = 2 * time.Second
		}
		if len(f.Steps) == 0 {
			f.Steps = []config.Step{step("send", "send"), step("receive", "receive")}
		}
		sv.Flows = append(sv.Flows, f)
		plans[f.Name] = p
	}
	none := func(time.Time) string { return "" }
	between := func(a, b time.Time, st string) func(time.Time) string {
		return func(at time.Time) string {
			if !at.Before(a) && at.Before(b) {
				return st
			}
			return ""
		}
	}
	add(&svc, config.Flow{Name: "fast", Interval: 10 * time.Second, DownAfter: 2, UpAfter: 2},
		plan{now.Add(-10 * time.Minute), now.Add(-5 * time.Second), between(now.Add(-3*time.Minute), now.Add(-15*time.Second), "send"), nil})
	add(&svc, config.Flow{Name: "mid", Interval: time.Minute, DownAfter: 2, UpAfter: 1},
		plan{now.Add(-30 * time.Minute), now.Add(-30 * time.Second), between(now.Add(-61*time.Second), now, "receive"), nil})
	add(&svc, config.Flow{Name: "slow", Interval: time.Hour, Timeout: 10 * time.Second, DownAfter: 2, UpAfter: 1},
		plan{now.Add(-10 * time.Hour), now.Add(-3*time.Hour + time.Second), between(now.Add(-6*time.Hour), now, "send"), nil})
	add(&svc, config.Flow{Name: "never", Interval: time.Minute, DownAfter: 2, UpAfter: 1}, plan{})
	sessFlow := func(name string, iv, ttl time.Duration, fails func(time.Time) string) {
		add(&svc, config.Flow{Name: name, Interval: iv, DownAfter: 1, UpAfter: 2,
			Session: &config.Session{TTL: ttl, Steps: []config.Step{step("login", "login")}},
			Steps:   []config.Step{step("me", "read")}},
			plan{now.Add(-2 * time.Hour), now.Add(-20 * time.Second), fails,
				func(i int, lastFailed bool) bool { return lastFailed || i%int(ttl/iv) == 0 }})
	}
	sessFlow("sess", time.Minute, 10*time.Minute, between(now.Add(-15*time.Minute), now.Add(-4*time.Minute), "login"))
	sessFlow("sess-ok", 5*time.Minute, time.Hour, none)
	sessFlow("sess-read", time.Minute, 30*time.Minute, between(now.Add(-5*time.Minute), now, "me"))
	for i := range 2100 {
		p := plan{now.Add(-3 * time.Minute), now.Add(-time.Duration(i%29) * time.Second), none, nil}
		if i%100 == 7 {
			p.fails = between(now.Add(-90*time.Second), now, "receive")
		}
		add(&bulk, config.Flow{Name: fmt.Sprintf("b%04d", i), Interval: 30 * time.Second, DownAfter: 2, UpAfter: 1}, p)
	}
	cfg.Services = []config.Service{svc, bulk}

	// The process before: its runs and the events its machines made.
	var runs []probe.Run
	var evs []state.Event
	for _, sv := range cfg.Services {
		for i := range sv.Flows {
			f := &sv.Flows[i]
			p := plans[f.Name]
			if p.fails == nil {
				continue
			}
			fs := newFlowState(loc, f, nil)
			lastFailed := false
			n := 0
			for at := p.from; at.Before(p.to); at = at.Add(f.Interval) {
				run := probe.Run{ID: fmt.Sprintf("%s-%d", f.Name, at.Unix()), Flow: f.Name, Service: sv.Name, Location: loc,
					Start: at, Duration: 300 * time.Millisecond}
				failing := p.fails(at)
				steps := f.Steps
				if f.Session != nil && p.login(n, lastFailed) {
					steps = append(slices.Clone(f.Session.Steps), steps...)
				}
				failed := false
				lastFailed = false
				for _, st := range steps {
					r := probe.StepResult{Step: st.Name, Function: st.Function, Status: probe.StatusOK, HTTPStatus: 200, Duration: 100 * time.Millisecond, Attempts: 1}
					switch {
					case failed:
						r = probe.StepResult{Step: st.Name, Function: st.Function, Status: probe.StatusNotRun}
					case st.Name == failing:
						r.Status, r.HTTPStatus, r.Error = probe.StatusFailed, 503, "status 503, want 200"
						failed, lastFailed = true, true
					}
					run.Steps = append(run.Steps, r)
				}
				runs = append(runs, run)
				evs = append(evs, fs.machine.Observe(&run)...)
				n++
			}
		}
	}
	// A flow the config no longer has, down when the process stopped.
	gone := state.Window{Key: state.Key{Service: "svc", Flow: "removed", Function: "send", Location: loc}, Kind: state.KindDown,
		Start: now.Add(-20 * time.Minute), Confirmed: now.Add(-19 * time.Minute), CauseStep: "send", Error: "status 503"}
	evs = append(evs, state.Event{Op: state.OpOpen, Window: gone})
	runs = append(runs, probe.Run{ID: "removed-last", Flow: "removed", Service: "svc", Location: loc, Start: now.Add(-4 * time.Minute),
		Duration: time.Second, Steps: []probe.StepResult{{Step: "send", Function: "send", Status: probe.StatusFailed, Duration: time.Second, Attempts: 1}}})
	if err := s.AppendRuns(ctx, runs); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}

	// The restart.
	al := &recAlerter{}
	reg := prometheus.NewRegistry()
	d, err := New(cfg, Deps{Store: s, Clock: ClockworkClock(clockwork.NewFakeClockAt(now)), Registry: reg, Alerter: al, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	fss := d.flowList()
	slices.SortFunc(fss, func(a, b *flowState) int { return strings.Compare(a.name, b.name) })
	closed, err := d.restore(ctx, fss, now, func(string) time.Duration { return time.Minute }, false)
	if err != nil {
		t.Fatal(err)
	}

	var b bytes.Buffer
	ev := func(e state.Event) string {
		w := e.Window
		return fmt.Sprintf("%s %s/%s %s fn=%q %s..%s confirmed=%s cause=%q\n", e.Op, w.Service, w.Flow, w.Kind, w.Function,
			w.Start.UTC().Format(time.TimeOnly), w.End.UTC().Format(time.TimeOnly), w.Confirmed.UTC().Format(time.TimeOnly), w.CauseStep)
	}
	fmt.Fprintf(&b, "# closed (%d)\n", len(closed))
	for _, e := range closed {
		b.WriteString(ev(e))
	}
	al.mu.Lock()
	fmt.Fprintf(&b, "# alerter (%d)\n", len(al.evs))
	for _, e := range al.evs {
		b.WriteString(ev(e))
	}
	al.mu.Unlock()
	b.WriteString("# machines\n")
	for _, fs := range fss {
		fs.mu.Lock()
		m := fs.machine
		fmt.Fprintf(&b, "%s/%s %v confirming=%v last=%s", fs.service, fs.name, m.State(), m.Confirming(), m.LastRun().UTC().Format(time.TimeOnly))
		for fn, st := range m.Functions() {
			fmt.Fprintf(&b, " %s=%v", fn, st)
		}
		for _, w := range m.OpenWindows() {
			fmt.Fprintf(&b, " open[%s %q %s]", w.Kind, w.Function, w.Start.UTC().Format(time.TimeOnly))
		}
		b.WriteString("\n")
		fs.mu.Unlock()
	}
	b.WriteString("# metrics\n")
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, mf := range mfs {
		var mb bytes.Buffer
		if _, err := expfmt.MetricFamilyToText(&mb, mf); err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(mb.String(), "\n") {
			if strings.Contains(l, `flow="`) {
				lines = append(lines, l)
			}
		}
	}
	b.WriteString(strings.Join(lines, "\n") + "\n")

	golden := filepath.Join("testdata", "restore_snapshot.golden")
	if *updateRestore {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("restore differs from %s (-update-restore and git diff show all), first difference, want then got:\n%s", golden, firstDiff(string(want), b.String()))
	}
}

// failingRuns fails its store's Runs on the call numbered failOn (from 1).
type failingRuns struct {
	store.Store
	calls, failOn int
}

func (f *failingRuns) Runs(ctx context.Context, q store.Query) ([]probe.Run, error) {
	f.calls++
	if f.calls == f.failOn {
		return nil, errors.New("the database went away")
	}
	return f.Store.Runs(ctx, q)
}

// TestRestoreAfterAFailedReadCountsOnce: a restore whose read of recent
// history fails part way (the database went away between two batches) is
// made again once the store answers (a start without its store attaches
// later; detached.go), on the same flows: the downtime of a window a long
// stop made stale is counted once, and the flows are as one whole restore
// leaves them. A restore that resumed the flows of the batches read before
// the failure (and applied their stale closes to the metrics) counted it
// twice.
func TestRestoreAfterAFailedReadCountsOnce(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	const loc = "seoul-a"
	cfg := testConfig(time.Minute, "m")
	cfg.Services[0].Flows = append(cfg.Services[0].Flows, cfg.Services[0].Flows[0])
	hourly := &cfg.Services[0].Flows[1]
	hourly.Name, hourly.Interval = "h", time.Hour
	setup := func(t *testing.T) (*failingRuns, *Daemon, *prometheus.Registry) {
		s, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "s.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		var runs []probe.Run
		var evs []state.Event
		for _, f := range []*config.Flow{&cfg.Services[0].Flows[0], hourly} {
			fs := newFlowState(loc, f, nil)
			last := now.Add(-30 * time.Second) // m: a short stop
			if f == hourly {
				last = now.Add(-3 * time.Hour) // h: a long one, its window stale
			}
			for at := last.Add(-8 * f.Interval); !at.After(last); at = at.Add(f.Interval) {
				fail := ""
				if at.After(last.Add(-3 * f.Interval)) {
					fail = "send"
				}
				run := mkRun(f.Name, at, fail)
				runs = append(runs, run)
				evs = append(evs, fs.machine.Observe(&run)...)
			}
		}
		if err := s.AppendRuns(ctx, runs); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		fr := &failingRuns{Store: s}
		reg := prometheus.NewRegistry()
		d, err := New(cfg, Deps{Store: fr, Clock: ClockworkClock(clockwork.NewFakeClockAt(now)), Registry: reg, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return fr, d, reg
	}
	gone := func(string) time.Duration { return time.Minute }
	// One whole restore: what the flows and metrics should be.
	_, dw, regw := setup(t)
	closedW, err := dw.restore(ctx, dw.flowList(), now, gone, false)
	if err != nil {
		t.Fatal(err)
	}
	// A restore that fails at the second batch's read, then one that works.
	fr, d, reg := setup(t)
	fr.failOn = 2
	if _, err := d.restore(ctx, d.flowList(), now, gone, false); err == nil {
		t.Fatal("the restore whose second read failed returned no error")
	}
	if fr.calls != 2 {
		t.Fatalf("%d reads of runs, want 2 (the flows in two batches)", fr.calls)
	}
	closed, err := d.restore(ctx, d.flowList(), now, gone, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := eventsString(closed), eventsString(closedW); got != want {
		t.Errorf("closed %s, want %s", got, want)
	}
	for _, fn := range []string{"", "send", "receive"} {
		want, ok := sample(t, regw, "slaprobe_downtime_seconds_total", "flow", "h", "function", fn)
		if !ok || want != 3600 {
			t.Fatalf("h function %q: downtime %v s (%v) after one restore, want 3600 (its stale window to the end of the last run's interval)", fn, want, ok)
		}
		got, _ := sample(t, reg, "slaprobe_downtime_seconds_total", "flow", "h", "function", fn)
		if got != want {
			t.Errorf("h function %q: downtime %v s after a failed restore and another, want %v (one restore)", fn, got, want)
		}
	}
}

// failingFlow fails its store's Runs for a query that reads flow.
type failingFlow struct {
	store.Store
	flow string
}

func (f *failingFlow) Runs(ctx context.Context, q store.Query) ([]probe.Run, error) {
	if slices.Contains(q.Flows, f.flow) {
		return nil, errors.New("the database went away")
	}
	return f.Store.Runs(ctx, q)
}

// TestReloadRestoreFailureStartsAddedFlowsFresh: a reload whose read of
// the added flows' history fails ("reload: restoring new flows", README:
// "those flows start fresh") starts every added flow fresh, also those of
// a batch read before the failing one: none has a window restored from
// the store, none a slaprobe_window_open sample. A restore that resumes
// each batch as it is read left the flows of the first batch restored
// (down, window_open 1, no alert re-sent) and the others fresh.
func TestReloadRestoreFailureStartsAddedFlowsFresh(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	const loc = "seoul-a"
	s, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "s.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	next := testConfig(time.Minute, "m", "x", "y")
	next.Services[0].Flows[1].Interval = time.Hour // x: its own batch, read first
	var runs []probe.Run
	var evs []state.Event
	for _, f := range next.Services[0].Flows[1:] {
		fs := newFlowState(loc, &f, nil)
		last := now.Add(-10 * time.Minute)
		if f.Name == "y" {
			last = now.Add(-30 * time.Second)
		}
		for at := last.Add(-8 * f.Interval); !at.After(last); at = at.Add(f.Interval) {
			fail := ""
			if at.After(last.Add(-3 * f.Interval)) {
				fail = "send"
			}
			run := mkRun(f.Name, at, fail)
			runs = append(runs, run)
			evs = append(evs, fs.machine.Observe(&run)...)
		}
	}
	if err := s.AppendRuns(ctx, runs); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	fc := clockwork.NewFakeClockAt(now)
	d, err := New(testConfig(time.Minute, "m"), Deps{Store: &failingFlow{Store: s, flow: "y"}, Clock: ClockworkClock(fc), Registry: reg,
		Logger: slog.New(slog.DiscardHandler), Grace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(rctx) }()
	defer func() {
		cancel()
		<-done
	}()
	waitScheduler(t, d)
	if err := d.Reload(next); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"x", "y"} {
		d.mu.RLock()
		fs := d.flows[name]
		d.mu.RUnlock()
		fs.mu.Lock()
		open := fs.machine.OpenWindows()
		fs.mu.Unlock()
		if len(open) > 0 {
			t.Errorf("%s: %d windows restored after its history read failed, want it fresh", name, len(open))
		}
		if v, ok := sample(t, reg, "slaprobe_window_open", "flow", name); ok {
			t.Errorf("%s: slaprobe_window_open %v, want no sample (fresh)", name, v)
		}
	}
}

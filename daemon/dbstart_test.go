package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/slaprobe/slaprobe/alert"
	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// TestStartWithoutStore: a daemon restarted while its database cannot be
// reached (a store.Pending, as cmd/slaprobe gives it when the opening
// fails) probes anyway, holds its runs, and once the database answers
// stores the spool of the last stop, then the held runs, re-judged from the
// windows restored as of the start: the runs, the stored windows, the
// report's windows and the run counts are those of the same daemon whose
// database never failed (one window, from its original start, for the
// target down across the restart; closed at the right run when it
// recovered during the outage; every run stored once). Stopped while still
// unreachable, it keeps the held runs, which the next start re-judges the
// same way. Before, Run failed at once (exit 1): nothing was probed until
// the database came back.
func TestStartWithoutStore(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// Base runs at :08.3 every 10 s; down_after 2, up_after 2: the
	// target refuses from 60 s to 150 s.
	sc := phases(t0, map[string][]phase{"seoul-a": {{60 * time.Second, refused}, {150 * time.Second, pass}}})
	cases := []struct {
		name string
		// back: when the database answers again after the restart at
		// 105 s (0: not before the stop at stopAt).
		back, stopAt time.Duration
	}{
		{"back while the target is still down", 130 * time.Second, 0},
		{"back after the target recovered", 200 * time.Second, 0},
		{"stopped while still unreachable", 0, 170 * time.Second},
	}
	for _, db := range spoolDBs {
		for _, c := range cases {
			t.Run(db.name+"/"+c.name, func(t *testing.T) {
				type result struct {
					runs, windows  []string
					report, totals string
				}
				life := func(outage bool) result {
					st, refuse := db.open(t)
					r := &spoolRig{agreeRig: newAgreeRig(t, "0s", sc), st: st, spool: t.TempDir() + "/results.db.slaprobe-spool.jsonl"}
					r.start()
					r.until(t0, 40*time.Second)
					waitFor(t, "the first runs stored", func() bool { return r.d.writer.Stats().Queued == 0 && r.d.writer.Stats().Committed == 4 })
					if outage {
						refuse(true) // the database goes: the stop below spools
					}
					r.until(t0, 100*time.Second) // a window opened at 78.3 s
					if err := r.stop(); err != nil {
						t.Errorf("stop: %v", err)
					}
					var pending *store.Pending
					if outage {
						refuse(false)
						pending = store.NewPending(errors.New("dial tcp 127.0.0.1:5432: connect: connection refused"))
						r.next = pending
					}
					r.until(t0, 105*time.Second)
					d2 := r.start()
					if outage {
						waitFor(t, "the daemon started without its store", func() bool { return d2.detached.Load() })
						if ok, why := d2.Health(); ok || !strings.Contains(why, "store unreachable since start") {
							t.Errorf("/healthz while unreachable: %v %q", ok, why)
						}
					}
					if c.back > 0 {
						r.until(t0, c.back)
						if outage {
							pending.Set(st)
							r.until(t0, c.back+6*time.Second)
							waitFor(t, "the daemon attached", func() bool { return !d2.detached.Load() })
							if _, err := os.Stat(r.spool); err == nil {
								t.Error("the spool is still there once the store answered")
							}
						}
					} else {
						r.until(t0, c.stopAt)
						if err := r.stop(); err != nil {
							t.Errorf("stop while unreachable: %v", err)
						}
						if outage {
							if _, err := os.Stat(r.spool + ".held"); err != nil {
								t.Errorf("no held file after a stop without the store: %v", err)
							}
						}
						r.until(t0, c.stopAt+5*time.Second)
						r.start()
					}
					r.until(t0, 240*time.Second)
					if err := r.stop(); err != nil {
						t.Errorf("stop: %v", err)
					}
					for _, f := range []string{r.spool, r.spool + ".held"} {
						if _, err := os.Stat(f); err == nil {
							t.Errorf("%s left after the store took everything", f)
						}
					}
					ctx := context.Background()
					q := store.Query{From: t0, To: t0.Add(240 * time.Second)}
					var res result
					runs, err := st.Runs(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					for _, run := range runs {
						res.runs = append(res.runs, run.Start.UTC().Format(time.TimeOnly)+" "+string(run.Outcome()))
					}
					ws, err := st.Windows(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					for _, w := range ws {
						res.windows = append(res.windows, wholeSeconds(windowString(w)))
					}
					rec, err := report.Recompute(ctx, r.cfg, st, q)
					if err != nil {
						t.Fatal(err)
					}
					var recs []string
					for _, w := range rec {
						recs = append(recs, wholeSeconds(windowString(w)))
					}
					slices.Sort(res.windows)
					slices.Sort(recs)
					if !slices.Equal(res.windows, recs) {
						t.Errorf("stored windows differ from those recomputed from the runs:\n  %s\nrecomputed:\n  %s",
							strings.Join(res.windows, "\n  "), strings.Join(recs, "\n  "))
					}
					rw, err := report.Windows(ctx, report.Input{Config: r.cfg, Store: st, From: q.From, To: q.To, Now: q.To})
					if err != nil {
						t.Fatal(err)
					}
					res.report = wholeSecondsJSON(t, rw)
					tot, err := st.Totals(ctx, store.Query{From: q.From, To: q.To, RunsOnly: true})
					if err != nil {
						t.Fatal(err)
					}
					for i := range tot {
						tot[i].SumSeconds = 0
					}
					res.totals = fmt.Sprintf("%+v", tot)
					return res
				}
				want := life(false)
				got := life(true)
				if len(want.windows) == 0 {
					t.Error("no window stored: the target's outage was not seen")
				}
				if len(slices.Compact(slices.Clone(got.runs))) != len(got.runs) {
					t.Errorf("a run stored twice: %v", got.runs)
				}
				if !slices.Equal(got.runs, want.runs) {
					t.Errorf("runs stored:\n  %s\nwithout the database outage:\n  %s", strings.Join(got.runs, "\n  "), strings.Join(want.runs, "\n  "))
				}
				if !slices.Equal(got.windows, want.windows) {
					t.Errorf("windows:\n  %s\nwithout the database outage:\n  %s", strings.Join(got.windows, "\n  "), strings.Join(want.windows, "\n  "))
				}
				if got.report != want.report {
					t.Errorf("report windows:\n%s\nwithout the database outage:\n%s", got.report, want.report)
				}
				if got.totals != want.totals {
					t.Errorf("run counts:\n%s\nwithout the database outage:\n%s", got.totals, want.totals)
				}
			})
		}
	}
}

// TestStartWithoutStoreAlerts: the alerts a restart's state file brings
// back are held until the open windows are read from the store (so that
// one whose window closed during the stop is not re-sent, firing); a daemon
// that starts without its store cannot read them, and holding them let
// Alertmanager resolve the outage that was firing at the stop while it may
// go on: they are sent again at once (stopped 2 minutes, within the
// 4 x resend of the endsAt they were last sent with: Alertmanager has them
// still), and resolved once the store answers and has their window closed.
func TestStartWithoutStoreAlerts(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	win := state.Window{Key: state.Key{Service: "svc", Flow: "msg", Location: "seoul-a"}, Kind: state.KindDown,
		Start: now.Add(-90 * time.Minute), Confirmed: now.Add(-89 * time.Minute), CauseStep: "send", Error: "status 503"}
	var mu sync.Mutex
	var posts []string
	am := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		posts = append(posts, string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer am.Close()
	sent := func() string {
		mu.Lock()
		defer mu.Unlock()
		s := strings.Join(posts, "\n")
		posts = nil
		return s
	}
	opts := alert.Options{URLs: []string{am.URL}, Location: "seoul-a", StatePath: filepath.Join(t.TempDir(), "alerts.json"), SeverityDown: "page",
		Clock: clock.NewManual(now.Add(-2 * time.Minute))}
	before, err := alert.NewNotifier(opts)
	if err != nil {
		t.Fatal(err)
	}
	before.Handle([]state.Event{{Op: state.OpOpen, Window: win}})
	if err := before.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	sent()
	opts.Clock, opts.HoldUntilReconcile = clock.NewManual(now), true
	after, err := alert.NewNotifier(opts)
	if err != nil {
		t.Fatal(err)
	}
	// The store, once it answers, has the window closed during the stop.
	st := &fakeStore{lastRuns: map[string]time.Time{"msg": now.Add(-time.Minute)}}
	pending := store.NewPending(errors.New("connection refused"))
	fc := clockwork.NewFakeClockAt(now)
	d, err := New(testConfig(time.Minute, "msg"), Deps{Store: pending, Clock: ClockworkClock(fc), Grace: time.Second, Alerter: after})
	if err != nil {
		t.Fatal(err)
	}
	d.newWriter = func(store.WriterOptions) resultWriter { return &fakeWriter{} }
	d.jitter = func(string, string, time.Duration, time.Time) time.Duration { return 0 }
	setRunner(d, funcRunner(func(ctx context.Context, f *config.Flow) probe.Run { return mkRun(f.Name, fc.Now(), "") }))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	waitScheduler(t, d)
	if err := after.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sent(); !strings.Contains(got, `"alertname":"SlaprobeFlowDown"`) || !strings.Contains(got, `"startsAt":"`+win.Start.Format(time.RFC3339)) {
		t.Errorf("sent while the store is unreachable: %q, want the alert firing at the stop, with its start", got)
	}
	pending.Set(st)
	waitFor(t, "the store attached", func() bool {
		fc.Advance(time.Second)
		time.Sleep(5 * time.Millisecond)
		return !d.detached.Load()
	})
	if n := len(after.Active()); n != 0 {
		t.Errorf("%d alerts firing once the store says the window closed, want 0: %v", n, after.Active())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestStartWithoutStoreOutageGoesOn: a daemon started without its store
// and no alert state judges a flow down across the restart with a fresh
// machine, whose window (and alert) start at the restart; once the store
// answers, the restored window, open since 10:30, is the same outage. Its
// alert is to go on firing, dated from 10:30: before, Reconcile took the
// fresh alert (12:00:00) for one with no open window and resolved it ("resolved
// when slaprobe restarted"), and fired the 10:30 one with the same labels,
// so Alertmanager saw the outage resolved and fired again, a second page,
// while it never ended.
func TestStartWithoutStoreOutageGoesOn(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	win := state.Window{Key: state.Key{Service: "svc", Flow: "msg", Location: "seoul-a"}, Kind: state.KindDown,
		Start: now.Add(-90 * time.Minute), Confirmed: now.Add(-89 * time.Minute), CauseStep: "send", Error: "status 503"}
	var mu sync.Mutex
	var posts []alert.Alert
	am := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var as []alert.Alert
		if err := json.NewDecoder(r.Body).Decode(&as); err != nil {
			t.Errorf("decoding a push: %v", err)
		}
		mu.Lock()
		posts = append(posts, as...)
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer am.Close()
	sent := func() []alert.Alert {
		mu.Lock()
		defer mu.Unlock()
		s := posts
		posts = nil
		return s
	}
	nc := clock.NewManual(now)
	notifier, err := alert.NewNotifier(alert.Options{URLs: []string{am.URL}, Location: "seoul-a", StatePath: filepath.Join(t.TempDir(), "alerts.json"),
		SeverityDown: "page", Clock: nc, HoldUntilReconcile: true})
	if err != nil {
		t.Fatal(err)
	}
	st := &fakeStore{open: []state.Window{win}, lastRuns: map[string]time.Time{"msg": now.Add(-time.Minute)}}
	pending := store.NewPending(errors.New("connection refused"))
	fc := clockwork.NewFakeClockAt(now)
	d, err := New(testConfig(time.Minute, "msg"), Deps{Store: pending, Clock: ClockworkClock(fc), Grace: time.Second, Alerter: notifier})
	if err != nil {
		t.Fatal(err)
	}
	d.newWriter = func(store.WriterOptions) resultWriter { return &fakeWriter{} }
	d.jitter = func(string, string, time.Duration, time.Time) time.Duration { return 0 }
	setRunner(d, funcRunner(func(ctx context.Context, f *config.Flow) probe.Run { return mkRun(f.Name, fc.Now(), "send") }))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	waitScheduler(t, d)
	waitFor(t, "the fresh machine's window", func() bool {
		fc.Advance(time.Second)
		time.Sleep(2 * time.Millisecond)
		return len(notifier.Active()) > 0
	})
	nc.Set(fc.Now())
	if err := notifier.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	sent()
	pending.Set(st)
	waitFor(t, "the store attached", func() bool {
		fc.Advance(time.Second)
		time.Sleep(2 * time.Millisecond)
		return !d.detached.Load()
	})
	nc.Set(fc.Now())
	if err := notifier.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, a := range sent() {
		// A firing alert goes with an endsAt ahead (its expiry); a resolve
		// with one not after now.
		if a.Labels["alertname"] == "SlaprobeFlowDown" && !a.EndsAt.After(nc.Now()) {
			t.Errorf("the outage's alert resolved once the store answered, while its window is open: %+v", a)
		}
	}
	var flowDown []alert.Alert
	for _, a := range notifier.Active() {
		if a.Labels["alertname"] == "SlaprobeFlowDown" {
			flowDown = append(flowDown, a)
		}
	}
	if len(flowDown) != 1 || !flowDown[0].StartsAt.Equal(win.Start) {
		t.Errorf("SlaprobeFlowDown firing once the store answered: %+v, want one, from %s", flowDown, win.Start)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestStartWithoutStoreIntervalReloaded: a reload while the daemon has not
// reached its store changes a flow's interval from 5 minutes to 10 s; the
// held runs are re-judged as the live machine judged them, each by the
// interval in force when it ran, and the restore is as of the start with
// the interval then: the stored events are those of the daemon that had its
// store throughout. msg is down since 10:30, its last run at 11:59:58, the
// restart at 12:00, runs failing on, the reload at 12:11. Before, the
// restored machine took today's 10 s for everything: the restore as of
// 12:00 and the first held run 5 minutes after 11:59:58 closed the
// 10:30 window at 12:00:08, and every held 5-minute run stored an unknown
// stretch (12:00:08-12:04:58, 12:05:08-12:09:58), where the daemon with its
// store kept the window open to the reload.
func TestStartWithoutStoreIntervalReloaded(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	win := state.Window{Key: state.Key{Service: "svc", Flow: "msg", Location: "seoul-a"}, Kind: state.KindDown,
		Start: now.Add(-90 * time.Minute), Confirmed: now.Add(-89 * time.Minute), CauseStep: "send", Error: "status 503"}
	life := func(detached bool) (runs, evs []string) {
		st := &fakeStore{open: []state.Window{win}, lastRuns: map[string]time.Time{"msg": now.Add(-2 * time.Second)}}
		l := startLife(t, testConfig(5*time.Minute, "msg"), st, now, detached, failAt("send"))
		d, fw := l.d, l.fw
		l.advance(11 * time.Minute)
		waitFor(t, "two runs", func() bool { return d.processed.Load() >= 2 })
		if err := d.Reload(testConfig(10*time.Second, "msg")); err != nil {
			t.Fatal(err)
		}
		l.advance(12 * time.Minute)
		l.attach()
		l.stop()
		fw.mu.Lock()
		defer fw.mu.Unlock()
		for _, r := range fw.runs {
			if r.Start.Before(now.Add(12 * time.Minute)) {
				runs = append(runs, r.Start.Format(time.TimeOnly))
			}
		}
		for _, ev := range fw.events {
			w := ev.Window
			if ev.Op == state.OpCause || w.Start.After(now.Add(12*time.Minute)) {
				continue
			}
			evs = append(evs, fmt.Sprintf("%s %s %q %s-%s", ev.Op, w.Kind, w.Function, w.Start.Format(time.TimeOnly), w.End.Format(time.TimeOnly)))
		}
		slices.Sort(evs)
		return runs, evs
	}
	wantRuns, want := life(false)
	gotRuns, got := life(true)
	if !slices.Equal(gotRuns, wantRuns) {
		t.Fatalf("runs %v, with the store throughout %v", gotRuns, wantRuns)
	}
	if !slices.Equal(got, want) {
		t.Errorf("stored events:\n  %s\nwith the store throughout:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestHeldFileKeptUntilStored: the runs a stop without the store kept in
// SPOOL.held are in no other file once the next start, which reaches the
// database, has re-judged them into its writer: the held file stays until
// the writer has committed them, or until a stop has kept what it did not
// commit in the spool. The database answers but takes no write (SQLite
// locked by another process, PostgreSQL that fails its first commits):
// before, the held file was removed as soon as the runs were in the
// writer's memory, and a kill (OOM, SIGKILL, a host reboot) then lost
// every run held, up to 50,000, where a spool is removed only once stored.
func TestHeldFileKeptUntilStored(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sc := phases(t0, map[string][]phase{"seoul-a": {{60 * time.Second, refused}, {150 * time.Second, pass}}})
	st, refuse := spoolDBs[0].open(t)
	r := &spoolRig{agreeRig: newAgreeRig(t, "0s", sc), st: st, spool: t.TempDir() + "/results.db.slaprobe-spool.jsonl"}
	r.next = store.NewPending(errors.New("database is locked"))
	d := r.start()
	waitFor(t, "the daemon started without its store", func() bool { return d.detached.Load() })
	r.until(t0, 100*time.Second)
	held := d.heldCount()
	if held == 0 {
		t.Fatal("no run held")
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	heldFile := r.spool + ".held"
	if _, err := os.Stat(heldFile); err != nil {
		t.Fatal(err)
	}
	stored := func() int {
		runs, err := st.Runs(context.Background(), store.Query{From: t0, To: t0.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return len(runs)
	}
	refuse(true)
	r.until(t0, 105*time.Second)
	d = r.start()
	r.until(t0, 120*time.Second)
	if _, err := os.Stat(heldFile); err != nil && stored() < held {
		t.Errorf("the held file is gone while %d of its %d runs are stored, the rest in memory only", stored(), held)
	}
	if err := r.stop(); err != nil {
		t.Logf("stop with the store locked: %v", err)
	}
	_, errHeld := os.Stat(heldFile)
	_, errSpool := os.Stat(r.spool)
	if errHeld == nil || errSpool != nil {
		t.Errorf("after a stop that spooled: held file %v, spool %v; want the spool only (the held runs in it)", errHeld, errSpool)
	}
	refuse(false)
	r.until(t0, 125*time.Second)
	r.start()
	r.until(t0, 140*time.Second)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	runs, err := st.Runs(context.Background(), store.Query{From: t0, To: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var starts []string
	for _, run := range runs {
		starts = append(starts, run.Start.UTC().Format(time.TimeOnly))
	}
	if n := len(slices.Compact(slices.Clone(starts))); n != len(starts) || n < held {
		t.Errorf("runs stored: %v, want each once and the %d held among them", starts, held)
	}
}

// TestHeldFileOfNewerSlaprobe: a held file (SPOOL.held) a newer slaprobe
// wrote (a downgrade after a stop without the store) is moved aside, as a
// spool of a newer slaprobe is, and the daemon starts; before, every start
// failed (exit 1, "reading the runs held at the last stop: ... is format
// 2") until someone removed the file: nothing was probed.
func TestHeldFileOfNewerSlaprobe(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	spool := filepath.Join(t.TempDir(), "results.db.slaprobe-spool.jsonl")
	run := mkRun("msg", now.Add(-time.Minute), "")
	if _, err := store.WriteSpool(spool+".held", "seoul-a", now.Add(-time.Hour), []store.SpoolItem{{Run: &run}}, 0); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(spool + ".held")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(spool+".held", []byte(strings.Replace(string(b), `{"slaprobe_spool":2,`, `{"slaprobe_spool":3,`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	fc := clockwork.NewFakeClockAt(now)
	d, err := New(testConfig(time.Minute, "msg"), Deps{Store: &fakeStore{}, Clock: ClockworkClock(fc), Grace: time.Second, SpoolFile: spool})
	if err != nil {
		t.Fatal(err)
	}
	d.newWriter = func(store.WriterOptions) resultWriter { return &fakeWriter{} }
	setRunner(d, funcRunner(func(ctx context.Context, f *config.Flow) probe.Run { return mkRun(f.Name, fc.Now(), "") }))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	waitFor(t, "the daemon started or failed", func() bool {
		if len(done) > 0 {
			return true
		}
		d.mu.RLock()
		defer d.mu.RUnlock()
		return d.sched != nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	aside, _ := filepath.Glob(spool + ".held.unreadable-*")
	if _, err := os.Stat(spool + ".held"); err == nil || len(aside) != 1 {
		t.Errorf("held file of a newer slaprobe: still there %v, moved aside to %v", err == nil, aside)
	}
}

// TestStartWithoutStoreDowntimeCounted: slaprobe_downtime_seconds_total of
// a daemon started without its store reads, once the store answers, what
// the daemon that had its store counted: msg down since 10:30, its last
// stored run at 11:59, the restart at 12:00, runs failing every minute
// (down_after 2). The fresh machine counts from its own window's start
// (12:00:58); the restored window, the same outage, counts from the last
// stored run, as a start with the store does. Before, the stretch from
// 11:59 to the fresh window's start (118 s here; down_after intervals and
// the restart's gap in general) was never counted.
func TestStartWithoutStoreDowntimeCounted(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	win := state.Window{Key: state.Key{Service: "svc", Flow: "msg", Location: "seoul-a"}, Kind: state.KindDown,
		Start: now.Add(-90 * time.Minute), Confirmed: now.Add(-89 * time.Minute), CauseStep: "send", Error: "status 503"}
	life := func(detached bool) (float64, []string) {
		st := &fakeStore{open: []state.Window{win}, lastRuns: map[string]time.Time{"msg": now.Add(-time.Minute)}}
		l := startLife(t, testConfig(time.Minute, "msg"), st, now, detached, failAt("send"))
		d, fw := l.d, l.fw
		l.advance(5 * time.Minute)
		l.attach()
		// One run more, through the restored machine.
		l.advance(6 * time.Minute)
		waitFor(t, "six runs", func() bool { return d.processed.Load() >= 6 })
		l.stop()
		runs, _ := fw.snapshot()
		var starts []string
		for _, r := range runs {
			starts = append(starts, r.Start.Format(time.TimeOnly))
		}
		return testutil.ToFloat64(d.m.downtime.WithLabelValues("msg", "svc", "")), starts
	}
	want, wantRuns := life(false)
	got, gotRuns := life(true)
	if !slices.Equal(gotRuns, wantRuns) {
		t.Fatalf("runs %v, with the store throughout %v", gotRuns, wantRuns)
	}
	if got != want {
		t.Errorf("slaprobe_downtime_seconds_total{flow=msg,function=\"\"} %v, with the store throughout %v", got, want)
	}
}

// slotStart is the scheduled time of the run of f firing now: a run the
// fake clock's steps let start a second late (a loaded machine) is dated
// as it was due, so that two lives compare.
func slotStart(d *Daemon, fc clockwork.Clock, f *config.Flow) time.Time {
	d.mu.RLock()
	fs := d.flows[f.Name]
	d.mu.RUnlock()
	fs.mu.Lock()
	anchor := fs.anchor
	fs.mu.Unlock()
	return DueAt(anchor, f.Interval, fc.Now())
}

// TestStartWithoutStoreDowntimeSeriesSparse: once the store answers, a
// daemon started without it has the slaprobe_downtime_seconds_total series
// the daemon that had its store has: one for a flow or function that had a
// down window, none for the others (the series are sparse, as README's
// Metrics section says). msg is down since 10:30 (its send and receive
// functions too), ok passes throughout. Before, reading what the fresh
// machines had counted (4334a91) made a zero series for every flow and
// every function of the config: here ok and its login, send and receive,
// and msg's login; 40,000 series for 10,000 flows of three functions.
func TestStartWithoutStoreDowntimeSeriesSparse(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	win := state.Window{Key: state.Key{Service: "svc", Flow: "msg", Location: "seoul-a"}, Kind: state.KindDown,
		Start: now.Add(-90 * time.Minute), Confirmed: now.Add(-89 * time.Minute), CauseStep: "send", Error: "status 503"}
	life := func(detached bool) []string {
		st := &fakeStore{open: []state.Window{win}, lastRuns: map[string]time.Time{"msg": now.Add(-time.Minute), "ok": now.Add(-time.Minute)}}
		l := startLife(t, testConfig(time.Minute, "msg", "ok"), st, now, detached, func(flow string) string {
			if flow == "ok" {
				return ""
			}
			return "send"
		})
		d := l.d
		l.advance(3 * time.Minute)
		l.attach()
		waitFor(t, "six runs", func() bool { return d.processed.Load() >= 6 })
		l.stop()
		return l.series(d.m.downtime)
	}
	want := life(false)
	got := life(true)
	if !slices.Equal(got, want) {
		t.Errorf("slaprobe_downtime_seconds_total series:\n  %s\nwith the store throughout:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestStartWithoutStoreFlowRemoved: a reload while the daemon has not
// reached its store removes a flow whose window is open; once the store
// answers, the stored window ends where the live machine ended it, at the
// reload, as the daemon that had its store throughout stored it (closeAll).
// msg is down since 10:30, its last run at 11:59:58, every 5 minutes, the
// restart at 12:00, runs failing on (12:04:58, 12:09:58), msg removed at
// 12:11. Before, the removed flow had no restored machine and its held
// runs were judged by none: the attach closed its window as a flow gone
// before the start (orphaned), at 12:00:00, two failing runs before the
// end the daemon with its store stored (12:11:00).
func TestStartWithoutStoreFlowRemoved(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	win := state.Window{Key: state.Key{Service: "svc", Flow: "msg", Location: "seoul-a"}, Kind: state.KindDown,
		Start: now.Add(-90 * time.Minute), Confirmed: now.Add(-89 * time.Minute), CauseStep: "send", Error: "status 503"}
	life := func(detached bool) []string {
		st := &fakeStore{open: []state.Window{win}, lastRuns: map[string]time.Time{"msg": now.Add(-2 * time.Second)}}
		l := startLife(t, testConfig(5*time.Minute, "msg", "other"), st, now, detached, failAt("send"))
		d := l.d
		l.advance(11 * time.Minute)
		waitFor(t, "msg's two runs", func() bool { return d.processed.Load() >= 4 })
		if err := d.Reload(testConfig(5*time.Minute, "other")); err != nil {
			t.Fatal(err)
		}
		l.advance(12 * time.Minute)
		l.attach()
		l.stop()
		return l.removedFlow("msg")
	}
	want := life(false)
	got := life(true)
	if !slices.Equal(got, want) {
		t.Errorf("msg's stored events:\n  %s\nwith the store throughout:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestStartWithoutStoreFunctionRemovedSeries: a reload while the daemon has
// not reached its store removes a function of a down flow (msg's receive);
// the reload deletes its series, and once the store answers the daemon has
// the slaprobe_downtime_seconds_total series the daemon that had its store
// has: none for receive. Before, raising the counter to what the re-judging
// counted (4334a91) made receive's series again, for a function the config
// no longer has, for as long as the process ran.
func TestStartWithoutStoreFunctionRemovedSeries(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	win := state.Window{Key: state.Key{Service: "svc", Flow: "msg", Location: "seoul-a"}, Kind: state.KindDown,
		Start: now.Add(-90 * time.Minute), Confirmed: now.Add(-89 * time.Minute), CauseStep: "send", Error: "status 503"}
	withoutReceive := testConfig(time.Minute, "msg")
	f := &withoutReceive.Services[0].Flows[0]
	f.Steps = f.Steps[:2]
	life := func(detached bool) []string {
		st := &fakeStore{open: []state.Window{win}, lastRuns: map[string]time.Time{"msg": now.Add(-time.Minute)}}
		l := startLife(t, testConfig(time.Minute, "msg"), st, now, detached, failAt("send"))
		d := l.d
		l.advance(3 * time.Minute)
		waitFor(t, "three runs", func() bool { return d.processed.Load() >= 3 })
		if err := d.Reload(withoutReceive); err != nil {
			t.Fatal(err)
		}
		l.advance(5 * time.Minute)
		l.attach()
		l.stop()
		return l.series(d.m.downtime)
	}
	want := life(false)
	got := life(true)
	if !slices.Equal(got, want) {
		t.Errorf("slaprobe_downtime_seconds_total series:\n  %s\nwith the store throughout:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestHeldFileAfterKillNotJudgedTwice: the held file stays until the runs
// re-judged from it are committed (aa2d5ba), so a kill after the commit and
// before its removal leaves it with its runs in the store. The next start
// judges them again on top of a store that holds them: it must store
// nothing more. The target refused from 60 s to 150 s; a start without the
// store from 0 s to 100 s held its runs, the next (with it) stored them and
// the recovery at 150 s; the held file is put back as that kill leaves it.
func TestHeldFileAfterKillNotJudgedTwice(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sc := phases(t0, map[string][]phase{"seoul-a": {{60 * time.Second, refused}, {150 * time.Second, pass}}})
	st, _ := spoolDBs[0].open(t)
	r := &spoolRig{agreeRig: newAgreeRig(t, "0s", sc), st: st, spool: t.TempDir() + "/results.db.slaprobe-spool.jsonl"}
	r.next = store.NewPending(errors.New("connection refused"))
	d := r.start()
	waitFor(t, "the daemon started without its store", func() bool { return d.detached.Load() })
	r.until(t0, 100*time.Second)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	heldFile := r.spool + ".held"
	kept, err := os.ReadFile(heldFile)
	if err != nil {
		t.Fatal(err)
	}
	r.until(t0, 105*time.Second)
	r.start()
	r.until(t0, 200*time.Second)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	windows := func() []string {
		ws, err := st.Windows(context.Background(), store.Query{From: t0, To: t0.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, w := range ws {
			if w.Kind == state.KindUnknown {
				continue
			}
			out = append(out, fmt.Sprintf("%s %s %q %s-%s", w.Flow, w.Kind, w.Function, w.Start.Format(time.TimeOnly), w.End.Format(time.TimeOnly)))
		}
		slices.Sort(out)
		return out
	}
	want := windows()
	if err := os.WriteFile(heldFile, kept, 0o600); err != nil {
		t.Fatal(err)
	}
	r.until(t0, 205*time.Second)
	r.start()
	r.until(t0, 260*time.Second)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if got := windows(); !slices.Equal(got, want) {
		t.Errorf("stored windows after the held file was judged again:\n  %s\nbefore:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestStartWithoutStoreFlowChangedThenRemoved: as
// TestStartWithoutStoreFlowRemoved, but a first reload, at 12:06, took msg
// from every 5 minutes to every 10 s before the second removed it at
// 12:11: the runs held between are judged by the 10 s machine, as the
// live one judged them, up to the removal.
func TestStartWithoutStoreFlowChangedThenRemoved(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	win := state.Window{Key: state.Key{Service: "svc", Flow: "msg", Location: "seoul-a"}, Kind: state.KindDown,
		Start: now.Add(-90 * time.Minute), Confirmed: now.Add(-89 * time.Minute), CauseStep: "send", Error: "status 503"}
	life := func(detached bool) []string {
		st := &fakeStore{open: []state.Window{win}, lastRuns: map[string]time.Time{"msg": now.Add(-2 * time.Second)}}
		l := startLife(t, testConfig(5*time.Minute, "msg", "other"), st, now, detached, failAt("send"))
		d := l.d
		l.advance(6 * time.Minute)
		waitFor(t, "msg's first run", func() bool { return d.processed.Load() >= 2 })
		if err := d.Reload(testConfig(10*time.Second, "msg", "other")); err != nil {
			t.Fatal(err)
		}
		l.advance(11 * time.Minute)
		waitFor(t, "msg's runs every 10 s", func() bool { return d.processed.Load() >= 30 })
		if err := d.Reload(testConfig(5*time.Minute, "other")); err != nil {
			t.Fatal(err)
		}
		l.advance(12 * time.Minute)
		l.attach()
		l.stop()
		return l.removedFlow("msg")
	}
	want := life(false)
	got := life(true)
	if !slices.Equal(got, want) {
		t.Errorf("msg's stored events:\n  %s\nwith the store throughout:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// dbLife is one of the two daemons the tests of a start without the store
// compare: cfg in virtual time from now over st, or (detached) over a
// store.Pending that gets st at attach, its runs failing at the step fail
// names for their flow ("" passes), dated at their slot (slotStart).
type dbLife struct {
	t        *testing.T
	d        *Daemon
	fc       *clockwork.FakeClock
	fw       *fakeWriter
	st       *fakeStore
	pending  *store.Pending
	now      time.Time
	detached bool
	cancel   context.CancelFunc
	done     chan error
}

// failAt is a dbLife's runs failing at step for every flow.
func failAt(step string) func(flow string) string {
	return func(string) string { return step }
}

func startLife(t *testing.T, cfg *config.Config, st *fakeStore, now time.Time, detached bool, fail func(flow string) string) *dbLife {
	t.Helper()
	l := &dbLife{t: t, st: st, now: now, detached: detached, fc: clockwork.NewFakeClockAt(now), fw: &fakeWriter{},
		pending: store.NewPending(errors.New("connection refused")), done: make(chan error, 1)}
	var s store.Store = st
	if detached {
		s = l.pending
	}
	d, err := New(cfg, Deps{Store: s, Clock: ClockworkClock(l.fc), Grace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	l.d = d
	d.newWriter = func(store.WriterOptions) resultWriter { return l.fw }
	d.jitter = func(string, string, time.Duration, time.Time) time.Duration { return 0 }
	setRunner(d, funcRunner(func(ctx context.Context, f *config.Flow) probe.Run {
		return mkRun(f.Name, slotStart(d, l.fc, f), fail(f.Name))
	}))
	var ctx context.Context
	ctx, l.cancel = context.WithCancel(context.Background())
	go func() { l.done <- d.Run(ctx) }()
	waitScheduler(t, d)
	return l
}

// advance moves the clock to now+to a second at a time, letting the runs
// due meanwhile fire.
func (l *dbLife) advance(to time.Duration) {
	for l.fc.Now().Before(l.now.Add(to)) {
		l.fc.Advance(time.Second)
		time.Sleep(time.Millisecond)
	}
}

// attach gives a detached life its store and waits until the daemon has
// taken it.
func (l *dbLife) attach() {
	if !l.detached {
		return
	}
	l.pending.Set(l.st)
	waitFor(l.t, "the store attached", func() bool {
		l.fc.Advance(time.Second)
		time.Sleep(2 * time.Millisecond)
		return !l.d.detached.Load()
	})
}

func (l *dbLife) stop() {
	l.cancel()
	if err := <-l.done; err != nil {
		l.t.Fatal(err)
	}
}

// series are c's series, each as its labels name=value,..., sorted.
func (l *dbLife) series(c prometheus.Collector) []string {
	ch := make(chan prometheus.Metric, 64)
	go func() { c.Collect(ch); close(ch) }()
	var series []string
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			l.t.Fatal(err)
		}
		var ls []string
		for _, lp := range pb.GetLabel() {
			ls = append(ls, lp.GetName()+"="+lp.GetValue())
		}
		series = append(series, strings.Join(ls, ","))
	}
	slices.Sort(series)
	return series
}

// removedFlow is what a stopped life kept of a flow a reload removed: its
// window and downtime series (none, as after the reload; the restore made
// some for its machine) and its stored window events, sorted.
func (l *dbLife) removedFlow(flow string) []string {
	var evs []string
	for _, c := range []prometheus.Collector{l.d.m.windowOpen, l.d.m.downtime} {
		for _, ls := range l.series(c) {
			if strings.Contains(","+ls+",", ",flow="+flow+",") {
				evs = append(evs, "series "+ls)
			}
		}
	}
	l.fw.mu.Lock()
	defer l.fw.mu.Unlock()
	for _, ev := range l.fw.events {
		w := ev.Window
		if ev.Op == state.OpCause || w.Flow != flow {
			continue
		}
		evs = append(evs, fmt.Sprintf("%s %s %q %s-%s", ev.Op, w.Kind, w.Function, w.Start.Format(time.TimeOnly), w.End.Format(time.TimeOnly)))
	}
	slices.Sort(evs)
	return evs
}

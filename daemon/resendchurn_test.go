package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/slaprobe/slaprobe/alert"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/report"
)

// TestAlertStartedBetweenAcrossRestart: a live daemon in virtual time
// (America/New_York) against an httptest target answering 503 from
// 12:00:45, its notifier running as cmd/slaprobe runs it with a state file
// and resend 3 h (so that only changes are sent), stopped after an hour
// with the window open and started again 3 s later (the window resumed
// from the store), stopped again 10 minutes on. Each alert's
// started_between is one value throughout, the restart's too: the bounds
// `windows --format json` gives the stored window, rounded outwards to the
// second (with the resumed window's LastBefore dropped it read "? and
// ..." after the restart). And since a firing alert is now sent again
// whenever any annotation changes (a767663), it is sent firing only around
// its open, the stops and the restart, 3 or 4 times for some 420 runs, as
// ac78718 sent it: a prober alone renders an alert at its window's events
// only (open, cause, close, a restart's replay), so an annotation that
// moved with the clock would not be sent every run either (tried: a "for"
// annotation of the window's age changes nothing here; the fleet's verdicts
// are TestOpenWindowNotResentEveryVerdict's).
func TestAlertStartedBetweenAcrossRestart(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	fc := clockwork.NewFakeClockAt(t0)
	failFrom := t0.Add(45 * time.Second)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fc.Now().Before(failFrom) {
			fc.Sleep(200 * time.Millisecond)
			w.WriteHeader(http.StatusOK)
			return
		}
		fc.Sleep(1500 * time.Millisecond)
		http.Error(w, "hub draining", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	type push struct {
		at          time.Time
		firing      bool
		between     string
		description string
	}
	var mu sync.Mutex
	pushes := map[string][]push{} // alertname/function -> its pushes
	am := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var as []alert.Alert
		if err := json.Unmarshal(b, &as); err != nil {
			t.Errorf("fake Alertmanager: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		now := fc.Now()
		for _, a := range as {
			k := a.Labels["alertname"] + "/" + a.Labels["function"]
			pushes[k] = append(pushes[k], push{now, a.EndsAt.After(now), a.Annotations["started_between"], a.Annotations["description"]})
		}
	}))
	t.Cleanup(am.Close)
	cfg, err := config.Parse("resend.yaml", fmt.Appendf(nil, `
location: seoul-a
timezone: America/New_York
defaults: {interval: 10s, timeout: 5s, down_after: 2, up_after: 1}
services:
  - name: svc
    flows:
      - name: f
        steps:
          - {name: get, function: get, request: {url: %q}}
`, srv.URL+"/"), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st := tempSQLite(t)
	statePath := filepath.Join(t.TempDir(), "alerts.json")
	r := &agreeRig{t: t, fc: fc, st: st, cfg: cfg, live: map[string]*agreeDaemon{}, step: 500 * time.Millisecond}
	start := func() (stop func()) {
		n, err := alert.NewNotifier(alert.Options{URLs: []string{am.URL}, Location: "seoul-a", StatePath: statePath,
			Clock: ClockworkClock(fc), Resend: 3 * time.Hour, Zone: cfg.Loc})
		if err != nil {
			t.Fatal(err)
		}
		d, err := New(cfg, Deps{Store: st, Clock: ClockworkClock(fc), Grace: 5 * time.Second, Alerter: n})
		if err != nil {
			t.Fatal(err)
		}
		dctx, cancel := context.WithCancel(ctx)
		a := &agreeDaemon{d: d, cancel: cancel, done: make(chan error, 1)}
		nctx, ncancel := context.WithCancel(ctx)
		ndone := make(chan struct{})
		go func() { a.done <- d.Run(dctx) }()
		go func() { _ = n.Run(nctx); close(ndone) }()
		waitScheduler(t, d)
		r.live["seoul-a"] = a
		return func() {
			r.stop("seoul-a")
			ncancel()
			for waiting := true; waiting; {
				select {
				case <-ndone:
					waiting = false
				case <-time.After(5 * time.Millisecond):
					fc.Advance(r.step)
				}
			}
		}
	}
	stop := start()
	t.Cleanup(func() { r.stop("seoul-a") })
	r.advance(time.Hour)
	stop()
	fc.Advance(3 * time.Second)
	stop = start()
	r.advance(10 * time.Minute)
	stop()

	// The stored window's bounds, as `windows --format json` gives them.
	to := fc.Now()
	ws, err := report.Windows(ctx, report.Input{Config: cfg, Store: st, From: t0, To: to.Add(time.Hour), Now: to})
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 || ws[0].End != nil || ws[0].StartUncertaintySeconds == nil || ws[0].StartUncertaintyLaterSeconds == nil {
		t.Fatalf("want the flow's and get's windows open with both bounds: %+v", ws)
	}
	lo, hi := ws[0].StartBounds()
	if c := hi.Truncate(time.Second); c.Before(hi) {
		hi = c.Add(time.Second)
	}
	want := lo.Truncate(time.Second).In(cfg.Loc).Format(time.RFC3339) + " and " + hi.In(cfg.Loc).Format(time.RFC3339)

	mu.Lock()
	defer mu.Unlock()
	if len(pushes) != 2 {
		t.Fatalf("pushed %d alerts, want 2 (the flow's and get's): %v", len(pushes), pushes)
	}
	for k, ps := range pushes {
		firing := 0
		for i, p := range ps {
			if !p.firing {
				t.Errorf("%s resolved at %s", k, p.at.Format("15:04:05"))
			}
			// A new cause is sent (the description says it): on a machine
			// loaded enough that a run waits out its 5 s timeout (the
			// target's 1.5 s sleep is on the fake clock the rig advances),
			// the window's cause changes and changes back; that is no
			// churn of started_between.
			if i == 0 || p.description == ps[i-1].description {
				firing++
			}
			if p.between != want {
				t.Errorf("%s sent at %s with started_between %q, want %q (windows --format json's)", k, p.at.Format("15:04:05"), p.between, want)
			}
		}
		if firing > 4 {
			var at []string
			for _, p := range ps {
				at = append(at, p.at.Format("15:04:05")+" "+p.description)
			}
			t.Errorf("%s sent firing %d times (%v), want at most 4: at its open, the stops and the restart", k, firing, at)
		}
	}
}

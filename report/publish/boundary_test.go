package publish

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// TestCycleWaitsForTheMonthsLastRuns: a cycle at the very end of a month
// (schedule "@monthly" or "0 0 1 * *", or every minute) used to build it at
// once, while a run that began in its last seconds was still in flight or
// in the store writer's batch: version 1 lacked that run, and the next
// cycle (a minute later with "* * * * *", a month later with "@monthly")
// made and delivered a version 2 of a month long finished. A cycle within a
// run's length of the month's end now waits until the month's runs are all
// in, then builds it once.
func TestCycleWaitsForTheMonthsLastRuns(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after time.Duration // when the cycle runs, after the month's end
	}{
		{"at the end", 0},
		{"a second after", time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(filepath.Join(dir, "reports"))
			cfg.Services[0].Flows[0].Timeout = 30 * time.Second
			s := openStore(t, dir)
			oct := time.Date(2022, 10, 1, 0, 0, 0, 0, cfg.Loc)
			nov := time.Date(2022, 11, 1, 0, 0, 0, 0, cfg.Loc)
			fill(t, s, oct, nov.Add(-5*time.Minute)) // every 10 minutes up to 23:50
			// The month's last run began at 23:59:50 and takes 20 s: it is
			// stored after the month has ended.
			late := nov.Add(-10 * time.Second)
			lastRun := probe.Run{ID: "late", Flow: "chat", Service: "messaging", Location: "seoul-a", Start: late, Duration: 20 * time.Second,
				Steps: []probe.StepResult{{Step: "send", Function: "send", Status: probe.StatusOK}, {Step: "receive", Function: "receive", Status: probe.StatusOK}}}

			fc := clockwork.NewFakeClockAt(nov.Add(tc.after))
			p, err := New(cfg, Options{Store: s, Clock: cwClock{fc}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- p.Cycle(ctx) }()
			waiting := make(chan struct{})
			go func() {
				if fc.BlockUntilContext(ctx, 1) == nil {
					close(waiting)
				}
			}()
			select {
			case err := <-done:
				// Built at once, without the run still in flight.
				if err != nil {
					t.Fatal(err)
				}
				if err := s.AppendRuns(ctx, []probe.Run{lastRun}); err != nil {
					t.Fatal(err)
				}
				fc.Advance(time.Minute)
				if err := p.Cycle(ctx); err != nil {
					t.Fatal(err)
				}
			case <-waiting:
				if err := s.AppendRuns(ctx, []probe.Run{lastRun}); err != nil {
					t.Fatal(err)
				}
				fc.Advance(time.Hour)
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				if err := p.Cycle(ctx); err != nil { // the next cycle: nothing changed
					t.Fatal(err)
				}
			}
			vs, err := s.ReportVersions(ctx, "2022-10")
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) != 1 {
				t.Errorf("%d versions of 2022-10, want 1: %+v", len(vs), vs)
			}
			b, err := os.ReadFile(filepath.Join(dir, "reports", "2022-10", "v1", "report.json"))
			if err != nil {
				t.Fatal(err)
			}
			var rep struct {
				Services []struct {
					Runs int64 `json:"runs"`
				} `json:"services"`
			}
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatal(err)
			}
			// 31 days x 144 runs a day (00:00 to 23:50), plus the late one.
			if want := int64(31*144 + 1); rep.Services[0].Runs != want {
				t.Errorf("version 1 has %d runs, want %d (the month's last run included)", rep.Services[0].Runs, want)
			}
		})
	}
}

// TestCycleWaitsTwoIntervalsAfterTheMonth: whether the time after a
// month's last run is unknown is known once two intervals have passed
// without a run (report.Build). A prober whose last run of a month was 20
// minutes before its end (15-minute interval) had the month built a minute
// after the end with those minutes up, then, once no run had come for two
// intervals, rebuilt as a version 2 with the last 5 of them unknown. The
// cycle now waits two intervals as well.
func TestCycleWaitsTwoIntervalsAfterTheMonth(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(filepath.Join(dir, "reports"))
	cfg.Services[0].Flows[0].Timeout = 30 * time.Second
	cfg.Services[0].Flows[0].Interval = 15 * time.Minute // fill runs more often: every 10 minutes
	s := openStore(t, dir)
	oct := time.Date(2022, 10, 1, 0, 0, 0, 0, cfg.Loc)
	nov := time.Date(2022, 11, 1, 0, 0, 0, 0, cfg.Loc)
	fill(t, s, oct, nov.Add(-15*time.Minute)) // the last run at 23:40; then the prober stops
	fc := clockwork.NewFakeClockAt(nov.Add(time.Minute))
	p, err := New(cfg, Options{Store: s, Clock: cwClock{fc}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Cycle(ctx) }()
	waiting := make(chan struct{})
	go func() {
		if fc.BlockUntilContext(ctx, 1) == nil {
			close(waiting)
		}
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-waiting:
		fc.Advance(time.Hour)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	fc.Advance(time.Hour) // the next cycle, the prober still stopped
	if err := p.Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	vs, err := s.ReportVersions(ctx, "2022-10")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 {
		t.Errorf("%d versions of 2022-10, want 1: %+v", len(vs), vs)
	}
}

// TestStartupDeliversWhileWaitingForTheMonth: a prober started just after
// a month's end waits for that month's last runs before its report (two
// of the longest interval: two hours with hourly flows), but the deliveries
// already due go out meanwhile. Before, the startup cycle's wait held the
// delivery loop too, and a September report still to deliver waited with
// October's.
func TestStartupDeliversWhileWaitingForTheMonth(t *testing.T) {
	got := make(chan string, 4)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.URL.Path
	}))
	defer recv.Close()
	dir := t.TempDir()
	cfg := testConfig(filepath.Join(dir, "reports"))
	cfg.Services[0].Flows[0].Interval = time.Hour
	cfg.Reports.Webhooks = []config.Webhook{{URL: recv.URL + "/hook"}}
	s := openStore(t, dir)
	sep := time.Date(2022, 9, 1, 0, 0, 0, 0, cfg.Loc)
	nov := time.Date(2022, 11, 1, 0, 0, 0, 0, cfg.Loc)
	fill(t, s, sep, nov.Add(-time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// September's report made on 5 October, its delivery not yet done.
	early, err := New(cfg, Options{Store: s, Clock: cwClock{clockwork.NewFakeClockAt(time.Date(2022, 10, 5, 0, 0, 0, 0, cfg.Loc))}})
	if err != nil {
		t.Fatal(err)
	}
	if err := early.Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	// The prober starts a minute into November: October's report waits
	// (the fake clock does not move), September's delivery does not.
	fc := clockwork.NewFakeClockAt(nov.Add(time.Minute))
	p, err := New(cfg, Options{Store: s, Clock: cwClock{fc}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	select {
	case path := <-got:
		if path != "/hook" {
			t.Errorf("delivered to %s", path)
		}
	case <-time.After(10 * time.Second): // wall clock: the fake one stands still
		t.Error("September's pending delivery waited for October's report")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	vs, err := s.ReportVersions(context.Background(), "2022-10")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 0 {
		t.Errorf("October made before its last runs could be in: %+v", vs)
	}
}

package daemon

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// TestClockStepLogged: a step of the wall clock of a second or more is
// logged ("wall clock stepped", its size, direction and the wall times
// before and after) and counted in slaprobe_clock_steps_total by
// direction; the passing of time and a step below the threshold (NTP's
// slewing is far below it) are not. Before, nothing said so.
func TestClockStepLogged(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)
	var buf syncBuffer
	clk := clock.NewManual(t0)
	cfg := testConfig(time.Minute, "msg")
	d, _ := newTestDaemon(t, cfg, nil, Deps{Clock: clk, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	for _, dir := range []string{"forward", "backward"} {
		if v, ok := sample(t, d.reg, "slaprobe_clock_steps_total", "direction", dir); !ok || v != 0 {
			t.Errorf("slaprobe_clock_steps_total{direction=%q} = %v (present %v) at the start, want 0", dir, v, ok)
		}
	}
	last := clock.Read(clk)
	for _, move := range []func(){
		func() { clk.Advance(time.Minute) },
		func() { clk.Advance(time.Minute); clk.Step(900 * time.Millisecond) },
		func() { clk.Advance(30 * time.Second); clk.Step(-8 * time.Minute); clk.Advance(30 * time.Second) },
		func() { clk.Advance(time.Minute); clk.Step(time.Hour) },
		func() { clk.Advance(time.Minute) },
	} {
		move()
		last = d.checkClockStep(last)
	}
	out := buf.String()
	for _, want := range []string{
		`level=WARN msg="wall clock stepped" direction=backward by=8m0s before=2026-12-04T20:03:00.900Z after=2026-12-04T19:55:00.900Z`,
		`level=WARN msg="wall clock stepped" direction=forward by=1h0m0s before=2026-12-04T19:56:00.900Z after=2026-12-04T20:56:00.900Z`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks\n\t%s\nin:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "wall clock stepped"); n != 2 {
		t.Errorf("%d lines of wall clock stepped, want 2:\n%s", n, out)
	}
	for dir, want := range map[string]float64{"forward": 1, "backward": 1} {
		if v, _ := sample(t, d.reg, "slaprobe_clock_steps_total", "direction", dir); v != want {
			t.Errorf("slaprobe_clock_steps_total{direction=%q} = %v, want %v", dir, v, want)
		}
	}
}

// TestClockStepBackKeepsTheDowntime: through the daemon, a step back of 8
// minutes while a flow is down (its next run starts at m-5) leaves the down
// window the length measured before the step: it closed at its own start
// (duration 0s) and slaprobe_downtime_seconds_total counted nothing.
func TestClockStepBackKeepsTheDowntime(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	var buf syncBuffer
	cfg := testConfig(time.Minute, "msg")
	d, w := newTestDaemon(t, cfg, nil, Deps{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	startPipeline(d, w)
	for _, r := range []struct {
		min  int
		fail string
	}{{0, ""}, {1, "send"}, {2, "send"}, {3, "send"}, {-5, ""}} {
		run := mkRun("msg", t0.Add(time.Duration(r.min)*time.Minute), r.fail)
		d.process(&run)
	}
	want := `msg="window closed" service=svc flow=msg function="" kind=down start=2026-12-04T12:01:00.000Z end=2026-12-04T12:03:00.300Z duration=2m0.3s`
	if out := buf.String(); !strings.Contains(out, want) {
		t.Errorf("the log lacks\n\t%s\nin:\n%s", want, out)
	}
	if v, _ := sample(t, d.reg, "slaprobe_downtime_seconds_total", "flow", "msg", "function", ""); v != 120.3 {
		t.Errorf("slaprobe_downtime_seconds_total = %v, want 120.3", v)
	}
}

// TestClockStepBackThenFlowRemoved: a reload that removes a flow while it
// is down, after the wall clock stepped back 8 minutes (now m-4, its last
// run at m3), closes the window at the time measured (the last run), not
// at its start: closeAll took the earlier of the last run's interval end
// and now, m-4, before the window's start m1, and so closed it m1-m1, the
// outage reading 0 s, as Observe did before the state fix.
func TestClockStepBackThenFlowRemoved(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	var buf syncBuffer
	clk := clock.NewManual(t0)
	cfg := testConfig(time.Minute, "msg", "other")
	d, w := newTestDaemon(t, cfg, nil, Deps{Clock: clk, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	startPipeline(d, w)
	for _, r := range []struct {
		min  int
		fail string
	}{{0, ""}, {1, "send"}, {2, "send"}, {3, "send"}} {
		clk.Set(t0.Add(time.Duration(r.min) * time.Minute))
		run := mkRun("msg", clk.Now(), r.fail)
		d.process(&run)
	}
	clk.Step(-7 * time.Minute) // m-4
	if err := d.Reload(testConfig(time.Minute, "other")); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var got []string
	for _, ev := range w.events {
		if ev.Op == state.OpClose && ev.Window.Flow == "msg" && ev.Window.Function == "" {
			got = append(got, ev.Window.Start.Format("15:04")+"-"+ev.Window.End.Format("15:04"))
		}
	}
	if want := "12:01-12:03"; strings.Join(got, " ") != want {
		t.Errorf("msg's down window closed %q by the reload, want %q\n%s", got, want, buf.String())
	}
}

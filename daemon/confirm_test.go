package daemon

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/platform"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

const confirmConfig = `
location: seoul-a
defaults: {interval: 60s, timeout: 30s, down_after: 2, up_after: 1%s}
policy: {degraded: %s}
services:
  - name: account
    flows:
      - name: account-login
        vars: {base: "http://127.0.0.1:18080", user: probe, password: demo}
        steps:
          - name: login
            function: login
            request:
              method: POST
              url: ${base}/account/login
              json: {user: "${user}", password: "${password}"}
            expect: {status: [200], latency: 2s}
  - name: maps
    flows:
      - name: maps-steady
        vars: {base: "http://127.0.0.1:18080", user: probe, password: demo}
        steps:
          - name: login
            function: login
            request:
              method: POST
              url: ${base}/maps/login
              json: {user: "${user}", password: "${password}"}
            expect: {status: [200]}
`

// edgeFault is what edgeErrors' outages do: a fault mode of the demo
// platform (latency: a slow one's), the window kind it makes, and the
// config's policy.degraded.
type edgeFault struct {
	mode     string
	latency  time.Duration
	kind     state.Kind
	degraded string // up | down
}

var downFault = edgeFault{mode: config.ModeDown, kind: state.KindDown, degraded: "up"}

// edgeErrors replays a day with 24 outages of account login (fault: down,
// or slow past its 2 s latency objective) at odd offsets and returns, per
// outage, how late the window (of fault's kind) started, ended and was
// confirmed, the runs per hour of the steady flow, and the confirm runs.
// It checks that the flow with outages made one scheduled run per base slot
// (60 an hour; the others stored as confirm runs, as many as
// slaprobe_confirm_runs_total counts).
func edgeErrors(t *testing.T, confirm string, fault edgeFault) (starts, ends, delays []time.Duration, steady []int, confirms float64) {
	t.Helper()
	cfg, err := config.Parse("confirm.yaml", []byte(fmt.Sprintf(confirmConfig, confirm, fault.degraded)), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	type outage struct{ s, e time.Time }
	var outs []outage
	var incs []config.Incident
	for i := range 24 {
		s := from.Add(time.Duration(i)*time.Hour + time.Duration(7+i*37%53)*time.Minute + time.Duration(i*13%60)*time.Second)
		e := s.Add(time.Duration(3+i%9)*time.Minute + time.Duration(i*29%60)*time.Second + time.Duration(i*7)*time.Millisecond)
		outs = append(outs, outage{s, e})
		incs = append(incs, config.Incident{ID: fmt.Sprintf("o%d", i), Service: "account", Functions: []string{"login"}, Mode: fault.mode, Latency: fault.latency, Start: s, End: e})
	}
	p := platform.New(platform.Options{Timelines: []*config.Timeline{{Name: "t", Incidents: incs}}})
	st := &fakeStore{}
	reg := prometheus.NewRegistry()
	if err := Replay(context.Background(), cfg, Deps{Store: st, Transport: p.Transport(), Registry: reg}, from, from.Add(24*time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	runs, evs := st.snapshot()
	var downs []state.Window
	for _, e := range evs {
		if e.Op == state.OpClose && e.Window.Function == "" {
			if e.Window.Kind != fault.kind {
				t.Errorf("a %s window %v..%v, want only %s", e.Window.Kind, e.Window.Start, e.Window.End, fault.kind)
				continue
			}
			downs = append(downs, e.Window)
		}
		if e.Window.Kind == state.KindUnknown {
			t.Errorf("unknown window %v", e.Window.Start)
		}
	}
	if len(downs) != len(outs) {
		t.Fatalf("%d %s windows for %d outages: %s", len(downs), fault.kind, len(outs), eventsString(evs))
	}
	for i, w := range downs {
		o := outs[i]
		starts = append(starts, w.Start.Sub(o.s))
		ends = append(ends, w.End.Sub(o.e))
		delays = append(delays, w.Confirmed.Sub(o.s))
	}
	steady = make([]int, 24)
	scheduled := make([]int, 24)
	var stored float64
	for _, r := range runs {
		switch {
		case r.Flow == "maps-steady":
			steady[r.Start.Sub(from)/time.Hour]++
			if r.Confirm {
				t.Errorf("maps-steady: a confirm run at %v", r.Start)
			}
		case r.Confirm:
			stored++
		default:
			scheduled[r.Start.Sub(from)/time.Hour]++
		}
	}
	for h, n := range scheduled {
		if n != 60 {
			t.Errorf("hour %d: account-login made %d scheduled runs, want 60 (one per base slot)", h, n)
		}
	}
	var n float64
	for _, f := range []string{"account-login", "maps-steady"} {
		if v, ok := sample(t, reg, "slaprobe_confirm_runs_total", "flow", f, "location", "seoul-a"); ok {
			n += v
		}
	}
	if n != stored {
		t.Errorf("slaprobe_confirm_runs_total = %v, %v confirm runs stored", n, stored)
	}
	return starts, ends, delays, steady, n
}

// Adaptive edge probing at interval 60s, down_after 2, confirm_every 10s:
// every window ends within 11 s of the truth, is confirmed within 71 s of
// its true start, and a flow that never fails still runs exactly 60 times an
// hour. Without it (confirm_every: 0s) the end is up to a whole interval late
// and the detection two intervals. A degraded window (login slow, 3 s over
// its 2 s objective) is probed as closely, under policy.degraded up or down
// alike: it ends within 11 s and is confirmed within 73 s (the second slow
// run begins 10 s after the first); before, up to an interval late and two
// intervals (62 s, 122 s). Its start, as a down window's, is the first
// scheduled run that sees it: within an interval and its jitter.
func TestReplayConfirmEveryEdges(t *testing.T) {
	slow := func(degraded string) edgeFault {
		return edgeFault{mode: config.ModeSlow, latency: 3 * time.Second, kind: state.KindDegraded, degraded: degraded}
	}
	tests := []struct {
		name             string
		confirm          string
		fault            edgeFault
		maxEnd, maxDelay time.Duration
		confirms         bool
	}{
		{name: "confirm_every 10s", confirm: ", confirm_every: 10s", fault: downFault, maxEnd: 11 * time.Second, maxDelay: 71 * time.Second, confirms: true},
		{name: "default (interval/6)", confirm: "", fault: downFault, maxEnd: 11 * time.Second, maxDelay: 71 * time.Second, confirms: true},
		{name: "off", confirm: ", confirm_every: 0s", fault: downFault, maxEnd: 62 * time.Second, maxDelay: 122 * time.Second},
		{name: "slow, degraded down, confirm_every 10s", confirm: ", confirm_every: 10s", fault: slow("down"), maxEnd: 11 * time.Second, maxDelay: 73 * time.Second, confirms: true},
		{name: "slow, degraded up, default (interval/6)", confirm: "", fault: slow("up"), maxEnd: 11 * time.Second, maxDelay: 73 * time.Second, confirms: true},
		{name: "slow, off", confirm: ", confirm_every: 0s", fault: slow("down"), maxEnd: 62 * time.Second, maxDelay: 122 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			starts, ends, delays, steady, confirms := edgeErrors(t, tc.confirm, tc.fault)
			var worstStart, worstEnd, worstDelay time.Duration
			for i := range ends {
				worstStart, worstEnd, worstDelay = max(worstStart, starts[i]), max(worstEnd, ends[i]), max(worstDelay, delays[i])
				if starts[i] < 0 || ends[i] < 0 {
					t.Errorf("outage %d: window starts %v and ends %v after the truth: an edge before the truth", i, starts[i], ends[i])
				}
				if starts[i] > 62*time.Second {
					t.Errorf("outage %d: starts %v late, want within an interval and its jitter", i, starts[i])
				}
				if ends[i] > tc.maxEnd {
					t.Errorf("outage %d: ends %v late, want within %v", i, ends[i], tc.maxEnd)
				}
				if delays[i] > tc.maxDelay {
					t.Errorf("outage %d: confirmed %v after the true start, want within %v", i, delays[i], tc.maxDelay)
				}
			}
			t.Logf("worst start error %v, end error %v, detection delay %v; confirm runs %v", worstStart, worstEnd, worstDelay, confirms)
			for h, n := range steady {
				if n != 60 {
					t.Errorf("hour %d: the steady flow ran %d times, want 60", h, n)
				}
			}
			if (confirms > 0) != tc.confirms {
				t.Errorf("slaprobe_confirm_runs_total = %v", confirms)
			}
		})
	}
}

// The live scheduler does the same: after a failure (or a degraded run:
// a step over its latency objective) the flow runs again confirm_every
// later, every confirm_every while it is down (or degraded), and on the base
// schedule again once it is up; base slots in between are neither run nor
// counted as skipped; the window starts within an interval of the truth
// (its first bad run is a scheduled one) and ends within confirm_every.
func TestFireConfirmEvery(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind state.Kind
		bad  func(flow string, at time.Time) probe.Run // a run while the target is in trouble
	}{
		{"failing", state.KindDown, func(flow string, at time.Time) probe.Run { return mkRun(flow, at, "login") }},
		{"slow", state.KindDegraded, func(flow string, at time.Time) probe.Run { return mkSlowRun(flow, at, "login") }},
	} {
		t.Run(tc.name, func(t *testing.T) { fireConfirmEvery(t, tc.kind, tc.bad) })
	}
}

func fireConfirmEvery(t *testing.T, kind state.Kind, bad func(flow string, at time.Time) probe.Run) {
	iv, every := time.Minute, 10*time.Second
	cfg := testConfig(iv, "f")
	cfg.Services[0].Flows[0].ConfirmEvery = every
	var fcNow func() time.Time
	var failFrom, failTo time.Time
	starts := make(chan time.Time, 1000)
	runner := funcRunner(func(ctx context.Context, f *config.Flow) probe.Run {
		now := fcNow()
		starts <- now
		if !now.Before(failFrom) && now.Before(failTo) {
			return bad(f.Name, now)
		}
		return mkRun(f.Name, now, "")
	})
	r := startDaemon(t, cfg, runner)
	fcNow = r.fc.Now
	t0 := r.fc.Now()
	failFrom, failTo = t0.Add(3*time.Minute), t0.Add(5*time.Minute+25*time.Second)

	r.advance(10*time.Minute, 250*time.Millisecond) // the step below
	// 10 minutes: at least the base slots (without confirm runs, 10).
	waitFor(t, "runs", func() bool { return len(starts) > 8 })
	var got []time.Duration
	for len(starts) > 0 {
		got = append(got, (<-starts).Sub(t0))
	}
	// Base runs a minute apart until the first failure (at 3m..4m), then
	// 10s apart up to the first pass after 5m25s, then a minute apart.
	first, recovered := -1, -1
	for i, at := range got {
		if first < 0 && at >= failFrom.Sub(t0) {
			first = i
		}
		if recovered < 0 && at >= failTo.Sub(t0) {
			recovered = i
		}
	}
	if first < 1 || recovered < 0 || recovered+3 >= len(got) {
		t.Fatalf("runs %v: want some before, in and after the outage", got)
	}
	// The fake clock moves in steps of 250 ms, and a timer's goroutine may
	// run only after the clock moved on (a loaded machine, -race): a run may
	// start late, so gaps are compared within lateTolerance. A skipped slot
	// (2 min), a confirm run too many (10 s) or a base slot run while
	// confirming are all outside that.
	const step = lateTolerance
	near := func(g, want time.Duration) bool { return g >= want-step && g <= want+step }
	for i := 1; i < len(got); i++ {
		g := got[i] - got[i-1]
		switch {
		case i > first && i <= recovered:
			if !near(g, every) {
				t.Errorf("run at +%v came %v after the one before, want %v (confirm_every)", got[i], g, every)
			}
		case i == recovered+1: // back on the base schedule: its next slot
			if off := (got[i] - got[first]) % iv; g > iv+step || (off > step && off < iv-step) {
				t.Errorf("first run after the recovery at +%v, want the next base slot", got[i])
			}
		default:
			if !near(g, iv) {
				t.Errorf("run at +%v came %v after the one before, want %v (base schedule)", got[i], g, iv)
			}
		}
	}
	if n := recovered - first; n < 12 {
		t.Errorf("%d runs 10 s apart in a 2m25s outage, want at least 12", n)
	}
	if n := testutil.ToFloat64(r.d.m.skipped.WithLabelValues("f")); n != 0 {
		t.Errorf("%v base slots counted as skipped while confirm runs covered them", n)
	}
	// The base slots at 4m and 5m passed during the confirm runs: the first
	// run at or after each is its scheduled run, the others confirm runs.
	// Every base slot has one scheduled run, and slaprobe_runs_total counts
	// those only.
	runs, evs := r.w.snapshot()
	var scheduled, confirms int
	for _, run := range runs {
		if run.Confirm {
			confirms++
		} else {
			scheduled++
		}
		// Stored with the flow's interval, a confirm run too: a report
		// judges the stretch after it by it (schema version 15).
		if run.Interval != iv {
			t.Errorf("run at %v (confirm %v) stored with interval %v, want %v", run.Start.Sub(t0), run.Confirm, run.Interval, iv)
		}
	}
	// The base slots from the first run to the last (jitter is under 2 s).
	slots := int((got[len(got)-1]-got[0]+2*time.Second)/iv) + 1
	if scheduled != slots || scheduled+confirms != len(got) {
		t.Errorf("%d scheduled runs and %d confirm runs stored of %d, want %d scheduled (one per base slot)", scheduled, confirms, len(got), slots)
	}
	if n, _ := sample(t, r.d.Gatherer(), "slaprobe_confirm_runs_total", "flow", "f", "service", "svc", "location", "seoul-a"); int(n) != confirms || n < 10 {
		t.Errorf("slaprobe_confirm_runs_total = %v, %d confirm runs stored, want at least 10", n, confirms)
	}
	var counted float64
	for _, res := range []string{"ok", "failed"} {
		v, _ := sample(t, r.d.Gatherer(), "slaprobe_runs_total", "flow", "f", "location", "seoul-a", "result", res)
		counted += v
	}
	if int(counted) != scheduled {
		t.Errorf("slaprobe_runs_total = %v, want %d (scheduled runs only)", counted, scheduled)
	}
	closed := 0
	for _, e := range evs {
		if e.Op == state.OpClose && e.Window.Function == "" {
			closed++
			if e.Window.Kind != kind {
				t.Errorf("a %s window closed, want %s", e.Window.Kind, kind)
			}
			if d := e.Window.Start.Sub(failFrom); d < 0 || d > iv+step {
				t.Errorf("window starts %v after the outage, want within %v (an interval)", d, iv)
			}
			if d := e.Window.End.Sub(failTo); d < 0 || d > every {
				t.Errorf("window ends %v after the outage, want within %v", d, every)
			}
			if d, ok := e.Window.EndUncertainty(); !ok || d > every+step {
				t.Errorf("end uncertainty %v (%v), want within %v", d, ok, every)
			}
		}
	}
	if closed != 1 {
		t.Errorf("%d windows of the flow closed, want 1 (%s)", closed, kind)
	}
}

// TestCertificateDegradedIsNotConfirmRun: a flow degraded by a certificate
// under expect.tls.min_days_left stays so until the certificate is renewed
// (days): it keeps its base schedule, a run a minute, where a slow one is
// confirm-run every confirm_every (TestFireConfirmEvery); its degraded
// window still opens and closes, within an interval of the truth.
func TestCertificateDegradedIsNotConfirmRun(t *testing.T) {
	iv, every := time.Minute, 10*time.Second
	cfg := testConfig(iv, "f")
	cfg.Services[0].Flows[0].ConfirmEvery = every
	var fcNow func() time.Time
	var from, to time.Time
	starts := make(chan time.Time, 1000)
	runner := funcRunner(func(ctx context.Context, f *config.Flow) probe.Run {
		now := fcNow()
		starts <- now
		r := mkRun(f.Name, now, "")
		if !now.Before(from) && now.Before(to) {
			s := &r.Steps[0]
			s.Status, s.Error = probe.StatusDegraded, s.Step+": certificate expires in 3.0 days, under min_days_left 14"
		}
		return r
	})
	r := startDaemon(t, cfg, runner)
	fcNow = r.fc.Now
	t0 := r.fc.Now()
	from, to = t0.Add(3*time.Minute), t0.Add(7*time.Minute+25*time.Second)
	r.advance(10*time.Minute, 250*time.Millisecond)
	waitFor(t, "runs", func() bool { return len(starts) > 8 })
	var got []time.Duration
	for len(starts) > 0 {
		got = append(got, (<-starts).Sub(t0))
	}
	for i := 1; i < len(got); i++ {
		if g := got[i] - got[i-1]; g < iv-lateTolerance || g > iv+lateTolerance {
			t.Errorf("run at +%v came %v after the one before, want %v (base schedule: no confirm runs)", got[i], g, iv)
		}
	}
	runs, evs := r.w.snapshot()
	for _, run := range runs {
		if run.Confirm {
			t.Errorf("a confirm run at %v", run.Start.Sub(t0))
		}
	}
	if n, _ := sample(t, r.d.Gatherer(), "slaprobe_confirm_runs_total", "flow", "f", "service", "svc", "location", "seoul-a"); n != 0 {
		t.Errorf("slaprobe_confirm_runs_total = %v, want 0", n)
	}
	closed := 0
	for _, e := range evs {
		if e.Op == state.OpClose && e.Window.Function == "" {
			closed++
			if e.Window.Kind != state.KindDegraded {
				t.Errorf("a %s window closed, want degraded", e.Window.Kind)
			}
			if d := e.Window.Start.Sub(from); d < 0 || d > iv+lateTolerance {
				t.Errorf("window starts %v after the certificate went under, want within %v (an interval)", d, iv)
			}
			if d := e.Window.End.Sub(to); d < 0 || d > iv+lateTolerance {
				t.Errorf("window ends %v after the renewal, want within %v (an interval)", d, iv)
			}
		}
	}
	if closed != 1 {
		t.Errorf("%d windows of the flow closed, want 1 (degraded)", closed)
	}
}

// mkSlowRun makes a run of flow at start whose step slow passes over its
// latency objective (degraded), the others ok.
func mkSlowRun(flow string, start time.Time, slow string) probe.Run {
	r := mkRun(flow, start, "")
	r.Duration += 3*time.Second - 100*time.Millisecond
	for i := range r.Steps {
		if s := &r.Steps[i]; s.Step == slow {
			s.Status, s.Duration, s.Error = probe.StatusDegraded, 3*time.Second, slow+": latency 3s over objective 2s"
		}
	}
	return r
}

// TestFireConfirmHonoursRetryAfter: a flow whose failing runs are answered
// 429 with Retry-After: 25 makes its confirm runs 25 s apart, not every
// confirm_every (10 s) into the rate limit, and still one run on every base
// slot: the wait a Retry-After asks never delays a scheduled run.
func TestFireConfirmHonoursRetryAfter(t *testing.T) {
	iv, every, asked := time.Minute, 10*time.Second, 25*time.Second
	cfg := testConfig(iv, "f")
	cfg.Services[0].Flows[0].ConfirmEvery = every
	var fcNow func() time.Time
	var failFrom, failTo time.Time
	starts := make(chan time.Time, 1000)
	runner := funcRunner(func(ctx context.Context, f *config.Flow) probe.Run {
		now := fcNow()
		starts <- now
		if !now.Before(failFrom) && now.Before(failTo) {
			run := mkRun(f.Name, now, "login")
			run.RetryAfter = asked
			return run
		}
		return mkRun(f.Name, now, "")
	})
	r := startDaemon(t, cfg, runner)
	fcNow = r.fc.Now
	t0 := r.fc.Now()
	failFrom, failTo = t0.Add(3*time.Minute), t0.Add(6*time.Minute+25*time.Second)

	r.advance(10*time.Minute, 250*time.Millisecond)
	waitFor(t, "runs", func() bool { return len(starts) > 10 })
	var got []time.Duration
	for len(starts) > 0 {
		got = append(got, (<-starts).Sub(t0))
	}
	runs, _ := r.w.snapshot()
	if len(runs) != len(got) {
		t.Fatalf("%d runs stored of %d", len(runs), len(got))
	}
	const step = lateTolerance
	inOutage := 0
	for i := 1; i < len(got); i++ {
		prev := got[i-1]
		if prev < failFrom.Sub(t0) || prev >= failTo.Sub(t0) {
			continue // the run before was not answered 429
		}
		inOutage++
		g := got[i] - prev
		// Only a base slot's run may come sooner than asked, and never
		// sooner than confirm_every.
		if g < asked-step && (runs[i].Confirm || g < every-step) {
			t.Errorf("run at +%v came %v after a 429 that asked for %v, and is no base slot's (%v)", got[i], g, asked, got)
		}
		if g > asked+step {
			t.Errorf("run at +%v came %v after the one before, want at most %v (Retry-After)", got[i], g, asked)
		}
	}
	// 3m25s answered 429: a run 25 s apart, and one on each of 3 base
	// slots; every 10 s it was 20 runs.
	if inOutage < 8 || inOutage > 12 {
		t.Errorf("%d runs after 429s in a 3m25s outage (%v), want 8..12 (25 s apart, and the base slots)", inOutage, got)
	}
	scheduled := 0
	for _, run := range runs {
		if !run.Confirm {
			scheduled++
		}
	}
	if slots := int((got[len(got)-1]-got[0]+2*time.Second)/iv) + 1; scheduled != slots {
		t.Errorf("%d scheduled runs, want %d (one per base slot)", scheduled, slots)
	}
	if n := testutil.ToFloat64(r.d.m.skipped.WithLabelValues("f")); n != 0 {
		t.Errorf("%v base slots counted as skipped", n)
	}
}

func TestConfirmDue(t *testing.T) {
	last := time.Date(2026, 12, 4, 12, 0, 5, 0, time.UTC)
	next := time.Date(2026, 12, 4, 12, 1, 0, 0, time.UTC) // the next base slot
	tests := []struct {
		name         string
		every, asked time.Duration
		want         time.Time
	}{
		{"no ask", 10 * time.Second, 0, last.Add(10 * time.Second)},
		{"shorter ask", 10 * time.Second, 5 * time.Second, last.Add(10 * time.Second)},
		{"longer ask", 10 * time.Second, 30 * time.Second, last.Add(30 * time.Second)},
		{"ask past the base slot", 10 * time.Second, 2 * time.Minute, next},
		{"confirm_every itself past the slot", 70 * time.Second, 2 * time.Minute, last.Add(70 * time.Second)},
	}
	for _, tc := range tests {
		if got := confirmDue(last, tc.every, tc.asked, next); !got.Equal(tc.want) {
			t.Errorf("%s: confirmDue = %v, want %v", tc.name, got.Format(time.TimeOnly), tc.want.Format(time.TimeOnly))
		}
	}
}

// rtFunc is an http.RoundTripper made of a function.
type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestReplayConfirmHonoursRetryAfter: a replay makes the confirm runs the
// live daemon does (TestFireConfirmHonoursRetryAfter) when the target
// answers 429 with Retry-After: Retry-After apart, and every base slot run.
func TestReplayConfirmHonoursRetryAfter(t *testing.T) {
	cfg, err := config.Parse("retry.yaml", []byte(`
location: seoul-a
defaults: {interval: 60s, timeout: 30s, down_after: 2, up_after: 1, confirm_every: 10s}
services:
  - name: search
    flows:
      - name: search
        steps:
          - {name: get, function: search, request: {url: "http://target.test/q"}, expect: {status: [200]}}
`), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	failFrom, failTo := from.Add(3*time.Minute), from.Add(6*time.Minute+25*time.Second)
	var asks []time.Duration // when the target was asked, from `from`
	var mu sync.Mutex
	rt := rtFunc(func(r *http.Request) (*http.Response, error) {
		now := clock.FromContext(r.Context(), nil).Now()
		mu.Lock()
		asks = append(asks, now.Sub(from))
		mu.Unlock()
		rec := httptest.NewRecorder()
		if !now.Before(failFrom) && now.Before(failTo) {
			rec.Header().Set("Retry-After", "25")
			rec.WriteHeader(http.StatusTooManyRequests)
		} else {
			rec.WriteHeader(http.StatusOK)
		}
		resp := rec.Result()
		resp.Request = r
		return resp, nil
	})
	st := &fakeStore{}
	if err := Replay(context.Background(), cfg, Deps{Store: st, Transport: rt, Registry: prometheus.NewRegistry()}, from, from.Add(10*time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	runs, _ := st.snapshot()
	if len(runs) != len(asks) {
		t.Fatalf("%d runs stored, %d requests", len(runs), len(asks))
	}
	inOutage, scheduled := 0, 0
	for i, run := range runs {
		if !run.Confirm {
			scheduled++
		}
		if i == 0 || runs[i-1].Start.Before(failFrom) || !runs[i-1].Start.Before(failTo) {
			continue
		}
		inOutage++
		g := run.Start.Sub(runs[i-1].Start)
		switch {
		case g > 25*time.Second:
			t.Errorf("run at %v came %v after the one before, want at most 25s", run.Start.Sub(from), g)
		case g < 25*time.Second && (run.Confirm || g < 10*time.Second):
			// Only a base slot's run may come sooner than asked, and
			// never sooner than confirm_every.
			t.Errorf("run at %v came %v after a 429 that asked for 25s, and is no base slot's (%v)", run.Start.Sub(from), g, asks)
		}
	}
	if inOutage < 8 || inOutage > 12 {
		t.Errorf("%d runs after 429s in a 3m25s outage (%v), want 8..12", inOutage, asks)
	}
	if scheduled != 10 {
		t.Errorf("%d scheduled runs in 10 minutes at 60s, want 10", scheduled)
	}
}

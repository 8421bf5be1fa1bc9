package daemon

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/slaprobe/slaprobe/alert"
	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// TestRestartReconcilesAlertState (#14.3): the alert state file brings back
// the alerts that were firing; at startup they must be reconciled with the
// windows open in the store. An alert whose window is not open any more
// (closed by a commit whose state save never happened), whose flow was
// removed, or whose labels changed (another severity) was re-sent, firing,
// for as long as the daemon ran.
func TestRestartReconcilesAlertState(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	key := func(flow string) state.Key { return state.Key{Service: "svc", Flow: flow, Location: "seoul-a"} }
	down := func(flow string, start time.Time) state.Window {
		return state.Window{Key: key(flow), Kind: state.KindDown, Start: start, Confirmed: start.Add(time.Minute), CauseStep: "send", Error: "status 503"}
	}
	msgDown := down("msg", now.Add(-90*time.Minute))
	tests := []struct {
		name string
		// before: the windows firing when the previous daemon saved its
		// state; open: the windows open in the store now; flows: the
		// config's flows now; severity: alerting.severity_down now.
		before   []state.Window
		open     []state.Window
		flows    []string
		severity string
		want     []string // alertname/flow/severity of the alerts firing after startup
	}{
		{"still open: keeps firing", []state.Window{msgDown}, []state.Window{msgDown}, []string{"msg"}, "page",
			[]string{"SlaprobeFlowDown/msg/page"}},
		{"closed before the state was saved", []state.Window{msgDown}, nil, []string{"msg"}, "page", nil},
		{"flow removed from the config", []state.Window{msgDown, down("gone", now.Add(-time.Hour))}, []state.Window{msgDown, down("gone", now.Add(-time.Hour))},
			[]string{"msg"}, "page", []string{"SlaprobeFlowDown/msg/page"}},
		{"another severity", []state.Window{msgDown}, []state.Window{msgDown}, []string{"msg"}, "critical",
			[]string{"SlaprobeFlowDown/msg/critical"}},
		{"a new window after the old one closed", []state.Window{msgDown}, []state.Window{down("msg", now.Add(-10*time.Minute))}, []string{"msg"}, "page",
			[]string{"SlaprobeFlowDown/msg/page@" + now.Add(-10*time.Minute).Format(time.RFC3339)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			am := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
			defer am.Close()
			statePath := filepath.Join(t.TempDir(), "alerts.json")
			opts := alert.Options{URLs: []string{am.URL}, Location: "seoul-a", StatePath: statePath, SeverityDown: "page",
				Clock: clock.NewManual(now.Add(-5 * time.Minute))}
			// The daemon before the restart: its alerts fire and are saved.
			before, err := alert.NewNotifier(opts)
			if err != nil {
				t.Fatal(err)
			}
			var evs []state.Event
			for _, w := range tc.before {
				evs = append(evs, state.Event{Op: state.OpOpen, Window: w})
			}
			before.Handle(evs)
			if err := before.Tick(context.Background()); err != nil {
				t.Fatal(err)
			}
			// The restart.
			opts.SeverityDown, opts.Clock = tc.severity, clock.NewManual(now)
			after, err := alert.NewNotifier(opts)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(after.Active()); n != len(tc.before) {
				t.Fatalf("the state file brought back %d firing alerts, want %d", n, len(tc.before))
			}
			st := &fakeStore{open: tc.open, lastRuns: map[string]time.Time{}}
			for _, f := range tc.flows {
				st.lastRuns[f] = now.Add(-time.Minute)
			}
			fc := clockwork.NewFakeClockAt(now)
			d, _ := newTestDaemon(t, testConfig(time.Minute, tc.flows...), st, Deps{Clock: ClockworkClock(fc), Grace: time.Second, Alerter: after})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()
			waitScheduler(t, d)
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range after.Active() {
				s := a.Labels["alertname"] + "/" + a.Labels["flow"] + "/" + a.Labels["severity"]
				if !a.StartsAt.Equal(msgDown.Start) {
					s += "@" + a.StartsAt.UTC().Format(time.RFC3339)
				}
				got = append(got, s)
			}
			sort.Strings(got)
			if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
				t.Errorf("firing after the restart: %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRestartAfterLongStopClosesWindows: a daemon restarted after a stop
// longer than twice a flow's interval knows at once that the flow's next
// run will find an unknown stretch, which closes the windows open when it
// stopped where that stretch begins (the end of the last run's interval).
// It closes them at startup: before, it reopened them, so it reported the
// flow down and re-sent its alerts firing (a new page, if Alertmanager had
// let them expire during the stop) until the flow's first run, up to an
// interval later, resolved them. A short stop keeps them open, as ever.
func TestRestartAfterLongStopClosesWindows(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	iv := time.Minute
	tests := []struct {
		name     string
		stopped  time.Duration // since the last run
		wantOpen bool
	}{
		{"short stop: still open", 90 * time.Second, true},
		{"long stop: closed at the end of the last run's interval", 10 * time.Minute, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			last := now.Add(-tc.stopped)
			open := state.Window{Key: state.Key{Service: "svc", Flow: "msg", Location: "seoul-a"}, Kind: state.KindDown,
				Start: last.Add(-5 * iv), Confirmed: last.Add(-4 * iv), CauseStep: "send", Error: "status 503"}
			am := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
			defer am.Close()
			opts := alert.Options{URLs: []string{am.URL}, Location: "seoul-a", StatePath: filepath.Join(t.TempDir(), "alerts.json"),
				SeverityDown: "page", Clock: clock.NewManual(last)}
			before, err := alert.NewNotifier(opts)
			if err != nil {
				t.Fatal(err)
			}
			before.Handle([]state.Event{{Op: state.OpOpen, Window: open}})
			if err := before.Tick(context.Background()); err != nil {
				t.Fatal(err)
			}
			opts.Clock = clock.NewManual(now)
			after, err := alert.NewNotifier(opts)
			if err != nil {
				t.Fatal(err)
			}
			st := &fakeStore{open: []state.Window{open}, lastRuns: map[string]time.Time{"msg": last}}
			d, w := newTestDaemon(t, testConfig(iv, "msg"), st, Deps{Clock: ClockworkClock(clockwork.NewFakeClockAt(now)), Grace: time.Second, Alerter: after})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()
			waitScheduler(t, d)
			firing := len(after.Active())
			flowUp, hasUp := sample(t, d.Gatherer(), "slaprobe_flow_up", "flow", "msg")
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			_, evs := w.snapshot()
			if tc.wantOpen {
				if firing != 1 || !hasUp || flowUp != 0 || len(evs) != 0 {
					t.Errorf("firing %d, flow_up %v (%v), events %s; want the window open", firing, flowUp, hasUp, eventsString(evs))
				}
				return
			}
			if firing != 0 {
				t.Errorf("%d alerts firing after the restart, want the stale one resolved", firing)
			}
			if hasUp {
				t.Errorf("slaprobe_flow_up = %v after a long stop, want no sample (unknown)", flowUp)
			}
			if len(evs) != 1 || evs[0].Op != state.OpClose || !evs[0].Window.Start.Equal(open.Start) || !evs[0].Window.End.Equal(last.Add(iv)) {
				t.Errorf("stored events %s, want the window closed at the end of the last run's interval (%s)", eventsString(evs), last.Add(iv).Format(time.TimeOnly))
			}
		})
	}
}

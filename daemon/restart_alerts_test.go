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
			waitFor(t, "scheduler start", func() bool {
				d.mu.RLock()
				defer d.mu.RUnlock()
				return d.sched != nil
			})
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

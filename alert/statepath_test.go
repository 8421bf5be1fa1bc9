package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// TestStatePathPerDatabase: two databases in one directory (two probers on
// one host, /var/lib/slaprobe/prod.db and staging.db) get state files of
// their own beside them, so that neither restores, and resolves, the
// other's alerts.
func TestStatePathPerDatabase(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ a, b string }{
		{filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")},
		{filepath.Join(dir, "results.db"), filepath.Join(dir, "sub", "results.db")},
	}
	for _, tc := range tests {
		pa, pb := StatePath(tc.a), StatePath(tc.b)
		if pa == pb {
			t.Errorf("StatePath(%s) = StatePath(%s) = %s", tc.a, tc.b, pa)
		}
		for db, p := range map[string]string{tc.a: pa, tc.b: pb} {
			if filepath.Dir(p) != filepath.Dir(db) {
				t.Errorf("StatePath(%s) = %s: not beside the database", db, p)
			}
		}
	}
}

// TestLegacyStateAdoptedByLocation: the state file of earlier versions (one
// per directory) is read by a prober that has no state file of its own yet,
// which takes only its own location's alerts from it: a prober of another
// location sharing the directory never resolves them.
func TestLegacyStateAdoptedByLocation(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	alert := func(loc string) stateAlert {
		return stateAlert{Alert: Alert{
			Labels:   map[string]string{"alertname": "SlaprobeFlowDown", "flow": "f-" + loc, "service": "s", "location": loc, "severity": "page"},
			StartsAt: t0,
		}}
	}
	data, err := json.Marshal(stateFile{Version: stateFileVersion, Alerts: []stateAlert{alert("host-a"), alert("host-b")}})
	if err != nil {
		t.Fatal(err)
	}
	legacy := filepath.Join(dir, LegacyStateFile)
	if err := os.WriteFile(legacy, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, loc := range []string{"host-b", "host-a"} {
		n, err := NewNotifier(Options{URLs: []string{"http://127.0.0.1:9093"}, Location: loc,
			StatePath: StatePath(filepath.Join(dir, loc+".db")), LegacyStatePath: legacy})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range n.Active() {
			got = append(got, a.Labels["location"])
		}
		if !slices.Equal(got, []string{loc}) {
			t.Errorf("prober at %s restored alerts of %v, want only its own", loc, got)
		}
	}
}

// TestStateSaveFailureCounted: a state file that cannot be saved (its
// directory gone or read-only, the disk full) is logged and counted in
// slaprobe_alert_state_save_failures_total, so that an operator can alert
// on it: a restart after it would lose the resolves and send the alerts
// the file did not keep again.
func TestStateSaveFailureCounted(t *testing.T) {
	tests := []struct {
		name  string
		path  func(dir string) string
		fails bool
	}{
		{"directory missing", func(dir string) string { return filepath.Join(dir, "gone", "state.json") }, true},
		{"saved", func(dir string) string { return filepath.Join(dir, "state.json") }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			am := newFakeAM(t)
			var logs bytes.Buffer
			n, err := NewNotifier(Options{URLs: []string{am.srv.URL}, Clock: clock.NewManual(t0),
				Logger: slogTo(&logs), Metrics: prometheus.NewRegistry(), StatePath: tc.path(t.TempDir())})
			if err != nil {
				t.Fatal(err)
			}
			n.Handle([]state.Event{open(flowWindow(state.KindDown, "", t0))})
			err = n.Tick(context.Background())
			if (err != nil) != tc.fails {
				t.Fatalf("Tick: %v, want failure %v", err, tc.fails)
			}
			want := 0.0
			if tc.fails {
				want = 1
			}
			if v := value(t, n.saveFailures); v != want {
				t.Errorf("slaprobe_alert_state_save_failures_total = %v, want %v", v, want)
			}
			if got := strings.Contains(logs.String(), "cannot save alert state"); got != tc.fails {
				t.Errorf("logged %v, want %v: %s", got, tc.fails, logs.String())
			}
		})
	}
}

package daemon

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestReloadMetrics: slaprobe_config_last_reload_successful says whether the
// last reload took (a rejected SIGHUP is otherwise only a log line:
// `systemctl reload` succeeds either way), and
// slaprobe_config_last_reload_success_timestamp_seconds when the running
// config was last loaded, as Prometheus and Alertmanager expose theirs.
func TestReloadMetrics(t *testing.T) {
	iv := 10 * time.Second
	r := startDaemon(t, testConfig(iv, "a"), nil)
	start := r.fc.Now()
	check := func(step string, ok float64, at time.Time) {
		t.Helper()
		if got := testutil.ToFloat64(r.d.m.reloadOK); got != ok {
			t.Errorf("%s: slaprobe_config_last_reload_successful = %v, want %v", step, got, ok)
		}
		if got, want := testutil.ToFloat64(r.d.m.reloadTime), float64(at.UnixNano())/1e9; got != want {
			t.Errorf("%s: slaprobe_config_last_reload_success_timestamp_seconds = %v, want %v", step, got, want)
		}
	}
	check("start", 1, start)

	r.fc.Advance(time.Minute)
	moved := testConfig(iv, "a")
	moved.Location = "elsewhere" // a reload cannot change it
	if err := r.d.Reload(moved); err == nil {
		t.Fatal("Reload accepted a location change")
	}
	check("refused reload", 0, start)

	r.fc.Advance(time.Minute)
	if err := r.d.Reload(testConfig(iv, "a", "b")); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	check("reload", 1, r.fc.Now())
	ok := r.fc.Now()

	r.fc.Advance(time.Minute)
	r.d.ReloadRejected() // t.yaml:3: services[0].name: is required
	check("config that did not load", 0, ok)
}

// TestReloadDuringShutdownKeepsTheMetric: Daemon.Reload once the daemon is
// stopping returns ErrShuttingDown and leaves
// slaprobe_config_last_reload_successful as it was (it set it to 0).
func TestReloadDuringShutdownKeepsTheMetric(t *testing.T) {
	iv := 10 * time.Second
	r := startDaemon(t, testConfig(iv, "a"), nil)
	r.stop(t)
	if err := r.d.Reload(testConfig(iv, "a", "b")); !errors.Is(err, ErrShuttingDown) {
		t.Errorf("Reload: %v, want ErrShuttingDown", err)
	}
	if got := testutil.ToFloat64(r.d.m.reloadOK); got != 1 {
		t.Errorf("slaprobe_config_last_reload_successful = %v, want 1 (untouched)", got)
	}
}

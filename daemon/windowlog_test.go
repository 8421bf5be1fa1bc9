package daemon

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestWindowsLogged: a down window's opening, change of cause and closing
// are logged, with what failed and for how long. Before, a daemon with
// open windows logged nothing about them: an outage showed only in the
// API, the metrics and the alerts.
func TestWindowsLogged(t *testing.T) {
	var buf syncBuffer
	cfg := testConfig(time.Minute, "msg")
	d, w := newTestDaemon(t, cfg, nil, Deps{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	startPipeline(d, w)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i, fail := range []string{"", "send", "send", "receive", "receive", ""} {
		r := mkRun("msg", t0.Add(time.Duration(i)*time.Minute), fail)
		d.process(&r)
	}
	out := buf.String()
	for _, want := range []string{
		`msg="window opened" service=svc flow=msg function="" kind=down start=2026-03-01T12:01:00.000Z cause_step=send error="status 503, want 200"`,
		`msg="window opened" service=svc flow=msg function=send kind=down start=2026-03-01T12:01:00.000Z cause_step=send`,
		`msg="window cause changed" service=svc flow=msg function="" kind=down start=2026-03-01T12:01:00.000Z cause_step=receive error="status 503, want 200" since=2026-03-01T12:03:00.000Z`,
		`msg="window closed" service=svc flow=msg function="" kind=down start=2026-03-01T12:01:00.000Z end=2026-03-01T12:05:00.000Z duration=4m0s`,
		`msg="window closed" service=svc flow=msg function=send kind=down start=2026-03-01T12:01:00.000Z end=2026-03-01T12:03:00.000Z duration=2m0s`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks\n\t%s\nin:\n%s", want, out)
		}
	}
}

// TestWindowsClosedByReloadLogged: a window that a reload closes (its flow
// removed mid-outage) is logged as closed, as one its runs close is. Before,
// the log said `window opened` and then only `reload: flow removed`, while
// the store and Alertmanager had the window closed and resolved: an
// operator reading the log saw an outage that never ended.
func TestWindowsClosedByReloadLogged(t *testing.T) {
	var buf syncBuffer
	d, w := newTestDaemon(t, testConfig(time.Minute, "a", "b"), nil, Deps{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	startPipeline(d, w)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		r := mkRun("b", t0.Add(time.Duration(i)*time.Minute), "send")
		d.process(&r)
	}
	if err := d.Reload(testConfig(time.Minute, "a")); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, fn := range []string{`""`, "send", "receive"} {
		want := `msg="window closed" service=svc flow=b function=` + fn + ` kind=down start=2026-03-01T12:00:00.000Z end=2026-03-01T12:03:00.000Z duration=3m0s`
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks\n\t%s\nin:\n%s", want, out)
		}
	}
}

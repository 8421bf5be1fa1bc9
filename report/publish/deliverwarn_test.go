package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/store"
)

// claimFails is a store whose publisher lease cannot be claimed for its
// first fail calls (a database that cannot be written); ctx is cancelled
// at call stop.
type claimFails struct {
	Store
	calls, fail, stop int
	cancel            context.CancelFunc
}

func (s *claimFails) ClaimPublisher(ctx context.Context, me string, now time.Time, stale store.Lease) (store.Lease, error) {
	s.calls++
	if s.calls >= s.stop {
		s.cancel()
	}
	if s.calls <= s.fail {
		return store.Lease{}, errors.New("store: begin: attempt to write a readonly database (8)")
	}
	return s.Store.ClaimPublisher(ctx, me, now, stale)
}

// TestDeliveriesWarningOnceAMinute: while the delivery poll (every second)
// fails, the log says so at once, then once a minute with the number of
// polls that failed since, and once at info when it works again. A store
// that could not be written logged `report deliveries` every second (29
// lines in 28 s).
func TestDeliveriesWarningOnceAMinute(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(filepath.Join(dir, "reports"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := &claimFails{Store: openStore(t, dir), fail: 150, stop: 160, cancel: cancel}
	var logs bytes.Buffer
	// A manual clock: each poll's wait moves it a second (clock.Manual.After).
	clk := clock.NewManual(time.Date(2026, 12, 6, 11, 25, 0, 0, time.UTC))
	p, err := New(cfg, Options{Store: st, Clock: clk, Registry: prometheus.NewRegistry(),
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	p.deliverLoop(ctx)
	type line struct {
		Level, Msg  string
		FailedPolls int `json:"failed_polls"`
	}
	var got []line
	dec := json.NewDecoder(&logs)
	for dec.More() {
		var l line
		if err := dec.Decode(&l); err != nil {
			t.Fatal(err)
		}
		if l.Msg == "report deliveries" || l.Msg == "report deliveries: working again" {
			got = append(got, l)
		}
	}
	// Polls at 0 s, 1 s, ...: the 150 that fail are 0-149 s.
	want := []line{
		{"WARN", "report deliveries", 0},
		{"WARN", "report deliveries", 60},
		{"WARN", "report deliveries", 60},
		{"INFO", "report deliveries: working again", 29},
	}
	if !slices.Equal(got, want) {
		t.Errorf("log lines %+v, want %+v\n%s", got, want, logs.String())
	}
}

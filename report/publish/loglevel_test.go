package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
)

// TestDeliveryLogLevels: an operator filters the log by level, so a
// delivery that failed is not logged as INFO: a retried attempt is a
// warning, a delivery given up (attempts spent, or its channel removed
// from the config) an error; a delivered one stays INFO.
func TestDeliveryLogLevels(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failures int
		remove   bool // the channel leaves the config after the first attempt
		want     []string
	}{
		{"delivered at once", 0, false, []string{"INFO"}},
		{"delivered at the second attempt", 1, false, []string{"WARN", "INFO"}},
		{"given up", 100, false, []string{"WARN", "ERROR"}},
		{"channel removed", 100, true, []string{"WARN", "ERROR"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			cfg := testConfig(filepath.Join(dir, "reports"))
			cfg.Reports.Retry = config.Retry{Attempts: 2, Backoff: time.Second, MaxBackoff: time.Second}
			s := openStore(t, dir)
			oct := time.Date(2022, 10, 1, 0, 0, 0, 0, cfg.Loc)
			fill(t, s, oct, oct.Add(24*time.Hour))
			hook := &fakeChannel{kind: "webhook", target: "http://127.0.0.1:1/in", failures: tc.failures}
			var logs bytes.Buffer
			clk := clock.NewManual(time.Date(2022, 11, 1, 0, 10, 0, 0, cfg.Loc))
			removed := false
			p, err := New(cfg, Options{Store: s, Clock: clk, Registry: prometheus.NewRegistry(),
				Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
				Channels: func(*config.Config) []Channel {
					if removed {
						return nil
					}
					return []Channel{hook}
				}})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Cycle(ctx); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 4; i++ {
				if err := p.DeliverDue(ctx); err != nil {
					t.Fatal(err)
				}
				removed = tc.remove
				clk.Advance(time.Second)
			}
			var got []string
			dec := json.NewDecoder(&logs)
			for dec.More() {
				var rec struct{ Level, Msg string }
				if err := dec.Decode(&rec); err != nil {
					t.Fatal(err)
				}
				if rec.Msg == "report delivery" {
					got = append(got, rec.Level)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("levels of the delivery log lines %v, want %v\n%s", got, tc.want, logs.String())
			}
		})
	}
}

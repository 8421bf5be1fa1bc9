package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// TestDemoIntervalConfirmEvery: demo --interval sets every flow's interval,
// and the default confirm_every (a sixth of the interval, at least 1s)
// follows it, so that a window's end is seen within interval/6 of the
// truth. It kept the built-in config's 10s (a sixth of its 60s): at
// --interval 30s the end of a declared outage was seen up to 10s late (and
// end_uncertainty_seconds said 10), at --interval 5s the flow was re-run
// while down every 10s, more slowly than its own interval.
func TestDemoIntervalConfirmEvery(t *testing.T) {
	dir := t.TempDir()
	tl := filepath.Join(dir, "login.yaml")
	if err := os.WriteFile(tl, []byte(`name: login
timezone: America/New_York
incidents:
  - {id: login-down, service: account, functions: [login], start: 2026-03-08T01:30:00-05:00, end: 2026-03-08T03:30:00-04:00, mode: down}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	declaredEnd := time.Date(2026, 3, 8, 7, 30, 0, 0, time.UTC)
	cases := []struct {
		interval string
		confirm  time.Duration // the documented default for the interval
	}{
		{"1m", 10 * time.Second},
		{"30s", 5 * time.Second},
		{"5s", time.Second},
		{"10m", 100 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.interval, func(t *testing.T) {
			ivl, _ := time.ParseDuration(tc.interval)
			if got := config.ConfirmEveryFor(ivl); got != tc.confirm {
				t.Fatalf("ConfirmEveryFor(%s) = %s, want %s", ivl, got, tc.confirm)
			}
			out := filepath.Join(dir, tc.interval)
			var stdout, stderr bytes.Buffer
			args := []string{"demo", "--timeline", tl, "--from", "2026-03-08T05:00:00Z", "--to", "2026-03-08T09:00:00Z", "--interval", tc.interval, "--out", out}
			if code := runMain(context.Background(), args, &stdout, &stderr); code != exitOK {
				t.Fatalf("demo exit %d\n%s\n%s", code, stdout.String(), stderr.String())
			}
			data, err := os.ReadFile(filepath.Join(out, "windows.json"))
			if err != nil {
				t.Fatal(err)
			}
			var ws []struct {
				Service          string     `json:"service"`
				Function         *string    `json:"function"`
				End              *time.Time `json:"end"`
				EndUncertainty   *float64   `json:"end_uncertainty_seconds"`
				StartUncertainty *float64   `json:"start_uncertainty_seconds"`
			}
			if err := json.Unmarshal(data, &ws); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, w := range ws {
				if w.Service != "account" || w.End == nil || w.EndUncertainty == nil {
					continue
				}
				found = true
				if got := time.Duration(*w.EndUncertainty * float64(time.Second)); got != tc.confirm {
					t.Errorf("end_uncertainty_seconds %s, want confirm_every %s", got, tc.confirm)
				}
				if late := w.End.Sub(declaredEnd); late < 0 || late > tc.confirm {
					t.Errorf("window ends %s after the declared end, want within confirm_every %s", late, tc.confirm)
				}
			}
			if !found {
				t.Fatalf("no closed account window in %s", data)
			}
		})
	}
}

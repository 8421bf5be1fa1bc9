package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoIntervalShorterThanTimeout: demo --interval shorter than a flow's
// timeout. With --config it applies as if written in the config, where
// check refuses a timeout longer than the interval: demo --config
// examples/demo.yaml --interval 5s ran with its 30s timeout, and a flow
// whose run outlasted 5s (a slow fault of 20s) was run every 20-25s, not
// every 5s (810 runs of maps-route in 90 minutes where 1,080 were due). It
// is refused now (exit 2), naming the flag and the flows' timeout. The
// built-in config is not the user's to change: its flows time out at
// --interval instead, and run every --interval (a 20s slow fault is a
// failure at 5s).
func TestDemoIntervalShorterThanTimeout(t *testing.T) {
	dir := t.TempDir()
	tl := writeTimeline(t, dir, "slow.yaml", `name: slow-search
timezone: UTC
incidents:
  - {id: maps-slow, service: maps, functions: [search], start: 2026-05-01T10:00:00Z, end: 2026-05-01T10:30:00Z, mode: slow, latency: 20s}
`)
	// A flow with teardown steps: messaging-roundtrip's delete-message is
	// of its send function, so with send 4 s slow a run's steps time out
	// and its teardown takes 4 s more. It ran every 8 s at --interval 5s
	// (226 runs in the 30 minutes where 361 were due).
	tlSend := writeTimeline(t, dir, "slowsend.yaml", `name: slow-send
timezone: UTC
incidents:
  - {id: send-slow, service: messaging, functions: [send], start: 2026-05-01T10:00:00Z, end: 2026-05-01T10:30:00Z, mode: slow, latency: 4s}
`)
	rng := []string{"--timeline", tl, "--from", "2026-05-01T10:00:00Z", "--to", "2026-05-01T10:30:00Z"}
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr []string // in the error (exit 2)
		runs   int64    // maps' and messaging's runs due in the 30 minutes (exit 0): one every interval
	}{
		{name: "config, interval shorter than its timeout", args: []string{"--config", "../../examples/demo.yaml", "--interval", "5s"}, code: exitUsage,
			stderr: []string{"slaprobe demo: --interval 5s is shorter than the timeout of flows account-login (30s), ", "and 3 more", "give --interval 30s or more"}},
		{name: "config, interval as long as its timeout", args: []string{"--config", "../../examples/demo.yaml", "--interval", "30s"}, code: exitOK, runs: 60},
		{name: "built-in, interval shorter than its timeout", args: []string{"--interval", "5s"}, code: exitOK, runs: 360},
		{name: "built-in, a slow teardown", args: []string{"--interval", "5s", "--timeline", tlSend}, code: exitOK, runs: 360},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "out", string(rune('a'+i)))
			var stdout, stderr bytes.Buffer
			args := append(append(append([]string{"demo"}, tc.args...), rng...), "--out", out)
			code := runMain(context.Background(), args, &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, stderr.String())
			}
			if tc.code != exitOK {
				for _, want := range tc.stderr {
					if !strings.Contains(stderr.String(), want) {
						t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
					}
				}
				if _, err := os.Stat(out); !os.IsNotExist(err) {
					t.Errorf("refused, yet %s was made (%v)", out, err)
				}
				return
			}
			data, err := os.ReadFile(filepath.Join(out, "report.json"))
			if err != nil {
				t.Fatal(err)
			}
			var r struct {
				Services []struct {
					Name string `json:"name"`
					Runs int64  `json:"runs"`
				} `json:"services"`
			}
			if err := json.Unmarshal(data, &r); err != nil {
				t.Fatal(err)
			}
			for _, s := range r.Services {
				// The first is spread into its interval: one may fall after the range.
				if (s.Name == "maps" || s.Name == "messaging") && (s.Runs < tc.runs-1 || s.Runs > tc.runs) {
					t.Errorf("%s ran %d times in 30 minutes, want %d or one fewer (every interval)", s.Name, s.Runs, tc.runs)
				}
			}
		})
	}
}

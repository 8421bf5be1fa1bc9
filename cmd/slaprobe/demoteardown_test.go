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

// TestDemoConfigIntervalTeardownWarned: demo --config FILE --interval D
// takes the file's flows as if written with interval D, and refuses a
// timeout longer than D as check does; check also warns of a flow with
// teardown steps whose timeout is more than D/2 (72fb370: a run lasts up
// to twice its timeout, and the next run is skipped while one lasts). The
// demo said nothing of it: examples/demo.yaml at --interval 30s (its
// timeouts 30s) with send 25 s slow ran messaging-roundtrip every minute,
// half the runs due, without a word.
func TestDemoConfigIntervalTeardownWarned(t *testing.T) {
	dir := t.TempDir()
	tlSend := writeTimeline(t, dir, "slowsend.yaml", `name: slow-send
timezone: UTC
incidents:
  - {id: send-slow, service: messaging, functions: [send], start: 2026-05-01T10:00:00Z, end: 2026-05-01T10:30:00Z, mode: slow, latency: 25s}
`)
	cases := []struct {
		name     string
		interval string
		warned   []string // flows named in a warning on stderr
		quiet    []string // flows not
	}{
		{name: "timeout more than half the interval", interval: "30s", warned: []string{"messaging-roundtrip", "payments-transfer"}},
		{name: "timeout half the interval", interval: "60s", quiet: []string{"messaging-roundtrip", "payments-transfer"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "out", string(rune('a'+i)))
			var stdout, stderr bytes.Buffer
			args := []string{"demo", "--config", "../../examples/demo.yaml", "--interval", tc.interval, "--timeline", tlSend,
				"--from", "2026-05-01T10:00:00Z", "--to", "2026-05-01T10:30:00Z", "--out", out}
			if code := runMain(context.Background(), args, &stdout, &stderr); code != exitOK {
				t.Fatalf("exit %d\n%s", code, stderr.String())
			}
			var warnings []string
			for _, l := range strings.Split(stderr.String(), "\n") {
				if strings.Contains(l, "teardown") && strings.Contains(l, "warning") {
					warnings = append(warnings, l)
				}
			}
			for _, f := range tc.warned {
				if !strings.Contains(strings.Join(warnings, "\n"), f) {
					t.Errorf("no teardown warning names %s at --interval %s:\n%s", f, tc.interval, stderr.String())
				}
			}
			for _, f := range tc.quiet {
				if strings.Contains(strings.Join(warnings, "\n"), f) {
					t.Errorf("a teardown warning names %s at --interval %s:\n%s", f, tc.interval, stderr.String())
				}
			}
			// What the warning is for: messaging's runs skipped.
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
				if s.Name == "messaging" {
					t.Logf("--interval %s: messaging ran %d times in 30 minutes", tc.interval, s.Runs)
				}
			}
		})
	}
}

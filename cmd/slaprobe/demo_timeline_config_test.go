package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoTimelineAgainstConfig: demo --config warns, as check does of a
// config's own timelines, of a --timeline incident whose service the config
// does not have and of one naming functions no flow of its service probes,
// each at its file, line and key. Before, an incident of payments given to
// demo with a config that probes account and messaging only was injected
// and then left out of the report without a word (its reconciliation had no
// such service), so the customer's copy read as if the provider had declared
// nothing; check refuses such a file in a config's timelines.
func TestDemoTimelineAgainstConfig(t *testing.T) {
	dir := t.TempDir()
	tl := writeTimeline(t, dir, "gaps.yaml", `name: gaps
timezone: Asia/Kolkata
incidents:
  - id: pay
    title: transfers failing
    service: payments
    functions: [send]
    start: 2026-11-10T10:00:00+05:30
    end: 2026-11-10T10:30:00+05:30
  - id: media
    service: messaging
    functions: [media]
    start: 2026-11-10T10:00:00+05:30
    end: 2026-11-10T10:30:00+05:30
  - id: fine
    service: account
    functions: [login]
    start: 2026-11-10T10:00:00+05:30
    end: 2026-11-10T10:30:00+05:30
`)
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(`timezone: Asia/Tokyo
services:
  - name: account
    flows:
      - name: login
        steps:
          - name: login
            function: login
            request: {method: POST, url: "http://127.0.0.1:18080/account/login", json: {user: u, password: p}}
            expect: {status: [200]}
  - name: messaging
    flows:
      - name: msg
        steps:
          - name: login
            function: login
            request: {method: POST, url: "http://127.0.0.1:18080/messaging/login", json: {user: u, password: p}}
            expect: {status: [200]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := runMain(context.Background(), []string{"demo", "--config", cfg, "--timeline", tl, "--timeline", tl,
		"--from", "2026-11-10T13:00:00+09:00", "--to", "2026-11-10T13:10:00+09:00", "--out", filepath.Join(dir, "out")}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	got := stderr.String()
	for _, want := range []string{
		tl + `:6: incidents[0].service: warning: service "payments" is not in the config (account, messaging): incident pay is reconciled with nothing, and the report does not list it` + "\n",
		tl + `:12: incidents[1].functions: warning: "media" is probed by no flow of service messaging (login): the report cannot detect this incident` + "\n",
	} {
		if strings.Count(got, want) != 1 {
			t.Errorf("stderr:\n%s\nwant once the line\n%s", got, want)
		}
	}
	if n := strings.Count(got, "warning:"); n != 2 {
		t.Errorf("stderr:\n%s\nwant 2 warnings, got %d", got, n)
	}
}

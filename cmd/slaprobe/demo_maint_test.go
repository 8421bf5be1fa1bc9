package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoConfigMaintenanceOffsetWarning: demo --config warns, as check
// does, of a maintenance time written with the config's timezone's other
// season's offset (and of a maintenance of no service of the config): the
// demo's report excludes the config's maintenance, so "02:00-05:00" on a
// July night in New York (03:00 EDT) moved the planned hour in the report
// without a word; demo warned only of the timelines' offsets (3dce652),
// check of the maintenance's (e25d79b).
func TestDemoConfigMaintenanceOffsetWarning(t *testing.T) {
	dir := t.TempDir()
	tl := writeTimeline(t, dir, "ny.yaml", `name: ny
timezone: America/New_York
incidents:
  - id: login-down
    service: account
    functions: [login]
    start: 2024-07-02T01:00:00-04:00
    end: 2024-07-02T01:30:00-04:00
`)
	cfg := filepath.Join(dir, "ny-config.yaml")
	if err := os.WriteFile(cfg, []byte(`timezone: America/New_York
maintenance:
  - service: account
    start: 2024-07-02T02:00:00-05:00
    end: 2024-07-02T04:00:00-04:00
services:
  - name: account
    flows:
      - name: login
        steps:
          - name: login
            function: login
            request: {method: POST, url: "http://127.0.0.1:18080/account/login", json: {user: u, password: p}}
            expect: {status: [200]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := runMain(context.Background(), []string{"demo", "--config", cfg, "--timeline", tl, "--from", "2024-07-02T00:00:00-04:00",
		"--to", "2024-07-02T04:00:00-04:00", "--out", filepath.Join(dir, "out")}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	want := cfg + ":4: maintenance[0].start: warning: 2024-07-02T02:00:00-05:00 has the offset -05:00, but America/New_York (the config's timezone) was at -04:00 (EDT) then"
	if got := stderr.String(); !strings.Contains(got, want) || strings.Count(got, "warning:") != 1 {
		t.Errorf("stderr:\n%s\nwant the one warning\n%s", got, want)
	}
}

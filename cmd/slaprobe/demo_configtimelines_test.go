package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoSaysConfigTimelinesNotReplayed: demo --config without --timeline
// replays the bundled 2022-10-15 fire (DESIGN), not the timelines the
// config names; it said nothing of it, so a config declaring a January of
// its own was replayed over the fire, nothing injected and nothing
// reconciled, without a word. It says so now, and not when --timeline
// names what to replay or the config names no timeline.
func TestDemoSaysConfigTimelinesNotReplayed(t *testing.T) {
	dir := t.TempDir()
	tl := writeTimeline(t, dir, "acme.yaml", `name: acme
timezone: America/New_York
incidents:
  - id: login-down
    service: account
    functions: [login]
    start: 2022-10-15T01:00:00-04:00
    end: 2022-10-15T01:30:00-04:00
`)
	config := func(name, timelines string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(`timezone: America/New_York
services:
  - name: account
`+timelines+`    flows:
      - name: login
        steps:
          - name: login
            function: login
            request: {method: POST, url: "http://127.0.0.1:18080/account/login", json: {user: u, password: p}}
            expect: {status: [200]}
`), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	with, without := config("with.yaml", "    timelines: ["+tl+"]\n"), config("without.yaml", "")
	notice := "slaprobe demo: no --timeline: replaying the bundled 2022-10-15 fire only, not " + tl + " of the config; give --timeline FILE for each to replay"
	for _, tc := range []struct {
		name string
		args []string
		want bool
	}{
		{"config names one, no --timeline", []string{"--config", with}, true},
		{"config names one, --timeline given", []string{"--config", with, "--timeline", tl}, false},
		{"config names none", []string{"--config", without}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"demo"}, tc.args...)
			args = append(args, "--from", "2022-10-15T00:00:00-04:00", "--to", "2022-10-15T02:00:00-04:00", "--out", filepath.Join(t.TempDir(), "out"))
			if code := runMain(context.Background(), args, &stdout, &stderr); code != exitOK {
				t.Fatalf("exit %d\n%s", code, stderr.String())
			}
			if got := strings.Contains(stderr.String(), notice); got != tc.want || strings.Count(stderr.String(), "no --timeline") > 1 {
				t.Errorf("notice said: %v, want %v; stderr:\n%s", got, tc.want, stderr.String())
			}
		})
	}
}

// TestDemoExampleConfigNamesWhatIsNotReplayed: examples/demo.yaml names
// its copy of the bundled fire, which is replayed, and the 2021 receive
// outage, which is not: the notice names that one only.
func TestDemoExampleConfigNamesWhatIsNotReplayed(t *testing.T) {
	var stdout, stderr bytes.Buffer
	args := []string{"demo", "--config", "../../examples/demo.yaml", "--from", "2022-10-15T15:00:00+09:00", "--to", "2022-10-15T15:10:00+09:00", "--out", filepath.Join(t.TempDir(), "out")}
	if code := runMain(context.Background(), args, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	want := "slaprobe demo: no --timeline: replaying the bundled 2022-10-15 fire only, not ../../examples/incidents/kakao-2021-05-05.yaml of the config; give --timeline FILE for each to replay"
	if got := stderr.String(); !strings.Contains(got, want) || strings.Contains(got, "kakao-2022-10-15.yaml of the config") {
		t.Errorf("stderr:\n%s\nwant\n%s", got, want)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	tl := writeTimeline(t, dir, "login.yaml", `name: login
timezone: America/New_York
incidents:
  - {id: login-down, service: account, functions: [login], start: 2026-03-08T01:30:00-05:00, end: 2026-03-08T03:30:00-04:00, mode: down}
`)
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
			data := runDemo(t, out, "windows.json", "--timeline", tl, "--from", "2026-03-08T05:00:00Z", "--to", "2026-03-08T09:00:00Z", "--interval", tc.interval)
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

// TestDemoSlowReceive: a declared slow receive is measured by the built-in
// config as degraded, as a slow map tile is. Its receive steps had no
// latency objective (the messaging WebSocket handshake, which a slow fault
// delays, and the mobility and mail polls), so such an incident was
// replayed but reconciled as not detected.
func TestDemoSlowReceive(t *testing.T) {
	dir := t.TempDir()
	tl := writeTimeline(t, dir, "slow.yaml", `name: slow-receive
timezone: UTC
incidents:
  - {id: msg-slow, service: messaging, functions: [receive], start: 2026-05-01T10:00:00Z, end: 2026-05-01T10:30:00Z, mode: slow, latency: 5s}
  - {id: ride-slow, service: mobility, functions: [receive], start: 2026-05-01T10:00:00Z, end: 2026-05-01T10:30:00Z, mode: slow, latency: 3s}
  - {id: mail-slow, service: mail, functions: [receive], start: 2026-05-01T10:00:00Z, end: 2026-05-01T10:30:00Z, mode: slow, latency: 3s}
`)
	out := filepath.Join(dir, "out")
	r := readDemoReport(t, runDemo(t, out, "report.json", "--timeline", tl, "--from", "2026-05-01T09:00:00Z", "--to", "2026-05-01T12:00:00Z"))
	n := 0
	for _, s := range r.Services {
		for _, rc := range s.Reconciliation {
			n++
			if !rc.Detected || rc.StartDelta == nil || rc.EndDelta == nil {
				t.Errorf("%s: %s detected %v, deltas %v %v: want measured", s.Name, rc.ID, rc.Detected, rc.StartDelta, rc.EndDelta)
				continue
			}
			if d, e := *rc.StartDelta, *rc.EndDelta; d < 0 || d > 61 || e < 0 || e > 61 {
				t.Errorf("%s: %s start/end off by %.0fs/%.0fs, want within an interval", s.Name, rc.ID, d, e)
			}
			for _, w := range rc.Windows {
				if w.Kind != "degraded" {
					t.Errorf("%s: %s matched a %s window, want degraded", s.Name, rc.ID, w.Kind)
				}
			}
		}
		if len(s.Undeclared) > 0 {
			t.Errorf("%s: undeclared windows %v", s.Name, s.Undeclared)
		}
	}
	if n != 3 {
		t.Errorf("%d declared incidents reconciled, want 3", n)
	}
}

// TestDemoTimelineNamedTwice: a timeline given twice (however its path is
// spelt) is replayed and reconciled once, as a config that names a file
// twice loads it once. Each incident was listed twice, the second copy
// "detected": false (the windows had gone to the first).
func TestDemoTimelineNamedTwice(t *testing.T) {
	dir := t.TempDir()
	tl := writeTimeline(t, dir, "down.yaml", `name: down
incidents:
  - {id: route-down, service: maps, functions: [route], start: 2026-05-01T10:00:00Z, end: 2026-05-01T10:20:00Z, mode: down}
`)
	out := filepath.Join(dir, "out")
	r := readDemoReport(t, runDemo(t, out, "report.json", "--timeline", tl, "--timeline", filepath.Join(dir, ".", "..", filepath.Base(dir), "down.yaml"),
		"--from", "2026-05-01T09:00:00Z", "--to", "2026-05-01T11:00:00Z"))
	var got []string
	for _, s := range r.Services {
		for _, rc := range s.Reconciliation {
			got = append(got, fmt.Sprintf("%s detected=%v", rc.ID, rc.Detected))
		}
	}
	if len(got) != 1 || got[0] != "route-down detected=true" {
		t.Errorf("reconciliation %q, want [route-down detected=true]", got)
	}
}

// TestDemoTimelineZone: without --config, demo reports in the time zone
// the timelines name (the built-in config's Asia/Seoul is the bundled
// fire's), so that dates without an offset, the default months and the
// report's offsets are the timeline's; a --config keeps its own zone. It
// reported every timeline in Asia/Seoul: --from 2026-10-31 --to 2026-11-01
// for a Berlin timeline was a Seoul day, which missed the Berlin evening's
// outage.
func TestDemoTimelineZone(t *testing.T) {
	dir := t.TempDir()
	tl := writeTimeline(t, dir, "berlin.yaml", `name: berlin
timezone: Europe/Berlin
incidents:
  - {id: login-down, service: account, functions: [login], start: 2026-10-31T22:00:00+01:00, end: 2026-10-31T23:00:00+01:00, mode: down}
`)
	cases := []struct {
		name     string
		config   []string
		zone     string
		from     string
		detected bool
	}{
		{"built-in config: the timeline's zone", nil, "Europe/Berlin", "2026-10-31T00:00:00+01:00", true},
		{"--config: its own zone", []string{"--config", filepath.Join("..", "..", "examples", "demo.yaml")}, "Asia/Seoul", "2026-10-31T00:00:00+09:00", false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, fmt.Sprint(i))
			r := readDemoReport(t, runDemo(t, out, "report.json", append([]string{"--timeline", tl, "--from", "2026-10-31", "--to", "2026-11-01"}, tc.config...)...))
			if r.Timezone != tc.zone || r.From != tc.from {
				t.Errorf("report timezone %q from %q, want %q from %q", r.Timezone, r.From, tc.zone, tc.from)
			}
			var detected []string
			for _, s := range r.Services {
				for _, rc := range s.Reconciliation {
					if rc.Detected {
						detected = append(detected, rc.ID)
					}
				}
			}
			if got := len(detected) == 1 && detected[0] == "login-down"; got != tc.detected {
				t.Errorf("detected %q, want login-down detected %v", detected, tc.detected)
			}
		})
	}
}

// TestDemoRangeOpensOnRunningProber: the replay warms up one interval
// before --from, so the range opens on a prober that was already running,
// as a month's report of a live one does. An outage that begins at the
// range's start is measured from its first failing run; one already under
// way is cut by the range (start_cut "period"), with no start delta. Without
// the warm-up the first run of the range had no run before it: the first
// case's start was unmeasured (start_cut "no_data"), or, before that was
// cut, the second case's start delta was the half hour before the range.
func TestDemoRangeOpensOnRunningProber(t *testing.T) {
	dir := t.TempDir()
	tl := writeTimeline(t, dir, "login.yaml", `name: login
timezone: UTC
incidents:
  - {id: login-down, service: account, functions: [login], start: 2026-05-01T10:00:00Z, end: 2026-05-01T11:00:00Z, mode: down}
`)
	cases := []struct {
		from     string
		startCut string // "" when the start is measured
	}{
		{"2026-05-01T10:00:00Z", ""},
		{"2026-05-01T10:30:00Z", "period"},
	}
	for i, tc := range cases {
		t.Run(tc.from, func(t *testing.T) {
			out := filepath.Join(dir, fmt.Sprint(i))
			r := readDemoReport(t, runDemo(t, out, "report.json", "--timeline", tl, "--from", tc.from, "--to", "2026-05-01T12:00:00Z"))
			n := 0
			for _, s := range r.Services {
				for _, rc := range s.Reconciliation {
					if rc.ID != "login-down" {
						continue
					}
					n++
					cut := ""
					if rc.StartCut != nil {
						cut = *rc.StartCut
					}
					if !rc.Detected || cut != tc.startCut {
						t.Errorf("detected %v, start_cut %q; want detected, start_cut %q", rc.Detected, cut, tc.startCut)
					}
					switch {
					case tc.startCut == "" && (rc.StartDelta == nil || *rc.StartDelta < 0 || *rc.StartDelta > 60):
						t.Errorf("start_delta_seconds %v, want measured within the 60 s interval", rc.StartDelta)
					case tc.startCut != "" && (rc.StartDelta != nil || rc.MeasuredStart != nil):
						t.Errorf("measured_start %v, start_delta_seconds %v; want none (cut by the range)", rc.MeasuredStart, rc.StartDelta)
					}
				}
			}
			if n != 1 {
				t.Errorf("%d reconciliations of login-down, want 1", n)
			}
		})
	}
}

// runDemo runs `slaprobe demo args... --out out`, failing the test unless it
// exits 0, and returns the file of that name it wrote in out.
func runDemo(t *testing.T, out, file string, args ...string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args = append(append([]string{"demo"}, args...), "--out", out)
	if code := runMain(context.Background(), args, &stdout, &stderr); code != exitOK {
		t.Fatalf("demo exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	data, err := os.ReadFile(filepath.Join(out, file))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// demoReport is what the demo tests read of report.json.
type demoReport struct {
	From     string `json:"from"`
	Timezone string `json:"timezone"`
	Services []struct {
		Name           string `json:"name"`
		Reconciliation []struct {
			ID            string   `json:"id"`
			Detected      bool     `json:"detected"`
			MeasuredStart *string  `json:"measured_start"`
			StartDelta    *float64 `json:"start_delta_seconds"`
			EndDelta      *float64 `json:"end_delta_seconds"`
			StartCut      *string  `json:"start_cut"`
			Windows       []struct {
				Kind string `json:"kind"`
			} `json:"windows"`
		} `json:"reconciliation"`
		Undeclared []any `json:"undeclared"`
	} `json:"services"`
}

func readDemoReport(t *testing.T, data []byte) demoReport {
	t.Helper()
	var r demoReport
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// writeTimeline writes a timeline file named name in dir and returns its path.
func writeTimeline(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDemoTimelineOffsetWarning: demo and platform say, as check does, that
// a time in a --timeline has an offset its own timezone did not have then
// ("4 pm PST" for an October day in Los Angeles, written -08:00): the
// replay injects the fault an hour off, and a file given only to demo was
// never checked. Each warning names the file, line and key, and the
// replay goes on.
func TestDemoTimelineOffsetWarning(t *testing.T) {
	dir := t.TempDir()
	tl := writeTimeline(t, dir, "la.yaml", `name: la
timezone: America/Los_Angeles
incidents:
  - id: login-down
    service: account
    functions: [login]
    start: 2021-10-28T16:00:00-08:00
    end: 2021-10-28T18:00:00-07:00
`)
	want := tl + `:7: incidents[0].start: warning: 2021-10-28T16:00:00-08:00 has the offset -08:00, but America/Los_Angeles (the timeline's timezone) was at -07:00 (PDT) then: if the provider gave the time in America/Los_Angeles, write 2021-10-28T16:00:00-07:00 (an hour apart)` + "\n"
	t.Run("demo", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		args := []string{"demo", "--timeline", tl, "--from", "2021-10-28T15:00:00-07:00", "--to", "2021-10-28T18:00:00-07:00", "--out", filepath.Join(dir, "out")}
		if code := runMain(context.Background(), args, &stdout, &stderr); code != exitOK {
			t.Fatalf("demo exit %d\n%s", code, stderr.String())
		}
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr:\n%s\nwant the line\n%s", stderr.String(), want)
		}
	})
	// With --config, the timelines the config names are warned of too (check
	// does), and a file both named there and given as --timeline once.
	t.Run("demo --config", func(t *testing.T) {
		other := writeTimeline(t, dir, "la2.yaml", `name: la2
timezone: America/Los_Angeles
incidents:
  - id: login-slow
    service: account
    functions: [login]
    start: 2021-10-28T19:00:00-07:00
    end: 2021-10-28T20:00:00-08:00
`)
		wantOther := other + `:8: incidents[0].end: warning: 2021-10-28T20:00:00-08:00 has the offset -08:00, but America/Los_Angeles (the timeline's timezone) was at -07:00 (PDT) then: if the provider gave the time in America/Los_Angeles, write 2021-10-28T20:00:00-07:00 (an hour apart)` + "\n"
		cfg := filepath.Join(dir, "la-config.yaml")
		if err := os.WriteFile(cfg, []byte(`timezone: UTC
services:
  - name: account
    timelines: [la.yaml]
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
		for _, extra := range [][]string{
			{"--timeline", other},                   // the config's la.yaml, and la2.yaml
			{"--timeline", other, "--timeline", tl}, // la.yaml named by both
			{"--timeline", "la2.yaml", "--timeline", filepath.Join(dir, ".", "la.yaml")}, // spelt otherwise
		} {
			var stdout, stderr bytes.Buffer
			args := append([]string{"demo", "--config", cfg, "--from", "2021-10-28T15:00:00-07:00", "--to", "2021-10-28T16:00:00-07:00", "--out", filepath.Join(dir, "out-config")}, extra...)
			code := 0
			func() {
				if extra[1] == "la2.yaml" {
					wd, _ := os.Getwd()
					if err := os.Chdir(dir); err != nil {
						t.Fatal(err)
					}
					defer os.Chdir(wd) //nolint:errcheck // back to the package
				}
				code = runMain(context.Background(), args, &stdout, &stderr)
			}()
			if code != exitOK {
				t.Fatalf("demo %v: exit %d\n%s", extra, code, stderr.String())
			}
			got := stderr.String()
			if strings.Count(got, "warning:") != 2 || strings.Count(got, "incidents[0].start: warning:") != 1 || strings.Count(got, "incidents[0].end: warning:") != 1 {
				t.Errorf("demo %v: stderr:\n%s\nwant each warning once", extra, got)
			}
			if !strings.Contains(got, want) && !strings.Contains(got, strings.Replace(want, tl, "la.yaml", 1)) {
				t.Errorf("demo %v: stderr:\n%s\nwant the line\n%s", extra, got, want)
			}
			if !strings.Contains(got, wantOther) && !strings.Contains(got, strings.Replace(wantOther, other, "la2.yaml", 1)) {
				t.Errorf("demo %v: stderr:\n%s\nwant the line\n%s", extra, got, wantOther)
			}
		}
	})
	t.Run("platform", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var stdout, stderr syncBuffer
		done := make(chan int, 1)
		go func() {
			done <- runMain(ctx, []string{"platform", "--listen", "127.0.0.1:0", "--timeline", tl}, &stdout, &stderr)
		}()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(stdout.String(), "listening") && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		<-done
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr:\n%s\nwant the line\n%s", stderr.String(), want)
		}
	})
}

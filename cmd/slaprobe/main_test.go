package main

import (
	"bytes"
	"context"
	"flag"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// TestExitCodes checks DESIGN's contract: 0 success, 1 a failure found, 2
// bad usage or bad input, with the reason on stderr.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("location: x\nservices:\n  - name: s\n    objective: 2\n    bogus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	noFlows := filepath.Join(dir, "no-flows.yaml")
	if err := os.WriteFile(noFlows, []byte("location: x\nservices: [{name: s}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	emptySecret := filepath.Join(dir, "empty-secret")
	if err := os.WriteFile(emptySecret, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		args      []string
		code      int
		stdout    string
		stderrHas []string
	}{
		{"no command", nil, exitUsage, "", []string{"Usage: slaprobe COMMAND"}},
		{"help", []string{"--help"}, exitOK, "Commands:", nil},
		{"unknown command", []string{"frobnicate"}, exitUsage, "", []string{`unknown command "frobnicate"`}},
		{"version", []string{"version"}, exitOK, "slaprobe ", nil},
		{"subcommand help", []string{"report", "--help"}, exitOK, "(--month YYYY-MM | --from T --to T) --format", nil},
		{"unknown flag", []string{"check", "--nope"}, exitUsage, "", []string{"flag provided but not defined"}},
		{"check needs config", []string{"check"}, exitUsage, "", []string{"--config is required"}},
		{"check ok", []string{"check", "--config", "../../examples/demo.yaml"}, exitOK, "ok: 6 services", nil},
		{"check bad config names file and line", []string{"check", "--config", bad}, exitUsage, "", []string{bad + ":4:", bad + ":5:", "bogus"}},
		{"check missing file", []string{"check", "--config", filepath.Join(dir, "nope.yaml")}, exitUsage, "", []string{"nope.yaml"}},
		{"report bad format", []string{"report", "--config", "../../examples/demo.yaml", "--format", "docx", "--out", "x"}, exitUsage, "", []string{`--format "docx"`}},
		{"report month and range", []string{"report", "--config", "../../examples/demo.yaml", "--format", "json", "--out", "-", "--month", "2022-10", "--from", "2022-10-01", "--to", "2022-10-02"}, exitUsage, "", []string{"exclusive"}},
		{"windows needs range", []string{"windows", "--config", "../../examples/demo.yaml"}, exitUsage, "", []string{"--from and --to are required"}},
		{"windows bad time", []string{"windows", "--config", "../../examples/demo.yaml", "--from", "yesterday", "--to", "2022-10-02"}, exitUsage, "", []string{`--from "yesterday"`}},
		{"once unknown flow", []string{"once", "--config", "../../examples/demo.yaml", "--flow", "nope"}, exitUsage, "", []string{`no such flow`}},
		{"once without flows", []string{"once", "--config", noFlows}, exitUsage, "", []string{noFlows + " has no flows to run"}},
		{"demo bad interval", []string{"demo", "--interval", "-1s"}, exitUsage, "", []string{"must be at least 1s"}},
		{"rules", []string{"rules", "--config", "../../examples/demo.yaml"}, exitOK, "groups:", nil},
		{"platform missing secret file", []string{"platform", "--webhook-secret-file", filepath.Join(dir, "nope")}, exitUsage, "", []string{"--webhook-secret-file", "nope"}},
		{"platform empty secret file", []string{"platform", "--webhook-secret-file", emptySecret}, exitUsage, "", []string{"empty-secret: empty"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runMain(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, stdout.String())
			}
			for _, want := range tc.stderrHas {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
		})
	}
}

func TestDemoRange(t *testing.T) {
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tl := func(start, end string) []*config.Timeline {
		inc := config.Incident{ID: "x", Start: at(start)}
		if end != "" {
			inc.End = at(end)
		}
		return []*config.Timeline{{Incidents: []config.Incident{inc}}}
	}
	cases := []struct {
		name      string
		tls       []*config.Timeline
		from, to  string
		wantFrom  string
		wantTo    string
		wantError string
		zone      string // default Asia/Seoul
	}{
		{"one month", tl("2022-10-15T15:30:00+09:00", "2022-10-20T23:00:00+09:00"), "", "", "2022-10-01T00:00:00+09:00", "2022-11-01T00:00:00+09:00", "", ""},
		{"month boundary in the zone", tl("2021-05-05T21:47:00+09:00", "2021-06-01T00:08:00+09:00"), "", "", "2021-05-01T00:00:00+09:00", "2021-07-01T00:00:00+09:00", "", ""},
		// An incident's end is exclusive (its fault is off from then): one
		// ending at a month's first instant does not reach into that month.
		{"ends at the next month's start", tl("2026-10-31T23:00:00+01:00", "2026-11-01T00:00:00+01:00"), "", "", "2026-10-01T00:00:00+02:00", "2026-11-01T00:00:00+01:00", "", "Europe/Berlin"},
		{"three months ending at the fourth's start", tl("2026-08-01T00:00:00+09:00", "2026-11-01T00:00:00+09:00"), "", "", "2026-08-01T00:00:00+09:00", "2026-11-01T00:00:00+09:00", "", ""},
		{"ends a second into the next month", tl("2026-10-31T23:00:00+01:00", "2026-11-01T00:00:01+01:00"), "", "", "2026-10-01T00:00:00+02:00", "2026-12-01T00:00:00+01:00", "", "Europe/Berlin"},
		{"ongoing counts its start", tl("2022-10-15T15:30:00+09:00", ""), "", "", "2022-10-01T00:00:00+09:00", "2022-11-01T00:00:00+09:00", "", ""},
		{"too many months", tl("2020-01-01T00:00:00+09:00", "2025-01-01T00:00:00+09:00"), "", "", "", "", "give --from and --to", ""},
		{"explicit range", tl("2020-01-01T00:00:00+09:00", "2025-01-01T00:00:00+09:00"), "2020-01-01", "2020-01-02", "2020-01-01T00:00:00+09:00", "2020-01-02T00:00:00+09:00", "", ""},
		{"no incidents", []*config.Timeline{{}}, "", "", "", "", "declare no incident", ""},
		{"months past 9999", tl("9999-12-20T00:00:00Z", "9999-12-21T00:00:00Z"), "", "", "", "", "is after 9999-12-31 in Asia/Seoul", ""},
		// Zones whose clocks jump at local midnight: a day and a month
		// start at the first instant of their local date (issue #12).
		{"Asuncion month without midnight", tl("2023-10-15T12:00:00-03:00", "2023-10-15T13:00:00-03:00"), "", "", "2023-10-01T01:00:00-03:00", "2023-11-01T00:00:00-03:00", "", "America/Asuncion"},
		{"Santiago next month without midnight", tl("2024-08-20T12:00:00-04:00", "2024-09-20T13:00:00-03:00"), "", "", "2024-08-01T00:00:00-04:00", "2024-10-01T00:00:00-03:00", "", "America/Santiago"},
		{"Asuncion bare dates", nil, "2023-10-01", "2023-10-02", "2023-10-01T01:00:00-03:00", "2023-10-02T00:00:00-03:00", "", "America/Asuncion"},
		{"Havana bare date", nil, "2024-03-10", "2024-03-11", "2024-03-10T01:00:00-04:00", "2024-03-11T00:00:00-04:00", "", "America/Havana"},
		{"Santiago bare date on the day clocks go back", nil, "2024-04-06", "2024-04-07", "2024-04-06T00:00:00-03:00", "2024-04-07T00:00:00-04:00", "", "America/Santiago"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			loc := seoul
			if tc.zone != "" {
				if loc, err = time.LoadLocation(tc.zone); err != nil {
					t.Fatal(err)
				}
			}
			f, to, err := demoRange(tc.from, tc.to, tc.tls, loc, nil)
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("err = %v, want %q", err, tc.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Format(time.RFC3339); got != tc.wantFrom {
				t.Errorf("from %s, want %s", got, tc.wantFrom)
			}
			if got := to.Format(time.RFC3339); got != tc.wantTo {
				t.Errorf("to %s, want %s", got, tc.wantTo)
			}
		})
	}
}

// TestUsageNamesEveryFlag: each command's --help synopsis names every flag
// its Flags section lists (run left out --log-level, windows --recompute,
// platform --allow-remote-admin and --allow-remote-callbacks), and the
// section lists each in its --long form, as the synopsis and the docs do
// (it listed "-config string").
func TestUsageNamesEveryFlag(t *testing.T) {
	defined := regexp.MustCompile(`(?m)^  --?([a-z0-9-]+)`)
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := runMain(context.Background(), []string{c.name, "--help"}, &stdout, &stderr); code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			usage, flags, ok := strings.Cut(stdout.String(), "\n")
			if !ok || !strings.HasPrefix(usage, "Usage: slaprobe "+c.name) {
				t.Fatalf("no usage line:\n%s", stdout.String())
			}
			for _, m := range defined.FindAllStringSubmatch(flags, -1) {
				if !strings.HasPrefix(m[0], "  --") {
					t.Errorf("Flags lists %q, want its --long form", strings.TrimSpace(m[0]))
				}
				if !named(usage, m[1]) {
					t.Errorf("usage %q does not name --%s", usage, m[1])
				}
			}
		})
	}
}

func TestSynopsisLine(t *testing.T) {
	for _, tc := range []struct {
		name, synopsis, want string
	}{
		{"all named", "--config FILE [--from T] [--from-file F] [--v]", "slaprobe x --config FILE [--from T] [--from-file F] [--v]"},
		{"none named", "", "slaprobe x [--config CONFIG] [--from FROM] [--from-file FROM_FILE] [--v]"},
		{"prefix is not a mention", "--config FILE [--from-file F]", "slaprobe x --config FILE [--from-file F] [--from FROM] [--v]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			fs.String("config", "", "")
			fs.String("from", "", "")
			fs.String("from-file", "", "")
			fs.Bool("v", false, "")
			if got := synopsisLine(fs, tc.synopsis); got != tc.want {
				t.Errorf("synopsisLine = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestConfigErrorLines checks DESIGN's "errors as FILE:LINE: message": every
// problem found in a config or a timeline is a line of its own that starts
// with the file and line, the first as much as the others (it used to carry
// the "slaprobe check: " prefix that the others did not).
func TestConfigErrorLines(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(cfg, []byte("location: x\nservices:\n  - name: s\n    objective: 2\n    bogus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	one := filepath.Join(dir, "one.yaml")
	if err := os.WriteFile(one, []byte("location: x\nbogus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^` + regexp.QuoteMeta(dir) + `/[a-z]+\.yaml:\d+: `)
	cases := []struct {
		name  string
		args  []string
		lines int
	}{
		{"check, two problems", []string{"check", "--config", cfg}, 2},
		{"check, another file", []string{"check", "--config", one}, 2},
		{"once", []string{"once", "--config", cfg}, 2},
		{"rules", []string{"rules", "--config", one}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := runMain(context.Background(), tc.args, &stdout, &stderr); code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitUsage, stderr.String())
			}
			got := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if len(got) != tc.lines {
				t.Fatalf("%d lines on stderr, want %d:\n%s", len(got), tc.lines, stderr.String())
			}
			for _, l := range got {
				if !line.MatchString(l) {
					t.Errorf("line %q does not start with FILE:LINE:", l)
				}
			}
		})
	}
}

// TestRunNamesTheListenerItCannotBind: a listener whose address is taken is
// named by its key (or flag), and nothing claims to be serving before every
// listener is bound.
func TestRunNamesTheListenerItCannotBind(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const svc = "services: [{name: s}]\n"
	taken := held.Addr().String()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"listen", []string{"run", "--config", write("a.yaml", "listen: "+taken+"\n"+svc), "--db", filepath.Join(dir, "a.db")}, "listen: "},
		{"--listen", []string{"run", "--config", write("b.yaml", svc), "--db", filepath.Join(dir, "b.db"), "--listen", taken}, "--listen: "},
		{"status.listen", []string{"run", "--config", write("c.yaml", "listen: 127.0.0.1:0\nstatus: {listen: \""+taken+"\"}\n"+svc), "--db", filepath.Join(dir, "c.db")}, "status.listen: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runMain(context.Background(), tc.args, &stdout, &stderr)
			if code != exitUsage || !strings.Contains(stderr.String(), "slaprobe run: "+tc.want) {
				t.Errorf("exit %d, stderr %q; want %d naming %q", code, stderr.String(), exitUsage, tc.want)
			}
			if strings.Contains(stdout.String(), "serving") {
				t.Errorf("stdout claims to serve: %q", stdout.String())
			}
		})
	}
}

package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/slaprobe/slaprobe/store"
)

// TestOutputsAndStoresCheckedFirst covers #15 findings 4, 5 and 9: a bad
// --out or --db is bad input (exit 2) found before any work, a read-only
// command never creates a store, and --out writes regular files only,
// through a symbolic link, keeping an existing file's mode.
func TestOutputsAndStoresCheckedFirst(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "results.db")
	st, err := store.OpenSQLite(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	// "#" is a character of a file's name (a directory demo --out made,
	// "runs#2"): it was refused, exit 1, as if it began a URI's fragment.
	hashDB := filepath.Join(dir, "runs#2", "results.db")
	if err := os.Mkdir(filepath.Dir(hashDB), 0o755); err != nil {
		t.Fatal(err)
	}
	if st, err = store.OpenSQLite(context.Background(), hashDB, store.Options{}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	private := filepath.Join(dir, "private.md")
	if err := os.WriteFile(private, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "latest.md")
	if err := os.Symlink("private.md", link); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling.md")
	if err := os.Symlink("nowhere/x.md", dangling); err != nil {
		t.Fatal(err)
	}
	// A FIFO stands for a device: a test that ran as root on the old code
	// must not replace the real /dev/null.
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	aFile := filepath.Join(dir, "a-file")
	if err := os.WriteFile(aFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	const cfg = "../../examples/demo.yaml"
	report := func(out, db string) []string {
		return []string{"report", "--config", cfg, "--db", db, "--month", "2022-10", "--format", "md", "--out", out}
	}
	typo := filepath.Join(dir, "typo.db")
	cases := []struct {
		name      string
		args      []string
		code      int
		stderrHas string
		check     func(t *testing.T)
	}{
		{"report --out a directory", report(dir, db), exitUsage, "is a directory", nil},
		{"report --out a directory before a missing store", report(dir, typo), exitUsage, "is a directory", nil},
		{"report --out in a missing directory", report("/nonexistent/r.md", db), exitUsage, "directory /nonexistent does not exist", nil},
		{"report --out a FIFO", report(fifo, db), exitUsage, "not a regular file", func(t *testing.T) {
			if fi, err := os.Stat(fifo); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
				t.Errorf("%s is now %v (%v)", fifo, fi.Mode(), err)
			}
		}},
		{"report --out a dangling symlink", report(dangling, db), exitUsage, "symbolic link to a missing file", nil},
		{"report --db missing", report(filepath.Join(dir, "r.md"), typo), exitUsage, "no such store", func(t *testing.T) {
			if _, err := os.Stat(typo); err == nil {
				t.Error("report created the missing store")
			}
		}},
		{"report --db a directory", report(filepath.Join(dir, "r.md"), dir), exitUsage, "not a regular file", nil},
		{"windows --db missing", []string{"windows", "--config", cfg, "--db", typo, "--from", "2022-10-01", "--to", "2022-10-02"}, exitUsage, "no such store", func(t *testing.T) {
			if _, err := os.Stat(typo); err == nil {
				t.Error("windows created the missing store")
			}
		}},
		{"windows --db an empty file", []string{"windows", "--config", cfg, "--db", aFile, "--from", "2022-10-01", "--to", "2022-10-02"}, exitUsage, "no slaprobe store", func(t *testing.T) {
			if fi, err := os.Stat(aFile); err != nil || fi.Size() != 0 {
				t.Errorf("windows wrote into the empty file: %v", err)
			}
		}},
		{"report --db not SQLite", report(filepath.Join(dir, "r.md"), cfg), exitUsage, "not a SQLite database", nil},
		{"run --db not SQLite", []string{"run", "--config", cfg, "--db", cfg}, exitUsage, "not a SQLite database", nil},
		{"run --db a DSN that does not parse", []string{"run", "--config", cfg, "--db", "postgres://u:hunter2@[::1"}, exitUsage, "cannot parse `postgres://u:xxxxx@[::1`", nil},
		{"report --db a DSN that does not parse", report(filepath.Join(dir, "r.md"), "postgres://u:p@127.0.0.1:1/db?sslmode=bogus"), exitUsage, "sslmode is invalid", nil},
		{"windows --db a DSN that does not parse", []string{"windows", "--config", cfg, "--db", "postgres://u:p@127.0.0.1:1/db?sslmode=bogus", "--from", "2022-10-01", "--to", "2022-10-02"}, exitUsage, "sslmode is invalid", nil},
		{"report --read-timeout negative", append(report(filepath.Join(dir, "r.md"), db), "--read-timeout", "-1s"), exitUsage, "--read-timeout -1s: must not be negative", nil},
		{"windows --connect-timeout negative", []string{"windows", "--config", cfg, "--db", db, "--from", "2022-10-01", "--to", "2022-10-02", "--connect-timeout", "-5s"}, exitUsage, "--connect-timeout -5s: must not be negative", nil},
		{"windows --db in a directory with #", []string{"windows", "--config", cfg, "--db", hashDB, "--from", "2022-10-01", "--to", "2022-10-02"}, exitOK, "", nil},
		{"windows --db with a query", []string{"windows", "--config", cfg, "--db", db + "?mode=ro", "--from", "2022-10-01", "--to", "2022-10-02"}, exitUsage, "want a plain file path", nil},
		{"run --db with a query", []string{"run", "--config", cfg, "--db", db + "?cache=shared"}, exitUsage, "want a plain file path", nil},
		{"run --db in a missing directory", []string{"run", "--config", cfg, "--db", "/nonexistent/dir/x.db"}, exitUsage, "directory /nonexistent/dir does not exist", nil},
		{"demo --out a file", []string{"demo", "--out", aFile}, exitUsage, "is not a directory", nil},
		{"demo --out with a query", []string{"demo", "--out", filepath.Join(dir, "o?2"), "--from", "2022-10-15", "--to", "2022-10-16"}, exitUsage, "want a plain file path", func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(dir, "o?2")); err == nil {
				t.Error("demo made the --out directory it then refused")
			}
		}},
		{"demo --interval 1ms", []string{"demo", "--interval", "1ms", "--out", filepath.Join(dir, "demo")}, exitUsage, "at least 1s", nil},
		{"report through a symlink keeps the mode", report(link, db), exitOK, "wrote", func(t *testing.T) {
			li, err := os.Lstat(link)
			if err != nil || li.Mode()&fs.ModeSymlink == 0 {
				t.Fatalf("the link was replaced: %v %v", li.Mode(), err)
			}
			fi, err := os.Stat(private)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600 kept", fi.Mode().Perm())
			}
			b, _ := os.ReadFile(private)
			if !bytes.Contains(b, []byte("# ")) || bytes.Equal(b, []byte("old")) {
				t.Errorf("the report was not written through the link: %q", b)
			}
		}},
		{"report --out - writes standard output", report("-", db), exitOK, "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runMain(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstderr: %s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.stderrHas) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderrHas, stderr.String())
			}
			if tc.check != nil {
				tc.check(t)
			}
			leftovers, _ := filepath.Glob(filepath.Join(dir, ".*"))
			if len(leftovers) > 0 {
				t.Errorf("temporary files left: %v", leftovers)
			}
		})
	}
}

// TestCheckWarnsShortSecrets covers #15 finding 8: a secret too short to
// be redacted is named (never shown) by check, which still passes.
func TestCheckWarnsShortSecrets(t *testing.T) {
	t.Setenv("SLAPROBE_TEST_PW", "e")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	src := "services:\n  - name: s\n    flows:\n      - name: f\n        vars: {pw: \"${env:SLAPROBE_TEST_PW}\"}\n        steps:\n          - {name: a, function: b, request: {url: \"http://127.0.0.1:1/\"}}\n"
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := runMain(context.Background(), []string{"check", "--config", cfg}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if want := "warning: the secret ${env:SLAPROBE_TEST_PW} is shorter than 4 bytes"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
	}
}

// TestCheckWarnsUnmatchedMaintenance: a maintenance window naming a service
// the config lacks (a typo) excludes nothing; check still passes but names
// its file, line and key, and what the config's services are.
func TestCheckWarnsUnmatchedMaintenance(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	src := "services:\n  - name: payments\n    flows:\n      - name: f\n        steps:\n          - {name: a, function: pay, request: {url: \"http://127.0.0.1:1/\"}}\n" +
		"maintenance:\n  - {service: payments, start: 2026-11-01T02:00:00Z, end: 2026-11-01T03:00:00Z}\n" +
		"  - {service: payment, start: 2026-11-02T02:00:00Z, end: 2026-11-02T03:00:00Z}\n"
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := runMain(context.Background(), []string{"check", "--config", cfg}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	want := cfg + ":9: maintenance[1].service: warning: \"payment\" is not a service of this config (payments), so the window excludes nothing"
	if got := stderr.String(); !strings.Contains(got, want) || strings.Count(got, "warning") != 1 {
		t.Errorf("stderr = %q, want one warning %q", got, want)
	}
}

// TestCheckWarnsDefaultLocationOnPostgres: probers sharing a PostgreSQL
// store under the default location merge into one location; check says so
// (without connecting) and passes.
func TestCheckWarnsDefaultLocationOnPostgres(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	src := "storage: {driver: postgres, dsn: \"postgres://127.0.0.1:1/x\"}\nservices:\n  - name: maps\n    flows:\n      - name: f\n        steps:\n          - {name: a, function: search, request: {url: \"http://127.0.0.1:1/\"}}\n"
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := runMain(context.Background(), []string{"check", "--config", cfg}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if want := cfg + ": location: warning: not set (results are stored as location \"default\")"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
}

// TestCheckWarnsSessionExpiredWithoutSession: check passes a stream's
// session_expired in a flow without a session but warns of it at its line,
// in the warning format: no new login follows it.
func TestCheckWarnsSessionExpiredWithoutSession(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	src := "services:\n  - name: hub\n    flows:\n      - name: f\n        steps:\n" +
		"          - {name: s, function: receive, sse: {url: \"http://127.0.0.1:1/\", session_expired: {jsonpath: {\"$.error.code\": 401}}}}\n" +
		"          - {name: r, function: receive, await: s}\n"
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := runMain(context.Background(), []string{"check", "--config", cfg}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	want := cfg + ":6: services[0].flows[0].steps[0].sse.session_expired: warning: the flow has no session, so no new login follows what this says"
	if got := stderr.String(); !strings.Contains(got, want) || strings.Count(got, "warning") != 1 {
		t.Errorf("stderr = %q, want one warning %q", got, want)
	}
}

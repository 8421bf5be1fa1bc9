package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slaprobe/slaprobe/store"
)

// TestReadCommandsNeedNoFlowSecrets: `windows` and `report` only read the
// store, yet loading examples/matrix.yaml demanded MATRIX_PASSWORD (and
// examples/centrifugo.yaml the hub's HMAC secret and API key): an auditor,
// or an SRE in a shell other than the daemon's, could not list the windows
// or build a report without the probe's credentials ("environment variable
// MATRIX_PASSWORD is not set", exit 2). `rules` neither probes nor reads a
// secret (services, objectives, runbook URL), and is run where Prometheus
// runs (README, Deploying), so it needs none either. A secret the command
// does use (a PostgreSQL password in storage.dsn) is still required.
func TestReadCommandsNeedNoFlowSecrets(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "results.db")
	for _, example := range []string{"matrix.yaml", "centrifugo.yaml"} {
		b, err := os.ReadFile(filepath.Join("../../examples", example))
		if err != nil {
			t.Fatal(err)
		}
		cfg := filepath.Join(dir, example)
		if err := os.WriteFile(cfg, b, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"MATRIX_PASSWORD", "CENTRIFUGO_HMAC_SECRET", "CENTRIFUGO_API_KEY"} {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
		if _, err := os.Stat(db); err != nil { // a store, as run leaves it
			st, err := store.OpenSQLite(context.Background(), db, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			st.Close()
		}
		for _, args := range [][]string{
			{"windows", "--config", cfg, "--db", db, "--from", "2026-11-01T00:00:00Z", "--to", "2026-12-01T00:00:00Z", "--format", "json"},
			{"report", "--config", cfg, "--db", db, "--month", "2026-11", "--format", "json", "--out", filepath.Join(dir, "r.json")},
			{"rules", "--config", cfg},
		} {
			var stdout, stderr bytes.Buffer
			if code := runMain(context.Background(), args, &stdout, &stderr); code != exitOK {
				t.Errorf("%s %s without the flows' secrets: exit %d: %s", args[0], example, code, stderr.String())
			}
		}
		// Commands that probe still need them.
		var stdout, stderr bytes.Buffer
		if code := runMain(context.Background(), []string{"check", "--config", cfg}, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "is not set") {
			t.Errorf("check %s without its secrets: exit %d, %s; want exit %d naming the unset variable", example, code, stderr.String(), exitUsage)
		}
	}
	// A secret in storage.dsn, which windows does use, is still required.
	cfg := filepath.Join(dir, "pg.yaml")
	if err := os.WriteFile(cfg, []byte("location: seoul-a\nstorage: {driver: postgres, dsn: \"postgres://probe:${env:SLAPROBE_TEST_PGPW}@127.0.0.1:1/db\"}\nservices:\n  - name: s\n    flows:\n      - name: f\n        steps:\n          - {name: a, function: f, request: {url: \"http://127.0.0.1:1/\"}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := runMain(context.Background(), []string{"windows", "--config", cfg, "--from", "2026-11-01T00:00:00Z", "--to", "2026-12-01T00:00:00Z"}, &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "SLAPROBE_TEST_PGPW") {
		t.Errorf("windows with storage.dsn's secret unset: exit %d, %q; want exit %d naming the variable", code, stderr.String(), exitUsage)
	}
}

// TestStoreOpenErrorRedactsDSNSecrets: an error opening the store is
// printed with the secrets of storage.dsn redacted, as every other message:
// a dsn whose user (or host, or database) comes from ${env:...} failed with
// pgx's "failed to connect to `user=PGUSER-6b6b7c7c database=db`" in clear
// (pgx masks the password only).
func TestStoreOpenErrorRedactsDSNSecrets(t *testing.T) {
	dir := t.TempDir()
	const secret = "PGUSER-6b6b7c7c"
	t.Setenv("SLAPROBE_TEST_PGUSER", secret)
	for _, dsn := range []string{
		"host=127.0.0.1 port=1 user=${env:SLAPROBE_TEST_PGUSER} dbname=db sslmode=disable connect_timeout=5",
		"postgres://${env:SLAPROBE_TEST_PGUSER}@127.0.0.1:1/db?sslmode=disable&connect_timeout=5",
	} {
		cfg := filepath.Join(dir, "pg.yaml")
		src := "storage: {driver: postgres, dsn: \"" + dsn + "\"}\nlocation: lab\nservices:\n  - name: s\n    flows:\n      - name: f\n        steps: [{name: s, function: f, request: {url: \"http://127.0.0.1:1/\"}}]\n"
		if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"windows", "--config", cfg, "--from", "2026-11-01T00:00:00Z", "--to", "2026-12-01T00:00:00Z"},
			{"report", "--config", cfg, "--month", "2026-11", "--format", "json", "--out", filepath.Join(dir, "r.json")},
		} {
			var stdout, stderr bytes.Buffer
			code := runMain(context.Background(), args, &stdout, &stderr)
			if code == exitOK {
				t.Fatalf("%s with no PostgreSQL: exit 0", args[0])
			}
			if out := stdout.String() + stderr.String(); strings.Contains(out, secret) || !strings.Contains(out, "***") {
				t.Errorf("%s %s: exit %d, printed %q: want the dsn's secret redacted", args[0], dsn, code, out)
			}
		}
	}
}

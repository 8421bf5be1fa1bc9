package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/internal/pgtest"
)

// TestRunLogsTheMigration pins the line README's upgrade procedure tells an
// SRE to wait for ("start one new prober and let it migrate (its log says
// `store schema migrated`), then start the others"): `run` logs each
// schema version it migrates the database to, on SQLite and PostgreSQL, and
// a start that finds the schema current logs none. Before, run opened the
// store without its logger, so the line never appeared and the SRE had
// nothing to wait for.
func TestRunLogsTheMigration(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") }))
	defer target.Close()
	for _, tc := range []struct {
		name string
		db   func(t *testing.T, dir string) string
	}{
		{"sqlite", func(t *testing.T, dir string) string { return filepath.Join(dir, "results.db") }},
		{"postgres", func(t *testing.T, _ string) string { return pgtest.DSN(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir) // with PostgreSQL the spool is in the working directory
			db := tc.db(t, dir)
			cfgPath := filepath.Join(dir, "config.yaml")
			cfg := fmt.Sprintf(`location: upgrade-a
timezone: UTC
listen: 127.0.0.1:0
services:
  - name: web
    objective: 0.99
    flows:
      - name: home
        interval: 1s
        timeout: 1s
        steps:
          - {name: get, function: view, request: {url: %q}}
`, target.URL)
			if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			start := func() string {
				t.Helper()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var stdout, stderr syncBuffer
				done := make(chan int, 1)
				go func() {
					done <- runMain(ctx, []string{"run", "--config", cfgPath, "--db", db}, &stdout, &stderr)
				}()
				deadline := time.Now().Add(30 * time.Second)
				for !strings.Contains(stderr.String(), `msg="daemon started"`) {
					select {
					case code := <-done:
						t.Fatalf("run exited %d before starting:\n%s", code, stderr.String())
					default:
					}
					if time.Now().After(deadline) {
						cancel()
						<-done
						t.Fatalf("run did not start within 30 s:\n%s", stderr.String())
					}
					time.Sleep(50 * time.Millisecond)
				}
				cancel()
				if code := <-done; code != exitOK {
					t.Fatalf("run exited %d:\n%s", code, stderr.String())
				}
				return stderr.String()
			}
			first := start()
			if !strings.Contains(first, `level=INFO msg="store schema migrated"`) {
				t.Errorf("first start on an empty database: no %q in the log:\n%s", "store schema migrated", first)
			}
			if again := start(); strings.Contains(again, "store schema migrated") {
				t.Errorf("second start (schema current) logs a migration:\n%s", again)
			}
		})
	}
}

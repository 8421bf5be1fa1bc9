package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunBadListenTouchesNoStore: a --listen that is not HOST:PORT is bad
// usage (exit 2) found before any work, as README says of bad input: run
// created and migrated the SQLite database (`slaprobe run --config
// examples/demo.yaml --listen nonsense --db new.db` left new.db at schema
// version 14, then said "--listen: listen tcp: address nonsense: missing
// port in address").
func TestRunBadListenTouchesNoStore(t *testing.T) {
	for _, listen := range []string{"nonsense", "127.0.0.1", "127.0.0.1:99999", "127.0.0.1:-1"} {
		t.Run(listen, func(t *testing.T) {
			dir := t.TempDir()
			cfg := oneFlowConfig(t, dir, "x", "http://127.0.0.1:9/")
			db := filepath.Join(dir, "new.db")
			var stdout, stderr bytes.Buffer
			code := runMain(context.Background(), []string{"run", "--config", cfg, "--db", db, "--listen", listen}, &stdout, &stderr)
			if code != exitUsage || !strings.Contains(stderr.String(), "--listen") {
				t.Errorf("exit %d, want %d naming --listen:\n%s", code, exitUsage, stderr.String())
			}
			if _, err := os.Stat(db); err == nil {
				t.Errorf("%s was created: a bad --listen is found before the store is opened", db)
			}
		})
	}
}

// TestRunBadAlertmanagerTouchesNoStore: a --alertmanager the notifier
// cannot post to is refused before the store is opened, as a bad --listen
// is; before, run made and migrated the database first.
func TestRunBadAlertmanagerTouchesNoStore(t *testing.T) {
	for _, am := range []string{"nonsense", "127.0.0.1:9093", "ftp://127.0.0.1:9093", "http://127.0.0.1:9093/?x=1"} {
		t.Run(am, func(t *testing.T) {
			dir := t.TempDir()
			cfg := oneFlowConfig(t, dir, "x", "http://127.0.0.1:9/")
			db := filepath.Join(dir, "new.db")
			var stdout, stderr bytes.Buffer
			code := runMain(context.Background(), []string{"run", "--config", cfg, "--db", db, "--listen", "127.0.0.1:0", "--alertmanager", am}, &stdout, &stderr)
			if code != exitUsage || !strings.Contains(stderr.String(), "Alertmanager URL") {
				t.Errorf("exit %d, want %d naming the Alertmanager URL:\n%s", code, exitUsage, stderr.String())
			}
			if _, err := os.Stat(db); err == nil {
				t.Errorf("%s was created: a bad --alertmanager is found before the store is opened", db)
			}
		})
	}
}

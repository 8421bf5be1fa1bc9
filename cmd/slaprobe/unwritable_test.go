package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/internal/nobodytest"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/store"
)

// TestRunOnAnUnwritableSQLite: `slaprobe run` on a results.db at the current
// schema made 0444 (the black box, as a user other than root) logged
// `daemon started`, was healthy for 30 s, then answered 503 "store writer
// stuck: attempt to write a readonly database"; and after `chmod 644
// results.db` its retries failed the same, with no word of the -shm SQLite
// had made 0444 beside it. Now it takes the "not reachable at startup" path
// README (Storage) gives a read-only disk: 503 at once, the error naming the
// files it cannot write, the -shm too once the file is writable, and once
// both are the store is opened and the runs held meanwhile stored.
func TestRunOnAnUnwritableSQLite(t *testing.T) {
	if nobodytest.Run(t) {
		return
	}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer target.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "results.db")
	st, err := store.OpenSQLite(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := os.Chmod(db, 0o444); err != nil {
		t.Fatal(err)
	}
	cfgPath := oneFlowConfig(t, dir, "test-a", target.URL)
	start := time.Now().UTC()
	r := startRun(t, "--config", cfgPath, "--db", db, "--log-level", "info")
	r.listening(30 * time.Second)
	wait := func(what string, cond func() bool) { t.Helper(); r.wait(what, 30*time.Second, cond) }
	health, errb := r.health, &r.errb
	wait("the daemon started without its store", func() bool {
		return strings.Contains(errb.String(), "daemon started without its store")
	})
	if !strings.Contains(errb.String(), "store not reachable at startup") {
		t.Errorf("no `store not reachable at startup` line:\n%s", errb.String())
	}
	code, body := health()
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "store unreachable since start") ||
		!strings.Contains(body, "not writable by this process: "+db) {
		t.Errorf("/healthz at the start: %d %q, want 503 store unreachable since start, naming %s", code, body, db)
	}
	// The file made writable: its -shm, which SQLite made with the file's
	// 0444, is what the next attempts cannot write, and say so.
	if err := os.Chmod(db, 0o644); err != nil {
		t.Fatal(err)
	}
	wait("/healthz naming the -shm alone", func() bool {
		_, body = health()
		return strings.Contains(body, "not writable by this process: "+db+"-shm ")
	})
	if err := os.Chmod(db+"-shm", 0o644); err != nil {
		t.Fatal(err)
	}
	wait("the store back", func() bool { return strings.Contains(errb.String(), "store back") })
	wait("/healthz 200", func() bool { code, _ := health(); return code == http.StatusOK })
	ro, err := store.OpenSQLite(context.Background(), db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	var runs []probe.Run
	wait("the runs stored", func() bool {
		runs, err = ro.Runs(context.Background(), store.Query{From: start.Add(-time.Minute), To: time.Now().Add(time.Minute)})
		return err == nil && len(runs) >= 5
	})
	if len(runs) > 0 && runs[0].Start.Sub(start) > 4*time.Second {
		t.Errorf("first run stored at %s, %s after the start: the runs held were not stored", runs[0].Start, runs[0].Start.Sub(start))
	}
	r.stop()
	if strings.Contains(errb.String(), "store writer stuck") || strings.Contains(errb.String(), "store commit failed") {
		t.Errorf("the writer met the read-only file:\n%s", errb.String())
	}
}

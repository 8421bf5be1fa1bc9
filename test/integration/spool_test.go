package integration

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSIGTERMDuringStoreOutageSpoolsResults: `slaprobe run` stopped while
// its SQLite database is locked by another process (every commit fails
// with "database is locked") keeps the runs it could not store in the
// spool beside the database (0600) and exits 0; started again with the
// database free, it stores them before probing and removes the spool.
// Every run counted before the stop is then in the store. Before, the
// shutdown gave up on them after its 30 s flush: "writer closed with N
// runs and M events not committed", and they were lost.
func TestSIGTERMDuringStoreOutageSpoolsResults(t *testing.T) {
	env := newDaemonEnv(t)
	cfg := env.config(t, false, "")
	d := env.start(t, "daemon", cfg)
	eventually(t, 20*time.Second, 100*time.Millisecond, "runs stored", func() (bool, string) {
		n, _ := metricSum(env.metrics(t), "slaprobe_store_committed_runs_total")
		return n >= 2, fmt.Sprintf("committed=%v", n)
	})

	// Another process takes SQLite's write lock and keeps it.
	db, err := sql.Open("sqlite", env.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	lock, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	var counted float64
	eventually(t, 20*time.Second, 200*time.Millisecond, "runs waiting in the store writer", func() (bool, string) {
		m := env.metrics(t)
		q, _ := metricSum(m, "slaprobe_store_queue_depth")
		counted, _ = metricSum(m, "slaprobe_runs_total")
		return q >= 3, fmt.Sprintf("queue depth %v", q)
	})
	if code := d.stop(t, syscall.SIGTERM, 90*time.Second); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0 (nothing lost)", code)
	}
	spoolRe := regexp.MustCompile(`results kept in the spool, stored at the next start" file=(\S+) runs=(\d+)`)
	m := spoolRe.FindStringSubmatch(d.output())
	if m == nil {
		t.Fatalf("no spool line in the log:\n%s", d.output())
	}
	spooled, _ := strconv.Atoi(m[2])
	if want := env.db + ".slaprobe-spool.jsonl"; m[1] != want || spooled < 3 {
		t.Errorf("spooled %d runs to %s, want at least 3 to %s", spooled, m[1], want)
	}
	fi, err := os.Stat(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("spool mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := lock.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	lock.Close()

	d2 := env.start(t, "daemon-restarted", cfg)
	stored, _ := metricSum(env.metrics(t), "slaprobe_spooled_results_stored_total")
	if int(stored) != spooled {
		t.Errorf("slaprobe_spooled_results_stored_total %v, want the %d spooled", stored, spooled)
	}
	if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		t.Errorf("the spool is still there after the start stored it (%v)", err)
	}
	if code := d2.stop(t, syscall.SIGTERM, 40*time.Second); code != 0 {
		t.Fatalf("restarted daemon exit = %d", code)
	}
	if !strings.Contains(d2.output(), "stored the results the store had not taken at the last stop") {
		t.Errorf("no line of the spool stored in the log:\n%s", d2.output())
	}
	if n := storedRuns(t, env.db); float64(n) < counted {
		t.Errorf("store holds %d runs, but %v were counted before the stop", n, counted)
	}
}

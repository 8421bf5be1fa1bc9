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
	env, cfg, d, release, counted := daemonInStoreOutage(t)
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
	release()

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

// TestStopThatLostResultsExits1: `slaprobe run` stopped while its
// database is not taking writes, with a spool that cannot be written (its
// path is a directory here: as root, a read-only directory would not stop
// the write), loses the runs its store writer held: it logs "spool not
// written" as an error and exits 1, so that the stop shows as failed
// (systemd's unit state, Docker's exit code), after one SIGTERM and after a
// hurried one alike. Before, it logged a "shutdown" warning and exited 0, as
// for a clean stop. A stop that kept them in the spool exits 0
// (TestSIGTERMDuringStoreOutageSpoolsResults, TestSecondSignalHurriesTheStop).
func TestStopThatLostResultsExits1(t *testing.T) {
	for _, c := range []struct {
		name  string
		hurry bool
	}{{"SIGTERM", false}, {"SIGTERM then SIGINT (hurried)", true}} {
		t.Run(c.name, func(t *testing.T) {
			env, _, d, release, _ := daemonInStoreOutage(t)
			defer release()
			if err := os.Mkdir(env.db+".slaprobe-spool.jsonl", 0o755); err != nil {
				t.Fatal(err)
			}
			sig := syscall.SIGTERM
			if c.hurry {
				d.signal(syscall.SIGTERM)
				eventually(t, 20*time.Second, 50*time.Millisecond, "the drain begun", func() (bool, string) {
					return strings.Contains(d.output(), "daemon stopping"), "no \"daemon stopping\" line yet"
				})
				sig = syscall.SIGINT
			}
			code := d.stop(t, sig, 90*time.Second)
			m := regexp.MustCompile(`level=ERROR msg="spool not written: the results the store had not taken are lost" file=\S+ lost_runs=(\d+)`).FindStringSubmatch(d.output())
			if m == nil {
				t.Fatalf("no \"spool not written\" error in the log:\n%s", d.output())
			}
			if lost, _ := strconv.Atoi(m[1]); lost < 3 {
				t.Errorf("lost_runs=%d, want at least the 3 held", lost)
			}
			if code != 1 {
				t.Errorf("exit code %d after a stop that lost results, want 1", code)
			}
			if !strings.Contains(d.output(), "measured results lost") {
				t.Errorf("the stop does not say results were lost:\n%s", d.output())
			}
		})
	}
}

// daemonInStoreOutage starts `slaprobe run` on a SQLite database, waits for
// runs stored, then has another process hold the database's write lock until
// runs wait in the daemon's store writer (lockWhileQueued).
func daemonInStoreOutage(t *testing.T) (env *daemonEnv, cfg string, d *proc, release func(), counted float64) {
	t.Helper()
	env = newDaemonEnv(t)
	cfg = env.config(t, false, "")
	d = env.start(t, "daemon", cfg)
	eventually(t, 20*time.Second, 100*time.Millisecond, "runs stored", func() (bool, string) {
		n, _ := metricSum(env.metrics(t), "slaprobe_store_committed_runs_total")
		return n >= 2, fmt.Sprintf("committed=%v", n)
	})
	release, counted = lockWhileQueued(t, env)
	return env, cfg, d, release, counted
}

// lockWhileQueued has another process take SQLite's write lock on the
// daemon's database and keep it (every commit fails with "database is
// locked") until runs wait in the daemon's store writer; it returns what
// releases the lock and the runs counted by then.
func lockWhileQueued(t *testing.T, env *daemonEnv) (release func(), counted float64) {
	t.Helper()
	db, err := sql.Open("sqlite", env.db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	lock, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, 200*time.Millisecond, "runs waiting in the store writer", func() (bool, string) {
		m := env.metrics(t)
		q, _ := metricSum(m, "slaprobe_store_queue_depth")
		counted, _ = metricSum(m, "slaprobe_runs_total")
		return q >= 3, fmt.Sprintf("queue depth %v", q)
	})
	return func() {
		if _, err := lock.ExecContext(ctx, "ROLLBACK"); err != nil {
			t.Fatal(err)
		}
		lock.Close()
	}, counted
}

// TestSecondSignalHurriesTheStop: a second SIGINT while `slaprobe run`
// drains with its database not taking writes does not end the process
// before the spool is written: the runs the writer holds go to the spool
// at once (not after the writer's 30 s flush), the exit is 0, and the next
// start stores them. Before, the second signal ended the process at once
// and the runs held were lost.
func TestSecondSignalHurriesTheStop(t *testing.T) {
	env, cfg, d, release, counted := daemonInStoreOutage(t)

	d.signal(syscall.SIGTERM)
	eventually(t, 20*time.Second, 50*time.Millisecond, "the drain begun", func() (bool, string) {
		return strings.Contains(d.output(), "daemon stopping"), "no \"daemon stopping\" line yet"
	})
	began := time.Now()
	// Well under the writer's 30 s flush: the hurried stop does not wait
	// for it.
	if code := d.stop(t, syscall.SIGINT, 20*time.Second); code != 0 {
		t.Fatalf("exit code after a second signal = %d, want 0 (nothing lost)", code)
	}
	took := time.Since(began)
	m := regexp.MustCompile(`stop hurried: results kept in the spool, stored at the next start" file=(\S+) runs=(\d+)`).FindStringSubmatch(d.output())
	if m == nil {
		t.Fatalf("no spool line of a hurried stop in the log (%s after the second signal):\n%s", took, d.output())
	}
	spooled, _ := strconv.Atoi(m[2])
	if spooled < 3 {
		t.Errorf("spooled %d runs, want at least the 3 held", spooled)
	}
	release()

	d2 := env.start(t, "daemon-restarted", cfg)
	if stored, _ := metricSum(env.metrics(t), "slaprobe_spooled_results_stored_total"); int(stored) != spooled {
		t.Errorf("slaprobe_spooled_results_stored_total %v, want the %d spooled", stored, spooled)
	}
	if code := d2.stop(t, syscall.SIGTERM, 40*time.Second); code != 0 {
		t.Fatalf("restarted daemon exit = %d", code)
	}
	if n := storedRuns(t, env.db); float64(n) < counted {
		t.Errorf("store holds %d runs, but %v were counted before the stop", n, counted)
	}
}

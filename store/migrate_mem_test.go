package store

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// migrateChildEnv names the database a child process of the test binary
// migrates (see TestMain): the parent measures the child's peak RSS.
const migrateChildEnv = "SLAPROBE_TEST_MIGRATE_DB"

func TestMain(m *testing.M) {
	if path := os.Getenv(migrateChildEnv); path != "" {
		s, err := OpenSQLite(context.Background(), path, Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := s.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// migratePeakRSS migrates the SQLite database at path to the latest version
// in a child process and returns the child's peak RSS in bytes.
func migratePeakRSS(tb testing.TB, path string) int64 {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), migrateChildEnv+"="+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("migrating %s in a child process: %v\n%s", path, err, out)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		tb.Fatal("no rusage for the child process on this platform")
	}
	return ru.Maxrss * 1024 // kilobytes on Linux
}

// fillV1 makes a version 1 database at path holding n runs of benchRuns
// (100 flows, one run a minute, 3 or 4 steps each), written with multi-row
// INSERTs in transactions of 5000 runs.
func fillV1(tb testing.TB, path string, n int) {
	tb.Helper()
	ctx := context.Background()
	s, err := openSQLite(ctx, path, Options{}, 1)
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	c := s.core
	runSpec := insertSpec{head: "INSERT INTO runs (id, series, start_ns, duration_ns, run_id)", cols: 5}
	stepSpec := insertSpec{head: "INSERT INTO steps (run, idx, name, status, http_status, duration_ns, resolve_ns, connect_ns, tls_ns, processing_ns, transfer_ns, attempts, error)", cols: 13}
	const chunk = 5000
	id := int64(0)
	for off := 0; off < n; off += chunk {
		runs := benchRuns(off, min(chunk, n-off))
		tx, err := c.w.BeginTxx(ctx, nil)
		if err != nil {
			tb.Fatal(err)
		}
		ids := &txIDs{c: c, tx: tx, series: map[seriesKey]int64{}, names: map[nameKey]int64{}}
		var rargs, sargs []any
		for i := range runs {
			r := &runs[i]
			id++
			sid, err := ids.seriesID(ctx, seriesKey{r.Service, r.Flow, r.Location})
			if err != nil {
				tb.Fatal(err)
			}
			rargs = append(rargs, id, sid, r.Start.UnixNano(), int64(r.Duration), r.ID)
			for j, st := range r.Steps {
				nid, err := ids.nameID(ctx, nameKey{st.Step, st.Function})
				if err != nil {
					tb.Fatal(err)
				}
				sargs = append(sargs, id, j, nid, statusCodes[st.Status], st.HTTPStatus, int64(st.Duration), int64(st.Phases.Resolve),
					int64(st.Phases.Connect), int64(st.Phases.TLS), int64(st.Phases.Processing), int64(st.Phases.Transfer), st.Attempts, st.Error)
			}
		}
		if _, err := c.insertRows(ctx, tx, runSpec, rargs); err != nil {
			tb.Fatal(err)
		}
		if _, err := c.insertRows(ctx, tx, stepSpec, sargs); err != nil {
			tb.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			tb.Fatal(err)
		}
		ids.commit()
	}
}

// TestMigrationMemoryFlat migrates version 1 databases of 10,000 and 60,000
// runs to the latest version, each in a child process, and checks that the
// peak RSS does not grow with the number of runs: migrations run on open, and
// memory that grows with history would OOM-kill (and crash-loop) a daemon
// with a large database. It once grew by about 5 KB a run, because every
// chunk's prepared statements stayed open until the migration's commit.
func TestMigrationMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two version 1 databases and migrates them (-short)")
	}
	var rss [2]int64
	sizes := [2]int{10000, 60000}
	for i, n := range sizes {
		path := filepath.Join(t.TempDir(), fmt.Sprintf("v1-%d.db", n))
		fillV1(t, path, n)
		rss[i] = migratePeakRSS(t, path)
		t.Logf("v1 -> v%d of %d runs: peak RSS %d MB", len(sqliteMigrations), n, rss[i]>>20)
	}
	// The page cache (32 MiB) fills up with the larger database, and the
	// heap grows a little with it (about 45 MB in all); beyond that the
	// peak must not depend on the number of runs (the leak added 285 MB).
	if grow := rss[1] - rss[0]; grow > 100<<20 {
		t.Errorf("peak RSS grew by %d MB from %d to %d runs (%d -> %d MB): migration memory grows with history",
			grow>>20, sizes[0], sizes[1], rss[0]>>20, rss[1]>>20)
	}
}

// migrateBenchDB returns a cached version 1 database of n runs (built once
// in os.TempDir(), marked complete by a ".done" file).
func migrateBenchDB(b *testing.B, n int) string {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("slaprobe-bench-migrate-v1-%druns.db", n))
	if _, err := os.Stat(path + ".done"); err == nil {
		return path
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
	b.Logf("building %s (once)", path)
	fillV1(b, path, n)
	if err := os.WriteFile(path+".done", nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkMigrate migrates a version 1 database of 250,000 and 1,000,000
// runs to the latest version in a child process and reports its peak RSS,
// which must stay under 300 MB and flat in the number of runs.
//
//	go test ./store -run '^$' -bench Migrate -benchtime 1x
func BenchmarkMigrate(b *testing.B) {
	for _, n := range []int{250000, 1000000} {
		b.Run(fmt.Sprintf("runs=%d", n), func(b *testing.B) {
			src := migrateBenchDB(b, n)
			var peak int64
			for b.Loop() {
				b.StopTimer()
				dst := filepath.Join(b.TempDir(), "m.db")
				copyFile(b, src, dst)
				b.StartTimer()
				peak = max(peak, migratePeakRSS(b, dst))
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MB")
		})
	}
}

func copyFile(tb testing.TB, src, dst string) {
	tb.Helper()
	in, err := os.Open(src)
	if err != nil {
		tb.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		tb.Fatal(err)
	}
	if err := out.Close(); err != nil {
		tb.Fatal(err)
	}
}

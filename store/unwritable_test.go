package store

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/internal/nobodytest"
	"github.com/slaprobe/slaprobe/probe"
)

// TestSQLiteUnwritableFoundAtOpen: a database at the current schema that
// this process cannot write opened, read and was found only at the first
// commit (the daemon healthy for 30 s, then "store writer stuck: attempt to
// write a readonly database", and the -shm SQLite had made with the file's
// 0444 kept it so after `chmod 644 results.db`, with no hint). Its open now
// fails, retryable, naming which of the file, its -wal and its -shm cannot be
// written, until each can; then it opens and takes a write.
func TestSQLiteUnwritableFoundAtOpen(t *testing.T) {
	if nobodytest.Run(t) {
		return
	}
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "results.db")
	st, err := OpenSQLite(ctx, db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	chmod := func(p string, mode os.FileMode) {
		t.Helper()
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	chmod(db, 0o444)
	steps := []struct {
		name string
		fix  func()
		want []string // the files the error must name (nil: it opens)
		not  []string // and must not
	}{
		{"the file 0444", func() {}, []string{db}, nil},
		{"the file made writable, its -shm not", func() { chmod(db, 0o644) }, []string{db + "-shm"}, []string{db}},
		{"the -shm made writable too", func() { chmod(db+"-shm", 0o644) }, nil, nil},
	}
	for i, s := range steps {
		s.fix()
		st, err := OpenSQLite(ctx, db, Options{})
		if s.want == nil {
			if err != nil {
				t.Fatalf("%s: open: %v", s.name, err)
			}
			run := mkRun("f", "seoul-a", time.Date(2026, 12, 6, 11, 25, 0, 0, time.UTC), -1, time.Second)
			if err := st.AppendRuns(ctx, []probe.Run{run}); err != nil {
				t.Errorf("%s: a write after the open: %v", s.name, err)
			}
			st.Close()
			continue
		}
		if err == nil {
			st.Close()
			t.Fatalf("%s: opened; want an error naming %v", s.name, s.want)
		}
		t.Logf("%s: %v", s.name, err)
		if !isReadOnly(err) || !Retryable(err) || !strings.Contains(err.Error(), db+" cannot be written") {
			t.Errorf("%s: err = %v; want SQLITE_READONLY, retryable, saying the database cannot be written", s.name, err)
		}
		named := unwritableNamed(err.Error())
		want, not := s.want, s.not
		// What SQLite made meanwhile (-wal, -shm) is named when its mode
		// keeps this process (not root, see nobodytest) from writing it.
		for _, p := range []string{db + "-wal", db + "-shm"} {
			if fi, err := os.Stat(p); err == nil && !slices.Contains(want, p) && !slices.Contains(not, p) {
				if fi.Mode().Perm()&0o200 == 0 {
					want = append(want, p)
				} else {
					not = append(not, p)
				}
			}
		}
		for _, p := range want {
			if !slices.Contains(named, p) {
				t.Errorf("%s: the error names %q as not writable, not %s", s.name, named, p)
			}
		}
		for _, p := range not {
			if slices.Contains(named, p) {
				t.Errorf("%s: the error names %s as not writable, which is", s.name, p)
			}
		}
		if _, err := os.Stat(db + "-shm"); i == 0 && err != nil {
			t.Fatalf("%s: SQLite made no -shm (%v): the next step tests nothing", s.name, err)
		}
	}
}

// unwritableNamed is the list of files a readOnlyError names.
func unwritableNamed(msg string) []string {
	const mark = "not writable by this process: "
	_, list, ok := strings.Cut(msg, mark)
	if !ok {
		return nil
	}
	list, _, _ = strings.Cut(list, ": ")
	list, _, _ = strings.Cut(list, " (")
	return strings.Split(list, ", ")
}

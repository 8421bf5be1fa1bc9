package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestSQLiteFileRemovedOrReplaced: a database file removed or replaced
// while the store has it open (a clean-up job, a restore copied over it)
// fails every write with ErrFileMoved, so that the writer holds the results
// and says why, instead of committing them into a file no one will open
// again; a file put back in its place is written again.
func TestSQLiteFileRemovedOrReplaced(t *testing.T) {
	for _, tc := range []struct {
		name    string
		breakIt func(t *testing.T, path string)
		fix     func(t *testing.T, path string) // nil: not fixed
	}{
		{name: "removed", breakIt: func(t *testing.T, path string) { mustNil(t, os.Remove(path)) }},
		{name: "replaced", breakIt: func(t *testing.T, path string) {
			other := filepath.Join(filepath.Dir(path), "other.db")
			mustNil(t, os.WriteFile(other, nil, 0o600))
			mustNil(t, os.Rename(other, path))
		}},
		{name: "moved away and back",
			breakIt: func(t *testing.T, path string) { mustNil(t, os.Rename(path, path+".bak")) },
			fix:     func(t *testing.T, path string) { mustNil(t, os.Rename(path+".bak", path)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := openTestSQLite(t)
			if err := s.AppendRuns(ctx, benchRuns(0, 3)); err != nil {
				t.Fatal(err)
			}
			tc.breakIt(t, s.path)
			err := s.AppendRuns(ctx, benchRuns(3, 3))
			if !errors.Is(err, ErrFileMoved) {
				t.Fatalf("AppendRuns after the file was %s: %v, want ErrFileMoved", tc.name, err)
			}
			if errors.Is(err, ErrRejected) {
				t.Fatalf("ErrFileMoved must be retried, not quarantined: %v", err)
			}
			if tc.fix == nil {
				return
			}
			tc.fix(t, s.path)
			if err := s.AppendRuns(ctx, benchRuns(3, 3)); err != nil {
				t.Fatalf("AppendRuns once the file is back: %v", err)
			}
			got, err := s.Runs(ctx, Query{})
			if err != nil || len(got) != 6 {
				t.Fatalf("stored %d runs (%v), want 6", len(got), err)
			}
		})
	}
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

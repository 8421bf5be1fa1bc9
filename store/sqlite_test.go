package store

import (
	"context"
	"path/filepath"
	"testing"
)

func openTestSQLite(t *testing.T) *SQLite {
	t.Helper()
	s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "test.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLiteContract(t *testing.T) {
	open := func(t *testing.T) Store { return openTestSQLite(t) }
	testStore(t, open)
	testHistory(t, open)
}

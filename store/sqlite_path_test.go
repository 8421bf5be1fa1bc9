package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSQLitePath: a store's SQLite path is a file's name as written, "#"
// and spaces among its characters (a directory "runs#2", as demo --out or
// t.TempDir() of a subtest named twice makes); what would read as the
// connection's parameters or as no file at all is refused, saying so.
func TestSQLitePath(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, path string
		refused    bool
	}{
		{"plain", "results.db", false},
		{"hash in a directory", "runs#2/results.db", false},
		{"hash in the name", "results#1.db", false},
		{"space and percent", "my runs/50% off.db", false},
		{"query", "results.db?cache=shared", true},
		{"question mark in a directory", "what?/results.db", true},
		{"file URI", "file:results.db", true},
		{"memory", ":memory:", true},
		{"empty", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckSQLitePath(tc.path)
			if tc.refused {
				if err == nil || !strings.Contains(err.Error(), "want a plain file path") {
					t.Fatalf("CheckSQLitePath(%q) = %v, want refused as not a plain file path", tc.path, err)
				}
				if _, err := OpenSQLite(context.Background(), tc.path, Options{}); err == nil {
					t.Fatalf("OpenSQLite(%q) opened", tc.path)
				}
				return
			}
			if err != nil {
				t.Fatalf("CheckSQLitePath(%q) = %v", tc.path, err)
			}
			path := filepath.Join(dir, tc.path)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			s, err := OpenSQLite(context.Background(), path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(path); err != nil || fi.Size() == 0 { // the file itself, not one named up to the "#"
				t.Fatalf("stat %s: %v, %v", path, fi, err)
			}
			ro, err := OpenSQLite(context.Background(), path, Options{ReadOnly: true})
			if err != nil {
				t.Fatalf("read-only reopen: %v", err)
			}
			ro.Close()
		})
	}
}

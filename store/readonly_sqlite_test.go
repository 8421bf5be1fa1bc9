package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSQLiteReadOnly: a read-only open (report, windows) of a SQLite file
// creates and migrates nothing, as with PostgreSQL: an empty file or one
// that is not SQLite holds no store (and stays as it was), a store at an
// older schema version is an error that says so and keeps its version (a
// newer binary must not migrate a database its running daemon writes), and
// a current store opens.
func TestSQLiteReadOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	latest := len(sqliteMigrations)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	migrated := func(name string, upTo int) string {
		p := filepath.Join(dir, name)
		s, err := openSQLite(ctx, p, Options{}, upTo)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		return p
	}
	tests := []struct {
		name    string
		path    string
		noStore bool   // errors.Is(err, ErrNoStore)
		errHas  string // "" for none
		version int    // schema version after the open (0: not a store)
	}{
		{name: "empty file", path: write("empty.db", nil), noStore: true},
		{name: "not SQLite", path: write("text.db", []byte("location: x\nservices: []\n")), noStore: true},
		{name: "older schema", path: migrated("old.db", latest-1), errHas: "older than this slaprobe's", version: latest - 1},
		{name: "current", path: migrated("cur.db", -1), version: latest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, err := os.ReadFile(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			s, err := OpenSQLite(ctx, tc.path, Options{ReadOnly: true})
			switch {
			case tc.noStore && !errors.Is(err, ErrNoStore):
				t.Errorf("err = %v, want ErrNoStore", err)
			case tc.errHas != "" && (err == nil || !strings.Contains(err.Error(), tc.errHas)):
				t.Errorf("err = %v, want one saying %q", err, tc.errHas)
			case !tc.noStore && tc.errHas == "" && err != nil:
				t.Fatalf("open: %v", err)
			}
			if err == nil {
				s.Close()
			}
			if tc.version == 0 {
				if after, _ := os.ReadFile(tc.path); string(after) != string(before) {
					t.Errorf("the file changed: %d bytes before, %d after", len(before), len(after))
				}
				return
			}
			s2, err := openSQLite(ctx, tc.path, Options{}, 0) // opens without migrating
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			if v, err := schemaVersion(ctx, s2.w); err != nil || v != tc.version {
				t.Errorf("schema version %d (%v) after a read-only open, want %d", v, err, tc.version)
			}
		})
	}
}

// TestSQLiteNotADatabase: the daemon's open of a file that is not SQLite
// (a config given as --db) says so with ErrNotSQLite, bad input, and leaves
// the file as it was.
func TestSQLiteNotADatabase(t *testing.T) {
	p := filepath.Join(t.TempDir(), "slaprobe.yaml")
	const text = "location: x\nservices: []\n"
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := OpenSQLite(context.Background(), p, Options{})
	if err == nil {
		s.Close()
	}
	if !errors.Is(err, ErrNotSQLite) {
		t.Errorf("err = %v, want ErrNotSQLite", err)
	}
	if b, _ := os.ReadFile(p); string(b) != text {
		t.Errorf("the file changed: %q", b)
	}
}

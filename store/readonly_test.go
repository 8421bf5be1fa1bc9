package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// TestPostgresReadOnlyOpen: report and windows open a shared PostgreSQL
// store to read it (Options.ReadOnly). They must neither create a schema in
// an empty database nor migrate an older one: a newer slaprobe run from an
// SRE's machine would otherwise migrate the fleet's database, after which
// every prober of the older version refuses to write; and a reporting role
// with SELECT only could not read at all (CREATE TABLE schema_version:
// permission denied).
func TestPostgresReadOnlyOpen(t *testing.T) {
	ctx := context.Background()
	latest := len(postgresMigrations)
	tests := []struct {
		name    string
		version int // schema left by a prober: 0 none, -1 newer than this slaprobe
		wantErr string
		noStore bool
	}{
		{"empty database", 0, "no slaprobe store", true},
		{"older schema", latest - 1, "older than this slaprobe", false},
		{"newer schema", -1, "newer than this slaprobe", false},
		{"current schema", latest, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dsn := postgresDSN(t)
			if tc.version != 0 {
				p, err := openPostgres(ctx, dsn, Options{}, max(tc.version, latest))
				if err != nil {
					t.Fatal(err)
				}
				if tc.version > 0 && tc.version < latest {
					if _, err := p.w.ExecContext(ctx, `DELETE FROM schema_version WHERE version > $1`, tc.version); err != nil {
						t.Fatal(err)
					}
				}
				if tc.version < 0 {
					if _, err := p.w.ExecContext(ctx, `INSERT INTO schema_version VALUES ($1, 0)`, latest+1); err != nil {
						t.Fatal(err)
					}
				}
				p.Close()
			}
			before := pgVersion(t, dsn)
			r, err := OpenPostgres(ctx, dsn, Options{ReadOnly: true})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				defer r.Close()
				if _, err := r.Windows(ctx, Query{From: time.Unix(0, 0), To: time.Now()}); err != nil {
					t.Errorf("read: %v", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				r.Close()
				t.Fatalf("open: %v, want an error with %q", err, tc.wantErr)
			}
			if errors.Is(err, ErrNoStore) != tc.noStore {
				t.Errorf("errors.Is(%v, ErrNoStore) = %v, want %v", err, !tc.noStore, tc.noStore)
			}
			if after := pgVersion(t, dsn); after != before {
				t.Errorf("schema changed by a read-only open: %q, then %q", before, after)
			}
		})
	}
}

// pgVersion is the schema's version rows, or "none" without schema_version.
func pgVersion(t *testing.T, dsn string) string {
	t.Helper()
	db, err := sqlx.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out string
	if err := db.GetContext(context.Background(), &out, `SELECT CASE WHEN to_regclass('schema_version') IS NULL THEN 'none' ELSE 'table' END`); err != nil {
		t.Fatal(err)
	}
	if out == "none" {
		return out
	}
	if err := db.GetContext(context.Background(), &out, `SELECT COALESCE(string_agg(version::text, ',' ORDER BY version), 'empty') FROM schema_version`); err != nil {
		t.Fatal(err)
	}
	return out
}

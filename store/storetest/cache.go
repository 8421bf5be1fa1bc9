package storetest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/jmoiron/sqlx"

	"github.com/slaprobe/slaprobe/store"
)

// PostgresEnv names the variable that holds the URL of the PostgreSQL server
// tests and benchmarks use (scripts/postgres.sh prints it).
const PostgresEnv = "SLAPROBE_TEST_POSTGRES"

// CachedSQLite returns the path of a SQLite database in os.TempDir() named
// name, built once by build and kept: a ".done" file beside it marks it
// complete, so an interrupted build starts over. For benchmarks whose data
// takes minutes to make.
func CachedSQLite(tb testing.TB, name string, build func(ctx context.Context, s *store.SQLite) error) string {
	tb.Helper()
	path := filepath.Join(os.TempDir(), name+".db")
	if _, err := os.Stat(path + ".done"); err == nil {
		return path
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
	ctx := context.Background()
	s, err := store.OpenSQLite(ctx, path, store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Logf("building %s (once)", path)
	t0 := time.Now()
	if err := build(ctx, s); err != nil {
		s.Close()
		tb.Fatal(err)
	}
	if err := s.Close(); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("built in %s", time.Since(t0).Round(time.Second))
	if err := os.WriteFile(path+".done", nil, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// CachedPostgres returns the URL of a schema named name on the server named
// by SLAPROBE_TEST_POSTGRES, built once by build and kept while the server
// runs (a bench_done table marks it complete). Without the server it skips,
// saying how to start one.
func CachedPostgres(tb testing.TB, name string, build func(ctx context.Context, s *store.Postgres) error) string {
	tb.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		tb.Skip(PostgresEnv + " is not set: `make bench` starts a PostgreSQL server with scripts/postgres.sh (or run: eval \"$(scripts/postgres.sh)\")")
	}
	ctx := context.Background()
	admin, err := sqlx.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	dsn := u.String()
	var done bool
	if err := admin.GetContext(ctx, &done, `SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'bench_done')`, name); err != nil {
		tb.Fatal(err)
	}
	if done {
		return dsn
	}
	for _, stmt := range []string{fmt.Sprintf("DROP SCHEMA IF EXISTS %q CASCADE", name), fmt.Sprintf("CREATE SCHEMA %q", name)} {
		if _, err := admin.ExecContext(ctx, stmt); err != nil {
			tb.Fatal(err)
		}
	}
	s, err := store.OpenPostgres(ctx, dsn, store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	tb.Logf("building PostgreSQL schema %s (once)", name)
	t0 := time.Now()
	if err := build(ctx, s); err != nil {
		tb.Fatal(err)
	}
	for _, stmt := range []string{"ANALYZE", fmt.Sprintf("CREATE TABLE %q.bench_done ()", name)} {
		if _, err := admin.ExecContext(ctx, stmt); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Logf("built in %s", time.Since(t0).Round(time.Second))
	return dsn
}

// Package pgtest gives tests a fresh, empty PostgreSQL schema on the
// throwaway server that `make test` starts (scripts/postgres.sh exports its
// URL as SLAPROBE_TEST_POSTGRES).
package pgtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/jmoiron/sqlx"
)

// Env names the variable that holds the test server's URL.
const Env = "SLAPROBE_TEST_POSTGRES"

// DSN returns a postgres:// URL whose search_path is a new schema on the test
// server, dropped when the test ends. Without the server the test is skipped
// with a message that says how to start it.
func DSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(Env)
	if base == "" {
		t.Skip(Env + " is not set: `make test` sets it via scripts/postgres.sh (or run: eval \"$(scripts/postgres.sh)\")")
	}
	admin, err := sqlx.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	schema := fmt.Sprintf("t_%s_%d", strings.ToLower(rand.Text()[:16]), os.Getpid())
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema on %s: %v", Env, err)
	}
	t.Cleanup(func() {
		a, err := sqlx.Open("pgx", base)
		if err != nil {
			return
		}
		defer a.Close()
		a.Exec("DROP SCHEMA " + schema + " CASCADE") //nolint:errcheck // best effort
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

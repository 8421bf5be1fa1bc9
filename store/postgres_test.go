package store

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync/atomic"
	"testing"

	"github.com/jmoiron/sqlx"
)

var pgSchemaSeq atomic.Int64

// postgresDSN returns a DSN for a fresh, empty schema of the test server
// named by SLAPROBE_TEST_POSTGRES, dropped when the test ends.
func postgresDSN(t *testing.T) string {
	t.Helper()
	base := os.Getenv("SLAPROBE_TEST_POSTGRES")
	if base == "" {
		t.Skip("SLAPROBE_TEST_POSTGRES is not set: `make test` sets it via scripts/postgres.sh (or run: eval \"$(scripts/postgres.sh)\")")
	}
	admin, err := sqlx.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	schema := fmt.Sprintf("t_%d_%d", os.Getpid(), pgSchemaSeq.Add(1))
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema on %s: %v", "SLAPROBE_TEST_POSTGRES", err)
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

func openTestPostgres(t *testing.T) *Postgres {
	t.Helper()
	p, err := OpenPostgres(context.Background(), postgresDSN(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestPostgresContract(t *testing.T) {
	testStore(t, func(t *testing.T) Store { return openTestPostgres(t) })
}

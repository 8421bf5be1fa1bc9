package store

import (
	"context"
	"testing"

	"github.com/slaprobe/slaprobe/internal/pgtest"
)

// postgresDSN returns a DSN for a fresh, empty schema of the test server
// named by SLAPROBE_TEST_POSTGRES, dropped when the test ends.
func postgresDSN(t testing.TB) string { t.Helper(); return pgtest.DSN(t) }

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
	open := func(t *testing.T) Store { return openTestPostgres(t) }
	testStore(t, open)
	testHistory(t, open)
}

package store

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"
)

// lockedBuffer is a log destination safe for the writer goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestMigrationByAnotherProberNotLogged: a prober that finds, under the
// migration lock, that another prober sharing the database has already
// applied a version does not log it as migrated. Before, two probers
// started together on a new PostgreSQL database both logged "store schema
// migrated" for every version (seen by hand: seoul-a and busan-b each
// logged versions 2 to 10), so the logs could not say which prober changed
// the schema, or whether it was changed twice.
func TestMigrationByAnotherProberNotLogged(t *testing.T) {
	ctx := context.Background()
	dsn := postgresDSN(t)
	latest := len(postgresMigrations)
	p1, err := openPostgres(ctx, dsn, Options{}, latest-1)
	if err != nil {
		t.Fatal(err)
	}
	defer p1.Close()
	var buf lockedBuffer
	c := p1.core
	c.log = slog.New(slog.NewTextHandler(&buf, nil))
	d := *c.d
	lock, calls := d.lock, 0
	d.lock = func(ctx context.Context, tx *sqlx.Tx) error {
		// The first lock is the version table's; at the second, the
		// migration's (this prober has read the version it starts from),
		// the other prober gets the lock first and migrates.
		if calls++; calls == 2 {
			p2, err := OpenPostgres(ctx, dsn, Options{})
			if err != nil {
				return err
			}
			p2.Close()
		}
		return lock(ctx, tx)
	}
	c.d = &d
	if err := c.migrate(ctx, -1); err != nil {
		t.Fatal(err)
	}
	if v, err := schemaVersion(ctx, c.w); err != nil || v != latest {
		t.Fatalf("schema version %d (%v), want %d", v, err, latest)
	}
	if out := buf.String(); strings.Contains(out, "store schema migrated") {
		t.Errorf("a version another prober applied is logged as migrated by this one:\n%s", out)
	}
}

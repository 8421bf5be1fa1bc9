package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestRetryable: which errors of opening the store the daemon retries (a
// database it may reach later) and which end the tries (the config's, or a
// schema newer than this slaprobe's).
func TestRetryable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", fmt.Errorf("store: postgres: connect: %w", &net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}), true},
		{"connection timed out", &TimeoutError{Database: "postgres://probe@db1:5432/slaprobe", Op: "connecting", After: 30 * time.Second}, true},
		{"SQLite locked", errors.New("store: create schema_version: database is locked (5) (SQLITE_BUSY)"), true},
		{"PostgreSQL starting up", &pgconn.PgError{Code: "57P03", Message: "the database system is starting up"}, true},
		{"newer schema", fmt.Errorf("opening: %w", ErrSchemaNewer), false},
		{"password refused", fmt.Errorf("store: postgres: connect: %w", &pgconn.PgError{Code: "28P01"}), false},
		{"no such database", fmt.Errorf("store: postgres: connect: %w", &pgconn.PgError{Code: "3D000"}), false},
		{"DSN that does not parse", fmt.Errorf("store: postgres: %w", &pgconn.ParseConfigError{}), false},
	} {
		if got := Retryable(tc.err); got != tc.want {
			t.Errorf("%s: Retryable = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// closeCount is a store that counts its Close calls.
type closeCount struct {
	Store
	mu     sync.Mutex
	closed int
}

func (c *closeCount) Close() error {
	c.mu.Lock()
	c.closed++
	c.mu.Unlock()
	return nil
}

// TestOpenLater: a Pending store's database is tried every Every until it
// opens (given to the Pending, logged), each failure recorded as its error;
// an error a retry will not mend ends the tries with it (logged); a store
// that opens once ctx is done is closed, not kept.
func TestOpenLater(t *testing.T) {
	refused := errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	newer := fmt.Errorf("store: %w", ErrSchemaNewer)
	for _, tc := range []struct {
		name    string
		errs    []error // the attempts' errors before it opens
		cancel  bool    // ctx done during the attempt that opens it
		wantErr error
		opened  bool
		log     string
	}{
		{name: "opens at the third attempt", errs: []error{refused, refused}, opened: true,
			log: "level=INFO msg=\"store reachable: opened (the daemon stores the spool and its held runs next)\""},
		{name: "a newer schema stops", errs: []error{refused, newer}, wantErr: newer,
			log: "level=ERROR msg=\"store reachable, but cannot be used: stopping\""},
		{name: "opened after the stop", cancel: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			p := NewPending(refused)
			st := &closeCount{}
			var logs bytes.Buffer
			attempts := 0
			var failedWith []error
			err := p.OpenLater(ctx, Reopen{
				Open: func(octx context.Context) (Store, error) {
					if _, ok := octx.Deadline(); !ok {
						t.Error("an attempt without a deadline")
					}
					if attempts > 0 {
						_, e := p.get()
						failedWith = append(failedWith, e)
					}
					attempts++
					if attempts <= len(tc.errs) {
						return nil, tc.errs[attempts-1]
					}
					if tc.cancel {
						cancel()
					}
					return st, nil
				},
				Every: time.Millisecond, Wait: time.Minute,
				Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			})
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Errorf("OpenLater = %v, want %v", err, tc.wantErr)
			}
			if p.Opened() != tc.opened {
				t.Errorf("opened %v, want %v", p.Opened(), tc.opened)
			}
			wantClosed := 0
			if tc.cancel {
				wantClosed = 1
			}
			if st.closed != wantClosed {
				t.Errorf("the store was closed %d times, want %d", st.closed, wantClosed)
			}
			for _, e := range failedWith {
				if !errors.Is(e, ErrNotOpen) || !errors.Is(e, refused) {
					t.Errorf("between attempts the Pending answers %v, want the last error (refused)", e)
				}
			}
			if !strings.Contains(logs.String(), tc.log) {
				t.Errorf("log:\n%s\nwant %s", logs.String(), tc.log)
			}
		})
	}
}

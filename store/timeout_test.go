package store

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPostgresName: the name a TimeoutError gives a PostgreSQL database
// says where it is and as whom, never the password nor the parameters.
func TestPostgresName(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"postgres://probe:s3cret@db1.internal:6432/slaprobe?sslmode=require", "postgres://probe@db1.internal:6432/slaprobe"},
		{"postgresql://probe:s3cret@10.0.0.5/slaprobe", "postgres://probe@10.0.0.5:5432/slaprobe"},
		{"host=db1 port=5433 user=report password=s3cret dbname=sla", "postgres://report@db1:5433/sla"},
		{"postgres://probe:s3cret@db1/slaprobe?sslmode=bogus", "postgres"},
		// An '@' left unescaped in the password: pgx takes what follows
		// it for the host, which is no name to print.
		{"postgres://probe:s3@cret@db1/slaprobe", "postgres"},
		{"postgres://probe:s3cret@[::1]:5433/slaprobe", "postgres://probe@[::1]:5433/slaprobe"},
		{"host=/var/run/postgresql user=probe password=s3cret dbname=sla", "postgres://probe@/sla?host=/var/run/postgresql"},
	} {
		if got := postgresName(tc.dsn); got != tc.want {
			t.Errorf("postgresName(%q) = %q, want %q", tc.dsn, got, tc.want)
		}
	}
}

// TestConnectTimeoutUnderCallersDeadline: a connection that gets no answer
// is a *TimeoutError naming the database also when the caller's deadline
// runs out with the connect timeout, as each of `run`'s later attempts
// (Pending.OpenLater: Wait 30 s, the connect timeout 30 s) does: before,
// only the first attempt said `connecting: no answer within 30s`, and
// every later one pgx's `failed to connect to ...: context deadline
// exceeded`. A caller that cancels is not a timeout.
func TestConnectTimeoutUnderCallersDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	dsn := "postgres://probe:s3cret@" + ln.Addr().String() + "/slaprobe?sslmode=disable"
	const wait = 500 * time.Millisecond
	for _, tc := range []struct {
		name    string
		ctx     func() (context.Context, context.CancelFunc)
		timeout bool
	}{
		{"own bound", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }, true},
		{"caller's deadline with it", func() (context.Context, context.CancelFunc) { return context.WithTimeout(context.Background(), wait) }, true},
		{"caller cancels", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(wait/2, cancel)
			return ctx, cancel
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := tc.ctx()
			defer cancel()
			st, err := OpenPostgres(ctx, dsn, Options{ConnectTimeout: wait})
			if err == nil {
				st.Close()
				t.Fatal("opened a database that never answers")
			}
			var te *TimeoutError
			if got := errors.As(err, &te); got != tc.timeout {
				t.Fatalf("error %q: a *TimeoutError %v, want %v", err, got, tc.timeout)
			}
			if tc.timeout {
				want := "store: postgres://probe@" + ln.Addr().String() + "/slaprobe: connecting: no answer within 500ms"
				if err.Error() != want {
					t.Errorf("error %q, want %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the password is in %q", err)
			}
		})
	}
}

package store

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// TimeoutError is a database that did not answer in time: the connection
// at open (Options.ConnectTimeout) or one read (Options.ReadTimeout). Its
// text names the database (never a password) and what waited:
//
//	store: postgres://probe@10.0.0.5:5432/slaprobe: reading the windows: no answer within 5m0s
type TimeoutError struct {
	Database string        // postgres://USER@HOST:PORT/NAME, or the SQLite file
	Op       string        // "connecting", "reading the windows", ...
	After    time.Duration // the bound that ran out
	Read     bool          // a read (ReadTimeout), not the connection (ConnectTimeout)
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("store: %s: %s: no answer within %s", e.Database, e.Op, e.After)
}

// Unwrap makes errors.Is(err, context.DeadlineExceeded) hold.
func (e *TimeoutError) Unwrap() error { return context.DeadlineExceeded }

// postgresName names the database of dsn as postgres://USER@HOST:PORT/NAME
// (postgres://USER@/NAME?host=DIR for a Unix socket), without its password
// or parameters; "postgres" if dsn does not parse, or if its host holds an
// '@' (a password's '@' left unescaped in a URL: pgx takes what follows it
// for the host, "s3@cret@db1" a host "cret@db1").
func postgresName(dsn string) string {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil || strings.Contains(cfg.Host, "@") {
		return "postgres"
	}
	u := url.URL{Scheme: "postgres", Path: "/" + cfg.Database}
	switch {
	case strings.HasPrefix(cfg.Host, "/"):
		u.RawQuery = "host=" + cfg.Host
	case cfg.Port != 0 && cfg.Host != "":
		u.Host = net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	default:
		u.Host = cfg.Host
	}
	if cfg.User != "" {
		u.User = url.User(cfg.User)
	}
	return u.String()
}

// reading bounds one read the store was asked for (op says which, for the
// error) by c.readTimeout: its queries and the reading of their rows. done
// ends the bound, and turns the error of a read the bound cut short into a
// *TimeoutError.
func (c *core) reading(ctx context.Context, op string) (rctx context.Context, done func(*error)) {
	if c.readTimeout <= 0 {
		return ctx, func(*error) {}
	}
	te := &TimeoutError{Database: c.name, Op: op, After: c.readTimeout, Read: true}
	rctx, cancel := context.WithTimeoutCause(ctx, c.readTimeout, te)
	return rctx, func(err *error) {
		if *err != nil && ctx.Err() == nil && context.Cause(rctx) == error(te) {
			*err = te
		}
		cancel()
	}
}

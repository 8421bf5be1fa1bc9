package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Publications keeps what the monthly report publisher made and delivered:
// one row per report version, one per delivery (what, where, when, result),
// so that a restart neither loses nor repeats one. SQLite and PostgreSQL
// implement it (schema version 4).
type Publications interface {
	// ReportVersions returns the versions made of month (YYYY-MM), oldest
	// first; month "" returns every version.
	ReportVersions(ctx context.Context, month string) ([]ReportVersion, error)
	// AddReportVersion records a new version and its deliveries, pending, in
	// one transaction. It returns ErrVersionExists when (month, version) is
	// already there: another process made it first.
	AddReportVersion(ctx context.Context, v ReportVersion, deliveries []Delivery) error
	// PendingDeliveries returns the deliveries not yet delivered nor given
	// up, by id.
	PendingDeliveries(ctx context.Context) ([]Delivery, error)
	// UpdateDelivery records an attempt's outcome (State, Attempts, Next,
	// Last, Result, Delivered) for the delivery with d.ID.
	UpdateDelivery(ctx context.Context, d Delivery) error
	// Deliveries returns the deliveries of month ("" every month), by id.
	Deliveries(ctx context.Context, month string) ([]Delivery, error)
}

var (
	_ Publications = (*SQLite)(nil)
	_ Publications = (*Postgres)(nil)
)

// ErrVersionExists is AddReportVersion's answer when the version was made
// already.
var ErrVersionExists = errors.New("store: report version exists")

// ReportVersion is one made version of a month's report.
type ReportVersion struct {
	Month     string    // YYYY-MM
	Version   int       // 1, 2, ...
	Generated time.Time // when it was made
	Digest    string    // of the report's figures (not of its rendering), to tell a changed month
	Changes   string    // what changed from the version before ("" for the first)
	Files     []string  // archive paths, relative to the archive directory
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed" // given up after the last attempt
)

// Delivery is one report version sent over one channel to one target.
type Delivery struct {
	ID        int64
	Month     string
	Version   int
	Channel   string // webhook | email
	Target    string // the URL or the recipients; never a secret
	State     string // pending | delivered | failed
	Attempts  int
	Next      time.Time // when the next attempt is due
	Last      time.Time // when the last attempt ended
	Result    string    // the last attempt's outcome, e.g. "HTTP 200" or the error
	Delivered time.Time
}

// reportsStmts are migration 4 for both databases; idType is the id
// column's type and key.
func reportsStmts(idType string) []string {
	return []string{
		`CREATE TABLE report_versions (
	month        TEXT NOT NULL,
	version      INTEGER NOT NULL,
	generated_ns BIGINT NOT NULL,
	digest       TEXT NOT NULL,
	changes      TEXT NOT NULL,
	files        TEXT NOT NULL,
	PRIMARY KEY (month, version)
)`,
		`CREATE TABLE deliveries (
	id           ` + idType + `,
	month        TEXT NOT NULL,
	version      INTEGER NOT NULL,
	channel      TEXT NOT NULL,
	target       TEXT NOT NULL,
	state        TEXT NOT NULL,
	attempts     INTEGER NOT NULL,
	next_ns      BIGINT NOT NULL,
	last_ns      BIGINT NOT NULL,
	result       TEXT NOT NULL,
	delivered_ns BIGINT NOT NULL,
	UNIQUE (month, version, channel, target)
)`,
		`CREATE INDEX deliveries_state ON deliveries (state, next_ns)`,
	}
}

type versionRow struct {
	Month     string `db:"month"`
	Version   int    `db:"version"`
	Generated int64  `db:"generated_ns"`
	Digest    string `db:"digest"`
	Changes   string `db:"changes"`
	Files     string `db:"files"`
}

func (c *core) ReportVersions(ctx context.Context, month string) ([]ReportVersion, error) {
	q := `SELECT month, version, generated_ns, digest, changes, files FROM report_versions`
	var args []any
	if month != "" {
		q += ` WHERE month = ?`
		args = append(args, month)
	}
	q += ` ORDER BY month, version`
	var rows []versionRow
	if err := c.r.SelectContext(ctx, &rows, c.r.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("store: report versions: %w", err)
	}
	out := make([]ReportVersion, 0, len(rows))
	for _, r := range rows {
		v := ReportVersion{Month: r.Month, Version: r.Version, Generated: fromNS(r.Generated), Digest: r.Digest, Changes: r.Changes}
		if err := json.Unmarshal([]byte(r.Files), &v.Files); err != nil {
			return nil, fmt.Errorf("store: report version %s v%d: files: %w", r.Month, r.Version, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func (c *core) AddReportVersion(ctx context.Context, v ReportVersion, ds []Delivery) error {
	files, err := json.Marshal(v.Files)
	if err != nil {
		return err
	}
	if v.Files == nil {
		files = []byte("[]")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	tx, err := c.beginWrite(ctx) // refuses a newer schema
	if err != nil {
		return fmt.Errorf("store: add report version: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var n int
	if err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT COUNT(*) FROM report_versions WHERE month = ? AND version = ?`), v.Month, v.Version); err != nil {
		return fmt.Errorf("store: add report version: %w", err)
	}
	if n > 0 {
		return ErrVersionExists
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO report_versions (month, version, generated_ns, digest, changes, files) VALUES (?, ?, ?, ?, ?, ?)`),
		v.Month, v.Version, toNS(v.Generated), v.Digest, v.Changes, string(files)); err != nil {
		if isUniqueViolation(err) {
			return ErrVersionExists
		}
		return fmt.Errorf("store: add report version: %w", err)
	}
	for _, d := range ds {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO deliveries (month, version, channel, target, state, attempts, next_ns, last_ns, result, delivered_ns)
VALUES (?, ?, ?, ?, ?, 0, ?, 0, '', 0)`), v.Month, v.Version, d.Channel, d.Target, DeliveryPending, toNS(d.Next)); err != nil {
			return fmt.Errorf("store: add delivery: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		if isUniqueViolation(err) {
			return ErrVersionExists
		}
		return fmt.Errorf("store: add report version: %w", err)
	}
	return nil
}

// isUniqueViolation tells a primary key clash (two processes making the
// same version) from other errors, in either database.
func isUniqueViolation(err error) bool {
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505") || strings.Contains(s, "duplicate key")
}

type deliveryRow struct {
	ID        int64  `db:"id"`
	Month     string `db:"month"`
	Version   int    `db:"version"`
	Channel   string `db:"channel"`
	Target    string `db:"target"`
	State     string `db:"state"`
	Attempts  int    `db:"attempts"`
	Next      int64  `db:"next_ns"`
	Last      int64  `db:"last_ns"`
	Result    string `db:"result"`
	Delivered int64  `db:"delivered_ns"`
}

func (c *core) deliveries(ctx context.Context, where string, args ...any) ([]Delivery, error) {
	q := `SELECT id, month, version, channel, target, state, attempts, next_ns, last_ns, result, delivered_ns FROM deliveries ` + where + ` ORDER BY id`
	var rows []deliveryRow
	if err := c.r.SelectContext(ctx, &rows, c.r.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("store: deliveries: %w", err)
	}
	out := make([]Delivery, len(rows))
	for i, r := range rows {
		out[i] = Delivery{ID: r.ID, Month: r.Month, Version: r.Version, Channel: r.Channel, Target: r.Target, State: r.State,
			Attempts: r.Attempts, Next: fromNS(r.Next), Last: fromNS(r.Last), Result: r.Result, Delivered: fromNS(r.Delivered)}
	}
	return out, nil
}

func (c *core) PendingDeliveries(ctx context.Context) ([]Delivery, error) {
	return c.deliveries(ctx, `WHERE state = ?`, DeliveryPending)
}

func (c *core) Deliveries(ctx context.Context, month string) ([]Delivery, error) {
	if month == "" {
		return c.deliveries(ctx, "")
	}
	return c.deliveries(ctx, `WHERE month = ?`, month)
}

func (c *core) UpdateDelivery(ctx context.Context, d Delivery) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	tx, err := c.beginWrite(ctx) // refuses a newer schema
	if err != nil {
		return fmt.Errorf("store: update delivery %d: %w", d.ID, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE deliveries SET state = ?, attempts = ?, next_ns = ?, last_ns = ?, result = ?, delivered_ns = ? WHERE id = ?`),
		d.State, d.Attempts, toNS(d.Next), toNS(d.Last), d.Result, toNS(d.Delivered), d.ID)
	if err != nil {
		return fmt.Errorf("store: update delivery %d: %w", d.ID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("store: update delivery %d: %w", d.ID, sql.ErrNoRows)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: update delivery %d: %w", d.ID, err)
	}
	return nil
}

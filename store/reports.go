package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Publications keeps what the monthly report publisher made and delivered:
// one row per report version, one per delivery (what, where, when, result),
// so that a restart neither loses nor repeats one; and which prober of a
// fleet sharing the database publishes (the publisher lease). SQLite and
// PostgreSQL implement it (schema versions 4, 9 and 14).
type Publications interface {
	// ReportVersions returns the versions made of month (YYYY-MM), oldest
	// first; month "" returns every version.
	ReportVersions(ctx context.Context, month string) ([]ReportVersion, error)
	// AddReportVersion records a new version and its deliveries, pending, in
	// one transaction. It returns ErrVersionExists when (month, version) is
	// already there: another process made it first. A version with a Maker
	// is recorded only while Maker holds the publisher lease, checked in
	// the same transaction: ErrNotPublisher when another prober has taken
	// it over meanwhile.
	AddReportVersion(ctx context.Context, v ReportVersion, deliveries []Delivery) error
	// PublisherLease returns who holds the publisher role (Holder "":
	// nobody).
	PublisherLease(ctx context.Context) (Lease, error)
	// ClaimPublisher takes or renews the publisher role for the prober at
	// location me, at now (me's clock, kept for display). It takes it when
	// nobody holds it or me does already (a renewal, or me restarted), or
	// when the lease is still exactly stale (Holder and Beat): a lease
	// the caller has seen unchanged for as long as a holder renews it,
	// whose holder has therefore stopped. Every claim that takes or renews
	// adds 1 to Beat. It returns the lease as it is afterwards: me holds
	// the role when its Holder is me.
	ClaimPublisher(ctx context.Context, me string, now time.Time, stale Lease) (Lease, error)
	// SetReportCanon records canon as the canonical digest of version
	// (month, version) when it has none (made before schema version 14),
	// while maker holds the publisher lease, checked in the same
	// transaction (ErrNotPublisher otherwise). A version that has one
	// keeps it: the call changes nothing and returns nil.
	SetReportCanon(ctx context.Context, maker, month string, version int, canon string) error
	// ReleasePublisher gives the role up if me holds it, so that another
	// prober takes it at once rather than after the lease has gone stale.
	ReleasePublisher(ctx context.Context, me string) error
	// PendingDeliveries returns the deliveries not yet delivered nor given
	// up, by id.
	PendingDeliveries(ctx context.Context) ([]Delivery, error)
	// UpdateDelivery records an attempt's outcome (State, Attempts, Next,
	// Last, Result, Delivered) for the delivery with d.ID, if it is still
	// pending: ErrDeliveryDone when another process has recorded it
	// delivered or given up meanwhile.
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

// ErrDeliveryDone is UpdateDelivery's answer when the delivery is no longer
// pending: another process recorded it delivered or given up while this
// one's attempt was under way.
var ErrDeliveryDone = errors.New("store: the delivery was recorded done by another process meanwhile")

// ErrNotPublisher is AddReportVersion's answer when the version's maker no
// longer holds the publisher lease.
var ErrNotPublisher = errors.New("store: this prober does not hold the publisher lease")

// Lease is the publisher lease: which prober (by location) makes and
// delivers the report versions of a database.
type Lease struct {
	Holder  string    // the holder's location; "" nobody
	Beat    int64     // counts the claims that took or renewed it
	Since   time.Time // when Holder took it (its clock)
	Renewed time.Time // when Holder last renewed it (its clock)
	// Began is when a prober first took it in this database (its clock):
	// when the publishing of its reports began, kept through releases and
	// takeovers, so that reports.backfill 0 ("no month before the first
	// start") knows which months ended since. Zero: never taken, or taken
	// only by a slaprobe older than this field; the next claim that takes
	// or renews it records it (as of then).
	Began time.Time
}

// ReportVersion is one made version of a month's report.
type ReportVersion struct {
	Month     string    // YYYY-MM
	Version   int       // 1, 2, ...
	Generated time.Time // when it was made
	Digest    string    // of the report's whole JSON but the time it was made (not of its rendering)
	Canon     string    // of its canonical figures, with its form ("c1:..."), to tell a changed month; "" before schema version 14
	Changes   string    // what changed from the version before ("" for the first)
	Files     []string  // archive paths, relative to the archive directory
	Maker     string    // the location of the prober that made it ("" before schema version 9)
	Figures   string    // its figures.json (JSON; "" before schema version 9), for the next version's "what changed"
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
	Maker     string `db:"maker"`
	Figures   string `db:"figures"`
	Canon     string `db:"canon"`
}

func (c *core) ReportVersions(ctx context.Context, month string) (_ []ReportVersion, err error) {
	ctx, done := c.reading(ctx, "reading the report versions")
	defer done(&err)
	q := `SELECT month, version, generated_ns, digest, changes, files, maker, figures, canon FROM report_versions`
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
		v := ReportVersion{Month: r.Month, Version: r.Version, Generated: fromNS(r.Generated), Digest: r.Digest, Changes: r.Changes, Maker: r.Maker, Figures: r.Figures, Canon: r.Canon}
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
	if v.Maker != "" {
		// An UPDATE rather than a read: in PostgreSQL it locks the lease
		// row until the commit, so a takeover waits for this version
		// rather than passing it.
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE publisher_lease SET beat = beat WHERE id = 1 AND holder = ?`), v.Maker)
		if err != nil {
			return fmt.Errorf("store: add report version: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: add report version: %w", err)
		} else if n == 0 {
			return ErrNotPublisher
		}
	}
	var n int
	if err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT COUNT(*) FROM report_versions WHERE month = ? AND version = ?`), v.Month, v.Version); err != nil {
		return fmt.Errorf("store: add report version: %w", err)
	}
	if n > 0 {
		return ErrVersionExists
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO report_versions (month, version, generated_ns, digest, changes, files, maker, figures, canon) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		v.Month, v.Version, toNS(v.Generated), v.Digest, v.Changes, string(files), v.Maker, v.Figures, v.Canon); err != nil {
		if isUniqueViolation(err) {
			return ErrVersionExists
		}
		return fmt.Errorf("store: add report version: %w", err)
	}
	for _, d := range ds {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO report_deliveries (month, version, channel, target, state, attempts, next_ns, last_ns, result, delivered_ns)
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

func (c *core) SetReportCanon(ctx context.Context, maker, month string, version int, canon string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	tx, err := c.beginWrite(ctx) // refuses a newer schema
	if err != nil {
		return fmt.Errorf("store: set report canon: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE publisher_lease SET beat = beat WHERE id = 1 AND holder = ?`), maker)
	if err != nil {
		return fmt.Errorf("store: set report canon: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: set report canon: %w", err)
	} else if n == 0 {
		return ErrNotPublisher
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE report_versions SET canon = ? WHERE month = ? AND version = ? AND canon = ''`), canon, month, version); err != nil {
		return fmt.Errorf("store: set report canon: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: set report canon: %w", err)
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
	q := `SELECT id, month, version, channel, target, state, attempts, next_ns, last_ns, result, delivered_ns FROM report_deliveries ` + where + ` ORDER BY id`
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

func (c *core) PendingDeliveries(ctx context.Context) (_ []Delivery, err error) {
	ctx, done := c.reading(ctx, "reading the report deliveries")
	defer done(&err)
	return c.deliveries(ctx, `WHERE state = ?`, DeliveryPending)
}

func (c *core) Deliveries(ctx context.Context, month string) (_ []Delivery, err error) {
	ctx, done := c.reading(ctx, "reading the report deliveries")
	defer done(&err)
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
	// Only a delivery still pending: an attempt that ended after another
	// process recorded it delivered or given up (a prober that took the
	// publisher role over during the attempt) must not put it back.
	res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE report_deliveries SET state = ?, attempts = ?, next_ns = ?, last_ns = ?, result = ?, delivered_ns = ? WHERE id = ? AND state = ?`),
		d.State, d.Attempts, toNS(d.Next), toNS(d.Last), d.Result, toNS(d.Delivered), d.ID, DeliveryPending)
	if err != nil {
		return fmt.Errorf("store: update delivery %d: %w", d.ID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		var state string
		if err := tx.GetContext(ctx, &state, tx.Rebind(`SELECT state FROM report_deliveries WHERE id = ?`), d.ID); err != nil {
			return fmt.Errorf("store: update delivery %d: %w", d.ID, err) // sql.ErrNoRows: no such delivery
		}
		return fmt.Errorf("store: update delivery %d (%s): %w", d.ID, state, ErrDeliveryDone)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: update delivery %d: %w", d.ID, err)
	}
	return nil
}

type leaseRow struct {
	Holder  string `db:"holder"`
	Beat    int64  `db:"beat"`
	Since   int64  `db:"since_ns"`
	Renewed int64  `db:"renewed_ns"`
	Began   int64  `db:"began_ns"`
}

// leaseSQL reads the lease, and Lease.Began from its store_meta row
// (metaReportsBegan; no schema change: an older slaprobe of the same
// schema neither reads nor minds it).
const leaseSQL = `SELECT holder, beat, since_ns, renewed_ns,
	COALESCE((SELECT value FROM store_meta WHERE name = '` + metaReportsBegan + `'), 0) AS began_ns
FROM publisher_lease WHERE id = 1`

func (r leaseRow) lease() Lease {
	return Lease{Holder: r.Holder, Beat: r.Beat, Since: fromNS(r.Since), Renewed: fromNS(r.Renewed), Began: fromNS(r.Began)}
}

func (c *core) PublisherLease(ctx context.Context) (_ Lease, err error) {
	ctx, done := c.reading(ctx, "reading the publisher lease")
	defer done(&err)
	var r leaseRow
	if err := c.r.GetContext(ctx, &r, leaseSQL); err != nil {
		return Lease{}, fmt.Errorf("store: publisher lease: %w", err)
	}
	return r.lease(), nil
}

func (c *core) ClaimPublisher(ctx context.Context, me string, now time.Time, stale Lease) (Lease, error) {
	if me == "" {
		return Lease{}, errors.New("store: claim publisher: no location")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	tx, err := c.beginWrite(ctx) // refuses a newer schema: an older prober never publishes beside newer ones
	if err != nil {
		return Lease{}, fmt.Errorf("store: claim publisher: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	// One conditional UPDATE: PostgreSQL re-reads the row a concurrent
	// claim changed before it applies the condition, so of two probers
	// taking over the same stale lease one gets it.
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE publisher_lease
SET since_ns = CASE WHEN holder = ? THEN since_ns ELSE ? END, holder = ?, beat = beat + 1, renewed_ns = ?
WHERE id = 1 AND (holder = '' OR holder = ? OR (holder = ? AND beat = ?))`),
		me, toNS(now), me, toNS(now), me, stale.Holder, stale.Beat); err != nil {
		return Lease{}, fmt.Errorf("store: claim publisher: %w", err)
	}
	var r leaseRow
	if err := tx.GetContext(ctx, &r, leaseSQL); err != nil {
		return Lease{}, fmt.Errorf("store: claim publisher: %w", err)
	}
	if r.Holder == me && r.Began == 0 {
		// The first claim that takes it: the publishing began now.
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO store_meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`),
			metaReportsBegan, toNS(now)); err != nil {
			return Lease{}, fmt.Errorf("store: claim publisher: %w", err)
		}
		if err := tx.GetContext(ctx, &r, leaseSQL); err != nil {
			return Lease{}, fmt.Errorf("store: claim publisher: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return Lease{}, fmt.Errorf("store: claim publisher: %w", err)
	}
	return r.lease(), nil
}

func (c *core) ReleasePublisher(ctx context.Context, me string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	tx, err := c.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("store: release publisher: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE publisher_lease SET holder = '', beat = beat + 1 WHERE id = 1 AND holder = ?`), me); err != nil {
		return fmt.Errorf("store: release publisher: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: release publisher: %w", err)
	}
	return nil
}

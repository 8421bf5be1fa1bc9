package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

// ErrNotOpen is what every call of a Pending store answers until its
// database is open: the daemon started while it was unreachable.
var ErrNotOpen = errors.New("store: the database is not reachable yet")

// Pending is a Store (and Publications) whose database could not be opened
// at startup (PostgreSQL down, a SQLite file locked by another process, a
// read-only disk): every call fails with ErrNotOpen and the last opening
// error until Set gives it the opened store, from then on it is that store.
// The daemon probes on meanwhile (see daemon/detached.go); whoever made it
// retries the opening (with its migrations) and calls Set.
type Pending struct {
	mu  sync.RWMutex
	st  Store
	err error
}

// NewPending returns a Pending store that failed to open with err.
func NewPending(err error) *Pending { return &Pending{err: err} }

// Set gives p its opened store.
func (p *Pending) Set(st Store) {
	p.mu.Lock()
	p.st, p.err = st, nil
	p.mu.Unlock()
}

// Fail records the latest error of an attempt to open it.
func (p *Pending) Fail(err error) {
	p.mu.Lock()
	if p.st == nil {
		p.err = err
	}
	p.mu.Unlock()
}

// Retryable reports whether a store that failed to open is worth trying
// again while the daemon probes without it: not a schema newer than this
// slaprobe's, a DSN that does not parse, nor a database that refuses the
// credentials or does not exist (the config's, which a restart after
// fixing it needs).
func Retryable(err error) bool {
	var pe *pgconn.PgError
	switch {
	case errors.Is(err, ErrSchemaNewer), BadDSN(err):
		return false
	case errors.As(err, &pe):
		// 28: invalid authorization; 3D000: no such database.
		return !strings.HasPrefix(pe.Code, "28") && pe.Code != "3D000"
	}
	return true
}

// Reopen says how OpenLater opens a Pending store's database.
type Reopen struct {
	// Open opens the store (and migrates it); ctx bounds the attempt.
	Open func(ctx context.Context) (Store, error)
	// Every is the time between attempts (a ticker: an attempt that took
	// longer is followed by the next at once); Wait bounds each.
	Every, Wait time.Duration
	// Retryable says which errors are worth another attempt (nil:
	// Retryable); any other ends OpenLater with it.
	Retryable func(error) bool
	// Logger gets the attempt that opened it (info) and the error that
	// ended the tries (error); nil: none.
	Logger *slog.Logger
}

// OpenLater opens p's database every r.Every until it opens (and gives it
// to p: Set, which the daemon's attach then finds answering), ctx is done
// (a store opened then is closed; nil), or an attempt fails with an error a
// retry will not mend, which it returns (the daemon stops on it, exit 1).
// Each failed attempt's error is p's (Fail).
func (p *Pending) OpenLater(ctx context.Context, r Reopen) error {
	retryable, log := r.Retryable, r.Logger
	if retryable == nil {
		retryable = Retryable
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(r.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		octx, cancel := context.WithTimeout(ctx, r.Wait)
		st, err := r.Open(octx)
		cancel()
		if err == nil {
			if ctx.Err() != nil {
				st.Close()
				return nil
			}
			p.Set(st)
			log.Info("store reachable: opened (the daemon stores the spool and its held runs next)")
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		if !retryable(err) {
			log.Error("store reachable, but cannot be used: stopping", "err", err)
			return err
		}
		p.Fail(err)
	}
}

// Opened reports whether Set was called.
func (p *Pending) Opened() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.st != nil
}

func (p *Pending) get() (Store, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.st == nil {
		return nil, fmt.Errorf("%w: %w", ErrNotOpen, p.err)
	}
	return p.st, nil
}

func (p *Pending) pub() (Publications, error) {
	st, err := p.get()
	if err != nil {
		return nil, err
	}
	ps, ok := st.(Publications)
	if !ok {
		return nil, errors.New("store: this store keeps no delivery records")
	}
	return ps, nil
}

func (p *Pending) AppendRuns(ctx context.Context, runs []probe.Run) error {
	st, err := p.get()
	if err != nil {
		return err
	}
	return st.AppendRuns(ctx, runs)
}

func (p *Pending) AppendEvents(ctx context.Context, events []state.Event) error {
	st, err := p.get()
	if err != nil {
		return err
	}
	return st.AppendEvents(ctx, events)
}

func (p *Pending) Runs(ctx context.Context, q Query) ([]probe.Run, error) {
	st, err := p.get()
	if err != nil {
		return nil, err
	}
	return st.Runs(ctx, q)
}

func (p *Pending) Rollups(ctx context.Context, g Granularity, q Query) ([]Rollup, error) {
	st, err := p.get()
	if err != nil {
		return nil, err
	}
	return st.Rollups(ctx, g, q)
}

func (p *Pending) Totals(ctx context.Context, q Query) ([]Rollup, error) {
	st, err := p.get()
	if err != nil {
		return nil, err
	}
	return st.Totals(ctx, q)
}

func (p *Pending) Windows(ctx context.Context, q Query) ([]state.Window, error) {
	st, err := p.get()
	if err != nil {
		return nil, err
	}
	return st.Windows(ctx, q)
}

func (p *Pending) OpenWindows(ctx context.Context, location string) ([]state.Window, error) {
	st, err := p.get()
	if err != nil {
		return nil, err
	}
	return st.OpenWindows(ctx, location)
}

func (p *Pending) LastRuns(ctx context.Context, location string) (map[string]time.Time, error) {
	st, err := p.get()
	if err != nil {
		return nil, err
	}
	return st.LastRuns(ctx, location)
}

func (p *Pending) Coverage(ctx context.Context, q Query) ([]Span, error) {
	st, err := p.get()
	if err != nil {
		return nil, err
	}
	return st.Coverage(ctx, q)
}

func (p *Pending) Prune(ctx context.Context, c Cutoffs, batch int) (int, error) {
	st, err := p.get()
	if err != nil {
		return 0, err
	}
	return st.Prune(ctx, c, batch)
}

func (p *Pending) Horizon(ctx context.Context) (Horizon, error) {
	st, err := p.get()
	if err != nil {
		return Horizon{}, err
	}
	return st.Horizon(ctx)
}

func (p *Pending) Earliest(ctx context.Context) (time.Time, error) {
	st, err := p.get()
	if err != nil {
		return time.Time{}, err
	}
	return st.Earliest(ctx)
}

func (p *Pending) Ping(ctx context.Context) error {
	st, err := p.get()
	if err != nil {
		return err
	}
	return st.Ping(ctx)
}

// Close closes the store once opened; before, there is nothing to close.
func (p *Pending) Close() error {
	p.mu.RLock()
	st := p.st
	p.mu.RUnlock()
	if st == nil {
		return nil
	}
	return st.Close()
}

func (p *Pending) ReportVersions(ctx context.Context, month string) ([]ReportVersion, error) {
	ps, err := p.pub()
	if err != nil {
		return nil, err
	}
	return ps.ReportVersions(ctx, month)
}

func (p *Pending) AddReportVersion(ctx context.Context, v ReportVersion, deliveries []Delivery) error {
	ps, err := p.pub()
	if err != nil {
		return err
	}
	return ps.AddReportVersion(ctx, v, deliveries)
}

func (p *Pending) SetReportCanon(ctx context.Context, maker, month string, version int, canon string) error {
	ps, err := p.pub()
	if err != nil {
		return err
	}
	return ps.SetReportCanon(ctx, maker, month, version, canon)
}

func (p *Pending) PublisherLease(ctx context.Context) (Lease, error) {
	ps, err := p.pub()
	if err != nil {
		return Lease{}, err
	}
	return ps.PublisherLease(ctx)
}

func (p *Pending) ClaimPublisher(ctx context.Context, me string, now time.Time, stale Lease) (Lease, error) {
	ps, err := p.pub()
	if err != nil {
		return Lease{}, err
	}
	return ps.ClaimPublisher(ctx, me, now, stale)
}

func (p *Pending) ReleasePublisher(ctx context.Context, me string) error {
	ps, err := p.pub()
	if err != nil {
		return err
	}
	return ps.ReleasePublisher(ctx, me)
}

func (p *Pending) PendingDeliveries(ctx context.Context) ([]Delivery, error) {
	ps, err := p.pub()
	if err != nil {
		return nil, err
	}
	return ps.PendingDeliveries(ctx)
}

func (p *Pending) UpdateDelivery(ctx context.Context, d Delivery) error {
	ps, err := p.pub()
	if err != nil {
		return err
	}
	return ps.UpdateDelivery(ctx, d)
}

func (p *Pending) Deliveries(ctx context.Context, month string) ([]Delivery, error) {
	ps, err := p.pub()
	if err != nil {
		return nil, err
	}
	return ps.Deliveries(ctx, month)
}

var (
	_ Store        = (*Pending)(nil)
	_ Publications = (*Pending)(nil)
)

// RunsEach is the opened store's RunsEach where it has one (SQLite,
// PostgreSQL: the series table read once for all of qs), else Runs of
// each: a report's batch of small run reads costs what it costs with the
// store opened at startup.
func (p *Pending) RunsEach(ctx context.Context, qs []Query) ([][]probe.Run, error) {
	st, err := p.get()
	if err != nil {
		return nil, err
	}
	return RunsEach(ctx, st, qs)
}

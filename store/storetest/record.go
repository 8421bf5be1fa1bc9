package storetest

import (
	"context"
	"sync"

	"github.com/slaprobe/slaprobe/store"
)

// Recorder is a store that keeps every query its Totals is asked, for tests
// of what a reader asks the store for.
type Recorder struct {
	store.Store

	mu     sync.Mutex
	totals []store.Query
}

// Totals records q and answers from the store.
func (r *Recorder) Totals(ctx context.Context, q store.Query) ([]store.Rollup, error) {
	r.mu.Lock()
	r.totals = append(r.totals, q)
	r.mu.Unlock()
	return r.Store.Totals(ctx, q)
}

// TotalsQueries returns the queries Totals was asked, in order.
func (r *Recorder) TotalsQueries() []store.Query {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]store.Query(nil), r.totals...)
}

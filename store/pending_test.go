package store

import (
	"context"
	"errors"
	"testing"

	"github.com/slaprobe/slaprobe/probe"
)

// eachStore is a store with its own RunsEach (as SQLite and PostgreSQL).
type eachStore struct {
	Store
	calls int
}

func (s *eachStore) RunsEach(_ context.Context, qs []Query) ([][]probe.Run, error) {
	s.calls++
	return make([][]probe.Run, len(qs)), nil
}

// TestPendingRunsEach: a Pending store, once opened, reads a report's
// batch of small run reads (its retired flows' last runs) through the
// opened store's RunsEach, which reads the series table once for all of
// them; before, Pending had no RunsEach, so a daemon started while its
// database was unreachable read them one query at a time for as long as
// it ran (the cost daemon/reportcache.go's RunsEach was written to end).
func TestPendingRunsEach(t *testing.T) {
	p := NewPending(errors.New("connection refused"))
	var st Store = p
	b, ok := st.(interface {
		RunsEach(context.Context, []Query) ([][]probe.Run, error)
	})
	if !ok {
		t.Fatal("Pending has no RunsEach")
	}
	if _, err := b.RunsEach(context.Background(), []Query{{}}); !errors.Is(err, ErrNotOpen) {
		t.Errorf("RunsEach before the store opened: %v, want ErrNotOpen", err)
	}
	each := &eachStore{}
	p.Set(each)
	out, err := b.RunsEach(context.Background(), []Query{{}, {}})
	if err != nil || len(out) != 2 || each.calls != 1 {
		t.Errorf("RunsEach once opened: %d results, %v, %d calls of the store's RunsEach, want 2, nil, 1", len(out), err, each.calls)
	}
}

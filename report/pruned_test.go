package report

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// TestRecomputeOverPrunedRange (#14.7): `windows --recompute` over a period
// whose raw results retention has pruned used to return nothing for it,
// silently. The windows before the raw horizon must come from the stored
// events (and the caller be told), joined with the recomputed ones after it:
// for every build case, pruned at the middle of its range (inside its
// windows for most), the recomputed windows equal the stored ones.
func TestRecomputeOverPrunedRange(t *testing.T) {
	ctx := context.Background()
	for _, tc := range buildCases() {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg()
			s, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "results.db"), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			runs := tc.runs()
			load(t, s, cfg, runs)
			in := Input{Config: cfg, Store: s, From: tc.from.Add(-2 * time.Hour), To: tc.to, Now: tc.now}
			stored, err := Windows(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			mid := tc.from.Add(tc.to.Sub(tc.from) / 2)
			for {
				n, err := s.Prune(ctx, store.Cutoffs{Runs: mid}, 1000)
				if err != nil {
					t.Fatal(err)
				}
				if n < 1000 {
					break
				}
			}
			if left, _ := s.Runs(ctx, store.Query{From: in.From, To: mid}); len(left) != 0 {
				t.Fatalf("%d runs before %v left after pruning", len(left), mid)
			}
			var warned []string
			in.Recompute = true
			in.Warn = func(msg string) { warned = append(warned, msg) }
			rec, err := Windows(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := jsonOf(t, stored), jsonOf(t, rec); a != b {
				t.Errorf("windows differ:\nstored     %s\nrecomputed %s", a, b)
			}
			if len(warned) != 1 || !strings.Contains(warned[0], "pruned") {
				t.Errorf("warnings %q, want one saying the raw results were pruned", warned)
			}
		})
	}
}

// windowsFailFrom is a store whose Windows fails for a query that begins at
// from (a read that timed out, --read-timeout, or a connection lost).
type windowsFailFrom struct {
	store.Store
	from time.Time
}

func (s windowsFailFrom) Windows(ctx context.Context, q store.Query) ([]state.Window, error) {
	if q.From.Equal(s.from) {
		return nil, errors.New("reading the windows: no answer within 1m0s")
	}
	return s.Store.Windows(ctx, q)
}

// TestRecomputeOverPrunedRangeReadFails: a failed read of the stored windows
// after the raw horizon (how late a recomputed window's start may be) fails
// the recomputation, as every other read of it does; it was ignored, and the
// windows came out without their start's uncertainty, with no word.
func TestRecomputeOverPrunedRangeReadFails(t *testing.T) {
	ctx := context.Background()
	tc := buildCases()[0]
	cfg := tc.cfg()
	s, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "results.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	load(t, s, cfg, tc.runs())
	mid := tc.from.Add(tc.to.Sub(tc.from) / 2)
	for {
		n, err := s.Prune(ctx, store.Cutoffs{Runs: mid}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if n < 1000 {
			break
		}
	}
	h, err := s.Horizon(ctx)
	if err != nil || h.Runs.IsZero() {
		t.Fatalf("horizon %v, %v: want the raw results pruned", h.Runs, err)
	}
	in := Input{Config: cfg, Store: windowsFailFrom{s, h.Runs}, From: tc.from.Add(-2 * time.Hour), To: tc.to, Now: tc.now, Recompute: true}
	if _, err := Windows(ctx, in); err == nil || !strings.Contains(err.Error(), "no answer") {
		t.Errorf("Windows: %v, want the failed read", err)
	}
}

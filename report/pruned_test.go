package report

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

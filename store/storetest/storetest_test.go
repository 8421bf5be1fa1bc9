package storetest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/store"
)

func TestGenerate(t *testing.T) {
	ctx := context.Background()
	s, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gen.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g := Gen{Flows: 8, Days: 1, Interval: time.Minute, Outages: 2, Batch: 1000}
	start := time.Now()
	if err := Generate(ctx, s, g); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d step results in %v", 8*1440*3, time.Since(start))
	g = g.withDefaults()
	q := store.Query{From: g.Start, To: g.Start.Add(24 * time.Hour)}
	cov, err := s.Coverage(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(cov) != 8 {
		t.Fatalf("%d flows covered, want 8", len(cov))
	}
	for _, sp := range cov {
		if sp.Runs != 1440 {
			t.Errorf("%s: %d runs, want 1440", sp.Flow, sp.Runs)
		}
	}
	ws, err := s.Windows(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	// Each outage takes down one step of flows i%4 == k: flows k and k+4, as
	// a flow window and a function window (steps after it blocked too).
	var down int
	for _, w := range ws {
		if w.Kind == "down" && w.Function == "" {
			down++
			if d := w.End.Sub(w.Start); d < 40*time.Minute || d > 50*time.Minute {
				t.Errorf("window %s %v..%v lasts %v, want about 45m", w.Flow, w.Start, w.End, d)
			}
		}
	}
	if down != 4 {
		t.Errorf("%d flow-level down windows, want 4: %+v", down, ws)
	}
}

// BenchmarkGenerate reports Generate's throughput in step results per second.
func BenchmarkGenerate(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		s, err := store.OpenSQLite(ctx, filepath.Join(b.TempDir(), "gen.db"), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := Generate(ctx, s, Gen{Flows: 100, Days: 1}); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	b.ReportMetric(float64(b.N*100*1440*3)/b.Elapsed().Seconds(), "results/s")
}

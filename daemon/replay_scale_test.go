package daemon

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	rtmetrics "runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/platform"
	"github.com/slaprobe/slaprobe/store"
)

// replayBytes replays n copies of a two-step flow for span at a 60 s
// interval against the in-process demo platform and returns the bytes it
// allocated.
func replayBytes(t *testing.T, n int, span time.Duration) uint64 {
	t.Helper()
	cfg := scaleConfig(t, "http://127.0.0.1:18080", n, time.Minute)
	p := platform.New(platform.Options{})
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	st := &fakeStore{}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := Replay(context.Background(), cfg, Deps{Store: st, Transport: p.Transport()}, from, from.Add(span), nil); err != nil {
		t.Fatalf("Replay: %v", err)
	}
	runtime.ReadMemStats(&after)
	if runs, _ := st.snapshot(); len(runs) < n {
		t.Fatalf("%d flows made %d runs", n, len(runs))
	}
	return after.TotalAlloc - before.TotalAlloc
}

// #13.7: replay built one runner per flow (for its run-ID generator), and
// every runner compiled every flow: cost in the square of the flows. Four
// times the flows must cost about four times the memory (allocations are
// counted, not timed).
func TestReplayCostLinearInFlows(t *testing.T) {
	const span = 2 * time.Minute
	small := replayBytes(t, 50, span)
	large := replayBytes(t, 200, span)
	ratio := float64(large) / float64(small)
	t.Logf("allocated: 50 flows %.1f MB, 200 flows %.1f MB (x%.1f)", float64(small)/(1<<20), float64(large)/(1<<20), ratio)
	if ratio > 6 {
		t.Errorf("4x the flows allocate %.1fx the memory (%d -> %d bytes): replay cost is not linear in flows", ratio, small, large)
	}
}

// BenchmarkReplayHour is the replay-scale figure of #13.7: n flows (login +
// search against the in-process demo platform, 60 s interval) over one
// virtual hour into a fresh SQLite file, as `slaprobe demo --config` does.
// It reports the peak Go heap (sampled every 10 ms) and the runs made.
//
//	go test -run '^$' -bench 'ReplayHour/flows=10000$' -benchtime 1x ./daemon
func BenchmarkReplayHour(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("flows=%d", n), func(b *testing.B) {
			cfg := scaleConfig(b, "http://127.0.0.1:18080", n, time.Minute)
			from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
			var peak uint64
			for b.Loop() {
				b.StopTimer()
				ctx := context.Background()
				st, err := store.OpenSQLite(ctx, filepath.Join(b.TempDir(), "replay.db"), store.Options{})
				if err != nil {
					b.Fatal(err)
				}
				p := platform.New(platform.Options{})
				runtime.GC()
				stop := sampleHeap(&peak)
				b.StartTimer()
				err = Replay(ctx, cfg, Deps{Store: st, Transport: p.Transport()}, from, from.Add(time.Hour), nil)
				b.StopTimer()
				stop()
				if err != nil {
					b.Fatal(err)
				}
				st.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(n*60), "runs/op")
		})
	}
}

// sampleHeap records the largest heap (objects, live and not yet swept)
// seen every 10 ms into peak until stop is called.
func sampleHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	s := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	wg.Go(func() {
		tk := time.NewTicker(10 * time.Millisecond)
		defer tk.Stop()
		for {
			rtmetrics.Read(s)
			*peak = max(*peak, s[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-tk.C:
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

package daemon

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/slaprobe/slaprobe/config"
)

// heapConfigYAML is the config `make bench-scale` (test/scale) writes: n
// flows, each written out in full, of one GET step with a status, a latency
// objective and a JSONPath equals; edited gives the first flow another
// latency objective, the edit the harness reloads.
func heapConfigYAML(n int, edited bool) []byte {
	var b strings.Builder
	b.WriteString("location: bench\ndefaults: {interval: 60s, timeout: 10s}\nservices:\n  - name: maps\n    flows:\n")
	for i := range n {
		lat := "1s"
		if edited && i == 0 {
			lat = "1.5s"
		}
		fmt.Fprintf(&b, `      - name: search-%05d
        steps:
          - name: search
            function: search
            request: {url: "http://127.0.0.1:9/maps/search?q=station"}
            expect:
              status: [200]
              latency: %s
              jsonpath: {"$.query": station}
`, i, lat)
	}
	return []byte(b.String())
}

// liveHeap returns the bytes of live heap objects after two collections.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkDaemonHeap measures the live Go heap of a daemon of
// SLAPROBE_HEAP_FLOWS flows (default 50,000; test/scale's config, parsed
// from YAML) once Run has scheduled every flow's gocron job, on a fake clock
// (nothing runs; no availability gauge), and what a reload of the harness's edit (one flow's
// latency objective) costs. Metrics, per iteration:
//
//   - live-MB, live-B/flow: the heap after GC with the daemon running (the
//     config, compiled flows, state machines, gocron jobs, metrics);
//   - reload-s: Daemon.Reload's wall time (the config parsed before);
//   - reload-alloc-MB: what Reload allocated (a recompile of every flow
//     shows here), a bound on what the reload adds to the peak beyond the
//     new config;
//   - reloaded-live-MB: the heap after GC once the old config is dropped.
//
// SLAPROBE_HEAP_PROFILE=FILE writes a heap profile at the live-MB point
// (go tool pprof -sample_index=inuse_space FILE); SLAPROBE_RELOAD_PROFILE=F
// writes F.before and F.after around the reload (what it allocated:
// go tool pprof -sample_index=alloc_space -diff_base F.before F.after).
//
//	go test -run '^$' -bench DaemonHeap -benchtime 1x ./daemon
func BenchmarkDaemonHeap(b *testing.B) {
	n := 50000
	if v := os.Getenv("SLAPROBE_HEAP_FLOWS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("SLAPROBE_HEAP_FLOWS=%q: want a positive integer", v)
		}
	}
	parse := func(edited bool) *config.Config {
		cfg, err := config.Parse("bench.yaml", heapConfigYAML(n, edited), config.Options{})
		if err != nil {
			b.Fatal(err)
		}
		return cfg
	}
	for b.Loop() {
		base := liveHeap()
		fc := clockwork.NewFakeClockAt(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC))
		// No availability gauge: its report build is not per-flow state, and
		// it would run while the heap is measured.
		noAvail := func(context.Context, time.Time, time.Time) (map[string]float64, error) { return nil, nil }
		d, err := New(parse(false), Deps{Store: &fakeStore{}, Clock: ClockworkClock(fc), Registry: prometheus.NewRegistry(), Availability: noAvail})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		waitScheduled(b, d, n)

		live := liveHeap() - base
		if path := os.Getenv("SLAPROBE_HEAP_PROFILE"); path != "" {
			writeHeapProfile(b, path)
		}
		next := parse(true)
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		prof := os.Getenv("SLAPROBE_RELOAD_PROFILE")
		if prof != "" {
			writeHeapProfile(b, prof+".before")
		}
		t0 := time.Now()
		if err := d.Reload(next); err != nil {
			b.Fatal(err)
		}
		took := time.Since(t0)
		runtime.ReadMemStats(&m1)
		if prof != "" {
			writeHeapProfile(b, prof+".after")
		}
		next = nil
		reloaded := liveHeap() - base

		b.ReportMetric(float64(live)/1e6, "live-MB")
		b.ReportMetric(float64(live)/float64(n), "live-B/flow")
		b.ReportMetric(took.Seconds(), "reload-s")
		b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/1e6, "reload-alloc-MB")
		b.ReportMetric(float64(reloaded)/1e6, "reloaded-live-MB")

		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		runtime.KeepAlive(d)
	}
}

// waitScheduled waits until Run has scheduled the job of each of n flows
// and is done starting (it holds reloadMu until then: gocron's Start arms
// every job, which on the fake clock takes seconds at 50,000 flows).
func waitScheduled(b *testing.B, d *Daemon, n int) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		jobs := 0
		for _, fs := range d.flowSnapshot() {
			fs.mu.Lock()
			if fs.job != nil {
				jobs++
			}
			fs.mu.Unlock()
		}
		if jobs == n {
			d.reloadMu.Lock()
			d.reloadMu.Unlock() //nolint:staticcheck // an empty critical section: Run's start is over
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Fatalf("Run did not schedule %d flows within 5 minutes", n)
}

func writeHeapProfile(b *testing.B, path string) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

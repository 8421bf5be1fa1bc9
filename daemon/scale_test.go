package daemon

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/platform"
	"github.com/slaprobe/slaprobe/store"
)

// TestScale is 10,000 flows (login + search) at a 60 s interval against a
// loopback demo platform, in process, real clock, results in a temp SQLite
// file, for two and a half intervals (`make bench-scale` measures the real
// binary instead: test/scale). It prints the schedule lag p99
// (goal < 100 ms), peak RSS (goal < 300 MB), dropped results (must be 0) and
// runs completed.
//
//	SLAPROBE_SCALE=1 go test -run TestScale -v -timeout 15m ./daemon/
//
// SLAPROBE_SCALE_FLOWS and SLAPROBE_SCALE_SECONDS change the size and length;
// SLAPROBE_SCALE_HEAPPROFILE=FILE writes a heap profile 5 s before the end.
func TestScale(t *testing.T) {
	if os.Getenv("SLAPROBE_SCALE") != "1" {
		t.Skip("scale run: set SLAPROBE_SCALE=1 (make bench-scale)")
	}
	flows := envInt(t, "SLAPROBE_SCALE_FLOWS", 10000)
	secs := envInt(t, "SLAPROBE_SCALE_SECONDS", 150)
	const interval = 60 * time.Second

	srv := httptest.NewServer(platform.New(platform.Options{}))
	defer srv.Close()
	cfg := scaleConfig(t, srv.URL, flows, interval)
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "scale.db"), store.Options{})
	if err != nil {
		t.Fatalf("sqlite: %v", err)
	}
	defer st.Close()

	reg := prometheus.NewRegistry()
	d, err := New(cfg, Deps{Store: st, Registry: reg, Version: "scale"})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second)
	defer cancel()
	if path := os.Getenv("SLAPROBE_SCALE_HEAPPROFILE"); path != "" {
		// A heap profile shortly before the end, while everything is live.
		go func() {
			if clock.Real.Sleep(clock.Real{}, runCtx, time.Duration(secs)*time.Second-5*time.Second) != nil {
				return
			}
			f, err := os.Create(path)
			if err != nil {
				t.Errorf("heap profile: %v", err)
				return
			}
			defer f.Close()
			runtime.GC()
			if err := pprof.WriteHeapProfile(f); err != nil {
				t.Errorf("heap profile: %v", err)
			}
		}()
	}
	go func() { // one scrape of /metrics while probing, as Prometheus would
		if clock.Real.Sleep(clock.Real{}, runCtx, time.Duration(secs)*time.Second*2/3) != nil {
			return
		}
		rw := &discardRW{h: http.Header{}, code: http.StatusOK}
		t0 := time.Now()
		d.Handler().ServeHTTP(rw, httptest.NewRequest("GET", "/metrics", nil))
		t.Logf("scrape of /metrics: %d, %d MB in %s", rw.code, rw.n>>20, time.Since(t0).Round(time.Millisecond))
	}()
	go func() { // RSS along the way, to tell a start-up spike from growth
		for clock.Real.Sleep(clock.Real{}, runCtx, 10*time.Second) == nil {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			t.Logf("rss %d MB (peak %d MB), Go heap in use %d MB, goroutines %d",
				procStatus(t, "VmRSS:")>>20, procStatus(t, "VmHWM:")>>20, ms.HeapInuse>>20, runtime.NumGoroutine())
		}
	}()
	start := time.Now()
	if err := d.Run(runCtx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	elapsed := time.Since(start)
	hwm := procStatus(t, "VmHWM:")

	// The registry without the per-flow families (cheap); runs from the
	// flows' own counters, which /metrics streams.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var completed, failed, skipped, dropped float64
	var lag *dto.Histogram
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "slaprobe_runs_skipped_total":
				skipped += m.GetCounter().GetValue()
			case "slaprobe_store_dropped_results_total":
				dropped += m.GetCounter().GetValue()
			case "slaprobe_schedule_lag_seconds":
				lag = m.GetHistogram()
			}
		}
	}
	stored, err := st.Coverage(ctx, store.Query{From: start.Add(-time.Minute), To: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	var storedRuns int64
	for _, s := range stored {
		storedRuns += s.Runs
	}
	p99 := histQuantile(lag, 0.99)
	for _, fs := range d.flowSnapshot() {
		fs.mu.Lock()
		completed += float64(fs.stats.runsOK + fs.stats.runsFailed)
		failed += float64(fs.stats.runsFailed)
		fs.mu.Unlock()
	}
	t.Logf("scale: %d flows at %s for %s (%d cores)", flows, interval, elapsed.Round(time.Second), runtime.NumCPU())
	t.Logf("runs completed %.0f (failed %.0f, skipped %.0f), stored %d", completed, failed, skipped, storedRuns)
	t.Logf("schedule lag p99 %.1f ms (goal < 100 ms), mean %.2f ms", p99*1000, lag.GetSampleSum()/float64(lag.GetSampleCount())*1000)
	t.Logf("peak RSS (VmHWM) %.0f MB (goal < 300 MB)", float64(hwm)/(1<<20))
	t.Logf("dropped results %.0f (must be 0)", dropped)

	if dropped != 0 {
		t.Errorf("%.0f results dropped", dropped)
	}
	if want := float64(flows); completed < want {
		t.Errorf("only %.0f runs completed, want every flow to have run (%.0f)", completed, want)
	}
	if int64(completed) != storedRuns {
		t.Errorf("%.0f runs completed but %d stored", completed, storedRuns)
	}
	if failed > 0 {
		t.Errorf("%.0f runs failed against a healthy loopback platform", failed)
	}
	// Lag and RSS are figures to read (they depend on the machine and its
	// load), not assertions: the goals are in the log lines above.
}

// TestShutdownScale is the shutdown figure of #13.3 (in `make bench-scale`):
// 10,000 hourly flows (jitter up to 72 s) on the real clock against a
// loopback demo platform, results in a temp SQLite file. After a while (some
// runs wait out their jitter; runs take milliseconds, so nothing is in
// flight for long) the context ends; Run must return within 5 s (it used to
// wait out those jitters, up to the 30 s grace).
//
//	SLAPROBE_SCALE=1 go test -count=1 -run TestShutdownScale -v ./daemon/
//
// SLAPROBE_SCALE_FLOWS and SLAPROBE_SCALE_SECONDS (before the stop) change
// the size and the wait.
func TestShutdownScale(t *testing.T) {
	if os.Getenv("SLAPROBE_SCALE") != "1" {
		t.Skip("scale run: set SLAPROBE_SCALE=1 (make bench-scale)")
	}
	flows := envInt(t, "SLAPROBE_SCALE_FLOWS", 10000)
	secs := envInt(t, "SLAPROBE_SCALE_SECONDS", 30)
	srv := httptest.NewServer(platform.New(platform.Options{}))
	defer srv.Close()
	cfg := scaleConfig(t, srv.URL, flows, time.Hour)
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "scale.db"), store.Options{})
	if err != nil {
		t.Fatalf("sqlite: %v", err)
	}
	defer st.Close()
	reg := prometheus.NewRegistry()
	d, err := New(cfg, Deps{Store: st, Registry: reg, Version: "scale"})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	time.Sleep(time.Duration(secs) * time.Second)
	var waiting int
	for _, fs := range d.flowSnapshot() {
		if fs.running.Load() {
			waiting++
		}
	}
	lag, _ := sample(t, reg, "slaprobe_schedule_lag_seconds")
	began := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(2 * DefaultGrace):
		t.Fatal("Run did not return")
	}
	took := time.Since(began)
	t.Logf("%d flows at 1h: %.0f runs started in the first %d s; at the stop %d flows were waiting out their jitter or running", flows, lag, secs, waiting)
	// A figure to read, not an assertion (it depends on the machine and its
	// load); Run returning within 2 x DefaultGrace is the correctness check.
	t.Logf("stop -> Run returned (drained, flushed): %s (goal < 5 s)", took.Round(time.Millisecond))
}

// scaleConfig parses a config with one flow and copies that flow to make
// flows of them: quicker than parsing them all (the loader's limits grow
// with the file and would take 10,000 flows written out: config.MaxFileBytes).
// The copies share their steps, so a config written out in full takes a
// little more heap; test/scale runs the binary on one.
func scaleConfig(t testing.TB, base string, flows int, interval time.Duration) *config.Config {
	t.Helper()
	src := fmt.Sprintf(`location: scale
defaults: {interval: %s, timeout: 10s}
services:
  - name: maps
    flows:
      - name: maps-00000
        steps:
          - name: login
            function: login
            request: {method: POST, url: "%s/maps/login", json: {user: "probe-${location}", password: demo}}
            expect: {status: [200]}
          - name: search
            function: search
            request: {url: "%s/maps/search?q=station"}
            expect: {status: [200]}
`, interval, base, base)
	cfg, err := config.Parse("scale.yaml", []byte(src), config.Options{})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	proto := cfg.Services[0].Flows[0]
	all := make([]config.Flow, flows)
	for i := range all {
		all[i] = proto
		all[i].Name = fmt.Sprintf("maps-%05d", i)
	}
	cfg.Services[0].Flows = all
	return cfg
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// histQuantile interpolates a quantile inside the bucket it falls in, as
// Prometheus' histogram_quantile does.
func histQuantile(h *dto.Histogram, q float64) float64 {
	if h == nil || h.GetSampleCount() == 0 {
		return math.NaN()
	}
	rank := q * float64(h.GetSampleCount())
	lo, prev := 0.0, 0.0
	for _, b := range h.GetBucket() {
		c := float64(b.GetCumulativeCount())
		if c >= rank {
			if c == prev {
				return b.GetUpperBound()
			}
			return lo + (b.GetUpperBound()-lo)*(rank-prev)/(c-prev)
		}
		lo, prev = b.GetUpperBound(), c
	}
	return math.Inf(1)
}

// procStatus reads a size (VmHWM: peak resident set, VmRSS: now) from
// /proc/self/status, in bytes.
func procStatus(t *testing.T, field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatalf("peak RSS needs /proc/self/status (Linux): %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("%s %q: %v", field, rest, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// discardRW is a ResponseWriter that counts and drops the body, as a socket
// to Prometheus would take it away.
type discardRW struct {
	h    http.Header
	code int
	n    int
}

func (w *discardRW) Header() http.Header         { return w.h }
func (w *discardRW) WriteHeader(code int)        { w.code = code }
func (w *discardRW) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }

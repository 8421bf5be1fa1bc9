package daemon

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"runtime/pprof"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/slaprobe/slaprobe/config"
)

// benchPhases is `slaprobe run`'s heavy phases as Deps.Heavy sees them
// (cmd/slaprobe's gcPhases and phaseHooks, which this package cannot
// import): GOGC 50 while one phase runs (heavyGCPercent at 50,000 flows),
// 25 while two overlap, what it was once the last ends, and then the heap
// collected and its free pages returned (debug.FreeOSMemory). The binary's
// page drops are left out (they map nothing of a test binary's worth).
type benchPhases struct {
	mu    sync.Mutex
	n     int
	saved int
	freed time.Duration // spent in debug.FreeOSMemory
}

func (p *benchPhases) begin() func() {
	p.mu.Lock()
	if p.n++; p.n == 1 {
		p.saved = debug.SetGCPercent(50)
	} else if p.n == 2 {
		debug.SetGCPercent(25)
	}
	p.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			p.n--
			last := p.n == 0
			switch p.n {
			case 0:
				debug.SetGCPercent(p.saved)
			case 1:
				debug.SetGCPercent(50)
			}
			p.mu.Unlock()
			if last {
				t := time.Now()
				debug.FreeOSMemory()
				p.mu.Lock()
				p.freed += time.Since(t)
				p.mu.Unlock()
			}
		})
	}
}

// loggedAt is a slog handler that keeps when (on the real clock) the
// Reloader logged "config reloaded": test/scale times a reload to that
// line.
type loggedAt struct {
	mu sync.Mutex
	at time.Time
}

func (h *loggedAt) Enabled(context.Context, slog.Level) bool { return true }
func (h *loggedAt) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *loggedAt) WithGroup(string) slog.Handler            { return h }
func (h *loggedAt) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "config reloaded" {
		h.mu.Lock()
		h.at = time.Now()
		h.mu.Unlock()
	}
	return nil
}

func (h *loggedAt) get() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.at
}

// BenchmarkReload is a SIGHUP reload of test/scale's config of
// SLAPROBE_RELOAD_FLOWS flows (default 50,000; #11's goal: under 5 s)
// through the path `slaprobe run` takes at each SIGHUP: Reloader.Reload,
// which reads and parses the file (config.Load), collects, takes the
// daemon's turn and applies it (Daemon.Reload), with Deps.Heavy as the
// program's heavy phases (benchPhases). Each iteration reloads the
// harness's edit (one flow's latency objective changed), the config
// written back and forth. The daemon runs (every flow's gocron job
// scheduled) on a fake clock, so nothing probes (and the durations the
// "config reloaded" line gives, read on that clock, are 0).
//
// s/op is the whole of Reload (the SIGHUP's handling to its return);
// logged-s to its "config reloaded" line (test/scale's reload figure);
// load-s the config's read and parse (the Load call), free-s the time in
// the phases' debug.FreeOSMemory, rest-s the remainder (the collection
// after the parse, the turn, Daemon.Reload); forced-gcs the collections
// the reload forced (runtime.GC, FreeOSMemory), gc-cpu-s the collector's
// CPU time. SLAPROBE_RELOAD_CPUPROFILE=FILE writes a CPU profile of the
// reloads alone (not of the daemon's start).
//
//	go test -run '^$' -bench 'Reload$' -benchtime 3x ./daemon
func BenchmarkReload(b *testing.B) {
	n := 50000
	if v := os.Getenv("SLAPROBE_RELOAD_FLOWS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("SLAPROBE_RELOAD_FLOWS=%q: want a positive integer", v)
		}
	}
	path := filepath.Join(b.TempDir(), "slaprobe.yaml")
	write := func(edited bool) {
		if err := os.WriteFile(path, heapConfigYAML(n, edited), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	write(false)
	cfg, err := config.Load(path, config.Options{})
	if err != nil {
		b.Fatal(err)
	}
	fc := clockwork.NewFakeClockAt(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC))
	noAvail := func(context.Context, time.Time, time.Time) (map[string]float64, error) { return nil, nil }
	phases := &benchPhases{}
	logged := &loggedAt{}
	log := slog.New(logged)
	d, err := New(cfg, Deps{Store: &fakeStore{}, Clock: ClockworkClock(fc), Registry: prometheus.NewRegistry(),
		Availability: noAvail, Heavy: phases.begin, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	cfg = nil
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	waitScheduled(b, d, n)
	var loading time.Duration
	rl := &Reloader{Daemon: d, File: path, Logger: log, Load: func() (*config.Config, error) {
		t := time.Now()
		defer func() { loading += time.Since(t) }()
		return config.Load(path, config.Options{})
	}}
	debug.FreeOSMemory()

	samples := []rtmetrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}, {Name: "/cpu/classes/gc/total:cpu-seconds"}}
	rtmetrics.Read(samples)
	forced0, gcCPU0 := samples[0].Value.Uint64(), samples[1].Value.Float64()
	if path := os.Getenv("SLAPROBE_RELOAD_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	edited := false
	var took, toLine time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		edited = !edited
		write(edited)
		b.StartTimer()
		t := time.Now()
		if err := rl.Reload(ctx); err != nil {
			b.Fatal(err)
		}
		took += time.Since(t)
		toLine += logged.get().Sub(t)
	}
	b.StopTimer()
	pprof.StopCPUProfile()
	rtmetrics.Read(samples)
	per := func(x float64) float64 { return x / float64(b.N) }
	b.ReportMetric(per(toLine.Seconds()), "logged-s")
	b.ReportMetric(per(loading.Seconds()), "load-s")
	b.ReportMetric(per(phases.freed.Seconds()), "free-s")
	b.ReportMetric(per((took - loading - phases.freed).Seconds()), "rest-s")
	b.ReportMetric(per(float64(samples[0].Value.Uint64()-forced0)), "forced-gcs")
	b.ReportMetric(per(samples[1].Value.Float64()-gcCPU0), "gc-cpu-s")
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	runtime.KeepAlive(d)
}

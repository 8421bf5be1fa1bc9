package statuspage

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/daemon"
	"github.com/slaprobe/slaprobe/store"
	"github.com/slaprobe/slaprobe/store/storetest"
)

// The page benchmark's data: 1,000 flows of 5 functions (100 services of
// ten flows), one run an hour for 90 days, with storetest's three outages
// (each takes one step of a quarter of the flows down for 3 hours, blocking
// the steps after it), so that every bar has data and most functions of
// every service have days with downtime.
const (
	benchFlows    = 1000
	benchSteps    = 5
	benchDays     = 90
	benchInterval = time.Hour
)

var benchStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// benchStore opens (building once, under os.TempDir()) the benchmark's
// database; a ".done" file beside it marks it complete.
func benchStore(b *testing.B) store.Store {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("slaprobe-bench-status-%dflows-%ddays-3outages.db", benchFlows, benchDays))
	ctx := context.Background()
	if _, err := os.Stat(path + ".done"); err != nil {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix)
		}
		s, err := store.OpenSQLite(ctx, path, store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("building %s (once)", path)
		t0 := time.Now()
		if err := storetest.Generate(ctx, s, storetest.Gen{Flows: benchFlows, Steps: benchSteps, Days: benchDays, Interval: benchInterval,
			Start: benchStart, Outages: 3, OutageLength: 3 * time.Hour}); err != nil {
			s.Close()
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.Logf("built in %s", time.Since(t0).Round(time.Second))
		if err := os.WriteFile(path+".done", nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	s, err := store.OpenSQLite(ctx, path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func benchPage(b *testing.B) *Page { return benchPageOn(b, false) }

// benchPageOn builds the page on the store, or with kept on the daemon's
// report store (what `slaprobe run` gives the page: the settled past is
// kept between rebuilds).
func benchPageOn(b *testing.B, kept bool) *Page { return benchPageAt(b, kept, "") }

// benchPageAt is benchPageOn for a prober at location ("": the store's
// own, seoul-a); another makes the page a fleet's (the store holds
// seoul-a's results), whose states now come from the counted windows.
func benchPageAt(b *testing.B, kept bool, location string) *Page {
	var s store.Store = benchStore(b)
	cfg := genConfig(benchFlows, benchSteps, benchInterval)
	if location != "" {
		cfg.Location = location
	}
	now := benchStart.Add(benchDays*24*time.Hour - time.Hour)
	if kept {
		// The daemon compiles its flows: give their steps something to ask.
		dcfg := genConfig(benchFlows, benchSteps, benchInterval)
		for i := range dcfg.Services {
			for j := range dcfg.Services[i].Flows {
				for k := range dcfg.Services[i].Flows[j].Steps {
					dcfg.Services[i].Flows[j].Steps[k].Request.URL = "http://127.0.0.1:9/"
				}
			}
		}
		d, err := daemon.New(dcfg, daemon.Deps{Store: s, Clock: clock.NewManual(now)})
		if err != nil {
			b.Fatal(err)
		}
		s = d.ReportStore()
	}
	live := liveDown(cfg, now)
	p, err := New(cfg, Options{Store: s, Clock: clock.NewManual(now), Live: func() daemon.Status { return live }})
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	if err := p.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Logf("figures for %d flows x %d functions over %d days built in %s (background refresh, not per request)",
		benchFlows, benchSteps, benchDays, time.Since(t0).Round(time.Millisecond))
	return p
}

// BenchmarkStatusPage is one request's server-side work at 1,000 flows x 5
// functions: the live state of every flow, the view and the HTML, from the
// snapshot (no store query). page-bytes is the uncompressed size,
// gzip-bytes what a browser that accepts gzip receives.
//
// The fleet- variants are a prober at busan-b beside the store's seoul-a.
func BenchmarkStatusPage(b *testing.B) {
	for _, fleet := range []bool{false, true} {
		benchStatusPage(b, fleet)
	}
}

func benchStatusPage(b *testing.B, fleet bool) {
	location, prefix := "", ""
	if fleet {
		location, prefix = "busan-b", "fleet-"
	}
	p := benchPageAt(b, false, location)
	for _, public := range []bool{false, true} {
		name := prefix + "internal"
		if public {
			name = prefix + "public"
		}
		b.Run(name, func(b *testing.B) {
			var buf bytes.Buffer
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				if err := p.Render(&buf, public, false); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len()), "page-bytes")
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(buf.Bytes()) //nolint:errcheck // in memory
			zw.Close()
			b.ReportMetric(float64(z.Len()), "gzip-bytes")
		})
	}
}

// BenchmarkStatusRefresh is the background rebuild of this month's figures
// (report.Build with per-function accounting) at the same size: on the
// store, and on the daemon's report store after its first build (the
// settled past kept; what a running daemon pays every minute).
func BenchmarkStatusRefresh(b *testing.B) {
	for _, kept := range []bool{false, true} {
		name := "store"
		if kept {
			name = "kept"
		}
		b.Run(name, func(b *testing.B) {
			p := benchPageOn(b, kept)
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Refresh(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStatusRefreshRecent is the status page's rebuild as `slaprobe
// run` makes it once a minute in test/scale's 1,000-flow row (`-flows 1000
// -interval 10s`): one service of 1,000 flows of one step every 10 s, run
// for the last 10 minutes, the rebuild 30 s into a minute, on the daemon's
// report store after its first build. All of it is recent (minute rollups
// and the raw runs of the minute under way, read at every rebuild), where
// BenchmarkStatusRefresh's store is 90 days of hour rollups of 100
// services.
func BenchmarkStatusRefreshRecent(b *testing.B) {
	const flows, span, ivl = 1000, 10 * time.Minute, 10 * time.Second
	now := time.Date(2026, 3, 10, 12, 0, 30, 0, time.UTC)
	path := filepath.Join(b.TempDir(), "recent.db")
	ctx := context.Background()
	s, err := store.OpenSQLite(ctx, path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	const service = "maps"
	if err := storetest.Generate(ctx, s, storetest.Gen{Flows: flows, Steps: 1, Span: span, Interval: ivl,
		Start: now.Add(-span), Outages: -1, Service: service}); err != nil {
		b.Fatal(err)
	}
	// genConfig's flows, in one service as test/scale's config has them.
	oneService := func() *config.Config {
		cfg := genConfig(flows, 1, ivl)
		svc := config.Service{Name: service, Objective: cfg.Services[0].Objective}
		for _, s := range cfg.Services {
			for _, f := range s.Flows {
				f.Service = service
				svc.Flows = append(svc.Flows, f)
			}
		}
		cfg.Services = []config.Service{svc}
		return cfg
	}
	cfg, dcfg := oneService(), oneService()
	for j := range dcfg.Services[0].Flows {
		dcfg.Services[0].Flows[j].Steps[0].Request.URL = "http://127.0.0.1:9/"
	}
	d, err := daemon.New(dcfg, daemon.Deps{Store: s, Clock: clock.NewManual(now)})
	if err != nil {
		b.Fatal(err)
	}
	live := liveDown(cfg, now)
	p, err := New(cfg, Options{Store: d.ReportStore(), Clock: clock.NewManual(now), Live: func() daemon.Status { return live }})
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	if rep := p.snap.month; rep == nil || len(rep.Services) != 1 || rep.Services[0].Runs < flows*int64(span/ivl)-flows {
		b.Fatal("the first build's figures count too few runs: the store is not the config's")
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Refresh(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

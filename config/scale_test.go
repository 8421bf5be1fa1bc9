package config

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"
)

// scaleConfig writes out a config of n flows in full, the shape of #11's
// scale runs: one GET step per flow with status, latency and JSONPath
// expectations, spread over 10 services (12.8 MB for 50,000 flows: more
// than the issue's ~9 MB of bare GET steps).
func scaleConfig(n int) []byte {
	var b strings.Builder
	b.Grow(n * 200)
	b.WriteString("location: scale\ndefaults: {interval: 60s, timeout: 10s}\nservices:\n")
	per := (n + 9) / 10
	for i := 0; i < n; i++ {
		if i%per == 0 {
			fmt.Fprintf(&b, "  - name: svc-%d\n    flows:\n", i/per)
		}
		fmt.Fprintf(&b, `      - name: flow-%05d
        steps:
          - name: get
            function: search
            request: {url: "http://127.0.0.1:18080/maps/search?q=f%05d"}
            expect: {status: [200], latency: 2s, jsonpath: {"$.results": {exists: true}}}
`, i, i)
	}
	return []byte(b.String())
}

// TestLoadsALargeConfigWrittenInFull covers #11 item 2's config part: a
// 50,000-flow config written out in full loads (it was refused: more than
// 100,000 values, and over 8 MiB), while the alias bombs of
// TestHostileDocumentsCostLittle are still refused.
func TestLoadsALargeConfigWrittenInFull(t *testing.T) {
	data := scaleConfig(50_000)
	cfg, err := Parse("scale.yaml", data, Options{})
	if err != nil {
		t.Fatalf("%d bytes: %.500v", len(data), err)
	}
	flows := 0
	for _, s := range cfg.Services {
		flows += len(s.Flows)
	}
	if flows != 50_000 || len(cfg.Services) != 10 {
		t.Errorf("%d services, %d flows", len(cfg.Services), flows)
	}
	t.Logf("%d flows in %.1f MB of YAML", flows, float64(len(data))/1e6)
}

// BenchmarkParse50kFlows is the load time of the 50,000-flow config (goal:
// under 5 s); make bench runs it. peak-heap-MB is the most heap the parse
// held in objects (live or not yet swept), sampled every millisecond: the
// reload's share of the daemon's peak RSS (#11). "split" is Parse, a flow
// list part at a time (split.go); "whole" parses the whole document's tree,
// as Parse does when it cannot split.
func BenchmarkParse50kFlows(b *testing.B) {
	data := scaleConfig(50_000)
	for _, split := range []bool{true, false} {
		name := map[bool]string{true: "split", false: "whole"}[split]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			runtime.GC()
			base, peak := heapObjects(), sampleHeap()
			for b.Loop() {
				if split {
					if _, err := Parse("scale.yaml", data, Options{}); err != nil {
						b.Fatal(err)
					}
				} else if _, _, err := parse("scale.yaml", data, Options{}, false); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(peak()-base)/1e6, "peak-heap-MB")
		})
	}
}

// heapObjects is the heap held in objects now, live or not yet swept.
func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// sampleHeap samples heapObjects every millisecond until the returned
// function is called; that returns the highest sample (and the final one).
func sampleHeap() func() uint64 {
	stop, done := make(chan struct{}), make(chan uint64)
	go func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		peak := heapObjects()
		for {
			select {
			case <-tick.C:
				peak = max(peak, heapObjects())
			case <-stop:
				done <- max(peak, heapObjects())
				return
			}
		}
	}()
	return func() uint64 {
		close(stop)
		return <-done
	}
}

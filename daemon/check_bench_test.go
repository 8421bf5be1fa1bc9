package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/store"
)

// searchBody is what the demo platform answers GET /maps/search?q=station.
const searchBody = `{"query":"station","results":[{"lat":37.55,"lon":126.97,"name":"station"},{"lat":37.552,"lon":126.969,"name":"station Station"}]}`

// cannedServer is a loopback HTTP/1.1 server that answers every request
// with searchBody and allocates nothing per request, so that a benchmark's
// allocations are the client's alone. It returns the base URL.
func cannedServer(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	resp := []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(searchBody), searchBody))
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					// A request without a body: header lines up to an empty one.
					for {
						l, err := br.ReadSlice('\n')
						if err != nil {
							return
						}
						if len(l) <= 2 {
							break
						}
					}
					if _, err := c.Write(resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	b.Cleanup(func() { ln.Close() })
	return "http://" + ln.Addr().String()
}

// checkConfig is n flows of the one step that `make bench-scale` runs: a GET
// with a status, a latency objective and a JSONPath equals (parsed from YAML,
// so the expectations compile as in a config file).
func checkConfig(b *testing.B, base string, n int, interval time.Duration) *config.Config {
	b.Helper()
	src := fmt.Sprintf(`location: bench
defaults: {interval: %s, timeout: 10s}
services:
  - name: maps
    flows:
      - name: search-00000
        steps:
          - name: search
            function: search
            request: {url: "%s/maps/search?q=station"}
            expect:
              status: [200]
              latency: 1s
              jsonpath: {"$.query": station}
`, interval, base)
	cfg, err := config.Parse("bench.yaml", []byte(src), config.Options{})
	if err != nil {
		b.Fatalf("config: %v", err)
	}
	proto := cfg.Services[0].Flows[0]
	all := make([]config.Flow, n)
	for i := range all {
		all[i] = proto
		all[i].Name = fmt.Sprintf("search-%05d", i)
	}
	cfg.Services[0].Flows = all
	return cfg
}

// BenchmarkCheck is one check of `make bench-scale`'s flow (a GET with
// status, latency and JSONPath expectations against a loopback server)
// through the daemon's whole per-run path, side by side with the raw floor:
//
//   - raw: one keep-alive net/http client, the status and the JSON body's
//     field checked (encoding/json), nothing stored;
//   - daemon: fire (schedule lag, in-flight accounting) -> probe.Runner.Run
//     -> process (store writer, state machine, metrics) with a real
//     store.Writer on a SQLite file, its commits included (flushed at the
//     end), over 1,000 flows in turn.
//
// The scheduler is not in it: `make bench-scale` measures the whole
// process. The server allocates nothing, so allocs/op are the prober's.
//
//	go test -run '^$' -bench Check -benchmem ./daemon
func BenchmarkCheck(b *testing.B) {
	base := cannedServer(b)
	b.Run("raw", func(b *testing.B) {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 64
		client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		defer tr.CloseIdleConnections()
		url := base + "/maps/search?q=station"
		b.ReportAllocs()
		for b.Loop() {
			resp, err := client.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d: %v", resp.StatusCode, err)
			}
			var v struct {
				Query string `json:"query"`
			}
			if err := json.Unmarshal(body, &v); err != nil || v.Query != "station" {
				b.Fatalf("body %s: %v", body, err)
			}
		}
	})
	b.Run("daemon", func(b *testing.B) {
		const flows = 1000
		ctx := context.Background()
		d, w := checkDaemon(b, base, flows)
		fss := d.flowSnapshot()
		// Every flow once first: connections, compiled flows and series
		// exist, as in a daemon that has been running for a while.
		for _, fs := range fss {
			d.fire(fs)
		}
		if err := w.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			d.fire(fss[i%flows])
			i++
		}
		if err := w.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := w.Close(ctx); err != nil {
			b.Fatal(err)
		}
		checkAllPassed(b, d)
	})
}

// checkDaemon is a daemon of n of checkConfig's flows against base, without
// jitter, whose pipeline writes to a SQLite store.Writer (batches of up to
// 500, flushed every second), as BenchmarkCheck and BenchmarkScheduledCheck
// run it. The store is closed when b's run ends; closing the writer is the
// caller's.
func checkDaemon(b *testing.B, base string, n int) (*Daemon, *store.Writer) {
	b.Helper()
	cfg := checkConfig(b, base, n, 10*time.Second)
	st, err := store.OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "bench.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	d, err := New(cfg, Deps{Store: st, Registry: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	d.jitter = func(string, string, time.Duration, time.Time) time.Duration { return 0 }
	w := store.NewWriter(st, store.WriterOptions{BatchSize: 500, FlushEvery: time.Second, Buffer: 50000})
	startPipeline(d, w)
	return d, w
}

// checkAllPassed fails b if any of d's runs failed or a result was dropped:
// a benchmark of checks that fail measures something else.
func checkAllPassed(b *testing.B, d *Daemon) {
	b.Helper()
	var failed uint64
	for _, fs := range d.flowSnapshot() {
		fs.mu.Lock()
		failed += fs.stats.runsFailed
		fs.mu.Unlock()
	}
	if failed > 0 || d.dropped.Load() > 0 {
		b.Fatalf("%d runs failed, %d dropped", failed, d.dropped.Load())
	}
}

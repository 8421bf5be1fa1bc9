package daemon

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/store"
)

// TestScaleWebSocket is the push receive figure of `make bench-scale`:
// 1,000 flows at a 10 s interval, each of whose runs opens a WebSocket and
// holds it for 7 s until the server pushes the awaited message (so about
// 700 streams are open at any time), real clock, results in a temp SQLite
// file, for two and a half intervals. The server is a child process (this
// test binary as TestWebSocketPushServer), so the RSS measured is the
// daemon's alone. It prints the peak RSS (the goal is < 100 MB: a figure to
// read, not asserted; benchmarks measure) and asserts only correctness:
// every flow ran, every run passed, nothing was dropped.
//
//	SLAPROBE_SCALE=1 go test -run TestScaleWebSocket -v ./daemon/
//
// SLAPROBE_SCALE_FLOWS and SLAPROBE_SCALE_SECONDS change the size and
// length.
func TestScaleWebSocket(t *testing.T) {
	if os.Getenv("SLAPROBE_SCALE") != "1" {
		t.Skip("scale run: set SLAPROBE_SCALE=1 (make bench-scale)")
	}
	flows := envInt(t, "SLAPROBE_SCALE_FLOWS", 1000)
	secs := envInt(t, "SLAPROBE_SCALE_SECONDS", 25)
	const interval, hold = 10 * time.Second, 7 * time.Second

	addr, stop := startPushServer(t, hold)
	defer stop()
	src := fmt.Sprintf(`location: scale
defaults: {interval: %s, timeout: 9s}
services:
  - name: messaging
    flows:
      - name: ws-00000
        steps:
          - name: subscribe
            function: receive
            websocket: {url: "ws://%s/ws"}
          - name: receive
            function: receive
            await: subscribe
            expect: {jsonpath: {"$.type": message}}
`, interval, addr)
	cfg, err := config.Parse("scale-ws.yaml", []byte(src), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	proto := cfg.Services[0].Flows[0]
	all := make([]config.Flow, flows)
	for i := range all {
		all[i] = proto
		all[i].Name = fmt.Sprintf("ws-%05d", i)
	}
	cfg.Services[0].Flows = all

	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "scale.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := prometheus.NewRegistry()
	d, err := New(cfg, Deps{Store: st, Registry: reg, Version: "scale"})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second)
	defer cancel()
	maxG := 0
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for clock.Real.Sleep(clock.Real{}, runCtx, 5*time.Second) == nil {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			g := runtime.NumGoroutine()
			maxG = max(maxG, g)
			t.Logf("rss %d MB (peak %d MB), Go heap in use %d MB, goroutines %d",
				procStatus(t, "VmRSS:")>>20, procStatus(t, "VmHWM:")>>20, ms.HeapInuse>>20, g)
		}
	}()
	if err := d.Run(runCtx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	<-sampled
	hwm := procStatus(t, "VmHWM:")
	var completed, failed uint64
	var idle []string // flows with no completed run
	for _, fs := range d.flowSnapshot() {
		fs.mu.Lock()
		n := fs.stats.runsOK + fs.stats.runsFailed
		completed += n
		failed += fs.stats.runsFailed
		if n == 0 {
			idle = append(idle, fs.name)
		}
		fs.mu.Unlock()
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var dropped float64
	for _, mf := range mfs {
		if mf.GetName() == "slaprobe_store_dropped_results_total" {
			for _, m := range mf.GetMetric() {
				dropped += m.GetCounter().GetValue()
			}
		}
	}
	// The figures, printed for `make bench-scale` to read; not asserted.
	fmt.Printf("scale-ws: %d flows at %s, each holding a WebSocket %s per run, %d s (%d cores, shared machine)\n", flows, interval, hold, secs, runtime.NumCPU())
	fmt.Printf("scale-ws: runs completed %d (failed %d), dropped results %.0f, goroutines at most %d\n", completed, failed, dropped, maxG)
	fmt.Printf("scale-ws: peak RSS (VmHWM) %.0f MB (goal < 100 MB)\n", float64(hwm)/(1<<20))

	if len(idle) > 0 {
		t.Errorf("%d of %d flows completed no run (first: %s)", len(idle), flows, idle[0])
	}
	if failed > 0 {
		t.Errorf("%d runs failed", failed)
	}
	if dropped != 0 {
		t.Errorf("%.0f results dropped", dropped)
	}
}

// startPushServer starts TestWebSocketPushServer in a child process and
// returns its address.
func startPushServer(t *testing.T, hold time.Duration) (string, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWebSocketPushServer$", "-test.v")
	cmd.Env = append(os.Environ(), "SLAPROBE_PUSH_SERVER="+hold.String())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
			go func() {
				for sc.Scan() {
				}
			}()
			return a, func() { in.Close(); cmd.Wait() } //nolint:errcheck // the child ends with its stdin
		}
	}
	t.Fatalf("push server did not start: %v", sc.Err())
	return "", nil
}

// TestWebSocketPushServer is the child process of TestScaleWebSocket: a
// WebSocket server that pushes one message SLAPROBE_PUSH_SERVER after each
// client connects, until its standard input closes.
func TestWebSocketPushServer(t *testing.T) {
	v := os.Getenv("SLAPROBE_PUSH_SERVER")
	if v == "" {
		t.Skip("the child process of TestScaleWebSocket")
	}
	hold, err := time.ParseDuration(v)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		select {
		case <-time.After(hold):
		case <-ctx.Done():
			return
		}
		if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"message","id":"m-1"}`)); err != nil {
			return
		}
		c.Read(ctx) //nolint:errcheck // until the client closes
	})}
	go srv.Serve(ln) //nolint:errcheck // until Close
	fmt.Printf("listening %s\n", ln.Addr())
	os.Stdin.Read(make([]byte, 1)) //nolint:errcheck // EOF when the parent is done
	srv.Close()
}

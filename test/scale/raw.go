//go:build linux

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The raw floor: what a check costs with nothing but Go's HTTP client. One
// keep-alive client (the probe's transport tuning: up to 64 idle connections
// to the host), each flow's check due at an even offset in the interval, one
// goroutine per check; the check is the step slaprobe runs: a GET, the status
// (200), the JSON body (encoding/json into a struct) and its field
// (query == "station"), and the latency objective. Nothing is stored and no
// metrics are kept beyond three counters and the lag histogram, which it
// prints on SIGUSR1: "stats OK FAILED LAGCOUNT CUM1 ... CUMn".

// searchPath is the one endpoint every check asks.
const searchPath = "/maps/search?q=station"

func rawMain(args []string) int {
	fs := flag.NewFlagSet("scale -role raw", flag.ContinueOnError)
	base := fs.String("url", "", "target base URL")
	flows := fs.Int("flows", 1000, "checks per interval")
	interval := fs.Duration("interval", 10*time.Second, "interval")
	latency := fs.Duration("latency", time.Second, "latency objective")
	timeout := fs.Duration("timeout", 10*time.Second, "a check's timeout")
	cpuprofile := fs.String("cpuprofile", "", "CPU profile between the first and the second SIGUSR1")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 64
	client := &http.Client{Transport: tr, Timeout: *timeout}
	url := *base + searchPath

	var ok, failed, degraded atomic.Int64
	var lagMu sync.Mutex
	lag := make([]uint64, len(lagBounds)+1)
	var lagN uint64
	check := func(due time.Time) {
		start := time.Now()
		d := start.Sub(due).Seconds()
		lagMu.Lock()
		i := 0
		for i < len(lagBounds) && d > lagBounds[i] {
			i++
		}
		lag[i]++
		lagN++
		lagMu.Unlock()
		if err := checkOnce(client, url); err != nil {
			failed.Add(1)
			return
		}
		ok.Add(1)
		if time.Since(start) > *latency {
			degraded.Add(1)
		}
	}

	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		signals := 0
		var prof *os.File
		for range usr1 {
			signals++
			if *cpuprofile != "" {
				switch signals {
				case 1:
					f, err := os.Create(*cpuprofile)
					if err == nil && pprof.StartCPUProfile(f) == nil {
						prof = f
					}
				case 2:
					if prof != nil {
						pprof.StopCPUProfile()
						prof.Close()
					}
				}
			}
			lagMu.Lock()
			var b strings.Builder
			fmt.Fprintf(&b, "stats %d %d %d", ok.Load(), failed.Load(), lagN)
			var cum uint64
			for _, n := range lag {
				cum += n
				b.WriteString(" " + strconv.FormatUint(cum, 10))
			}
			lagMu.Unlock()
			fmt.Println(b.String())
		}
	}()
	fmt.Println("raw floor running")

	// Due times: flow k%flows at start + k*interval/flows.
	start := time.Now()
	t := time.NewTimer(0)
	defer t.Stop()
	for k := int64(0); ; {
		now := time.Now()
		for {
			due := start.Add(time.Duration(k) * *interval / time.Duration(*flows))
			if due.After(now) {
				t.Reset(due.Sub(now))
				break
			}
			go check(due)
			k++
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return 0
		}
	}
}

// checkOnce is one check: GET, status, JSON field.
func checkOnce(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	var v struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	if v.Query != "station" {
		return fmt.Errorf("query %q", v.Query)
	}
	return nil
}

// checkTimeout is a check's timeout, the same for both: 10 s, or the
// interval when that is shorter.
func checkTimeout(interval time.Duration) time.Duration { return min(10*time.Second, interval) }

// rawStats is one "stats" line.
type rawStats struct {
	ok, failed float64
	lag        histogram
}

func parseRawStats(l string) (rawStats, error) {
	f := strings.Fields(l)
	if len(f) != 4+len(lagBounds)+1 || f[0] != "stats" {
		return rawStats{}, fmt.Errorf("raw floor: bad stats line %q", l)
	}
	nums := make([]float64, len(f)-1)
	for i := range nums {
		v, err := strconv.ParseFloat(f[i+1], 64)
		if err != nil {
			return rawStats{}, fmt.Errorf("raw floor: bad stats line %q", l)
		}
		nums[i] = v
	}
	s := rawStats{ok: nums[0], failed: nums[1]}
	s.lag.count = nums[2]
	s.lag.bounds = append(append([]float64{}, lagBounds...), math.Inf(1))
	s.lag.cum = nums[3:]
	return s, nil
}

// runRaw measures the raw floor at n flows.
func runRaw(ctx context.Context, o options, n int, target string) (row, error) {
	self, err := os.Executable()
	if err != nil {
		return row{}, err
	}
	dir, err := os.MkdirTemp("", "slaprobe-scale-raw-")
	if err != nil {
		return row{}, err
	}
	defer os.RemoveAll(dir)
	argv := []string{self, "-role", "raw", "-url", target,
		"-flows", strconv.Itoa(n), "-interval", o.interval.String(), "-latency", o.latency.String(),
		"-timeout", checkTimeout(o.interval).String()}
	if o.profile != "" {
		argv = append(argv, "-cpuprofile", filepath.Join(o.profile, fmt.Sprintf("raw-cpu-%d.pprof", n)))
	}
	c, err := startChild("raw floor", dir+"/raw.log", nil, argv...)
	if err != nil {
		return row{}, err
	}
	defer c.stop(syscall.SIGKILL, 5*time.Second) //nolint:errcheck // after the clean stop below
	if _, _, err := c.waitLine(ctx, 0, 30*time.Second, "raw floor running"); err != nil {
		return row{}, err
	}
	if err := sleep(ctx, o.warmup); err != nil {
		return row{}, err
	}
	stats := func() (rawStats, float64, time.Time, error) {
		from := c.nlines()
		c.signal(syscall.SIGUSR1)
		l, _, err := c.waitLine(ctx, from, 10*time.Second, "stats ")
		if err != nil {
			return rawStats{}, 0, time.Time{}, err
		}
		cpu, err := cpuSeconds(c.cmd.Process.Pid)
		if err != nil {
			return rawStats{}, 0, time.Time{}, err
		}
		s, err := parseRawStats(l.text)
		return s, cpu, time.Now(), err
	}
	s0, cpu0, t0, err := stats()
	if err != nil {
		return row{}, err
	}
	if err := sleep(ctx, o.window); err != nil {
		return row{}, err
	}
	s1, cpu1, t1, err := stats()
	if err != nil {
		return row{}, err
	}
	if err := c.stop(syscall.SIGTERM, 10*time.Second); err != nil {
		return row{}, fmt.Errorf("stopping: %w\n%s", err, c.tail(10))
	}
	r := row{mode: "raw", flows: n, interval: o.interval, window: t1.Sub(t0),
		checks: s1.ok + s1.failed - s0.ok - s0.failed, cpu: cpu1 - cpu0, rss: c.maxRSS(),
		lagP99: s1.lag.sub(s0.lag).quantile(0.99), dropped: -1, runs: -1}
	if f := s1.failed - s0.failed; f > 0 {
		r.notes = append(r.notes, fmt.Sprintf("%.0f checks failed in the window", f))
	}
	r.notes = append(r.notes, c.memNote())
	return r, nil
}

//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/slaprobe/slaprobe/store"
)

// writeConfig writes a config of n flows, each written out in full (no
// anchors): one GET step with a status, a latency objective and a JSONPath
// equals, against the target, every interval. edited gives the first flow
// another latency objective (the edit a reload applies).
func writeConfig(path string, n int, interval, latency time.Duration, listen, target, db string, edited bool) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "location: bench\nlisten: %s\nstorage: {driver: sqlite, dsn: %q}\n", listen, db)
	fmt.Fprintf(w, "defaults: {interval: %s, timeout: %s}\nservices:\n  - name: maps\n    flows:\n", interval, checkTimeout(interval))
	for i := range n {
		lat := latency
		if edited && i == 0 {
			lat += latency / 2
		}
		fmt.Fprintf(w, `      - name: search-%05d
        steps:
          - name: search
            function: search
            request: {url: "%s%s"}
            expect:
              status: [200]
              latency: %s
              jsonpath: {"$.query": station}
`, i, target, searchPath, lat)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// stopLine is the daemon's last log line, with its counts.
var stopLine = regexp.MustCompile(`runs=(\d+) committed=(\d+)`)

// runSlaprobe measures `slaprobe run` at n flows.
func runSlaprobe(ctx context.Context, o options, n int, target, dir string, idx int) (row, error) {
	r := row{mode: "slaprobe", flows: n, interval: o.interval, dropped: -1, runs: -1}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return row{}, err
	}
	port, err := freePort()
	if err != nil {
		return row{}, err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	cfg, db := filepath.Join(dir, "scale.yaml"), filepath.Join(dir, "results.db")
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	if err := writeConfig(cfg, n, o.interval, o.latency, listen, target, db, false); err != nil {
		return row{}, err
	}
	argv := []string{o.bin, "run", "--config", cfg}
	if o.profile != "" {
		argv = append(argv, "--pprof")
	}
	began := time.Now()
	c, err := startChild("slaprobe run", filepath.Join(dir, "slaprobe.log"), nil, argv...)
	if err != nil {
		return row{}, err
	}
	defer c.stop(syscall.SIGKILL, 5*time.Second) //nolint:errcheck // after the clean stop below
	fail := func(err error) (row, error) {
		return row{}, fmt.Errorf("%w\n  last lines of %s:\n%s", err, filepath.Join(dir, "slaprobe.log"), c.tail(15))
	}
	if err := waitHealthy(ctx, c, base, 10*time.Minute); err != nil {
		return fail(err)
	}
	r.start = time.Since(began)
	if err := sleep(ctx, o.warmup); err != nil {
		return fail(err)
	}

	m0, _, err := scrape(ctx, base)
	if err != nil {
		return fail(err)
	}
	cpu0, err := cpuSeconds(c.cmd.Process.Pid)
	if err != nil {
		return fail(err)
	}
	t0 := time.Now()
	var prof sync.WaitGroup
	var profErr error
	if o.profile != "" {
		secs := int(min(o.window, 50*time.Second) / time.Second) // under the server's 60 s write timeout
		for _, kind := range []string{"profile", "allocs"} {
			out := filepath.Join(o.profile, fmt.Sprintf("%s-%d-%d.pprof", strings.Replace(kind, "profile", "cpu", 1), n, idx))
			prof.Go(func() {
				if err := fetch(ctx, fmt.Sprintf("%s/debug/pprof/%s?seconds=%d", base, kind, secs), out); err != nil {
					profErr = err
				}
			})
		}
	}
	if err := sleep(ctx, o.window); err != nil {
		return fail(err)
	}
	cpu1, err := cpuSeconds(c.cmd.Process.Pid)
	if err != nil {
		return fail(err)
	}
	t1 := time.Now()
	m1, took, err := scrape(ctx, base)
	if err != nil {
		return fail(err)
	}
	prof.Wait()
	if profErr != nil {
		r.notes = append(r.notes, "profile: "+profErr.Error())
	}
	r.window, r.cpu = t1.Sub(t0), cpu1-cpu0
	r.checks = m1.runs - m0.runs
	r.lagP99 = m1.lag.sub(m0.lag).quantile(0.99)
	r.scrape, r.scrapeBytes = took, m1.bytes
	if f := m1.failed - m0.failed; f > 0 {
		r.notes = append(r.notes, fmt.Sprintf("%.0f runs failed in the window", f))
	}
	if m1.skipped > 0 {
		r.notes = append(r.notes, fmt.Sprintf("%.0f runs skipped (the previous still in flight)", m1.skipped))
	}
	if m1.quarantined > 0 {
		r.notes = append(r.notes, fmt.Sprintf("%.0f results quarantined", m1.quarantined))
	}

	// Reload after an edit: one flow's latency objective changed.
	if err := writeConfig(cfg, n, o.interval, o.latency, listen, target, db, true); err != nil {
		return fail(err)
	}
	from := c.nlines()
	hup := time.Now()
	c.signal(syscall.SIGHUP)
	l, _, err := c.waitLine(ctx, from, 2*time.Minute, "config reloaded", "reload rejected", "reload failed")
	if err != nil {
		return fail(err)
	}
	if !strings.Contains(l.text, "config reloaded") {
		return fail(fmt.Errorf("reload: %s", l.text))
	}
	r.reload = l.at.Sub(hup)
	if o.hupFor > 0 {
		note, err := hupStress(ctx, c, o, func(edited bool) error {
			return writeConfig(cfg, n, o.interval, o.latency, listen, target, db, edited)
		})
		if err != nil {
			return fail(err)
		}
		r.notes = append(r.notes, note)
	}
	var peak int64 // before VmHWM resets
	if o.broken {
		notes, p, err := brokenReloads(ctx, c, base, cfg, n, func(edited bool) error {
			return writeConfig(cfg, n, o.interval, o.latency, listen, target, db, edited)
		})
		if err != nil {
			return fail(err)
		}
		r.notes = append(r.notes, notes...)
		peak = p
	}

	from = c.nlines()
	if err := c.stop(syscall.SIGTERM, 3*time.Minute); err != nil {
		return fail(err)
	}
	r.rss = max(c.maxRSS(), peak)
	r.notes = append(r.notes, c.memNote())
	m2, _, err := c.waitLine(ctx, from, time.Second, "daemon stopped")
	if err != nil {
		return fail(err)
	}
	if mm := stopLine.FindStringSubmatch(m2.text); mm != nil {
		r.runs, _ = strconv.ParseInt(mm[1], 10, 64)
	}
	if w, _, err := c.waitLine(ctx, 0, time.Millisecond, "level=WARN", "level=ERROR"); err == nil {
		r.notes = append(r.notes, "the log has warnings or errors, first: "+strings.TrimSpace(w.text))
	}
	// The stored runs: counted, and the window's durations.
	st, err := store.OpenSQLite(ctx, db, store.Options{})
	if err != nil {
		return fail(err)
	}
	defer st.Close()
	stored, err := countStored(ctx, st, began)
	if err != nil {
		return fail(err)
	}
	r.stored = stored
	r.dropped = m1.dropped
	if d, err := windowDurations(ctx, st, t0, t1); err != nil {
		r.notes = append(r.notes, "run durations: "+err.Error())
	} else {
		r.notes = append(r.notes, d)
	}
	if r.stored != r.runs {
		r.notes = append(r.notes, fmt.Sprintf("%d runs finished but %d stored", r.runs, r.stored))
	}
	if o.profile != "" {
		r.notes = append(r.notes, topEntries(o.bin, o.profile, n, idx)...)
	}
	return r, nil
}

// waitHealthy polls /healthz until it answers 200.
func waitHealthy(ctx context.Context, c *child, base string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			return fmt.Errorf("slaprobe run exited: %v", c.err)
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/healthz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("/healthz not 200 within %s", limit)
}

// fetch saves url's body to path.
func fetch(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s %s", url, resp.Status, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// topEntries returns `go tool pprof -top` of the row's profiles.
func topEntries(bin, dir string, n, idx int) []string {
	var out []string
	for _, p := range []struct{ file, args string }{
		{fmt.Sprintf("cpu-%d-%d.pprof", n, idx), "-top -nodecount=25"},
		{fmt.Sprintf("cpu-%d-%d.pprof", n, idx), "-top -cum -nodecount=40"},
		{fmt.Sprintf("allocs-%d-%d.pprof", n, idx), "-top -sample_index=alloc_space -nodecount=25"},
		{fmt.Sprintf("allocs-%d-%d.pprof", n, idx), "-top -sample_index=alloc_objects -nodecount=25"},
	} {
		args := append([]string{"tool", "pprof"}, strings.Fields(p.args)...)
		args = append(args, bin, filepath.Join(dir, p.file))
		b, err := exec.Command("go", args...).CombinedOutput()
		text := string(b)
		if err != nil {
			text = err.Error() + ": " + text
		}
		out = append(out, fmt.Sprintf("%s %s:\n%s", p.file, p.args, text))
	}
	return out
}

// countStored counts the runs in the store.
func countStored(ctx context.Context, st store.Store, since time.Time) (int64, error) {
	spans, err := st.Coverage(ctx, store.Query{From: since.Add(-time.Hour), To: time.Now().Add(time.Hour)})
	if err != nil {
		return 0, err
	}
	// Confirm runs too: the daemon's count of runs finished has them (a
	// row under load, whose degraded or failed runs were confirm-run, read
	// "158231 runs finished but 158168 stored" with every run stored).
	var n int64
	for _, s := range spans {
		n += s.Runs + s.Confirm
	}
	return n, nil
}

// windowDurations describes the durations of the stored runs that started in
// [from, to): what the probe measured of the target, its own scheduling
// delays included, so that a change that saves CPU by delaying the probe's
// goroutines shows here.
func windowDurations(ctx context.Context, st store.Store, from, to time.Time) (string, error) {
	runs, err := st.Runs(ctx, store.Query{From: from, To: to}) // started in [from, to)
	if err != nil {
		return "", err
	}
	d := make([]time.Duration, len(runs))
	for i, r := range runs {
		d[i] = r.Duration
	}
	return durationNote(d), nil
}

// durationNote gives p50, p99, p99.9 and the largest of d (sorted in place).
func durationNote(d []time.Duration) string {
	if len(d) == 0 {
		return "run durations: no stored run started in the window"
	}
	slices.Sort(d)
	q := func(p float64) time.Duration { return d[min(len(d)-1, int(p*float64(len(d))))] }
	ms := func(x time.Duration) string { return strconv.FormatFloat(float64(x)/1e6, 'f', 2, 64) }
	return fmt.Sprintf("run durations in the window (%d stored runs, as the probe measured them, its own scheduling delays included): p50 %s ms, p99 %s ms, p99.9 %s ms, max %s ms",
		len(d), ms(q(0.5)), ms(q(0.99)), ms(q(0.999)), ms(d[len(d)-1]))
}

// hupStress sends a SIGHUP every o.hupEvery for o.hupFor, each once the
// last reload was logged, the config written edited and back in turns; it
// returns a note of the reloads (how many, the longest, from the signal
// to the log line).
func hupStress(ctx context.Context, c *child, o options, write func(edited bool) error) (string, error) {
	var n int
	var longest time.Duration
	edited := true
	for end := time.Now().Add(o.hupFor); time.Now().Before(end); {
		edited = !edited
		if err := write(edited); err != nil {
			return "", err
		}
		from := c.nlines()
		hup := time.Now()
		c.signal(syscall.SIGHUP)
		l, _, err := c.waitLine(ctx, from, 2*time.Minute, "config reloaded", "reload rejected", "reload failed")
		if err != nil {
			return "", err
		}
		if !strings.Contains(l.text, "config reloaded") {
			return "", fmt.Errorf("reload: %s", l.text)
		}
		n++
		longest = max(longest, l.at.Sub(hup))
		if err := sleep(ctx, time.Until(hup.Add(o.hupEvery))); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("then %d SIGHUPs every %s for %s: the longest reload %.2f s", n, o.hupEvery, o.hupFor, longest.Seconds()), nil
}

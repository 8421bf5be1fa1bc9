//go:build linux

package main

import (
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// The harness reads the daemon's /metrics in a stream: the families it
// needs, whatever the order, the labels or the lines it skips.
func TestParseMetrics(t *testing.T) {
	text := `# HELP probe_success Whether the step passed.
# TYPE probe_success gauge
probe_success{flow="a",location="x",service="s",step="get"} 1
slaprobe_runs_total{flow="a",location="x",result="failed",service="s"} 2
slaprobe_runs_total{flow="a",location="x",result="ok",service="s"} 40
slaprobe_runs_total{flow="b",location="x",result="ok",service="s"} 42
slaprobe_runs_skipped_total{flow="b"} 3
slaprobe_schedule_lag_seconds_bucket{le="0.001"} 10
slaprobe_schedule_lag_seconds_bucket{le="0.01"} 80
slaprobe_schedule_lag_seconds_bucket{le="0.1"} 84
slaprobe_schedule_lag_seconds_bucket{le="+Inf"} 84
slaprobe_schedule_lag_seconds_sum 0.5
slaprobe_schedule_lag_seconds_count 84
slaprobe_store_dropped_results_total 0
slaprobe_store_quarantined_total 1
`
	s, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if s.runs != 84 || s.failed != 2 || s.skipped != 3 || s.dropped != 0 || s.quarantined != 1 || s.lag.count != 84 {
		t.Errorf("parsed %+v", s)
	}
	if s.bytes != int64(len(text)) {
		t.Errorf("bytes %d, want %d", s.bytes, len(text))
	}
	if len(s.lag.bounds) != 4 || !math.IsInf(s.lag.bounds[3], 1) || s.lag.cum[1] != 80 {
		t.Errorf("lag %+v", s.lag)
	}
}

// Quantiles interpolate in their bucket as Prometheus does, over the
// difference of two scrapes.
func TestHistogramQuantile(t *testing.T) {
	bounds := []float64{.001, .01, .1, math.Inf(1)}
	before := histogram{bounds: bounds, cum: []float64{10, 10, 10, 10}, count: 10}
	after := histogram{bounds: bounds, cum: []float64{10, 100, 110, 110}, count: 110}
	d := after.sub(before)
	if d.count != 100 {
		t.Fatalf("count %v", d.count)
	}
	// 90 in (0.001, 0.01], 10 in (0.01, 0.1]: p50 is within the first.
	if got, want := d.quantile(0.5), .001+(.01-.001)*50/90; math.Abs(got-want) > 1e-12 {
		t.Errorf("p50 %v, want %v", got, want)
	}
	if got, want := d.quantile(0.99), .01+(.1-.01)*9/10; math.Abs(got-want) > 1e-12 {
		t.Errorf("p99 %v, want %v", got, want)
	}
	if !math.IsNaN((histogram{}).quantile(0.99)) {
		t.Error("an empty histogram has no quantile")
	}
}

// CPU time comes from /proc/PID/stat's utime and stime, counted after the
// command name (which may hold spaces and parentheses).
func TestParseStatCPU(t *testing.T) {
	line := "4242 (slap (ro) be) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 9 0 12345 100000 2000 18446744073709551615"
	got, err := parseStatCPU(line)
	if err != nil || got != 3.25 {
		t.Errorf("parseStatCPU = %v, %v; want 3.25", got, err)
	}
	if _, err := parseStatCPU("4242 (x) S 1"); err == nil {
		t.Error("a short line was accepted")
	}
}

func TestParseRawStats(t *testing.T) {
	l := "stats 90 10 100 1 2 3 4 5 6 7 8 9 10 11 12 100 100"
	s, err := parseRawStats(l)
	if err != nil {
		t.Fatal(err)
	}
	if s.ok != 90 || s.failed != 10 || s.lag.count != 100 || len(s.lag.cum) != len(lagBounds)+1 || len(s.lag.bounds) != len(s.lag.cum) {
		t.Errorf("parsed %+v", s)
	}
	if _, err := parseRawStats("stats 1 2"); err == nil {
		t.Error("a short stats line was accepted")
	}
}

func TestStatusKB(t *testing.T) {
	status := "Name:\tslaprobe\nVmHWM:\t   53424 kB\nRssAnon:\t   26188 kB\nRssFile:\t   24928 kB\nThreads:\t10\nBad:\t12 MB\n"
	for _, c := range []struct {
		key  string
		want int64
	}{
		{"RssAnon:", 26188},
		{"RssFile:", 24928},
		{"VmHWM:", 53424},
		{"Threads:", 0}, // no unit
		{"Bad:", 0},     // not kB
		{"RssShmem:", 0},
	} {
		if got := statusKB(status, c.key); got != c.want {
			t.Errorf("statusKB(%q) = %d, want %d", c.key, got, c.want)
		}
	}
}

func TestDurationNote(t *testing.T) {
	ms := func(v ...float64) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x * 1e6)
		}
		return out
	}
	many := make([]float64, 1000)
	for i := range many {
		many[i] = float64(1000-i) / 100 // 10.00 ms down to 0.01 ms, unsorted
	}
	for _, tc := range []struct {
		name string
		d    []time.Duration
		want string
	}{
		{"none", nil, "run durations: no stored run started in the window"},
		{"one", ms(1.5), "(1 stored runs, as the probe measured them, its own scheduling delays included): p50 1.50 ms, p99 1.50 ms, p99.9 1.50 ms, max 1.50 ms"},
		{"a thousand, sorted first", ms(many...), "(1000 stored runs, as the probe measured them, its own scheduling delays included): p50 5.01 ms, p99 9.91 ms, p99.9 10.00 ms, max 10.00 ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := durationNote(tc.d); !strings.HasSuffix(got, tc.want) {
				t.Errorf("durationNote = %q, want it to end in %q", got, tc.want)
			}
		})
	}
}

// Each broken edit changes one line of the middle flow of the config
// writeConfig writes, and only that line.
func TestBreakConfig(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/scale.yaml"
	for i, e := range brokenEdits {
		if err := writeConfig(path, 10, time.Minute, time.Second, "127.0.0.1:1", "http://127.0.0.1:2", dir+"/r.db", false); err != nil {
			t.Fatal(err)
		}
		good, _ := os.ReadFile(path)
		if err := breakConfig(path, 10, i); err != nil {
			t.Fatalf("%s: %v", e.name, err)
		}
		bad, _ := os.ReadFile(path)
		gl, bl := strings.Split(string(good), "\n"), strings.Split(string(bad), "\n")
		if len(gl) != len(bl) {
			t.Fatalf("%s: %d lines, were %d", e.name, len(bl), len(gl))
		}
		changed := 0
		for j := range gl {
			if gl[j] != bl[j] {
				changed++
				if !strings.Contains(strings.Join(gl[max(0, j-8):j+1], "\n"), "search-00005") {
					t.Errorf("%s: line %d changed, not in flow 5: %q", e.name, j+1, bl[j])
				}
			}
		}
		if changed != 1 {
			t.Errorf("%s: %d lines changed", e.name, changed)
		}
	}
}

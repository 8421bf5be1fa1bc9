//go:build linux

package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// lagBounds are slaprobe_schedule_lag_seconds' buckets; the raw floor
// records its lag in the same ones.
var lagBounds = []float64{.001, .0025, .005, .01, .025, .05, .075, .1, .25, .5, 1, 2.5, 5}

// sample is what the harness reads of one /metrics scrape.
type sample struct {
	runs, failed float64   // slaprobe_runs_total
	dropped      float64   // slaprobe_store_dropped_results_total
	skipped      float64   // slaprobe_runs_skipped_total
	quarantined  float64   // slaprobe_store_quarantined_total
	lag          histogram // slaprobe_schedule_lag_seconds
	bytes        int64     // uncompressed size of the scrape
}

// histogram is a Prometheus histogram's cumulative buckets (by upper bound,
// +Inf last) and its count.
type histogram struct {
	bounds []float64
	cum    []float64
	count  float64
}

// sub returns h minus an earlier scrape of the same histogram.
func (h histogram) sub(o histogram) histogram {
	out := histogram{bounds: h.bounds, cum: make([]float64, len(h.cum)), count: h.count - o.count}
	for i := range h.cum {
		out.cum[i] = h.cum[i]
		if i < len(o.cum) {
			out.cum[i] -= o.cum[i]
		}
	}
	return out
}

// quantile interpolates inside the bucket the quantile falls in, as
// Prometheus' histogram_quantile does.
func (h histogram) quantile(q float64) float64 {
	if h.count <= 0 {
		return math.NaN()
	}
	rank := q * h.count
	lo, prev := 0.0, 0.0
	for i, ub := range h.bounds {
		c := h.cum[i]
		if c >= rank {
			if math.IsInf(ub, 1) {
				return lo // above the last finite bound: report that bound
			}
			if c == prev {
				return ub
			}
			return lo + (ub-lo)*(rank-prev)/(c-prev)
		}
		lo, prev = ub, c
	}
	return math.Inf(1)
}

// scrape reads /metrics the way Prometheus does (gzip), returning what the
// harness needs and how long the whole transfer took.
func scrape(ctx context.Context, base string) (sample, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/metrics", nil)
	if err != nil {
		return sample{}, 0, err
	}
	req.Header.Set("Accept-Encoding", "gzip")
	t0 := time.Now()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return sample{}, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return sample{}, 0, fmt.Errorf("/metrics: %s", resp.Status)
	}
	var body io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return sample{}, 0, err
		}
		body = zr
	}
	s, err := parseMetrics(body)
	return s, time.Since(t0), err
}

// parseMetrics streams the text format and keeps the few families the
// harness reads (the per-flow probe_* families of 50,000 flows are hundreds
// of MB; they are skipped line by line).
func parseMetrics(r io.Reader) (sample, error) {
	var s sample
	lag := map[float64]float64{}
	br := bufio.NewReaderSize(r, 256<<10)
	for {
		l, err := br.ReadSlice('\n')
		s.bytes += int64(len(l))
		if len(l) > 0 && l[0] == 's' { // every family read starts with slaprobe_
			parseLine(strings.TrimSpace(string(l)), &s, lag)
		}
		if err == bufio.ErrBufferFull {
			for err == bufio.ErrBufferFull { // a huge line: not one of ours
				l, err = br.ReadSlice('\n')
				s.bytes += int64(len(l))
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return s, err
		}
	}
	for ub := range lag {
		s.lag.bounds = append(s.lag.bounds, ub)
	}
	sort.Float64s(s.lag.bounds)
	for _, ub := range s.lag.bounds {
		s.lag.cum = append(s.lag.cum, lag[ub])
	}
	return s, nil
}

func parseLine(l string, s *sample, lag map[float64]float64) {
	name, labels, v, ok := splitSample(l)
	if !ok {
		return
	}
	switch name {
	case "slaprobe_runs_total":
		s.runs += v
		if strings.Contains(labels, `result="failed"`) {
			s.failed += v
		}
	case "slaprobe_store_dropped_results_total":
		s.dropped += v
	case "slaprobe_runs_skipped_total":
		s.skipped += v
	case "slaprobe_store_quarantined_total":
		s.quarantined += v
	case "slaprobe_schedule_lag_seconds_count":
		s.lag.count = v
	case "slaprobe_schedule_lag_seconds_bucket":
		i := strings.Index(labels, `le="`)
		if i < 0 {
			return
		}
		le := labels[i+4:]
		le = le[:strings.IndexByte(le, '"')]
		ub, err := strconv.ParseFloat(le, 64)
		if le == "+Inf" {
			ub, err = math.Inf(1), nil
		}
		if err == nil {
			lag[ub] = v
		}
	}
}

// splitSample splits `name{labels} value` (labels may be absent).
func splitSample(l string) (name, labels string, v float64, ok bool) {
	if l == "" || l[0] == '#' {
		return "", "", 0, false
	}
	sp := strings.LastIndexByte(l, ' ')
	if sp < 0 {
		return "", "", 0, false
	}
	v, err := strconv.ParseFloat(l[sp+1:], 64)
	if err != nil {
		return "", "", 0, false
	}
	head := l[:sp]
	if i := strings.IndexByte(head, '{'); i >= 0 {
		return head[:i], head[i:], v, true
	}
	return head, "", v, true
}

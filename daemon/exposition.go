package daemon

import (
	"bufio"
	"compress/gzip"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/common/expfmt"
)

// serveMetrics writes the Prometheus text format: first everything on the
// daemon's registry (through client_golang), then the dense per-flow
// families, streamed flow by flow straight from each flow's numbers. At
// 10,000 flows these are some 200,000 series; gathering them into
// client_golang's data model first costs hundreds of MB for every scrape,
// streaming costs a buffer.
func (d *Daemon) serveMetrics(w http.ResponseWriter, r *http.Request) {
	mfs, err := d.reg.Gather()
	if err != nil && len(mfs) == 0 {
		http.Error(w, "gathering metrics: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if err != nil {
		d.log.Warn("gathering metrics", "err", err)
	}
	w.Header().Set("Content-Type", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	var out io.Writer = w
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		// BestSpeed: the default level spent three quarters of a
		// 10,000-flow scrape compressing (BenchmarkScrape/gzip); the
		// text's repeated labels compress well at any level.
		zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed) // a valid level: no error
		defer zw.Close()
		out = zw
	}
	bw := bufio.NewWriterSize(out, 64<<10)
	defer bw.Flush()
	enc := expfmt.NewEncoder(bw, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			d.log.Debug("writing metrics", "err", err)
			return
		}
	}
	fss := d.flowSnapshot()
	sort.Slice(fss, func(i, j int) bool { return fss[i].name < fss[j].name })
	writeFlowFamilies(bw, fss)
}

// Help texts of the streamed families; flowCollector's descriptions use the
// same.
const (
	helpSuccess    = "Whether the step passed in the flow's last run (1) or failed or was not run (0)."
	helpCertExpiry = "Earliest expiry (Unix seconds) of the certificates the step's server presented in the flow's last run, as blackbox_exporter's."
	helpDuration   = "Duration of each step, polls included."
	helpPhase      = "HTTP phase timings of the step in the flow's last run (last attempt of a poll)."
	helpRuns       = "Scheduled runs of a flow by result (a degraded run is ok; confirm runs are in slaprobe_confirm_runs_total)."
	helpFlowUp     = "The state machine's verdict on the flow: 1 up or degraded, 0 down; no sample while unknown."
	helpFunctionUp = "The state machine's verdict on a function: 1 up or degraded, 0 down; no sample while unknown."
)

// writeFlowFamilies writes the six per-flow families in text format, labels
// in alphabetical order as client_golang writes them.
func writeFlowFamilies(w *bufio.Writer, fss []*flowState) {
	le := make([]string, len(durationBuckets)) // the bounds once, not once a series
	for b, ub := range durationBuckets {
		le[b] = formatFloat(ub)
	}
	header(w, "probe_duration_seconds", helpDuration, "histogram")
	for _, fs := range fss {
		fs.mu.Lock()
		for i := range fs.stats.steps {
			ss := &fs.stats.steps[i]
			if !ss.ran {
				continue
			}
			var cum uint64
			for b := range durationBuckets {
				cum += ss.buckets[b]
				sampleLine(w, "probe_duration_seconds_bucket", float64(cum),
					"flow", fs.name, "le", le[b], "location", fs.location, "service", fs.service, "step", ss.name)
			}
			sampleLine(w, "probe_duration_seconds_bucket", float64(ss.count),
				"flow", fs.name, "le", "+Inf", "location", fs.location, "service", fs.service, "step", ss.name)
			sampleLine(w, "probe_duration_seconds_sum", ss.sum, "flow", fs.name, "location", fs.location, "service", fs.service, "step", ss.name)
			sampleLine(w, "probe_duration_seconds_count", float64(ss.count), "flow", fs.name, "location", fs.location, "service", fs.service, "step", ss.name)
		}
		fs.mu.Unlock()
	}
	header(w, "probe_http_duration_seconds", helpPhase, "gauge")
	for _, fs := range fss {
		fs.mu.Lock()
		for i := range fs.stats.steps {
			ss := &fs.stats.steps[i]
			if !ss.ran {
				continue
			}
			for j, ph := range phaseNames {
				sampleLine(w, "probe_http_duration_seconds", ss.phases[j],
					"flow", fs.name, "location", fs.location, "phase", ph, "service", fs.service, "step", ss.name)
			}
		}
		fs.mu.Unlock()
	}
	header(w, "probe_success", helpSuccess, "gauge")
	for _, fs := range fss {
		fs.mu.Lock()
		for i := range fs.stats.steps {
			if ss := &fs.stats.steps[i]; ss.seen {
				sampleLine(w, "probe_success", ss.success, "flow", fs.name, "location", fs.location, "service", fs.service, "step", ss.name)
			}
		}
		fs.mu.Unlock()
	}
	header(w, "probe_ssl_earliest_cert_expiry", helpCertExpiry, "gauge")
	for _, fs := range fss {
		fs.mu.Lock()
		for i := range fs.stats.steps {
			if ss := &fs.stats.steps[i]; ss.hasCert {
				sampleLine(w, "probe_ssl_earliest_cert_expiry", ss.certExpiry, "flow", fs.name, "location", fs.location, "service", fs.service, "step", ss.name)
			}
		}
		fs.mu.Unlock()
	}
	header(w, "slaprobe_flow_up", helpFlowUp, "gauge")
	for _, fs := range fss {
		fs.mu.Lock()
		if v, ok := upValue(fs.machine.State()); ok {
			sampleLine(w, "slaprobe_flow_up", v, "flow", fs.name, "location", fs.location, "service", fs.service)
		}
		fs.mu.Unlock()
	}
	header(w, "slaprobe_function_up", helpFunctionUp, "gauge")
	for _, fs := range fss {
		fs.mu.Lock()
		for fn, st := range fs.machine.Functions() {
			if v, ok := upValue(st); ok {
				sampleLine(w, "slaprobe_function_up", v, "flow", fs.name, "function", fn, "location", fs.location, "service", fs.service)
			}
		}
		fs.mu.Unlock()
	}
	header(w, "slaprobe_runs_total", helpRuns, "counter")
	for _, fs := range fss {
		fs.mu.Lock()
		// Both results once the flow has a scheduled run (as flowState.collect).
		if ok, failed := fs.stats.runsOK, fs.stats.runsFailed; ok+failed > 0 {
			sampleLine(w, "slaprobe_runs_total", float64(failed), "flow", fs.name, "location", fs.location, "result", "failed", "service", fs.service)
			sampleLine(w, "slaprobe_runs_total", float64(ok), "flow", fs.name, "location", fs.location, "result", "ok", "service", fs.service)
		}
		fs.mu.Unlock()
	}
}

func header(w *bufio.Writer, name, help, typ string) {
	w.WriteString("# HELP ")
	w.WriteString(name)
	w.WriteByte(' ')
	w.WriteString(strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(help))
	w.WriteString("\n# TYPE ")
	w.WriteString(name)
	w.WriteByte(' ')
	w.WriteString(typ)
	w.WriteByte('\n')
}

// sampleLine writes name{k="v",...} value; kv alternates names and values.
func sampleLine(w *bufio.Writer, name string, v float64, kv ...string) {
	w.WriteString(name)
	w.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString(kv[i])
		w.WriteString(`="`)
		writeEscaped(w, kv[i+1])
		w.WriteByte('"')
	}
	w.WriteString("} ")
	writeFloat(w, v)
	w.WriteByte('\n')
}

// writeFloat writes formatFloat(v) without making a string of it (one
// allocation a series, some 280,000 a scrape at 10,000 flows).
func writeFloat(w *bufio.Writer, v float64) {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		w.WriteString(formatFloat(v))
		return
	}
	w.Write(strconv.AppendFloat(w.AvailableBuffer(), v, 'g', -1, 64))
}

func writeEscaped(w *bufio.Writer, s string) {
	if !needsEscape(s) {
		w.WriteString(s)
		return
	}
	for _, r := range s {
		switch r {
		case '\\':
			w.WriteString(`\\`)
		case '"':
			w.WriteString(`\"`)
		case '\n':
			w.WriteString(`\n`)
		default:
			w.WriteRune(r)
		}
	}
}

// needsEscape reports whether s has a byte the text format escapes in a
// label value. A loop over bytes: strings.ContainsAny was a third of a
// scrape's CPU (BenchmarkScrape).
func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\', '"', '\n':
			return true
		}
	}
	return false
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

package daemon

import (
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

// Phase label values of probe_http_duration_seconds.
var phaseNames = [...]string{"resolve", "connect", "tls", "processing", "transfer"}

// metrics are the daemon's collectors, registered on the registry the daemon
// was given (never the global default).
//
// The dense per-flow series (probe_success, probe_duration_seconds,
// probe_http_duration_seconds, slaprobe_runs_total, slaprobe_flow_up,
// slaprobe_function_up) are not metric vectors: each flow keeps a few
// numbers per step (flowStats) and a collector turns them into samples at
// scrape time. A vector keeps label pairs for every series, which at 10,000
// flows is most of the daemon's memory; and a flow that a reload removes
// simply stops being collected. The sparse series (windows, downtime, skips)
// are vectors.
//
// Conventions (documented in the README's metric table):
//   - probe_http_duration_seconds is a gauge of the last run's phases, as in
//     the blackbox exporter; the distribution is in probe_duration_seconds.
//   - slaprobe_flow_up and slaprobe_function_up are 1 when the state machine
//     says up or degraded and 0 only when it says down; while the state is
//     unknown (no verdict yet, or after a gap) there is no sample, so that
//     unknown is never read as up or down.
//   - slaprobe_window_open is 1 while a down or degraded window is open and
//     0 after it closed; series appear when a key's first window opens.
//   - slaprobe_downtime_seconds_total counts down windows (not degraded)
//     exactly: when a window opens it adds the backdated time up to the
//     confirming run, then up to the start of each further failing run, and
//     the rest when it closes, so it never has to go back.
type metrics struct {
	success    *prometheus.Desc
	certExpiry *prometheus.Desc
	duration   *prometheus.Desc
	httpPhase  *prometheus.Desc
	runs       *prometheus.Desc
	flowUp     *prometheus.Desc
	functionUp *prometheus.Desc

	windowOpen   *prometheus.GaugeVec
	downtime     *prometheus.CounterVec
	availability *prometheus.GaugeVec
	objective    *prometheus.GaugeVec
	lag          prometheus.Histogram
	queueDepth   prometheus.GaugeFunc
	batchWrite   prometheus.Histogram
	dropped      prometheus.Counter
	spooled      prometheus.Counter // runs kept in the spool at shutdown
	spoolStored  prometheus.Counter // runs of the last stop's spool stored at startup
	skipped      *prometheus.CounterVec
	confirmRuns  *prometheus.CounterVec
	buildInfo    *prometheus.GaugeVec
	reloadOK     prometheus.Gauge // 0 after a reload that did not take
	reloadTime   prometheus.Gauge // when the running config was loaded
	clockSteps   *prometheus.CounterVec
	flowVecs     []interface{ DeletePartialMatch(prometheus.Labels) int }
	functionVecs []interface{ DeletePartialMatch(prometheus.Labels) int }
	serviceVecs  []interface{ DeletePartialMatch(prometheus.Labels) int }
}

// durationBuckets are probe_duration_seconds' upper bounds.
var durationBuckets = [...]float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// stepStats is what the metrics keep of one step of one flow. Its bools
// are kept together, last: 192 bytes a step, not 208.
type stepStats struct {
	name    string
	success float64
	phases  [len(phaseNames)]float64
	count   uint64
	sum     float64
	buckets [len(durationBuckets)]uint64 // not cumulative
	// certExpiry is the last run's earliest certificate expiry (Unix
	// seconds), when the step spoke TLS.
	certExpiry float64
	seen       bool // probe_success has a value
	ran        bool // duration and phases have values
	hasCert    bool
}

// flowStats is what the metrics keep of one flow. Guarded by its flowState's mu.
type flowStats struct {
	steps      []stepStats
	runsOK     uint64
	runsFailed uint64
}

func newFlowStats(steps []string) flowStats {
	fs := flowStats{steps: make([]stepStats, len(steps))}
	for i, s := range steps {
		fs.steps[i].name = s
	}
	return fs
}

// rebuild returns stats for a new list of steps, keeping those of the steps
// that remain and the run counters.
func (st flowStats) rebuild(steps []string) flowStats {
	out := newFlowStats(steps)
	out.runsOK, out.runsFailed = st.runsOK, st.runsFailed
	for i := range out.steps {
		for _, old := range st.steps {
			if old.name == out.steps[i].name {
				out.steps[i] = old
			}
		}
	}
	return out
}

// observe records a finished run: its steps and its teardown steps, and
// (a scheduled run only, not a confirm run) its result in the run counters.
func (st *flowStats) observe(run *probe.Run) {
	st.observeSteps(run.Steps)
	st.observeSteps(run.Teardown)
	if run.Confirm {
		return // counted in slaprobe_confirm_runs_total
	}
	if run.OK() {
		st.runsOK++
	} else {
		st.runsFailed++
	}
}

func (st *flowStats) observeSteps(steps []probe.StepResult) {
	for i := range steps {
		s := &steps[i]
		var ss *stepStats
		if i < len(st.steps) && st.steps[i].name == s.Step {
			ss = &st.steps[i]
		} else {
			for j := range st.steps {
				if st.steps[j].name == s.Step {
					ss = &st.steps[j]
				}
			}
		}
		if ss == nil {
			continue // a step the current config no longer has
		}
		ss.seen = true
		ss.success = 0
		ss.hasCert = !s.CertExpiry.IsZero()
		if ss.hasCert {
			ss.certExpiry = float64(s.CertExpiry.Unix())
		}
		if s.Status == probe.StatusOK || s.Status == probe.StatusDegraded {
			ss.success = 1
		}
		if s.Status == probe.StatusNotRun {
			continue
		}
		ss.ran = true
		v := s.Duration.Seconds()
		ss.count++
		ss.sum += v
		for b, ub := range durationBuckets {
			if v <= ub {
				ss.buckets[b]++
				break
			}
		}
		ph := [...]time.Duration{s.Phases.Resolve, s.Phases.Connect, s.Phases.TLS, s.Phases.Processing, s.Phases.Transfer}
		for j := range ph {
			ss.phases[j] = ph[j].Seconds()
		}
	}
}

// newMetrics registers the daemon's metrics on reg, and the per-flow
// collector on flowReg (Handler streams those families instead; see
// serveMetrics).
func newMetrics(reg, flowReg prometheus.Registerer, version string, queued, committed, quarantined func() float64, flows func() []*flowState) (*metrics, error) {
	stepLabels := []string{"flow", "step", "service", "location"}
	m := &metrics{
		success:    prometheus.NewDesc("probe_success", helpSuccess, stepLabels, nil),
		certExpiry: prometheus.NewDesc("probe_ssl_earliest_cert_expiry", helpCertExpiry, stepLabels, nil),
		duration:   prometheus.NewDesc("probe_duration_seconds", helpDuration, stepLabels, nil),
		httpPhase:  prometheus.NewDesc("probe_http_duration_seconds", helpPhase, append(append([]string{}, stepLabels...), "phase"), nil),
		runs:       prometheus.NewDesc("slaprobe_runs_total", helpRuns, []string{"flow", "service", "location", "result"}, nil),
		flowUp:     prometheus.NewDesc("slaprobe_flow_up", helpFlowUp, []string{"flow", "service", "location"}, nil),
		functionUp: prometheus.NewDesc("slaprobe_function_up", helpFunctionUp, []string{"flow", "service", "function", "location"}, nil),
		windowOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "slaprobe_window_open",
			Help: "1 while a down or degraded window is open (function=\"\" for the whole flow), 0 after it closed.",
		}, []string{"flow", "service", "function", "kind"}),
		downtime: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slaprobe_downtime_seconds_total",
			Help: "Seconds of down windows (backdated to the first failing run), function=\"\" for the whole flow.",
		}, []string{"flow", "service", "function"}),
		availability: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "slaprobe_availability_ratio",
			Help: "Time-weighted availability of the service from the stored windows, over the last 30 days or the current month.",
		}, []string{"service", "window"}),
		objective: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "slaprobe_objective_ratio",
			Help: "The service's monthly availability objective.",
		}, []string{"service"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "slaprobe_schedule_lag_seconds",
			Help:    "How late runs start after their due time (including jitter).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .075, .1, .25, .5, 1, 2.5, 5},
		}),
		batchWrite: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "slaprobe_store_batch_write_seconds",
			Help:    "Time to commit one batch of results to the store.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 5},
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "slaprobe_store_dropped_results_total",
			Help: "Results the store writer could not queue (must stay 0).",
		}),
		spooled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "slaprobe_results_spooled_total",
			Help: "Runs the store had not taken when the daemon stopped, kept in the spool file to be stored at the next start (counted during the shutdown).",
		}),
		spoolStored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "slaprobe_spooled_results_stored_total",
			Help: "Runs of the spool the last stop left (the store was not taking writes then) that this start stored.",
		}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slaprobe_runs_skipped_total",
			Help: "Runs not started because the flow's previous run was still in flight.",
		}, []string{"flow"}),
		confirmRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slaprobe_confirm_runs_total",
			Help: "Extra runs made every confirm_every while a flow's verdict was in question (a failed or degraded run while up) or while it was down or degraded.",
		}, []string{"flow", "service", "location"}),
		buildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "slaprobe_build_info",
			Help: "Always 1; the labels say which build is running.",
		}, []string{"version", "goversion"}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "slaprobe_config_last_reload_successful",
			Help: "1 if the last config reload (SIGHUP) took, 0 if it was rejected and the previous config still runs.",
		}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "slaprobe_config_last_reload_success_timestamp_seconds",
			Help: "When the running config was loaded (start or last successful reload), Unix seconds.",
		}),
		clockSteps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slaprobe_clock_steps_total",
			Help: "Steps of the prober's wall clock of 1 s or more (chrony's makestep, a VM resumed, date -s), seen once a minute against the monotonic clock: the windows and runs around them are on a bent timeline.",
		}, []string{"direction"}),
	}
	for _, dir := range []string{"forward", "backward"} {
		m.clockSteps.WithLabelValues(dir) // 0 from the start, so increase() sees the first
	}
	m.queueDepth = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "slaprobe_store_queue_depth",
		Help: "Results and events waiting in the store writer.",
	}, queued)
	committedRuns := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "slaprobe_store_committed_runs_total",
		Help: "Runs the store writer has committed (acknowledged results, durable across a crash).",
	}, committed)
	quarantinedItems := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "slaprobe_store_quarantined_total",
		Help: "Results and events the store refuses for good (an unknown status, a name it cannot store), set aside by the writer rather than retried (must stay 0).",
	}, quarantined)
	for _, c := range []prometheus.Collector{
		m.windowOpen, m.downtime, m.availability, m.objective, m.lag,
		m.queueDepth, committedRuns, quarantinedItems, m.batchWrite, m.dropped, m.spooled, m.spoolStored, m.skipped, m.confirmRuns, m.buildInfo,
		m.reloadOK, m.reloadTime, m.clockSteps,
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	if err := flowReg.Register(flowCollector{m, flows}); err != nil {
		return nil, err
	}
	if version == "" {
		version = "dev"
	}
	m.buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	m.functionVecs = []interface{ DeletePartialMatch(prometheus.Labels) int }{m.windowOpen, m.downtime}
	m.flowVecs = []interface{ DeletePartialMatch(prometheus.Labels) int }{m.windowOpen, m.downtime, m.skipped, m.confirmRuns}
	m.serviceVecs = []interface{ DeletePartialMatch(prometheus.Labels) int }{m.availability, m.objective}
	return m, nil
}

// deleteFlow removes every series of a flow (a reload removed it).
func (m *metrics) deleteFlow(flow string) {
	for _, v := range m.flowVecs {
		v.DeletePartialMatch(prometheus.Labels{"flow": flow})
	}
}

// deleteFlowOf removes the window and downtime series of a flow under one
// service (a flow a reload moved to another service keeps the other's).
func (m *metrics) deleteFlowOf(flow, service string) {
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{m.windowOpen, m.downtime} {
		v.DeletePartialMatch(prometheus.Labels{"flow": flow, "service": service})
	}
}

// deleteFunction removes the series of a function a reload removed.
func (m *metrics) deleteFunction(flow, function string) {
	for _, v := range m.functionVecs {
		v.DeletePartialMatch(prometheus.Labels{"flow": flow, "function": function})
	}
}

// deleteService removes a service's series.
func (m *metrics) deleteService(service string) {
	for _, v := range m.serviceVecs {
		v.DeletePartialMatch(prometheus.Labels{"service": service})
	}
}

// flowCollector turns every flow's flowStats and state machine into samples
// at scrape time.
type flowCollector struct {
	m     *metrics
	flows func() []*flowState
}

func (c flowCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.m.success, c.m.certExpiry, c.m.duration, c.m.httpPhase, c.m.runs, c.m.flowUp, c.m.functionUp} {
		ch <- d
	}
}

func (c flowCollector) Collect(ch chan<- prometheus.Metric) {
	for _, fs := range c.flows() {
		fs.collect(c.m, ch)
	}
}

// collect sends the flow's samples.
func (fs *flowState) collect(m *metrics, ch chan<- prometheus.Metric) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	name, svc, loc := fs.name, fs.service, fs.location
	for i := range fs.stats.steps {
		ss := &fs.stats.steps[i]
		if ss.seen {
			ch <- prometheus.MustNewConstMetric(m.success, prometheus.GaugeValue, ss.success, name, ss.name, svc, loc)
		}
		if ss.hasCert {
			ch <- prometheus.MustNewConstMetric(m.certExpiry, prometheus.GaugeValue, ss.certExpiry, name, ss.name, svc, loc)
		}
		if !ss.ran {
			continue
		}
		cum := make(map[float64]uint64, len(durationBuckets))
		var n uint64
		for b, ub := range durationBuckets {
			n += ss.buckets[b]
			cum[ub] = n
		}
		ch <- prometheus.MustNewConstHistogram(m.duration, ss.count, ss.sum, cum, name, ss.name, svc, loc)
		for j, ph := range phaseNames {
			ch <- prometheus.MustNewConstMetric(m.httpPhase, prometheus.GaugeValue, ss.phases[j], name, ss.name, svc, loc, ph)
		}
	}
	// Both results once the flow has a scheduled run, the other at 0: a
	// series that first appears at 1 hides that run from rate().
	if fs.stats.runsOK+fs.stats.runsFailed > 0 {
		ch <- prometheus.MustNewConstMetric(m.runs, prometheus.CounterValue, float64(fs.stats.runsOK), name, svc, loc, "ok")
		ch <- prometheus.MustNewConstMetric(m.runs, prometheus.CounterValue, float64(fs.stats.runsFailed), name, svc, loc, "failed")
	}
	if v, ok := upValue(fs.machine.State()); ok {
		ch <- prometheus.MustNewConstMetric(m.flowUp, prometheus.GaugeValue, v, name, svc, loc)
	}
	for fn, st := range fs.machine.Functions() {
		if v, ok := upValue(st); ok {
			ch <- prometheus.MustNewConstMetric(m.functionUp, prometheus.GaugeValue, v, name, svc, fn, loc)
		}
	}
}

// upValue maps a state to slaprobe_flow_up's value: no sample while unknown.
func upValue(st state.State) (float64, bool) {
	switch st {
	case state.Up, state.Degraded:
		return 1, true
	case state.Down:
		return 0, true
	}
	return 0, false
}

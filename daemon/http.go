package daemon

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/report"
)

// Handler serves the daemon's HTTP endpoints:
//
//   - /metrics: the daemon's registry and the per-flow families, in the
//     Prometheus text format (gzip when asked);
//   - /healthz: 200 "ok", or 503 with the reason when the daemon is not
//     running, is shutting down, the store writer is stuck, or no run has
//     started or ended within twice the largest interval;
//   - /api/v1/status: JSON, per flow at this location: service, interval,
//     last run, state, function states and open windows (with the bounds
//     of their starts);
//   - /webhooks/{token}: callbacks for the runs' await webhook steps, when
//     the daemon has a webhook registry (Deps.Webhooks).
func (d *Daemon) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", d.serveMetrics)
	mux.HandleFunc("GET /healthz", d.serveHealth)
	mux.HandleFunc("GET /api/v1/status", d.serveStatus)
	if d.webhooks != nil {
		mux.Handle("/webhooks/", d.webhooks.Handler())
	}
	return mux
}

func (d *Daemon) serveHealth(w http.ResponseWriter, _ *http.Request) {
	ok, reason := d.Health()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	fmt.Fprintln(w, reason)
}

// Health reports whether the daemon is healthy, and if not, why.
func (d *Daemon) Health() (bool, string) {
	d.mu.RLock()
	wr, started, stopping, maxI, n := d.writer, d.started, d.stopping, d.maxInterval, len(d.flows)
	d.mu.RUnlock()
	switch {
	case stopping:
		return false, "shutting down"
	case started && d.detached.Load():
		return false, d.detachedReason()
	case !started || wr == nil:
		return false, "not started"
	}
	if ok, msg := storeHealth(wr); !ok {
		return false, msg
	}
	if n > 0 && maxI > 0 {
		last := time.Unix(0, d.lastActivity.Load())
		if idle := d.clock.Now().Sub(last); idle > 2*maxI {
			return false, fmt.Sprintf("no run started or ended for %s (largest interval %s)", idle.Round(time.Second), maxI)
		}
	}
	return true, "ok"
}

// StoreHealth reports whether results are being stored, and if not, why:
// false while the store writer is stuck (data waiting and no commit for
// store.StuckAfter), as /healthz says.
func (d *Daemon) StoreHealth() (bool, string) {
	wr := d.storeWriter()
	if d.detached.Load() {
		return false, d.detachedReason()
	}
	if wr == nil {
		return true, "ok"
	}
	return storeHealth(wr)
}

// detachedReason says why a daemon started without its store is unhealthy.
func (d *Daemon) detachedReason() string {
	d.det.Lock()
	defer d.det.Unlock()
	msg := "store unreachable since start"
	if d.detachErr != nil {
		msg += ": " + d.detachErr.Error()
	}
	return msg + fmt.Sprintf(" (%d runs held)", len(d.held))
}

func storeHealth(wr resultWriter) (bool, string) {
	st := wr.Stats()
	if !st.Stuck {
		return true, "ok"
	}
	msg := "store writer stuck"
	if st.LastError != "" {
		msg += ": " + st.LastError
	}
	if st.Queued > 0 {
		msg += fmt.Sprintf(" (%d queued)", st.Queued)
	}
	return false, msg
}

// Status is the document /api/v1/status serves.
type Status struct {
	Location string       `json:"location"`
	Time     time.Time    `json:"time"`
	Flows    []FlowStatus `json:"flows"`
}

// FlowStatus is one flow at this location.
type FlowStatus struct {
	Flow            string           `json:"flow"`
	Service         string           `json:"service"`
	Location        string           `json:"location"`
	IntervalSeconds float64          `json:"interval_seconds"`
	LastStart       *time.Time       `json:"last_start"` // last run's start, also restored from the store
	LastRun         *RunStatus       `json:"last_run"`   // null until a run ended since the daemon started
	State           string           `json:"state"`
	Functions       []FunctionStatus `json:"functions"`
	OpenWindows     []WindowStatus   `json:"open_windows"`
	// Maintenance is the planned maintenance (maintenance:) the flow's
	// service is in now; null when none. State and the windows stay what
	// the state machine says.
	Maintenance *MaintenanceStatus `json:"maintenance"`
}

// MaintenanceStatus is a stretch of planned maintenance: touching windows
// merged, times in the config's time zone, the reasons of its windows
// joined by "; ".
type MaintenanceStatus struct {
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Reason string    `json:"reason"`
}

// RunStatus is a flow's last run.
type RunStatus struct {
	Start           time.Time `json:"start"`
	OK              bool      `json:"ok"`
	Outcome         string    `json:"outcome"` // ok, degraded or failed
	DurationSeconds float64   `json:"duration_seconds"`
	CauseStep       string    `json:"cause_step,omitempty"`
	Error           string    `json:"error,omitempty"`
}

// FunctionStatus is one function's state.
type FunctionStatus struct {
	Function string `json:"function"`
	State    string `json:"state"`
}

// WindowStatus is an open window.
type WindowStatus struct {
	Function        *string   `json:"function"` // null for the whole flow
	Kind            string    `json:"kind"`
	Start           time.Time `json:"start"`
	Confirmed       time.Time `json:"confirmed"`
	DurationSeconds float64   `json:"duration_seconds"`
	CauseStep       string    `json:"cause_step"`
	Error           string    `json:"error"`
	// StartUncertaintySeconds and StartUncertaintyLaterSeconds say how
	// sharp the start is, as `windows --format json` says it of the same
	// window once stored (state.Window.StartUncertainty, StartLater): how
	// much earlier it may have begun (back to the start of the last run
	// before it, which passed) and how much later (the first failing run's
	// duration: it began at the start and failed only when it ended). Null
	// when not known (the first run, after an unknown stretch, a window
	// resumed from a store written before schema version 12).
	StartUncertaintySeconds      *float64 `json:"start_uncertainty_seconds"`
	StartUncertaintyLaterSeconds *float64 `json:"start_uncertainty_later_seconds"`
}

// StartBounds are the earliest and the latest the window may really have
// begun (Start less StartUncertaintySeconds, Start plus
// StartUncertaintyLaterSeconds); each zero when not known.
func (w *WindowStatus) StartBounds() (earliest, latest time.Time) {
	if w.StartUncertaintySeconds != nil {
		earliest = w.Start.Add(-report.SecondsDuration(*w.StartUncertaintySeconds))
	}
	if w.StartUncertaintyLaterSeconds != nil {
		latest = w.Start.Add(report.SecondsDuration(*w.StartUncertaintyLaterSeconds))
	}
	return earliest, latest
}

// Status returns the live state of every flow, sorted by service and flow.
func (d *Daemon) Status() Status {
	now := d.clock.Now()
	d.mu.RLock()
	loc, plan, zone := d.cfg.Location, d.cfg.Maintenance, d.cfg.Loc
	fss := make([]*flowState, 0, len(d.flows))
	for _, fs := range d.flows {
		fss = append(fss, fs)
	}
	d.mu.RUnlock()
	if zone == nil {
		zone = time.UTC
	}
	out := Status{Location: loc, Time: now.In(zone), Flows: make([]FlowStatus, 0, len(fss))}
	maint := map[string]*MaintenanceStatus{} // by service
	for _, fs := range fss {
		st := fs.status(now, zone)
		if len(plan) > 0 {
			m, ok := maint[st.Service]
			if !ok {
				if sp, in := plan.Cover(st.Service, now); in {
					m = &MaintenanceStatus{Start: sp.Start.In(zone), End: sp.End.In(zone), Reason: strings.Join(sp.Reasons, "; ")}
				}
				maint[st.Service] = m
			}
			st.Maintenance = m
		}
		out.Flows = append(out.Flows, st)
	}
	sort.Slice(out.Flows, func(i, j int) bool {
		a, b := out.Flows[i], out.Flows[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return a.Flow < b.Flow
	})
	return out
}

// status is the flow's state, its times in zone (the config's), as every
// time the daemon shows is, whatever the host's TZ.
func (fs *flowState) status(now time.Time, zone *time.Location) FlowStatus {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	st := FlowStatus{
		Flow:            fs.name,
		Service:         fs.service,
		Location:        fs.location,
		IntervalSeconds: fs.flow.Interval.Seconds(),
		State:           string(fs.machine.State()),
		Functions:       make([]FunctionStatus, 0, fs.machine.NumFunctions()),
		OpenWindows:     []WindowStatus{},
	}
	if t := fs.machine.LastRun(); !t.IsZero() {
		t = t.In(zone)
		st.LastStart = &t
	}
	if l := fs.last; l != nil {
		st.LastRun = &RunStatus{
			Start: l.Start.In(zone), OK: l.Outcome != probe.StatusFailed, Outcome: string(l.Outcome),
			DurationSeconds: l.Duration.Seconds(), CauseStep: l.CauseStep, Error: l.Error,
		}
	}
	for fn, fst := range fs.machine.Functions() {
		st.Functions = append(st.Functions, FunctionStatus{Function: fn, State: string(fst)})
	}
	for _, w := range fs.machine.OpenWindows() {
		ws := WindowStatus{
			Kind: string(w.Kind), Start: w.Start.In(zone), Confirmed: w.Confirmed.In(zone),
			DurationSeconds: w.Duration(now).Seconds(), CauseStep: w.CauseStep, Error: w.Error,
		}
		if d, ok := w.StartUncertainty(); ok {
			ws.StartUncertaintySeconds = ptrSeconds(d)
		}
		if d, ok := w.StartLater(); ok {
			ws.StartUncertaintyLaterSeconds = ptrSeconds(d)
		}
		if w.Function != "" {
			fn := w.Function
			ws.Function = &fn
		}
		st.OpenWindows = append(st.OpenWindows, ws)
	}
	return st
}

func ptrSeconds(d time.Duration) *float64 {
	s := d.Seconds()
	return &s
}

func (d *Daemon) serveStatus(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d.Status()); err != nil {
		d.log.Debug("writing status", "err", err)
	}
}

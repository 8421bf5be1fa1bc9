package report

import (
	"slices"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/state"
)

// FunctionAccount is one function of a service over the period: the
// service's accounting (the same tally, policy and day boundaries) over the
// function's own windows, those the state machine keeps for it (blocked
// counts as down), counted after the quorum as the flows' are. A whole-flow
// window adds nothing to them: read from its first cause (as incidents list
// its functions) it put a function down where the cause had changed (a
// login window that became a send one) and where the flow was down at the
// quorum's locations but no function was (one location's login failing,
// another's cleanup). Windows still lists the whole-flow windows that took
// the function down, as incidents read them. The function is unknown only
// while no flow that serves it has data. Build fills Service.Functions when Input.Functions is set (the
// status page's daily bars); report files leave it out.
type FunctionAccount struct {
	Name         string   `json:"name"`
	Availability *float64 `json:"availability"` // nil: nothing measured, or MaintenanceOnly
	// MaintenanceOnly: all of the elapsed period was planned maintenance.
	MaintenanceOnly bool          `json:"maintenance_only,omitempty"`
	DowntimeSeconds float64       `json:"downtime_seconds"`
	DegradedSeconds float64       `json:"degraded_seconds"`
	UnknownSeconds  float64       `json:"unknown_seconds"`
	Daily           []FunctionDay `json:"daily"`
	// Windows are the service's windows (Service.Windows) that took this
	// function down or degraded it, by index.
	Windows []int `json:"windows"`
}

// FunctionDay is one calendar day of a function in the report's zone.
type FunctionDay struct {
	Date         string   `json:"date"`
	Availability *float64 `json:"availability"` // nil: nothing measured that day, or MaintenanceOnly
	// MaintenanceOnly: the day's elapsed part was all planned maintenance.
	MaintenanceOnly bool    `json:"maintenance_only,omitempty"`
	DowntimeSeconds float64 `json:"downtime_seconds"`
	DegradedSeconds float64 `json:"degraded_seconds"`
	UnknownSeconds  float64 `json:"unknown_seconds"`
}

// functionFigures is a function's availability (nil when nothing was
// eligible), whether it was all planned maintenance, and its down, degraded
// and unknown seconds.
func (t tally) functionFigures(p config.Policy) (avail *float64, maintOnly bool, down, degraded, unknown float64) {
	avail, _, maintOnly = t.figures(p)
	return avail, maintOnly, t.down.total().Seconds(), t.degraded.total().Seconds(), t.unknown.total().Seconds()
}

// functionAccounts accounts every function of cs; svc is the service as
// service() built it (for window indexes).
func (a *analysis) functionAccounts(cs *config.Service, svc *Service) []FunctionAccount {
	pol := a.cfg.Policy
	from, end := a.in.From, a.end
	maint := a.maintenance(cs.Name)
	out := []FunctionAccount{}
	for _, fn := range cs.Functions() {
		var downs, degs []iv
		unk := set{{from, end}}.clip(from, end)
		for _, f := range a.byService[cs] {
			if !slices.Contains(f.flow.Functions(), fn) {
				continue
			}
			unk = unk.intersect(f.unknown)
			for _, w := range f.windows {
				if w.Function != fn {
					continue
				}
				switch w.kind {
				case state.KindDown:
					downs = append(downs, w.iv)
				case state.KindDegraded:
					degs = append(degs, w.iv)
				}
			}
		}
		down, deg := union(downs), union(degs)
		unk = unk.minus(down)
		fa := FunctionAccount{Name: fn, Daily: []FunctionDay{}, Windows: []int{}}
		t := account(from, end, down, deg, unk, maint)
		fa.Availability, fa.MaintenanceOnly, fa.DowntimeSeconds, fa.DegradedSeconds, fa.UnknownSeconds = t.functionFigures(pol)
		a.eachDay(down, deg, unk, maint, func(date string, _ float64, dt *tally) {
			day := FunctionDay{Date: date}
			if dt != nil {
				day.Availability, day.MaintenanceOnly, day.DowntimeSeconds, day.DegradedSeconds, day.UnknownSeconds = dt.functionFigures(pol)
			}
			fa.Daily = append(fa.Daily, day)
		})
		for i, w := range svc.Windows {
			if slices.Contains(a.windowFunctions(cs, w), fn) {
				fa.Windows = append(fa.Windows, i)
			}
		}
		out = append(out, fa)
	}
	return out
}

package report

import (
	"slices"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/state"
)

// FunctionAccount is one function of a service over the period: the
// service's accounting (the same tally, policy and day boundaries) over the
// windows that took that function down. A whole-flow window takes down the
// function of its failing step and those of the steps after it (blocked), as
// in incidents. The function is unknown only while no flow that serves it
// has data. Build fills Service.Functions when Input.Functions is set (the
// status page's daily bars); report files leave it out.
type FunctionAccount struct {
	Name            string        `json:"name"`
	Availability    *float64      `json:"availability"` // nil: nothing measured
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
	Date            string   `json:"date"`
	Availability    *float64 `json:"availability"` // nil: nothing measured that day
	DowntimeSeconds float64  `json:"downtime_seconds"`
	DegradedSeconds float64  `json:"degraded_seconds"`
	UnknownSeconds  float64  `json:"unknown_seconds"`
}

// serviceFunctions lists the distinct functions of a service's flows, in
// config order.
func serviceFunctions(cs *config.Service) []string {
	var out []string
	for i := range cs.Flows {
		for _, fn := range cs.Flows[i].Functions() {
			if !slices.Contains(out, fn) {
				out = append(out, fn)
			}
		}
	}
	return out
}

// functionAccounts accounts every function of cs; svc is the service as
// service() built it (for window indexes).
func (a *analysis) functionAccounts(cs *config.Service, svc *Service) []FunctionAccount {
	pol := a.cfg.Policy
	from, end, to := a.in.From, a.end, a.in.To
	maint := a.maintenance(cs.Name)
	out := []FunctionAccount{}
	for _, fn := range serviceFunctions(cs) {
		var downs, degs []iv
		unk := set{{from, end}}.clip(from, end)
		for _, f := range a.flows {
			if f.svc != cs || !slices.Contains(f.flow.Functions(), fn) {
				continue
			}
			unk = unk.intersect(f.unknown)
			for _, w := range f.windows {
				if !slices.Contains(a.functions(cs, w), fn) {
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
		if v, ok := t.availability(pol); ok {
			fa.Availability = &v
		}
		fa.DowntimeSeconds = t.down.total().Seconds()
		fa.DegradedSeconds = t.degraded.total().Seconds()
		fa.UnknownSeconds = t.unknown.total().Seconds()
		for d := dayStart(from, a.loc); d.Before(to); d = nextDay(d, a.loc) {
			ds, de := maxT(d, from), minT(nextDay(d, a.loc), to)
			day := FunctionDay{Date: d.In(a.loc).Format(time.DateOnly)}
			if de2 := minT(de, end); de2.After(ds) {
				dt := account(ds, de2, down, deg, unk, maint)
				if v, ok := dt.availability(pol); ok {
					day.Availability = &v
				}
				day.DowntimeSeconds = dt.down.total().Seconds()
				day.DegradedSeconds = dt.degraded.total().Seconds()
				day.UnknownSeconds = dt.unknown.total().Seconds()
			}
			fa.Daily = append(fa.Daily, day)
		}
		for i, w := range svc.Windows {
			if slices.Contains(a.windowFunctions(cs, w), fn) {
				fa.Windows = append(fa.Windows, i)
			}
		}
		out = append(out, fa)
	}
	return out
}

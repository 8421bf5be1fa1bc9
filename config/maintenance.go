package config

import (
	"slices"
	"time"
)

// MaintenancePlan is the maintenance: section, in config order: the planned
// windows the report leaves out of the denominator, and during which the
// daemon holds new alerts, the generated rules count no time and the status
// page says "maintenance".
type MaintenancePlan []Maintenance

// MaintenanceSpan is a stretch of planned maintenance of one service: the
// union of its windows (its own and the "*" ones) that overlap or touch, as
// the report lists them.
type MaintenanceSpan struct {
	Start, End time.Time
	Reasons    []string // of every window that makes up the stretch, each once, in config order
}

// Covers reports whether m applies to service: its own, "*" or an empty
// service (every service).
func (m *Maintenance) Covers(service string) bool {
	return m.Service == "" || m.Service == "*" || m.Service == service
}

// Cover returns the maintenance stretch of service that t falls in
// ([Start, End)), and false when no window of the service covers t.
func (p MaintenancePlan) Cover(service string, t time.Time) (MaintenanceSpan, bool) {
	var sp MaintenanceSpan
	found := false
	for i := range p {
		if m := &p[i]; m.Covers(service) && !t.Before(m.Start) && t.Before(m.End) {
			if !found || m.Start.Before(sp.Start) {
				sp.Start = m.Start
			}
			if !found || m.End.After(sp.End) {
				sp.End = m.End
			}
			found = true
		}
	}
	if !found {
		return sp, false
	}
	// Grow it over the windows that overlap or touch it (a few windows:
	// quadratic is fine).
	for grown := true; grown; {
		grown = false
		for i := range p {
			m := &p[i]
			if !m.Covers(service) || m.Start.After(sp.End) || m.End.Before(sp.Start) {
				continue
			}
			if m.Start.Before(sp.Start) {
				sp.Start, grown = m.Start, true
			}
			if m.End.After(sp.End) {
				sp.End, grown = m.End, true
			}
		}
	}
	for i := range p {
		m := &p[i]
		if m.Covers(service) && !m.Start.After(sp.End) && !m.End.Before(sp.Start) && m.Reason != "" && !slices.Contains(sp.Reasons, m.Reason) {
			sp.Reasons = append(sp.Reasons, m.Reason)
		}
	}
	return sp, true
}

// NextChange returns the first start or end of a window after t: when
// whether some service is in maintenance may next change. Zero when none
// is left.
func (p MaintenancePlan) NextChange(t time.Time) time.Time {
	var next time.Time
	for i := range p {
		for _, b := range []time.Time{p[i].Start, p[i].End} {
			if b.After(t) && (next.IsZero() || b.Before(next)) {
				next = b
			}
		}
	}
	return next
}

// Spans returns the maintenance stretches of service that overlap [from,
// to), in time order, each as Cover gives it (touching windows merged, the
// reasons of every window in it): what the report lists as the service's
// maintenance, unclipped, so that a stretch running past either end keeps
// its real start and end.
func (p MaintenancePlan) Spans(service string, from, to time.Time) []MaintenanceSpan {
	var starts []time.Time
	for i := range p {
		if m := &p[i]; m.Covers(service) && m.Start.Before(to) && m.End.After(from) && m.Start.Before(m.End) {
			starts = append(starts, m.Start)
		}
	}
	slices.SortFunc(starts, time.Time.Compare)
	var out []MaintenanceSpan
	for _, s := range starts {
		if n := len(out); n > 0 && s.Before(out[n-1].End) {
			continue // inside the stretch already listed
		}
		if sp, ok := p.Cover(service, s); ok {
			out = append(out, sp)
		}
	}
	return out
}

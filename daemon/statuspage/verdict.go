package statuspage

import (
	"strings"

	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/state"
)

// Verdict is what a build of this month's figures says of the fleet: the
// alerts' source in a fleet (cmd/slaprobe hands it to the notifier's
// SetFleet), read from the figures the pages show, so no more is read from
// the store.
type Verdict struct {
	// Fleet: the figures hold a location other than this prober's (isFleet).
	Fleet bool
	// Runs: the figures hold a run (not a month's first moments).
	Runs bool
	// Counted are the figures' counted windows (after the location quorum),
	// open ones with End zero; Location lists the locations that saw each,
	// comma-separated.
	Counted []state.Window
}

// verdictOf is the verdict of the month's figures.
func verdictOf(p *Page, month *report.Report) Verdict {
	v := Verdict{Fleet: isFleet(p.config(), month)}
	for si := range month.Services {
		s := &month.Services[si]
		if s.Runs > 0 {
			v.Runs = true
		}
		for _, w := range s.Windows {
			v.Counted = append(v.Counted, stateWindow(w))
		}
	}
	return v
}

// stateWindow is a report's window as the state machine tells one.
func stateWindow(w report.Window) state.Window {
	sw := state.Window{
		Key:  state.Key{Service: w.Service, Flow: w.Flow, Location: strings.Join(w.Locations, ", ")},
		Kind: state.Kind(w.Kind), Start: w.Start, Confirmed: w.Confirmed, CauseStep: w.CauseStep, Error: w.Error,
	}
	if w.Function != nil {
		sw.Function = *w.Function
	}
	if w.End != nil {
		sw.End = *w.End
	}
	for _, c := range w.Causes {
		sc := state.Cause{Step: c.Step, Error: c.Error, From: c.From}
		if c.To != nil {
			sc.To = *c.To
		}
		sw.Causes = append(sw.Causes, sc)
	}
	return sw
}

package statuspage

import (
	"strings"
	"time"

	"github.com/slaprobe/slaprobe/config"

	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/state"
)

// Verdict is what a build of this month's figures says of the fleet: the
// alerts' source in a fleet (cmd/slaprobe hands it to the notifier's
// SetFleet), read from the figures the pages show, so no more is read from
// the store.
type Verdict struct {
	// Fleet: the figures hold a location other than this prober's (isFleet);
	// when they say nothing (Runs false), the previous days' figures had
	// one reporting at their end, or (the verdict before a history build,
	// which it waits for: refresh) the month's figures hold one.
	Fleet bool
	// Runs: the figures say something of the fleet: they hold a run (not a
	// month's first moments) and lack no location the month's start needs
	// (missingAtMonthStart: false), or hold none while the previous days'
	// hold no location but this prober's (alone: a new database, its runs
	// not stored yet); when not, the verdict is zero (but Fleet, Next).
	Runs bool
	// Counted are the figures' counted windows (after the location quorum),
	// open ones with End zero; Location lists the locations that saw each,
	// comma-separated.
	Counted []state.Window
	// Next is how long after this verdict the next is due: the wait until
	// the next rebuild (a minute; at a large config 9 times the last
	// build's duration, in a fleet rounded up to whole minutes and aligned
	// on the clock) and a build as long as this one (history included).
	// Set with every verdict, the zero one too.
	Next time.Duration
	// Unknown are the figures' stretches in which no location reported a
	// flow of the config (the report's unknown: every location's data
	// ends), as state windows of KindUnknown, End zero for one that
	// reaches the figures' end (now): a counted window closed where one
	// begins closed because the data stopped, not because a location
	// measured the flow up (the notifier keeps its page: alert.Fleet).
	Unknown []state.Window
}

// verdictOf is the verdict of the month's figures (built at now, the
// month from monthStart), hist the previous days' (nil: none).
func verdictOf(cfg *config.Config, month, hist *report.Report, now, monthStart time.Time) Verdict {
	dating := hist
	if hist != nil && !hist.To.Equal(monthStart) {
		// Another month's (its build at the month's change failed, the
		// page keeps the last): its windows open at its end are not this
		// month's. (Its locations still say which the month's figures
		// may lack at its start: missingAtMonthStart.)
		dating = nil
	}
	v := Verdict{Fleet: isFleet(cfg, month)}
	for si := range month.Services {
		s := &month.Services[si]
		if s.Runs > 0 {
			v.Runs = true
		}
		var hs *report.Service
		if dating != nil {
			hs = serviceNamed(dating, s.Name)
		}
		for _, w := range s.Windows {
			sw := w.State()
			if w.End == nil && w.StartCut == report.CutPeriod && hs != nil {
				// Open since before the month (which cuts it at its
				// start): dated from the previous days' figures, as the
				// pages date it, so the alert's startsAt and "since" are
				// its start, not the month's first instant. Its
				// confirmation too, which the month cuts at its first
				// instant as well: a maintenance beginning then held
				// the page of a window known before it (a prober
				// restarted in it without a state file sends that
				// again).
				// And its first cause (the description's "at first"),
				// which the month's window has as the one in force at
				// its first instant. And the bounds of its start (the
				// alert's started_between), which the month's cut start
				// does not know.
				for _, h := range hs.Windows {
					if h.End == nil && h.EndCut == report.CutPeriod && sameWindow(&h, w.Flow, w.Function, w.Kind) && h.Start.Before(sw.Start) {
						sw.Start, sw.Confirmed, sw.Known = h.Start, h.Confirmed, h.Known
						sw.LastBefore, sw.FirstInEnd = h.StartBounds()
						if h.CauseStep != "" || h.Error != "" {
							sw.CauseStep, sw.Error = h.CauseStep, h.Error
						}
					}
				}
			}
			v.Counted = append(v.Counted, sw)
		}
		v.Unknown = append(v.Unknown, unknownOf(cfg, s, now)...)
	}
	if runs := v.Runs; !runs || missingAtMonthStart(cfg, month, hist, now, monthStart) {
		// Say nothing, as figures with no run yet: they lack a location
		// whose first run of the month is not stored yet, so the quorum
		// they count is of the locations that ran first (seoul-a down
		// alone across midnight, its run stored before busan-b's: alone,
		// and its window counted, a page below the quorum). Fleet when
		// the previous days' figures show another location reporting at
		// their end, in the month's first two intervals: a prober restarted
		// then is in a fleet and waits for its verdict rather than lapsing
		// to its own after 5 minutes (a page below the quorum). Not later:
		// figures with no run for longer (no prober's runs stored) hold
		// no notifier silent before its first verdict.
		v = Verdict{Fleet: atMonthStart(cfg, now, monthStart) && othersReporting(cfg, hist)}
		if !v.Fleet && !runs && hist != nil && !isFleet(cfg, hist) {
			// No run this month, and the previous days' figures hold
			// no location but this prober's (a new database; this
			// prober's runs not stored yet, its store writer slow; a
			// month's first moments; flows every 10 minutes): alone,
			// as before the month's first run, so a prober alone is
			// not held silent until its first run is stored, nor lapses
			// (warning of no verdict) where its builds work.
			v.Runs = true
		}
	}
	return v
}

// atMonthStart reports whether now is in the month's first two intervals
// of the config's longest flow interval (a minute at least), after which a
// location with no run is not reporting, for the report too.
func atMonthStart(cfg *config.Config, now, monthStart time.Time) bool {
	ivl := time.Minute
	for _, s := range cfg.Services {
		for _, f := range s.Flows {
			ivl = max(ivl, f.Interval)
		}
	}
	return now.Sub(monthStart) < 2*ivl
}

// reportingAtEnd are the locations of r reporting at its end (nil r:
// none).
func reportingAtEnd(r *report.Report) []string {
	if r == nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(r.Location, ",") {
		l = strings.TrimSpace(l)
		if _, silent := r.Silent[l]; l != "" && !silent {
			out = append(out, l)
		}
	}
	return out
}

// othersReporting reports whether hist shows a location other than this
// prober's reporting at its end.
func othersReporting(cfg *config.Config, hist *report.Report) bool {
	for _, l := range reportingAtEnd(hist) {
		if l != cfg.Location {
			return true
		}
	}
	return false
}

// missingAtMonthStart reports whether, in the month's first two intervals
// of its longest flow interval (after which a location with no run is not
// reporting, for the report too), the month's figures lack a location that
// the previous days' figures had reporting at their end.
func missingAtMonthStart(cfg *config.Config, month, hist *report.Report, now, monthStart time.Time) bool {
	if hist == nil || !atMonthStart(cfg, now, monthStart) {
		return false
	}
	in := map[string]bool{}
	for _, l := range strings.Split(month.Location, ",") {
		in[strings.TrimSpace(l)] = true
	}
	for _, l := range reportingAtEnd(hist) {
		if !in[l] {
			return true
		}
	}
	return false
}

// unknownOf are s's stretches in which no location reported a flow of the
// config (not a flow the config no longer has: stopped by the config, not
// by its data), as Verdict.Unknown has them: those the page keeps (trim).
// One after which the figures' quorum still reads no location reporting
// (report.Span.Settling: each location whose data resumed after it has
// made no window since, and its last run failed, less than report.Settling
// ago) is handed open, as one reaching the figures' end: failing runs
// after it are no window until down_after of them (then one backdated to
// the first), so a counted window closed at its start is not yet known to
// have ended. One after which a location's last run passed is not: that
// location measured the flow up, which no later run undoes.
func unknownOf(cfg *config.Config, s *report.Service, now time.Time) []state.Window {
	flows := map[string]*config.Flow{}
	for _, cs := range cfg.Services {
		if cs.Name == s.Name {
			for i := range cs.Flows {
				flows[cs.Flows[i].Name] = &cs.Flows[i]
			}
		}
	}
	var out []state.Window
	for _, u := range s.Unknown {
		f := flows[u.Flow]
		if u.Reason != report.ReasonNoRun || f == nil {
			continue
		}
		w := state.Window{Key: state.Key{Service: s.Name, Flow: u.Flow}, Kind: state.KindUnknown, Start: u.Start, Confirmed: u.Start, End: u.End}
		if !u.End.Before(now) || u.Settling {
			w.End = time.Time{}
		}
		out = append(out, w)
	}
	return out
}

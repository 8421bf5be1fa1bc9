package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/slaprobe/slaprobe/internal/textesc"
	"github.com/slaprobe/slaprobe/state"
)

// Alert names pushed by the daemon. They differ from the names of the
// Prometheus rules (see Rules) so that both paths can run side by side.
const (
	NameFlowDown     = "SlaprobeFlowDown"
	NameFunctionDown = "SlaprobeFunctionDown"
	NameDegraded     = "SlaprobeFlowDegraded"
)

// render builds the alert for a window (EndsAt zero).
func (n *Notifier) render(w state.Window) Alert { return n.renderAs(w, shown{}) }

// shown is how a fleet shows a window (see SetFleet): the zero value is a
// prober's own verdict, as a prober alone pushes it.
type shown struct {
	label    string // the location label, for the window's location
	severity string // the severity label, for the kind's
	note     string // appended to the description
	// past: the window has ended (a late page: pageLate); the summary
	// says it was down, and for how long.
	past bool
}

// renderAs builds the alert for a window as s shows it (EndsAt zero).
func (n *Notifier) renderAs(w state.Window, s shown) Alert {
	loc := w.Location
	if loc == "" {
		loc = n.o.Location
	}
	label := loc
	if s.label != "" {
		label = s.label
	}
	name, sev, verb := NameFlowDown, n.o.SeverityDown, "down"
	switch {
	case w.Kind == state.KindDegraded:
		name, sev, verb = NameDegraded, n.o.SeverityDegraded, "degraded"
	case w.Function != "":
		name = NameFunctionDown
	}
	if s.severity != "" {
		sev = s.severity
	}
	labels := map[string]string{
		"alertname": name,
		"service":   w.Service,
		"flow":      w.Flow,
		"location":  label,
		"severity":  sev,
	}
	what := fmt.Sprintf("%s at %s", w.Flow, loc)
	if w.Function != "" {
		labels["function"] = w.Function
		what = fmt.Sprintf("%s %s (flow %s) at %s", w.Service, w.Function, w.Flow, loc)
	}
	for k, v := range labels {
		if v == "" {
			delete(labels, k) // Alertmanager drops empty labels anyway
		}
	}
	// The description follows the window's current cause (a window whose
	// failing step changed says so, and since when).
	cur := w.CurrentCause()
	zone := n.zone.Load()
	desc := fmt.Sprintf("%s has been %s since %s", what, verb, w.Start.In(zone).Format(time.RFC3339))
	switch {
	case cur.Step != "" && w.Kind == state.KindDegraded:
		desc += fmt.Sprintf("; step %s is over its latency objective", cur.Step)
		if cur.Error != "" {
			desc += ": " + cur.Error
		}
	case cur.Step != "":
		desc += "; first failing step: " + causeText(cur.Step, cur.Error)
	case cur.Error != "":
		desc += ": " + cur.Error
	}
	// Only a cause that changed is dated: a fleet's window whose first
	// cause is still in force (another location's came and went inside it)
	// would otherwise repeat it as "(since START; at first SAME)".
	if len(w.Causes) > 1 && (cur.Step != w.CauseStep || cur.Error != w.Error || !cur.From.Equal(w.Start)) {
		desc += fmt.Sprintf(" (since %s; at first %s)", cur.From.In(zone).Format(time.RFC3339), causeText(w.CauseStep, w.Error))
	}
	if !w.End.IsZero() {
		desc += fmt.Sprintf(" (ended %s after %s)", w.End.In(zone).Format(time.RFC3339), w.End.Sub(w.Start).Round(time.Second))
	}
	if w.QuorumNeverSurelyDown {
		desc += neverSurelyDown
	}
	desc += s.note
	summary := fmt.Sprintf("%s is %s", what, verb)
	if s.past && !w.End.IsZero() {
		summary = fmt.Sprintf("%s was %s for %s, until %s (over)", what, verb, w.End.Sub(w.Start).Round(time.Second), w.End.In(zone).Format(time.RFC3339))
	}
	ann := map[string]string{
		"summary": summary,
		// The errors quote targets; one stored before the probe escaped
		// them (a window restored across an upgrade, re-sent) may hold an
		// ESC [2J for the terminal amtool prints it to: escaped as the
		// probe now escapes new ones (which this leaves as they are).
		"description": textesc.Text(desc),
	}
	if b := startedBetween(&w, zone); b != "" {
		ann["started_between"] = b
	}
	if n.o.RunbookURL != "" {
		ann["runbook_url"] = strings.ReplaceAll(n.o.RunbookURL, "{service}", url.PathEscape(w.Service))
	}
	return Alert{Labels: labels, Annotations: ann, StartsAt: w.Start, GeneratorURL: n.o.GeneratorURL}
}

// startedBetween is when the window may really have begun, "EARLIEST and
// LATEST": from the start of the last run before it, which passed, to the
// end of its first failing run (the state machine's StartUncertainty and
// StartLater, which `windows --format json` gives as
// start_uncertainty_seconds and start_uncertainty_later_seconds), RFC 3339
// in zone to the second, the earliest rounded down and the latest up so
// that the two hold the start; "?" for a bound not known, "" when neither
// is.
func startedBetween(w *state.Window, zone *time.Location) string {
	lo, hi := "?", "?"
	if d, ok := w.StartUncertainty(); ok {
		lo = w.Start.Add(-d).Truncate(time.Second).In(zone).Format(time.RFC3339)
	}
	if d, ok := w.StartLater(); ok {
		t := w.Start.Add(d)
		c := t.Truncate(time.Second)
		if c.Before(t) {
			c = c.Add(time.Second)
		}
		hi = c.In(zone).Format(time.RFC3339)
	}
	if lo == "?" && hi == "?" {
		return ""
	}
	return lo + " and " + hi
}

// causeText is "step: error", without repeating the step when the error
// already starts with it (the runner's errors do).
func causeText(step, err string) string {
	switch {
	case err == "":
		return step
	case strings.HasPrefix(err, step+":"):
		return err
	}
	return step + ": " + err
}

// fingerprint identifies a label set, as Alertmanager does.
func fingerprint(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0xff})
		h.Write([]byte(labels[k]))
		h.Write([]byte{0xff})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func cloneAlert(a Alert) Alert {
	b := a
	b.Labels = make(map[string]string, len(a.Labels))
	for k, v := range a.Labels {
		b.Labels[k] = v
	}
	b.Annotations = make(map[string]string, len(a.Annotations))
	for k, v := range a.Annotations {
		b.Annotations[k] = v
	}
	return b
}

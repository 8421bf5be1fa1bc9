package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// PolicyOf is the policy a report made with cfg states (Report.Policy):
// what the publisher compares of a month with the flows no run measured
// left out of cfg.
func PolicyOf(cfg *config.Config) Policy { return policy(cfg) }

// policy is the accounting policy of cfg, as values and in plain sentences
// with the actual numbers.
func policy(cfg *config.Config) Policy {
	p := cfg.Policy
	down, up := cfg.Defaults.DownAfter, cfg.Defaults.UpAfter
	if down < 1 {
		down = 2
	}
	if up < 1 {
		up = 1
	}
	unknown, degraded := or(p.Unknown, "exclude"), or(p.Degraded, "up")
	out := Policy{
		DownAfter: down, UpAfter: up, Unknown: unknown, Degraded: degraded,
		Quorum: quorumName(p.Quorum), FlapGap: p.FlapGap.Seconds(), MinCoverage: p.MinCoverage,
	}
	t := []string{
		"A run fails when any step errors, times out or fails an assertion; the steps after a failed step are not run, the functions they serve count as unavailable (blocked), and a window's cause names the first failing step.",
		fmt.Sprintf("A flow at one location is down after %d consecutive failed %s, and the window starts at the start of the first failed run; %s.",
			down, plural(down, "run"), upText(up)),
	}
	if own := flowThresholds(cfg, down, up); own != "" {
		t = append(t, own)
	}
	if s := sessionText(cfg); s != "" {
		t = append(t, s)
	}
	t = append(t,
		quorumText(p.Quorum),
		"Single-location failures that do not reach the quorum are listed but not counted.",
	)
	if degraded == "down" {
		t = append(t, "Degraded time (all steps passed but one exceeded its latency objective) counts as down.")
	} else {
		t = append(t, "Degraded time (all steps passed but one exceeded its latency objective) is reported separately and counts as up.")
	}
	// The interval the flow had when it ran, not a figure from today's
	// config: a finished period's policy must not change, nor misstate
	// it, after a reload changes defaults.interval.
	gap := "No run for more than twice a flow's interval (the interval it had when it ran) is unknown time"
	if unknown == "down" {
		t = append(t, gap+"; unknown time counts as down.")
	} else {
		t = append(t, gap+"; it is excluded from the denominator and listed, never counted as up.")
	}
	noData := "A service or flow with nothing measured is marked no data and has no availability and no credit, never 0%."
	if unknown == "down" {
		noData = "A service or flow with nothing measured is marked no data; its unknown time counts as down."
	}
	// The denominator: unknown time leaves it, unless it counts as down.
	denom := "period - maintenance - unknown"
	if unknown == "down" {
		denom = "period - maintenance"
	}
	degradedRuns := ""
	if degraded == "down" {
		degradedRuns = " (their time counts as down)"
	}
	outages := fmt.Sprintf("Outages less than %s apart are counted as one incident; maintenance between or inside them neither splits an incident nor counts in its duration.", p.FlapGap)
	if degraded == "down" {
		outages += " Degraded stretches count as outages too."
	}
	t = append(t,
		"Maintenance windows from the configuration are excluded from the denominator and listed.",
		"Availability is up time / ("+denom+"), weighted by time, never a ratio of run counts; the run success ratio is shown beside it: the scheduled runs that passed, degraded ones included"+degradedRuns+", over all scheduled runs, those in planned maintenance too.",
		confirmText(cfg),
		noData,
	)
	if p.MinCoverage > 0 {
		t = append(t, fmt.Sprintf("A service whose runs covered less than %s of the period (less maintenance; of the time elapsed, for a period not over) has no SLA credit computed: too little was measured to judge the period, so its credit is withheld and the report says so, whatever its availability.", ratioPct(p.MinCoverage)))
	}
	t = append(t,
		"A service is down while any of its flows is down, and unknown only while none of its flows has data: a flow without data (not yet deployed, or stopped) does not count against its service while another flow covers it.",
		outages,
		"MTTD is the mean time from an incident's start to when its confirmation was known: the end of the run that confirmed it (with several locations, when as many locations as the quorum needs had each a confirming run ended: the last of them all when the quorum needs every location; of an outage the quorum never confirmed while it lasted, its location windows confirmed only after some had ended, when the windows of the quorum at one of its instants were all known, which may be after its end, never its start), so a confirming run that waited to its timeout counts in full; over the incidents whose start was seen (not before the period, after a stretch without data, or inside maintenance). A window stored without its confirming run's end (before schema version 11) whose run is no longer kept counts to that run's start.",
		"MTTR is the mean duration of the incidents seen to recover: begun and ended in the period, both edges measured; one still going on, cut by the period, next to time without data, or begun or ended inside maintenance (that edge is the maintenance's) counts in the incidents and the average outage but not in MTTR. MTBF is the up time divided by the number of incidents that began in the period (one still going on at its end included; one that began before it not).",
		"Declared incidents are reconciled with the windows of their functions. An edge cut by the period, next to time without data, or hidden by an earlier step's failure outside the declared incident is not a measured edge and is shown as such.",
		fmt.Sprintf("The error budget is (1 - objective) x (%s); the burn rate is the share of the budget consumed divided by the share of the period elapsed. Periods are in the %s time zone; days and months start at the first instant of their local date (01:00 where the clocks jump over midnight), and each day is weighted by its real length.", denom, zoneName(cfg)),
		"Percentages are truncated, never rounded up, with enough decimals to tell them from the objective: a figure is never shown reaching a threshold it misses.",
	)
	out.Text = t
	return out
}

// confirmText is the sentence on confirm runs: what they do when a flow
// makes them, that they are off when no flow does (confirm_every: 0s).
func confirmText(cfg *config.Config) string {
	for i := range cfg.Services {
		for j := range cfg.Services[i].Flows {
			if cfg.Services[i].Flows[j].ConfirmEvery > 0 {
				return "Confirm runs (a flow re-run every confirm_every while its verdict is in question, after a failed or degraded run, or while it is down or degraded) sharpen the windows' edges, degraded windows' as down ones', but are excluded from run counts, the run success ratio and latency percentiles, which count scheduled runs only (a base slot passed during confirm runs is counted once, by the first run at or after it); they are counted apart as confirm runs."
			}
		}
	}
	return "Confirm runs are off (confirm_every: 0s): every run is a scheduled one, and a window's edges are known to within a flow's interval."
}

// sessionText is the sentence on what a run that reuses a flow's session
// measures, naming the flows with a session and their ttl (at most
// maxOwnThresholds of them); "" when no flow has one. The rule is every
// function's (state.Machine: a run with none of a function's steps in its
// results is no evidence about it); a reused session is where it shows.
func sessionText(cfg *config.Config) string {
	var named []string
	n := 0
	for i := range cfg.Services {
		for j := range cfg.Services[i].Flows {
			f := &cfg.Services[i].Flows[j]
			if f.Session == nil {
				continue
			}
			n++
			if len(named) < maxOwnThresholds {
				ttl := f.Session.TTL
				if ttl <= 0 {
					ttl = config.DefaultSessionTTL
				}
				named = append(named, fmt.Sprintf("%s (ttl %s)", f.Name, fmtTTL(ttl)))
			}
		}
	}
	if n == 0 {
		return ""
	}
	list := strings.Join(named, ", ")
	if n > len(named) {
		list += fmt.Sprintf(" and %d more", n-len(named))
	}
	return "A function is judged only from the runs that exercised it (ran or blocked one of its steps). A flow with a session logs in only when its session is missing, expired or refused (" + list +
		"): a run that reuses the session runs no login step and is no evidence about a function only its login steps serve, which keeps its verdict between logins; a login window starts at the first login that failed, and the login may have failed at any time since the last that passed, up to a ttl before (the window's start bound). Each function's count of runs is listed where it is below its flow's."
}

// fmtTTL is d as "1h", "30m", "90s" or "1h30m": without Go's zero
// minutes and seconds.
func fmtTTL(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// maxOwnThresholds caps the flows named by flowThresholds, so a config of
// thousands of flows does not print thousands of names.
const maxOwnThresholds = 10

// flowThresholds is the sentence naming the flows whose own down_after or
// up_after differ from the defaults (down, up), with the numbers they use;
// "" when every flow uses the defaults.
func flowThresholds(cfg *config.Config, down, up int) string {
	var parts, only []string
	n := 0
	for i := range cfg.Services {
		for j := range cfg.Services[i].Flows {
			f := &cfg.Services[i].Flows[j]
			fd, fu := f.DownAfter, f.UpAfter
			if fd < 1 {
				fd = down
			}
			if fu < 1 {
				fu = up
			}
			if fd == down && fu == up {
				continue
			}
			n++
			if len(parts) < maxOwnThresholds {
				failed := fmt.Sprintf("%d consecutive failed runs", fd)
				if fd == 1 {
					failed = "1 failed run"
				}
				rule := fmt.Sprintf("down after %s, %s", failed, strings.TrimPrefix(upText(fu), "it is "))
				parts = append(parts, f.Name+" "+rule)
				only = append(only, "Flow "+f.Name+" has its own thresholds: "+rule+".")
			}
		}
	}
	switch {
	case n == 0:
		return ""
	case n == 1:
		return only[0]
	case n > len(parts):
		return fmt.Sprintf("Flows with their own thresholds: %s; and %d more.", strings.Join(parts, "; "), n-len(parts))
	}
	return "Flows with their own thresholds: " + strings.Join(parts, "; ") + "."
}

func zoneName(cfg *config.Config) string { return zone(cfg).String() }

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func upText(up int) string {
	if up == 1 {
		return "it is up again at the start of the first successful run"
	}
	return fmt.Sprintf("it is up again at the start of the first of %d consecutive successful runs", up)
}

func plural(n int, w string) string {
	if n == 1 {
		return w
	}
	return w + "s"
}

func quorumName(q config.Quorum) string {
	switch q.Mode {
	case "all":
		return "all"
	case "count":
		return fmt.Sprint(q.N)
	default:
		return "majority"
	}
}

func quorumText(q config.Quorum) string {
	var b strings.Builder
	b.WriteString("With several locations, a flow is down while ")
	switch q.Mode {
	case "all":
		b.WriteString("all of the locations reporting are down")
	case "count":
		fmt.Fprintf(&b, "at least %d of the locations reporting (all of them, when fewer report) are down", q.N)
	default:
		b.WriteString("a majority of the locations reporting are down (more than half)")
	}
	b.WriteString(" at the same time; a location reports unless it has an unknown stretch.")
	return b.String()
}

// ratioPct prints a 0..1 ratio as a percentage as configured, without
// trailing zeros (0.5: "50%", 0.033: "3.3%").
func ratioPct(v float64) string {
	s := strconv.FormatFloat(v*100, 'f', 4, 64)
	return strings.TrimRight(strings.TrimRight(s, "0"), ".") + "%"
}

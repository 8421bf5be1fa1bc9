// Package promqltest helps tests check that PromQL written by slaprobe (the
// generated rules, the Grafana dashboard) selects only series that exist.
package promqltest

import (
	"regexp"
	"slices"
	"strings"
)

// Exported lists the metric families the daemon and the alerter export
// (DESIGN "Metrics"), plus Prometheus' own `up`.
func Exported() []string {
	return []string{
		"up",
		"probe_success", "probe_duration_seconds", "probe_http_duration_seconds",
		"slaprobe_runs_total", "slaprobe_flow_up", "slaprobe_function_up", "slaprobe_window_open", "slaprobe_downtime_seconds_total",
		"slaprobe_availability_ratio", "slaprobe_objective_ratio",
		"slaprobe_store_dropped_results_total", "slaprobe_schedule_lag_seconds", "slaprobe_store_queue_depth",
		"slaprobe_store_batch_write_seconds", "slaprobe_store_committed_runs_total", "slaprobe_store_quarantined_total",
		"slaprobe_runs_skipped_total", "slaprobe_alert_notifications_total", "slaprobe_alerts_active",
		"slaprobe_build_info",
	}
}

// Known reports whether name is an exported family or one of a histogram's
// _bucket, _sum and _count series, or one of extra (recorded rules).
func Known(name string, extra ...string) bool {
	if slices.Contains(extra, name) {
		return true
	}
	for _, k := range Exported() {
		if name == k || name == k+"_bucket" || name == k+"_sum" || name == k+"_count" {
			return true
		}
	}
	return false
}

// Parser extracts metric names from PromQL. Build one with NewParser and keep
// it; its patterns are compiled once.
type Parser struct {
	strings, braces, grouping, ranges, ident *regexp.Regexp
}

// NewParser compiles the patterns.
func NewParser() *Parser {
	return &Parser{
		strings:  regexp.MustCompile(`"(?:[^"\\]|\\.)*"`),
		braces:   regexp.MustCompile(`\{[^}]*\}`),
		grouping: regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`),
		ranges:   regexp.MustCompile(`\[[^\]]*\]`),
		ident:    regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*\s*\(?`),
	}
}

// MetricNames returns the metric names a PromQL expression selects: what is
// left after strings, label matchers, groupings and ranges are removed, minus
// function calls and keywords. Simple, and enough for the expressions
// slaprobe generates and ships.
func (p *Parser) MetricNames(expr string) []string {
	s := p.strings.ReplaceAllString(expr, `""`)
	s = p.braces.ReplaceAllString(s, " ")
	s = p.grouping.ReplaceAllString(s, " ")
	s = p.ranges.ReplaceAllString(s, " ")
	var out []string
	for _, id := range p.ident.FindAllString(s, -1) {
		if strings.HasSuffix(id, "(") {
			continue // a function
		}
		switch id = strings.TrimSpace(id); id {
		case "and", "or", "unless", "bool", "offset", "inf", "nan", "Inf", "NaN":
			continue
		}
		out = append(out, id)
	}
	return out
}

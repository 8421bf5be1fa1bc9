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
	fams := families()
	out := make([]string, 0, len(fams))
	for name := range fams {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// families maps each exported family to its labels, as README's metrics
// table gives them (`up` with the labels Prometheus gives every target).
func families() map[string][]string {
	flow := []string{"flow", "step", "service", "location"}
	return map[string][]string{
		"up":                                                    {},
		"probe_success":                                         flow,
		"probe_duration_seconds":                                flow,
		"probe_http_duration_seconds":                           append(slices.Clone(flow), "phase"),
		"probe_ssl_earliest_cert_expiry":                        flow,
		"slaprobe_runs_total":                                   {"flow", "service", "location", "result"},
		"slaprobe_flow_up":                                      {"flow", "service", "location"},
		"slaprobe_function_up":                                  {"flow", "service", "function", "location"},
		"slaprobe_window_open":                                  {"flow", "service", "function", "kind"},
		"slaprobe_downtime_seconds_total":                       {"flow", "service", "function"},
		"slaprobe_availability_ratio":                           {"service", "window"},
		"slaprobe_objective_ratio":                              {"service"},
		"slaprobe_maintenance":                                  {"service"},
		"slaprobe_schedule_lag_seconds":                         {},
		"slaprobe_runs_skipped_total":                           {"flow"},
		"slaprobe_confirm_runs_total":                           {"flow", "service", "location"},
		"slaprobe_store_queue_depth":                            {},
		"slaprobe_store_batch_write_seconds":                    {},
		"slaprobe_store_committed_runs_total":                   {},
		"slaprobe_store_dropped_results_total":                  {},
		"slaprobe_store_quarantined_total":                      {},
		"slaprobe_alert_notifications_total":                    {"url", "result"},
		"slaprobe_alerts_active":                                {},
		"slaprobe_alert_verdict":                                {"mode"},
		"slaprobe_alert_state_save_failures_total":              {},
		"slaprobe_webhook_callbacks_total":                      {"result"},
		"slaprobe_reports_generated_total":                      {},
		"slaprobe_reports_publishing":                           {"location"},
		"slaprobe_report_deliveries_total":                      {"channel", "result"},
		"slaprobe_build_info":                                   {"version", "goversion"},
		"slaprobe_config_last_reload_successful":                {},
		"slaprobe_config_last_reload_success_timestamp_seconds": {},
		"slaprobe_clock_steps_total":                            {"direction"},
	}
}

// Labels returns the labels a series of name carries: its family's
// (a histogram's _bucket also le), plus the target labels Prometheus adds
// (instance, job); ok is false for a name that is not exported.
func Labels(name string) (labels []string, ok bool) {
	fams := families()
	for fam, ls := range fams {
		switch name {
		case fam, fam + "_sum", fam + "_count":
		case fam + "_bucket":
			ls = append(slices.Clone(ls), "le")
		default:
			continue
		}
		return append(slices.Clone(ls), "instance", "job"), true
	}
	return nil, false
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
	matcher, word                            *regexp.Regexp
}

// NewParser compiles the patterns.
func NewParser() *Parser {
	return &Parser{
		strings:  regexp.MustCompile(`"(?:[^"\\]|\\.)*"`),
		braces:   regexp.MustCompile(`\{[^}]*\}`),
		grouping: regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`),
		ranges:   regexp.MustCompile(`\[[^\]]*\]`),
		ident:    regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*\s*\(?`),
		matcher:  regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`),
		word:     regexp.MustCompile(`[a-zA-Z_][a-zA-Z0-9_]*`),
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

// LabelNames returns the label names an expression names: in its matchers
// (`{service=~"..."}`) and its groupings (`by (flow, kind)`, `on (service)`,
// `group_left (flow)`), each once, in order of appearance.
func (p *Parser) LabelNames(expr string) []string {
	s := p.strings.ReplaceAllString(expr, `""`)
	var out []string
	add := func(l string) {
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	for _, b := range p.braces.FindAllString(s, -1) {
		for _, m := range p.matcher.FindAllStringSubmatch(b, -1) {
			add(m[1])
		}
	}
	for _, g := range p.grouping.FindAllString(s, -1) {
		_, list, _ := strings.Cut(g, "(")
		for _, l := range p.word.FindAllString(list, -1) {
			add(l)
		}
	}
	return out
}

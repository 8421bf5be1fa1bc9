package promqltest

import (
	"slices"
	"testing"
)

func TestMetricNames(t *testing.T) {
	p := NewParser()
	tests := []struct {
		expr string
		want []string
	}{
		{`sum by (service) (rate(slaprobe_runs_total{service="a b",result="failed"}[5m]))`, []string{"slaprobe_runs_total"}},
		{`slaprobe:sli_error:ratio_rate5m{service="x"} > (14.4 * 0.001) and slaprobe:sli_error:ratio_rate1h > 1`, []string{"slaprobe:sli_error:ratio_rate5m", "slaprobe:sli_error:ratio_rate1h"}},
		{`absent(up{job=~"slaprobe.*"})`, []string{"up"}},
		{`histogram_quantile(0.95, sum by (le) (rate(probe_duration_seconds_bucket[5m])))`, []string{"probe_duration_seconds_bucket"}},
		{`a / on(service) group_left(flow) b`, []string{"a", "b"}},
		{`sum by (flow, result) (rate(slaprobe_runs_total{service=~"$service"}[$__rate_interval]))`, []string{"slaprobe_runs_total"}},
		{`a / on (service) (1 - b{x="y"})`, []string{"a", "b"}},
		{`up{job=~"slaprobe.*"} == bool 0 or absent(up)`, []string{"up", "up"}},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			if got := p.MetricNames(tc.expr); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestKnown(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra []string
		want  bool
	}{
		{"slaprobe_flow_up", nil, true},
		{"probe_duration_seconds_bucket", nil, true},
		{"slaprobe_schedule_lag_seconds_count", nil, true},
		{"slaprobe_flow_down", nil, false},
		{"slaprobe:sli_error:ratio_rate5m", nil, false},
		{"slaprobe:sli_error:ratio_rate5m", []string{"slaprobe:sli_error:ratio_rate5m"}, true},
	} {
		if got := Known(tc.name, tc.extra...); got != tc.want {
			t.Errorf("Known(%q, %v) = %v, want %v", tc.name, tc.extra, got, tc.want)
		}
	}
}

func TestLabelNames(t *testing.T) {
	p := NewParser()
	tests := []struct {
		expr string
		want []string
	}{
		{`sum by (flow, result) (rate(slaprobe_runs_total{service=~"$service",location!="a,b"}[5m]))`, []string{"service", "location", "flow", "result"}},
		{`a / on (service) group_left (flow) b{x="y{z}"}`, []string{"x", "service", "flow"}},
		{`slaprobe_store_queue_depth`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			if got := p.LabelNames(tc.expr); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLabels(t *testing.T) {
	for _, tc := range []struct {
		name string
		want []string
		ok   bool
	}{
		{"slaprobe_downtime_seconds_total", []string{"flow", "service", "function", "instance", "job"}, true},
		{"probe_duration_seconds_bucket", []string{"flow", "step", "service", "location", "le", "instance", "job"}, true},
		{"slaprobe_schedule_lag_seconds_count", []string{"instance", "job"}, true},
		{"slaprobe_flow_down", nil, false},
	} {
		got, ok := Labels(tc.name)
		if ok != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("Labels(%q) = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

package config

import (
	"strings"
	"testing"
)

// TestMinCoverage: policy.min_coverage is a share of the period, 0..1, off
// (0) by default; anything else is an error naming the file, line and key.
func TestMinCoverage(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
	}{{"", 0}, {"policy: {min_coverage: 0}\n", 0}, {"policy: {min_coverage: 0.5}\n", 0.5}, {"policy: {min_coverage: 1}\n", 1}} {
		cfg := mustParse(t, tc.in+minimal, Options{})
		if cfg.Policy.MinCoverage != tc.want {
			t.Errorf("%q: min_coverage = %v, want %v", tc.in, cfg.Policy.MinCoverage, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"policy: {min_coverage: 1.5}\n", "test.yaml:1: policy.min_coverage: min_coverage 1.5 is outside [0, 1]"},
		{"policy:\n  min_coverage: -0.1\n", "test.yaml:2: policy.min_coverage: min_coverage -0.1 is outside [0, 1]"},
		{"policy: {min_coverage: 50%}\n", "test.yaml:1: policy.min_coverage: expected a number"},
	} {
		_, err := Parse("test.yaml", []byte(tc.in+minimal), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.in, err, tc.want)
		}
	}
}

package config

import (
	"encoding/json"
	"testing"
)

// TestJSONBodyNumbers: a number in a request's json: is sent with every
// digit it was written with. An integer past int64 (an order number, an
// amount in the smallest unit of a currency) was decoded as a float64 and
// went out as 1.2345678901234568e+22; a decimal with more digits than a
// float64 holds was rounded.
func TestJSONBodyNumbers(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"12345678901234567890123", "12345678901234567890123"},
		{"-12345678901234567890123", "-12345678901234567890123"},
		{"9223372036854775807", "9223372036854775807"},
		{"9223372036854775808", "9223372036854775808"},
		{"0x1F", "31"},
		{".5", "0.5"},
		{"+12345678901234567.89", "12345678901234568"},
		{"12345678901234567.89", "12345678901234567.89"},
		{"0.1000000000000000000001", "0.1000000000000000000001"},
		{"12.50", "12.5"},
		{"1e3", "1000"},
		{"0.1", "0.1"},
		{"5", "5"},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			src := "services:\n  - name: s\n    flows:\n      - name: f\n        steps:\n" +
				"          - {name: a, function: b, request: {url: \"http://127.0.0.1/\", json: {n: " + tt.yaml + "}}}\n"
			cfg, err := Parse("test.yaml", []byte(src), Options{})
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(cfg.Services[0].Flows[0].Steps[0].Request.JSON)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(b), `{"n":`+tt.want+`}`; got != want {
				t.Errorf("sent %s, want %s", got, want)
			}
		})
	}
}

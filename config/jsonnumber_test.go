package config

import (
	"encoding/json"
	"strings"
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

// TestJSONBodyKeysChecked: the keys of a request's json: are templates (the
// runner fills them in), but check did not look at them: an undefined
// variable in one passed check and then stopped once and run ("json:
// undefined variable ${nope}").
func TestJSONBodyKeysChecked(t *testing.T) {
	src := "services:\n  - name: s\n    flows:\n      - name: f\n        vars: {k: key1}\n        steps:\n" +
		"          - name: a\n            function: b\n            request:\n              url: \"http://127.0.0.1/\"\n" +
		"              json:\n                \"${k}\": 1\n                \"${nope}\": 2\n                n: {\"${bad\": 3}\n"
	_, err := Parse("test.yaml", []byte(src), Options{})
	for _, want := range []string{
		"test.yaml:13: services[0].flows[0].steps[0].request.json[\"${nope}\"]: ${nope} is not defined by an earlier var or an earlier step's extract",
		"test.yaml:14: services[0].flows[0].steps[0].request.json.n[\"${bad\"]: unterminated ${ in template",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v\nwant %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "${k}") {
		t.Errorf("a defined variable in a key refused: %v", err)
	}
}

// TestFormKeyNotTemplate: a form key is sent as written, so a reference in
// one ("${k}": v) went out as the text ${k}; check refuses it.
func TestFormKeyNotTemplate(t *testing.T) {
	src := "services:\n  - name: s\n    flows:\n      - name: f\n        vars: {k: key1}\n        steps:\n" +
		"          - name: a\n            function: b\n            request:\n              url: \"http://127.0.0.1/\"\n" +
		"              form:\n                \"${k}\": \"${k}\"\n"
	_, err := Parse("test.yaml", []byte(src), Options{})
	want := `test.yaml:12: services[0].flows[0].steps[0].request.form["${k}"]: a form key is not a template: ${k} is not filled in`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v\nwant %q", err, want)
	}
}

// TestMatcherBoundAsWritten: a gt/ge/lt/le threshold keeps the text it was
// written with (through an alias too), so the runner can compare IDs past
// 2^53 exactly: as a float64, 9007199254740993 reads as 9007199254740992.
func TestMatcherBoundAsWritten(t *testing.T) {
	src := "services:\n  - name: s\n    flows:\n      - name: f\n        steps:\n" +
		"          - name: a\n            function: b\n            request: {url: \"http://127.0.0.1/\"}\n" +
		"            expect:\n              jsonpath:\n" +
		"                \"$.a\": {gt: &big 9007199254740993}\n" +
		"                \"$.b\": {le: *big}\n" +
		"                \"$.c\": {lt: 12345678901234567890123}\n" +
		"                \"$.d\": {ge: 1.5}\n"
	cfg, err := Parse("test.yaml", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"9007199254740993", "9007199254740993", "12345678901234567890123", "1.5"}
	for i, pm := range cfg.Services[0].Flows[0].Steps[0].Expect.JSONPath {
		if pm.Matcher.Bound != want[i] {
			t.Errorf("%s: Bound %q, want %q", pm.Path, pm.Matcher.Bound, want[i])
		}
	}
}

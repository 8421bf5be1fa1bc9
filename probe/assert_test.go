package probe

import (
	"context"
	"testing"

	"github.com/slaprobe/slaprobe/config"
)

func TestAssertions(t *testing.T) {
	_, srv := newTarget(t)
	path := func(p string, m config.Matcher) config.Expect {
		return config.Expect{JSONPath: []config.PathMatch{{Path: p, Matcher: m}}}
	}
	tests := []struct {
		name    string
		url     string
		expect  config.Expect
		status  Status
		errText string
	}{
		{"status default ok", "/doc", config.Expect{}, StatusOK, ""},
		{"status default 503", "/status/503", config.Expect{}, StatusFailed, "s: status 503, want 200-399"},
		{"status default 404", "/status/404", config.Expect{}, StatusFailed, "s: status 404, want 200-399"},
		{"status listed", "/status/201", config.Expect{Status: []int{201}}, StatusOK, ""},
		{"status not listed", "/status/503", config.Expect{Status: []int{201}}, StatusFailed, "s: status 503, want 201"},
		{"status two listed", "/status/500", config.Expect{Status: []int{200, 204}}, StatusFailed, "s: status 500, want 200 or 204"},

		{"equals string", "/doc", path("$.status", eq("settled")), StatusOK, ""},
		{"equals string fails", "/doc", path("$.status", eq("pending")), StatusFailed,
			`s: $.status does not equal "pending" (got "settled")`},
		{"equals int", "/doc", path("$.count", eq("3")), StatusOK, ""},
		{"equals int as float", "/doc", path("$.count", eq("3.0")), StatusOK, ""},
		{"equals float", "/doc", path("$.ratio", eq("0.5")), StatusOK, ""},
		{"equals bool", "/doc", path("$.ok", eq("true")), StatusOK, ""},
		{"equals null", "/doc", path("$.none", eq("null")), StatusOK, ""},
		{"equals big number", "/doc", path("$.big", eq("12345678901234567890")), StatusOK, ""},
		// IDs past 2^53 (snowflakes, order numbers) differ in digits a
		// float64 cannot hold: compared as floats, every neighbour passed.
		{"equals int64 id", "/ids", path("$.id", eq("1234567890123456789")), StatusOK, ""},
		{"equals int64 id in exponent form", "/ids", path("$.id", eq("1.234567890123456789e18")), StatusOK, ""},
		{"equals int64 id off by one fails", "/ids", path("$.id", eq("1234567890123456788")), StatusFailed,
			`s: $.id does not equal "1234567890123456788" (got 1234567890123456789)`},
		{"equals big number off by one fails", "/ids", path("$.big", eq("12345678901234567890124")), StatusFailed,
			`s: $.big does not equal "12345678901234567890124" (got 12345678901234567890123)`},
		{"equals big number written otherwise", "/ids", path("$.big", eq("12345678901234567890123.0")), StatusOK, ""},
		{"contains id past 2^53 fails on its neighbour", "/ids", path("$.ids", config.Matcher{Contains: sp("9007199254740992")}), StatusFailed,
			`s: $.ids does not contain "9007199254740992"`},
		{"equals wildcard id past 2^53 fails on its neighbour", "/ids", path("$.ids[*]", eq("9007199254740992")), StatusFailed,
			`s: $.ids[*] does not equal "9007199254740992" (got 9007199254740993)`},
		{"contains id past 2^53", "/ids", path("$.ids", config.Matcher{Contains: sp("9007199254740993")}), StatusOK, ""},
		{"equals object", "/doc", path("$.obj", eq(`{"k": "v"}`)), StatusOK, ""},
		{"equals one of several", "/doc", path("$.messages[*].id", eq("m-170")), StatusOK, ""},
		{"equals selects nothing", "/doc", path("$.missing", eq("x")), StatusFailed,
			`s: $.missing selected nothing, want "x"`},
		{"equals templated", "/doc", path("$.name", eq("probe ${location}")), StatusOK, ""},

		{"contains array", "/doc", path("$.tags", config.Matcher{Contains: sp("b")}), StatusOK, ""},
		{"contains array fails", "/doc", path("$.tags", config.Matcher{Contains: sp("c")}), StatusFailed,
			`s: $.tags does not contain "c"`},
		{"contains text", "/doc", path("$.name", config.Matcher{Contains: sp("seoul")}), StatusOK, ""},
		{"contains object key", "/doc", path("$.obj", config.Matcher{Contains: sp("k")}), StatusOK, ""},
		{"contains wildcard exact", "/doc", path("$.messages[*].id", config.Matcher{Contains: sp("m-1")}), StatusOK, ""},
		{"contains wildcard not substring", "/doc", path("$.messages[*].id", config.Matcher{Contains: sp("m-17")}), StatusFailed,
			`s: $.messages[*].id does not contain "m-17"`},

		{"exists", "/doc", path("$.token", config.Matcher{Exists: bp(true)}), StatusOK, ""},
		{"exists fails", "/doc", path("$.nope", config.Matcher{Exists: bp(true)}), StatusFailed, "s: $.nope does not exist"},
		{"absent", "/doc", path("$.nope", config.Matcher{Exists: bp(false)}), StatusOK, ""},
		{"absent fails", "/doc", path("$.token", config.Matcher{Exists: bp(false)}), StatusFailed,
			`s: $.token exists (got "tok-1"), want absent`},

		{"gt", "/doc", path("$.count", config.Matcher{GT: fp(2)}), StatusOK, ""},
		{"gt fails", "/doc", path("$.count", config.Matcher{GT: fp(3)}), StatusFailed, "s: $.count is 3, want > 3"},
		{"ge", "/doc", path("$.count", config.Matcher{GE: fp(3)}), StatusOK, ""},
		{"ge fails", "/doc", path("$.ratio", config.Matcher{GE: fp(0.75)}), StatusFailed, "s: $.ratio is 0.5, want >= 0.75"},
		{"lt", "/doc", path("$.ratio", config.Matcher{LT: fp(1)}), StatusOK, ""},
		{"lt fails", "/doc", path("$.count", config.Matcher{LT: fp(1)}), StatusFailed, "s: $.count is 3, want < 1"},
		{"le", "/doc", path("$.count", config.Matcher{LE: fp(3)}), StatusOK, ""},
		{"le fails", "/doc", path("$.count", config.Matcher{LE: fp(2.5)}), StatusFailed, "s: $.count is 3, want <= 2.5"},
		// The threshold as written, not in exponent form ("want > 1e+06").
		// Past 2^53 neighbouring integers share one float64: compared as
		// floats, an ID 9007199254740993 was not > 9007199254740992 and was
		// <= it.
		{"gt past 2^53", "/ids", path("$.ids[0]", bound("gt", "9007199254740992")), StatusOK, ""},
		{"le past 2^53 fails", "/ids", path("$.ids[0]", bound("le", "9007199254740992")), StatusFailed,
			"s: $.ids[0] is 9007199254740993, want <= 9007199254740992"},
		{"ge past 2^53 fails", "/ids", path("$.ids[0]", bound("ge", "9007199254740994")), StatusFailed,
			"s: $.ids[0] is 9007199254740993, want >= 9007199254740994"},
		{"lt past 2^53 fails", "/ids", path("$.ids[0]", bound("lt", "9007199254740993")), StatusFailed,
			"s: $.ids[0] is 9007199254740993, want < 9007199254740993"},
		{"gt int64 id", "/ids", path("$.id", bound("gt", "1234567890123456788")), StatusOK, ""},
		{"gt past int64", "/ids", path("$.big", bound("gt", "12345678901234567890122")), StatusOK, ""},
		{"lt past int64 fails", "/ids", path("$.big", bound("lt", "12345678901234567890123")), StatusFailed,
			"s: $.big is 12345678901234567890123, want < 12345678901234567890123"},
		{"gt id in a string", "/ids", path("$.sid", bound("gt", "9007199254740992")), StatusOK, ""},
		{"gt a million fails", "/doc", path("$.count", config.Matcher{GT: fp(1000000)}), StatusFailed, "s: $.count is 3, want > 1000000"},
		{"ge a small fraction fails", "/doc", path("$.none", config.Matcher{GE: fp(0.0000005)}), StatusFailed, "s: $.none is null, want a number >= 0.0000005"},
		{"numeric on text fails", "/doc", path("$.status", config.Matcher{GT: fp(0)}), StatusFailed,
			`s: $.status is "settled", want a number > 0`},
		{"numeric selects nothing", "/doc", path("$.x", config.Matcher{LT: fp(0)}), StatusFailed,
			"s: $.x selected nothing, want < 0"},

		{"matches", "/doc", path("$.name", config.Matcher{Matches: `^probe \w+-a$`}), StatusOK, ""},
		{"matches fails", "/doc", path("$.name", config.Matcher{Matches: `^busan`}), StatusFailed,
			`s: $.name does not match "^busan" (got "probe seoul-a")`},
		{"matches templated", "/doc", path("$.name", config.Matcher{Matches: `${location}$`}), StatusOK, ""},

		{"body contains", "/doc", config.Expect{Body: &config.Matcher{Contains: sp(`"settled"`)}}, StatusOK, ""},
		{"body contains fails", "/doc", config.Expect{Body: &config.Matcher{Contains: sp("pending")}}, StatusFailed,
			`s: body does not contain "pending"`},
		{"body matches", "/doc", config.Expect{Body: &config.Matcher{Matches: `"count":\d+`}}, StatusOK, ""},
		{"body equals fails", "/status/200", config.Expect{Body: &config.Matcher{Equals: sp("x")}}, StatusFailed,
			`s: body selected nothing, want "x"`},

		{"header equals", "/doc", config.Expect{Headers: []config.HeaderMatch{{Name: "x-request-id", Matcher: eq("req-42")}}}, StatusOK, ""},
		{"header equals fails", "/doc", config.Expect{Headers: []config.HeaderMatch{{Name: "X-Request-Id", Matcher: eq("req-1")}}}, StatusFailed,
			`s: header X-Request-Id does not equal "req-1" (got "req-42")`},
		{"header contains", "/doc", config.Expect{Headers: []config.HeaderMatch{{Name: "Content-Type", Matcher: config.Matcher{Contains: sp("json")}}}}, StatusOK, ""},
		{"header exists fails", "/doc", config.Expect{Headers: []config.HeaderMatch{{Name: "X-Nope", Matcher: config.Matcher{Exists: bp(true)}}}}, StatusFailed,
			"s: header X-Nope does not exist"},
		{"header matches", "/doc", config.Expect{Headers: []config.HeaderMatch{{Name: "X-Request-Id", Matcher: config.Matcher{Matches: `^req-\d+$`}}}}, StatusOK, ""},

		{"empty body", "/status/200", path("$.a", config.Matcher{Exists: bp(true)}), StatusFailed, "s: $.a: body is empty, want JSON"},
		{"not json", "/text", path("$.a", config.Matcher{Exists: bp(true)}), StatusFailed, `s: $.a: body is not JSON (got "hello world, order=ord-991 done")`},
		{"not json, scanned path", "/text", path("$.messages[*].id", config.Matcher{Contains: sp("m-1")}), StatusFailed, `s: $.messages[*].id: body is not JSON (got "hello world, order=ord-991 done")`},
		{"json and body together", "/echo?x", config.Expect{Body: &config.Matcher{Contains: sp("GET")}, JSONPath: []config.PathMatch{{Path: "$.method", Matcher: eq("GET")}}}, StatusOK, ""},
		{"status checked first", "/status/500", path("$.a", config.Matcher{Exists: bp(true)}), StatusFailed, "s: status 500, want 200-399"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := get("s", srv.URL+tc.url)
			st.Expect = tc.expect
			run := runOne(t, context.Background(), config.Flow{Steps: []config.Step{st}}, Options{})
			wantStep(t, run.Steps[0], tc.status, tc.errText)
		})
	}
}

func TestLatencyDegraded(t *testing.T) {
	_, srv := newTarget(t)
	st := get("s", srv.URL+"/slow?d=30ms")
	st.Expect.Latency = 5 * 1e6 // 5ms
	run := runOne(t, context.Background(), config.Flow{Steps: []config.Step{st}}, Options{})
	s := run.Steps[0]
	if s.Status != StatusDegraded || !run.OK() || !run.Degraded() {
		t.Fatalf("got %s (%q), want degraded and run ok", s.Status, s.Error)
	}
}

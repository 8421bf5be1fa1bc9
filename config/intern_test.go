package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// internConfig is a config of n flows over two services whose steps repeat
// the same texts (names, function, method, URL, headers, JSONPaths,
// matcher values); flow names differ.
func internConfig(n int) []byte {
	var b strings.Builder
	b.WriteString("location: x\nservices:\n")
	for s := range 2 {
		fmt.Fprintf(&b, "  - name: svc-%d\n    flows:\n", s)
		for i := range n / 2 {
			fmt.Fprintf(&b, `      - name: flow-%d-%d
        steps:
          - name: search
            function: search
            request:
              method: post
              url: "http://127.0.0.1:9/maps/search?q=station"
              headers: {X-Probe: slaprobe}
            expect:
              status: [200]
              headers: {Content-Type: {contains: json}}
              jsonpath: {"$.query": station, "$.n": {equals: "3"}, "$.ok": {exists: true}}
            extract: {q: {jsonpath: $.query}}
`, s, i)
		}
	}
	return []byte(b.String())
}

// internedTexts are the texts of a flow's first step that internConfig
// repeats in every flow.
func internedTexts(t *testing.T, f *Flow) map[string]string {
	t.Helper()
	st := f.Steps[0]
	if len(st.Request.Headers) != 1 || len(st.Expect.Headers) != 1 || len(st.Expect.JSONPath) != 3 || len(st.Extract) != 1 {
		t.Fatalf("flow %s: unexpected step %+v", f.Name, st)
	}
	out := map[string]string{
		"service":             f.Service,
		"step name":           st.Name,
		"function":            st.Function,
		"method":              st.Request.Method,
		"url":                 st.Request.URL,
		"expect header":       st.Expect.Headers[0].Name,
		"expect header value": *st.Expect.Headers[0].Matcher.Contains,
		"jsonpath":            st.Expect.JSONPath[0].Path,
		"jsonpath value":      *st.Expect.JSONPath[0].Matcher.Equals,
		"jsonpath equals":     *st.Expect.JSONPath[1].Matcher.Equals,
		"extract var":         st.Extract[0].Var,
		"extract jsonpath":    st.Extract[0].JSONPath,
	}
	for k, v := range st.Request.Headers {
		out["request header"], out["request header value"] = k, v
	}
	return out
}

// TestParseInternsRepeatedStrings: equal texts of different flows (also in
// different split pieces, and in different services) share one backing
// array, and equal matcher operands one pointer, whether the file is
// parsed whole or split; the two parses stay DeepEqual, and each service's
// flows slice holds no spare capacity.
func TestParseInternsRepeatedStrings(t *testing.T) {
	data := internConfig(600) // ~290 KiB: split, each list cut in pieces
	if len(data) < splitMinBytes {
		t.Fatalf("%d bytes: below the split parse's threshold", len(data))
	}
	whole, ok, err := parse("i.yaml", data, Options{}, false)
	if !ok || err != nil {
		t.Fatalf("whole: %v", err)
	}
	sp := newParser("i.yaml", data, Options{})
	if !sp.load(true) {
		t.Fatal("split parse declined")
	}
	split, err := sp.result()
	if err != nil {
		t.Fatalf("split: %v", err)
	}
	if sp.pieces < 4 {
		t.Fatalf("split into %d pieces; want several per list", sp.pieces)
	}
	if !reflect.DeepEqual(split, whole) {
		t.Fatal("split parse differs from the whole document's")
	}
	for name, cfg := range map[string]*Config{"whole": whole, "split": split} {
		first := internedTexts(t, &cfg.Services[0].Flows[0])
		for _, svc := range cfg.Services {
			if len(svc.Flows) != 300 || cap(svc.Flows) != len(svc.Flows) {
				t.Errorf("%s: service %s: %d flows, capacity %d", name, svc.Name, len(svc.Flows), cap(svc.Flows))
			}
			for _, i := range []int{0, len(svc.Flows) / 2, len(svc.Flows) - 1} {
				f := &svc.Flows[i]
				for what, s := range internedTexts(t, f) {
					if what == "service" {
						continue // differs between the services
					}
					if s != first[what] {
						t.Fatalf("%s: flow %s: %s %q, want %q", name, f.Name, what, s, first[what])
					}
					if unsafe.StringData(s) != unsafe.StringData(first[what]) {
						t.Errorf("%s: flow %s: %s %q is a copy, not the first flow's string", name, f.Name, what, s)
					}
				}
				first0, jp := cfg.Services[0].Flows[0].Steps[0].Expect, f.Steps[0].Expect
				if jp.Headers[0].Matcher.Contains != first0.Headers[0].Matcher.Contains ||
					jp.JSONPath[0].Matcher.Equals != first0.JSONPath[0].Matcher.Equals ||
					jp.JSONPath[1].Matcher.Equals != first0.JSONPath[1].Matcher.Equals ||
					jp.JSONPath[2].Matcher.Exists != first0.JSONPath[2].Matcher.Exists || !*jp.JSONPath[2].Matcher.Exists {
					t.Errorf("%s: flow %s: a matcher operand is not the first flow's pointer", name, f.Name)
				}
				if unsafe.StringData(f.Service) != unsafe.StringData(svc.Name) {
					t.Errorf("%s: flow %s: service name is a copy", name, f.Name)
				}
			}
		}
	}
}

// TestInternKeepsValues: intern returns an equal string, the first one met
// for each value.
func TestInternKeepsValues(t *testing.T) {
	var d decoder
	a, b := strings.Repeat("ab", 3), strings.Repeat("ab", 3)
	if unsafe.StringData(a) == unsafe.StringData(b) {
		t.Fatal("test strings share memory")
	}
	for _, tt := range []struct{ in, want string }{{a, a}, {b, a}, {"x", "x"}, {"", ""}} {
		got := d.intern(tt.in)
		if got != tt.in || unsafe.StringData(got) != unsafe.StringData(tt.want) {
			t.Errorf("intern(%q) = %q at %p, want %p", tt.in, got, unsafe.StringData(got), unsafe.StringData(tt.want))
		}
	}
}

// TestInternPtrSharesEqualOperands: internPtr and boolPtr give one pointer
// per value, to that value.
func TestInternPtrSharesEqualOperands(t *testing.T) {
	var d decoder
	a, b, c := d.internPtr("station"), d.internPtr(strings.Repeat("station", 1)), d.internPtr("3")
	if a != b || *a != "station" || c == a || *c != "3" {
		t.Errorf("internPtr: %p %q, %p %q, %p %q", a, *a, b, *b, c, *c)
	}
	if unsafe.StringData(*a) != unsafe.StringData(d.intern("station")) {
		t.Error("internPtr's string is not intern's")
	}
	yes, no := d.boolPtr(true), d.boolPtr(false)
	if yes != d.boolPtr(true) || no != d.boolPtr(false) || !*yes || *no {
		t.Errorf("boolPtr: %p %v, %p %v", yes, *yes, no, *no)
	}
}

package config

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestWarningsTimelineOffsetSeconds: RFC 3339 writes an offset to the
// minute, so a time in a zone whose offset then had seconds (Liberia's
// -00:44:30 until 1972, any zone's local mean time before 1900) cannot be
// written with that offset: it got a warning either way, which told the
// writer to write what they had written ("1970-06-01T12:00:00-00:44 has
// the offset -00:44, but Africa/Monrovia ... was at -00:44 then: ... write
// 1970-06-01T12:00:00-00:44 (30s apart)"). An offset within the minute of
// the zone's is the zone's; a real confusion still warns.
func TestWarningsTimelineOffsetSeconds(t *testing.T) {
	files := map[string]string{
		"c.yaml": "services:\n  - name: account\n    timelines: [t.yaml]\n    flows:\n      - name: f\n        steps:\n          - {name: a, function: login, request: {url: \"http://127.0.0.1:1/\"}}\n" +
			"          - {name: b, function: f1, request: {url: \"http://127.0.0.1:1/\"}}\n          - {name: c, function: f2, request: {url: \"http://127.0.0.1:1/\"}}\n          - {name: d, function: f3, request: {url: \"http://127.0.0.1:1/\"}}\n", // a function each: incidents that overlap on one are a warning of their own
		"t.yaml": "timezone: Africa/Monrovia\n" +
			"incidents:\n" +
			"  - {id: down, service: account, functions: [login], start: 1970-06-01T12:00:00-00:44, end: 1970-06-01T13:00:00-00:45}\n" +
			"  - {id: hour, service: account, functions: [f1], start: 1970-06-01T12:00:00-01:00}\n",
	}
	read := func(name string) ([]byte, error) { return []byte(files[name]), nil }
	cfg, err := Parse("c.yaml", []byte(files["c.yaml"]), Options{ReadFile: read})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range cfg.Warnings("sqlite") {
		got = append(got, fmt.Sprintf("%s:%d: %s: %s", w.File, w.Line, w.Key, w.Msg))
	}
	want := []string{
		`t.yaml:4: incidents[1].start: 1970-06-01T12:00:00-01:00 has the offset -01:00, but Africa/Monrovia (the timeline's timezone) was at -00:44 (MMT) then: if the provider gave the time in Africa/Monrovia, write 1970-06-01T12:00:00-00:44 (15m30s apart)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("Warnings =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestHours: the warning's "(N apart)" keeps the seconds of a difference:
// the "0s" trimmed from "30m0s" was trimmed from "30s" and "15m30s" too,
// which read "(3 apart)" and "(15m3 apart)".
func TestHours(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{time.Hour, "an hour"},
		{16 * time.Hour, "16 hours"},
		{30 * time.Minute, "30m"},
		{5*time.Hour + 30*time.Minute, "5h30m"},
		{15*time.Minute + 30*time.Second, "15m30s"},
		{30 * time.Second, "30s"},
		{10 * time.Minute, "10m"},
		{7*time.Minute + 2*time.Second, "7m2s"},
	} {
		if got := hours(tc.d); got != tc.want {
			t.Errorf("hours(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// TestWarningsTimelineOffsetInGap: a time whose wall clock the timeline's
// zone skipped that day (02:30 in Los Angeles on 2021-03-14) has no
// offset to suggest: the two times the warning proposed for each other,
// "write 2021-03-14T02:30:00-07:00" for -08:00 and "write
// 2021-03-14T02:30:00-08:00" for -07:00, each got the other warning. The
// warning says the wall clock did not exist and gives the same instant
// in the zone, which gets none.
func TestWarningsTimelineOffsetInGap(t *testing.T) {
	files := map[string]string{
		"c.yaml": "services:\n  - name: account\n    timelines: [t.yaml]\n    flows:\n      - name: f\n        steps:\n          - {name: a, function: login, request: {url: \"http://127.0.0.1:1/\"}}\n" +
			"          - {name: b, function: f1, request: {url: \"http://127.0.0.1:1/\"}}\n          - {name: c, function: f2, request: {url: \"http://127.0.0.1:1/\"}}\n          - {name: d, function: f3, request: {url: \"http://127.0.0.1:1/\"}}\n", // a function each: incidents that overlap on one are a warning of their own
		"t.yaml": "timezone: America/Los_Angeles\n" +
			"incidents:\n" +
			"  - {id: pst, service: account, functions: [login], start: 2021-03-14T02:30:00-08:00}\n" +
			"  - {id: pdt, service: account, functions: [f1], start: 2021-03-14T02:30:00-07:00}\n" +
			"  - {id: same, service: account, functions: [f2], start: 2021-03-14T03:30:00-07:00}\n" +
			"  - {id: same2, service: account, functions: [f3], start: 2021-03-14T01:30:00-08:00}\n",
	}
	read := func(name string) ([]byte, error) { return []byte(files[name]), nil }
	cfg, err := Parse("c.yaml", []byte(files["c.yaml"]), Options{ReadFile: read})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range cfg.Warnings("sqlite") {
		got = append(got, fmt.Sprintf("%s:%d: %s: %s", w.File, w.Line, w.Key, w.Msg))
	}
	want := []string{
		`t.yaml:3: incidents[0].start: 2021-03-14T02:30:00-08:00 has the offset -08:00, but America/Los_Angeles (the timeline's timezone) was at -07:00 (PDT) then, and its clocks skipped 02:30:00 that day: the same instant there is 2021-03-14T03:30:00-07:00`,
		`t.yaml:4: incidents[1].start: 2021-03-14T02:30:00-07:00 has the offset -07:00, but America/Los_Angeles (the timeline's timezone) was at -08:00 (PST) then, and its clocks skipped 02:30:00 that day: the same instant there is 2021-03-14T01:30:00-08:00`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("Warnings =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

package config

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// A slow incident and a down (error, drop) one that overlap on a function
// are not the mistake the overlap warning is for: the reconciliation gives
// a degraded window to the slow one and a down window to the other
// (report's TestSlowAroundDownReconciled: a ten-minute outage inside an
// hour of slowness, every delta 0), so neither's delta counts the other's
// time. Two of the same kind (slow and slow; down, error and drop, all
// measured by down windows) still warn.
func TestTimelineOverlapKinds(t *testing.T) {
	inc := func(id, mode, start, end string) string {
		s := "  - id: " + id + "\n    service: payments\n    functions: [send]\n    mode: " + mode + "\n    start: " + start + "\n    end: " + end + "\n"
		if mode == "slow" {
			s += "    latency: 2s\n"
		}
		return s
	}
	tests := []struct {
		first, second string
		warn          bool
	}{
		{"slow", "down", false},
		{"down", "slow", false},
		{"slow", "error", false},
		{"drop", "slow", false},
		{"slow", "slow", true},
		{"down", "error", true},
		{"error", "drop", true},
	}
	for _, tc := range tests {
		t.Run(tc.first+" then "+tc.second, func(t *testing.T) {
			doc := "incidents:\n" + inc("a", tc.first, "2026-11-01T10:00:00Z", "2026-11-01T11:00:00Z") + inc("b", tc.second, "2026-11-01T10:20:00Z", "2026-11-01T10:30:00Z")
			tl, err := ParseTimeline("t.yaml", []byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			if w := tl.Warnings(); (len(w) > 0) != tc.warn {
				t.Errorf("warnings %v, want a warning: %v", w, tc.warn)
			}
		})
	}
}

// A wall clock time written without its seconds or with a space for the T
// (what a New York user writes: 2026-11-01T01:30, 2026-11-01 01:30) gets
// the readings in the timeline's timezone as one written in full does
// (d0b27ab), in a timeline and a maintenance window alike; before, only
// the general example, a Korean +09:00 time for a New York file.
func TestWallTimeHintShortForms(t *testing.T) {
	twice := `in America/New_York (the timeline's timezone) 01:30:00 on 2026-11-01 happened twice, the clocks going back: write 2026-11-01T01:30:00-04:00 (EDT) for the first, 2026-11-01T01:30:00-05:00 (EST) for the second (an hour later)`
	tests := []struct{ in, want string }{
		{"2026-11-01T01:30", `t.yaml:6: incidents[0].start: invalid time "2026-11-01T01:30": no seconds and no offset: write them (01:30:00, then Z for UTC or the offset from UTC): ` + twice},
		{"2026-11-01 01:30", `t.yaml:6: incidents[0].start: invalid time "2026-11-01 01:30": a space between the date and the time, where RFC 3339 has a T: ` + twice},
		{"2026-11-01 01:30:00", `t.yaml:6: incidents[0].start: invalid time "2026-11-01 01:30:00": a space between the date and the time, where RFC 3339 has a T: ` + twice},
		// A zone's name where the offset goes is said as the form with
		// seconds says it (it was left out: the reading alone, or for
		// another zone's name only the general example), and so is what
		// else is missing, with the time to write.
		{"2026-11-01T01:30 EST", `t.yaml:6: incidents[0].start: invalid time "2026-11-01T01:30 EST": a zone's name (EST) where its offset goes, no seconds: write 2026-11-01T01:30:00 and the offset: in America/New_York (the timeline's timezone) that is 2026-11-01T01:30:00-05:00 (EST)`},
		{"2026-11-01T01:30EST", `t.yaml:6: incidents[0].start: invalid time "2026-11-01T01:30EST": a zone's name (EST) where its offset goes, no seconds: write 2026-11-01T01:30:00 and the offset: in America/New_York (the timeline's timezone) that is 2026-11-01T01:30:00-05:00 (EST)`},
		{"2026-11-01 01:30 EDT", `t.yaml:6: incidents[0].start: invalid time "2026-11-01 01:30 EDT": a zone's name (EDT) where its offset goes, a space where RFC 3339 has a T, no seconds: write 2026-11-01T01:30:00 and the offset: in America/New_York (the timeline's timezone) that is 2026-11-01T01:30:00-04:00 (EDT)`},
		{"2026-11-01T01:30 KST", `t.yaml:6: incidents[0].start: invalid time "2026-11-01T01:30 KST": a zone's name (KST) where its offset goes, no seconds: write 2026-11-01T01:30:00 and the offset, e.g. +09:00: use RFC 3339, e.g. 2026-11-01T02:00:00+09:00`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			doc := "timezone: America/New_York\nincidents:\n  - id: a\n    service: payments\n    functions: [send]\n    start: " + tc.in + "\n"
			_, err := ParseTimeline("t.yaml", []byte(doc))
			if err == nil || err.Error() != tc.want {
				t.Errorf("err = %v\nwant %s", err, tc.want)
			}
		})
	}
	cfg := "timezone: America/New_York\nservices:\n  - name: payments\n    flows:\n      - name: f\n        steps:\n          - {name: a, function: send, request: {url: \"http://127.0.0.1:1/\"}}\n" +
		"maintenance:\n  - service: payments\n    start: \"2026-11-01 01:30\"\n    end: 2026-11-01T03:00:00-05:00\n"
	_, err := Parse("c.yaml", []byte(cfg), Options{})
	if want := `c.yaml:10: maintenance[0].start: invalid time "2026-11-01 01:30": a space between the date and the time, where RFC 3339 has a T: ` + strings.Replace(twice, "the timeline's", "the config's", 1); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("maintenance: err = %v\nwant %s", err, want)
	}
}

// BenchmarkParseTimelineMany: a timeline of n incidents one after another
// on the same functions (no overlap), which the overlap check compares
// pairwise.
func BenchmarkParseTimelineMany(b *testing.B) {
	for _, n := range []int{500, 5000} {
		var sb strings.Builder
		sb.WriteString("timezone: America/New_York\nincidents:\n")
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range n {
			s := t0.Add(time.Duration(2*i) * time.Hour)
			fmt.Fprintf(&sb, "  - id: i%d\n    service: payments\n    functions: [send, receive, login]\n    start: %s\n    end: %s\n",
				i, s.Format(time.RFC3339), s.Add(time.Hour).Format(time.RFC3339))
		}
		data := []byte(sb.String())
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				if _, err := ParseTimeline("t.yaml", data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A maintenance window's end not after its start whose wall clock time the
// config's timezone read twice, the second time after the start, says what
// to write, as a timeline's does since 9577090 (before: only "is not
// after"); in a config without timezone (UTC) nothing more.
func TestMaintenanceEndInRepeatedHour(t *testing.T) {
	cfg := func(tz string) []byte {
		return []byte(tz + "services:\n  - name: payments\n    flows:\n      - name: f\n        steps:\n          - {name: a, function: send, request: {url: \"http://127.0.0.1:1/\"}}\n" +
			"maintenance:\n  - service: payments\n    start: 2026-11-01T01:30:00-04:00\n    end: 2026-11-01T01:10:00-04:00\n")
	}
	_, err := Parse("c.yaml", cfg("timezone: America/New_York\n"), Options{})
	want := `c.yaml:11: maintenance[0].end: end 2026-11-01T01:10:00-04:00 is not after start 2026-11-01T01:30:00-04:00: in America/New_York (the config's timezone) 01:10:00 on 2026-11-01 happened twice, the clocks going back; if the end is the second, write 2026-11-01T01:10:00-05:00`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	_, err = Parse("c.yaml", cfg(""), Options{})
	if err == nil || !strings.Contains(err.Error(), "c.yaml:10: maintenance[0].end: end 2026-11-01T01:10:00-04:00 is not after start 2026-11-01T01:30:00-04:00") || strings.Contains(err.Error(), "happened twice") {
		t.Errorf("no timezone: err = %v, want only is not after", err)
	}
}

// Two incidents of one service in two timeline files the config names
// are reconciled together as two of one file are, so one that overlaps an
// earlier file's is the same warning, at its own file and line, naming the
// other file (before: a vendor's and an internal timeline of one outage
// were accepted silently, where the same two in one file warned).
func TestTimelineOverlapAcrossFiles(t *testing.T) {
	inc := func(id, svc, start, end string) string {
		return "incidents:\n  - {id: " + id + ", service: " + svc + ", functions: [send], start: " + start + ", end: " + end + "}\n"
	}
	fsys := fstest.MapFS{
		"c.yaml":        {Data: []byte("services:\n  - {name: payments, timelines: [vendor.yaml, internal.yaml]}\n  - {name: account, timelines: [other.yaml]}\n")},
		"vendor.yaml":   {Data: []byte(inc("vendor-outage", "payments", "2026-11-01T10:00:00Z", "2026-11-01T11:00:00Z"))},
		"internal.yaml": {Data: []byte(inc("internal-outage", "payments", "2026-11-01T10:05:00Z", "2026-11-01T10:50:00Z"))},
		"other.yaml":    {Data: []byte(inc("account-outage", "account", "2026-11-01T10:05:00Z", "2026-11-01T10:50:00Z"))},
	}
	cfg, err := Load("c.yaml", Options{ReadFile: func(p string) ([]byte, error) { return fs.ReadFile(fsys, p) }})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tl := range cfg.Timelines {
		for _, w := range tl.Warnings() {
			got = append(got, fmt.Sprintf("%s:%d: %s: warning: %s", w.File, w.Line, w.Key, w.Msg))
		}
	}
	want := "internal.yaml:2: incidents[0]: warning: overlaps incident vendor-outage (vendor.yaml line 2) on payments send from 2026-11-01T10:05:00Z to 2026-11-01T10:50:00Z: both are reconciled"
	if len(got) != 1 || !strings.HasPrefix(got[0], want) {
		t.Errorf("warnings %q, want one beginning %q", got, want)
	}
}

// LoadTimelines (demo --timeline, platform) warns of the same.
func TestLoadTimelinesOverlapAcrossFiles(t *testing.T) {
	inc := func(id, start, end string) []byte {
		return []byte("incidents:\n  - {id: " + id + ", service: payments, functions: [send], start: " + start + ", end: " + end + "}\n")
	}
	fsys := fstest.MapFS{
		"vendor.yaml":   {Data: inc("vendor-outage", "2026-11-01T10:00:00Z", "2026-11-01T11:00:00Z")},
		"internal.yaml": {Data: inc("internal-outage", "2026-11-01T10:05:00Z", "2026-11-01T10:50:00Z")},
	}
	tls, err := LoadTimelines([]string{"vendor.yaml", "internal.yaml"}, Options{ReadFile: func(p string) ([]byte, error) { return fs.ReadFile(fsys, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if w := tls[1].Warnings(); len(tls[0].Warnings()) != 0 || len(w) != 1 || w[0].File != "internal.yaml" || w[0].Line != 2 || w[0].Key != "incidents[0]" ||
		!strings.HasPrefix(w[0].Msg, "overlaps incident vendor-outage (vendor.yaml line 2) on payments send") {
		t.Errorf("warnings %v and %v", tls[0].Warnings(), w)
	}
}

package config

import (
	"strings"
	"testing"
)

// TestTimelineWallTimeHint: a timeline time written without its offset (or
// with a zone's name in its place) is still an error, but one that says what
// the wall clock time is in the timeline's timezone, so the user can write
// it, in place of the general example (a Korean time): both readings of a time in the hour New York's clocks repeat on
// 2026-11-01 (before, only "e.g. 2026-11-01T02:00:00+09:00", a Korean
// example), that Lord Howe's half-hour jump skipped it, the one reading of
// an ordinary time, and the offset a zone's name stands for there.
func TestTimelineWallTimeHint(t *testing.T) {
	tests := []struct {
		zone, start, want string
	}{
		{"America/New_York", "2026-11-01T01:30:00",
			`invalid time "2026-11-01T01:30:00": no offset: end the time with Z (UTC) or its offset from UTC: in America/New_York (the timeline's timezone) 01:30:00 on 2026-11-01 happened twice, the clocks going back: write 2026-11-01T01:30:00-04:00 (EDT) for the first, 2026-11-01T01:30:00-05:00 (EST) for the second (an hour later)`},
		{"America/New_York", "2026-11-01t01:59:59.5",
			`in America/New_York (the timeline's timezone) 01:59:59 on 2026-11-01 happened twice, the clocks going back: write 2026-11-01T01:59:59.5-04:00 (EDT) for the first, 2026-11-01T01:59:59.5-05:00 (EST) for the second (an hour later)`},
		{"America/New_York", "2026-10-31T23:10:00",
			`in America/New_York (the timeline's timezone) that is 2026-10-31T23:10:00-04:00 (EDT)`},
		{"America/New_York", "2026-11-01T02:00:00",
			`in America/New_York (the timeline's timezone) that is 2026-11-01T02:00:00-05:00 (EST)`},
		{"America/New_York", "2026-11-01T01:30:00 EST",
			`invalid time "2026-11-01T01:30:00 EST": a zone's name (EST) where its offset goes: write the offset: in America/New_York (the timeline's timezone) that is 2026-11-01T01:30:00-05:00 (EST)`},
		{"America/New_York", "2026-11-01T01:30:00edt",
			`in America/New_York (the timeline's timezone) that is 2026-11-01T01:30:00-04:00 (EDT)`},
		{"Australia/Lord_Howe", "2026-10-04T02:10:00",
			`in Australia/Lord_Howe (the timeline's timezone) the clocks jumped over 02:10:00 on 2026-10-04, so it did not exist there: write the offset meant (+10:30 before the change, +11:00 after)`},
		{"Australia/Lord_Howe", "2026-04-05T01:45:00",
			`in Australia/Lord_Howe (the timeline's timezone) 01:45:00 on 2026-04-05 happened twice, the clocks going back: write 2026-04-05T01:45:00+11:00 for the first, 2026-04-05T01:45:00+10:30 for the second (30m later)`},
		{"Asia/Kathmandu", "2026-10-04T05:00:00",
			`in Asia/Kathmandu (the timeline's timezone) that is 2026-10-04T05:00:00+05:45`},
	}
	for _, tc := range tests {
		t.Run(tc.zone+"/"+tc.start, func(t *testing.T) {
			doc := "timezone: " + tc.zone + "\nincidents:\n  - id: a\n    service: mail\n    functions: [send]\n    start: \"" + tc.start + "\"\n"
			_, err := ParseTimeline("t.yaml", []byte(doc))
			if err == nil || !strings.Contains(err.Error(), "t.yaml:6: incidents[0].start: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant t.yaml:6: incidents[0].start: ...%s", err, tc.want)
			}
		})
	}
	// Another zone's name than the timeline's says nothing of its offset:
	// the general message, as without a timezone.
	doc := "timezone: America/New_York\nincidents:\n  - id: a\n    service: mail\n    functions: [send]\n    start: \"2026-05-01T10:00:00 KST\"\n"
	if _, err := ParseTimeline("t.yaml", []byte(doc)); err == nil || !strings.Contains(err.Error(), `a zone's name (KST) where its offset goes: write the offset, e.g. +09:00: use RFC 3339`) || strings.Contains(err.Error(), "timeline's timezone") {
		t.Errorf("KST in New York: err = %v, want the general message alone", err)
	}
	// Without a timezone there is nothing to say more; a notice's at and an
	// end are read the same way.
	doc = "incidents:\n  - id: a\n    service: mail\n    functions: [send]\n    start: \"2026-11-01T01:30:00\"\n"
	if _, err := ParseTimeline("t.yaml", []byte(doc)); err == nil || strings.Contains(err.Error(), "timeline's timezone") {
		t.Errorf("no timezone: err = %v, want no hint", err)
	}
	doc = "timezone: America/New_York\nincidents:\n  - id: a\n    service: mail\n    functions: [send]\n    start: 2026-11-01T00:30:00-04:00\n    end: \"2026-11-01T01:30:00\"\n    notices:\n      - {at: \"2026-11-01T01:40:00\", text: x}\n"
	_, err := ParseTimeline("t.yaml", []byte(doc))
	for _, want := range []string{
		"t.yaml:7: incidents[0].end: invalid time \"2026-11-01T01:30:00\"", "write 2026-11-01T01:30:00-04:00 (EDT) for the first",
		"t.yaml:9: incidents[0].notices[0].at: invalid time \"2026-11-01T01:40:00\"", "write 2026-11-01T01:40:00-04:00 (EDT) for the first",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %s", err, want)
		}
	}
}

// TestTimelineEndInRepeatedHour: an end before its start, written with the
// first offset of a wall clock time the clocks went back over, says that
// the second reading is after the start and how to write it (a New York
// outage from the first 01:30 to the second 01:10 of 2026-11-01, written
// -04:00 twice); an end before its start otherwise says only that.
func TestTimelineEndInRepeatedHour(t *testing.T) {
	tests := []struct {
		zone, start, end, want string
		hint                   bool
	}{
		{"America/New_York", "2026-11-01T01:30:00-04:00", "2026-11-01T01:10:00-04:00",
			"end 2026-11-01T01:10:00-04:00 is not after start 2026-11-01T01:30:00-04:00: in America/New_York (the timeline's timezone) 01:10:00 on 2026-11-01 happened twice, the clocks going back; if the end is the second, write 2026-11-01T01:10:00-05:00", true},
		{"Australia/Lord_Howe", "2026-04-05T01:50:00+11:00", "2026-04-05T01:35:00+11:00",
			"if the end is the second, write 2026-04-05T01:35:00+10:30", true},
		// The later reading is not after the start either, or there is none.
		{"America/New_York", "2026-11-01T03:00:00-05:00", "2026-11-01T01:10:00-04:00", "end 2026-11-01T01:10:00-04:00 is not after start 2026-11-01T03:00:00-05:00", false},
		{"America/New_York", "2026-10-31T23:30:00-04:00", "2026-10-31T23:10:00-04:00", "end 2026-10-31T23:10:00-04:00 is not after start 2026-10-31T23:30:00-04:00", false},
		{"", "2026-11-01T01:30:00-04:00", "2026-11-01T01:10:00-04:00", "end 2026-11-01T01:10:00-04:00 is not after start 2026-11-01T01:30:00-04:00", false},
	}
	for _, tc := range tests {
		t.Run(tc.zone+"/"+tc.end, func(t *testing.T) {
			doc := "incidents:\n  - id: a\n    service: mail\n    functions: [send]\n    start: " + tc.start + "\n    end: " + tc.end + "\n"
			line := "t.yaml:6: "
			if tc.zone != "" {
				doc = "timezone: " + tc.zone + "\n" + doc
				line = "t.yaml:7: "
			}
			_, err := ParseTimeline("t.yaml", []byte(doc))
			if err == nil || !strings.Contains(err.Error(), line+"incidents[0].end: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant %sincidents[0].end: ...%s", err, line, tc.want)
			}
			if got := strings.Contains(err.Error(), "happened twice"); got != tc.hint {
				t.Errorf("err = %v: hint %v, want %v", err, got, tc.hint)
			}
		})
	}
}

// TestMaintenanceWallTimeHint: a maintenance window's time without offset
// gets the same hint, in the config's timezone (a planned upgrade "from
// 01:30" on the night New York's clocks go back); without a timezone in the
// config (reports in UTC) none.
func TestMaintenanceWallTimeHint(t *testing.T) {
	cfg := func(tz string) []byte {
		return []byte(tz + "services:\n  - name: payments\n    flows:\n      - name: f\n        steps:\n          - {name: a, function: send, request: {url: \"http://127.0.0.1:1/\"}}\n" +
			"maintenance:\n  - service: payments\n    start: \"2026-11-01T01:30:00\"\n    end: 2026-11-01T03:00:00-05:00\n")
	}
	_, err := Parse("c.yaml", cfg("timezone: America/New_York\n"), Options{})
	want := `c.yaml:10: maintenance[0].start: invalid time "2026-11-01T01:30:00": no offset: end the time with Z (UTC) or its offset from UTC: in America/New_York (the config's timezone) 01:30:00 on 2026-11-01 happened twice, the clocks going back: write 2026-11-01T01:30:00-04:00 (EDT) for the first, 2026-11-01T01:30:00-05:00 (EST) for the second (an hour later)`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	_, err = Parse("c.yaml", cfg(""), Options{})
	if err == nil || !strings.Contains(err.Error(), `c.yaml:9: maintenance[0].start: invalid time "2026-11-01T01:30:00": no offset: end the time with Z (UTC) or its offset from UTC: use RFC 3339`) || strings.Contains(err.Error(), "config's timezone") {
		t.Errorf("no timezone: err = %v, want the general message alone", err)
	}
}

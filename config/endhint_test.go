package config

import (
	"fmt"
	"strings"
	"testing"
)

// TestEndNotAfterStartSaysWhatToWrite: an end not after its start says what
// to write, in a timeline and in maintenance alike. The usual slip, an
// overnight outage written with one date (22:30 to 01:15 on 2026-01-31),
// gets the same time the next day, with the offset the zone has then (a
// night the clocks go back gives the next day its own); a time in UTC, or
// in an offset the zone does not have, keeps its offset; the second reading
// of a repeated hour keeps its own hint; anything else is told to write an
// end after the start, where every one said only that it was not.
func TestEndNotAfterStartSaysWhatToWrite(t *testing.T) {
	tests := []struct {
		name, zone, start, end, want string
	}{
		{"overnight", "America/New_York", "2026-01-31T22:30:00-05:00", "2026-01-31T01:15:00-05:00",
			"end 2026-01-31T01:15:00-05:00 is not after start 2026-01-31T22:30:00-05:00: if it ended the next day, write 2026-02-01T01:15:00-05:00"},
		{"overnight into the clocks going back", "America/New_York", "2026-10-31T23:00:00-04:00", "2026-10-31T03:00:00-04:00",
			"if it ended the next day, write 2026-11-01T03:00:00-05:00"},
		// 02:30 did not happen in New York on 2026-03-08 (the clocks
		// went from 02:00 EST to 03:00 EDT): time.Date moved it to 01:30
		// EST, an hour before the time written; 02:30 EST is 03:30 EDT.
		{"overnight into the clocks going forward", "America/New_York", "2026-03-07T23:00:00-05:00", "2026-03-07T02:30:00-05:00",
			"if it ended the next day, write 2026-03-08T03:30:00-04:00"},
		{"overnight into Lord Howe's half hour forward", "Australia/Lord_Howe", "2026-10-03T23:00:00+10:30", "2026-10-03T02:15:00+10:30",
			"if it ended the next day, write 2026-10-04T02:45:00+11:00"},
		// 01:45 happened twice on Lord Howe on 2026-04-05 (02:00 +11:00
		// went back to 01:30 +10:30): the reading in the offset written,
		// as New York's repeated hour gets, not the other half hour's.
		{"overnight into Lord Howe's repeated half hour", "Australia/Lord_Howe", "2026-04-04T23:00:00+11:00", "2026-04-04T01:45:00+11:00",
			"if it ended the next day, write 2026-04-05T01:45:00+11:00"},
		{"overnight into New York's repeated hour", "America/New_York", "2026-10-31T23:00:00-04:00", "2026-10-31T01:15:00-04:00",
			"if it ended the next day, write 2026-11-01T01:15:00-04:00"},
		{"overnight in UTC", "America/New_York", "2026-07-01T22:00:00Z", "2026-07-01T02:30:00Z",
			"if it ended the next day, write 2026-07-02T02:30:00Z"},
		{"overnight without a timezone", "", "2026-01-31T22:30:00+09:00", "2026-01-31T01:15:00+09:00",
			"if it ended the next day, write 2026-02-01T01:15:00+09:00"},
		{"repeated hour keeps its hint", "America/New_York", "2026-11-01T01:30:00-04:00", "2026-11-01T01:10:00-04:00",
			"happened twice, the clocks going back; if the end is the second, write 2026-11-01T01:10:00-05:00"},
		{"days apart", "America/New_York", "2026-08-03T12:00:00-04:00", "2026-08-01T13:00:00-04:00",
			"end 2026-08-01T13:00:00-04:00 is not after start 2026-08-03T12:00:00-04:00: write an end after the start"},
		{"equal", "America/New_York", "2026-08-01T12:00:00-04:00", "2026-08-01T12:00:00-04:00",
			"end 2026-08-01T12:00:00-04:00 is not after start 2026-08-01T12:00:00-04:00: write an end after the start"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tz, line := "", 6
			if tc.zone != "" {
				tz, line = "timezone: "+tc.zone+"\n", 7
			}
			doc := tz + "incidents:\n  - id: a\n    service: mail\n    functions: [send]\n    start: " + tc.start + "\n    end: " + tc.end + "\n"
			_, err := ParseTimeline("t.yaml", []byte(doc))
			prefix := fmt.Sprintf("t.yaml:%d: incidents[0].end: ", line)
			if err == nil || !strings.Contains(err.Error(), prefix) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("timeline: err = %v\nwant %s...%s", err, prefix, tc.want)
			}
			cfg := tz + "services:\n  - name: payments\n    flows:\n      - name: f\n        steps:\n          - {name: a, function: send, request: {url: \"http://127.0.0.1:1/\"}}\n" +
				"maintenance:\n  - service: payments\n    start: " + tc.start + "\n    end: " + tc.end + "\n"
			_, err = Parse("c.yaml", []byte(cfg), Options{})
			prefix = fmt.Sprintf("c.yaml:%d: maintenance[0].end: ", line+4)
			want := strings.ReplaceAll(tc.want, "the timeline's timezone", "the config's timezone")
			if err == nil || !strings.Contains(err.Error(), prefix) || !strings.Contains(err.Error(), want) {
				t.Errorf("maintenance: err = %v\nwant %s...%s", err, prefix, want)
			}
		})
	}
}

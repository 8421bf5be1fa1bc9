package config

import (
	"strings"
	"testing"
	"time"
)

// TestTimelineTimes: a timeline's times are RFC 3339, which allows a lower
// case "t" and "z" (its section 5.6); one that is not a time says why where
// it can (a day the month lacks, a leap second Go cannot hold, an offset
// past 23 hours), not only "use RFC 3339" of a time written in it.
func TestTimelineTimes(t *testing.T) {
	tests := []struct {
		start   string
		want    string // the instant, UTC, when it parses
		wantErr string
	}{
		{"2026-05-01T10:00:00Z", "2026-05-01T10:00:00Z", ""},
		{"2026-05-01t10:00:00z", "2026-05-01T10:00:00Z", ""},
		{"2026-05-01t15:45:00+05:45", "2026-05-01T10:00:00Z", ""},
		{"2026-05-01T10:00:00.5Z", "2026-05-01T10:00:00.5Z", ""},
		{"2026-05-01T23:59:00+23:59", "2026-05-01T00:00:00Z", ""},
		{"2026-02-30T10:00:00Z", "", `invalid time "2026-02-30T10:00:00Z": day out of range`},
		{"2026-13-01T10:00:00Z", "", `invalid time "2026-13-01T10:00:00Z": month out of range`},
		{"2016-12-31T23:59:60Z", "", `invalid time "2016-12-31T23:59:60Z": a leap second (:60) cannot be stored: write 23:59:59 or the next second`},
		{"2026-05-01T10:00:00+24:00", "", `invalid time "2026-05-01T10:00:00+24:00": offset hours out of range (00 to 23)`},
		{"2026-05-01T10:00:00,5Z", "", `invalid time "2026-05-01T10:00:00,5Z": a fraction of a second follows a '.' (10:00:00.5), not a ','`},
		{"2026-05-01 11:00", "", `invalid time "2026-05-01 11:00": a space between the date and the time, where RFC 3339 has a T: use RFC 3339, e.g. 2026-11-01T02:00:00+09:00`},
		{" 2026-05-01T10:00:00Z", "", `invalid time " 2026-05-01T10:00:00Z": white space before or after the time: use RFC 3339`},
		{"2026-05-01T10:00:00Z\t", "", `invalid time "2026-05-01T10:00:00Z\t": white space before or after the time: use RFC 3339`},
		{"2026-05-01", "", `invalid time "2026-05-01": a date alone: give a time of day and its offset too: use RFC 3339`},
		{"2026-05-01T10:00:00", "", `invalid time "2026-05-01T10:00:00": no offset: end the time with Z (UTC) or its offset from UTC: use RFC 3339`},
		{"2026-05-01t10:00:00.25", "", `invalid time "2026-05-01t10:00:00.25": no offset: end the time with Z (UTC) or its offset from UTC: use RFC 3339`},
		{"2026-05-01T10:00:00+0900", "", `invalid time "2026-05-01T10:00:00+0900": an offset without its colon (+0900 is written +09:00): use RFC 3339`},
		{"2026-05-01T10:00:00 +09:00", "", `invalid time "2026-05-01T10:00:00 +09:00": a space inside the time: use RFC 3339`},
		{"2026-05-01T10:00Z", "", `invalid time "2026-05-01T10:00Z": no seconds: write them (10:00:00): use RFC 3339`},
		{"2026-05-01T10:00+09:00", "", `invalid time "2026-05-01T10:00+09:00": no seconds: write them (10:00:00): use RFC 3339`},
		{"2026-05-01T1:00Z", "", `invalid time "2026-05-01T1:00Z": no seconds: write them (01:00:00): use RFC 3339`},
		{"2026-05-01T10:00", "", `invalid time "2026-05-01T10:00": no seconds and no offset: write them (10:00:00, then Z for UTC or the offset from UTC): use RFC 3339`},
		{"2026-05-01T10:00:00 KST", "", `invalid time "2026-05-01T10:00:00 KST": a zone's name (KST) where its offset goes: write the offset, e.g. +09:00: use RFC 3339`},
		{"2026-05-01T10:00:00.5EST", "", `invalid time "2026-05-01T10:00:00.5EST": a zone's name (EST) where its offset goes: write the offset, e.g. +09:00: use RFC 3339`},
		{"2026-05-01T1:00:00Z", "", `invalid time "2026-05-01T1:00:00Z": the hour has two digits (01, not 1): use RFC 3339`},
		{"2026-05-01t9:30:00+09:00", "", `invalid time "2026-05-01t9:30:00+09:00": the hour has two digits (09, not 9): use RFC 3339`},
		{"May 1, 2026 10:00", "", `invalid time "May 1, 2026 10:00": use RFC 3339, e.g. 2026-11-01T02:00:00+09:00`},
		// Not the near misses: a hint must name only what the input has.
		// Another date form with a space before its time is no "space for
		// the T"; a zone's name is quoted as written (not with t and z
		// made upper case); a 12-hour clock's AM or PM is no zone.
		{"12/06/2026 10:00", "", `invalid time "12/06/2026 10:00": use RFC 3339, e.g. 2026-11-01T02:00:00+09:00`},
		{"06.12.2026 10:00:00", "", `invalid time "06.12.2026 10:00:00": use RFC 3339, e.g. 2026-11-01T02:00:00+09:00`},
		{"2026-05-01 xyz", "", `invalid time "2026-05-01 xyz": use RFC 3339, e.g. 2026-11-01T02:00:00+09:00`},
		{"2026-05-01T10:00:00 est", "", `invalid time "2026-05-01T10:00:00 est": a zone's name (est) where its offset goes`},
		{"2026-05-01t10:00:00.5 utc", "", `invalid time "2026-05-01t10:00:00.5 utc": a zone's name (utc) where its offset goes`},
		{"2026-05-01T10:00:00 PM", "", `invalid time "2026-05-01T10:00:00 PM": use RFC 3339, e.g. 2026-11-01T02:00:00+09:00`},
		{"2026-05-01T10:00:00am", "", `invalid time "2026-05-01T10:00:00am": use RFC 3339, e.g. 2026-11-01T02:00:00+09:00`},
	}
	for _, tc := range tests {
		t.Run(tc.start, func(t *testing.T) {
			doc := "incidents:\n  - id: a\n    service: mail\n    functions: [send]\n    start: \"" + tc.start + "\"\n"
			tl, err := ParseTimeline("t.yaml", []byte(doc))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), "t.yaml:5: incidents[0].start: "+tc.wantErr) {
					t.Fatalf("err = %v, want t.yaml:5: incidents[0].start: %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := tl.Incidents[0].Start.UTC().Format(time.RFC3339Nano); got != tc.want {
				t.Errorf("start %s, want %s", got, tc.want)
			}
		})
	}
}

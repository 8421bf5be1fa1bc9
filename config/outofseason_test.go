package config

import (
	"testing"
)

// A wall time written with its zone's own name out of season ("EST" for a
// July time in New York, as many write it all year; "GMT" for a London
// summer's) says what the name means and what the clocks read then, where
// it got the general example (e.g. +09:00), as for another zone's name. A
// zone with half-hour offsets reads the same; a name the zone has not had
// within a year (KDT in Seoul, no daylight time since 1988) and another
// zone's name (KST in New York) still get the general example.
func TestWallHintOutOfSeason(t *testing.T) {
	const general = ", e.g. +09:00: use RFC 3339, e.g. 2026-11-01T02:00:00+09:00"
	tests := []struct{ zone, in, want string }{
		{"America/New_York", "2026-07-01 10:00 EST", `t.yaml:6: incidents[0].start: invalid time "2026-07-01 10:00 EST": a zone's name (EST) where its offset goes, a space where RFC 3339 has a T, no seconds: write 2026-07-01T10:00:00 and the offset: in America/New_York (the timeline's timezone) EST is -05:00, but its clocks were on EDT then: 10:00:00 EST is 2026-07-01T10:00:00-05:00 (11:00:00 EDT there); 10:00:00 on its clocks is 2026-07-01T10:00:00-04:00 (EDT)`},
		{"America/New_York", "2026-01-10T10:00:00 edt", `t.yaml:6: incidents[0].start: invalid time "2026-01-10T10:00:00 edt": a zone's name (edt) where its offset goes: write the offset: in America/New_York (the timeline's timezone) EDT is -04:00, but its clocks were on EST then: 10:00:00 EDT is 2026-01-10T10:00:00-04:00 (09:00:00 EST there); 10:00:00 on its clocks is 2026-01-10T10:00:00-05:00 (EST)`},
		{"America/New_York", "2026-03-08 02:30 EST", `t.yaml:6: incidents[0].start: invalid time "2026-03-08 02:30 EST": a zone's name (EST) where its offset goes, a space where RFC 3339 has a T, no seconds: write 2026-03-08T02:30:00 and the offset: in America/New_York (the timeline's timezone) EST is -05:00, but its clocks were on EDT then: 02:30:00 EST is 2026-03-08T02:30:00-05:00 (03:30:00 EDT there); its clocks jumped over 02:30:00 that day`},
		{"Europe/London", "2026-07-01T10:00 GMT", `t.yaml:6: incidents[0].start: invalid time "2026-07-01T10:00 GMT": a zone's name (GMT) where its offset goes, no seconds: write 2026-07-01T10:00:00 and the offset: in Europe/London (the timeline's timezone) GMT is +00:00, but its clocks were on BST then: 10:00:00 GMT is 2026-07-01T10:00:00Z (11:00:00 BST there); 10:00:00 on its clocks is 2026-07-01T10:00:00+01:00 (BST)`},
		{"America/St_Johns", "2026-07-01 10:00 NST", `t.yaml:6: incidents[0].start: invalid time "2026-07-01 10:00 NST": a zone's name (NST) where its offset goes, a space where RFC 3339 has a T, no seconds: write 2026-07-01T10:00:00 and the offset: in America/St_Johns (the timeline's timezone) NST is -03:30, but its clocks were on NDT then: 10:00:00 NST is 2026-07-01T10:00:00-03:30 (11:00:00 NDT there); 10:00:00 on its clocks is 2026-07-01T10:00:00-02:30 (NDT)`},
		{"Asia/Seoul", "2026-07-01 10:00 KDT", `t.yaml:6: incidents[0].start: invalid time "2026-07-01 10:00 KDT": a zone's name (KDT) where its offset goes, a space where RFC 3339 has a T, no seconds: write 2026-07-01T10:00:00 and the offset` + general},
		{"America/New_York", "2026-07-01 10:00 KST", `t.yaml:6: incidents[0].start: invalid time "2026-07-01 10:00 KST": a zone's name (KST) where its offset goes, a space where RFC 3339 has a T, no seconds: write 2026-07-01T10:00:00 and the offset` + general},
	}
	for _, tc := range tests {
		t.Run(tc.zone+" "+tc.in, func(t *testing.T) {
			doc := "timezone: " + tc.zone + "\nincidents:\n  - id: a\n    service: payments\n    functions: [send]\n    start: " + tc.in + "\n"
			_, err := ParseTimeline("t.yaml", []byte(doc))
			if err == nil || err.Error() != tc.want {
				t.Errorf("err = %v\nwant %s", err, tc.want)
			}
		})
	}
}

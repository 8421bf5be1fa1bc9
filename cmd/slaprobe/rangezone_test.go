package main

import (
	"testing"
	"time"
)

// TestRangeZoneNameHint: --from/--to with the zone's name where the offset
// goes say why it is refused and what the time is where they are read, as
// a timeline's time does, whether the T is a space and the seconds are
// there or not: "2026-11-01 01:30 EST" was refused for its space alone and
// "2026-11-01T01:30 EST" with the general message. Another zone's name, or
// none, says the reason alone.
func TestRangeZoneNameHint(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	const want = "want an RFC 3339 time (2022-10-15T15:30:00+09:00) or a date (2022-10-15)"
	tests := []struct{ in, want string }{
		{"2026-11-01 01:30 EST", `--from "2026-11-01 01:30 EST": a zone's name (EST) where its offset goes, a space where RFC 3339 has a T, no seconds: write 2026-11-01T01:30:00 and the offset: in America/New_York (where --from and --to are read) that is 2026-11-01T01:30:00-05:00 (EST)`},
		{"2026-11-01T01:30 EDT", `--from "2026-11-01T01:30 EDT": a zone's name (EDT) where its offset goes, no seconds: write 2026-11-01T01:30:00 and the offset: in America/New_York (where --from and --to are read) that is 2026-11-01T01:30:00-04:00 (EDT)`},
		{"2026-11-01T01:30:00 EST", `--from "2026-11-01T01:30:00 EST": a zone's name (EST) where its offset goes: write the offset: in America/New_York (where --from and --to are read) that is 2026-11-01T01:30:00-05:00 (EST)`},
		{"2026-11-01 01:30:00 KST", `--from "2026-11-01 01:30:00 KST": a zone's name (KST) where its offset goes, a space where RFC 3339 has a T: write 2026-11-01T01:30:00 and the offset, e.g. +09:00: ` + want},
		{"2026-11-01 01:30", `--from "2026-11-01 01:30": a space between the date and the time, where RFC 3339 has a T: ` + want},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			_, err := parseTime("from", tc.in, ny)
			if err == nil || err.Error() != tc.want {
				t.Errorf("err = %v\nwant %s", err, tc.want)
			}
		})
	}
}

// --from and --to with their zone's own name out of season ("EST" for a
// July time in New York) say what it is, as a timeline's time does (they
// got the example offset +09:00).
func TestRangeZoneNameOutOfSeason(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	_, err = parseTime("to", "2026-07-01 10:00 EST", ny)
	want := `--to "2026-07-01 10:00 EST": a zone's name (EST) where its offset goes, a space where RFC 3339 has a T, no seconds: write 2026-07-01T10:00:00 and the offset: in America/New_York (where --from and --to are read) EST is -05:00, but its clocks were on EDT then: 10:00:00 EST is 2026-07-01T10:00:00-05:00 (11:00:00 EDT there); 10:00:00 on its clocks is 2026-07-01T10:00:00-04:00 (EDT)`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

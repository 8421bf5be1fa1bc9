package config

import (
	"strings"
	"testing"
	"time"
)

// TestZoneTypoHint: an unknown time zone names the closest IANA names
// (case and punctuation folded, then by edit distance, a city alone matched
// to its zone), where the message said only "use an IANA name such as
// Asia/Seoul" whatever the typo: America/NewYork left a New York user to
// guess the underscore. A name with nothing near it (or a three-letter
// abbreviation such as KST, which is one letter from EST, another zone)
// keeps the general message.
func TestZoneTypoHint(t *testing.T) {
	const general = " (use an IANA name such as Asia/Seoul)"
	tests := []struct {
		name, want string // want: the message after `unknown time zone "NAME"`
	}{
		{"America/NewYork", ": did you mean America/New_York?" + general},
		{"america/new_york", ": did you mean America/New_York?" + general},
		{"America/New-York", ": did you mean America/New_York?" + general},
		{"America/Sao Paulo", ": did you mean America/Sao_Paulo?" + general},
		{"asia/seoul", ": did you mean Asia/Seoul?" + general},
		{"Asia/Seol", ": did you mean Asia/Seoul?" + general},
		{"Asia/Soeul", ": did you mean Asia/Seoul?" + general},
		{"Europe/Londn", ": did you mean Europe/London?" + general},
		{"Seoul", ": did you mean Asia/Seoul?" + general},
		{"Lord_Howe", ": did you mean Australia/Lord_Howe?" + general},
		{"NewYork", ": did you mean America/New_York?" + general},
		{"KST", general},
		{"Mars/Olympus", general},
		{"Nowhere/City", general},
		{"Local", general},
		{"", general},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := zone(tc.name)
			if err == nil {
				t.Fatalf("zone(%q) accepted", tc.name)
			}
			want := "unknown time zone " + quote(tc.name) + tc.want
			if err.Error() != want {
				t.Errorf("zone(%q):\n got %s\nwant %s", tc.name, err, want)
			}
		})
	}
}

// TestIANAZonesLoad: every name zoneHint may suggest is one this binary
// loads (with time/tzdata, as cmd/slaprobe), so a suggestion is never
// refused in its turn.
func TestIANAZonesLoad(t *testing.T) {
	n := 0
	for name := range strings.FieldsSeq(ianaZones) {
		n++
		if _, err := time.LoadLocation(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n < 400 {
		t.Errorf("only %d zone names", n)
	}
}

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

// TestZoneReview: a name the host alone resolves is refused as Local is
// (localtime is a link to /etc/localtime on Debian: "timezone: localtime"
// loaded the host's zone, which reports must not depend on); a suggested
// Etc/GMT zone says its offset, whose sign is the reverse of what GMT+9 is
// usually written to mean (Etc/GMT+9 is -09:00); names that load, the
// deprecated links among them (US/Eastern, Asia/Calcutta), load as before.
func TestZoneReview(t *testing.T) {
	const general = " (use an IANA name such as Asia/Seoul)"
	tests := []struct {
		name, want string // want: the message after `unknown time zone "NAME"`, "" for a name that loads
	}{
		{"localtime", general},
		{"GMT+9", ": did you mean Etc/GMT+9 (UTC-09:00: the sign of Etc/GMT names is reversed)?" + general},
		{"GMT-10", ": did you mean Etc/GMT-10 (UTC+10:00: the sign of Etc/GMT names is reversed)?" + general},
		{"utc", ": did you mean Etc/UTC or UTC?" + general},
		{"US/Eastern", ""},
		{"Asia/Calcutta", ""},
		{"Etc/GMT+9", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := zone(tc.name)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("zone(%q): %v, want it loaded", tc.name, err)
			case tc.want == "":
			case err == nil:
				t.Errorf("zone(%q) loaded, want %q", tc.name, tc.want)
			case err.Error() != "unknown time zone "+quote(tc.name)+tc.want:
				t.Errorf("zone(%q):\n%v\nwant\n%s", tc.name, err, "unknown time zone "+quote(tc.name)+tc.want)
			}
		})
	}
}

// TestZoneLoadsWithoutHint: a name that loads is not compared with the
// IANA names: zone walked all of them for every name, 2232 allocations
// (0.3 ms) for Asia/Seoul where loading it takes 14 (7 µs); counted in
// allocations, not time.
func TestZoneLoadsWithoutHint(t *testing.T) {
	for _, name := range []string{"Asia/Seoul", "America/New_York", "UTC"} {
		zoneAllocs := testing.AllocsPerRun(10, func() { _, _ = zone(name) })
		loadAllocs := testing.AllocsPerRun(10, func() { _, _ = time.LoadLocation(name) })
		if zoneAllocs > loadAllocs+10 {
			t.Errorf("zone(%q): %.0f allocations, time.LoadLocation %.0f", name, zoneAllocs, loadAllocs)
		}
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

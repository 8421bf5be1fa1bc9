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
		{"utc", ": did you mean Etc/UTC?" + general},
		// Names only the host's zoneinfo directory has: refused, as
		// localtime is (posixrules is America/New_York on Debian, another
		// zone elsewhere; right/ counts leap seconds, 27 s off), the zone
		// of a posix/ or right/ name suggested.
		{"posixrules", general},
		{"right/Asia/Seoul", ": did you mean Asia/Seoul?" + general},
		{"posix/America/New_York", ": did you mean America/New_York?" + general},
		{"right/UTC", ": did you mean Etc/UTC?" + general},
		// A suggestion is the zone a backward link names, not the link.
		{"Calcutta", ": did you mean Asia/Kolkata?" + general},
		{"Saigon", ": did you mean Asia/Ho_Chi_Minh?" + general},
		{"US/Easten", ": did you mean America/New_York?" + general},
		{"US/Eastern", ""},
		{"Asia/Calcutta", ""},
		// Not a name zone.tab gives a country, though tzdata.zi makes it
		// a link: a Slovak's Bratislava is not Prague, Svalbard's
		// Longyearbyen not Berlin, Bonaire's Kralendijk not Puerto Rico
		// (b2b512a suggested those, another country's zone, whose rules
		// may part from theirs).
		{"Bratislava", ": did you mean Europe/Bratislava?" + general},
		{"Europe/Bratislva", ": did you mean Europe/Bratislava?" + general},
		{"Longyearbyen", ": did you mean Arctic/Longyearbyen?" + general},
		{"Kralendjik", ": did you mean America/Kralendijk?" + general},
		{"Vatican", ": did you mean Europe/Vatican?" + general},
		{"Europe/Busingen", ""},
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

// TestZoneLinks: both names of every line of zoneLinks are in ianaZones,
// and the zone a link names is no link itself.
func TestZoneLinks(t *testing.T) {
	names := map[string]bool{}
	for name := range strings.FieldsSeq(ianaZones) {
		names[name] = true
	}
	n := 0
	for line := range strings.Lines(zoneLinks) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		n++
		if len(f) != 2 || !names[f[0]] || !names[f[1]] || zoneOf(f[1]) != f[1] {
			t.Errorf("zoneLinks line %q", line)
		}
	}
	if n < 100 {
		t.Errorf("only %d links", n)
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

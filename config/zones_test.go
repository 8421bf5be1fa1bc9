package config

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestWarningsMaintenanceOffsets: check (and run, at start) warn of a
// maintenance time written with the offset its config's timezone has at
// another time of the year but not at that instant: standard and daylight
// time confused. In America/New_York, "2024-07-02T02:00:00-05:00" for a 2 am
// July window is 03:00 EDT, so the planned hour was excluded an hour late and
// a real outage at 02:00 counted as down, without a word; the timelines'
// times have had the same warning since 3eb4c3e. An offset the zone never
// has (a vendor's +09:00) or UTC is not one: the config's timezone is where
// reports draw days and months, not necessarily where maintenance is
// planned, so only the zone's own other offsets are suspect.
func TestWarningsMaintenanceOffsets(t *testing.T) {
	flows := "services:\n  - name: account\n    flows:\n      - name: f\n        steps:\n          - {name: a, function: login, request: {url: \"http://127.0.0.1:1/\"}}\n"
	cases := []struct {
		name, zone, maintenance string
		want                    []string
	}{
		{"New York", "America/New_York", "" +
			"  - {service: account, start: 2024-07-01T02:00:00-04:00, end: 2024-07-01T03:00:00-04:00}\n" +
			"  - service: account\n" +
			"    start: 2024-07-02T02:00:00-05:00\n" +
			"    end: 2024-07-02T04:00:00-04:00\n" +
			"  - {service: account, start: 2024-07-03T02:00:00Z, end: 2024-07-03T03:00:00+00:00}\n" +
			"  - {service: account, start: 2024-07-04T02:00:00+09:00, end: 2024-07-04T03:00:00+09:00}\n" +
			"  - {service: account, start: 2024-11-03T01:30:00-04:00, end: 2024-11-03T01:30:00-05:00}\n" +
			"  - {service: account, start: 2024-12-01T02:00:00-05:00, end: 2024-12-01T04:00:00-04:00}\n" +
			"  - {service: account, start: 2024-03-10T02:30:00-05:00, end: 2024-03-10T04:00:00-04:00}\n",
			[]string{
				`11: maintenance[1].start: 2024-07-02T02:00:00-05:00 has the offset -05:00, but America/New_York (the config's timezone) was at -04:00 (EDT) then: if the window was planned in America/New_York, write 2024-07-02T02:00:00-04:00 (an hour apart)`,
				`16: maintenance[5].end: 2024-12-01T04:00:00-04:00 has the offset -04:00, but America/New_York (the config's timezone) was at -05:00 (EST) then: if the window was planned in America/New_York, write 2024-12-01T04:00:00-05:00 (an hour apart)`,
				`17: maintenance[6].start: 2024-03-10T02:30:00-05:00 has the offset -05:00, but America/New_York (the config's timezone) was at -04:00 (EDT) then, and its clocks skipped 02:30:00 that day: the same instant there is 2024-03-10T03:30:00-04:00`,
			}},
		{"Lord Howe's half hour", "Australia/Lord_Howe", "" +
			"  - {service: account, start: 2024-01-10T02:00:00+10:30, end: 2024-01-10T03:00:00+11:00}\n",
			[]string{
				`9: maintenance[0].start: 2024-01-10T02:00:00+10:30 has the offset +10:30, but Australia/Lord_Howe (the config's timezone) was at +11:00 then: if the window was planned in Australia/Lord_Howe, write 2024-01-10T02:00:00+11:00 (30m apart)`,
			}},
		{"Seoul has no other offset", "Asia/Seoul", "" +
			"  - {service: account, start: 2024-07-01T02:00:00-04:00, end: 2024-07-01T18:00:00+10:00}\n",
			nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := "timezone: " + tc.zone + "\n" + flows + "maintenance:\n" + tc.maintenance
			cfg, err := Parse("c.yaml", []byte(src), Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range cfg.Warnings("sqlite") {
				got = append(got, fmt.Sprintf("%d: %s: %s", w.Line, w.Key, w.Msg)) // File is the config's, left to check
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Warnings =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

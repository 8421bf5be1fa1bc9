package publish

import (
	"testing"
	"time"
)

// TestBackfillZeroZone: with reports.backfill 0, whether the month the
// publishing began in ended before it is decided in the config's zone:
// a first start at 2023-05-31T20:00Z is June 1 in Asia/Seoul (May ended
// before it: not made) and May 31 in America/Sao_Paulo (May ends after
// it: made, as measured from then); the skip of months before the first
// stored run (store.Earliest, an hour bucket in UTC) drops neither.
func TestBackfillZeroZone(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		zone string
		want string
	}{
		{"Asia/Seoul", "2023-06/1"},
		{"America/Sao_Paulo", "2023-05/1 2023-06/1"},
		{"UTC", "2023-05/1 2023-06/1"},
	} {
		t.Run(tc.zone, func(t *testing.T) {
			cfg, s, _ := backfillYear(t)
			if err := cfg.SetTimezone(tc.zone); err != nil {
				t.Fatal(err)
			}
			cfg.Reports.Backfill = 0
			ch := &fakeChannel{kind: "webhook", target: "http://127.0.0.1:1/in"}
			// Runs from 2023-05-31T10:00Z (May 31 in every zone here:
			// Seoul's May has data too, and is not made for ending before
			// the first start) to the second start.
			fill(t, s, utc("2023-05-31T10:00:00Z"), utc("2023-07-02T12:00:00Z"))
			if _, err := cycleAt(t, cfg, s, utc("2023-05-31T20:00:00Z"), "", ch); err != nil {
				t.Fatal(err)
			}
			vs, err := cycleAt(t, cfg, s, utc("2023-07-02T12:00:00Z"), "", ch)
			if err != nil {
				t.Fatal(err)
			}
			if g := monthVersions(vs); g != tc.want {
				t.Errorf("made %q, want %q", g, tc.want)
			}
		})
	}
}

package render

import (
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/report"
)

// TestCauseTimesSayWhichRepeatedHour: a cause change is printed as a short
// local time, "from 11-01 01:20:41"; on the day the clocks go back that
// wall clock occurs twice, so it carries its offset there, as the
// timeline's captions do, and nowhere else.
func TestCauseTimesSayWhichRepeatedHour(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	lh, err := time.LoadLocation("Australia/Lord_Howe")
	if err != nil {
		t.Fatal(err)
	}
	rfc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name     string
		loc      *time.Location
		from, to string // the two causes' starts
		want     string
	}{
		{"New York, first and second 01:20", ny, "2026-11-01T01:20:41-04:00", "2026-11-01T01:20:41-05:00",
			"from 11-01 01:20:41 -04:00: send: connection refused; from 11-01 01:20:41 -05:00: login: connection refused"},
		{"New York, before and after the repeated hour", ny, "2026-11-01T00:30:41-04:00", "2026-11-01T02:10:00-05:00",
			"from 11-01 00:30:41: send: connection refused; from 11-01 02:10:00: login: connection refused"},
		{"New York, the spring gap", ny, "2026-03-08T01:59:00-05:00", "2026-03-08T03:01:00-04:00",
			"from 03-08 01:59:00: send: connection refused; from 03-08 03:01:00: login: connection refused"},
		{"Lord Howe, the repeated half hour", lh, "2026-04-05T01:40:00+11:00", "2026-04-05T01:40:00+10:30",
			"from 04-05 01:40:00 +11:00: send: connection refused; from 04-05 01:40:00 +10:30: login: connection refused"},
		{"Lord Howe, outside it", lh, "2026-04-05T01:20:00+11:00", "2026-04-05T02:10:00+10:30",
			"from 04-05 01:20:00: send: connection refused; from 04-05 02:10:00: login: connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, g := rfc(tc.from), rfc(tc.to)
			w := report.Window{CauseStep: "send", Error: "send: connection refused", Start: f, Causes: []report.Cause{
				{Step: "send", Error: "send: connection refused", From: f, To: &g},
				{Step: "login", Error: "login: connection refused", From: g},
			}}
			if got := fmtCauses(w, tc.loc); got != tc.want {
				t.Errorf("fmtCauses:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

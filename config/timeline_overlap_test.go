package config

import (
	"fmt"
	"strings"
	"testing"
)

// TestTimelineOverlapWarning: two incidents of one timeline that overlap in
// time on a function of the same service are a warning at the second's
// line, naming the first and the overlap (before: accepted silently, and
// the reconciliation paired both with one measured window, so the first's
// end delta read +1h30m10s and the second's start delta -39m50s of a replay
// where each was measured within 10 s). Incidents that only meet, or that
// share no function or service, are not.
func TestTimelineOverlapWarning(t *testing.T) {
	inc := func(id, service, functions, start, end string) string {
		s := "  - id: " + id + "\n    service: " + service + "\n    functions: [" + functions + "]\n    start: " + start + "\n"
		if end != "" {
			s += "    end: " + end + "\n"
		}
		return s
	}
	tests := []struct {
		name, second, want string
	}{
		{"overlap", inc("b", "payments", "send", "2026-11-01T01:10:00-04:00", "2026-11-01T03:00:00-05:00"),
			"t.yaml:8: incidents[1]: overlaps incident a (line 3) on payments send from 2026-11-01T01:10:00-04:00 to 2026-11-01T01:30:00-05:00: both are reconciled with the same measured windows, so each one's start or end delta counts the other's time; end the first where the second starts, or make them one incident"},
		{"written twice", inc("b", "payments", "receipt, send", "2026-11-01T00:30:00-04:00", "2026-11-01T01:30:00-05:00"),
			"t.yaml:8: incidents[1]: overlaps incident a (line 3) on payments send from 2026-11-01T00:30:00-04:00 to 2026-11-01T01:30:00-05:00"},
		{"ongoing second", inc("b", "payments", "send", "2026-11-01T01:10:00-05:00", ""),
			"t.yaml:8: incidents[1]: overlaps incident a (line 3) on payments send from 2026-11-01T01:10:00-05:00 to 2026-11-01T01:30:00-05:00"},
		{"meets", inc("b", "payments", "send", "2026-11-01T01:30:00-05:00", "2026-11-01T03:00:00-05:00"), ""},
		{"before", inc("b", "payments", "send", "2026-10-31T20:00:00-04:00", "2026-11-01T00:30:00-04:00"), ""},
		{"other function", inc("b", "payments", "receive", "2026-11-01T01:10:00-04:00", "2026-11-01T03:00:00-05:00"), ""},
		{"other service", inc("b", "account", "send", "2026-11-01T01:10:00-04:00", "2026-11-01T03:00:00-05:00"), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := "timezone: America/New_York\nincidents:\n" + inc("a", "payments", "send", "2026-11-01T00:30:00-04:00", "2026-11-01T01:30:00-05:00") + tc.second
			tl, err := ParseTimeline("t.yaml", []byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range tl.Warnings() {
				got = append(got, fmt.Sprintf("%s:%d: %s: warning: %s", w.File, w.Line, w.Key, w.Msg))
			}
			if tc.want == "" {
				if len(got) != 0 {
					t.Errorf("warnings %q, want none", got)
				}
				return
			}
			if len(got) != 1 || !strings.HasPrefix(got[0], strings.Replace(tc.want, "incidents[1]: ", "incidents[1]: warning: ", 1)) {
				t.Errorf("warnings %q, want one beginning %q", got, tc.want)
			}
		})
	}
	// An ongoing first incident overlaps every later one on its functions.
	doc := "incidents:\n" + inc("a", "maps", "tile", "2026-10-04T05:00:00+11:00", "") + inc("b", "maps", "tile, route", "2026-10-05T05:00:00+11:00", "2026-10-05T06:00:00+11:00")
	tl, err := ParseTimeline("t.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if w := tl.Warnings(); len(w) != 1 || !strings.Contains(w[0].Msg, "on maps tile from 2026-10-05T05:00:00+11:00 to 2026-10-05T06:00:00+11:00") {
		t.Errorf("ongoing first: warnings %v", w)
	}
}

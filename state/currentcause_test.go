package state

import (
	"testing"
	"time"
)

// TestCurrentCauseOfCountedWindow: the current cause of an open window is
// the latest to begin of those that last. A location's window lasts by its
// last cause; a fleet's counted window lists every location's causes in
// order of start, and its last may have ended while another goes on: the
// quorum's page said "first failing step: login: HTTP 503" (seoul-a's, over
// since 10:35) for an outage busan-b and daegu-c still timed out in.
func TestCurrentCauseOfCountedWindow(t *testing.T) {
	at := func(m int) time.Time { return time.Date(2026, 3, 2, 10, m, 0, 0, time.UTC) }
	c := func(err string, from, to int) Cause {
		x := Cause{Step: "login", Error: err, From: at(from)}
		if to >= 0 {
			x.To = at(to)
		}
		return x
	}
	tests := []struct {
		name   string
		end    time.Time
		causes []Cause
		want   string
	}{
		{"one location", time.Time{}, []Cause{c("refused", 10, 20), c("timeout", 20, -1)}, "timeout"},
		{"fleet, last to begin ended", time.Time{}, []Cause{c("refused", 12, -1), c("timeout", 15, -1), c("503", 30, 35)}, "timeout"},
		{"fleet, closed", at(40), []Cause{c("refused", 12, 40), c("timeout", 15, 40), c("503", 30, 35)}, "503"},
		{"none", time.Time{}, nil, "first"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := Window{CauseStep: "login", Error: "first", Start: at(10), End: tc.end, Causes: tc.causes}
			if got := w.CurrentCause().Error; got != tc.want {
				t.Errorf("current cause %q, want %q", got, tc.want)
			}
		})
	}
}

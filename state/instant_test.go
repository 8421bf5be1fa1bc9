package state

import (
	"testing"
	"time"
)

// A tracker keeps its streaks' run starts in 8 bytes each; the windows it
// reports still hold the runs' own start times, in the runs' location
// (compared with ==: same instant, same location).
func TestWindowTimesAreTheRunsStarts(t *testing.T) {
	for _, loc := range []*time.Location{time.UTC, time.FixedZone("KST", 9*3600), time.Local} {
		t.Run(loc.String(), func(t *testing.T) {
			at := func(n int) time.Time { return time.Date(2026, 12, 2, 9, n, 30, 123456789, loc) }
			mc := New("messaging", "chat", "seoul-a", []string{"login", "send", "receive"}, Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 2})
			var evs []Event
			for i, spec := range []string{"ok", "fail:send", "fail:send", "ok", "slow:send", "ok"} {
				evs = append(evs, mc.Observe(mkRun(at(i), spec))...)
			}
			var open, close *Window
			for i := range evs {
				if evs[i].Window.Function != "" {
					continue
				}
				switch evs[i].Op {
				case OpOpen:
					open = &evs[i].Window
				case OpClose:
					close = &evs[i].Window
				}
			}
			if open == nil || close == nil {
				t.Fatalf("events %v: want the flow's down window opened and closed", evs)
			}
			for _, c := range []struct {
				name      string
				got, want time.Time
			}{
				{"open Start", open.Start, at(1)},
				{"open LastBefore", open.LastBefore, at(0)},
				{"open Confirmed", open.Confirmed, at(2)},
				{"close Start", close.Start, at(1)},
				{"close End", close.End, at(3)},
				{"close LastIn", close.LastIn, at(2)},
			} {
				if c.got != c.want {
					t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
				}
			}
		})
	}
}

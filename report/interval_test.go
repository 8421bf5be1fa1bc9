package report

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestFinishedPeriodKeepsItsInterval: a finished period's figures do not
// change when a reload changes a flow's interval after it. The prober ran
// across both edges of the period (10:00-11:00) at the old interval, its
// runs 35 s into each minute as the scheduler spreads them; the report is
// then built with the config's new interval. Before, the edges were judged
// with it: at 10 s, 10:00-10:00:35 (the first run "late") and
// 10:59:45-11:00 (after the last run's 10 s) read as unknown, 50 s that the
// same report at 60 s, and the state machine at the time, counted as
// covered: a version 2 of a finished month. The location's stored events,
// made with the interval it ran at, say whether those stretches were
// covered.
func TestFinishedPeriodKeepsItsInterval(t *testing.T) {
	h := hourStart
	for _, tc := range []struct {
		name     string
		was, now time.Duration
		off      time.Duration
		gap      [2]int // minutes after 09:00 with no run
		wantUnk  float64
		until    time.Duration // the last run, after 10:00; zero: 2h
	}{
		{"60s to 10s", time.Minute, 10 * time.Second, 35 * time.Second, [2]int{0, 0}, 0, 0},
		{"10s to 60s", 10 * time.Second, time.Minute, 5 * time.Second, [2]int{0, 0}, 0, 0},
		// No run 10:58-11:01: the stored unknown stretch runs from the
		// end of the 10:57:35 run's 60 s (10:58:35) to 11:01:35, 85 s of
		// it in the period, whatever the interval now.
		{"60s to 10s, down at the end", time.Minute, 10 * time.Second, 35 * time.Second, [2]int{118, 121}, 85, 0},
		{"60s to 10s, stopped across the start", time.Minute, 10 * time.Second, 35 * time.Second, [2]int{50, 70}, 635, 0},
		{"60s to 10s, stopped before the end, back 20 min after it", time.Minute, 10 * time.Second, 35 * time.Second, [2]int{110, 140}, 565, 0},
		{"10s to 60s, stopped before the end, back 20 min after it", 10 * time.Second, time.Minute, 5 * time.Second, [2]int{110, 140}, 595, 0},
		// Back the next day, past the day a report looks ahead for runs:
		// the unknown stretch the state machine stored then is still
		// what the report reads, not a guess at today's interval.
		{"60s to 10s, stopped before the end, back the next day", time.Minute, 10 * time.Second, 35 * time.Second, [2]int{110, 60 * 27}, 565, 28 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := testConfig("UTC", tc.was)
			s := stores()[0].open(t)
			until := cmp.Or(tc.until, 2*time.Hour)
			runs := schedule("seoul-a", h.Add(-time.Hour+tc.off), h.Add(until), tc.was, failing("gap", tc.gap))
			// 10:20-10:30 down, by its spec from 09:00.
			for i := range runs {
				if m := runs[i].Start.Sub(h); m >= 20*time.Minute && m < 30*time.Minute {
					runs[i] = mkRun("seoul-a", runs[i].Start, "fail:send")
				}
			}
			load(t, s, old, runs)
			// Made later (the publisher, the status page), or as of the
			// period's end (slaprobe report and windows: reportNow).
			for _, now := range []time.Time{h.Add(3 * time.Hour), h.Add(time.Hour)} {
				t.Run(now.Format("15:04"), func(t *testing.T) {
					// testConfig sets the interval as defaults.interval and the
					// flow's own.
					build := func(interval time.Duration) (*Report, []byte) {
						rep, err := Build(context.Background(), Input{Config: testConfig("UTC", interval), Store: s, From: h, To: h.Add(time.Hour), Now: now})
						if err != nil {
							t.Fatal(err)
						}
						js, err := json.MarshalIndent(rep, "", " ")
						if err != nil {
							t.Fatal(err)
						}
						return rep, js
					}
					rb, jb := build(tc.was)
					ra, ja := build(tc.now)
					before, after := rb.Services[0], ra.Services[0]
					if !near(before.UnknownSeconds, tc.wantUnk) {
						t.Errorf("at the interval it ran at: unknown %v s %+v, want %v", before.UnknownSeconds, before.Unknown, tc.wantUnk)
					}
					if before.UnknownSeconds != after.UnknownSeconds || val(before.Availability) != val(after.Availability) {
						t.Errorf("at %v: unknown %v s, availability %v; at %v: unknown %v s %+v, availability %v",
							tc.was, before.UnknownSeconds, val(before.Availability), tc.now, after.UnknownSeconds, after.Unknown, val(after.Availability))
					}
					// Anything else that changed would make a new version too
					// (the policy's words included).
					if !bytes.Equal(jb, ja) {
						t.Errorf("report.json differs between %v and %v:\n%s", tc.was, tc.now, firstDiff(jb, ja))
					}
				})
			}
		})
	}
}

// firstDiff is the first line where a and b differ.
func firstDiff(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return "- " + la[i] + "\n+ " + lb[i]
		}
	}
	return "(one is longer)"
}

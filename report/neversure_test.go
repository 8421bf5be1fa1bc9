package report

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// TestCountedNeverSurelyDown: a counted window in which the quorum was never
// surely down at once (no instant at which need of its locations were each
// past the end of their windows' first failing runs and not yet back) says
// so (QuorumNeverSurelyDown, quorum_never_surely_down in the JSON), and its
// start's later bound is capped at its end's latest instant: majority of 3,
// seoul-a failing 10:05:04-10:11:04, busan-b down from 10:11:00 with a first
// run that hung 15 s, daegu-c up: the counted window 10:11:00-10:11:04 said
// +15s for its start beside +300ms for its end, a start later than its
// latest end; now +4.3s, the end's 10:11:04.3. With daegu-c down from
// 10:11:05 too the window splits in two (busan-b alone from 10:11:04 to
// 10:11:05), the first part the same and the second surely down once
// busan-b's run ended (+10s). Where the quorum surely was down at some
// instant (busan-b's first run 300 ms) nothing is said and nothing capped.
// Stored and recomputed alike, in both stores.
func TestCountedNeverSurelyDown(t *testing.T) {
	sec := time.Second
	for _, tc := range []struct {
		name string
		runs [][]probe.Run
		want []string
	}{
		{"the hung run outlasts the window", [][]probe.Run{
			phasedRuns("seoul-a", 4*sec, [2]int{5, 11}, nil),
			phasedRuns("busan-b", 0, [2]int{11, 20}, map[int]time.Duration{11: 15 * sec}),
			phasedRuns("daegu-c", 0, [2]int{0, 0}, nil),
		}, []string{"10:11 -1m0s +4.3s / 10:11 -1m0s +300ms never surely"}},
		{"split: the first part never, the second surely", [][]probe.Run{
			phasedRuns("seoul-a", 4*sec, [2]int{5, 11}, nil),
			phasedRuns("busan-b", 0, [2]int{11, 20}, map[int]time.Duration{11: 15 * sec}),
			phasedRuns("daegu-c", 5*sec, [2]int{11, 20}, nil),
		}, []string{"10:11 -1m0s +4.3s / 10:11 -1m0s +300ms never surely", "10:11 -1m0s +10s / 10:20 -1m0s +300ms split from 10:11"}},
		{"a short first run: surely down", [][]probe.Run{
			phasedRuns("seoul-a", 4*sec, [2]int{5, 11}, nil),
			phasedRuns("busan-b", 0, [2]int{11, 20}, nil),
			phasedRuns("daegu-c", 0, [2]int{0, 0}, nil),
		}, []string{"10:11 -1m0s +300ms / 10:11 -1m0s +300ms"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			cfg.Policy.Quorum = config.Quorum{Mode: "majority"}
			for _, st := range stores() {
				t.Run(st.name, func(t *testing.T) {
					ctx := context.Background()
					s := st.open(t)
					for _, r := range tc.runs {
						load(t, s, cfg, r)
					}
					in := Input{Config: cfg, Store: s, From: hourStart, To: hourStart.Add(time.Hour), Now: hourStart.Add(time.Hour)}
					for _, recompute := range []bool{false, true} {
						in.Recompute = recompute
						ws, err := Windows(ctx, in)
						if err != nil {
							t.Fatal(err)
						}
						var got []string
						for _, w := range ws {
							if w.Function != nil {
								continue
							}
							g := laterBounds(w)
							if w.QuorumNeverSurelyDown {
								g += " never surely"
							}
							if w.SplitFrom != nil {
								g += " split from " + w.SplitFrom.UTC().Format("15:04")
							}
							got = append(got, g)
						}
						if fmt.Sprint(got) != fmt.Sprint(tc.want) {
							t.Errorf("recompute %v: windows %q, want %q", recompute, got, tc.want)
						}
					}
				})
			}
		})
	}
}

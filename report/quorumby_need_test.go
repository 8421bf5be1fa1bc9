package report

import (
	"fmt"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// TestCountedQuorumByNeedAtConfirmation: of several windows begun at once,
// QuorumBy keeps those whose confirmations made the quorum known by the
// quorum in force when it was confirmed (as Known dates it), not by the one
// at the counted start: majority of 4, seoul-a, busan-b and daegu-c down
// from 10:11:00 with 10:12 confirming runs of 300 ms, 5 s and 8 s,
// incheon-d without data until its first run at 10:11:30 (up): two of the
// three reporting at 10:11:00 sufficed, three of four by the confirmation,
// so the quorum was known at 10:12:08 (Known), by daegu-c, whose kicked
// rebuild pages it; busan-b's at 10:12:05 found two of four, not the
// quorum, yet it was elected, and would page the window late after
// daegu-c's page had been resolved. With incheon-d reporting from 10:10:30
// three are needed throughout: daegu-c as well; with incheon-d's first run
// at 10:13:30, after the confirmations, two sufficed: busan-b. With quorum
// all the window ends at 10:11:30 as incheon-d comes up, never confirmed
// at the quorum: the first to know, seoul-a, as Known dates it (it was
// daegu-c, the third, by the quorum of three at the start). Stored and
// recomputed alike, in both stores.
func TestCountedQuorumByNeedAtConfirmation(t *testing.T) {
	sec := time.Second
	for _, tc := range []struct {
		name  string
		first int // incheon-d's first minute with a run (at :30)
		want  string
	}{
		{"incheon-d reports from 10:11:30: daegu-c", 11, "[daegu-c] 10:12:08"},
		{"incheon-d reports from 10:10:30: daegu-c", 10, "[daegu-c] 10:12:08"},
		{"incheon-d reports from 10:13:30: busan-b", 13, "[busan-b] 10:12:05"},
		// Never confirmed at the quorum while counted (all: the window
		// ended at 10:11:30 as incheon-d came up, before any
		// confirmation): the first to know (none of their probers saw
		// it open), not the third, daegu-c, by the start's quorum of all
		// three; Known the third's, when the three windows were all
		// known (knownLate; 10:12:00, seoul-a's, before).
		{"all, incheon-d reports from 10:11:30: seoul-a", -11, "[seoul-a] 10:12:08"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			cfg.Policy.Quorum = config.Quorum{Mode: "majority"}
			if tc.first < 0 { // quorum all
				cfg.Policy.Quorum, tc.first = config.Quorum{Mode: "all"}, -tc.first
			}
			runs := [][]probe.Run{
				phasedRuns("seoul-a", 0, [2]int{11, 20}, nil),
				phasedRuns("busan-b", 0, [2]int{11, 20}, map[int]time.Duration{12: 5 * sec}),
				phasedRuns("daegu-c", 0, [2]int{11, 20}, map[int]time.Duration{12: 8 * sec}),
				schedule("incheon-d", hourStart.Add(30*sec), hourStart.Add(time.Hour), time.Minute, func(off time.Duration) string {
					if int(off/time.Minute) < tc.first {
						return ""
					}
					return "ok"
				}),
			}
			windowsStoredAndRecomputed(t, cfg, runs, hourStart, func(t *testing.T, recompute bool, ws []Window) {
				var got []string
				for _, w := range ws {
					if w.Function == nil {
						got = append(got, fmt.Sprint(w.QuorumBy)+" "+w.Known.UTC().Format("15:04:05"))
					}
				}
				if fmt.Sprint(got) != "["+tc.want+"]" {
					t.Errorf("recompute %v: counted windows' QuorumBy and Known %v, want [%s]", recompute, got, tc.want)
				}
			})
		})
	}
}

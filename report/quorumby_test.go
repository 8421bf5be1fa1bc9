package report

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// TestCountedQuorumBy: a counted window names the locations whose own
// windows began at its start (QuorumBy, not in the JSON): their runs made
// it count, and the alerts elect the first of them to page it when no
// verdict saw it open. Majority of 3: busan-b down from 10:10, seoul-a
// from 10:11 (it reaches the quorum), daegu-c from 10:12 (joins later):
// seoul-a; seoul-a and busan-b down from 10:11 at once: both; quorum 1:
// the first down. Stored and recomputed alike, in both stores.
func TestCountedQuorumBy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		quorum config.Quorum
		busan  int // busan-b's first failing minute
		want   string
	}{
		{"majority, seoul-a second", config.Quorum{Mode: "majority"}, 10, "[seoul-a]"},
		{"majority, at once", config.Quorum{Mode: "majority"}, 11, "[busan-b seoul-a]"},
		{"quorum 1, busan-b first", config.Quorum{Mode: "count", N: 1}, 10, "[busan-b]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			cfg.Policy.Quorum = tc.quorum
			runs := [][]probe.Run{
				phasedRuns("busan-b", 0, [2]int{tc.busan, 20}, nil),
				phasedRuns("seoul-a", 0, [2]int{11, 20}, nil),
				phasedRuns("daegu-c", 0, [2]int{12, 20}, nil),
			}
			for _, st := range stores() {
				t.Run(st.name, func(t *testing.T) {
					ctx := context.Background()
					s := st.open(t)
					for _, r := range runs {
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
							if w.Function == nil {
								got = append(got, fmt.Sprint(w.QuorumBy))
								if sw := w.State(); fmt.Sprint(sw.QuorumBy) == "" {
									t.Errorf("State() dropped QuorumBy %v", w.QuorumBy)
								}
							}
						}
						if fmt.Sprint(got) != "["+tc.want+"]" {
							t.Errorf("recompute %v: counted windows' QuorumBy %v, want [%s]", recompute, got, tc.want)
						}
					}
				})
			}
		})
	}
}

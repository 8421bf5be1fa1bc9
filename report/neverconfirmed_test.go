package report

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// TestCountedNeverConfirmedKnown: a counted window never confirmed at the
// quorum while it was counted is known when the windows of the quorum at
// one of its instants were all known, the need-th of theirs to be, and
// confirmed by that one's confirming run: quorum all, seoul-a (runs at
// :04) failing 10:05-10:11, busan-b down 10:05-10:20, daegu-c down from
// 10:11:00 with a 15 s first run: 10:11:00-10:11:04, known only when
// daegu-c's window was (its confirming run from 10:12:00), not at its
// start. Windows' confirmed, Known and the report's MTTD agree.
//
// Failed before: confirmed and Known 10:11:00 (the first location
// confirmation clipped to the start, seoul-a's of 10:06:04), MTTD 0.
func TestCountedNeverConfirmedKnown(t *testing.T) {
	sec := time.Second
	cfg := testConfig("UTC", time.Minute)
	cfg.Policy.Quorum = config.Quorum{Mode: "all"}
	runs := [][]probe.Run{
		phasedRuns("seoul-a", 4*sec, [2]int{5, 11}, nil),
		phasedRuns("busan-b", 0, [2]int{5, 20}, nil),
		phasedRuns("daegu-c", 0, [2]int{11, 20}, map[int]time.Duration{11: 15 * sec}),
	}
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			s := st.open(t)
			for _, r := range runs {
				load(t, s, cfg, r)
			}
			for _, recompute := range []bool{false, true} {
				rep, err := Build(ctx, Input{Config: cfg, Store: s, From: hourStart, To: hourStart.Add(time.Hour), Timelines: []*config.Timeline{}, Recompute: recompute})
				if err != nil {
					t.Fatal(err)
				}
				svc := rep.Services[0]
				var got []string
				for _, w := range svc.Windows {
					if w.Function == nil {
						got = append(got, fmt.Sprintf("%s-%s confirmed %s known %s", w.Start.UTC().Format("15:04:05"), w.End.UTC().Format("15:04:05"),
							w.Confirmed.UTC().Format("15:04:05"), w.Known.UTC().Format("15:04:05.0")))
					}
				}
				const want = "[10:11:00-10:11:04 confirmed 10:12:00 known 10:12:00.3]"
				if fmt.Sprint(got) != want {
					t.Errorf("recompute %v: counted windows %v, want %s", recompute, got, want)
				}
				if m := fmtF(svc.MTTDSeconds); m != fmtF(ptrF(60.3)) {
					t.Errorf("recompute %v: MTTD %s, want 60.3 s (to daegu-c's confirming run's end)", recompute, m)
				}
			}
		})
	}
}

package report

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// TestSilentLocationWindowEnds: a prober that stopped during an outage of
// its own (not at the quorum) and has not come back leaves its window open
// in the store. The report must not read its silence as down: the window
// ends where its data ends (the end of its last run's interval), as an edge
// next to time without data, whether the period is still running or over,
// and the report names the location as silent since then.
func TestSilentLocationWindowEnds(t *testing.T) {
	end := hourStart.Add(time.Hour)
	runs := func() []probe.Run {
		var runs []probe.Run
		runs = append(runs, schedule("seoul-a", hourStart, end, time.Minute, failing("ok"))...)
		runs = append(runs, schedule("seoul-b", hourStart, end, time.Minute, failing("ok"))...)
		// seoul-c fails from 10:40 and its last run is at 10:44.
		runs = append(runs, schedule("seoul-c", hourStart, end, time.Minute, func(off time.Duration) string {
			switch m := int(off / time.Minute); {
			case m >= 45:
				return ""
			case m >= 40:
				return "fail:login"
			}
			return "ok"
		})...)
		return runs
	}
	tests := []struct {
		name string
		now  time.Time
	}{
		{"period running", hourStart.Add(55 * time.Minute)},
		{"period over", time.Time{}},
	}
	for _, st := range stores() {
		for _, tc := range tests {
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				cfg := testConfig("UTC", time.Minute)
				s := st.open(t)
				load(t, s, cfg, runs())
				for _, recompute := range []bool{false, true} {
					rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: hourStart, To: end, Now: tc.now, Recompute: recompute})
					if err != nil {
						t.Fatal(err)
					}
					sv := rep.Services[0]
					sameList(t, "windows", winList(sv.Windows), nil)
					sameList(t, "below quorum", winList(sv.BelowQuorum), []string{
						"flow down 10:40-10:45 login seoul-c",
						"login down 10:40-10:45 login seoul-c",
						"receive down 10:40-10:45 login seoul-c",
						"send down 10:40-10:45 login seoul-c",
					})
					if want := map[string]time.Time{"seoul-c": hourStart.Add(45 * time.Minute)}; !maps.EqualFunc(rep.Silent, want, time.Time.Equal) {
						t.Errorf("recompute %v: silent locations %v, want %v", recompute, rep.Silent, want)
					}
					for _, w := range sv.BelowQuorum {
						if w.EndCut != CutNoData || w.DurationSeconds != 300 {
							t.Errorf("recompute %v: %s window: end_cut %q, duration %gs; want %q, 300s", recompute, fnName(w), w.EndCut, w.DurationSeconds, CutNoData)
						}
					}
				}
			})
		}
	}
}

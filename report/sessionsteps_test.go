package report

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestStepLatencyOfASessionStep: the step latencies (report.json's steps,
// the tables of every format, and the function lanes of the PDF and HTML
// timeline, drawn from them) list a flow's session steps, in run order, as
// they list its other steps. Before, they listed the flow's steps only:
// examples/demo.yaml's payments login, a session step, had no latency row
// (though the service's p50/p95/p99 counted it) and no lane on the timeline
// in a month without a login window.
func TestStepLatencyOfASessionStep(t *testing.T) {
	const ivl = 5 * time.Minute
	for _, session := range []bool{false, true} {
		t.Run(fmt.Sprintf("session=%v", session), func(t *testing.T) {
			cfg, s, from, to := sessionSyncDay(t, ivl, session)
			rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: from, To: to, Now: to.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, st := range rep.Services[0].Steps {
				if st.Flow == "sync" {
					got = append(got, st.Step)
					if st.Count == 0 || st.P50 == nil {
						t.Errorf("sync %s: count %d, p50 %v: not timed", st.Step, st.Count, st.P50)
					}
				}
			}
			if fmt.Sprint(got) != "[login send receive]" {
				t.Errorf("sync's step latencies %v, want [login send receive]", got)
			}
		})
	}
}

package report

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// TestReconcileBelowQuorum: a declared incident that fewer locations than
// the quorum saw is not detected (its windows are not counted), but the
// reconciliation says what was seen instead of a bare "not detected": the
// below-quorum windows of its functions near it, with the locations that saw
// them. A regulator reading "detected: false" beside an incident one of
// three probers measured to the minute would take it for a miss.
func TestReconcileBelowQuorum(t *testing.T) {
	m := time.Minute
	recv := []string{"receive"}
	cases := []struct {
		name     string
		runs     func() []probe.Run
		detected bool
		below    []string // winList of the reconciliation's below-quorum windows
	}{{
		name: "seen by one of three",
		runs: func() []probe.Run {
			out := schedule("a", hm(10, 0), hm(11, 0), m, failing("ok"))
			out = append(out, schedule("b", hm(10, 0), hm(11, 0), m, failing("ok"))...)
			return append(out, schedule("c", hm(10, 0), hm(11, 0), m, failing("fail:receive", [2]int{20, 30}))...)
		},
		below: []string{"receive down 10:20-10:30 receive c"},
	}, {
		name: "seen by two of three",
		runs: func() []probe.Run {
			out := schedule("a", hm(10, 0), hm(11, 0), m, failing("ok"))
			out = append(out, schedule("b", hm(10, 0), hm(11, 0), m, failing("fail:receive", [2]int{20, 30}))...)
			return append(out, schedule("c", hm(10, 0), hm(11, 0), m, failing("fail:receive", [2]int{20, 30}))...)
		},
		detected: true,
	}, {
		// c saw another function fail, far from the incident: not this
		// incident's.
		name: "seen by none",
		runs: func() []probe.Run {
			out := schedule("a", hm(10, 0), hm(11, 0), m, failing("ok"))
			out = append(out, schedule("b", hm(10, 0), hm(11, 0), m, failing("ok"))...)
			return append(out, schedule("c", hm(10, 0), hm(11, 0), m, failing("fail:send", [2]int{45, 50}))...)
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", m)
			s := stores()[0].open(t)
			load(t, s, cfg, tc.runs())
			rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: hm(10, 0), To: hm(11, 0),
				Timelines: timeline(incident("recv", "drop", recv, hm(10, 20), hm(10, 30)))})
			if err != nil {
				t.Fatal(err)
			}
			rc := rep.Services[0].Reconciliation
			if len(rc) != 1 {
				t.Fatalf("reconciliation = %+v, want one incident", rc)
			}
			if rc[0].Detected != tc.detected {
				t.Errorf("detected = %v, want %v", rc[0].Detected, tc.detected)
			}
			sameList(t, "below quorum", winList(rc[0].BelowQuorum), tc.below)
			if rc[0].BelowQuorum == nil {
				t.Error("below_quorum is null, want a list")
			}
		})
	}
}

package report

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
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

// TestBelowQuorumEdges: a declared incident that only a minority of
// locations saw stays not detected (it does not count), but when and from
// where it was seen is evidence: the reconciliation gives the below-quorum
// windows' earliest start and latest end, with their deltas from the
// declared times, in keys of their own (measured_start and the deltas keep
// meaning a counted measurement). An edge the window did not measure (the
// prober stopped while down) is null with its cut, as measured edges are.
func TestBelowQuorumEdges(t *testing.T) {
	m := time.Minute
	ok := func(loc string) []probe.Run { return schedule(loc, hm(10, 0), hm(11, 0), m, failing("ok")) }
	cases := []struct {
		name                string
		runs                []probe.Run
		start, end          string  // HH:MM, "" for null
		startDelta, endDelt float64 // NaN: null
		endCut              string
		quorum              config.Quorum // zero: majority
	}{{
		name:  "seen by one of three",
		runs:  slices.Concat(ok("a"), ok("b"), schedule("c", hm(10, 0), hm(11, 0), m, failing("fail:receive", [2]int{20, 30}))),
		start: "10:20", end: "10:30", startDelta: -120, endDelt: 0,
	}, {
		name: "seen by two of five, one from earlier",
		runs: slices.Concat(ok("a"), ok("b"), ok("c"),
			schedule("d", hm(10, 0), hm(11, 0), m, failing("fail:receive", [2]int{21, 29})),
			schedule("e", hm(10, 0), hm(11, 0), m, failing("fail:receive", [2]int{23, 33}))),
		start: "10:21", end: "10:33", startDelta: -60, endDelt: 180,
	}, {
		// c stopped at 10:30 while down: the end was not seen.
		name:  "end not seen",
		runs:  slices.Concat(ok("a"), ok("b"), schedule("c", hm(10, 0), hm(10, 30), m, failing("fail:receive", [2]int{20, 30}))),
		start: "10:20", startDelta: -120, endDelt: nan(), endCut: CutNoData,
	}, {
		name: "seen by two of three: detected, nothing below",
		runs: slices.Concat(ok("a"), schedule("b", hm(10, 0), hm(11, 0), m, failing("fail:receive", [2]int{20, 30})),
			schedule("c", hm(10, 0), hm(11, 0), m, failing("fail:receive", [2]int{20, 30}))),
		startDelta: nan(), endDelt: nan(),
	}, {
		// quorum all: two of three down is below it, and both are evidence.
		name: "quorum all, seen by two of three",
		runs: slices.Concat(ok("a"), schedule("b", hm(10, 0), hm(11, 0), m, failing("fail:receive", [2]int{21, 29})),
			schedule("c", hm(10, 0), hm(11, 0), m, failing("fail:receive", [2]int{20, 31}))),
		start: "10:20", end: "10:31", startDelta: -120, endDelt: 60,
		quorum: config.Quorum{Mode: "all"},
	}, {
		name:  "quorum 2, seen by one of three",
		runs:  slices.Concat(ok("a"), ok("b"), schedule("c", hm(10, 0), hm(11, 0), m, failing("fail:receive", [2]int{24, 30}))),
		start: "10:24", end: "10:30", startDelta: 120, endDelt: 0,
		quorum: config.Quorum{Mode: "count", N: 2},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", m)
			if tc.quorum.Mode != "" {
				cfg.Policy.Quorum = tc.quorum
			}
			s := stores()[0].open(t)
			runs := tc.runs
			slices.SortStableFunc(runs, func(x, y probe.Run) int { return x.Start.Compare(y.Start) })
			load(t, s, cfg, runs)
			rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: hm(10, 0), To: hm(11, 0), Now: hm(12, 0),
				Timelines: timeline(incident("recv", "drop", []string{"receive"}, hm(10, 22), hm(10, 30)))})
			if err != nil {
				t.Fatal(err)
			}
			rc := rep.Services[0].Reconciliation
			if len(rc) != 1 {
				t.Fatalf("reconciliation = %+v, want one incident", rc)
			}
			r := rc[0]
			hhmm := func(p *time.Time) string {
				if p == nil {
					return ""
				}
				return p.Format("15:04")
			}
			if got := hhmm(r.BelowQuorumStart); got != tc.start {
				t.Errorf("below_quorum_start = %q, want %q", got, tc.start)
			}
			if got := hhmm(r.BelowQuorumEnd); got != tc.end {
				t.Errorf("below_quorum_end = %q, want %q", got, tc.end)
			}
			for _, d := range []struct {
				name      string
				got, want float64
			}{{"start", val(r.BelowQuorumStartDeltaSeconds), tc.startDelta}, {"end", val(r.BelowQuorumEndDeltaSeconds), tc.endDelt}} {
				if !(near(d.got, d.want) || (d.got != d.got && d.want != d.want)) {
					t.Errorf("below-quorum %s delta = %v, want %v", d.name, d.got, d.want)
				}
			}
			if r.BelowQuorumEndCut != tc.endCut {
				t.Errorf("below_quorum_end_cut = %q, want %q", r.BelowQuorumEndCut, tc.endCut)
			}
			if len(r.BelowQuorum) > 0 && (r.Detected || r.MeasuredStart != nil || r.StartDeltaSeconds != nil) {
				t.Errorf("detected %v, measured_start %v, start delta %v: a below-quorum incident is not a counted measurement",
					r.Detected, r.MeasuredStart, val(r.StartDeltaSeconds))
			}
		})
	}
}

package report

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// TestQuorumBelowAroundCounted: a single location's outage that is counted
// only while another location joins it is listed as below quorum for the
// rest of its time. Before, a location window that overlapped a counted
// window at all was left out of below_quorum whole, so a location down for
// 40 minutes showed only the 5 minutes a second location shared: the other
// 35 minutes of a single-location failure were neither counted nor listed,
// though "single-location failures are shown but not counted".
func TestQuorumBelowAroundCounted(t *testing.T) {
	m := time.Minute
	runs := func() []probe.Run {
		out := schedule("a", hm(10, 0), hm(11, 0), m, failing("ok"))
		out = append(out, schedule("b", hm(10, 0), hm(11, 0), m, failing("fail:login", [2]int{20, 25}))...)
		return append(out, schedule("c", hm(10, 0), hm(11, 0), m, failing("fail:login", [2]int{0, 40}))...)
	}
	tests := []struct {
		name    string
		counted []string
		below   []string
	}{
		{"c down around b's outage", []string{
			"flow down 10:20-10:25 login b,c",
			"login down 10:20-10:25 login b,c",
			"receive down 10:20-10:25 login b,c",
			"send down 10:20-10:25 login b,c",
		}, []string{
			"flow down 10:00-10:20 login c",
			"login down 10:00-10:20 login c",
			"receive down 10:00-10:20 login c",
			"send down 10:00-10:20 login c",
			"flow down 10:25-10:40 login c",
			"login down 10:25-10:40 login c",
			"receive down 10:25-10:40 login c",
			"send down 10:25-10:40 login c",
		}},
	}
	for _, st := range stores() {
		for _, tc := range tests {
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				cfg := testConfig("UTC", m)
				s := st.open(t)
				load(t, s, cfg, runs())
				rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: hm(10, 0), To: hm(11, 0), Timelines: []*config.Timeline{}})
				if err != nil {
					t.Fatal(err)
				}
				svc := rep.Services[0]
				sameList(t, "counted", winList(svc.Windows), tc.counted)
				sameList(t, "below quorum", winList(svc.BelowQuorum), tc.below)
			})
		}
	}
}

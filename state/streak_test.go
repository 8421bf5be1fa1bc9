package state

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// A tracker keeps only the causes of the streak that is on (one pointer,
// nil while none is): the windows it opens list each streak's own causes,
// in order, never those of an earlier streak, and a restart's Resume
// carries them over.
func TestStreakCauses(t *testing.T) {
	tests := []struct {
		name   string
		pol    Policy
		tail   []string // runs replayed by Resume before the observed ones
		specs  []string // runs observed after the tail's (the runs are a minute apart from m0)
		opened []string // the flow's opened windows: "kind start causes"
	}{
		{
			name:   "a new failure streak starts from its own cause",
			pol:    Policy{DownAfter: 3, UpAfter: 1},
			specs:  []string{"fail:login", "ok", "fail:send", "fail:send", "fail:send"},
			opened: []string{"down m2 send@m2--"},
		},
		{
			name:   "a failure streak keeps each change of cause",
			pol:    Policy{DownAfter: 3, UpAfter: 1},
			specs:  []string{"fail:login", "fail:send", "fail:login"},
			opened: []string{"down m0 login@m0-m1,send@m1-m2,login@m2--"},
		},
		{
			name:   "degraded runs while down open a degraded window with their causes",
			pol:    Policy{DownAfter: 2, UpAfter: 2},
			specs:  []string{"fail:login", "fail:login", "slow:send", "slow:receive"},
			opened: []string{"down m0 login@m0--", "degraded m2 send@m2-m3,receive@m3--"},
		},
		{
			name:   "a failure ends a degraded streak and its causes",
			pol:    Policy{DownAfter: 2, UpAfter: 1},
			specs:  []string{"slow:send", "fail:login", "slow:receive", "slow:receive"},
			opened: []string{"degraded m2 receive@m2--"},
		},
		{
			name:   "a passing run ends a degraded streak and its causes",
			pol:    Policy{DownAfter: 2, UpAfter: 1},
			specs:  []string{"slow:send", "ok", "slow:receive", "slow:send"},
			opened: []string{"degraded m2 receive@m2-m3,send@m3--"},
		},
		{
			name:   "Resume carries a failure streak's causes over",
			pol:    Policy{DownAfter: 3, UpAfter: 1},
			tail:   []string{"fail:send", "fail:login"},
			specs:  []string{"fail:login"},
			opened: []string{"down m0 send@m0-m1,login@m1--"},
		},
		{
			name:   "Resume carries a degraded streak's causes over",
			pol:    Policy{DownAfter: 2, UpAfter: 1},
			tail:   []string{"slow:receive"},
			specs:  []string{"slow:send"},
			opened: []string{"degraded m0 receive@m0-m1,send@m1--"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.pol.Interval = time.Minute
			mc := New("messaging", "chat", "seoul-a", []string{"login", "send", "receive"}, tt.pol)
			var tail []probe.Run
			for i, s := range tt.tail {
				tail = append(tail, *mkRun(at(float64(i)), s))
			}
			mc.Resume(tail, nil)
			var got []string
			for i, s := range tt.specs {
				for _, e := range mc.Observe(mkRun(at(float64(len(tt.tail)+i)), s)) {
					if e.Op == OpOpen && e.Window.Function == "" {
						got = append(got, string(e.Window.Kind)+" "+fmtTime(e.Window.Start)+" "+fmtCauses(e.Window.Causes))
					}
				}
			}
			if strings.Join(got, "|") != strings.Join(tt.opened, "|") {
				t.Errorf("opened:\n got %q\nwant %q", got, tt.opened)
			}
		})
	}
}

// A tracker drops its causes once no failure or degraded streak is on.
func TestPassingRunDropsStreakCauses(t *testing.T) {
	mc := New("messaging", "chat", "seoul-a", []string{"login"}, Policy{Interval: time.Minute, DownAfter: 3})
	for i, s := range []string{"fail:login", "slow:login", "ok"} {
		mc.Observe(mkRun(at(float64(i)), s))
		for j := range mc.ts {
			if held := mc.ts[j].causes != nil; held != (s != "ok") {
				t.Errorf("after %s: tracker %q holds causes %v", s, mc.ts[j].key.Function, held)
			}
		}
	}
}

// Streak lengths are int32s that stop at math.MaxInt32 instead of wrapping.
func TestStreakLengthStops(t *testing.T) {
	for _, tt := range []struct{ from, want int32 }{
		{0, 1},
		{41, 42},
		{math.MaxInt32 - 1, math.MaxInt32},
		{math.MaxInt32, math.MaxInt32},
	} {
		n := tt.from
		inc(&n)
		if n != tt.want {
			t.Errorf("inc(%d) = %d, want %d", tt.from, n, tt.want)
		}
	}
}

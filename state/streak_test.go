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
				t.Errorf("after %s: tracker %q holds causes %v", s, mc.ts[j].fn, held)
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

// A tracker keeps only its function; the machine keeps the rest of the
// key once. Every window it reports, whatever made it (a run, a gap, Close,
// Restore, Reconfigure, Resume), carries the whole key.
func TestWindowKeys(t *testing.T) {
	pol := Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1}
	key := func(fn string) Key { return Key{Service: "messaging", Flow: "chat", Function: fn, Location: "seoul-a"} }
	down := func(fn string) Window {
		return Window{Key: key(fn), Kind: KindDown, Start: at(0), CauseStep: "send", Error: "send refused"}
	}
	tests := []struct {
		name string
		do   func(mc *Machine) []Window
		want []Key // of the windows, in order
	}{
		{
			name: "runs open and close",
			do: func(mc *Machine) []Window {
				return windowsOf(observeAll(mc, 0, "fail:send", "fail:send", "ok"))
			},
			want: []Key{key(""), key("send"), key("receive"), key(""), key("send"), key("receive")},
		},
		{
			name: "a gap closes what is open and reports unknown for each",
			do: func(mc *Machine) []Window {
				observeAll(mc, 0, "fail:login", "fail:login")
				return windowsOf(observeAll(mc, 10, "ok"))
			},
			want: []Key{key(""), key(""), key("login"), key("login"), key("send"), key("send"), key("receive"), key("receive")},
		},
		{
			name: "Close reports the flow's unknown stretch",
			do: func(mc *Machine) []Window {
				observeAll(mc, 0, "ok")
				return mc.Close(at(10))
			},
			want: []Key{key("")},
		},
		{
			name: "Restore puts windows back under the machine's key",
			do: func(mc *Machine) []Window {
				mc.Restore([]Window{down(""), down("send")}, at(1))
				return mc.OpenWindows()
			},
			want: []Key{key(""), key("send")},
		},
		{
			name: "functions that Reconfigure adds and reorders",
			do: func(mc *Machine) []Window {
				mc.Reconfigure([]string{"login"}, pol, time.Time{})
				mc.Reconfigure([]string{"receive", "login", "send"}, pol, time.Time{})
				return windowsOf(observeAll(mc, 0, "fail:login", "fail:login"))
			},
			want: []Key{key(""), key("receive"), key("login"), key("send")},
		},
		{
			name: "Resume replays against the stored windows of each key",
			do: func(mc *Machine) []Window {
				mc.Restore([]Window{down("send")}, at(1))
				mc.Resume([]probe.Run{*mkRun(at(0), "fail:send"), *mkRun(at(1), "fail:send")}, []Window{down("send")})
				return windowsOf(observeAll(mc, 2, "ok"))
			},
			// The flow and receive were never restored as down: only send
			// has a window to close.
			want: []Key{key("send")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mc := New("messaging", "chat", "seoul-a", []string{"login", "send", "receive"}, pol)
			var got []Key
			for _, w := range tt.do(mc) {
				got = append(got, w.Key)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("keys %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("window %d key %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func observeAll(mc *Machine, from float64, specs ...string) []Event {
	var evs []Event
	for i, s := range specs {
		evs = append(evs, mc.Observe(mkRun(at(from+float64(i)), s))...)
	}
	return evs
}

func windowsOf(evs []Event) []Window {
	var ws []Window
	for _, e := range evs {
		ws = append(ws, e.Window)
	}
	return ws
}

// The machine lists its functions (the daemon keeps no copy): in step
// order, with their states, after Reconfigure too.
func TestMachineFunctions(t *testing.T) {
	pol := Policy{Interval: time.Minute, DownAfter: 1, UpAfter: 1}
	tests := []struct {
		name    string
		fns     []string
		reconf  []string // nil: none
		specs   []string
		want    string   // "fn=state" in order
		has     []string // HasFunctions(has) is true
		hasNot  [][]string
		wantNum int
	}{
		{name: "none", fns: nil, want: "", has: nil, hasNot: [][]string{{"login"}}, wantNum: 0},
		{name: "unknown before a run", fns: []string{"login", "send"}, want: "login=unknown send=unknown",
			has: []string{"login", "send"}, hasNot: [][]string{{"send", "login"}, {"login"}, {"login", "send", "receive"}}, wantNum: 2},
		{name: "states after runs", fns: []string{"login", "send", "receive"}, specs: []string{"fail:send"},
			want: "login=up send=down receive=down", has: []string{"login", "send", "receive"}, wantNum: 3},
		// upload has no step in the run (mkRun's): no evidence about it,
		// so it stays unknown (a run with no step of a function).
		{name: "after Reconfigure", fns: []string{"login", "send", "receive"}, reconf: []string{"receive", "login", "upload"}, specs: []string{"fail:login"},
			want: "receive=down login=down upload=unknown", has: []string{"receive", "login", "upload"}, hasNot: [][]string{{"login", "send", "receive"}}, wantNum: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mc := New("messaging", "chat", "seoul-a", tt.fns, pol)
			if tt.reconf != nil {
				mc.Reconfigure(tt.reconf, pol, time.Time{})
			}
			observeAll(mc, 0, tt.specs...)
			var got []string
			for fn, st := range mc.Functions() {
				got = append(got, fn+"="+string(st))
				if fst := mc.FunctionState(fn); fst != st {
					t.Errorf("Functions gives %s %s, FunctionState %s", fn, st, fst)
				}
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("Functions %q, want %q", strings.Join(got, " "), tt.want)
			}
			if n := mc.NumFunctions(); n != tt.wantNum {
				t.Errorf("NumFunctions %d, want %d", n, tt.wantNum)
			}
			if !mc.HasFunctions(tt.has) {
				t.Errorf("HasFunctions(%q) false", tt.has)
			}
			for _, h := range tt.hasNot {
				if mc.HasFunctions(h) {
					t.Errorf("HasFunctions(%q) true", h)
				}
			}
		})
	}
}

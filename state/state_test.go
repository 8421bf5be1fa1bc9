package state

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

var t0 = time.Date(2021, 5, 5, 12, 0, 0, 0, time.UTC)

// m is minute n after t0, the start of the n-th run at a 1m interval.
func m(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }

// mkRun builds a run of the flow login -> send -> receive from a short spec:
// "ok", "fail:STEP" (that step fails, the later ones are not run) or
// "slow:STEP" (that step is over its latency objective).
func mkRun(at time.Time, spec string) *probe.Run {
	steps := []probe.StepResult{
		{Step: "login", Function: "login", Status: probe.StatusOK},
		{Step: "send", Function: "send", Status: probe.StatusOK},
		{Step: "receive", Function: "receive", Status: probe.StatusOK},
	}
	kind, step, _ := strings.Cut(spec, ":")
	hit := false
	for i := range steps {
		switch {
		case hit && kind == "fail":
			steps[i].Status = probe.StatusNotRun
		case steps[i].Step == step && kind == "fail":
			steps[i].Status, steps[i].Error, hit = probe.StatusFailed, step+" refused", true
		case steps[i].Step == step && kind == "slow":
			steps[i].Status, steps[i].Error = probe.StatusDegraded, step+" slow"
		case steps[i].Step == step && kind == "cert": // as probe words it
			steps[i].Status, steps[i].Error = probe.StatusDegraded, step+": certificate expires in 3 days, under min_days_left 14"
		}
	}
	return &probe.Run{ID: at.Format("150405"), Flow: "chat", Service: "messaging", Location: "seoul-a", Start: at, Steps: steps}
}

// fmtTime writes a time as minutes after t0 ("m3", "m2.5"), "-" when zero.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := t.Sub(t0)
	if d%time.Minute == 0 {
		return fmt.Sprintf("m%d", d/time.Minute)
	}
	return fmt.Sprintf("m%g", d.Minutes())
}

// fmtEvent writes an event as "op kind function start end confirmed cause";
// function is "flow" for the whole flow.
func fmtEvent(e Event) string {
	fn := e.Window.Function
	if fn == "" {
		fn = "flow"
	}
	cause := e.Window.CauseStep
	if e.Op == OpCause {
		cause = e.Window.CurrentCause().Step
	}
	if cause == "" {
		cause = "-"
	}
	return fmt.Sprintf("%s %s %s %s %s %s %s", e.Op, e.Window.Kind, fn,
		fmtTime(e.Window.Start), fmtTime(e.Window.End), fmtTime(e.Window.Confirmed), cause)
}

type obs struct {
	at   int // minute
	spec string
}

// seq is runs at consecutive minutes from 0.
func seq(specs ...string) []obs {
	out := make([]obs, len(specs))
	for i, s := range specs {
		out[i] = obs{i, s}
	}
	return out
}

func TestMachine(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		runs   []obs
		only   string // keep only events of this function ("flow" for the flow; "" = all)
		want   []string
		close  int // minute passed to Close; 0 = not called
		closed []string
		state  State
	}{
		{
			name:   "blip shorter than down_after opens nothing",
			policy: Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1},
			runs:   seq("ok", "fail:send", "ok", "fail:receive", "ok"),
			want:   nil,
			state:  Up,
		},
		{
			name:   "backdated to the first failed run, up at the first passing run",
			policy: Policy{Interval: time.Minute, DownAfter: 3, UpAfter: 1},
			runs:   seq("ok", "fail:send", "fail:send", "fail:send", "fail:send", "ok", "ok"),
			only:   "flow",
			want: []string{
				"open down flow m1 - m3 send",
				"close down flow m1 m5 m3 send",
			},
			state: Up,
		},
		{
			name:   "up_after 3 closes at the first of three passes",
			policy: Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 3},
			runs:   seq("fail:send", "fail:send", "ok", "ok", "fail:send", "ok", "ok", "ok", "ok"),
			only:   "flow",
			want: []string{
				"open down flow m0 - m1 send",
				"close down flow m0 m5 m1 send",
			},
			state: Up,
		},
		{
			name:   "up_after 1 closes at once",
			policy: Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1},
			runs:   seq("ok", "fail:send", "fail:receive", "ok", "fail:send"),
			only:   "flow",
			want: []string{
				"open down flow m1 - m2 send",
				"close down flow m1 m3 m2 send",
			},
			state: Up,
		},
		{
			name:   "degraded opens and closes",
			policy: Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1},
			runs:   seq("ok", "slow:login", "ok", "slow:login", "slow:login", "slow:send", "ok"),
			only:   "flow",
			want: []string{
				"open degraded flow m3 - m4 login",
				"cause degraded flow m3 - m4 send",
				"close degraded flow m3 m6 m4 login",
			},
			state: Up,
		},
		{
			name:   "a degraded run does not close a degraded window with up_after 2",
			policy: Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 2},
			runs:   seq("slow:login", "slow:login", "ok", "slow:login", "ok", "ok", "ok"),
			only:   "flow",
			want: []string{
				"open degraded flow m0 - m1 login",
				"close degraded flow m0 m4 m1 login",
			},
			state: Up,
		},
		{
			name:   "degraded then down then up",
			policy: Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1},
			runs:   seq("slow:send", "slow:send", "slow:send", "fail:send", "fail:send", "ok"),
			only:   "flow",
			want: []string{
				"open degraded flow m0 - m1 send",
				"close degraded flow m0 m3 m1 send",
				"open down flow m3 - m4 send",
				"close down flow m3 m5 m4 send",
			},
			state: Up,
		},
		{
			name:   "down then degraded recovery opens degraded at the first pass",
			policy: Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 2},
			runs:   seq("fail:send", "fail:send", "slow:login", "slow:login", "ok", "ok"),
			only:   "flow",
			want: []string{
				"open down flow m0 - m1 send",
				"close down flow m0 m2 m1 send",
				"open degraded flow m2 - m3 login",
				"close degraded flow m2 m4 m3 login",
			},
			state: Up,
		},
		{
			name:   "a failed login blocks send and receive with cause login",
			policy: Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1},
			runs:   seq("ok", "fail:login", "fail:login", "ok"),
			want: []string{
				"open down flow m1 - m2 login",
				"open down login m1 - m2 login",
				"open down send m1 - m2 login",
				"open down receive m1 - m2 login",
				"close down flow m1 m3 m2 login",
				"close down login m1 m3 m2 login",
				"close down send m1 m3 m2 login",
				"close down receive m1 m3 m2 login",
			},
			state: Up,
		},
		{
			name:   "a failed receive leaves login and send up",
			policy: Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1},
			runs:   seq("fail:receive", "fail:receive", "ok"),
			want: []string{
				"open down flow m0 - m1 receive",
				"open down receive m0 - m1 receive",
				"close down flow m0 m2 m1 receive",
				"close down receive m0 m2 m1 receive",
			},
			state: Up,
		},
		{
			name:   "unknown gap closes open windows at last run plus interval",
			policy: Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1},
			// down from m0; no run from m3 to m10 (gap > 2m); counting
			// restarts: one failure after the gap is not enough.
			runs: []obs{{0, "fail:send"}, {1, "fail:send"}, {2, "fail:send"}, {10, "fail:send"}, {11, "ok"}},
			only: "flow",
			want: []string{
				"open down flow m0 - m1 send",
				"close down flow m0 m3 m1 send",
				"close unknown flow m3 m10 m3 -",
			},
			state: Up,
		},
		{
			name:   "gap of exactly twice the interval is not unknown",
			policy: Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1},
			runs:   []obs{{0, "ok"}, {2, "fail:send"}, {4, "fail:send"}, {5, "ok"}},
			only:   "flow",
			want: []string{
				"open down flow m2 - m4 send",
				"close down flow m2 m5 m4 send",
			},
			state: Up,
		},
		{
			name:   "gap emits unknown for every function too",
			policy: Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1},
			runs:   []obs{{0, "ok"}, {5, "ok"}},
			want: []string{
				"close unknown flow m1 m5 m1 -",
				"close unknown login m1 m5 m1 -",
				"close unknown send m1 m5 m1 -",
				"close unknown receive m1 m5 m1 -",
			},
			state: Up,
		},
		{
			name:   "counting restarts after a gap",
			policy: Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1},
			runs:   []obs{{0, "fail:send"}, {4, "fail:send"}, {5, "fail:send"}, {6, "ok"}},
			only:   "flow",
			want: []string{
				"close unknown flow m1 m4 m1 -",
				"open down flow m4 - m5 send",
				"close down flow m4 m6 m5 send",
			},
			state: Up,
		},
		{
			name:   "open window stays open, Close reports the trailing unknown",
			policy: Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1},
			runs:   seq("ok", "fail:send", "fail:send"),
			only:   "flow",
			want:   []string{"open down flow m1 - m2 send"},
			close:  10,
			closed: []string{"close unknown flow m3 m10 m3 -"},
			state:  Down,
		},
		{
			name:   "Close within twice the interval reports nothing",
			policy: Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1},
			runs:   seq("ok", "ok"),
			close:  3,
			closed: nil,
			state:  Up,
		},
		{
			name:   "failures before down_after leave the state unknown",
			policy: Policy{Interval: time.Minute, DownAfter: 3, UpAfter: 1},
			runs:   seq("fail:send", "fail:send"),
			state:  Unknown,
		},
		{
			name:   "default policy is down_after 2, up_after 1, 1m",
			policy: Policy{},
			runs:   seq("fail:login", "fail:login", "ok"),
			only:   "flow",
			want: []string{
				"open down flow m0 - m1 login",
				"close down flow m0 m2 m1 login",
			},
			state: Up,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mc := New("messaging", "chat", "seoul-a", []string{"login", "send", "receive"}, tc.policy)
			var got []string
			for _, o := range tc.runs {
				for _, e := range mc.Observe(mkRun(m(o.at), o.spec)) {
					s := fmtEvent(e)
					if tc.only == "" || strings.Split(s, " ")[2] == tc.only {
						got = append(got, s)
					}
				}
			}
			if !equal(got, tc.want) {
				t.Errorf("events:\n got %q\nwant %q", got, tc.want)
			}
			if tc.close > 0 {
				var cl []string
				for _, w := range mc.Close(m(tc.close)) {
					cl = append(cl, fmtEvent(Event{Op: OpClose, Window: w}))
				}
				if !equal(cl, tc.closed) {
					t.Errorf("Close:\n got %q\nwant %q", cl, tc.closed)
				}
			}
			if st := mc.State(); st != tc.state {
				t.Errorf("state = %s, want %s", st, tc.state)
			}
		})
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestEventsHaveKeys checks that every event carries the full key.
func TestEventsHaveKeys(t *testing.T) {
	mc := New("messaging", "chat", "seoul-a", []string{"login", "send", "receive"}, Policy{})
	var evs []Event
	for _, o := range seq("fail:login", "fail:login") {
		evs = append(evs, mc.Observe(mkRun(m(o.at), o.spec))...)
	}
	if len(evs) != 4 {
		t.Fatalf("got %d events, want 4", len(evs))
	}
	for _, e := range evs {
		if e.Window.Service != "messaging" || e.Window.Flow != "chat" || e.Window.Location != "seoul-a" {
			t.Errorf("event key = %+v", e.Window.Key)
		}
		if e.Window.Error != "login refused" {
			t.Errorf("error = %q, want the login step's", e.Window.Error)
		}
	}
	if got := mc.FunctionState("send"); got != Down {
		t.Errorf("send state = %s, want down", got)
	}
	if got := mc.FunctionState("nope"); got != Unknown {
		t.Errorf("unknown function state = %s", got)
	}
	if n := len(mc.OpenWindows()); n != 4 {
		t.Errorf("open windows = %d, want 4", n)
	}
}

func TestRestore(t *testing.T) {
	pol := Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1}
	// The first daemon saw the outage open at m1 and stopped after m2.
	first := New("messaging", "chat", "seoul-a", []string{"login", "send", "receive"}, pol)
	for _, o := range seq("ok", "fail:send", "fail:send") {
		first.Observe(mkRun(m(o.at), o.spec))
	}
	open := first.OpenWindows()
	open = append(open, Window{Key: Key{Function: "removed"}, Kind: KindDown, Start: m(1)})

	tests := []struct {
		name string
		runs []obs
		want []string
	}{
		{
			name: "failing on after restart opens no second window",
			runs: []obs{{3, "fail:send"}, {4, "fail:send"}, {5, "ok"}},
			want: []string{
				"close down flow m1 m5 m2 send",
				"close down send m1 m5 m2 send",
				"close down receive m1 m5 m2 send",
			},
		},
		{
			name: "restart after a long stop closes at last run plus interval",
			runs: []obs{{20, "ok"}},
			want: []string{
				"close down flow m1 m3 m2 send",
				"close unknown flow m3 m20 m3 -",
				"close unknown login m3 m20 m3 -",
				"close down send m1 m3 m2 send",
				"close unknown send m3 m20 m3 -",
				"close down receive m1 m3 m2 send",
				"close unknown receive m3 m20 m3 -",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mc := New("messaging", "chat", "seoul-a", []string{"login", "send", "receive"}, pol)
			mc.Restore(open, first.LastRun())
			if got := mc.State(); got != Down {
				t.Fatalf("restored state = %s, want down", got)
			}
			if got := mc.LastRun(); !got.Equal(m(2)) {
				t.Fatalf("restored last run = %s", fmtTime(got))
			}
			var got []string
			for _, o := range tc.runs {
				for _, e := range mc.Observe(mkRun(m(o.at), o.spec)) {
					got = append(got, fmtEvent(e))
				}
			}
			if !equal(got, tc.want) {
				t.Errorf("events:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestWindowDuration(t *testing.T) {
	w := Window{Start: m(1)}
	if !w.Open() || w.Duration(m(4)) != 3*time.Minute {
		t.Errorf("open window: open=%v duration=%s", w.Open(), w.Duration(m(4)))
	}
	w.End = m(2)
	if w.Open() || w.Duration(m(4)) != time.Minute {
		t.Errorf("closed window: open=%v duration=%s", w.Open(), w.Duration(m(4)))
	}
}

package state

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// hung is a run that started at minute at and took d (a hang up to its
// timeout), failing at step with msg.
func hung(at float64, d time.Duration, step, msg string) *probe.Run {
	r := mkRun(t0.Add(time.Duration(at*float64(time.Minute))), "fail:"+step)
	r.Duration = d
	for i := range r.Steps {
		if r.Steps[i].Status == probe.StatusFailed {
			r.Steps[i].Error = msg
		}
	}
	return r
}

func at(minutes float64) time.Time { return t0.Add(time.Duration(minutes * float64(time.Minute))) }

func flowEvents(evs []Event) []string {
	var out []string
	for _, e := range evs {
		if e.Window.Function == "" {
			out = append(out, fmtEvent(e))
		}
	}
	return out
}

// A run in flight covers the slots it made skip: interval = timeout = 60s,
// every run takes its whole timeout plus a little jitter, so every other slot
// is skipped and run starts are just over two intervals apart. Before, this
// made an unknown stretch between every two runs and reset the failure count
// (25 down and 47 unknown windows in three hours); now it is one window from
// the first hanging run to the first passing one.
func TestInFlightRunCoversSkippedSlots(t *testing.T) {
	pol := Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1}
	tests := []struct {
		name    string
		timeout time.Duration
		runs    func() []*probe.Run
		want    []string
	}{
		{
			name:    "timeout equal to the interval",
			timeout: time.Minute,
			runs: func() []*probe.Run {
				var rs []*probe.Run
				rs = append(rs, mkRun(at(0), "ok"))
				for i := 1; i < 90; i += 2 { // starts 2m + 1.5s apart
					r := hung(float64(i)+float64(i-1)/2*1.5/60, time.Minute, "login", "login: flow timeout after 1m0s")
					rs = append(rs, r)
				}
				rs = append(rs, mkRun(at(92), "ok"))
				return rs
			},
			want: []string{"open down flow m1 - m3.025 login", "close down flow m1 m92 m3.025 login"},
		},
		{
			name:    "timeout below the interval",
			timeout: 30 * time.Second,
			runs: func() []*probe.Run {
				rs := []*probe.Run{mkRun(at(0), "ok")}
				for i := 1; i < 10; i++ {
					rs = append(rs, hung(float64(i), 30*time.Second, "login", "login: flow timeout after 30s"))
				}
				return append(rs, mkRun(at(10), "ok"))
			},
			want: []string{"open down flow m1 - m2 login", "close down flow m1 m10 m2 login"},
		},
		{
			name: "a stretch no run covered is still unknown, from the end of the last run",
			runs: func() []*probe.Run {
				return []*probe.Run{hung(0, 90*time.Second, "login", "x"), hung(1.5, 90*time.Second, "login", "x"), mkRun(at(8), "ok")}
			},
			want: []string{"open down flow m0 - m1.5 login", "close down flow m0 m3 m1.5 login", "close unknown flow m3 m8 m3 -"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mc := New("messaging", "chat", "seoul-a", []string{"login", "send", "receive"}, pol)
			var evs []Event
			for _, r := range tc.runs() {
				evs = append(evs, mc.Observe(r)...)
			}
			if got := flowEvents(evs); !equal(got, tc.want) {
				t.Errorf("events:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func fmtCauses(cs []Cause) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%s@%s-%s", c.Step, fmtTime(c.From), fmtTime(c.To)))
	}
	return strings.Join(parts, ",")
}

// A window keeps each change of cause, in order, for the flow and for each
// function: login fails (blocking receive), then login recovers and receive
// fails alone. The receive window shows login, then receive; the flow the
// same; the login window closes when login recovers.
func TestWindowCauses(t *testing.T) {
	pol := Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1}
	mc := New("messaging", "chat", "seoul-a", []string{"login", "send", "receive"}, pol)
	runs := []*probe.Run{
		mkRun(at(0), "ok"),
		mkRun(at(1), "fail:login"),
		mkRun(at(2), "fail:login"),
		mkRun(at(3), "fail:login"),
		hung(4, 0, "receive", `receive: expectation not met within 10s: $.messages[*].id does not contain "m-4"`),
		hung(5, 0, "receive", `receive: expectation not met within 10s: $.messages[*].id does not contain "m-5"`),
		mkRun(at(6), "ok"),
	}
	var causeEvents []string
	closed := map[string]Window{}
	for _, r := range runs {
		for _, e := range mc.Observe(r) {
			fn := e.Window.Function
			if fn == "" {
				fn = "flow"
			}
			switch e.Op {
			case OpCause:
				causeEvents = append(causeEvents, fn+":"+fmtCauses(e.Window.Causes))
			case OpClose:
				closed[fn] = e.Window
			}
		}
	}
	wantEvents := []string{
		"flow:login@m1-m4,receive@m4--",
		"receive:login@m1-m4,receive@m4--",
	}
	if !equal(causeEvents, wantEvents) {
		t.Errorf("cause events:\n got %q\nwant %q", causeEvents, wantEvents)
	}
	for fn, want := range map[string]string{
		"flow":    "login@m1-m4,receive@m4-m6",
		"receive": "login@m1-m4,receive@m4-m6",
		"send":    "login@m1-m4",
		"login":   "login@m1-m4",
	} {
		w, ok := closed[fn]
		if !ok {
			t.Errorf("%s: no window closed", fn)
			continue
		}
		if got := fmtCauses(w.Causes); got != want {
			t.Errorf("%s causes %s, want %s", fn, got, want)
		}
		if w.CauseStep != "login" || w.Error != "login refused" {
			t.Errorf("%s: cause_step %q error %q, want the first cause", fn, w.CauseStep, w.Error)
		}
	}
}

func TestSameCause(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{`receive: expectation not met within 10s: $.messages[*].id does not contain "m-4"`,
			`receive: expectation not met within 10s: $.messages[*].id does not contain "m-170"`, true},
		{"login: latency 2.345s over objective 2s", "login: latency 12.1s over objective 2s", true},
		{"send: body larger than 1048576 bytes", "send: body larger than 2097152 bytes", true},
		{"login: connection refused", "login: flow timeout after 30s", false},
		{"login: status 503, want 200", "login: status 404, want 200", false},
		{"login: extract token: no match for 'tok-[0-9a-f]+'", "login: extract token: no match for 'tok-[0-9a-f]+'", true},
		// The config's text between backquotes (probe.ConfigText) is kept
		// whole, its numbers too; the same text is one cause.
		{"place: extract order: no match for `order-20261105-(\\w+)`", "place: extract order: no match for `order-20261106-(\\w+)`", false},
		{"send: url: jwtclaim: the JWT has no claim `sub`", "send: url: jwtclaim: the JWT has no claim `room`", false},
		{"send: url: jwtclaim: the JWT has no claim `sub`", "send: url: jwtclaim: the JWT has no claim `sub`", true},
		{"send: url: jwtclaim: the JWT has no claim \"amber\"", "send: url: jwtclaim: the JWT has no claim \"birch\"", true},
		// A body that stalls after however much of it came, run after
		// run, is one hang (the size said as a reader takes it in).
		{"get: timeout after 500ms reading the body from 127.0.0.1:41235 after 600 kB",
			"get: timeout after 500ms reading the body from 127.0.0.1:41236 after 601 kB", true},
		{"get: timeout after 2s reading the body from api.example.org:443 after 999 kB",
			"get: timeout after 2s reading the body from api.example.org:443 after 1 MB", true},
		{"get: timeout after 2s reading the body from api.example.org:443 after 1.2 MB",
			"get: timeout after 2s reading the body from api.example.org:443 after 12 bytes", true},
		{"get: timeout after 2s reading the body from api.example.org:443 after 0 bytes",
			"get: timeout after 2s waiting for response headers from api.example.org:443", false},
		// A value the target returned, checked against a bound or an
		// expected value (probe's assert.go wordings), changes from run
		// to run: one cause. The expectation and the JSONPath stay.
		{"s: $.pending is 45, want < 10", "s: $.pending is 52, want < 10", true},
		{"s: expectation not met within 10s: $.lag is 3, want <= 2", "s: expectation not met within 10s: $.lag is 17, want <= 2", true},
		{"s: $.pending is 45, want < 10", "s: $.pending is 45, want < 20", false},
		{"s: $.pending is 45, want < 10", "s: $.queued is 45, want < 10", false},
		{"s: $.pending is 45, want < 10", "s: $.pending is 45, want > 10", false},
		{`s: $.pending is "45", want a number < 10`, "s: $.pending is null, want a number < 10", true},
		{"s: $.pending is true, want a number < 10", `s: $.pending is [1,"a)",{"b":2}], want a number < 10`, true},
		{"s: $.pending is 45, want < 10", "s: $.pending is 45, want a number < 10", false},
		// The bound is the config's, not the target's: one of four digits
		// or more, or with a decimal, is kept too (other numbers that size
		// are masked), while the value before it is masked whatever it is.
		{"s: $.pending is 4500, want < 1000", "s: $.pending is 4501, want < 2000", false},
		{"s: $.lag is 3.25, want <= 2.5", "s: $.lag is 3.5, want <= 3.5", false},
		{"s: $.lag is 3.25, want a number <= 1e-08", "s: $.lag is true, want a number <= 2e-08", false},
		{"s: $.pending is 4500, want < 1000", "s: $.pending is 52000, want < 1000", true},
		{"s: $.lag is 3.25, want <= 2.5 (the attempt after it was still waiting at the deadline)",
			"s: $.lag is 7.5, want <= 2.5 (the attempt after it was still waiting at the deadline)", true},
		{`s: $.state does not equal "ready" (got 3)`, `s: $.state does not equal "ready" (got 4)`, true},
		{`s: $.state does not equal "ready" (got 3)`, `s: $.state does not equal "ready" (got ["a)",false,null...)`, true},
		{`s: $.state does not equal "ready" (got 3)`, `s: $.phase does not equal "ready" (got 3)`, false},
		{`s: $.v does not match "^[0-9]+$" (got true)`, `s: $.v does not match "^[0-9]+$" (got {"x":1})`, true},
		{"s: $.error exists (got 7), want absent", "s: $.error exists (got 9), want absent", true},
		{"s: $.error exists (got 7), want absent", "s: $.fault exists (got 7), want absent", false},
		// A status is the probe's reading of the answer, not a value it
		// was asked to check: 503 and 404 stay apart.
		{"s: status 503, want 200-399", "s: status 404, want 200-399", false},
		// Not a value: " is " and "(got" in other words stay as they were.
		{"s: jwtclaim: the value is not a JWT (2 dot-separated parts, want 3)",
			"s: jwtclaim: the value is not a JWT (4 dot-separated parts, want 3)", false},
		{"s: stream events is not open", "s: stream updates is not open", false},
		// The address a dial went to (probe names it): IPv6 as IPv4, with
		// its port in brackets, bare, with a zone; one family or the other.
		{"login: connection refused ([2001:db8::5]:8448)", "login: connection refused ([2001:db8::6]:8448)", true},
		{"login: connection refused (10.0.0.5:8448)", "login: connection refused (10.0.0.6:8448)", true},
		{"login: network unreachable ([2001:db8::1]:443)", "login: network unreachable ([2001:db8:0:1::1f]:443)", true},
		{"login: connection refused ([fe80::1%eth0]:8448)", "login: connection refused ([fe80::2%eth0]:8448)", true},
		{"login: connection refused ([::1]:8448)", "login: connection refused ([::ffff:10.0.0.5]:8448)", true},
		{"login: host unreachable (2001:db8::5)", "login: host unreachable (2001:db8::a:6)", true},
		{"login: connection refused (10.0.0.5:8448)", "login: connection refused ([2001:db8::5]:8448)", true},
		{"login: connection refused (proxy [2001:db8::9]:3128)", "login: connection refused (proxy 10.0.0.9:3128)", true},
		// A short port stays, as it does after an IPv4 address.
		{"login: connection refused ([2001:db8::5]:443)", "login: connection refused ([2001:db8::5]:80)", false},
		{"login: connection refused (10.0.0.5:443)", "login: connection refused (10.0.0.5:80)", false},
		{"login: connection refused ([2001:db8::5]:443)", "login: connection refused (proxy [2001:db8::5]:443)", false},
		// What only looks like one is not an address: a time of day.
		{"s: not before 01:02:03", "s: not before 04:05:06", false},
		// A JSONPath's single-quoted names without a digit are the
		// config's words and tell causes apart; other quoted values are
		// masked (an operand is often a variable, TestVariableOperandOneCause).
		{"s: $['pending'] is 45, want < 10", "s: $['queued'] is 45, want < 10", false},
		{"s: $['pending'] is 45, want < 10", "s: $['pending'] is 52, want < 10", true},
		{`s: $.state does not equal "ready" (got 3)`, `s: $.state does not equal "done" (got 3)`, true},
		{`s: $.v does not match "^[a-z]+$" (got 1)`, `s: $.v does not match "^[a-z]*$" (got 1)`, true},
		{`s: $.v selected nothing, want "ready"`, `s: $.v selected nothing, want "done"`, true},
		{`s: $.v selected nothing, want "m-17"`, `s: $.v selected nothing, want "m-18"`, true},
		{`s: header X-State does not contain "ready"`, `s: header X-State does not contain "done"`, true},
		{`s: $.items[?(@.k=='a')].v is 3, want < 2`, `s: $.items[?(@.k=='b')].v is 3, want < 2`, false},
		// A server's message is not the config's: its errcode is the
		// cause, its words are not (TestStatusExcerptCauses).
		{`login: status 403, want 200: M_FORBIDDEN "Invalid password"`, `login: status 403, want 200: M_FORBIDDEN "User is deactivated"`, true},
		{`login: status 403, want 200: M_FORBIDDEN "Invalid password"`, `login: status 403, want 200: M_LIMIT_EXCEEDED "Invalid password"`, false},
		{`send: websocket closed by server: 'going away'`, `send: websocket closed by server: 'try again'`, true},
		// A long poll's last attempt is cut at within one run and ends
		// just before it the next: one cause whether the note is there.
		{`receive: expectation not met within 10s: $.messages[*].id does not contain "m-4" (the attempt after it was still waiting at the deadline)`,
			`receive: expectation not met within 10s: $.messages[*].id does not contain "m-5"`, true},
		{"receive: expectation not met within 10s: status 503, want 200 (the attempt after it was still waiting at the deadline)",
			"receive: expectation not met within 10s: status 503, want 200", true},
		{"receive: expectation not met within 10s: status 503, want 200 (the attempt after it was still waiting at the deadline)",
			"receive: expectation not met within 10s: status 404, want 200", false},
	}
	for _, tc := range tests {
		if got := sameCause(Cause{Step: "s", Error: tc.a}, "s", tc.b); got != tc.same {
			t.Errorf("sameCause(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.same)
		}
		if got := (Cause{Step: "s", Error: tc.a}).SameKey() == (Cause{Step: "s", Error: tc.b}).SameKey(); got != tc.same {
			t.Errorf("SameKey of %q and %q equal: %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
	if sameCause(Cause{Step: "login", Error: "x"}, "send", "x") {
		t.Error("another step is another cause")
	}
	if (Cause{Step: "login", Error: "x"}).SameKey() == (Cause{Step: "send", Error: "x"}).SameKey() {
		t.Error("another step is another cause (SameKey)")
	}
}

// Each edge records the runs that bound it: the start is at most one
// interval late (the last passing run before it), the end at most the time
// since the last failing run; unknown without a run before.
func TestEdgeUncertainty(t *testing.T) {
	pol := Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1}
	tests := []struct {
		name           string
		runs           []obs
		start, end     string // uncertainties of the flow's closed window, "-" unknown
		openStartUnc   string // of the open event
		restoredFrom   int    // restore the open window after this many runs (0: no)
		wantDegradedTo string
	}{
		{name: "steady", runs: seq("ok", "fail:send", "fail:send", "ok"), start: "1m0s", end: "1m0s", openStartUnc: "1m0s"},
		{name: "first run fails", runs: seq("fail:send", "fail:send", "ok"), start: "-", end: "1m0s", openStartUnc: "-"},
		{name: "confirm runs every 10s", runs: []obs{{0, "ok"}}, start: "1m0s", end: "10s", openStartUnc: "1m0s"},
		{name: "after a restart", runs: seq("ok", "fail:send", "fail:send", "fail:send", "ok"), restoredFrom: 3, start: "1m0s", end: "1m0s", openStartUnc: "1m0s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mc := New("messaging", "chat", "seoul-a", []string{"login", "send", "receive"}, pol)
			var runs []*probe.Run
			for _, o := range tc.runs {
				runs = append(runs, mkRun(m(o.at), o.spec))
			}
			if tc.name == "confirm runs every 10s" {
				runs = append(runs, mkRun(at(1), "fail:send"), mkRun(at(1+1.0/6), "fail:send"), mkRun(at(1+2.0/6), "fail:send"), mkRun(at(1+3.0/6), "ok"))
			}
			var open, closed *Window
			for i, r := range runs {
				if tc.restoredFrom > 0 && i == tc.restoredFrom {
					next := New("messaging", "chat", "seoul-a", []string{"login", "send", "receive"}, pol)
					next.Restore(mc.OpenWindows(), mc.LastRun())
					mc = next
				}
				for _, e := range mc.Observe(r) {
					if e.Window.Function != "" {
						continue
					}
					w := e.Window
					switch e.Op {
					case OpOpen:
						open = &w
					case OpClose:
						closed = &w
					}
				}
			}
			if open == nil || closed == nil {
				t.Fatalf("open %v closed %v", open, closed)
			}
			if got := fmtUnc(open.StartUncertainty()); got != tc.openStartUnc {
				t.Errorf("open event start uncertainty %s, want %s", got, tc.openStartUnc)
			}
			if _, ok := open.EndUncertainty(); ok {
				t.Error("an open window has no end uncertainty")
			}
			if got := fmtUnc(closed.StartUncertainty()); got != tc.start {
				t.Errorf("start uncertainty %s, want %s", got, tc.start)
			}
			if got := fmtUnc(closed.EndUncertainty()); got != tc.end {
				t.Errorf("end uncertainty %s, want %s", got, tc.end)
			}
		})
	}
}

func fmtUnc(d time.Duration, ok bool) string {
	if !ok {
		return "-"
	}
	return d.Round(time.Millisecond).String()
}

// Causes survive a restart: the restored window goes on from its last
// cause, and a new one is an OpCause event with the whole list.
func TestRestoreKeepsCauses(t *testing.T) {
	pol := Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1}
	first := New("messaging", "chat", "seoul-a", []string{"login", "send", "receive"}, pol)
	for _, r := range []*probe.Run{mkRun(at(0), "fail:login"), mkRun(at(1), "fail:login"), mkRun(at(2), "fail:send")} {
		first.Observe(r)
	}
	mc := New("messaging", "chat", "seoul-a", []string{"login", "send", "receive"}, pol)
	mc.Restore(first.OpenWindows(), first.LastRun())
	var got []string
	for _, r := range []*probe.Run{mkRun(at(3), "fail:send"), mkRun(at(4), "fail:receive"), mkRun(at(5), "ok")} {
		for _, e := range mc.Observe(r) {
			if e.Window.Function == "" {
				got = append(got, string(e.Op)+" "+fmtCauses(e.Window.Causes))
			}
		}
	}
	want := []string{"cause login@m0-m2,send@m2-m4,receive@m4--", "close login@m0-m2,send@m2-m4,receive@m4-m5"}
	if !equal(got, want) {
		t.Errorf("after restore:\n got %q\nwant %q", got, want)
	}
}

// TestConfirming: the flow is confirm-run while a failure or a degraded run
// may start a window (a streak short of down_after while up), while it is
// down or degraded, and until up_after fully ok runs end that; not while
// nothing is in question. Degraded streaks and windows count as failures do:
// a degraded window's edges are listed and reconciled, and are outages under
// policy.degraded: down.
func TestConfirming(t *testing.T) {
	pol := Policy{Interval: time.Minute, DownAfter: 3, UpAfter: 2}
	tests := []struct {
		name string
		runs []string
		want bool
	}{
		{"nothing observed", nil, false},
		{"up", []string{"ok"}, false},
		{"a failure while up", []string{"ok", "fail:send"}, true},
		{"a failure turned back", []string{"ok", "fail:send", "ok"}, false},
		{"a failure with no verdict yet", []string{"fail:send"}, true},
		{"down", []string{"ok", "fail:send", "fail:send", "fail:send"}, true},
		{"a pass while down, short of up_after", []string{"ok", "fail:send", "fail:send", "fail:send", "ok"}, true},
		{"up again after down", []string{"ok", "fail:send", "fail:send", "fail:send", "ok", "ok"}, false},
		{"a degraded run while up", []string{"ok", "slow:login"}, true},
		{"a degraded streak short of down_after", []string{"ok", "slow:login", "slow:login"}, true},
		{"a degraded run with no verdict yet", []string{"slow:login"}, true},
		{"a degraded run turned back", []string{"ok", "slow:login", "ok"}, false},
		{"degraded", []string{"ok", "slow:login", "slow:login", "slow:login"}, true},
		{"degraded, slow at another step", []string{"ok", "slow:login", "slow:login", "slow:login", "slow:receive"}, true},
		{"a pass while degraded, short of up_after", []string{"ok", "slow:login", "slow:login", "slow:login", "ok"}, true},
		{"a pass while degraded, then slow again", []string{"ok", "slow:login", "slow:login", "slow:login", "ok", "slow:login"}, true},
		{"up again after degraded", []string{"ok", "slow:login", "slow:login", "slow:login", "ok", "ok"}, false},
		{"down after degraded", []string{"ok", "slow:login", "slow:login", "slow:login", "fail:send", "fail:send", "fail:send"}, true},
		{"degraded after down", []string{"ok", "fail:send", "fail:send", "fail:send", "slow:login", "slow:login", "slow:login"}, true},
		{"up after degraded after down", []string{"ok", "fail:send", "fail:send", "fail:send", "slow:login", "slow:login", "slow:login", "ok", "ok"}, false},
		// A certificate under min_days_left stays until it is renewed:
		// not confirm-run, while up or degraded; anything else is.
		{"a certificate run while up", []string{"ok", "cert:login"}, false},
		{"degraded by a certificate", []string{"ok", "cert:login", "cert:login", "cert:login"}, false},
		{"degraded by a certificate, then slow", []string{"ok", "cert:login", "cert:login", "cert:login", "slow:send"}, true},
		{"slow, then a certificate", []string{"ok", "slow:login", "slow:login", "slow:login", "cert:login"}, false},
		{"a pass while degraded by a certificate", []string{"ok", "cert:login", "cert:login", "cert:login", "ok"}, true},
		{"a failure while degraded by a certificate", []string{"ok", "cert:login", "cert:login", "cert:login", "fail:send"}, true},
		{"a certificate run while down", []string{"ok", "fail:send", "fail:send", "fail:send", "cert:login"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mc := New("messaging", "chat", "seoul-a", []string{"login", "send", "receive"}, pol)
			for i, spec := range tc.runs {
				mc.Observe(mkRun(m(i), spec))
			}
			if got := mc.Confirming(); got != tc.want {
				t.Errorf("after %v (state %s): Confirming = %v, want %v", tc.runs, mc.State(), got, tc.want)
			}
		})
	}
}

func TestJoinCauses(t *testing.T) {
	a := []Cause{{Step: "login", Error: "x", From: at(0), To: at(5)}, {Step: "send", Error: "y", From: at(5)}}
	b := []Cause{{Step: "send", Error: "y", From: at(7), To: at(9)}, {Step: "receive", Error: "z", From: at(9), To: at(12)}}
	if got := fmtCauses(JoinCauses(a, b)); got != "login@m0-m5,send@m5-m9,receive@m9-m12" {
		t.Errorf("joined %s", got)
	}
	c := []Cause{{Step: "receive", Error: "z", From: at(8), To: at(12)}}
	if got := fmtCauses(JoinCauses(a, c)); got != "login@m0-m5,send@m5-m8,receive@m8-m12" {
		t.Errorf("joined %s", got)
	}
	if got := fmtCauses(JoinCauses(nil, c)); got != "receive@m8-m12" {
		t.Errorf("joined %s", got)
	}
}

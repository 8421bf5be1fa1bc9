package state

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// sessRun is, at minute n, a run of a flow with a session: its login step
// auth (function login, or account when account is set: then the flow's
// step profile serves account too), then the flow's steps sync and send,
// each 1 s. tok is what the run did:
//
//	L   logged in: every step passed
//	S   logged in slowly: auth degraded, the rest passed
//	X   the login failed: sync and send not run (blocked)
//	R   reused the session (no auth step listed): sync and send passed
//	Rs  reused it: sync failed, send not run (blocked)
func sessRun(n int, tok string, account bool) *probe.Run {
	fn := "login"
	if account {
		fn = "account"
	}
	var steps []probe.StepResult
	add := func(step, function string, st probe.Status) {
		s := probe.StepResult{Step: step, Function: function, Status: st}
		if st != probe.StatusNotRun {
			s.Duration = time.Second
		}
		switch st {
		case probe.StatusFailed:
			s.Error = step + ": status 503, want 200"
		case probe.StatusDegraded:
			s.Error = step + ": latency 1s over objective 500ms"
		}
		steps = append(steps, s)
	}
	ok, failed, notRun := probe.StatusOK, probe.StatusFailed, probe.StatusNotRun
	switch tok {
	case "L", "S", "X":
		st := map[string]probe.Status{"L": ok, "S": probe.StatusDegraded, "X": failed}[tok]
		add("auth", fn, st)
		rest := ok
		if tok == "X" {
			rest = notRun
		}
		if account {
			add("profile", "account", rest)
		}
		add("sync", "sync", rest)
		add("send", "send", rest)
	case "R":
		if account {
			add("profile", "account", ok)
		}
		add("sync", "sync", ok)
		add("send", "send", ok)
	case "Rs":
		add("sync", "sync", failed)
		add("send", "send", notRun)
	default:
		panic("sessRun: " + tok)
	}
	var d time.Duration
	for i := range steps {
		d += steps[i].Duration
		if steps[i].Status != probe.StatusNotRun {
			steps[i].Ended = d
		}
	}
	return &probe.Run{ID: fmt.Sprint(n), Flow: "matrix-sync", Service: "chat", Location: "seoul-a", Start: m(n), Duration: d, Steps: steps}
}

// sessRuns expands "m0 L, m1-m59 R, m60 X" style specs (minutes, one run a
// minute) into tokens by minute.
func sessRuns(spec string) []struct {
	n   int
	tok string
} {
	var out []struct {
		n   int
		tok string
	}
	for _, part := range strings.Split(spec, ",") {
		var lo, hi int
		var tok string
		part = strings.TrimSpace(part)
		if _, err := fmt.Sscanf(part, "m%d-m%d %s", &lo, &hi, &tok); err != nil {
			if _, err := fmt.Sscanf(part, "m%d %s", &lo, &tok); err != nil {
				panic("sessRuns: " + part)
			}
			hi = lo
		}
		for n := lo; n <= hi; n++ {
			out = append(out, struct {
				n   int
				tok string
			}{n, tok})
		}
	}
	return out
}

// fmtAt is a time as minutes after t0 and the seconds past it: "m62+2s".
func fmtAt(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := t.Sub(t0)
	s := fmt.Sprintf("m%d", d/time.Minute)
	if r := d % time.Minute; r != 0 {
		s += "+" + r.String()
	}
	return s
}

// fmtBounds is an event with its window's bounds and the run it came from:
// "open down m60 before=m0 @m61", "close down m60-m62 in=m61 after=m62+1s @m62".
func fmtBounds(e Event, at int) string {
	w := e.Window
	if e.Op == OpClose {
		return fmt.Sprintf("close %s %s-%s in=%s after=%s @m%d", w.Kind, fmtAt(w.Start), fmtAt(w.End), fmtAt(w.LastIn), fmtAt(w.FirstAfterEnd), at)
	}
	return fmt.Sprintf("%s %s %s before=%s @m%d", e.Op, w.Kind, fmtAt(w.Start), fmtAt(w.LastBefore), at)
}

// TestReusedSessionIsNoEvidence: a run that reuses the session lists no
// login step, so it says nothing of the login function: it neither starts,
// ends, breaks nor extends its streaks, and is not its LastBefore. In the
// first row, new logins fail from some time after m0 while sessions work;
// the session logged in at m0 expires at m60 and that login fails, and the
// next: the login window's start may be off by the hour since m0, the last
// login that passed, not by the minute since m59 (a reusing run). Without
// the rule (Machine.Observe skipping a function the run did not exercise),
// rows "login fails after the session's hour" (before=m59), "up_after 2
// waits for the second login" (closed @m5), "a reusing run between two
// failed logins" and "slow logins across reusing runs" (no window), "a
// login down at the last run stays down over reusing runs" (closed @m3)
// and "reusing runs leave an unmeasured login unknown" (up) fail; the
// others pass either way: the end edge (the first passing run after a
// login outage logs in), a function served by a flow step too (every run
// exercises it), a blocked function (a not-run step is evidence), the
// functions the failed login blocked, the whole flow. A reusing run between
// two failed logins is not what the probe does (a failed login leaves no
// session: the next run logs in), but the rule holds for it.
func TestReusedSessionIsNoEvidence(t *testing.T) {
	for _, tc := range []struct {
		name      string
		account   bool // auth serves account, which the flow's step profile serves too
		down, up  int
		runs      string
		fn        string // the function whose events are checked ("": the flow)
		want      []string
		wantState State // the function's state after the runs
	}{
		{name: "login fails after the session's hour", down: 2, up: 1,
			runs: "m0 L, m1-m59 R, m60 X, m61 X, m62 L, m63-m64 R", fn: "login",
			want:      []string{"open down m60 before=m0 @m61", "close down m60-m62 in=m61 after=m62+1s @m62"},
			wantState: Up},
		{name: "the function the failed login blocked", down: 2, up: 1,
			runs: "m0 L, m1-m59 R, m60 X, m61 X, m62 L, m63-m64 R", fn: "sync",
			want:      []string{"open down m60 before=m59 @m61", "close down m60-m62 in=m61 after=m62+2s @m62"},
			wantState: Up},
		{name: "the whole flow", down: 2, up: 1,
			runs: "m0 L, m1-m59 R, m60 X, m61 X, m62 L, m63-m64 R", fn: "",
			want:      []string{"open down m60 before=m59 @m61", "close down m60-m62 in=m61 after=m62+3s @m62"},
			wantState: Up},
		{name: "up_after 2 waits for the second login", down: 2, up: 2,
			runs: "m0 L, m1 R, m2 X, m3 X, m4 L, m5-m9 R, m10 L, m11 R", fn: "login",
			want:      []string{"open down m2 before=m0 @m3", "close down m2-m4 in=m3 after=m4+1s @m10"},
			wantState: Up},
		{name: "a reusing run between two failed logins", down: 2, up: 1,
			runs: "m0 L, m1 R, m2 X, m3 R, m4 X, m5 L", fn: "login",
			want:      []string{"open down m2 before=m0 @m4", "close down m2-m5 in=m4 after=m5+1s @m5"},
			wantState: Up},
		{name: "a login down at the last run stays down over reusing runs", down: 2, up: 1,
			runs: "m0 L, m1 X, m2 X, m3-m5 R", fn: "login",
			want:      []string{"open down m1 before=m0 @m2"},
			wantState: Down},
		{name: "slow logins across reusing runs", down: 2, up: 1,
			runs: "m0 L, m1 S, m2 R, m3 S, m4 R, m5 L", fn: "login",
			want:      []string{"open degraded m1 before=m0 @m3", "close degraded m1-m5 in=m3 after=m5+1s @m5"},
			wantState: Up},
		{name: "a function served by a session step and a flow step", account: true, down: 2, up: 1,
			runs: "m0 L, m1-m9 R, m10 X, m11 X, m12 L", fn: "account",
			want:      []string{"open down m10 before=m9 @m11", "close down m10-m12 in=m11 after=m12+2s @m12"},
			wantState: Up},
		{name: "a blocked function", down: 2, up: 1,
			runs: "m0 L, m1 R, m2 Rs, m3 Rs, m4 R", fn: "send",
			want:      []string{"open down m2 before=m1 @m3", "close down m2-m4 in=m3 after=m4+2s @m4"},
			wantState: Up},
		{name: "reusing runs leave an unmeasured login unknown", down: 2, up: 1,
			runs: "m0-m3 R", fn: "login", wantState: Unknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fns := []string{"login", "sync", "send"}
			if tc.account {
				fns = []string{"account", "sync", "send"}
			}
			mc := New("chat", "matrix-sync", "seoul-a", fns, Policy{Interval: time.Minute, DownAfter: tc.down, UpAfter: tc.up})
			var got []string
			for _, r := range sessRuns(tc.runs) {
				for _, e := range mc.Observe(sessRun(r.n, r.tok, tc.account)) {
					if e.Window.Function == tc.fn && e.Window.Kind != KindUnknown {
						got = append(got, fmtBounds(e, r.n))
					}
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("%q events:\n got %q\nwant %q", tc.fn, got, tc.want)
			}
			st := mc.State()
			if tc.fn != "" {
				st = mc.FunctionState(tc.fn)
			}
			if st != tc.wantState {
				t.Errorf("%q state %s, want %s", tc.fn, st, tc.wantState)
			}
		})
	}
}

// TestResumeKeepsTheLastLogin: a restart (Restore, then Resume with the
// flow's last runs) puts the flow's last run as every key's last run; for a
// function the last run did not exercise (the login, when it reused the
// session) that is the last of the tail that did, or not known when none
// did: after the restart, the first login fails (the daemon's sessions end
// at a stop, so the first run logs in) and the next, and the window's start
// bound goes back to that login, or says it is not known. Without Resume's
// rule both rows say before=m9, the last run.
func TestResumeKeepsTheLastLogin(t *testing.T) {
	for _, tc := range []struct {
		name string
		tail string // the runs before the stop, the last ResumeRuns of them read back
		want []string
	}{
		{"a login in the tail", "m0 L, m1-m6 R, m7 L, m8-m9 R", []string{"open down m10 before=m7 @m11"}},
		{"no login in the tail", "m0 L, m1-m9 R", []string{"open down m10 before=- @m11"}},
		{"the last run logged in", "m0 L, m1-m8 R, m9 L", []string{"open down m10 before=m9 @m11"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol := Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1}
			fns := []string{"login", "sync", "send"}
			var tail []probe.Run
			for _, r := range sessRuns(tc.tail) {
				tail = append(tail, *sessRun(r.n, r.tok, false))
			}
			tail = tail[len(tail)-ResumeRuns(pol):]
			mc := New("chat", "matrix-sync", "seoul-a", fns, pol)
			mc.Restore(nil, tail[len(tail)-1].Start)
			mc.Resume(tail, nil)
			var got []string
			for _, r := range sessRuns("m10 X, m11 X") {
				for _, e := range mc.Observe(sessRun(r.n, r.tok, false)) {
					if e.Window.Function == "login" {
						got = append(got, fmtBounds(e, r.n))
					}
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("login events:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

package platform

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
)

// fixture holds what the per-function calls need, made before any fault.
type fixture struct {
	tok                               map[string]string
	msgID, transferID, rideID, mailID string
}

func prepare(c *client) *fixture {
	c.t.Helper()
	fx := &fixture{tok: map[string]string{}}
	for _, s := range serviceNames() {
		fx.tok[s] = c.login(s, "alice")
	}
	fx.msgID = c.must(c.do("POST", "/messaging/messages", fx.tok["messaging"], map[string]string{"to": "alice", "text": "setup"}), 201).str(c.t, "id")
	fx.transferID = c.must(c.do("POST", "/payments/transfers", fx.tok["payments"], map[string]any{"to": "bob", "amount": 1}), 201).str(c.t, "id")
	fx.rideID = c.must(c.do("POST", "/mobility/rides", fx.tok["mobility"], map[string]string{"to": "home"}), 201).str(c.t, "id")
	fx.mailID = c.must(c.do("POST", "/mail/messages", fx.tok["mail"], map[string]string{"to": "alice", "text": "setup"}), 201).str(c.t, "id")
	return fx
}

// callFunction makes one request of (service, function).
func callFunction(c *client, fx *fixture, svc, fn string) reply {
	tok := fx.tok[svc]
	switch svc + "/" + fn {
	case "account/login", "messaging/login", "payments/login", "maps/login", "mobility/login", "mail/login":
		return c.do("POST", "/"+svc+"/login", "", map[string]string{"user": "alice", "password": "pw"})
	case "messaging/send":
		return c.do("POST", "/messaging/messages", tok, map[string]string{"to": "alice", "text": "x"})
	case "messaging/receive":
		return c.do("GET", "/messaging/inbox?after="+fx.msgID, tok, nil)
	case "messaging/media":
		return c.do("POST", "/messaging/media", tok, []byte("photo"))
	case "payments/send":
		return c.do("POST", "/payments/transfers", tok, map[string]any{"to": "bob", "amount": 2})
	case "payments/receive":
		return c.do("GET", "/payments/transfers/"+fx.transferID, tok, nil)
	case "payments/receipt":
		return c.do("GET", "/payments/receipts/"+fx.transferID, tok, nil)
	case "maps/search":
		return c.do("GET", "/maps/search?q=Pangyo", "", nil)
	case "maps/route":
		return c.do("GET", "/maps/route?from=a&to=b", "", nil)
	case "maps/tile":
		return c.do("GET", "/maps/tiles/1/1/1.png", "", nil)
	case "mobility/send":
		return c.do("POST", "/mobility/rides", tok, map[string]string{"to": "x"})
	case "mobility/receive":
		return c.do("GET", "/mobility/rides/"+fx.rideID, tok, nil)
	case "mail/send":
		return c.do("POST", "/mail/messages", tok, map[string]string{"to": "alice", "text": "x"})
	case "mail/receive":
		return c.do("GET", "/mail/inbox?after="+fx.mailID, tok, nil)
	case "mail/attachments":
		return c.do("POST", "/mail/attachments", tok, []byte("pdf"))
	}
	c.t.Fatalf("no call for %s/%s", svc, fn)
	return reply{}
}

// outcome classifies a reply: "ok", "down" (no HTTP answer), "error" (503)
// or "status N".
func outcome(r reply) string {
	switch {
	case r.err != nil:
		return "down"
	case r.status >= 200 && r.status < 300:
		return "ok"
	case r.status == 503:
		return "error"
	}
	return fmt.Sprintf("status %d", r.status)
}

func TestFaultModesAffectOnlyTheirFunction(t *testing.T) {
	const latency = 20 * time.Second
	for _, how := range transports {
		for _, svc := range serviceNames() {
			fns, _ := functionsOf(svc)
			targets := append(slices.Clone(fns), "") // "" = a fault on every function
			for _, target := range targets {
				for _, mode := range []string{config.ModeDown, config.ModeError, config.ModeSlow} {
					name := fmt.Sprintf("%s/%s/%s/%s", how, svc, target, mode)
					if target == "" {
						name = fmt.Sprintf("%s/%s/all/%s", how, svc, mode)
					}
					t.Run(name, func(t *testing.T) {
						m := clock.NewManual(t0)
						p := New(Options{Clock: m})
						c := newClient(t, p, how)
						c.clk = m // through Transport the request carries it; over a socket Options.Clock rules
						fx := prepare(c)
						f := Fault{Service: svc, Mode: mode, Latency: latency}
						if target != "" {
							f.Functions = []string{target}
						}
						if _, err := p.AddFault(f); err != nil {
							t.Fatal(err)
						}
						// Every other service is untouched.
						other := "maps"
						if svc == "maps" {
							other = "payments"
						}
						if got := outcome(callFunction(c, fx, other, "login")); got != "ok" {
							t.Errorf("%s login: %s, want ok", other, got)
						}
						for _, fn := range fns {
							hit := target == "" || fn == target
							before := m.Now()
							r := callFunction(c, fx, svc, fn)
							got, waited := outcome(r), m.Now().Sub(before)
							want, wantWait := "ok", time.Duration(0)
							if hit {
								switch mode {
								case config.ModeDown, config.ModeError:
									want = mode
								case config.ModeSlow:
									wantWait = latency
								}
							}
							if got != want {
								t.Errorf("%s: %s (%v %s), want %s", fn, got, r.err, r.body, want)
							}
							if waited != wantWait {
								t.Errorf("%s: virtual clock moved %v, want %v", fn, waited, wantWait)
							}
						}
					})
				}
			}
		}
	}
}

func TestSlowCostsVirtualTimeOnly(t *testing.T) {
	p := New(Options{}) // real clock by default: the request's Manual clock must win
	if _, err := p.AddFault(Fault{Service: "maps", Functions: []string{"tile"}, Mode: "slow", Latency: time.Hour}); err != nil {
		t.Fatal(err)
	}
	m := clock.NewManual(t0)
	c := newClient(t, p, "transport")
	c.clk = m
	start := time.Now()
	c.must(c.do("GET", "/maps/tiles/0/0/0.png", "", nil), 200)
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("a 1h virtual wait took %v of real time", el)
	}
	if got := m.Now().Sub(t0); got != time.Hour {
		t.Errorf("clock advanced %v, want 1h", got)
	}
}

// arrived reports whether the item with id sent on svc reached the receiving side.
func arrived(c *client, fx *fixture, svc, id string) bool {
	c.t.Helper()
	tok := fx.tok[svc]
	switch svc {
	case "messaging", "mail":
		return slices.Contains(ids(c.t, c.must(c.do("GET", "/"+svc+"/inbox?after="+id, tok, nil), 200)), id)
	case "payments":
		return c.must(c.do("GET", "/payments/transfers/"+id, tok, nil), 200).str(c.t, "status") == "settled"
	case "mobility":
		return c.must(c.do("GET", "/mobility/rides/"+id, tok, nil), 200).str(c.t, "status") == "matched"
	}
	c.t.Fatalf("no receiving side for %s", svc)
	return false
}

func TestDrop(t *testing.T) {
	tests := []struct {
		fns      []string
		wantDrop bool
	}{
		{[]string{"send"}, true},
		{[]string{"receive"}, true},
		{nil, true},
		{[]string{"login"}, false},
	}
	for _, how := range transports {
		for _, svc := range []string{"messaging", "payments", "mobility", "mail"} {
			for _, tc := range tests {
				t.Run(fmt.Sprintf("%s/%s/%v", how, svc, tc.fns), func(t *testing.T) {
					m := clock.NewManual(t0)
					p := New(Options{Clock: m})
					c := newClient(t, p, how)
					c.clk = m
					fx := prepare(c)
					id, err := p.AddFault(Fault{Service: svc, Functions: tc.fns, Mode: "drop"})
					if err != nil {
						t.Fatal(err)
					}
					r := callFunction(c, fx, svc, "send")
					if r.status != 201 {
						t.Fatalf("send during drop: %v %d %s, want 201", r.err, r.status, r.body)
					}
					during := r.str(t, "id")
					if got := arrived(c, fx, svc, during); got == tc.wantDrop {
						t.Errorf("sent during the fault: arrived = %v, want %v", got, !tc.wantDrop)
					}
					if got := outcome(callFunction(c, fx, svc, "receive")); got != "ok" {
						t.Errorf("receive during drop answered %s, want ok", got)
					}
					if !p.RemoveFault(id) {
						t.Fatal("RemoveFault: not found")
					}
					m.Advance(time.Second)
					after := callFunction(c, fx, svc, "send")
					if !arrived(c, fx, svc, after.str(t, "id")) {
						t.Error("sent after the fault: not arrived")
					}
					if got := arrived(c, fx, svc, during); got == tc.wantDrop {
						t.Errorf("sent during the fault, checked after: arrived = %v, want %v", got, !tc.wantDrop)
					}
				})
			}
		}
	}
}

func TestSampleDeterministic(t *testing.T) {
	base := func() (string, string, string, string, []byte, time.Time) {
		return "messaging", "send", "POST", "/messaging/messages", []byte(`{"to":"a"}`), t0
	}
	s0 := sample(base())
	for i := 0; i < 3; i++ {
		if s := sample(base()); s != s0 {
			t.Fatalf("same inputs gave %v then %v", s0, s)
		}
	}
	if s0 < 0 || s0 >= 1 {
		t.Fatalf("sample %v outside [0, 1)", s0)
	}
	tests := []struct {
		name string
		s    float64
		same bool
	}{
		{"same second", sample("messaging", "send", "POST", "/messaging/messages", []byte(`{"to":"a"}`), t0.Add(999*time.Millisecond)), true},
		{"next second", sample("messaging", "send", "POST", "/messaging/messages", []byte(`{"to":"a"}`), t0.Add(time.Second)), false},
		{"service", sample("mail", "send", "POST", "/messaging/messages", []byte(`{"to":"a"}`), t0), false},
		{"function", sample("messaging", "receive", "POST", "/messaging/messages", []byte(`{"to":"a"}`), t0), false},
		{"method", sample("messaging", "send", "GET", "/messaging/messages", []byte(`{"to":"a"}`), t0), false},
		{"query", sample("messaging", "send", "POST", "/messaging/messages?x", []byte(`{"to":"a"}`), t0), false},
		{"body", sample("messaging", "send", "POST", "/messaging/messages", []byte(`{"to":"b"}`), t0), false},
		{"field boundary", sample("messagings", "end", "POST", "/messaging/messages", []byte(`{"to":"a"}`), t0), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if (tc.s == s0) != tc.same {
				t.Errorf("sample = %v, base %v, want same=%v", tc.s, s0, tc.same)
			}
		})
	}
}

func TestRateRoughlyHalf(t *testing.T) {
	tests := []struct {
		rate      float64
		mode      string
		sameQuery bool // only the virtual time tells the requests apart
	}{
		{0.5, "error", false},
		{0.1, "error", false},
		{0.5, "down", false},
		{0.5, "error", true},
		{0.3, "error", true},
	}
	const n = 2000
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%v/same-query=%v", tc.mode, tc.rate, tc.sameQuery), func(t *testing.T) {
			path := func(i int) string {
				if tc.sameQuery {
					return "/maps/search?q=probe"
				}
				return fmt.Sprintf("/maps/search?q=place-%d", i)
			}
			m := clock.NewManual(t0)
			p := New(Options{Clock: m})
			if _, err := p.AddFault(Fault{Service: "maps", Functions: []string{"search"}, Mode: tc.mode, Rate: tc.rate}); err != nil {
				t.Fatal(err)
			}
			c := newClient(t, p, "transport")
			c.clk = m
			hits := 0
			var first []string
			for i := 0; i < n; i++ {
				o := outcome(c.do("GET", path(i), "", nil))
				if o != "ok" {
					hits++
				}
				if i < 50 {
					first = append(first, o)
				}
				m.Advance(time.Second)
			}
			got := float64(hits) / n
			if math.Abs(got-tc.rate) > 0.04 {
				t.Errorf("%d of %d affected (%.3f), want about %v", hits, n, got, tc.rate)
			}
			// The same requests at the same virtual times decide the same.
			m.Set(t0)
			for i, want := range first {
				if o := outcome(c.do("GET", path(i), "", nil)); o != want {
					t.Fatalf("request %d replayed as %s, first %s", i, o, want)
				}
				m.Advance(time.Second)
			}
		})
	}
}

// replay runs a messaging and payments flow every minute for n minutes and
// returns one outcome line per run.
func replay(t *testing.T, tl *config.Timeline, n int) []string {
	m := clock.NewManual(t0)
	p := New(Options{Clock: m, Timelines: []*config.Timeline{tl}})
	c := newClient(t, p, "transport")
	c.clk = m
	var out []string
	for i := 0; i < n; i++ {
		m.Set(t0.Add(time.Duration(i) * time.Minute))
		var line []string
		r := c.do("POST", "/messaging/login", "", map[string]string{"user": "probe", "password": "pw"})
		line = append(line, outcome(r))
		if r.status == 200 {
			tok := r.str(t, "token")
			s := c.do("POST", "/messaging/messages", tok, map[string]string{"to": "probe", "text": fmt.Sprintf("run %d", i)})
			line = append(line, outcome(s))
			if s.status == 201 {
				id := s.str(t, "id")
				in := c.do("GET", "/messaging/inbox?after="+id, tok, nil)
				line = append(line, outcome(in), fmt.Sprint(slices.Contains(ids(t, in), id)), id)
			}
		}
		out = append(out, strings.Join(line, " "))
	}
	return out
}

func TestReplayIsDeterministic(t *testing.T) {
	tl := &config.Timeline{Name: "flaky", Incidents: []config.Incident{
		{ID: "login-errors", Service: "messaging", Functions: []string{"login"}, Mode: "error", Rate: 0.3, Start: t0, End: t0.Add(2 * time.Hour)},
		{ID: "lost", Service: "messaging", Functions: []string{"receive"}, Mode: "drop", Rate: 0.5, Start: t0.Add(30 * time.Minute)},
		{ID: "slow", Service: "messaging", Functions: []string{"send"}, Mode: "slow", Latency: 3 * time.Second, Start: t0.Add(time.Hour)},
	}}
	a, b := replay(t, tl, 180), replay(t, tl, 180)
	if !slices.Equal(a, b) {
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("run %d: %q then %q", i, a[i], b[i])
			}
		}
	}
	joined := strings.Join(a, "\n")
	for _, want := range []string{"error", "ok ok ok true", "ok ok ok false"} {
		if !strings.Contains(joined, want) {
			t.Errorf("replay never saw %q; the faults did not bite:\n%s", want, joined)
		}
	}
}

func TestTimelineWindow(t *testing.T) {
	tl := &config.Timeline{Name: "tl", Incidents: []config.Incident{
		{ID: "rx", Service: "messaging", Functions: []string{"receive"}, Mode: "error", Start: t0, End: t0.Add(time.Hour)},
		{ID: "tiles", Service: "maps", Functions: []string{"tile"}, Mode: "down", Start: t0.Add(2 * time.Hour)}, // ongoing
	}}
	tests := []struct {
		at         time.Duration
		rx, tile   string
		wantFaults []string
	}{
		{-time.Second, "ok", "ok", nil},
		{0, "error", "ok", []string{"tl:rx"}},
		{59*time.Minute + 59*time.Second, "error", "ok", []string{"tl:rx"}},
		{time.Hour, "ok", "ok", nil},
		{2 * time.Hour, "ok", "down", []string{"tl:tiles"}},
		{1000 * time.Hour, "ok", "down", []string{"tl:tiles"}},
	}
	for _, how := range transports {
		m := clock.NewManual(t0.Add(-time.Hour))
		p := New(Options{Clock: m, Timelines: []*config.Timeline{tl}})
		c := newClient(t, p, how)
		fx := prepare(c)
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s/%v", how, tc.at), func(t *testing.T) {
				c.t = t
				m.Set(t0.Add(tc.at))
				if got := outcome(callFunction(c, fx, "messaging", "receive")); got != tc.rx {
					t.Errorf("receive: %s, want %s", got, tc.rx)
				}
				if got := outcome(callFunction(c, fx, "maps", "tile")); got != tc.tile {
					t.Errorf("tile: %s, want %s", got, tc.tile)
				}
				var got []string
				for _, f := range p.Faults() {
					got = append(got, f.ID)
					if f.Source != strings.TrimPrefix(f.ID, "tl:") {
						t.Errorf("fault %s has source %q", f.ID, f.Source)
					}
				}
				if !slices.Equal(got, tc.wantFaults) {
					t.Errorf("Faults() = %v, want %v", got, tc.wantFaults)
				}
			})
		}
	}
}

func TestRequestClockDecides(t *testing.T) {
	tl := &config.Timeline{Name: "tl", Incidents: []config.Incident{
		{ID: "rx", Service: "maps", Functions: []string{"search"}, Mode: "error", Start: t0, End: t0.Add(time.Hour)},
	}}
	p := New(Options{Clock: clock.NewManual(t0.Add(-time.Hour)), Timelines: []*config.Timeline{tl}})
	c := newClient(t, p, "transport")
	tests := []struct {
		name string
		clk  clock.Clock
		want string
	}{
		{"no request clock: Options.Clock, before the window", nil, "ok"},
		{"request clock inside the window", clock.NewManual(t0.Add(time.Minute)), "error"},
		{"request clock after the window", clock.NewManual(t0.Add(time.Hour)), "ok"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c.t, c.clk = t, tc.clk
			if got := outcome(c.do("GET", "/maps/search?q=x", "", nil)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestTimelineFaults(t *testing.T) {
	tls := []*config.Timeline{
		{Name: "a", Incidents: []config.Incident{
			{ID: "x", Service: "messaging", Mode: "error"},
			{ID: "bad", Service: "messaging", Mode: "explode"},
			{ID: "elsewhere", Service: "bank", Mode: "down"},
		}},
		{Name: "a", Incidents: []config.Incident{{ID: "x", Service: "mail", Mode: "down"}}},
		nil,
	}
	p := New(Options{Timelines: tls})
	var got []string
	for _, f := range p.Faults() {
		got = append(got, f.ID+"="+f.Source)
	}
	want := []string{"a:elsewhere=elsewhere", "a:x=x", "a:x#2=x"}
	if !slices.Equal(got, want) {
		t.Errorf("faults = %v, want %v", got, want)
	}
}

func TestAddFaultValidation(t *testing.T) {
	tests := []struct {
		name    string
		f       Fault
		wantErr string
	}{
		{"ok", Fault{Service: "mail", Mode: "down"}, ""},
		{"unknown service", Fault{Service: "bank", Mode: "down"}, "unknown service"},
		{"unknown function", Fault{Service: "mail", Functions: []string{"media"}, Mode: "down"}, `no function "media"`},
		{"unknown mode", Fault{Service: "mail", Mode: "melt"}, "unknown mode"},
		{"slow without latency", Fault{Service: "mail", Mode: "slow"}, "latency"},
		{"rate above 1", Fault{Service: "mail", Mode: "error", Rate: 1.5}, "rate"},
		{"rate NaN", Fault{Service: "mail", Mode: "error", Rate: math.NaN()}, "rate"},
		{"end before start", Fault{Service: "mail", Mode: "down", Start: t0, End: t0.Add(-time.Second)}, "before start"},
		{"duplicate id", Fault{ID: "dup", Service: "mail", Mode: "down"}, "already exists"},
	}
	p := New(Options{})
	if _, err := p.AddFault(Fault{ID: "dup", Service: "maps", Mode: "down"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := p.AddFault(tc.f)
			if tc.wantErr == "" {
				if err != nil || id == "" {
					t.Fatalf("AddFault = %q, %v", id, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestFaultsCopy(t *testing.T) {
	p := New(Options{})
	fns := []string{"send"}
	if _, err := p.AddFault(Fault{Service: "mail", Functions: fns, Mode: "down"}); err != nil {
		t.Fatal(err)
	}
	fns[0] = "receive"
	got := p.Faults()
	got[0].Functions[0] = "attachments"
	if f := p.Faults()[0]; f.Functions[0] != "send" || f.Source != SourceAdmin {
		t.Errorf("stored fault changed through a caller's slice: %+v", f)
	}
}

// warnLog records the warnings timelineFaults gives.
type warnLog struct{ msgs []string }

func (w *warnLog) Warn(msg string, args ...any) {
	w.msgs = append(w.msgs, fmt.Sprint(append([]any{msg}, args...)...))
}

// TestTimelineFaultWarnings: a timeline incident the platform cannot inject
// says so. One naming a function its service does not have ("recieve")
// injected nothing and said nothing, so a demo replayed it as 100% up; the
// admin API refuses the same fault with 400.
func TestTimelineFaultWarnings(t *testing.T) {
	at := time.Date(2022, 10, 15, 6, 30, 0, 0, time.UTC)
	cases := []struct {
		name      string
		service   string
		functions []string
		want      []string // substrings, one per warning
	}{
		{"known function", "messaging", []string{"receive"}, nil},
		{"every function", "messaging", nil, nil},
		{"unknown service", "nosuch", []string{"receive"}, []string{"service", "nosuch"}},
		{"unknown function", "messaging", []string{"send", "recieve"}, []string{"function", "recieve"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tl := &config.Timeline{File: "t.yaml", Name: "t", Incidents: []config.Incident{{
				ID: "a", Service: tc.service, Functions: tc.functions, Start: at, Mode: config.ModeDrop, Rate: 1,
			}}}
			var w warnLog
			if got := timelineFaults([]*config.Timeline{tl}, &w); len(got) != 1 {
				t.Fatalf("%d faults, want 1", len(got))
			}
			if len(tc.want) == 0 {
				if len(w.msgs) != 0 {
					t.Errorf("warnings %q, want none", w.msgs)
				}
				return
			}
			if len(w.msgs) != 1 {
				t.Fatalf("warnings %q, want one", w.msgs)
			}
			for _, s := range tc.want {
				if !strings.Contains(w.msgs[0], s) {
					t.Errorf("warning %q lacks %q", w.msgs[0], s)
				}
			}
		})
	}
}

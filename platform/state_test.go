package platform

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
)

func TestFIFO(t *testing.T) {
	f := newFIFO[int, string](3)
	for i := 1; i <= 5; i++ {
		f.put(i, fmt.Sprint(i))
	}
	f.put(4, "four") // an update does not evict
	tests := []struct {
		k    int
		want string
		ok   bool
	}{
		{1, "", false}, {2, "", false}, {3, "3", true}, {4, "four", true}, {5, "5", true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.k), func(t *testing.T) {
			if v, ok := f.get(tc.k); v != tc.want || ok != tc.ok {
				t.Errorf("get(%d) = %q, %v; want %q, %v", tc.k, v, ok, tc.want, tc.ok)
			}
		})
	}
	if f.len() != 3 {
		t.Errorf("len = %d, want 3", f.len())
	}
}

func TestMailboxBounds(t *testing.T) {
	b := newMailbox(3, 5)
	for i := 1; i <= 4; i++ {
		b.accept("ann", message{ID: fmt.Sprintf("a%d", i)}, true)
	}
	b.accept("bob", message{ID: "b1"}, true)
	b.accept("bob", message{ID: "b2"}, false) // dropped
	b.accept("bob", message{ID: "b3"}, true)
	b.accept("cat", message{ID: "c1"}, true)
	idsOf := func(ms []message) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	tests := []struct {
		user, after string
		want        []string
	}{
		{"ann", "", []string{"a3", "a4"}}, // a1 by the inbox bound, a2 by the total bound
		{"ann", "a1", nil},                // forgotten: the sent index holds the last 5
		{"ann", "a4", []string{"a4"}},
		{"bob", "", []string{"b1", "b3"}},
		{"bob", "b2", []string{"b3"}}, // the dropped one is not there, later ones are
		{"bob", "zz", nil},
		{"cat", "", []string{"c1"}},
		{"dan", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.user+"/"+tc.after, func(t *testing.T) {
			if got := idsOf(b.inbox(tc.user, tc.after)); !slices.Equal(got, tc.want) {
				t.Errorf("inbox = %v, want %v", got, tc.want)
			}
		})
	}
	if n := b.count(); n != 5 {
		t.Errorf("count = %d, want 5", n)
	}
}

func TestTokenEviction(t *testing.T) {
	p := New(Options{Limits: Limits{Tokens: 3}})
	c := newClient(t, p, "transport")
	var toks []string
	for i := 0; i < 4; i++ {
		toks = append(toks, c.login("messaging", fmt.Sprint("u", i)))
	}
	tests := []struct {
		i    int
		want int
	}{{0, 401}, {1, 200}, {2, 200}, {3, 200}}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.i), func(t *testing.T) {
			c.t = t
			c.must(c.do("GET", "/messaging/inbox", toks[tc.i], nil), tc.want)
		})
	}
}

// TestTokensPerUser: a user's tokens are bounded on their own, and a
// user's token outlives any number of other users' logins while the total
// stays under the bound; past it, the user holding the most pays.
func TestTokensPerUser(t *testing.T) {
	p := New(Options{Limits: Limits{Tokens: 10, UserTokens: 4}})
	c := newClient(t, p, "transport")
	session := c.login("payments", "probe") // a long-lived session token
	var perRun []string
	for i := 0; i < 1000; i++ { // another flow logs in on every run
		perRun = append(perRun, c.login("messaging", "probe"))
	}
	c.must(c.do("GET", "/payments/transfers/t-none", session, nil), 404) // authenticated: no such transfer
	for i, tok := range perRun {
		want := 401
		if i >= len(perRun)-4 {
			want = 200
		}
		if r := c.do("GET", "/messaging/inbox", tok, nil); r.status != want {
			t.Errorf("messaging token %d of %d: %d, want %d", i, len(perRun), r.status, want)
		}
	}
	// Two more heavy users push the total past 10: the heaviest users'
	// oldest tokens go, never the session's only one.
	for _, u := range []string{"a", "b"} {
		for range 4 {
			c.login("maps", u)
		}
	}
	p.mu.Lock()
	n := p.tokens.len()
	p.mu.Unlock()
	if n > 10 {
		t.Errorf("%d tokens held, limit 10", n)
	}
	c.must(c.do("GET", "/payments/transfers/t-none", session, nil), 404)
}

// TestStateBoundedOverLongReplay replays 10 days of one run a minute of every
// service's flow and checks that state stays within the limits.
func TestStateBoundedOverLongReplay(t *testing.T) {
	const runs = 10 * 24 * 60
	m := clock.NewManual(t0)
	p := New(Options{Clock: m})
	c := newClient(t, p, "transport")
	c.clk = m
	var ms0 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	for i := 0; i < runs; i++ {
		m.Set(t0.Add(time.Duration(i) * time.Minute))
		fx := &fixture{tok: map[string]string{}}
		for _, s := range serviceNames() {
			fx.tok[s] = c.login(s, "probe")
		}
		c.must(callFunction(c, fx, "messaging", "send"), 201)
		c.must(callFunction(c, fx, "payments", "send"), 201)
		c.must(callFunction(c, fx, "mobility", "send"), 201)
		c.must(callFunction(c, fx, "mail", "send"), 201)
	}
	lim := p.limits
	p.mu.Lock()
	got := []struct {
		name     string
		n, limit int
	}{
		{"tokens", p.tokens.len(), lim.Tokens},
		{"messaging messages", p.messaging.count(), lim.InboxMessages},
		{"messaging sent index", p.messaging.sent.len(), lim.Messages},
		{"mail messages", p.mail.count(), lim.InboxMessages},
		{"transfers", p.transfers.len(), lim.Transfers},
		{"rides", p.rides.len(), lim.Rides},
	}
	p.mu.Unlock()
	for _, g := range got {
		t.Run(g.name, func(t *testing.T) {
			if g.n > g.limit {
				t.Errorf("%d held, limit %d", g.n, g.limit)
			}
			if g.n == 0 {
				t.Errorf("nothing held: the replay did not run")
			}
		})
	}
	runtime.GC()
	var ms1 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	if grown := int64(ms1.HeapAlloc) - int64(ms0.HeapAlloc); grown > 64<<20 {
		t.Errorf("heap grew %d MiB over the replay", grown>>20)
	}
}

func BenchmarkRoundtrip(b *testing.B) {
	p := New(Options{})
	c := newClient(b, p, "transport")
	tok := c.login("messaging", "probe")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := c.must(c.do("POST", "/messaging/messages", tok, map[string]string{"to": "probe", "text": fmt.Sprint("run ", i)}), 201).str(b, "id")
		r := c.must(c.do("GET", "/messaging/inbox?after="+id, tok, nil), 200)
		if len(r.body) == 0 {
			b.Fatal("empty inbox answer")
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	p := New(Options{Limits: Limits{Tokens: 50, Messages: 50, InboxMessages: 10}})
	done := make(chan struct{})
	for w := 0; w < 4; w++ {
		go func() {
			defer func() { done <- struct{}{} }()
			c := newClient(t, p, "transport")
			tok := c.login("messaging", fmt.Sprint("w", w))
			for i := 0; i < 100; i++ {
				r := c.do("POST", "/messaging/messages", tok, map[string]string{"to": fmt.Sprint("w", w), "text": fmt.Sprint(i)})
				if r.err != nil || (r.status != 201 && r.status != 503 && r.status != 401) {
					t.Errorf("send: %v %d", r.err, r.status)
					return
				}
				c.do("GET", "/messaging/inbox", tok, nil)
				if i%10 == 0 {
					id, _ := p.AddFault(Fault{Service: "messaging", Functions: []string{"send"}, Mode: "error", Rate: 0.5})
					p.Faults()
					p.RemoveFault(id)
				}
			}
		}()
	}
	for w := 0; w < 4; w++ {
		<-done
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := p.messaging.count(); n > 50 {
		t.Errorf("%d messages held, limit 50", n)
	}
}

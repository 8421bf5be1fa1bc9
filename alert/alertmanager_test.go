package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/internal/redact"
	"github.com/slaprobe/slaprobe/state"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

var (
	kst = time.FixedZone("KST", 9*3600)
	t0  = time.Date(2021, 5, 5, 21, 47, 0, 0, kst)
)

// fakeAM is an Alertmanager v2 API that records what it is sent.
type fakeAM struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	status int
	bodies [][]byte
	got    chan struct{}
}

func newFakeAM(t *testing.T) *fakeAM {
	f := &fakeAM{t: t, status: http.StatusOK, got: make(chan struct{}, 100)}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/api/v2/alerts") || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("fake AM: unexpected %s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var alerts []Alert
		if err := json.Unmarshal(body, &alerts); err != nil {
			t.Errorf("fake AM: bad JSON %q: %v", body, err)
		}
		var raw []map[string]any
		if err := json.Unmarshal(body, &raw); err == nil {
			for _, a := range raw { // every time in UTC, as Prometheus sends them
				for _, k := range []string{"startsAt", "endsAt"} {
					if v, ok := a[k].(string); ok && !strings.HasSuffix(v, "Z") {
						t.Errorf("fake AM: %s %q is not in UTC", k, v)
					}
				}
			}
		}
		for _, a := range alerts { // what Alertmanager's API validates
			if a.Labels["alertname"] == "" || a.StartsAt.IsZero() || a.EndsAt.IsZero() || a.EndsAt.Before(a.StartsAt) {
				t.Errorf("fake AM: invalid alert %+v", a)
			}
			for k, v := range a.Labels {
				if v == "" {
					t.Errorf("fake AM: empty label %s", k)
				}
			}
		}
		f.mu.Lock()
		st := f.status
		f.bodies = append(f.bodies, body)
		f.mu.Unlock()
		w.WriteHeader(st)
		if st/100 != 2 { // as a proxy in front of Alertmanager may: the request echoed
			io.WriteString(w, "refused POST "+r.URL.Path)
		}
		f.got <- struct{}{}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAM) setStatus(s int) {
	f.mu.Lock()
	f.status = s
	f.mu.Unlock()
}

// posts returns how many requests arrived and the alerts of the last one.
func (f *fakeAM) posts() (int, []Alert) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bodies) == 0 {
		return 0, nil
	}
	var last []Alert
	if err := json.Unmarshal(f.bodies[len(f.bodies)-1], &last); err != nil {
		f.t.Fatal(err)
	}
	return len(f.bodies), last
}

func (f *fakeAM) lastBody() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bodies) == 0 {
		return nil
	}
	return f.bodies[len(f.bodies)-1]
}

func newTestNotifier(t *testing.T, clk clock.Clock, statePath string, urls ...string) *Notifier {
	t.Helper()
	n, err := NewNotifier(Options{
		URLs:         urls,
		Resend:       time.Minute,
		RunbookURL:   "https://runbooks.example/slaprobe/{service}",
		Location:     "seoul-a",
		Zone:         kst,
		GeneratorURL: "http://127.0.0.1:9115/api/v1/status",
		Clock:        clk,
		Metrics:      prometheus.NewRegistry(),
		StatePath:    statePath,
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func flowWindow(kind state.Kind, fn string, start time.Time) state.Window {
	return state.Window{
		Key:       state.Key{Service: "messaging", Flow: "messaging-roundtrip", Function: fn, Location: "seoul-a"},
		Kind:      kind,
		Start:     start,
		Confirmed: start.Add(30 * time.Second),
		CauseStep: "receive",
		Error:     `jsonpath $.messages[*].id: does not contain "m-42"`,
	}
}

func open(w state.Window) state.Event { return state.Event{Op: state.OpOpen, Window: w} }

func closeAt(w state.Window, end time.Time) state.Event {
	w.End = end
	return state.Event{Op: state.OpClose, Window: w}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./alert/ -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test ./alert/ -update rewrites it); got:\n%s", path, got)
	}
}

func indent(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

func TestPayloadGolden(t *testing.T) {
	am := newFakeAM(t)
	clk := clock.NewManual(t0.Add(time.Minute))
	n := newTestNotifier(t, clk, "", am.srv.URL)
	ctx := context.Background()

	flow := flowWindow(state.KindDown, "", t0)
	flow.LastBefore, flow.FirstInEnd = t0.Add(-50*time.Second), t0.Add(1500*time.Millisecond) // started_between
	recv := flowWindow(state.KindDown, "receive", t0)
	recv.LastBefore, recv.FirstInEnd = flow.LastBefore, flow.FirstInEnd
	slow := flowWindow(state.KindDegraded, "login", t0.Add(-10*time.Minute)) // no started_between: neither bound known
	slow.CauseStep, slow.Error = "login", "took 3.2s, objective 2s"
	unknown := state.Window{Key: flow.Key, Kind: state.KindUnknown, Start: t0, End: t0.Add(time.Hour)}

	steps := []struct {
		name    string
		advance time.Duration
		events  []state.Event
		golden  string
	}{
		{"firing", 0, []state.Event{open(flow), open(recv), open(slow), {Op: state.OpClose, Window: unknown}}, "alerts_firing.golden.json"},
		{"resolved", 2*time.Hour + 21*time.Minute, []state.Event{closeAt(flow, t0.Add(141*time.Minute)), closeAt(recv, t0.Add(141*time.Minute))}, "alerts_resolved.golden.json"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			clk.Advance(st.advance)
			before, _ := am.posts()
			n.Handle(st.events)
			if err := n.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			after, _ := am.posts()
			if after != before+1 {
				t.Fatalf("posts: %d -> %d, want one more", before, after)
			}
			golden(t, st.golden, indent(t, am.lastBody()))
		})
	}
	if got := n.Active(); len(got) != 1 || got[0].Labels["alertname"] != NameDegraded {
		t.Errorf("Active after resolve = %+v, want the degraded alert only", got)
	}
}

func TestLabelsAndAnnotations(t *testing.T) {
	n := newTestNotifier(t, clock.NewManual(t0), "", "http://127.0.0.1:1")
	tests := []struct {
		name    string
		w       state.Window
		want    map[string]string
		summary string
	}{
		{"flow down", flowWindow(state.KindDown, "", t0),
			map[string]string{"alertname": NameFlowDown, "service": "messaging", "flow": "messaging-roundtrip", "location": "seoul-a", "severity": "page"},
			"messaging-roundtrip at seoul-a is down"},
		{"function down", flowWindow(state.KindDown, "receive", t0),
			map[string]string{"alertname": NameFunctionDown, "service": "messaging", "flow": "messaging-roundtrip", "function": "receive", "location": "seoul-a", "severity": "page"},
			"messaging receive (flow messaging-roundtrip) at seoul-a is down"},
		{"flow degraded", flowWindow(state.KindDegraded, "", t0),
			map[string]string{"alertname": NameDegraded, "service": "messaging", "flow": "messaging-roundtrip", "location": "seoul-a", "severity": "ticket"},
			"messaging-roundtrip at seoul-a is degraded"},
		{"location from options", func() state.Window { w := flowWindow(state.KindDown, "", t0); w.Location = ""; return w }(),
			map[string]string{"alertname": NameFlowDown, "service": "messaging", "flow": "messaging-roundtrip", "location": "seoul-a", "severity": "page"},
			"messaging-roundtrip at seoul-a is down"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := n.render(tc.w)
			if len(a.Labels) != len(tc.want) {
				t.Errorf("labels = %v, want %v", a.Labels, tc.want)
			}
			for k, v := range tc.want {
				if a.Labels[k] != v {
					t.Errorf("label %s = %q, want %q", k, a.Labels[k], v)
				}
			}
			if a.Annotations["summary"] != tc.summary {
				t.Errorf("summary = %q, want %q", a.Annotations["summary"], tc.summary)
			}
			if d := a.Annotations["description"]; !strings.Contains(d, "receive") || !strings.Contains(d, "2021-05-05T21:47:00+09:00") {
				t.Errorf("description %q lacks the step or the start", d)
			}
			if a.Annotations["runbook_url"] != "https://runbooks.example/slaprobe/messaging" {
				t.Errorf("runbook_url = %q", a.Annotations["runbook_url"])
			}
			if !a.StartsAt.Equal(t0) {
				t.Errorf("startsAt = %v, want the backdated window start %v", a.StartsAt, t0)
			}
		})
	}
}

func TestResendCadence(t *testing.T) {
	am := newFakeAM(t)
	clk := clock.NewManual(t0)
	n := newTestNotifier(t, clk, "", am.srv.URL)
	ctx := context.Background()
	n.Handle([]state.Event{open(flowWindow(state.KindDown, "", t0.Add(-time.Minute)))})

	ticks := []struct {
		at        time.Duration // since t0
		wantPosts int           // total so far
	}{
		{0, 1},                 // new alert: sent at once
		{1 * time.Second, 1},   // nothing changed
		{30 * time.Second, 1},  // not yet due
		{59 * time.Second, 1},  //
		{60 * time.Second, 2},  // resend
		{90 * time.Second, 2},  //
		{120 * time.Second, 3}, // resend
		{121 * time.Second, 3}, //
		{185 * time.Second, 4}, // a late tick resends once, not twice
	}
	for _, tk := range ticks {
		clk.Set(t0.Add(tk.at))
		if err := n.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		got, last := am.posts()
		if got != tk.wantPosts {
			t.Fatalf("at +%s: %d posts, want %d", tk.at, got, tk.wantPosts)
		}
		if want := t0.Add(tk.at).Add(4 * time.Minute); tk.wantPosts > 0 && got == tk.wantPosts && last[0].EndsAt.After(want) {
			t.Errorf("at +%s: endsAt %v is after now+4*resend", tk.at, last[0].EndsAt)
		}
		if !last[0].StartsAt.Equal(t0.Add(-time.Minute)) {
			t.Errorf("at +%s: startsAt moved to %v", tk.at, last[0].StartsAt)
		}
	}
	if d := n.nextWake(t0.Add(185 * time.Second)); d != time.Minute {
		t.Errorf("nextWake right after a send = %s, want 1m", d)
	}
	if d := n.nextWake(t0.Add(200 * time.Second)); d != 45*time.Second {
		t.Errorf("nextWake 15s after a send = %s, want 45s", d)
	}
}

func TestResolve(t *testing.T) {
	am := newFakeAM(t)
	clk := clock.NewManual(t0)
	n := newTestNotifier(t, clk, "", am.srv.URL)
	ctx := context.Background()
	w := flowWindow(state.KindDown, "receive", t0)

	n.Handle([]state.Event{open(w)})
	mustTick(t, n, ctx)
	if got := value(t, n.active); got != 1 {
		t.Errorf("slaprobe_alerts_active = %v, want 1", got)
	}
	clk.Advance(10 * time.Minute)
	n.Handle([]state.Event{closeAt(w, t0.Add(9*time.Minute))})
	mustTick(t, n, ctx)
	posts, last := am.posts()
	if posts != 2 || len(last) != 1 || !last[0].EndsAt.Equal(t0.Add(9*time.Minute)) || !last[0].StartsAt.Equal(t0) {
		t.Fatalf("resolve: %d posts, last %+v; want endsAt = window end", posts, last)
	}
	if got := value(t, n.active); got != 0 || len(n.Active()) != 0 {
		t.Errorf("active after resolve = %v / %v, want none", got, n.Active())
	}
	for range 5 { // delivered resolves are forgotten, not re-sent
		clk.Advance(time.Minute)
		mustTick(t, n, ctx)
	}
	if p, _ := am.posts(); p != 2 {
		t.Errorf("%d posts after the resolve was delivered, want 2", p)
	}

	// The same labels firing again later is a new alert; a replayed open of
	// the resolved window is not.
	n.Handle([]state.Event{open(w)})
	mustTick(t, n, ctx)
	if p, _ := am.posts(); p != 2 {
		t.Errorf("a replayed open of a resolved window was sent")
	}
	w2 := w
	w2.Start = clk.Now()
	n.Handle([]state.Event{open(w2)})
	mustTick(t, n, ctx)
	if p, last := am.posts(); p != 3 || !last[0].StartsAt.Equal(w2.Start) {
		t.Errorf("new window: %d posts, last %+v", p, last)
	}
}

func TestResolveThenReopenBeforeSend(t *testing.T) {
	am := newFakeAM(t)
	clk := clock.NewManual(t0)
	n := newTestNotifier(t, clk, "", am.srv.URL)
	ctx := context.Background()
	w := flowWindow(state.KindDown, "", t0)
	n.Handle([]state.Event{open(w)})
	mustTick(t, n, ctx)
	w2 := w
	w2.Start = t0.Add(5 * time.Minute)
	clk.Advance(6 * time.Minute)
	n.Handle([]state.Event{closeAt(w, t0.Add(3*time.Minute)), open(w2)})
	mustTick(t, n, ctx)
	_, last := am.posts()
	if len(last) != 2 || !last[0].StartsAt.Equal(t0) || !last[0].EndsAt.Equal(t0.Add(3*time.Minute)) || !last[1].StartsAt.Equal(w2.Start) {
		t.Fatalf("want the resolve first, then the new alert; got %+v", last)
	}
}

func TestRetryBackoff(t *testing.T) {
	good, bad := newFakeAM(t), newFakeAM(t)
	bad.setStatus(http.StatusInternalServerError)
	clk := clock.NewManual(t0)
	n := newTestNotifier(t, clk, "", good.srv.URL, bad.srv.URL)
	ctx := context.Background()
	n.Handle([]state.Event{open(flowWindow(state.KindDown, "", t0))})

	steps := []struct {
		at         time.Duration
		fixBad     bool
		wantGood   int
		wantBad    int
		wantErr    bool
		wantFailed float64
	}{
		{0, false, 1, 1, true, 1},                       // bad fails: retry in 1s
		{500 * time.Millisecond, false, 1, 1, false, 1}, // backing off
		{1 * time.Second, false, 1, 2, true, 2},         // retry fails: next in 2s
		{2 * time.Second, false, 1, 2, false, 2},        //
		{3 * time.Second, false, 1, 3, true, 3},         // fails: next in 4s
		{6 * time.Second, true, 1, 3, false, 3},         // fixed, but still backing off
		{7 * time.Second, false, 1, 4, false, 3},        // delivered
		{8 * time.Second, false, 1, 4, false, 3},        // nothing pending
		{60 * time.Second, false, 2, 4, false, 3},       // good's resend is due
		{67 * time.Second, false, 2, 5, false, 3},       // bad's resend, a minute after its delivery
	}
	for _, st := range steps {
		if st.fixBad {
			bad.setStatus(http.StatusOK)
		}
		clk.Set(t0.Add(st.at))
		err := n.Tick(ctx)
		if (err != nil) != st.wantErr {
			t.Fatalf("at +%s: err = %v, want error %v", st.at, err, st.wantErr)
		}
		g, _ := good.posts()
		b, _ := bad.posts()
		if g != st.wantGood || b != st.wantBad {
			t.Fatalf("at +%s: posts good %d bad %d, want %d %d", st.at, g, b, st.wantGood, st.wantBad)
		}
		if got := value(t, n.sent.WithLabelValues(bad.srv.URL, "failed")); got != st.wantFailed {
			t.Errorf("at +%s: failed count %v, want %v", st.at, got, st.wantFailed)
		}
	}
	if got := value(t, n.sent.WithLabelValues(good.srv.URL, "ok")); got != 2 {
		t.Errorf("ok count for the good URL = %v, want 2", got)
	}
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		failures int
		want     time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {6, 32 * time.Second}, {7, time.Minute}, {100, time.Minute}} {
		t.Run(tc.want.String(), func(t *testing.T) {
			if got := backoff(tc.failures); got != tc.want {
				t.Errorf("backoff(%d) = %s, want %s", tc.failures, got, tc.want)
			}
		})
	}
}

func TestPersistence(t *testing.T) {
	ctx := context.Background()
	w := flowWindow(state.KindDown, "send", t0)

	t.Run("firing alert keeps startsAt and cadence", func(t *testing.T) {
		am := newFakeAM(t)
		path := filepath.Join(t.TempDir(), "alerts.json")
		clk := clock.NewManual(t0.Add(time.Minute))
		n1 := newTestNotifier(t, clk, path, am.srv.URL)
		n1.Handle([]state.Event{open(w)})
		mustTick(t, n1, ctx)

		clk.Advance(20 * time.Second)
		n2 := newTestNotifier(t, clk, path, am.srv.URL)
		if a := n2.Active(); len(a) != 1 || !a[0].StartsAt.Equal(t0) {
			t.Fatalf("restored Active = %+v", a)
		}
		// The daemon replays the open window (restored, with a later
		// start if it lost track): no new alert, no moved startsAt.
		w2 := w
		w2.Start = clk.Now()
		n2.Handle([]state.Event{open(w), open(w2)})
		mustTick(t, n2, ctx)
		if p, _ := am.posts(); p != 1 {
			t.Fatalf("%d posts after restart, want 1 (nothing due)", p)
		}
		clk.Advance(40 * time.Second)
		mustTick(t, n2, ctx)
		p, last := am.posts()
		if p != 2 || !last[0].StartsAt.Equal(t0) {
			t.Fatalf("resend after restart: %d posts, startsAt %v; want 2 and %v", p, last[0].StartsAt, t0)
		}
	})

	t.Run("pending resolve survives restart", func(t *testing.T) {
		am := newFakeAM(t)
		path := filepath.Join(t.TempDir(), "alerts.json")
		clk := clock.NewManual(t0)
		n1 := newTestNotifier(t, clk, path, am.srv.URL)
		n1.Handle([]state.Event{open(w)})
		mustTick(t, n1, ctx)
		am.setStatus(http.StatusServiceUnavailable)
		clk.Advance(5 * time.Minute)
		n1.Handle([]state.Event{closeAt(w, t0.Add(4*time.Minute))})
		if err := n1.Tick(ctx); err == nil {
			t.Fatal("want a send error while Alertmanager answers 503")
		}
		if b, err := os.ReadFile(path); err != nil || strings.Contains(string(b), am.srv.URL) {
			t.Fatalf("state file: %v; it must not hold the URL:\n%s", err, b)
		}

		am.setStatus(http.StatusOK)
		n2 := newTestNotifier(t, clk, path, am.srv.URL)
		if len(n2.Active()) != 0 {
			t.Errorf("restored a resolved alert as active")
		}
		mustTick(t, n2, ctx)
		p, last := am.posts()
		if p != 3 || len(last) != 1 || !last[0].EndsAt.Equal(t0.Add(4*time.Minute)) {
			t.Fatalf("after restart: %d posts, last %+v; want the resolve", p, last)
		}
		n3 := newTestNotifier(t, clk, path, am.srv.URL)
		mustTick(t, n3, ctx)
		if p, _ := am.posts(); p != 3 {
			t.Errorf("a delivered resolve was sent again after another restart")
		}
	})

	t.Run("corrupt state file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "alerts.json")
		if err := os.WriteFile(path, []byte(`{"version":1,"alerts":[{`), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := NewNotifier(Options{URLs: []string{"http://127.0.0.1:9093"}, StatePath: path})
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("err = %v, want one naming %s", err, path)
		}
	})
}

func TestNewNotifierErrors(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"no url", Options{}, "no Alertmanager URL"},
		{"bad scheme", Options{URLs: []string{"ftp://am:9093"}}, "want http(s)"},
		{"no host", Options{URLs: []string{"http://"}}, "want http(s)"},
		{"twice", Options{URLs: []string{"http://am:9093", "http://am:9093"}}, "twice"},
		{"query", Options{URLs: []string{"http://user:s3cret@am:9093/?x=1"}}, "no query"},
		{"negative resend", Options{URLs: []string{"http://am:9093"}, Resend: -time.Second}, "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewNotifier(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

// TestCredentialsNotLogged: a URL's credentials reach no error, log line or
// metric label: a password by itself, and through Options.Redact a secret
// anywhere else (a user name, a token in the path), as the config's secrets
// are; an Alertmanager that echoes the request is redacted too.
func TestCredentialsNotLogged(t *testing.T) {
	for _, tc := range []struct {
		name   string
		url    func(base string) string
		redact bool
	}{
		{"password", func(b string) string { return strings.Replace(b, "http://", "http://alice:s3cret@", 1) }, false},
		{"user name", func(b string) string { return strings.Replace(b, "http://", "http://s3cret-token@", 1) }, true},
		{"path", func(b string) string { return b + "/s3cret-token" }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			am := newFakeAM(t)
			am.setStatus(http.StatusBadGateway)
			var logs bytes.Buffer
			reg := prometheus.NewRegistry()
			o := Options{URLs: []string{tc.url(am.srv.URL)}, Clock: clock.NewManual(t0), Logger: slogTo(&logs), Metrics: reg}
			if tc.redact {
				o.Redact = redact.New("s3cret-token").Redact
			}
			n, err := NewNotifier(o)
			if err != nil {
				t.Fatal(err)
			}
			n.Handle([]state.Event{open(flowWindow(state.KindDown, "", t0))})
			err = n.Tick(context.Background())
			if err == nil {
				t.Fatal("want a send error")
			}
			mfs, _ := reg.Gather()
			var metrics bytes.Buffer
			for _, mf := range mfs {
				metrics.WriteString(mf.String())
			}
			for what, s := range map[string]string{"error": err.Error(), "log": logs.String(), "metrics": metrics.String()} {
				if strings.Contains(s, "s3cret") {
					t.Errorf("%s leaks the secret: %s", what, s)
				}
			}
			if !strings.Contains(metrics.String(), "slaprobe_alert_notifications_total") || !strings.Contains(metrics.String(), "slaprobe_alerts_active") {
				t.Errorf("metrics not registered: %s", metrics.String())
			}
		})
	}
}

func TestRun(t *testing.T) {
	am := newFakeAM(t)
	n := newTestNotifier(t, clock.Real{}, filepath.Join(t.TempDir(), "alerts.json"), am.srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()

	start := time.Now().Add(-time.Minute).Truncate(time.Second)
	w := flowWindow(state.KindDown, "", start)
	n.Handle([]state.Event{open(w)})
	select {
	case <-am.got:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not send a new alert promptly")
	}
	// A close handled just before shutdown is flushed on the way out.
	n.Handle([]state.Event{closeAt(w, start.Add(30*time.Second))})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	_, last := am.posts()
	if len(last) != 1 || !last[0].Resolved() {
		t.Errorf("last post %+v, want the resolve", last)
	}
}

func mustTick(t *testing.T, n *Notifier, ctx context.Context) {
	t.Helper()
	if err := n.Tick(ctx); err != nil {
		t.Fatal(err)
	}
}

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// value reads a counter's or a gauge's value.
func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var pb dto.Metric
	if err := m.Write(&pb); err != nil {
		t.Fatal(err)
	}
	if pb.Counter != nil {
		return pb.Counter.GetValue()
	}
	return pb.Gauge.GetValue()
}

// TestReconcile: a firing alert that the windows open at startup do not
// account for is resolved (endsAt now) and the resolve is sent and saved;
// one they do account for keeps firing with its startsAt; a window without
// an alert gets one.
func TestReconcile(t *testing.T) {
	am := newFakeAM(t)
	clk := clock.NewManual(t0)
	path := filepath.Join(t.TempDir(), "state.json")
	n := newTestNotifier(t, clk, path, am.srv.URL)
	ctx := context.Background()
	stale := flowWindow(state.KindDown, "receive", t0)
	kept := flowWindow(state.KindDegraded, "", t0.Add(time.Minute))
	fresh := flowWindow(state.KindDown, "send", t0.Add(2*time.Minute))
	n.Handle([]state.Event{open(stale), open(kept)})
	mustTick(t, n, ctx)

	clk.Advance(time.Hour)
	n = newTestNotifier(t, clk, path, am.srv.URL) // the restart
	n.Reconcile([]state.Window{kept, fresh})
	active := n.Active()
	if len(active) != 2 || !active[0].StartsAt.Equal(kept.Start) || !active[1].StartsAt.Equal(fresh.Start) {
		t.Fatalf("active after Reconcile: %+v", active)
	}
	mustTick(t, n, ctx)
	_, last := am.posts()
	var resolved []Alert
	for _, a := range last {
		if a.Resolved() && a.EndsAt.Before(clk.Now()) {
			t.Errorf("alert %v sent as ended at %v, before now", a.Labels, a.EndsAt)
		}
		if a.Labels["function"] == "receive" {
			resolved = append(resolved, a)
		}
	}
	if len(resolved) != 1 || !resolved[0].EndsAt.Equal(clk.Now()) || !strings.Contains(resolved[0].Annotations["description"], "restarted") {
		t.Errorf("the stale alert was sent as %+v; want it resolved now, saying why", resolved)
	}
	// The state file keeps it resolved.
	n = newTestNotifier(t, clk, path, am.srv.URL)
	if got := n.Active(); len(got) != 2 {
		t.Errorf("after another restart %d alerts fire, want 2", len(got))
	}
}

// TestRestoredAlertsWaitForReconcile: with HoldUntilReconcile (the daemon's
// setting), a firing alert the state file brings back is not re-sent until
// Reconcile says its window is still open. The notifier starts before the
// daemon has read its open windows, and its first Tick re-sent every
// restored alert firing, with endsAt in the future: after a stop longer than
// 4*Resend, when Alertmanager had let it expire, a new page for an outage
// the daemon resolved a moment later. A change Handle records meanwhile (the
// daemon resolving a window a long stop ended) is sent at once.
func TestRestoredAlertsWaitForReconcile(t *testing.T) {
	w := flowWindow(state.KindDown, "", t0)
	tests := []struct {
		name      string
		handle    []state.Event  // before Reconcile
		reconcile []state.Window // the windows open at startup
		// firing alerts sent before Reconcile (0: none), and resolved ones
		before, beforeResolved int
		after, afterResolved   int
	}{
		{"still open", nil, []state.Window{w}, 0, 0, 1, 0},
		{"closed while stopped", nil, nil, 0, 0, 0, 1},
		{"closed by the daemon before Reconcile", []state.Event{closeAt(w, t0.Add(5*time.Minute))}, nil, 0, 1, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			am := newFakeAM(t)
			clk := clock.NewManual(t0)
			path := filepath.Join(t.TempDir(), "state.json")
			ctx := context.Background()
			n := newTestNotifier(t, clk, path, am.srv.URL)
			n.Handle([]state.Event{open(w)})
			mustTick(t, n, ctx)
			clk.Advance(time.Hour) // the stop
			n, err := NewNotifier(Options{URLs: []string{am.srv.URL}, Resend: time.Minute, Location: "seoul-a", Clock: clk,
				StatePath: path, HoldUntilReconcile: true})
			if err != nil {
				t.Fatal(err)
			}
			count := func() (firing, resolved int) {
				_, last := am.posts()
				for _, a := range last {
					if a.Resolved() && !a.EndsAt.After(clk.Now()) {
						resolved++
					} else {
						firing++
					}
				}
				return
			}
			sent0, _ := am.posts()
			n.Handle(tc.handle)
			mustTick(t, n, ctx)
			var f, r int
			if sent, _ := am.posts(); sent > sent0 {
				f, r = count()
			}
			if f != tc.before || r != tc.beforeResolved {
				t.Errorf("before Reconcile: sent %d firing, %d resolved; want %d, %d", f, r, tc.before, tc.beforeResolved)
			}
			sent1, _ := am.posts()
			n.Reconcile(tc.reconcile)
			mustTick(t, n, ctx)
			f, r = 0, 0
			if sent, _ := am.posts(); sent > sent1 {
				f, r = count()
			}
			if f != tc.after || r != tc.afterResolved {
				t.Errorf("after Reconcile: sent %d firing, %d resolved; want %d, %d", f, r, tc.after, tc.afterResolved)
			}
		})
	}
}

// TestDescriptionTimesInZone: the times in a description are in the
// configured zone, whatever zone the window's times carry (the host's TZ
// for a window the daemon opened, UTC for one it restored from the store
// after a restart), so an alert reads the same on every host and does not
// change its description across a restart; a reload's zone applies at once.
func TestDescriptionTimesInZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	host := time.FixedZone("NZDT", 13*3600)
	start := t0.In(time.UTC)
	end := start.Add(27 * time.Minute)
	tests := []struct {
		name string
		zone *time.Location
		w    state.Window
		want string
	}{
		{"host zone", ny, flowWindow(state.KindDown, "", start.In(host)), "since 2021-05-05T08:47:00-04:00"},
		{"restored in UTC", ny, flowWindow(state.KindDown, "", start), "since 2021-05-05T08:47:00-04:00"},
		{"ended", ny, func() state.Window {
			w := flowWindow(state.KindDown, "", start.In(host))
			w.End = end.In(host)
			return w
		}(),
			"(ended 2021-05-05T09:14:00-04:00 after 27m0s)"},
		{"no zone is UTC", nil, flowWindow(state.KindDown, "", start.In(host)), "since 2021-05-05T12:47:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := NewNotifier(Options{URLs: []string{"http://127.0.0.1:1"}, Zone: tc.zone, Clock: clock.NewManual(t0)})
			if err != nil {
				t.Fatal(err)
			}
			if d := n.render(tc.w).Annotations["description"]; !strings.Contains(d, tc.want) {
				t.Errorf("description %q, want it to contain %q", d, tc.want)
			}
		})
	}
	t.Run("reload", func(t *testing.T) {
		n, err := NewNotifier(Options{URLs: []string{"http://127.0.0.1:1"}, Zone: ny, Clock: clock.NewManual(t0)})
		if err != nil {
			t.Fatal(err)
		}
		n.SetZone(kst)
		if d, want := n.render(flowWindow(state.KindDown, "", start.In(host))).Annotations["description"], "since 2021-05-05T21:47:00+09:00"; !strings.Contains(d, want) {
			t.Errorf("description after SetZone %q, want it to contain %q", d, want)
		}
	})
}

// TestRetryBackoffAfterSlowFailure: the backoff after a failed send runs
// from when the send failed, not from when it began: an Alertmanager that
// takes its whole timeout to fail (a black hole: 10 s) was tried again at
// once, the 1 s, 2 s, 4 s, 8 s waits used up by the attempt itself, and the
// log's retry_at lay in the past.
func TestRetryBackoffAfterSlowFailure(t *testing.T) {
	clk := clock.NewManual(t0)
	var posts atomic.Int32
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		clk.Advance(10 * time.Second) // the attempt's timeout went by
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer slow.Close()
	n := newTestNotifier(t, clk, "", slow.URL)
	ctx := context.Background()
	n.Handle([]state.Event{open(flowWindow(state.KindDown, "", t0))})
	for _, st := range []struct {
		at        time.Duration
		wantPosts int32
	}{
		{0, 1},                        // fails at +10s: next at +11s
		{10500 * time.Millisecond, 1}, // backing off
		{11 * time.Second, 2},         // fails at +21s: next at +23s
		{22 * time.Second, 2},         // backing off
		{23 * time.Second, 3},
	} {
		if clk.Now().Before(t0.Add(st.at)) {
			clk.Set(t0.Add(st.at))
		}
		n.Tick(ctx) //nolint:errcheck // the sends fail
		if got := posts.Load(); got != st.wantPosts {
			t.Fatalf("at +%s: %d posts, want %d", st.at, got, st.wantPosts)
		}
	}
}

// TestOneAlertmanagerHangingDoesNotHoldTheOthers: the URLs are sent to side
// by side: an Alertmanager that does not answer (a black hole, listed
// first) delayed every send to a healthy one behind it by its whole timeout
// (10 s), new alerts and resolves alike.
func TestOneAlertmanagerHangingDoesNotHoldTheOthers(t *testing.T) {
	release := make(chan struct{})
	var gaveUp atomic.Bool // the hung send ended at its timeout, not by release
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) //nolint:errcheck // read, so that a client that gives up is seen
		select {
		case <-release:
		case <-r.Context().Done():
			gaveUp.Store(true)
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer hung.Close()
	got := make(chan struct{}, 10)
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- struct{}{}
	}))
	defer good.Close()
	n := newTestNotifier(t, clock.NewManual(t0), "", hung.URL, good.URL)
	n.Handle([]state.Event{open(flowWindow(state.KindDown, "", t0))})
	done := make(chan error, 1)
	go func() { done <- n.Tick(context.Background()) }()
	<-got // sent one after the other, this comes only after the hung send timed out
	close(release)
	if err := <-done; err == nil {
		t.Error("Tick: no error for the Alertmanager that failed")
	}
	if gaveUp.Load() {
		t.Error("the healthy Alertmanager got its alerts only after the hung one's timeout")
	}
	if v := value(t, n.sent.WithLabelValues(good.URL, "ok")); v != 1 {
		t.Errorf("ok count for the healthy URL = %v, want 1", v)
	}
	if v := value(t, n.sent.WithLabelValues(hung.URL, "failed")); v != 1 {
		t.Errorf("failed count for the hung URL = %v, want 1", v)
	}
}

// TestRunHangingAlertmanagerDoesNotDelayNextChange: Run's rounds waited for
// every send they began, so while one Alertmanager did not answer (a black
// hole, 10 s a send, retried after a backoff of at most a minute) a change
// that came in meanwhile (a resolve, a new alert) reached the healthy ones
// only when that send timed out: 8-10 s late in a live test.
func TestRunHangingAlertmanagerDoesNotDelayNextChange(t *testing.T) {
	release := make(chan struct{})
	var hanging atomic.Int32 // sends to the hung Alertmanager not yet over
	arrived := make(chan struct{}, 10)
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hanging.Add(1)
		defer hanging.Add(-1)
		arrived <- struct{}{}
		io.Copy(io.Discard, r.Body) //nolint:errcheck // read, so that a client that gives up is seen
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer hung.Close()
	type post struct {
		resolved   bool
		whileStuck bool // the hung send was still in flight when this arrived
	}
	got := make(chan post, 10)
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var alerts []Alert
		if err := json.NewDecoder(r.Body).Decode(&alerts); err != nil {
			t.Error(err)
		}
		p := post{whileStuck: hanging.Load() > 0}
		for _, a := range alerts {
			p.resolved = p.resolved || !a.EndsAt.After(time.Now()) // a firing alert's endsAt is ahead
		}
		got <- p
	}))
	defer good.Close()
	n := newTestNotifier(t, clock.Real{}, "", hung.URL, good.URL)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	start := time.Now().Add(-time.Minute).Truncate(time.Second)
	w := flowWindow(state.KindDown, "", start)
	n.Handle([]state.Event{open(w)})
	if p := <-got; p.resolved {
		t.Fatalf("first post is a resolve")
	}
	<-arrived // the send to the hung one is under way
	n.Handle([]state.Event{closeAt(w, start.Add(30*time.Second))})
	p := <-got
	close(release)
	cancel()
	<-done
	if !p.resolved {
		t.Fatalf("second post is not the resolve")
	}
	if !p.whileStuck {
		t.Error("the resolve reached the healthy Alertmanager only after the hung send to the other one ended")
	}
}

// TestEchoedSecretAcrossTheCutRedacted: an Alertmanager (or a proxy before
// it) that answers an error echoing a secret where the answer is cut has
// the secret redacted whole: the answer was cut at 512 bytes and then
// redacted, so a secret across the cut left its first bytes ("s3cret-") in
// the error and the log, which the redactor, seeing no whole secret, kept.
func TestEchoedSecretAcrossTheCutRedacted(t *testing.T) {
	// at is where the secret starts in the answer.
	for _, at := range []int{16, 400, 500, 505, 511, 512, 600} {
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusBadGateway)
				io.WriteString(w, strings.Repeat("x", at-16)+"bad credentials s3cret-token for this route"+strings.Repeat("y", 300))
			}))
			defer srv.Close()
			var logs bytes.Buffer
			n, err := NewNotifier(Options{URLs: []string{srv.URL}, Clock: clock.NewManual(t0), Logger: slogTo(&logs),
				Metrics: prometheus.NewRegistry(), Redact: redact.New("s3cret-token").Redact})
			if err != nil {
				t.Fatal(err)
			}
			n.Handle([]state.Event{open(flowWindow(state.KindDown, "", t0))})
			err = n.Tick(context.Background())
			if err == nil {
				t.Fatal("want a send error")
			}
			for what, s := range map[string]string{"error": err.Error(), "log": logs.String()} {
				if strings.Contains(s, "s3cret") {
					t.Errorf("%s holds a piece of the secret: %s", what, s)
				}
				if strings.Contains(s, "*…") && !strings.Contains(s, "***…") {
					t.Errorf("%s ends in a piece of a mark: %s", what, s)
				}
			}
			if at < 100 && !strings.Contains(err.Error(), "bad credentials ***") {
				t.Errorf("error lost the answer's start: %s", err)
			}
		})
	}
}

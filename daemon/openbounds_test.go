package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/report/render"
	"github.com/slaprobe/slaprobe/state"
)

// openBounds is what /api/v1/status (or `windows --format json`) says of a
// window's start.
type openBounds struct {
	Function *string   `json:"function"`
	Kind     string    `json:"kind"`
	Start    time.Time `json:"start"`
	Earlier  *float64  `json:"start_uncertainty_seconds"`
	Later    *float64  `json:"start_uncertainty_later_seconds"`
}

func (b openBounds) String() string {
	f := func(v *float64) string {
		if v == nil {
			return "null"
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
	fn := "-"
	if b.Function != nil {
		fn = *b.Function
	}
	return fmt.Sprintf("%s/%s from %s -%s +%s", fn, b.Kind, b.Start.UTC().Format("15:04:05.000"), f(b.Earlier), f(b.Later))
}

// A live daemon in virtual time probes an httptest target that starts
// answering 503 after 1.5 s: the window it opens is on /api/v1/status with
// how sharp its start is, start_uncertainty_seconds back to the last
// passing run's start and start_uncertainty_later_seconds the first failing
// run's 1.5 s and more, the very values `windows --format json` gives for
// the window the daemon stored (and the stored state.Window's). Before,
// the open windows had neither key. A target down from the prober's first
// run has no earlier bound (no run before it: start_cut no_data) but the
// later one, on both sides (the report dropped it: G's review).
func TestStatusOpenWindowStartBounds(t *testing.T) {
	for _, tc := range []struct {
		name      string
		failAfter time.Duration
	}{
		{"down after passing runs", 45 * time.Second},
		{"down from the first run", -time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) { statusOpenWindowStartBounds(t, tc.failAfter) })
	}
}

func statusOpenWindowStartBounds(t *testing.T, failAfter time.Duration) {
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	fc := clockwork.NewFakeClockAt(t0)
	failFrom := t0.Add(failAfter)
	first := failAfter < 0 // no run before the window
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fc.Now().Before(failFrom) {
			fc.Sleep(200 * time.Millisecond)
			w.WriteHeader(http.StatusOK)
			return
		}
		fc.Sleep(1500 * time.Millisecond)
		http.Error(w, "hub draining", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	cfg, err := config.Parse("bounds.yaml", fmt.Appendf(nil, `
location: seoul-a
timezone: Asia/Seoul
defaults: {interval: 10s, timeout: 5s, down_after: 2, up_after: 1, confirm_every: 0s}
services:
  - name: svc
    flows:
      - name: f
        steps:
          - {name: get, function: get, request: {url: %q}}
`, srv.URL+"/"), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st := tempSQLite(t)
	r := &agreeRig{t: t, fc: fc, st: st, cfg: cfg, live: map[string]*agreeDaemon{}, step: 100 * time.Millisecond}
	d, err := New(cfg, Deps{Store: st, Clock: ClockworkClock(fc), Grace: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	a := &agreeDaemon{d: d, cancel: cancel, done: make(chan error, 1)}
	go func() { a.done <- d.Run(rctx) }()
	waitScheduler(t, d)
	r.live["seoul-a"] = a
	t.Cleanup(func() { r.stop("seoul-a") })

	r.advance(100 * time.Second)
	rec := httptest.NewRecorder()
	d.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/status", nil))
	var status struct {
		Flows []struct {
			Flow        string            `json:"flow"`
			OpenWindows []json.RawMessage `json:"open_windows"`
		} `json:"flows"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &status); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	live := map[string]openBounds{}
	for _, f := range status.Flows {
		for _, raw := range f.OpenWindows {
			for _, key := range []string{`"start_uncertainty_seconds":`, `"start_uncertainty_later_seconds":`} {
				if !bytes.Contains(raw, []byte(key)) {
					t.Errorf("open window without %s: %s", key, raw)
				}
			}
			var b openBounds
			if err := json.Unmarshal(raw, &b); err != nil {
				t.Fatal(err)
			}
			live[b.key()] = b
		}
	}
	if len(live) != 2 {
		t.Fatalf("open windows %v, want the flow's and get's: %s", live, rec.Body)
	}
	for k, b := range live {
		t.Logf("/api/v1/status %s", b)
		if first {
			if b.Earlier != nil || b.Later == nil || *b.Later < 1.5 {
				t.Errorf("%s: %s, want no earlier bound (no run before) and later >= 1.5 s", k, b)
			}
			continue
		}
		if b.Earlier == nil || b.Later == nil {
			t.Fatalf("%s: %s, want both bounds known", k, b)
		}
		if *b.Later < 1.5 || *b.Earlier <= 0 || *b.Earlier > 10.5 {
			t.Errorf("%s: %s, want later >= 1.5 s (the failing run's wait) and earlier in (0, 10.5] s (the interval before)", k, b)
		}
		if lo, hi := b.Start.Add(-time.Duration(*b.Earlier*float64(time.Second))), b.Start.Add(time.Duration(*b.Later*float64(time.Second))); failFrom.Before(lo) || hi.Before(failFrom) {
			t.Errorf("%s: began between %s and %s, which misses the target's change at %s", k, lo, hi, failFrom)
		}
	}

	r.stop("seoul-a")
	to := fc.Now()
	open, err := st.OpenWindows(ctx, "seoul-a")
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]openBounds{}
	for _, w := range open {
		if w.Kind == state.KindUnknown {
			continue
		}
		b := openBounds{Kind: string(w.Kind), Start: w.Start}
		if w.Function != "" {
			fn := w.Function
			b.Function = &fn
		}
		if d, ok := w.StartUncertainty(); ok {
			b.Earlier = ptrSeconds(d)
		}
		if d, ok := w.StartLater(); ok {
			b.Later = ptrSeconds(d)
		}
		stored[b.key()] = b
	}
	ws, err := report.Windows(ctx, report.Input{Config: cfg, Store: st, From: t0, To: to, Now: to})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := render.WindowsJSON(&buf, ws); err != nil {
		t.Fatal(err)
	}
	var jsonWins []openBounds
	if err := json.Unmarshal(buf.Bytes(), &jsonWins); err != nil {
		t.Fatal(err)
	}
	fromJSON := map[string]openBounds{}
	for _, b := range jsonWins {
		fromJSON[b.key()] = b
	}
	for name, other := range map[string]map[string]openBounds{"the store's open windows": stored, "windows --format json": fromJSON} {
		if len(other) != len(live) {
			t.Errorf("%s: %v; /api/v1/status: %v", name, other, live)
		}
		for k, b := range live {
			if o, ok := other[k]; !ok || o.String() != b.String() {
				t.Errorf("%s %s: %s; /api/v1/status: %s", name, k, o, b)
			}
		}
	}
}

// key is the window's function and kind.
func (b openBounds) key() string {
	fn := "-"
	if b.Function != nil {
		fn = *b.Function
	}
	return fn + "/" + b.Kind
}

// An open window restored at a restart says on /api/v1/status what its
// stored edges say: null for a bound the store does not know (a window
// stored before schema version 12 has no FirstInEnd; a first run or one
// after an unknown stretch has no LastBefore), never 0.
func TestStatusRestoredWindowStartBounds(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	key := state.Key{Service: "svc", Flow: "msg", Location: "seoul-a"}
	for _, tc := range []struct {
		name                 string
		lastBefore, firstEnd time.Time
		want                 string
	}{
		{"both stored", t0.Add(-40 * time.Second), t0.Add(2500 * time.Millisecond), "-/down from 12:00:00.000 -40 +2.5"},
		{"before schema 12", t0.Add(-time.Minute), time.Time{}, "-/down from 12:00:00.000 -60 +null"},
		{"after an unknown stretch", time.Time{}, t0.Add(300 * time.Millisecond), "-/down from 12:00:00.000 -null +0.3"},
		{"neither", time.Time{}, time.Time{}, "-/down from 12:00:00.000 -null +null"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &fakeStore{
				open: []state.Window{{Key: key, Kind: state.KindDown, Start: t0, Confirmed: t0.Add(time.Minute),
					CauseStep: "receive", Error: "status 503, want 200", LastBefore: tc.lastBefore, FirstInEnd: tc.firstEnd}},
				lastRuns: map[string]time.Time{"msg": t0.Add(5 * time.Minute)},
			}
			d, w := newTestDaemon(t, testConfig(time.Minute, "msg"), st, Deps{})
			if _, err := d.restore(context.Background(), d.flowList(), t0.Add(5*time.Minute+30*time.Second), nil, false); err != nil {
				t.Fatal(err)
			}
			startPipeline(d, w)
			rec := httptest.NewRecorder()
			d.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/status", nil))
			var status struct {
				Flows []struct {
					OpenWindows []openBounds `json:"open_windows"`
				} `json:"flows"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &status); err != nil {
				t.Fatalf("%v: %s", err, rec.Body)
			}
			if len(status.Flows) != 1 || len(status.Flows[0].OpenWindows) != 1 {
				t.Fatalf("want one open window: %s", rec.Body)
			}
			if got := status.Flows[0].OpenWindows[0].String(); got != tc.want {
				t.Errorf("open window %s, want %s", got, tc.want)
			}
		})
	}
}

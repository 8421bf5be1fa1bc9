package daemon

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/platform"
	"github.com/slaprobe/slaprobe/state"
)

// hangTransport is a target that never answers: a request waits on the
// run's clock (virtual in a replay) until its context ends, or for hang.
type hangTransport struct{ hang time.Duration }

func (h hangTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := clock.FromContext(req.Context(), clock.Real{})
	if err := c.Sleep(req.Context(), h.hang); err != nil {
		return nil, err
	}
	return nil, errors.New("read: connection reset by peer")
}

const hangConfig = `
location: seoul-a
defaults: {interval: 60s, timeout: 60s, down_after: 2, up_after: 1}
services:
  - name: svc
    flows:
      - name: hang
        steps:
          - name: get
            function: get
            request: {url: "http://127.0.0.1:1/"}
`

// TestReplayHangIsOneDownWindow: a target that hangs for three hours with
// interval = timeout = 60s is one down window from the first run to the end,
// with no unknown stretch, whether the hang ends at the timeout (as live) or
// much later (the replay must end the wait at the deadline).
func TestReplayHangIsOneDownWindow(t *testing.T) {
	for _, hang := range []time.Duration{60 * time.Second, time.Hour} {
		t.Run(hang.String(), func(t *testing.T) {
			cfg, err := config.Parse("hang.yaml", []byte(hangConfig), config.Options{})
			if err != nil {
				t.Fatal(err)
			}
			from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			to := from.Add(3 * time.Hour)
			st := &fakeStore{}
			if err := Replay(context.Background(), cfg, Deps{Store: st, Transport: hangTransport{hang}}, from, to, nil); err != nil {
				t.Fatal(err)
			}
			runs, evs := st.snapshot()
			failed := 0
			for _, r := range runs {
				if !r.OK() {
					failed++
				}
			}
			var opens, unknown int
			for _, e := range evs {
				switch {
				case e.Window.Function != "":
				case e.Window.Kind == state.KindUnknown:
					unknown++
				case e.Op == state.OpOpen && e.Window.Kind == state.KindDown:
					opens++
				}
			}
			t.Logf("hang %v: %d runs, %d failed, %d down windows opened, %d unknown windows", hang, len(runs), failed, opens, unknown)
			if failed != len(runs) || len(runs) == 0 {
				t.Errorf("%d of %d runs failed, want all", failed, len(runs))
			}
			if opens != 1 || unknown != 0 {
				t.Errorf("%d down windows and %d unknown windows, want 1 and 0: %.600s", opens, unknown, eventsString(evs))
			}
		})
	}
}

const slowConfig = `
location: seoul-a
defaults: {interval: 60s, timeout: 30s, down_after: 2, up_after: 1}
services:
  - name: maps
    flows:
      - name: maps-route
        vars: {base: "http://127.0.0.1:18080", user: probe, password: demo}
        steps:
          - name: login
            function: login
            request:
              method: POST
              url: ${base}/maps/login
              json: {user: "${user}", password: "${password}"}
            expect: {status: [200]}
            extract: {token: {jsonpath: "$.token"}}
          - name: route
            function: route
            request:
              url: ${base}/maps/route?from=pangyo&to=gangnam
              headers: {Authorization: "Bearer ${token}"}
            expect: {status: [200], latency: 2s}
`

// A replayed slow fault longer than the timeout is a down window at the
// fault's time, with the live error text (before: the run's virtual clock
// went past the deadline, the skipped slots made unknown stretches, and a
// 7-minute "slow 120s" fault on maps route made no window at all).
func TestReplaySlowFaultLongerThanTimeoutIsDown(t *testing.T) {
	cfg, err := config.Parse("slow.yaml", []byte(slowConfig), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2022, 10, 20, 0, 0, 0, 0, time.UTC)
	fStart, fEnd := from.Add(10*time.Hour), from.Add(10*time.Hour+7*time.Minute)
	tl := &config.Timeline{Name: "slow", Incidents: []config.Incident{{
		ID: "route-slow", Service: "maps", Functions: []string{"route"}, Mode: config.ModeSlow, Latency: 120 * time.Second,
		Start: fStart, End: fEnd,
	}}}
	p := platform.New(platform.Options{Timelines: []*config.Timeline{tl}})
	st := &fakeStore{}
	if err := Replay(context.Background(), cfg, Deps{Store: st, Transport: p.Transport()}, from, from.Add(24*time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	_, evs := st.snapshot()
	var downs []state.Window
	for _, e := range evs {
		if e.Window.Kind == state.KindUnknown {
			t.Errorf("unknown window %v..%v", e.Window.Start, e.Window.End)
		}
		if e.Op == state.OpClose && e.Window.Kind == state.KindDown {
			downs = append(downs, e.Window)
		}
	}
	slack := time.Minute + 2*time.Second // interval + jitter
	for _, fn := range []string{"", "route"} {
		var w *state.Window
		for i := range downs {
			if downs[i].Function == fn {
				w = &downs[i]
			}
		}
		if w == nil {
			t.Errorf("no down window for function %q: %.600s", fn, eventsString(evs))
			continue
		}
		if d := w.Start.Sub(fStart); d < 0 || d > slack {
			t.Errorf("%q: window starts %v after the fault, want within %v", fn, d, slack)
		}
		if d := w.End.Sub(fEnd); d < 0 || d > slack {
			t.Errorf("%q: window ends %v after the fault, want within %v", fn, d, slack)
		}
		if w.CauseStep != "route" || w.Error != "route: flow timeout after 30s" {
			t.Errorf("%q: cause %q %q, want route's flow timeout", fn, w.CauseStep, w.Error)
		}
	}
}

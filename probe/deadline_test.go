package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
)

// hangHandler never answers within the probe's patience: it waits an hour
// on the request's clock (virtual in a replay), or until the client leaves.
func hangHandler(w http.ResponseWriter, r *http.Request) {
	_ = clock.FromContext(r.Context(), clock.Real{}).Sleep(r.Context(), time.Hour)
}

// A target that hangs fails at the step's or the flow's timeout, with the
// same error text, whether the run is live (a real server, the wall clock)
// or replayed (in process, a Manual clock): the virtual wait ends at the
// virtual deadline instead of an hour later. The live one adds where it
// hung (waiting for response headers from the server's address); an
// in-process transport has no connection to say that of.
func TestHangEndsAtDeadlineLiveAndVirtual(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(hangHandler))
	t.Cleanup(srv.Close)
	t0 := time.Date(2022, 10, 15, 15, 19, 0, 0, time.UTC)
	tests := []struct {
		name              string
		flowTimeout, step time.Duration
		poll              *config.Poll
		want              string
		took              time.Duration // the run's duration on its clock
	}{
		{name: "flow timeout", flowTimeout: 200 * time.Millisecond, want: "hang: flow timeout after 200ms", took: 200 * time.Millisecond},
		{name: "step timeout", flowTimeout: time.Second, step: 100 * time.Millisecond, want: "hang: timeout after 100ms", took: 100 * time.Millisecond},
		// A poll lasts at most within, a hanging attempt included. The
		// flow's timeout is well past within: at 200 ms, a clean-clone CI
		// beside other tests stalled the run past both deadlines once, and
		// the step said the flow's, which had passed too.
		{name: "polling a hang", flowTimeout: 2 * time.Second, poll: &config.Poll{Every: 50 * time.Millisecond, Within: 150 * time.Millisecond},
			want: "hang: expectation not met within 150ms: timeout", took: 150 * time.Millisecond},
		{name: "polling a hang, within the flow's timeout", flowTimeout: 200 * time.Millisecond, poll: &config.Poll{Every: 50 * time.Millisecond, Within: 200 * time.Millisecond},
			want: "hang: flow timeout after 200ms", took: 200 * time.Millisecond},
	}
	for _, tc := range tests {
		for _, virtual := range []bool{false, true} {
			name := tc.name + "/live"
			if virtual {
				name = tc.name + "/replay"
			}
			t.Run(name, func(t *testing.T) {
				st := get("hang", srv.URL+"/")
				st.Timeout, st.Poll = tc.step, tc.poll
				flow := config.Flow{Timeout: tc.flowTimeout, Steps: []config.Step{st, get("next", srv.URL+"/")}}
				ctx, opts := context.Background(), Options{}
				var m *clock.Manual
				if virtual {
					m = clock.NewManual(t0)
					ctx = clock.NewContext(ctx, m)
					opts.Transport = inProcess{http.HandlerFunc(hangHandler)}
				}
				begin := time.Now()
				run := runOne(t, ctx, flow, opts)
				want := tc.want
				if !virtual {
					want += " waiting for response headers from " + strings.TrimPrefix(srv.URL, "http://")
				}
				wantStep(t, run.Steps[0], StatusFailed, want)
				wantStep(t, run.Steps[1], StatusNotRun, "not run: step hang failed")
				if real := time.Since(begin); real > tc.took+time.Second {
					t.Errorf("took %v of real time", real)
				}
				if virtual {
					if run.Duration != tc.took || !m.Now().Equal(t0.Add(tc.took)) {
						t.Errorf("virtual run took %v (clock +%v), want exactly %v", run.Duration, m.Now().Sub(t0), tc.took)
					}
				} else if run.Duration < tc.took || run.Duration > tc.took+time.Second {
					t.Errorf("live run took %v, want about %v", run.Duration, tc.took)
				}
			})
		}
	}
}

// stallTransport is a machine starved of CPU: the attempt's goroutine
// wakes only after the clock has run past every deadline, and finds its
// request's context done.
type stallTransport struct {
	m     *clock.Manual
	stall time.Duration
}

func (s stallTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	s.m.Advance(s.stall)
	return nil, req.Context().Err()
}

// A run stalled past two deadlines says the one that came first: a poll
// whose within ran out before the flow's timeout says "expectation not met
// within", and a step whose own timeout came first says that one, where
// both said the flow's timeout, true too but not what ended the step (the
// step fails either way).
func TestStallPastTwoDeadlinesNamesTheFirst(t *testing.T) {
	t0 := time.Date(2022, 10, 15, 15, 19, 0, 0, time.UTC)
	for _, tc := range []struct {
		name              string
		flowTimeout, step time.Duration
		poll              *config.Poll
		want              string
	}{
		{name: "poll within first", flowTimeout: 2 * time.Second, poll: &config.Poll{Every: 50 * time.Millisecond, Within: 150 * time.Millisecond},
			want: "hang: expectation not met within 150ms: timeout"},
		{name: "step timeout first", flowTimeout: 2 * time.Second, step: 100 * time.Millisecond, want: "hang: timeout after 100ms"},
		{name: "step timeout before a poll's within", flowTimeout: 2 * time.Second, step: 100 * time.Millisecond,
			poll: &config.Poll{Every: 50 * time.Millisecond, Within: 150 * time.Millisecond}, want: "hang: timeout after 100ms"},
		{name: "flow timeout first", flowTimeout: 100 * time.Millisecond, step: time.Second,
			poll: &config.Poll{Every: 50 * time.Millisecond, Within: 150 * time.Millisecond}, want: "hang: flow timeout after 100ms"},
		{name: "flow timeout and within at once", flowTimeout: 150 * time.Millisecond,
			poll: &config.Poll{Every: 50 * time.Millisecond, Within: 150 * time.Millisecond}, want: "hang: flow timeout after 150ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := clock.NewManual(t0)
			st := get("hang", "http://target.invalid/")
			st.Timeout, st.Poll = tc.step, tc.poll
			flow := config.Flow{Timeout: tc.flowTimeout, Steps: []config.Step{st}}
			run := runOne(t, clock.NewContext(context.Background(), m), flow, Options{Transport: stallTransport{m: m, stall: 3 * time.Second}})
			wantStep(t, run.Steps[0], StatusFailed, tc.want)
		})
	}
}

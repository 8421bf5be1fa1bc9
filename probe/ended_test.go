package probe

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
)

// TestStepEnded: StepResult.Ended is when each step ended after the run's
// start, on the runner's clock (virtual here), whatever its Duration says:
// a poll with since its own end where its Duration reaches back to the
// send's start, a failed step its end, a step it blocked 0; a step that
// took no time 1ns (0 is "not known"). In virtual time: first 1 s, send
// 2 s, receive's first answer 0.5 s then its every (1 s), tile a 503 after
// 3 s; then a run whose one step takes no time.
func TestStepEnded(t *testing.T) {
	c := clock.NewManual(time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC))
	var polls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/first":
			if polls.Load() == 0 {
				c.Advance(time.Second)
			}
			fmt.Fprint(w, `{}`)
		case "/send":
			c.Advance(2 * time.Second)
			fmt.Fprint(w, `{"id":"m-1"}`)
		case "/inbox":
			if polls.Add(1) == 1 {
				c.Advance(500 * time.Millisecond)
				fmt.Fprint(w, `{"messages":[]}`)
				return
			}
			fmt.Fprint(w, `{"messages":[{"id":"m-1"}]}`)
		case "/tile":
			c.Advance(3 * time.Second)
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	recv := get("receive", srv.URL+"/inbox")
	recv.Poll = &config.Poll{Every: time.Second, Within: 10 * time.Second}
	recv.Expect.JSONPath = []config.PathMatch{{Path: "$.messages[*].id", Matcher: config.Matcher{Contains: ptr("m-1")}}}
	flow := config.Flow{Timeout: 30 * time.Second, Steps: []config.Step{get("first", srv.URL+"/first"), get("send", srv.URL+"/send"), recv,
		get("tile", srv.URL+"/tile"), get("after", srv.URL+"/first")}}
	run := runOne(t, context.Background(), flow, Options{Clock: c})
	s := time.Second
	for i, want := range []struct {
		status          Status
		duration, ended time.Duration
	}{
		{StatusOK, s, s},
		{StatusOK, 2 * s, 3 * s},
		{StatusOK, 3500 * time.Millisecond, 4500 * time.Millisecond}, // Duration from the send's start
		{StatusFailed, 3 * s, 7500 * time.Millisecond},
		{StatusNotRun, 0, 0},
	} {
		got := run.Steps[i]
		if got.Status != want.status || got.Duration != want.duration || got.Ended != want.ended {
			t.Errorf("%s: %s (%q), duration %s, ended %s; want %s, %s, %s", got.Step, got.Status, got.Error, got.Duration, got.Ended, want.status, want.duration, want.ended)
		}
	}
	if run.Duration != 7500*time.Millisecond {
		t.Errorf("run's duration %s, want 7.5s", run.Duration)
	}
	run = runOne(t, context.Background(), config.Flow{Timeout: 30 * time.Second, Steps: []config.Step{get("first", srv.URL+"/first")}}, Options{Clock: c})
	if got := run.Steps[0]; got.Status != StatusOK || got.Duration != 0 || got.Ended != time.Nanosecond {
		t.Errorf("a step that took no time: %s (%q), duration %s, ended %s; want ok, 0s, 1ns", got.Status, got.Error, got.Duration, got.Ended)
	}
}

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

// TestPollLatencyFromTheSend: a passing poll's duration, its latency, is
// measured from the start of its since step (by default the step just
// before: the send), as an await's is: the time from the send to the
// message being seen, the receive latency README promises. Before, a poll
// measured from its own start, so a send that took 2 s and a message seen
// 1.5 s after it read 1.5 s for a poll and 3.5 s for an await of the same
// delivery. In virtual time: the send takes 2 s, the inbox's first answer
// (empty) 0.5 s, the poll waits its every (1 s) and sees the message.
func TestPollLatencyFromTheSend(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps func(send, recv config.Step) []config.Step
		since string
		want  time.Duration
	}{
		{"from the send's start (the step just before)", func(s, r config.Step) []config.Step { return []config.Step{s, r} }, "", 3500 * time.Millisecond},
		{"since the step itself: its own time", func(s, r config.Step) []config.Step { return []config.Step{s, r} }, "receive", 1500 * time.Millisecond},
		{"since the send, named", func(s, r config.Step) []config.Step { return []config.Step{s, r} }, "send", 3500 * time.Millisecond},
		{"a first step: its own time", func(s, r config.Step) []config.Step { return []config.Step{r} }, "", 1500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := clock.NewManual(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
			var polls atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/send" {
					c.Advance(2 * time.Second)
					fmt.Fprint(w, `{"id":"m-1"}`)
					return
				}
				if polls.Add(1) == 1 {
					c.Advance(500 * time.Millisecond)
					fmt.Fprint(w, `{"messages":[]}`)
					return
				}
				fmt.Fprint(w, `{"messages":[{"id":"m-1"}]}`)
			}))
			t.Cleanup(srv.Close)
			send := get("send", srv.URL+"/send")
			recv := get("receive", srv.URL+"/inbox")
			recv.Poll = &config.Poll{Every: time.Second, Within: 10 * time.Second, Since: tc.since}
			recv.Expect.JSONPath = []config.PathMatch{{Path: "$.messages[*].id", Matcher: config.Matcher{Contains: ptr("m-1")}}}
			run := runOne(t, context.Background(), config.Flow{Timeout: 30 * time.Second, Steps: tc.steps(send, recv)}, Options{Clock: c})
			s := run.Steps[len(run.Steps)-1]
			if s.Status != StatusOK || s.Duration != tc.want {
				t.Errorf("receive: %s %q, duration %s; want ok, %s", s.Status, s.Error, s.Duration, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

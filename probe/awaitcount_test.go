package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// An await that saw several messages and none that matched says how many
// by order of magnitude: on a stream that carries other traffic (other
// locations' probes in one room, presence) the exact count changed from run
// to run, and with it the error's text, so one fault made a new window cause
// each run ("none of 3 messages" one run, "none of 5" the next). None and
// one keep their own words.
func TestAwaitCountKeysOneCause(t *testing.T) {
	const last = `closest: $.id does not equal "m-1" (got "other")`
	for _, tc := range []struct {
		n    int
		want string
	}{
		{0, "receive: timeout after 300ms: no message on stream subscribe"},
		{1, `receive: timeout after 300ms: the only message on stream subscribe did not match: $.id does not equal "m-1" (got "other")`},
		{2, "receive: timeout after 300ms: none of 2-9 messages on stream subscribe matched; " + last},
		{3, "receive: timeout after 300ms: none of 2-9 messages on stream subscribe matched; " + last},
		{9, "receive: timeout after 300ms: none of 2-9 messages on stream subscribe matched; " + last},
		{10, "receive: timeout after 300ms: none of 10-99 messages on stream subscribe matched; " + last},
		{57, "receive: timeout after 300ms: none of 10-99 messages on stream subscribe matched; " + last},
		{100, "receive: timeout after 300ms: none of 100-999 messages on stream subscribe matched; " + last},
		{1200, "receive: timeout after 300ms: none of 1000 or more messages on stream subscribe matched; " + last},
	} {
		t.Run(strconv.Itoa(tc.n), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				w.Write([]byte(strings.Repeat("data: {\"id\":\"other\"}\n\n", tc.n)))
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			}))
			t.Cleanup(srv.Close)
			sub := config.Step{Name: "subscribe", Function: "receive", SSE: &config.Stream{URL: srv.URL}}
			recv := config.Step{Name: "receive", Function: "receive", Timeout: 300 * time.Millisecond,
				Await:  &config.Await{Stream: "subscribe"},
				Expect: config.Expect{JSONPath: []config.PathMatch{{Path: "$.id", Matcher: eq("m-1")}}}}
			run := runOne(t, context.Background(), config.Flow{Timeout: 5 * time.Second, Steps: []config.Step{sub, recv}}, Options{})
			if s := run.Steps[0]; s.Status != StatusOK {
				t.Fatalf("subscribe: %s %q", s.Status, s.Error)
			}
			wantStep(t, run.Steps[1], StatusFailed, tc.want)
		})
	}
}

// An await on a stream that carries other traffic too says why the message
// that came closest to passing did not (the one that passed the most of the
// step's checks), not the last message's reason: with presence and typing
// notices and another location's message arriving in any order, the last
// was any of them, and the window's cause flipped run by run between
// "$.type does not equal" and "$.id does not equal". Each row is one run of
// such a stream; every run of the one fault says the same. Of two messages
// that failed the same matcher, one it found a value in came closer than
// one it found none in.
func TestAwaitClosestOneCause(t *testing.T) {
	const (
		presence = `{"type":"presence","user":"u-7"}`
		typing   = `{"type":"typing"}`
		other    = `{"type":"message","id":"other"}`
		noID     = `{"type":"message"}`
		notJSON  = `ping`
		want     = `receive: timeout after 300ms: none of 2-9 messages on stream subscribe matched; closest: $.id does not equal "m-1" (got "other")`
	)
	for _, tc := range []struct {
		name string
		msgs []string
	}{
		{"presence, then the other message", []string{presence, other}},
		{"the other message, then presence", []string{other, presence}},
		{"the other message, then typing and a ping", []string{other, typing, notJSON}},
		{"a ping, typing, the other message", []string{notJSON, typing, other}},
		{"the other message between presence", []string{presence, other, presence}},
		// A message without an id got less far than one whose id was
		// another: $.id selected nothing is not the closest.
		{"the other message, then one without an id", []string{other, noID}},
		{"one without an id, then the other message", []string{noID, other}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				for _, m := range tc.msgs {
					w.Write([]byte("data: " + m + "\n\n"))
				}
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			}))
			t.Cleanup(srv.Close)
			sub := config.Step{Name: "subscribe", Function: "receive", SSE: &config.Stream{URL: srv.URL}}
			recv := config.Step{Name: "receive", Function: "receive", Timeout: 300 * time.Millisecond,
				Await: &config.Await{Stream: "subscribe"},
				Expect: config.Expect{JSONPath: []config.PathMatch{
					{Path: "$.type", Matcher: eq("message")},
					{Path: "$.id", Matcher: eq("m-1")},
				}}}
			run := runOne(t, context.Background(), config.Flow{Timeout: 5 * time.Second, Steps: []config.Step{sub, recv}}, Options{})
			if s := run.Steps[0]; s.Status != StatusOK {
				t.Fatalf("subscribe: %s %q", s.Status, s.Error)
			}
			wantStep(t, run.Steps[1], StatusFailed, want)
		})
	}
}

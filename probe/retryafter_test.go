package probe

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	httpDate := func(t time.Time) string { return t.UTC().Format(http.TimeFormat) }
	tests := []struct {
		name   string
		status int
		header string
		date   string // the answer's Date header
		want   time.Duration
	}{
		{"429 delay-seconds", 429, "30", "", 30 * time.Second},
		{"503 delay-seconds", 503, "120", "", 2 * time.Minute},
		{"spaces around", 429, " 7 ", "", 7 * time.Second},
		{"zero", 429, "0", "", 0},
		{"not asked on a 200", 200, "30", "", 0},
		{"not asked on a 500", 500, "30", "", 0},
		{"not asked on a 301", 301, "30", "", 0},
		{"no header", 429, "", "", 0},
		{"garbage", 429, "soon", "", 0},
		{"negative", 429, "-5", "", 0},
		{"fraction", 429, "1.5", "", 0},
		{"huge is bounded", 429, "99999999999999999999999", "", maxRetryAfter},
		{"a day and more is bounded", 429, "90000", "", maxRetryAfter},
		{"HTTP-date against now", 503, httpDate(now.Add(45 * time.Second)), "", 45 * time.Second},
		{"HTTP-date in the past", 503, httpDate(now.Add(-time.Minute)), "", 0},
		// The server's clock is 10 minutes behind ours: its "in 30 s" is
		// 30 s, not nothing.
		{"HTTP-date against the answer's Date", 429, httpDate(now.Add(-10*time.Minute + 30*time.Second)), httpDate(now.Add(-10 * time.Minute)), 30 * time.Second},
		{"HTTP-date with a bad Date", 429, httpDate(now.Add(20 * time.Second)), "yesterday", 20 * time.Second},
		// The obsolete forms RFC 9110 5.6.7 says a recipient must accept.
		{"RFC 850 date", 503, now.Add(40 * time.Second).Format(time.RFC850), "", 40 * time.Second},
		{"asctime date", 503, now.Add(50 * time.Second).Format(time.ANSIC), "", 50 * time.Second},
		// A date with a zone other than GMT is not an HTTP-date.
		{"RFC 3339 is not an HTTP-date", 503, now.Add(time.Minute).Format(time.RFC3339), "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{}}
			if tc.header != "" {
				resp.Header.Set("Retry-After", tc.header)
			}
			if tc.date != "" {
				resp.Header.Set("Date", tc.date)
			}
			if got := retryAfter(resp, nil, now); got != tc.want {
				t.Errorf("retryAfter = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestRetryAfterMatrixBody: without a Retry-After header, a 429 or 503
// whose JSON body has retry_after_ms (Matrix's M_LIMIT_EXCEEDED) asks that
// many milliseconds; anything else in the body asks nothing.
func TestRetryAfterMatrixBody(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		status int
		body   string
		want   time.Duration
	}{
		{"Dendrite's 429", 429, matrixLimited(500), 500 * time.Millisecond},
		{"503", 503, `{"retry_after_ms": 2000}`, 2 * time.Second},
		{"fraction", 429, `{"retry_after_ms": 1.5}`, 1500 * time.Microsecond},
		{"not on a 200", 200, matrixLimited(500), 0},
		{"not on a 500", 500, matrixLimited(500), 0},
		{"a number in a string", 429, `{"retry_after_ms": "500"}`, 500 * time.Millisecond},
		{"not a number", 429, `{"retry_after_ms": "soon"}`, 0},
		{"negative", 429, `{"retry_after_ms": -5}`, 0},
		{"zero", 429, `{"retry_after_ms": 0}`, 0},
		{"huge is bounded", 429, `{"retry_after_ms": 1e300}`, maxRetryAfter},
		{"nested is not the answer's", 429, `{"error": {"retry_after_ms": 500}}`, 0},
		{"not JSON", 429, `retry_after_ms: 500`, 0},
		{"cut short", 429, `{"retry_after_ms": 500`, 0},
		{"empty", 429, ``, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{}}
			if got := retryAfter(resp, []byte(tc.body), now); got != tc.want {
				t.Errorf("retryAfter = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestPollHonoursRetryAfter: a receive step polling every 500 ms that gets a
// 429 asking for 3 s waits 3 s before it asks again, rather than six more
// times into the rate limit; one asking for longer than the poll has left
// ends the poll at once, saying so; and the run carries what was asked, for
// the daemon's confirm runs.
func TestPollHonoursRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		limited    int64  // answers that are 429 before the message shows
		retryAfter string // their Retry-After
		body       string // their body
		status     Status
		attempts   int
		duration   time.Duration
		errText    string
		runAsked   time.Duration
	}{
		{"waits what the 429 asked", 1, "3", "", StatusOK, 2, 3 * time.Second, "", 0},
		{"twice", 2, "2", "", StatusOK, 3, 4 * time.Second, "", 0},
		{"a shorter ask keeps the poll's pace", 1, "0", "", StatusOK, 2, 500 * time.Millisecond, "", 0},
		{"past within: ends the poll", 100, "30", "", StatusFailed, 1, 0,
			"receive: expectation not met within 10s: status 429, want 200-399 (the answer asked to retry after 30s)", 30 * time.Second},
		{"limited to the end", 100, "4", "", StatusFailed, 3, 8 * time.Second,
			"receive: expectation not met within 10s: status 429, want 200-399 (the answer asked to retry after 4s)", 4 * time.Second},
		// A Matrix homeserver (Dendrite, older Synapse) says how long in
		// its JSON body, with no Retry-After header.
		{"Matrix retry_after_ms", 1, "", matrixLimited(3000), StatusOK, 2, 3 * time.Second, "", 0},
		{"Matrix retry_after_ms, twice", 2, "", matrixLimited(1500), StatusOK, 3, 3 * time.Second, "", 0},
		{"Matrix retry_after_ms past within", 100, "", matrixLimited(30000), StatusFailed, 1, 0,
			`receive: expectation not met within 10s: status 429, want 200-399: M_LIMIT_EXCEEDED "You are sending too many requests too quickly!" (the answer asked to retry after 30s)`, 30 * time.Second},
		{"the header wins over the body", 1, "2", matrixLimited(9000), StatusOK, 2, 2 * time.Second, "", 0},
		{"a body with no retry_after_ms", 1, "", `{"errcode":"M_LIMIT_EXCEEDED","error":"Too many requests"}`, StatusOK, 2, 500 * time.Millisecond, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) <= tc.limited {
					if tc.retryAfter != "" {
						w.Header().Set("Retry-After", tc.retryAfter)
					}
					w.WriteHeader(http.StatusTooManyRequests)
					w.Write([]byte(tc.body))
					return
				}
				w.Write([]byte(`{"messages":[{"id":"m-17"}]}`))
			}))
			t.Cleanup(srv.Close)
			st := get("receive", srv.URL+"/inbox")
			st.Poll = &config.Poll{Every: 500 * time.Millisecond, Within: 10 * time.Second}
			st.Expect.JSONPath = []config.PathMatch{{Path: "$.messages[*].id", Matcher: config.Matcher{Contains: sp("m-17")}}}
			m := clock.NewManual(time.Date(2021, 5, 5, 21, 47, 0, 0, time.UTC))
			run := runOne(t, clock.NewContext(context.Background(), m), config.Flow{Timeout: time.Minute, Steps: []config.Step{st}}, Options{})
			s := run.Steps[0]
			wantStep(t, s, tc.status, tc.errText)
			if s.Attempts != tc.attempts || int64(s.Attempts) != calls.Load() {
				t.Errorf("attempts = %d (target saw %d), want %d", s.Attempts, calls.Load(), tc.attempts)
			}
			if got := m.Now().Sub(run.Start); got != tc.duration {
				t.Errorf("the poll took %s of virtual time, want %s", got, tc.duration)
			}
			if run.RetryAfter != tc.runAsked {
				t.Errorf("Run.RetryAfter = %s, want %s", run.RetryAfter, tc.runAsked)
			}
		})
	}
}

// matrixLimited is a Matrix homeserver's 429 body (client-server API,
// M_LIMIT_EXCEEDED), as Dendrite v0.13.8 sends it: the wait is in the body,
// there is no Retry-After header.
func matrixLimited(ms int) string {
	return `{"errcode":"M_LIMIT_EXCEEDED","error":"You are sending too many requests too quickly!","retry_after_ms":` + strconv.Itoa(ms) + `}`
}

// TestRunRetryAfter: the run carries the Retry-After of its first failing
// step's answer (a login refused by a rate limit), and nothing when it
// passed or failed otherwise.
func TestRunRetryAfter(t *testing.T) {
	tests := []struct {
		name    string
		login   int // the login's status
		after   string
		want    time.Duration
		wantErr string
	}{
		{"rate-limited login", 429, "60", time.Minute, "status 429"},
		{"unavailable", 503, "120", 2 * time.Minute, "status 503"},
		{"failed without asking", 500, "", 0, "status 500"},
		{"passed", 200, "60", 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/login") {
					if tc.after != "" {
						w.Header().Set("Retry-After", tc.after)
					}
					w.WriteHeader(tc.login)
					return
				}
				w.Header().Set("Retry-After", "5") // the send step, run only after a login that passed
				w.WriteHeader(http.StatusTooManyRequests)
			}))
			t.Cleanup(srv.Close)
			run := runOne(t, context.Background(), config.Flow{Timeout: 5 * time.Second, Steps: []config.Step{
				get("login", srv.URL+"/login"), get("send", srv.URL+"/send"),
			}}, Options{})
			if !strings.Contains(run.Steps[0].Error, tc.wantErr) || (tc.wantErr == "") != (run.Steps[0].Status == StatusOK) {
				t.Fatalf("login: %s %q, want an error with %q", run.Steps[0].Status, run.Steps[0].Error, tc.wantErr)
			}
			want := tc.want
			if tc.wantErr == "" {
				want = 5 * time.Second // the send step failed on its own 429
			}
			if run.RetryAfter != want {
				t.Errorf("Run.RetryAfter = %s, want %s", run.RetryAfter, want)
			}
		})
	}
}

// TestTeardownRetryAfterNotTheRuns: a teardown step's answer is not the
// run's Retry-After. A run whose send failed on a 500 asked nothing, and its
// teardown (a DELETE refused by a rate limit with Retry-After: 600) must not
// put the confirm runs of that failure off to the next base slot: the
// failure had nothing to do with the limit, and Run.RetryAfter is the first
// failing step's answer (of the steps that make the verdict).
func TestTeardownRetryAfterNotTheRuns(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/cleanup") {
			w.Header().Set("Retry-After", "600")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	run := runOne(t, context.Background(), config.Flow{Timeout: 5 * time.Second,
		Steps:    []config.Step{get("send", srv.URL+"/send")},
		Teardown: []config.Step{get("cleanup", srv.URL+"/cleanup")},
	}, Options{})
	if run.Steps[0].Status != StatusFailed || len(run.Teardown) != 1 || run.Teardown[0].Status != StatusFailed {
		t.Fatalf("send %s, teardown %+v; want both failed", run.Steps[0].Status, run.Teardown)
	}
	if run.RetryAfter != 0 {
		t.Errorf("Run.RetryAfter = %s from the teardown's 429, want 0 (the failing send asked nothing)", run.RetryAfter)
	}
}

// TestLongPollCutKeepsRetryAfter: a long poll whose 429 asked for a wait,
// and whose next attempt was still waiting when within ran out, fails with
// the 429 (the answer before the cut) and carries its Retry-After too, as
// the confirm runs' wait: the cut attempt says nothing of the target.
func TestLongPollCutKeepsRetryAfter(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		<-r.Context().Done() // a long poll with nothing new
	}))
	t.Cleanup(srv.Close)
	st := get("receive", srv.URL+"/sync")
	st.Poll = &config.Poll{Every: 50 * time.Millisecond, Within: 1500 * time.Millisecond}
	run := runOne(t, context.Background(), config.Flow{Timeout: 5 * time.Second, Steps: []config.Step{st}}, Options{})
	s := run.Steps[0]
	if s.Status != StatusFailed || !strings.Contains(s.Error, "status 429") || !strings.Contains(s.Error, "still waiting at the deadline") {
		t.Fatalf("step %s %q, want the 429 before the cut", s.Status, s.Error)
	}
	if run.RetryAfter != time.Second {
		t.Errorf("Run.RetryAfter = %s, want 1s (the 429's)", run.RetryAfter)
	}
}

// TestStreamHandshakeRetryAfter: a WebSocket or SSE handshake refused with
// 429 or 503 and a Retry-After (a hub behind a rate-limiting proxy) gives
// the run that wait, as a request's answer does: the stream steps kept the
// status and dropped the header, so the confirm runs after a refused
// subscribe went on every confirm_every into the limit. Without the header,
// a JSON body's retry_after_ms (Matrix's M_LIMIT_EXCEEDED) does too, as for
// a request (docs/config.md, confirm_every): the handshakes read no body,
// so an SSE subscribe refused with 429 and {"retry_after_ms": 30000} was
// retried every confirm_every (2 s) where a request step so answered waited
// 30 s.
func TestStreamHandshakeRetryAfter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := http.StatusTooManyRequests
		if strings.Contains(r.URL.Path, "/sse") {
			status = http.StatusServiceUnavailable
		}
		if strings.HasSuffix(r.URL.Path, "-body") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprint(w, `{"errcode":"M_LIMIT_EXCEEDED","error":"Too many requests","retry_after_ms":30000}`)
			return
		}
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name   string
		step   config.Step
		status int
	}{
		{"websocket", config.Step{Name: "subscribe", Function: "receive", WebSocket: &config.Stream{URL: srv.URL + "/ws"}}, 429},
		{"sse", config.Step{Name: "subscribe", Function: "receive", SSE: &config.Stream{URL: srv.URL + "/sse"}}, 503},
		{"websocket retry_after_ms", config.Step{Name: "subscribe", Function: "receive", WebSocket: &config.Stream{URL: srv.URL + "/ws-body"}}, 429},
		{"sse retry_after_ms", config.Step{Name: "subscribe", Function: "receive", SSE: &config.Stream{URL: srv.URL + "/sse-body"}}, 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := runOne(t, context.Background(), config.Flow{Timeout: 5 * time.Second, Steps: []config.Step{tc.step}}, Options{})
			s := run.Steps[0]
			if s.Status != StatusFailed || s.HTTPStatus != tc.status {
				t.Fatalf("subscribe: %s, HTTP %d: %q; want failed with %d", s.Status, s.HTTPStatus, s.Error, tc.status)
			}
			if run.RetryAfter != 30*time.Second {
				t.Errorf("Run.RetryAfter = %s, want 30s (the handshake's Retry-After or retry_after_ms)", run.RetryAfter)
			}
		})
	}
}

// TestRetryAfterUnparsableHeaderFallsBackToBody: a Retry-After header that
// does not parse (neither delay-seconds nor an HTTP-date: "soon", "-5",
// "1.5") asks nothing by itself, so the body's retry_after_ms is read as if
// the header were not there: a proxy in front of a Matrix homeserver that
// adds "Retry-After: soon" to Dendrite's 429 must not turn its
// retry_after_ms of 30 s into no wait at all, for a request step and for a
// refused stream handshake alike.
func TestRetryAfterUnparsableHeaderFallsBackToBody(t *testing.T) {
	for _, header := range []string{"soon", "-5", "1.5"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", header)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, matrixLimited(30000))
		}))
		for _, tc := range []struct {
			name string
			step config.Step
		}{
			{"request", get("login", srv.URL+"/login")},
			{"websocket", config.Step{Name: "subscribe", Function: "receive", WebSocket: &config.Stream{URL: srv.URL + "/ws"}}},
			{"sse", config.Step{Name: "subscribe", Function: "receive", SSE: &config.Stream{URL: srv.URL + "/sse"}}},
		} {
			t.Run(header+"/"+tc.name, func(t *testing.T) {
				run := runOne(t, context.Background(), config.Flow{Timeout: 5 * time.Second, Steps: []config.Step{tc.step}}, Options{})
				if s := run.Steps[0]; s.Status != StatusFailed || s.HTTPStatus != http.StatusTooManyRequests {
					t.Fatalf("step: %s, HTTP %d: %q; want failed with 429", s.Status, s.HTTPStatus, s.Error)
				}
				if run.RetryAfter != 30*time.Second {
					t.Errorf("Run.RetryAfter = %s, want 30s (the body's retry_after_ms; Retry-After: %s does not parse)", run.RetryAfter, header)
				}
			})
		}
		srv.Close()
	}
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"soon", 2 * time.Second},
		{"", 2 * time.Second},
		{"0", 0}, // a header that parses wins, even when it asks nothing
		{"7", 7 * time.Second},
	} {
		resp := &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{}}
		if tc.header != "" {
			resp.Header.Set("Retry-After", tc.header)
		}
		if got := retryAfter(resp, []byte(matrixLimited(2000)), now); got != tc.want {
			t.Errorf("retryAfter(Retry-After: %q, retry_after_ms 2000) = %s, want %s", tc.header, got, tc.want)
		}
	}
}

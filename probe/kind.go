package probe

import (
	"context"
	"time"
)

// stepKind is what one kind of step does; the generic shell in run.go
// (timeouts, polling, latency objective, result) calls it once per attempt.
// Each kind lives in its own file: http.go for request steps.
type stepKind interface {
	// attempt performs the step once in the run's scope and checks what it
	// got with cs.pay; ctx carries the step's deadline.
	attempt(ctx context.Context, rs *runState, cs *compiledStep) attempt
}

// attempt is the outcome of one try of a step.
type attempt struct {
	status int
	phases Phases
	fail   string // "" when every expectation held
	fatal  bool   // retrying cannot help (the request could not be built)
	cut    bool   // a poll's attempt still waiting when the poll's within ran out
	// atLogin: the answer sent the request to one of the session's own
	// pages (see runState.atLoginPage), which refuses the session.
	atLogin bool
	// taken: a repeat: false step's request was answered with a redirect
	// that took it (see runState.takenBy): what a later request of the
	// redirects got is not a refusal of it.
	taken bool
	// latency, when set, is the step's measured duration instead of the
	// shell's start-to-end time (an await measures from its send step).
	latency    time.Duration
	hasLatency bool
	// retryAfter is how long a 429 or 503 answer asked the client to wait
	// (its Retry-After header; see retryAfter): a poll waits at least that
	// long before its next attempt, and the run carries it (Run.RetryAfter).
	retryAfter time.Duration
	// expired: the failure is the session's, said inside the protocol (an
	// await's stream said the token expired, see expiry.go); restart is
	// the step to run again from after a new login (the stream's).
	expired bool
	restart int
	// waiting is what an attempt cut short by a deadline (or cancel) was
	// still waiting for, and from where (tracer.waitingFor: "waiting for
	// response headers from 10.0.0.5:443", "reading the body from
	// 10.0.0.5:443 after 1.2 MB"); the step's timeout error ends with it.
	waiting string
	// statusFirst is the failed status check of an answer whose body then
	// failed too ("status 503, want 200"): the failure says it first, and
	// the body's after it, as a deadline's does ("status 503, want 200
	// (timeout after 2s reading the body from ...)").
	statusFirst string
}

package probe

import (
	"fmt"
	"slices"

	"github.com/slaprobe/slaprobe/config"
)

// A session that expires inside a protocol: a real-time hub says "your
// token expired" on the stream rather than with an HTTP 401. When an await
// fails on what its stream said so (a close code, or a message the stream's
// sessionExpiry matches), the step's failure counts for the flow's session
// as a 401 does (see runState.refusalStatus): a run that reuses a session
// logs in again, once, and runs the flow's steps again from the stream step
// (the stream must be opened with the new token); a run that logged in
// itself does not, and its refusal is held as a 401's.

// defaultExpiry is what a stream step without session_expired takes to say
// the session expired: Centrifugo v6's words (its error 109 "token expired"
// answering a bidirectional connect, its disconnect code 3005 "connection
// expired" closing a unidirectional WebSocket, and pushed as
// {"disconnect":{"code":3005,...}} before that and on uni_sse and
// uni_http_stream).
func defaultExpiry() (codes []int, paths [][]config.PathMatch) {
	return []int{3005}, [][]config.PathMatch{
		{{Path: "$.error.code", Matcher: equalsMatcher("109")}},
		{{Path: "$.disconnect.code", Matcher: equalsMatcher("3005")}},
	}
}

func equalsMatcher(s string) config.Matcher { return config.Matcher{Equals: &s} }

// sessionExpiry is a stream step's compiled session_expired: the WebSocket
// close codes and the messages (any of msgs, each all of its matchers) that
// say the session's token is no longer valid.
type sessionExpiry struct {
	codes []int
	msgs  []payload
}

func compileExpiry(se *config.SessionExpired, sy *symbols) (*sessionExpiry, error) {
	x := &sessionExpiry{}
	codes, paths := defaultExpiry()
	if se != nil {
		codes, paths = se.CloseCodes, nil
		if len(se.JSONPath) > 0 {
			paths = [][]config.PathMatch{se.JSONPath}
		}
	}
	x.codes = codes
	for _, pm := range paths {
		var p payload
		if err := p.compile(&config.Expect{JSONPath: pm}, nil, sy); err != nil {
			return nil, fmt.Errorf("session_expired: %w", err)
		}
		x.msgs = append(x.msgs, p)
	}
	return x, nil
}

// closed reports whether a WebSocket close code says the session expired.
func (x *sessionExpiry) closed(code int) bool {
	return x != nil && code > 0 && slices.Contains(x.codes, code)
}

// says reports whether a message says the session expired. It uses the
// run's parser: call it on the run's goroutine only.
func (x *sessionExpiry) says(rs *runState, data []byte) bool {
	if x == nil {
		return false
	}
	for i := range x.msgs {
		if rs.checkPayload(&x.msgs[i], data, nil, nil) == "" {
			return true
		}
	}
	return false
}

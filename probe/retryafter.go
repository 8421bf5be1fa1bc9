package probe

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRetryAfter bounds what a Retry-After header can ask: a confirm run is
// never held past the flow's next scheduled run anyway, and a poll past its
// within.
const maxRetryAfter = 24 * time.Hour

// retryAfter is how long resp asks the client to wait before it tries
// again: its Retry-After header (RFC 9110 10.2.3), as delay-seconds or an
// HTTP-date, on a 429 (Too Many Requests, RFC 6585) or a 503 (Service
// Unavailable); without that header, or when it does not parse ("soon",
// "-5", "1.5": a proxy's, in front of a server that says it in its body),
// the retry_after_ms of a JSON body (body, the answer as read), as a Matrix
// homeserver's M_LIMIT_EXCEEDED says it (Dendrite sends no header at all);
// 0 for any other answer, or when neither is there or parses. A header that
// parses wins, even "0". An HTTP-date is read against the answer's own Date
// header when it has one (the server's clock, not ours: a skew between the
// two must not turn "in 30 s" into minutes or nothing), else against now.
func retryAfter(resp *http.Response, body []byte, now time.Time) time.Duration {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return 0
	}
	if d, ok := retryAfterHeader(resp, now); ok {
		return d
	}
	return retryAfterMS(body)
}

// retryAfterHeader is resp's Retry-After header read as retryAfter says;
// false when there is none or it does not parse.
func retryAfterHeader(resp *http.Response, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return maxRetryAfter, true
			}
			return 0, false
		}
		if n >= uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(n) * time.Second, true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if date, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		now = date
	}
	return min(max(at.Sub(now), 0), maxRetryAfter), true
}

// refusedBody is the start of a refused stream handshake's answer, read for
// its retry_after_ms (see retryAfter) when it is a 429 or 503 without a
// Retry-After header that parses; nil otherwise, and nothing is read. A Matrix
// M_LIMIT_EXCEEDED is a few dozen bytes; the WebSocket library keeps only
// the first 1,024 of a refused handshake's body anyway. The error is the
// read's when the body was cut before its end or the limit (a connection
// dropped, the step's deadline): what was read of it then says nothing
// whole, and the caller says the cut instead of an excerpt, as a request
// step does.
//
// whole says whether that is all of the body: one longer than the limit
// is cut at it, and an excerpt of it is no JSON document's (see
// excerptOf).
func refusedBody(resp *http.Response) (b []byte, whole bool, err error) {
	if resp.Body == nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
		return nil, true, nil
	}
	if _, ok := retryAfterHeader(resp, time.Time{}); ok {
		return nil, true, nil
	}
	b, err = io.ReadAll(io.LimitReader(resp.Body, maxRefusedBody+1))
	if len(b) > maxRefusedBody {
		return b[:maxRefusedBody], false, err
	}
	return b, true, err
}

const maxRefusedBody = 1024

// retryAfterMS is the retry_after_ms of a JSON object body (Matrix's
// client-server API: {"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms":
// 2000}), bounded by maxRetryAfter; 0 when the body is not such an object
// or the value is not a number of milliseconds >= 0.
func retryAfterMS(body []byte) time.Duration {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || b[0] != '{' || !bytes.Contains(b, []byte(`"retry_after_ms"`)) {
		return 0
	}
	var v struct {
		RetryAfterMS json.Number `json:"retry_after_ms"`
	}
	if json.Unmarshal(b, &v) != nil {
		return 0
	}
	ms, err := v.RetryAfterMS.Float64()
	if err != nil || ms <= 0 || math.IsNaN(ms) {
		return 0
	}
	if ms >= float64(maxRetryAfter/time.Millisecond) {
		return maxRetryAfter
	}
	return time.Duration(ms * float64(time.Millisecond))
}

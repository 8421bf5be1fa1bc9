package probe

import (
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
// Unavailable); 0 for any other answer, or a header that is missing or does
// not parse. An HTTP-date is read against the answer's own Date header when
// it has one (the server's clock, not ours: a skew between the two must not
// turn "in 30 s" into minutes or nothing), else against now.
func retryAfter(resp *http.Response, now time.Time) time.Duration {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return 0
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if v[0] >= '0' && v[0] <= '9' {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return maxRetryAfter
			}
			return 0
		}
		if n >= uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(n) * time.Second
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	if date, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		now = date
	}
	return min(max(at.Sub(now), 0), maxRetryAfter)
}

package statuspage

import (
	"testing"
	"time"
)

// TestPageGzipOnlyWhenAccepted: the page is gzipped only for a client that
// takes gzip; "gzip;q=0" (RFC 9110: not acceptable) was served gzip, since
// any Accept-Encoding containing "gzip" was taken for a yes.
func TestPageGzipOnlyWhenAccepted(t *testing.T) {
	p, _ := hostilePage(t, time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC))
	for _, tc := range []struct {
		header string
		want   bool
	}{
		{"", false},
		{"gzip", true},
		{"gzip, deflate, br", true},
		{"br;q=1.0, GZIP;q=0.5", true},
		{"gzip;q=0", false},
		{"gzip; q=0.000, identity", false},
		{"identity", false},
		{"*", true},
		{"*;q=0", false},
		{"gzip;q=0, *", false},
		{"x-gzip", true},
		{"notgzip", false},
	} {
		rec := get(t, p.Handler(true), "GET", "/", "Accept-Encoding", tc.header)
		if got := rec.Header().Get("Content-Encoding") == "gzip"; got != tc.want {
			t.Errorf("Accept-Encoding %q: gzip %v, want %v", tc.header, got, tc.want)
		}
	}
}

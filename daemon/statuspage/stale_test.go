package statuspage

import (
	"strings"
	"testing"
	"time"
)

// TestPageStaleWhileResultsNotStored: while the store writer is stuck (a
// full disk, a locked database) the figures, however freshly rebuilt from
// the store, leave out the runs since, and the page says so (README: the
// page is "marked stale, with the error"); the public page without the
// error. It said nothing while reads still worked.
func TestPageStaleWhileResultsNotStored(t *testing.T) {
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	p, _ := hostilePage(t, now)
	const why = "store writer stuck: database or disk is full (12 queued)"
	for _, tc := range []struct {
		healthy bool
		public  bool
		want    []string
		not     []string
	}{
		{true, false, nil, []string{"not being stored"}},
		{false, false, []string{"results are not being stored", why}, nil},
		{false, true, []string{"results are not being stored"}, []string{"disk is full"}},
	} {
		p.opts.StoreHealth = func() (bool, string) {
			if tc.healthy {
				return true, "ok"
			}
			return false, why
		}
		body := get(t, p.Handler(tc.public), "GET", "/?partial=1").Body.String()
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("healthy=%v public=%v: no %q in %.300s", tc.healthy, tc.public, w, body)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(body, n) {
				t.Errorf("healthy=%v public=%v: %q in the page", tc.healthy, tc.public, n)
			}
		}
	}
}

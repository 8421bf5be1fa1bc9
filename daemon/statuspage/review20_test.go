package statuspage

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/daemon"
)

// TestStoredErrorEscapedOnInternalPage: an open window's error stored by a
// version before the probe escaped errors (restored from the store when
// the upgraded daemon starts, while the outage goes on) is escaped on the
// internal page, as the report renderers escape it: its U+202E reversed
// the rest of its line, "· flow NAME · at LOCATION", the very line the
// probe's escaping was written for.
func TestStoredErrorEscapedOnInternalPage(t *testing.T) {
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	p, _ := hostilePage(t, now)
	const stored = "s: got \"\u202edetaroced\x1b[2J\""
	live := p.opts.Live
	p.opts.Live = func() daemon.Status {
		st := live()
		flows := append([]daemon.FlowStatus(nil), st.Flows...)
		flows[0].OpenWindows = append([]daemon.WindowStatus(nil), flows[0].OpenWindows...)
		for i := range flows[0].OpenWindows {
			flows[0].OpenWindows[i].Error = stored
		}
		st.Flows = flows
		return st
	}
	body := get(t, p.Handler(false), "GET", "/").Body.String()
	if i := strings.IndexAny(body, "\u202e\x1b"); i >= 0 {
		t.Errorf("the internal page holds a bidi or control character of a stored error: ...%q...", body[max(0, i-40):min(len(body), i+40)])
	}
	if !strings.Contains(body, `\u202edetaroced\x1b[2J`) {
		t.Errorf("the internal page lacks the stored error, escaped")
	}
}

// TestPublicCacheHoldsNoOldSnapshot: the public page's rendered bytes do
// not keep the figures they were rendered from alive: each variant held a
// pointer to its snapshot and config (to tell when they changed), so after
// a rebuild every variant nobody had asked for since (a curl without gzip,
// the partial while nobody's browser was open) pinned a snapshot the page
// no longer used, its month report and 90 days of history, and the config
// of before a reload, until its next request.
func TestPublicCacheHoldsNoOldSnapshot(t *testing.T) {
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	p, _ := hostilePage(t, now)
	defer runtime.KeepAlive(p) // the page lives on: only what it no longer uses may go
	pub := p.Handler(true)
	for _, enc := range []string{"", "gzip"} {
		for _, path := range []string{"/", "/?partial=1"} {
			get(t, pub, "GET", path, "Accept-Encoding", enc)
		}
	}
	freed := make(chan struct{})
	runtime.AddCleanup(p.snapshot(), func(ch chan struct{}) { close(ch) }, freed)
	if err := p.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 50 {
		runtime.GC()
		select {
		case <-freed:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Errorf("the snapshot the page no longer uses is still held (by the public page's cache)")
}

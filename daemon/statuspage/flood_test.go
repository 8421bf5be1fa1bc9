package statuspage

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/daemon"
)

// TestPublicPageRenderedOncePerSecond: the public listener is reachable
// from the internet, and rendering the page costs milliseconds of CPU (3.3
// ms a request for 16 flows, gzip included: 4 clients looping on it took
// 1.6 of the prober's 2 cores, which its probes' timings share). The public
// page is therefore rendered at most once a second of the page's clock for
// each of its four variants (page or partial, gzip or not), however many
// requests come, and served from those bytes; a second later it is
// rendered afresh. The internal page renders every request.
func TestPublicPageRenderedOncePerSecond(t *testing.T) {
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	p, _ := hostilePage(t, now)
	var renders atomic.Int64
	live := p.opts.Live
	p.opts.Live = func() daemon.Status { renders.Add(1); return live() }
	clk := p.opts.Clock.(*clock.Manual)
	pub := p.Handler(true)

	variants := []struct {
		path, enc string
	}{{"/", ""}, {"/", "gzip"}, {"/?partial=1", ""}, {"/?partial=1", "gzip"}}
	bodies := map[int]string{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range 400 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := variants[i%len(variants)]
			rec := get(t, pub, "GET", v.path, "Accept-Encoding", v.enc)
			if rec.Code != http.StatusOK {
				t.Errorf("%s: %d", v.path, rec.Code)
				return
			}
			body := rec.Body.Bytes()
			if v.enc == "gzip" {
				if rec.Header().Get("Content-Encoding") != "gzip" {
					t.Errorf("%s: not gzip", v.path)
					return
				}
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Error(err)
					return
				}
			}
			if rec.Header().Get("Content-Security-Policy") == "" || rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("%s: headers %v", v.path, rec.Header())
			}
			mu.Lock()
			defer mu.Unlock()
			if b, ok := bodies[i%len(variants)]; ok && b != string(body) {
				t.Errorf("%s %q: another body within the second", v.path, v.enc)
			}
			bodies[i%len(variants)] = string(body)
		}()
	}
	wg.Wait()
	if n := renders.Load(); n != int64(len(variants)) {
		t.Errorf("400 requests rendered the public page %d times, want %d (once per variant)", n, len(variants))
	}
	if bodies[0] != bodies[1] || bodies[2] != bodies[3] {
		t.Errorf("the gzip and plain variants differ")
	}

	clk.Advance(999 * time.Millisecond)
	get(t, pub, "GET", "/", "", "")
	if n := renders.Load(); n != int64(len(variants)) {
		t.Errorf("rendered again within the second (%d renders)", n)
	}
	clk.Advance(time.Millisecond)
	get(t, pub, "GET", "/", "", "")
	if n := renders.Load(); n != int64(len(variants))+1 {
		t.Errorf("%d renders a second later, want %d", n, len(variants)+1)
	}
	clk.Step(-time.Hour) // the wall clock stepped back: what was rendered "later" is not kept
	get(t, pub, "GET", "/", "", "")
	if n := renders.Load(); n != int64(len(variants))+2 {
		t.Errorf("%d renders after a step back, want %d", n, len(variants)+2)
	}

	// New figures are shown at once, within the second too.
	if err := p.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	get(t, pub, "GET", "/", "", "")
	if n := renders.Load(); n != int64(len(variants))+3 {
		t.Errorf("%d renders after a rebuild, want %d", n, len(variants)+3)
	}

	internal := p.Handler(false)
	before := renders.Load()
	for range 3 {
		get(t, internal, "GET", "/", "", "")
	}
	if n := renders.Load() - before; n != 3 {
		t.Errorf("the internal page rendered %d times for 3 requests, want 3", n)
	}
}

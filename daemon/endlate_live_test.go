package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/report/render"
)

// waker is an HTTP target that hangs while frozen and answers every waiting
// request at once when it wakes (a platform frozen by SIGSTOP, then SIGCONT):
// it says since when its oldest waiting request has waited.
type waker struct {
	mu      sync.Mutex
	frozen  chan struct{} // nil while it answers
	waiting map[*http.Request]time.Time
}

func (b *waker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	ch := b.frozen
	if ch != nil {
		b.waiting[r] = time.Now()
	}
	b.mu.Unlock()
	if ch != nil {
		defer func() { b.mu.Lock(); delete(b.waiting, r); b.mu.Unlock() }()
		select {
		case <-ch:
		case <-r.Context().Done():
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (b *waker) freeze() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.frozen, b.waiting = make(chan struct{}), map[*http.Request]time.Time{}
}

// oldest is since when the oldest waiting request has waited (zero: none).
func (b *waker) oldest() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	var o time.Time
	for _, at := range b.waiting {
		if o.IsZero() || at.Before(o) {
			o = at
		}
	}
	return o
}

func (b *waker) wake() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.frozen)
	b.frozen = nil
	return time.Now()
}

// A live daemon against a target that freezes and wakes while a run waits
// on it: the run that ends the window started before the recovery and
// passed only when the platform answered, so the window's end (that run's
// start) is earlier than the real recovery, and the window JSON
// (report.Windows as `windows --format json` writes it, from what the
// daemon stored) says by how much it may be later: end +
// end_uncertainty_later_seconds covers the wake, where end +
// end_uncertainty_seconds' "earlier" alone did not reach it. The same from
// `windows --recompute`.
func TestLiveEndLaterCoversRecovery(t *testing.T) {
	t.Parallel()
	b := &waker{}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	cfg, err := config.Parse("wake.yaml", []byte(fmt.Sprintf(`
location: seoul-a
defaults: {interval: 1s, timeout: 1s, down_after: 2, up_after: 1, confirm_every: 0s}
services:
  - name: svc
    flows:
      - name: wake
        steps:
          - {name: get, function: get, request: {url: "%s/"}}
`, srv.URL)), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st := tempSQLite(t)
	d, err := New(cfg, Deps{Store: st, Grace: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	from := time.Now()
	go func() { done <- d.Run(rctx) }()

	time.Sleep(2500 * time.Millisecond)
	b.freeze()
	time.Sleep(4500 * time.Millisecond) // down_after 2 of 1 s hangs (each skips a slot)
	// Wake while a run has waited 300-700 ms of its 1 s timeout.
	var wokeAt, waitedFrom time.Time
	for deadline := time.Now().Add(5 * time.Second); wokeAt.IsZero(); {
		if time.Now().After(deadline) {
			t.Fatal("no run waited 300-700 ms on the frozen target")
		}
		if o := b.oldest(); !o.IsZero() && time.Since(o) >= 300*time.Millisecond && time.Since(o) < 700*time.Millisecond {
			waitedFrom, wokeAt = o, b.wake()
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(2500 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	to := time.Now().Add(time.Second)

	for _, recompute := range []bool{false, true} {
		ws, err := report.Windows(ctx, report.Input{Config: cfg, Store: st, From: from, To: to, Now: to, Recompute: recompute})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := render.WindowsJSON(&buf, ws); err != nil {
			t.Fatal(err)
		}
		var got []struct {
			Function *string    `json:"function"`
			Kind     string     `json:"kind"`
			End      *time.Time `json:"end"`
			Earlier  *float64   `json:"end_uncertainty_seconds"`
			Later    *float64   `json:"end_uncertainty_later_seconds"`
		}
		if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		var n int
		for _, w := range got {
			if w.Function != nil || w.Kind != "down" {
				continue
			}
			n++
			if w.End == nil || w.Later == nil {
				t.Fatalf("recompute %v: window end %v, later bound %v; want both: %s", recompute, w.End, w.Later, buf.String())
			}
			latest := w.End.Add(time.Duration(*w.Later * float64(time.Second)))
			t.Logf("recompute %v: end %s after the wake, -%vs +%.3fs; the waiting run began %s before the wake",
				recompute, w.End.Sub(wokeAt), *w.Earlier, *w.Later, wokeAt.Sub(waitedFrom))
			if !w.End.Before(wokeAt) {
				t.Errorf("recompute %v: end %s not before the wake %s: the run that ended it did not wait on the frozen target", recompute, w.End, wokeAt)
			}
			if latest.Before(wokeAt) {
				t.Errorf("recompute %v: end %s + %.3fs = %s, before the real recovery %s", recompute, w.End, *w.Later, latest, wokeAt)
			}
		}
		if n != 1 {
			t.Errorf("recompute %v: %d whole-flow down windows, want 1: %s", recompute, n, buf.String())
		}
	}
}

package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// TestOneAlertTooLargeHoldsBackNoOther: an alert too large on its own for
// a proxy's limit on a request's body (a long cause behind a gateway's few
// KiB) is retried with the backoff, but the alerts sent with it, resolves
// included, are delivered in the round. Before, the 413 to the alert alone
// ended the round as an error of the moment: the halves after it were
// never sent, and as it was the oldest open alert, it went first every
// round, so no other alert, new or resolved, reached Alertmanager for as
// long as the limit stayed.
func TestOneAlertTooLargeHoldsBackNoOther(t *testing.T) {
	var mu sync.Mutex
	limit := 2048
	kept := map[string]Alert{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if len(body) > limit {
			http.Error(w, "413 Request Entity Too Large", http.StatusRequestEntityTooLarge)
			return
		}
		var alerts []Alert
		if err := json.Unmarshal(body, &alerts); err != nil {
			t.Errorf("bad JSON: %v", err)
		}
		for _, a := range alerts {
			kept[a.Labels["flow"]] = a
		}
	}))
	defer srv.Close()
	clk := clock.NewManual(t0)
	n := newTestNotifier(t, clk, "", srv.URL)
	ctx := context.Background()
	big := flowWindow(state.KindDown, "", t0.Add(-time.Hour)) // the oldest: first in every batch
	big.Key.Flow = "big"
	big.Error = "receive: " + strings.Repeat("x", 3000)
	evs := []state.Event{open(big)}
	var small []state.Window
	for i := range 8 {
		w := flowWindow(state.KindDown, "", t0.Add(-time.Minute))
		w.Key.Flow = fmt.Sprintf("f-%d", i)
		small = append(small, w)
		evs = append(evs, open(w))
	}
	n.Handle(evs)
	if err := n.Tick(ctx); err == nil || !strings.Contains(err.Error(), "413") {
		t.Errorf("tick: %v, want the 413", err)
	}
	mu.Lock()
	got := len(kept)
	mu.Unlock()
	if got != 8 {
		t.Errorf("Alertmanager took %d of the 8 alerts sent with the one too large; want all", got)
	}
	// A resolve, after the backoff: delivered though the big one still fails.
	n.Handle([]state.Event{closeAt(small[3], t0.Add(30*time.Second))})
	clk.Set(t0.Add(time.Minute + 30*time.Second))
	n.Tick(ctx) //nolint:errcheck
	mu.Lock()
	f3 := kept["f-3"]
	resolved := f3.Resolved()
	mu.Unlock()
	if !resolved {
		t.Error("the resolve of f-3 did not reach Alertmanager")
	}
	// The limit raised: the big one goes at the next round (after the backoff).
	mu.Lock()
	limit = 1 << 20
	mu.Unlock()
	clk.Set(t0.Add(3 * time.Minute))
	if err := n.Tick(ctx); err != nil {
		t.Errorf("limit raised: %v", err)
	}
	mu.Lock()
	_, ok := kept["big"]
	mu.Unlock()
	if !ok {
		t.Error("limit raised: the big alert did not reach Alertmanager")
	}
}

// TestTooLargeToEverythingFewPosts: a URL that answers 413 to every POST
// (a proxy whose limit is below any alert) costs a few POSTs a round, not
// one an alert: a body as large as one it found too large is not sent
// again in the round. Every alert stays pending, retried with the backoff.
func TestTooLargeToEverythingFewPosts(t *testing.T) {
	var mu sync.Mutex
	posts := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) //nolint:errcheck
		mu.Lock()
		posts++
		mu.Unlock()
		http.Error(w, "413 Request Entity Too Large", http.StatusRequestEntityTooLarge)
	}))
	defer srv.Close()
	clk := clock.NewManual(t0)
	n := newTestNotifier(t, clk, "", srv.URL)
	var evs []state.Event
	for i := range 1000 {
		w := flowWindow(state.KindDown, "", t0.Add(-time.Minute))
		w.Key.Flow = fmt.Sprintf("f-%04d", i)
		evs = append(evs, open(w))
	}
	n.Handle(evs)
	if err := n.Tick(context.Background()); err == nil {
		t.Fatal("no error")
	}
	mu.Lock()
	defer mu.Unlock()
	if posts > 21 {
		t.Errorf("%d posts in a round to a URL answering 413 to everything, want at most 21", posts)
	}
	if got := len(n.Active()); got != 1000 {
		t.Errorf("%d alerts active, want 1000", got)
	}
}

// TestTooLargeByCountDeliversAll: a proxy that answers 413 to a POST of
// more than one alert (a limit on items, not bytes) gets every alert, the
// long ones too: a batch it found too large does not make an alert alone
// with a larger body count as too large.
func TestTooLargeByCountDeliversAll(t *testing.T) {
	var mu sync.Mutex
	kept := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var alerts []Alert
		if err := json.Unmarshal(body, &alerts); err != nil {
			t.Errorf("bad JSON: %v", err)
		}
		if len(alerts) > 1 {
			http.Error(w, "413 Request Entity Too Large", http.StatusRequestEntityTooLarge)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, a := range alerts {
			kept[a.Labels["flow"]] = true
		}
	}))
	defer srv.Close()
	n := newTestNotifier(t, clock.NewManual(t0), "", srv.URL)
	var evs []state.Event
	for i := range 16 {
		w := flowWindow(state.KindDown, "", t0.Add(-time.Minute))
		w.Key.Flow = fmt.Sprintf("f-%02d", i)
		w.Error = "receive: " + strings.Repeat("x", 100*i) // the later, the longer
		evs = append(evs, open(w))
	}
	n.Handle(evs)
	if err := n.Tick(context.Background()); err != nil {
		t.Errorf("tick: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(kept) != 16 {
		t.Errorf("Alertmanager took %d of 16 alerts; want all", len(kept))
	}
}

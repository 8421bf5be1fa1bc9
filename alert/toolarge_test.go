package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// TestBatchTooLargeIsSplit: an Alertmanager behind a proxy that limits a
// request's body (nginx's client_max_body_size answers 413) gets a batch
// too large for it in halves, each half halved again until it passes, so
// every alert is delivered in the round. Before, the whole batch was
// retried with the backoff, the same size each time, for good: with 200
// open alerts and a limit of 50 a POST, none reached Alertmanager. One
// alert alone too large is retried with the backoff (the proxy's limit is
// fixed without the alert changing).
func TestBatchTooLargeIsSplit(t *testing.T) {
	var mu sync.Mutex
	kept := map[string]bool{}
	posts := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var alerts []Alert
		if err := json.Unmarshal(body, &alerts); err != nil {
			t.Errorf("bad JSON: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		posts++
		if len(alerts) > 50 {
			http.Error(w, "413 Request Entity Too Large", http.StatusRequestEntityTooLarge)
			return
		}
		for _, a := range alerts {
			kept[a.Labels["flow"]] = true
		}
	}))
	defer srv.Close()
	clk := clock.NewManual(t0)
	n := newTestNotifier(t, clk, "", srv.URL)
	var evs []state.Event
	for i := range 200 {
		w := flowWindow(state.KindDown, "", t0.Add(-time.Minute))
		w.Key.Flow = fmt.Sprintf("f-%03d", i)
		evs = append(evs, open(w))
	}
	n.Handle(evs)
	if err := n.Tick(context.Background()); err != nil {
		t.Errorf("tick: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(kept) != 200 || posts > 7 {
		t.Errorf("Alertmanager took %d of 200 alerts in %d posts; want all, in at most 7 (200, 2x100, 4x50)", len(kept), posts)
	}
}

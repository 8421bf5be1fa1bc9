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

// wafBehindLimit is an Alertmanager behind a proxy that answers 413 to a
// POST of more than limit alerts and a WAF that, while blocking, answers
// 400 to any POST holding a blocked alert (a WAF refuses the request
// whole: nothing of it reaches Alertmanager).
type wafBehindLimit struct {
	mu       sync.Mutex
	limit    int
	blocking bool
	block    func(Alert) bool
	posts    []int // size of each POST
	kept     map[string]Alert
	srv      *httptest.Server
}

func newWAFBehindLimit(t *testing.T, limit int, block func(Alert) bool) *wafBehindLimit {
	v := &wafBehindLimit{limit: limit, blocking: true, block: block, kept: map[string]Alert{}}
	v.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var alerts []Alert
		if err := json.Unmarshal(body, &alerts); err != nil {
			t.Errorf("bad JSON: %v", err)
		}
		v.mu.Lock()
		defer v.mu.Unlock()
		v.posts = append(v.posts, len(alerts))
		if len(alerts) > v.limit {
			http.Error(w, "413 Request Entity Too Large", http.StatusRequestEntityTooLarge)
			return
		}
		if v.blocking {
			for _, a := range alerts {
				if v.block(a) {
					http.Error(w, "request blocked", http.StatusBadRequest)
					return
				}
			}
		}
		for _, a := range alerts {
			v.kept[a.Labels["flow"]] = a
		}
	}))
	t.Cleanup(v.srv.Close)
	return v
}

func (v *wafBehindLimit) unblock() {
	v.mu.Lock()
	v.blocking = false
	v.mu.Unlock()
}

func (v *wafBehindLimit) state() (posts []int, kept map[string]Alert) {
	v.mu.Lock()
	defer v.mu.Unlock()
	kept = map[string]Alert{}
	for k, a := range v.kept {
		kept[k] = a
	}
	return append([]int(nil), v.posts...), kept
}

// TestRefusedAlertsTriedAgainBeyondSizeLimit: firing alerts a WAF refused
// are tried again at the resend interval together, in one POST; when that
// POST is too large for the proxy in front (413), it is halved as any
// batch is, so that once the WAF is fixed every one of them is delivered
// in the round. Before, the POST of the refused ones was failed whole on
// a 413 and retried with the backoff, the same size each time, for good:
// 200 alerts a WAF refused (every alert of an outage of many flows) behind
// a limit of 50 a POST never reached Alertmanager after the WAF was fixed,
// and the URL backed off every round.
func TestRefusedAlertsTriedAgainBeyondSizeLimit(t *testing.T) {
	am := newWAFBehindLimit(t, 50, func(Alert) bool { return true })
	clk := clock.NewManual(t0)
	n := newTestNotifier(t, clk, "", am.srv.URL)
	ctx := context.Background()
	var evs []state.Event
	for i := range 200 {
		w := flowWindow(state.KindDown, "", t0.Add(-time.Minute))
		w.Key.Flow = fmt.Sprintf("f-%03d", i)
		evs = append(evs, open(w))
	}
	n.Handle(evs)
	if err := n.Tick(ctx); err == nil {
		t.Fatal("first tick: no refusal")
	}
	if _, kept := am.state(); len(kept) != 0 {
		t.Fatalf("the WAF let %d alerts through", len(kept))
	}
	am.unblock()
	before, _ := am.state()
	clk.Set(t0.Add(time.Minute))
	if err := n.Tick(ctx); err != nil {
		t.Errorf("at +1m: %v", err)
	}
	posts, kept := am.state()
	if len(kept) != 200 {
		t.Errorf("at +1m Alertmanager has %d of the 200 alerts the WAF refused and now lets through (posts of %v); want all", len(kept), posts[len(before):])
	}
	if p := len(posts) - len(before); p > 7 {
		t.Errorf("at +1m: %d posts (%v), want at most 7 (200, 2x100, 4x50)", p, posts[len(before):])
	}
	// Still refused, the POST of the refused ones is halved only as far as
	// the size limit, not down to one alert.
	am2 := newWAFBehindLimit(t, 50, func(Alert) bool { return true })
	clk2 := clock.NewManual(t0)
	n2 := newTestNotifier(t, clk2, "", am2.srv.URL)
	n2.Handle(evs)
	n2.Tick(ctx) //nolint:errcheck
	before, _ = am2.state()
	clk2.Set(t0.Add(time.Minute))
	if err := n2.Tick(ctx); err == nil {
		t.Error("at +1m, the WAF still blocking: no refusal")
	}
	posts, _ = am2.state()
	if p := len(posts) - len(before); p > 7 {
		t.Errorf("at +1m, the WAF still blocking: %d posts (%v), want at most 7", p, posts[len(before):])
	}
}

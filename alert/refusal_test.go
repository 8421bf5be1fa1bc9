package alert

import (
	"context"
	"encoding/json"
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

// validatingAM answers as Alertmanager's v2 API does: it keeps the valid
// alerts of a POST and answers 400 naming the invalid ones (an alert that
// ends before it starts: a window that starts in the future of the
// prober's clock, stepped back), or, while down, 503 for everything.
type validatingAM struct {
	srv   *httptest.Server
	mu    sync.Mutex
	down  bool
	posts [][]Alert
	kept  []Alert
	// block, when set, refuses the alerts it is true of as well (a WAF in
	// front of Alertmanager, a label it does not take).
	block func(Alert) bool
}

func newValidatingAM(t *testing.T) *validatingAM {
	v := &validatingAM{}
	v.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var alerts []Alert
		if err := json.Unmarshal(body, &alerts); err != nil {
			t.Errorf("bad JSON %q: %v", body, err)
		}
		v.mu.Lock()
		defer v.mu.Unlock()
		v.posts = append(v.posts, alerts)
		if v.down {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		var invalid []string
		for _, a := range alerts {
			if a.EndsAt.Before(a.StartsAt) {
				invalid = append(invalid, "start time must be before end time")
				continue
			}
			if v.block != nil && v.block(a) {
				invalid = append(invalid, "blocked")
				continue
			}
			v.kept = append(v.kept, a)
		}
		if len(invalid) > 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(strings.Join(invalid, "; ")) //nolint:errcheck
		}
	}))
	t.Cleanup(v.srv.Close)
	return v
}

func (v *validatingAM) counts() (posts int, kept []Alert) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.posts), append([]Alert(nil), v.kept...)
}

func (v *validatingAM) setDown(d bool) {
	v.mu.Lock()
	v.down = d
	v.mu.Unlock()
}

// TestAlertmanagerRefusalNotRetried: an alert Alertmanager refuses as
// invalid (400) is not sent to it again until it changes, but a firing
// one at the resend interval, while the alerts sent with it, one a
// transient error had held back included, are delivered. Before, the whole batch was a failed send, retried with
// backoff (1s doubling to 1m) forever with the same payload, and a resolve
// in it stayed pending for good.
func TestAlertmanagerRefusalNotRetried(t *testing.T) {
	am := newValidatingAM(t)
	am.block = func(a Alert) bool { return a.Labels["flow"] == "bad" } // a label it does not take
	clk := clock.NewManual(t0)
	n := newTestNotifier(t, clk, "", am.srv.URL)
	ctx := context.Background()
	good := flowWindow(state.KindDown, "", t0.Add(-5*time.Minute))
	bad := flowWindow(state.KindDown, "", t0.Add(-time.Minute))
	bad.Key.Flow = "bad"
	n.Handle([]state.Event{open(good), open(bad)})

	if err := n.Tick(ctx); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("first tick: %v, want the refusal", err)
	}
	// Alertmanager kept the good alert from the batch already; the notifier
	// sends each alert alone too, to learn which was refused.
	posts, kept := am.counts()
	if len(kept) == 0 {
		t.Fatalf("%d posts, Alertmanager keeps nothing; want the good alert kept", posts)
	}
	for _, a := range kept {
		if a.Labels["flow"] != good.Key.Flow {
			t.Fatalf("Alertmanager keeps %+v", a)
		}
	}
	// No retries of the refused alert before the resend interval; then
	// the good one's resend, and the refused one tried again alone.
	for _, at := range []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 30 * time.Second, 59 * time.Second} {
		clk.Set(t0.Add(at))
		if err := n.Tick(ctx); err != nil {
			t.Errorf("at +%s: %v", at, err)
		}
		if p, _ := am.counts(); p != posts {
			t.Fatalf("at +%s: %d posts, want %d: the refused alert is sent again", at, p, posts)
		}
	}
	clk.Set(t0.Add(time.Minute))
	if err := n.Tick(ctx); err == nil || !strings.Contains(err.Error(), "blocked") {
		t.Errorf("at +1m: %v, want the refusal again", err)
	}
	am.mu.Lock()
	last := am.posts[len(am.posts)-1]
	am.mu.Unlock()
	if p, _ := am.counts(); p != posts+2 || len(last) != 1 || last[0].Labels["flow"] != bad.Key.Flow {
		t.Fatalf("resend at +1m: %d posts, last %+v; want the good alert's, then the refused one alone", p-posts, last)
	}

	// Alertmanager down: the good window's close and a new refused alert
	// wait; once it is back, the close is delivered, the refused one not
	// retried.
	am.setDown(true)
	clk.Set(t0.Add(70 * time.Second))
	bad2 := bad
	bad2.Key.Function = "receive"
	n.Handle([]state.Event{closeAt(good, t0.Add(65*time.Second)), open(bad2)})
	if err := n.Tick(ctx); err == nil {
		t.Fatal("no error while Alertmanager is down")
	}
	am.setDown(false)
	clk.Set(t0.Add(75 * time.Second))
	n.Tick(ctx) //nolint:errcheck // the refusal of bad2
	_, kept = am.counts()
	resolved := false
	for _, a := range kept {
		resolved = resolved || a.Labels["flow"] == good.Key.Flow && a.EndsAt.Equal(t0.Add(65*time.Second)) // a firing one ends at now+4m
	}
	if !resolved {
		t.Fatalf("the close the outage held back was not delivered: Alertmanager keeps %+v", kept)
	}
	posts, _ = am.counts()
	for _, at := range []time.Duration{80 * time.Second, 90 * time.Second, 119 * time.Second} {
		clk.Set(t0.Add(at))
		if err := n.Tick(ctx); err != nil {
			t.Errorf("at +%s: %v", at, err)
		}
	}
	if p, _ := am.counts(); p != posts {
		t.Errorf("%d posts after every alert was delivered or refused, before a resend was due, want none", p-posts)
	}
	// Each round to the URL counted once: the refusals (the first round,
	// the resend in which the refused alert was refused again, and the one
	// after the outage) and the 503 failed.
	if f, ok := value(t, n.sent.WithLabelValues(am.srv.URL, "failed")), value(t, n.sent.WithLabelValues(am.srv.URL, "ok")); f != 4 || ok != 0 {
		t.Errorf("slaprobe_alert_notifications_total failed %v ok %v, want 4 and 0", f, ok)
	}
	// A refused alert that changes (its window closes) is sent again.
	n.Handle([]state.Event{closeAt(bad, t0.Add(5*time.Minute))})
	n.Tick(ctx) //nolint:errcheck // refused or not, it is sent
	if p, _ := am.counts(); p != posts+1 {
		t.Errorf("the refused alert's close: %d posts, want 1", p-posts)
	}
}

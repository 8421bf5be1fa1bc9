package daemon

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// blocker is an HTTP target that hangs while frozen: a request waits until
// it is thawed or the client gives up.
type blocker struct {
	mu     sync.Mutex
	frozen chan struct{} // nil while it answers
}

func (b *blocker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	ch := b.frozen
	b.mu.Unlock()
	if ch != nil {
		select {
		case <-ch:
		case <-r.Context().Done():
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (b *blocker) freeze() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.frozen = make(chan struct{})
	return time.Now()
}

func (b *blocker) thaw() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.frozen)
	b.frozen = nil
	return time.Now()
}

// A live target that hangs (an httptest server that blocks) with timeout
// equal to and below the interval: one down window from the first hanging
// run's start to the first passing run's start, no unknown stretch, the
// same windows when recomputed from the stored runs. Before, with timeout =
// interval every hanging run made the next slot skip and the skipped slot
// broke the count: the window began an interval late and ended at the last
// hanging run, with unknown stretches in between.
func TestLiveHangIsOneWindow(t *testing.T) {
	for _, timeout := range []time.Duration{time.Second, 500 * time.Millisecond} {
		t.Run("timeout "+timeout.String(), func(t *testing.T) {
			t.Parallel()
			b := &blocker{}
			srv := httptest.NewServer(b)
			t.Cleanup(srv.Close)
			cfg, err := config.Parse("hang.yaml", []byte(fmt.Sprintf(`
location: seoul-a
defaults: {interval: 1s, timeout: %s, down_after: 2, up_after: 1}
services:
  - name: svc
    flows:
      - name: hang
        steps:
          - {name: get, function: get, request: {url: "%s/"}}
`, timeout, srv.URL)), config.Options{})
			if err != nil {
				t.Fatal(err)
			}
			d, err := New(cfg, Deps{Store: &fakeStore{}, Grace: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			w := &fakeWriter{}
			d.newWriter = func(store.WriterOptions) resultWriter { return w }
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()

			time.Sleep(2500 * time.Millisecond)
			frozeAt := b.freeze()
			time.Sleep(4500 * time.Millisecond)
			thawedAt := b.thaw()
			time.Sleep(3 * time.Second)
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}

			runs, evs := w.snapshot()
			var firstHang, firstPass *probe.Run
			for i := range runs {
				r := &runs[i]
				if firstHang == nil && !r.OK() {
					firstHang = r
				}
				if firstHang != nil && firstPass == nil && r.OK() {
					firstPass = r
				}
			}
			if firstHang == nil || firstPass == nil {
				t.Fatalf("runs %d: want hanging runs and a pass after them", len(runs))
			}
			var downs []state.Window
			for _, e := range evs {
				if e.Window.Kind == state.KindUnknown {
					t.Errorf("unknown window %v..%v", e.Window.Start, e.Window.End)
				}
				if e.Op == state.OpClose && e.Window.Kind == state.KindDown && e.Window.Function == "" {
					downs = append(downs, e.Window)
				}
			}
			if len(downs) != 1 {
				t.Fatalf("%d closed down windows, want 1: %s", len(downs), eventsString(evs))
			}
			dw := downs[0]
			if !dw.Start.Equal(firstHang.Start) || !dw.End.Equal(firstPass.Start) {
				t.Errorf("window %v..%v, want the first hanging run's start %v to the first passing run's start %v",
					dw.Start, dw.End, firstHang.Start, firstPass.Start)
			}
			if want := "get: flow timeout after " + timeout.String() + " waiting for response headers from " + strings.TrimPrefix(srv.URL, "http://"); dw.Error != want {
				t.Errorf("error %q, want %q (the live text)", dw.Error, want)
			}
			t.Logf("timeout %v: start %+.2fs after the freeze, end %+.2fs after the thaw; %d runs",
				timeout, dw.Start.Sub(frozeAt).Seconds(), dw.End.Sub(thawedAt).Seconds(), len(runs))

			// Recomputing from the stored runs gives the same window.
			m := state.New("svc", "hang", "seoul-a", []string{"get"}, state.Policy{Interval: time.Second, DownAfter: 2, UpAfter: 1})
			var rec []state.Window
			for i := range runs {
				for _, e := range m.Observe(&runs[i]) {
					if e.Op == state.OpClose && e.Window.Function == "" {
						rec = append(rec, e.Window)
					}
				}
			}
			if len(rec) != 1 || !rec[0].Start.Equal(dw.Start) || !rec[0].End.Equal(dw.End) {
				t.Errorf("recomputed %+v, stored %v..%v", rec, dw.Start, dw.End)
			}
		})
	}
}

// staller answers each request with its headers and a part of a 2 MB body,
// 100 kB more each time (100 kB, 200 kB, ...), then sends nothing more
// until the client gives up: a body that stalls, run after run, wherever
// it got to.
type staller struct {
	mu sync.Mutex
	n  int
}

func (s *staller) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.n++
	n := s.n
	s.mu.Unlock()
	w.Header().Set("Content-Length", "2000000")
	w.WriteHeader(http.StatusOK)
	w.Write(make([]byte, n*100_000))
	w.(http.Flusher).Flush()
	<-r.Context().Done()
}

// A live target whose body stalls each run after another amount of it is
// one down window with one cause: the step's error says how much came
// ("... reading the body from HOST:PORT after 300 kB"), and the size is
// what changes from run to run in an error of one kind, as a duration is.
// Before, each run's count was a cause of its own (an OpCause event a run,
// the window's causes, the report's and the alert's description changing
// with it, up to state.MaxCauses).
func TestLiveBodyStallIsOneCause(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(&staller{})
	t.Cleanup(srv.Close)
	cfg, err := config.Parse("stall.yaml", []byte(fmt.Sprintf(`
location: seoul-a
defaults: {interval: 1s, timeout: 500ms, down_after: 2, up_after: 1}
services:
  - name: svc
    flows:
      - name: stall
        steps:
          - {name: get, function: get, request: {url: "%s/"}}
`, srv.URL)), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(cfg, Deps{Store: &fakeStore{}, Grace: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	w := &fakeWriter{}
	d.newWriter = func(store.WriterOptions) resultWriter { return w }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	time.Sleep(5 * time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	runs, evs := w.snapshot()
	errs := map[string]bool{}
	for i := range runs {
		for _, s := range runs[i].Steps {
			if s.Error != "" {
				errs[s.Error] = true
			}
		}
	}
	if len(errs) < 3 {
		t.Fatalf("%d runs with %d errors, want at least 3 stalls after another amount each: %v", len(runs), len(errs), errs)
	}
	var opens int
	var last state.Window
	for _, e := range evs {
		if e.Window.Function != "" || e.Window.Kind != state.KindDown {
			continue
		}
		switch e.Op {
		case state.OpOpen:
			opens++
		case state.OpCause:
			t.Errorf("a new cause %q from %v: %s", e.Window.Causes[len(e.Window.Causes)-1].Error, e.Window.Causes[len(e.Window.Causes)-1].From, eventsString(evs))
		}
		last = e.Window
	}
	if opens != 1 || len(last.Causes) != 1 {
		t.Fatalf("%d down windows, the last with %d causes, want one with one: %s", opens, len(last.Causes), eventsString(evs))
	}
	prefix := "get: flow timeout after 500ms reading the body from " + strings.TrimPrefix(srv.URL, "http://") + " after "
	if !strings.HasPrefix(last.Error, prefix) {
		t.Errorf("error %q, want %q...", last.Error, prefix)
	}
}

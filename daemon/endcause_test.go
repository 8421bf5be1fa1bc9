package daemon

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// A stop whose session_end step (a logout) hangs past the stop's bound logs
// why it was cut and where it hung: Dendrite v0.13.8 frozen (SIGSTOP) and
// `slaprobe run` stopped with examples/matrix.yaml logged
// `msg="session end" ... error="logout: canceled: context deadline exceeded"`.
func TestStopSaysWhySessionEndWasCut(t *testing.T) {
	ss, base := newSessionServer(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	var hang atomic.Bool
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/logout" && hang.Load() {
			select { // a frozen homeserver: nothing answers
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		proxyTo(t, base, w, r)
	}))
	t.Cleanup(front.Close)
	logs := &syncBuffer{}
	d, err := New(sessionConfig(front.URL, nil, "a"), Deps{Store: &fakeStore{}, Registry: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	d.endWait = 300 * time.Millisecond
	if run := runFlow(t, d, "a"); !run.OK() {
		t.Fatalf("a: %s", runStepNames(run))
	}
	hang.Store(true)
	ctx, cancel := d.endContext(context.Background())
	defer cancel()
	d.endSessions(ctx)
	out := logs.String()
	want := `error="logout: canceled: the stop's 300ms for session_end steps ran out waiting for response headers from ` + strings.TrimPrefix(front.URL, "http://") + `"`
	if !strings.Contains(out, want) {
		t.Errorf("log does not say why the logout was cut and where it hung (want %s):\n%s", want, out)
	}
	if ss.devices() != 1 {
		t.Errorf("%d devices, want the one the cut logout left", ss.devices())
	}
}

// proxyTo sends r on to base and copies the answer back.
func proxyTo(t *testing.T, base string, w http.ResponseWriter, r *http.Request) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, base+r.URL.RequestURI(), r.Body)
	if err != nil {
		t.Error(err)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	w.WriteHeader(resp.StatusCode)
	var buf [4096]byte
	for {
		n, err := resp.Body.Read(buf[:])
		w.Write(buf[:n])
		if err != nil {
			return
		}
	}
}

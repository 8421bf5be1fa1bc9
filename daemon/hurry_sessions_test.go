package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slaprobe/slaprobe/config"
)

// TestHurryEndsReplacedSessionsToo: a hurried stop (a second SIGINT or
// SIGTERM) does not wait for the session_end steps of the sessions a
// reload replaced, as it does not for the live ones: the logout of a flow
// a SIGHUP just removed, hanging on a target that does not answer, held
// the hurried stop (and the spool the operator hurried it for) for its
// whole sessionEndWait (10 s) before.
func TestHurryEndsReplacedSessionsToo(t *testing.T) {
	release := make(chan struct{})
	var logoutsStarted, logoutsCut atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"token":"tok"}`) })
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{}`) })
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		logoutsStarted.Add(1)
		select { // a target that does not answer
		case <-r.Context().Done():
			logoutsCut.Add(1)
		case <-release:
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })              // before srv.Close, which waits for handlers
	slow := func(cfg *config.Config) *config.Config { // what bounds the logout is the hurry, not its timeout
		for i := range cfg.Services[0].Flows {
			cfg.Services[0].Flows[i].Timeout = time.Hour
		}
		return cfg
	}
	d, err := New(slow(sessionConfig(srv.URL, nil, "keep", "gone")), Deps{Store: &fakeStore{}, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	d.endWait = time.Hour // what bounds the logout is the hurry, not this
	if run := runFlow(t, d, "gone"); !run.OK() {
		t.Fatalf("gone: %s", runStepNames(run))
	}
	if err := d.Reload(slow(sessionConfig(srv.URL, nil, "keep"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the removed flow's logout to start", func() bool { return logoutsStarted.Load() == 1 })
	d.Hurry()
	ended := make(chan struct{})
	go func() { d.ending.Wait(); close(ended) }()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the replaced session's logout still holds the stop 5 s after it was hurried")
	}
	waitFor(t, "the target to see the logout cut", func() bool { return logoutsCut.Load() == 1 })
}

// TestHurriedStopSaysSessionsAreLeft: a hurried stop, which ends the live
// sessions without their session_end steps, says for each that it stays
// on the target (a Matrix login is a device on the account until it logs
// out), not only that its logout failed: before, it logged "session end
// ... logout: canceled: context canceled", as for a logout the target
// refused.
func TestHurriedStopSaysSessionsAreLeft(t *testing.T) {
	ss, base := newSessionServer(t)
	logs := &syncBuffer{}
	d, err := New(sessionConfig(base, nil, "a"), Deps{Store: &fakeStore{}, Registry: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if run := runFlow(t, d, "a"); !run.OK() {
		t.Fatalf("a: %s", runStepNames(run))
	}
	d.Hurry()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // as Run's shutdown does once hurried
	d.endSessions(ctx)
	if n := ss.devices(); n != 1 {
		t.Errorf("%d devices on the server, want the one left", n)
	}
	if out := logs.String(); !strings.Contains(out, "stop hurried: session not ended") || !strings.Contains(out, "flow=a step=logout") {
		t.Errorf("log does not say the session was left:\n%s", out)
	}
}

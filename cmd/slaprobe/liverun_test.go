package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// oneFlowConfig writes dir/config.yaml: location loc, zone UTC, a listener
// on a free loopback port, and one service, web, of one flow, home: a GET of
// url every second (timeout 1 s). It returns the file's path.
func oneFlowConfig(t *testing.T, dir, loc, url string) string {
	t.Helper()
	path := filepath.Join(dir, "config.yaml")
	src := fmt.Sprintf(`location: %s
timezone: UTC
listen: 127.0.0.1:0
services:
  - name: web
    objective: 0.99
    flows:
      - name: home
        interval: 1s
        timeout: 1s
        steps:
          - {name: get, function: view, request: {url: %q}}
`, loc, url)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// liveRun is `slaprobe run` started by a test, on a goroutine of its own.
type liveRun struct {
	t         *testing.T
	out, errb syncBuffer
	done      chan int
	cancel    context.CancelFunc
	addr      string // the listener's, once listening
}

// startRun starts `slaprobe run` with args (those after "run"); the test's
// end cancels it if stop did not.
func startRun(t *testing.T, args ...string) *liveRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r := &liveRun{t: t, done: make(chan int, 1), cancel: cancel}
	go func() { r.done <- runMain(ctx, append([]string{"run"}, args...), &r.out, &r.errb) }()
	return r
}

// wait polls cond every 100 ms until it holds; t fails if the run exits
// first or cond does not hold within limit.
func (r *liveRun) wait(what string, limit time.Duration, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		select {
		case code := <-r.done:
			r.t.Fatalf("run exited %d while waiting for %s:\n%s", code, what, r.errb.String())
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s:\n%s", what, r.errb.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// listening waits up to limit for the line that gives the listener's
// address, and keeps it.
func (r *liveRun) listening(limit time.Duration) {
	r.t.Helper()
	r.wait("the listener", limit, func() bool {
		if m := servingRE.FindStringSubmatch(r.out.String()); m != nil {
			r.addr = m[1]
		}
		return r.addr != ""
	})
}

// health is /healthz's status and body (status 0 and the error when it
// does not answer).
func (r *liveRun) health() (int, string) {
	resp, err := http.Get("http://" + r.addr + "/healthz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// stop cancels the run (SIGTERM) and fails t unless it exits 0 within a
// minute.
func (r *liveRun) stop() {
	r.t.Helper()
	r.cancel()
	select {
	case code := <-r.done:
		if code != exitOK {
			r.t.Errorf("run exited %d:\n%s", code, r.errb.String())
		}
	case <-time.After(60 * time.Second):
		r.t.Fatal("run did not stop")
	}
}

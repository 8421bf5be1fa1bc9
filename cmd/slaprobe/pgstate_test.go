package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/internal/pgtest"
)

// amTimes records what an Alertmanager was sent: labels, startsAt and
// endsAt, and when.
type amTimes struct {
	mu  sync.Mutex
	got []amGot
}

type amGot struct {
	labels         map[string]string
	startsAt, ends time.Time
	at             time.Time
}

func (r *amTimes) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var as []struct {
		Labels   map[string]string `json:"labels"`
		StartsAt time.Time         `json:"startsAt"`
		EndsAt   time.Time         `json:"endsAt"`
	}
	if err := json.Unmarshal(body, &as); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	now := time.Now()
	r.mu.Lock()
	for _, a := range as {
		r.got = append(r.got, amGot{a.Labels, a.StartsAt, a.EndsAt, now})
	}
	r.mu.Unlock()
}

// firing is the last firing alert of flow home sent after since.
func (r *amTimes) firing(since time.Time) (amGot, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.got) - 1; i >= 0; i-- {
		g := r.got[i]
		if g.at.After(since) && g.labels["flow"] == "home" && g.ends.After(g.at) {
			return g, true
		}
	}
	return amGot{}, false
}

// TestRunPostgresKeepsAlertState: `slaprobe run` with PostgreSQL keeps its
// alert state in slaprobe-alerts-LOCATION.json in the working directory,
// as it keeps its spool, so a prober restarted while PostgreSQL is down
// (started without its store) sends the page it was sending, with its
// startsAt, at once. Before, with PostgreSQL there was no state file: the
// restarted prober knew of no alert, sent nothing for the 5 minutes until
// it lapsed (then a new page from the restart), and Alertmanager resolved
// the page after 4 x resend while the target was still down.
func TestRunPostgresKeepsAlertState(t *testing.T) {
	base := pgtest.DSN(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	fw := newForwarder(t, u.Host)
	u.Host = fw.addr
	dsn := u.String()
	fw.up(t)

	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer target.Close()
	rec := &amTimes{}
	am := httptest.NewServer(rec)
	defer am.Close()
	dir := t.TempDir()
	t.Chdir(dir) // the state file and the spool are in the working directory
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`location: test-a
timezone: UTC
listen: 127.0.0.1:0
alerting:
  alertmanager: {urls: [%q], resend: 1s}
services:
  - name: web
    objective: 0.99
    flows:
      - name: home
        interval: 1s
        timeout: 1s
        steps:
          - {name: get, function: view, request: {url: %q}}
`, am.URL, target.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(what string, until func() bool) string {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var out, errb syncBuffer
		done := make(chan int, 1)
		go func() {
			done <- runMain(ctx, []string{"run", "--config", cfgPath, "--db", dsn, "--log-level", "info"}, &out, &errb)
		}()
		deadline := time.Now().Add(30 * time.Second)
		for !until() {
			select {
			case code := <-done:
				t.Fatalf("run exited %d while waiting for %s:\n%s", code, what, errb.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s:\n%s", what, errb.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
		cancel()
		select {
		case code := <-done:
			if code != exitOK {
				t.Fatalf("run exited %d:\n%s", code, errb.String())
			}
		case <-time.After(60 * time.Second):
			t.Fatal("run did not stop")
		}
		return errb.String()
	}

	// Alone on the store (no other location): it pages at once.
	var page amGot
	run("the page", func() bool {
		var ok bool
		page, ok = rec.firing(time.Time{})
		return ok
	})
	state := filepath.Join(dir, "slaprobe-alerts-test-a.json")
	data, err := os.ReadFile(state)
	if err != nil {
		t.Fatalf("no alert state file with PostgreSQL: %v", err)
	}
	if !strings.Contains(string(data), `"flow": "home"`) {
		t.Errorf("%s holds no alert of flow home:\n%s", state, data)
	}

	// PostgreSQL down: restarted without its store, it sends the page
	// it was sending, from the same start, within seconds.
	fw.down()
	restart := time.Now()
	var again amGot
	logs := run("the page sent again", func() bool {
		var ok bool
		again, ok = rec.firing(restart)
		return ok
	})
	if !again.startsAt.Equal(page.startsAt) {
		t.Errorf("restarted without its store: page startsAt %s, want %s (the one it was sending)", again.startsAt, page.startsAt)
	}
	if !strings.Contains(logs, "daemon started without its store") {
		t.Errorf("the second start reached its store:\n%s", logs)
	}
	if _, err := os.Stat(state); err != nil {
		t.Errorf("state file after the second stop: %v", err)
	}
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/internal/pgtest"
)

// amRecorder is an Alertmanager that records the alerts POSTed to it.
type amRecorder struct {
	mu  sync.Mutex
	got []map[string]string // labels, in order
}

func (r *amRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var as []struct {
		Labels map[string]string `json:"labels"`
	}
	if err := json.Unmarshal(body, &as); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	for _, a := range as {
		r.got = append(r.got, a.Labels)
	}
	r.mu.Unlock()
}

func (r *amRecorder) find(match func(map[string]string) bool) (map[string]string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.got {
		if match(l) {
			return l, true
		}
	}
	return nil, false
}

var servingRE = regexp.MustCompile(`serving http://([^/]+)/`)

// TestFleetDaemonsPageNotBelowQuorum: two `slaprobe run` daemons,
// seoul-a and busan-b, on one PostgreSQL database (quorum majority), each
// pushing to its own Alertmanager. With busan-b's target failing alone
// (its network, its resolver: one location of two, which the report,
// windows and SlaprobeFlowNotUp do not count), neither pages: busan-b
// pushes its window at severity ticket with location busan-b, and seoul-a
// nothing. Before, busan-b pushed SlaprobeFlowDown{location="busan-b",
// severity="page"} two seconds after the fault.
func TestFleetDaemonsPageNotBelowQuorum(t *testing.T) {
	dsn := pgtest.DSN(t)
	var fail atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() && r.URL.Query().Get("loc") == "busan-b" {
			http.Error(w, "unreachable from busan-b", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer target.Close()
	dir := t.TempDir()
	t.Chdir(dir) // with PostgreSQL each prober's alert state and spool are in the working directory
	type prober struct {
		am     *amRecorder
		out    syncBuffer
		errb   syncBuffer
		done   chan int
		addr   string
		cancel context.CancelFunc
	}
	probers := map[string]*prober{}
	for _, loc := range []string{"seoul-a", "busan-b"} {
		p := &prober{am: &amRecorder{}, done: make(chan int, 1)}
		am := httptest.NewServer(p.am)
		defer am.Close()
		cfgPath := filepath.Join(dir, loc+".yaml")
		cfg := fmt.Sprintf(`location: %s
timezone: UTC
listen: 127.0.0.1:0
policy: {quorum: majority}
alerting:
  alertmanager: {urls: [%q]}
services:
  - name: web
    objective: 0.99
    flows:
      - name: home
        interval: 1s
        timeout: 1s
        down_after: 2
        steps:
          - {name: get, function: view, request: {url: "%s/home?loc=${location}"}}
`, loc, am.URL, target.URL)
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		p.cancel = cancel
		go func() {
			p.done <- runMain(ctx, []string{"run", "--config", cfgPath, "--db", dsn, "--log-level", "warn"}, &p.out, &p.errb)
		}()
		probers[loc] = p
	}
	stop := func() {
		for loc, p := range probers {
			p.cancel()
			if code := <-p.done; code != exitOK {
				t.Errorf("%s exited %d:\n%s", loc, code, p.errb.String())
			}
		}
	}
	defer func() {
		if probers != nil {
			stop()
		}
	}()
	// Both in a fleet: each internal page tells the counted windows' states
	// "as of" a build that held both locations' runs.
	deadline := time.Now().Add(60 * time.Second)
	for loc, p := range probers {
		for {
			if p.addr == "" {
				if m := servingRE.FindStringSubmatch(p.out.String()); m != nil {
					p.addr = m[1]
				}
			}
			if p.addr != "" {
				if resp, err := http.Get("http://" + p.addr + "/"); err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if strings.Contains(string(b), "states as of") {
						break
					}
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s's page never said it is in a fleet; stderr:\n%s", loc, p.errb.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	fail.Store(true)
	page := func(l map[string]string) bool { return l["severity"] == "page" }
	deadline = time.Now().Add(20 * time.Second)
	for {
		for loc, p := range probers {
			if l, ok := p.am.find(page); ok {
				t.Fatalf("%s paged on busan-b's failure alone (below the quorum): %v", loc, l)
			}
		}
		if _, ok := probers["busan-b"].am.find(func(l map[string]string) bool {
			return l["alertname"] == "SlaprobeFlowDown" && l["location"] == "busan-b" && l["severity"] == "ticket"
		}); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("busan-b pushed no ticket for its window below the quorum in 20 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A few more runs: still no page, and nothing from seoul-a.
	time.Sleep(3 * time.Second)
	for loc, p := range probers {
		if l, ok := p.am.find(page); ok {
			t.Errorf("%s paged on busan-b's failure alone: %v", loc, l)
		}
	}
	if l, ok := probers["seoul-a"].am.find(func(map[string]string) bool { return true }); ok {
		t.Errorf("seoul-a pushed %v, with its own target up and busan-b below the quorum", l)
	}
	stop()
	probers = nil
}

package integration

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The flood attempts floodProcs*floodConns idle connections: 20,000, the
// number that put the daemon at its open-file limit before it capped them.
const (
	floodProcs = 2
	floodConns = 10_000
)

// TestIdleConnectionFlood opens 20,000 idle connections (from a child
// process, so that the test's own requests keep their descriptors) to the
// daemon and to the demo platform, and checks that /healthz, /metrics and
// the platform's catalogue answer throughout and that neither server holds
// more descriptors than its connection cap allows.
func TestIdleConnectionFlood(t *testing.T) {
	dir := t.TempDir()
	platProc, platAddr := startPlatformProc(t)
	e := &daemonEnv{dir: dir, plat: platAddr, listen: fmt.Sprintf("127.0.0.1:%d", freePort(t)), db: dir + "/results.db"}
	d := e.start(t, "daemon", e.config(t, false, ""))
	plat := platProc.cmd.Process.Pid
	tests := []struct {
		name  string
		pid   int
		addr  string
		paths []string
		cap   int // the server's connection cap
	}{
		{"daemon", d.cmd.Process.Pid, e.listen, []string{"/healthz", "/metrics"}, 1024},
		{"platform", plat, e.plat, []string{"/"}, 4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := openFDs(t, tt.pid)
			// Two children of half the flood each: one process alone stops at
			// its own descriptor limit just under the server's.
			status := make(chan string, floodProcs)
			for i := 0; i < floodProcs; i++ {
				flood := exec.Command(os.Args[0], "-test.run=^TestFloodHelper$", "-test.v")
				flood.Env = append(os.Environ(), "SLAPROBE_FLOOD="+tt.addr)
				out, err := flood.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				flood.Stderr = os.Stderr
				if err := flood.Start(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = flood.Process.Kill(); _ = flood.Wait() })
				go func() {
					sc := bufio.NewScanner(out)
					last := ""
					for sc.Scan() {
						if strings.HasPrefix(sc.Text(), "flood:") {
							last = sc.Text()
							if strings.Contains(last, "done") {
								status <- last
								return
							}
						}
					}
					status <- "flood ended before it was done; last: " + last
				}()
			}

			maxFDs, checks := 0, 0
			client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			check := func() {
				for _, p := range tt.paths {
					resp, err := client.Get("http://" + tt.addr + p)
					if err != nil {
						t.Fatalf("%s%s during the flood: %v", tt.addr, p, err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						t.Fatalf("%s%s during the flood: %s", tt.addr, p, resp.Status)
					}
					checks++
				}
				maxFDs = max(maxFDs, openFDs(t, tt.pid))
			}
			var finals []string
			for len(finals) < floodProcs {
				select {
				case f := <-status:
					if !strings.Contains(f, "done") {
						t.Fatal(f)
					}
					finals = append(finals, f)
				case <-time.After(200 * time.Millisecond):
				}
				check()
			}
			check()
			final := strings.Join(finals, "; ")
			t.Logf("figure: %s: %s; open descriptors %d before, at most %d during (cap %d); %d checks answered",
				tt.name, final, before, maxFDs, tt.cap, checks)
			if maxFDs > before+tt.cap+64 {
				t.Errorf("%s held %d descriptors during the flood (cap %d, %d before)", tt.name, maxFDs, tt.cap, before)
			}
		})
	}
}

// TestFloodHelper is the flood itself, run in a child process by
// TestIdleConnectionFlood (it does nothing when SLAPROBE_FLOOD is unset).
// It opens floodConns connections to SLAPROBE_FLOOD and never sends a byte;
// a connection the server closes is closed here too, so that this process
// stays under its own descriptor limit with a server that evicts.
func TestFloodHelper(t *testing.T) {
	addr := os.Getenv("SLAPROBE_FLOOD")
	if addr == "" {
		return // not a child of TestIdleConnectionFlood
	}
	var open, closed atomic.Int64
	failed := 0
	for i := 1; i <= floodConns; i++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			failed++ // this process at its limit, or the server's backlog full
			if errors.Is(err, syscall.EMFILE) {
				time.Sleep(10 * time.Millisecond)
			}
			continue
		}
		open.Add(1)
		go func() {
			_, _ = io.Copy(io.Discard, c) // until the server closes it
			c.Close()
			open.Add(-1)
			closed.Add(1)
		}()
		if i%5000 == 0 {
			fmt.Printf("flood: attempted %d open %d closed by server %d failed %d\n", i, open.Load(), closed.Load(), failed)
		}
	}
	time.Sleep(500 * time.Millisecond)
	fmt.Printf("flood: done: attempted %d, still open %d, closed by the server %d, failed to connect %d\n", floodConns, open.Load(), closed.Load(), failed)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	<-ctx.Done() // hold the connections until the parent kills this process
}

// openFDs counts a process's open file descriptors.
func openFDs(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		t.Fatalf("counting descriptors of %d: %v", pid, err)
	}
	return len(ents)
}

// TestRunRefusesASpinningConfig covers #15 finding 2 on the binary: with
// interval 1ns the old daemon spun at 100% CPU and ignored SIGTERM; now
// run refuses the config at once (exit 2), naming the line.
func TestRunRefusesASpinningConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "spin.yaml", fmt.Sprintf(`listen: 127.0.0.1:%d
storage: {dsn: %s/r.db}
services:
  - name: s
    flows:
      - name: f
        interval: 1ns
        timeout: 1ns
        steps:
          - {name: a, function: b, request: {url: "http://127.0.0.1:1/"}}
`, freePort(t), dir))
	p := start(t, "run", binary, "run", "--config", cfg)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("run still going after 10 s:\n%s", p.output())
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(p.output(), "spin.yaml:7: services[0].flows[0].interval: 1ns is below the minimum of 1s") {
		t.Errorf("exit %d:\n%s", code, p.output())
	}
}

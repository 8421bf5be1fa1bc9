package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildSlaprobe builds the slaprobe binary into a temporary directory.
func buildSlaprobe(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "slaprobe")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// hangGuard bounds every wait below: a process that has not exited by then
// is hung (these are not timings; the start-ups tested take milliseconds).
const hangGuard = 20 * time.Second

// TestStartupSignalsAndFIFOs is #15 item 3 with the binary as users run
// it: `--config FIFO` or a `${file:FIFO}` secret, with no writer, used to
// block start-up in open(2) with SIGINT and SIGTERM ignored. A FIFO is now
// refused as not a regular file before it is opened for reading, so the
// process exits by itself with that error (exit 2); were it to block, it is
// sent SIGTERM and must then exit. And a signal during a start-up that
// does wait (the store's PostgreSQL server accepts the connection and never
// answers) ends the process with a message, not after the connection
// gives up.
func TestStartupSignalsAndFIFOs(t *testing.T) {
	bin := buildSlaprobe(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	config := func(name, storage, header string) string {
		path := filepath.Join(dir, name)
		src := fmt.Sprintf(`location: test-a
listen: 127.0.0.1:0
storage: %s
services:
  - name: web
    flows:
      - name: home
        steps:
          - {name: get, function: view, request: {url: "http://127.0.0.1:1/", headers: {Authorization: %q}}}
`, storage, header)
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	sqlite := fmt.Sprintf("{dsn: %q}", filepath.Join(dir, "r.db"))
	secretFIFO := config("secret-fifo.yaml", sqlite, "Bearer ${file:"+fifo+"}")

	// silentPG is a config whose PostgreSQL server accepts connections and
	// never answers, and a channel that gets a value for each connection
	// (one server per case: no connection of an earlier case counts).
	silentPG := func(t *testing.T) (string, <-chan struct{}) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		accepted := make(chan struct{}, 16)
		var conns []net.Conn
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				conns = append(conns, c)
				accepted <- struct{}{}
			}
		}()
		t.Cleanup(func() {
			ln.Close()
			<-done
			for _, c := range conns {
				c.Close()
			}
		})
		return config("silent-pg.yaml", fmt.Sprintf(`{driver: postgres, dsn: "postgres://probe@%s/slaprobe?sslmode=disable"}`, ln.Addr()), "Bearer x"), accepted
	}

	for _, tc := range []struct {
		name string
		args []string
		// signal, when set, is sent once the process waits on the silent
		// PostgreSQL server (args' "PG" is its config); else a process is
		// sent SIGTERM only if it has not exited by itself.
		signal syscall.Signal
		code   int
		stderr []string
	}{
		{"run --config FIFO", []string{"run", "--config", fifo}, 0, exitUsage, []string{"cannot read the config", "not a regular file (a FIFO)"}},
		{"check --config FIFO", []string{"check", "--config", fifo}, 0, exitUsage, []string{"cannot read the config", "not a regular file (a FIFO)"}},
		{"run with a ${file:FIFO} secret", []string{"run", "--config", secretFIFO}, 0, exitUsage, []string{"${file:" + fifo + "}", "not a regular file (a FIFO)"}},
		{"check with a ${file:FIFO} secret", []string{"check", "--config", secretFIFO}, 0, exitUsage, []string{"${file:" + fifo + "}", "not a regular file (a FIFO)"}},
		{"SIGTERM while the store connects", []string{"run", "--config", "PG"}, syscall.SIGTERM, exitFailure, []string{"slaprobe run: stopped (terminated signal received): store: postgres"}},
		{"SIGINT while the store connects", []string{"run", "--config", "PG"}, syscall.SIGINT, exitFailure, []string{"slaprobe run: stopped (interrupt signal received): store: postgres"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := slices.Clone(tc.args)
			var waiting <-chan struct{}
			if i := slices.Index(args, "PG"); i >= 0 {
				args[i], waiting = silentPG(t)
			}
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(bin, args...)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			sig := tc.signal
			if waiting != nil {
				select {
				case <-waiting:
				case err := <-done:
					t.Fatalf("exited before it waited: %v\nstderr:\n%s", err, stderr.String())
				case <-time.After(hangGuard):
					cmd.Process.Kill() //nolint:errcheck // it is hung
					t.Fatalf("never reached the wait\nstderr:\n%s", stderr.String())
				}
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
			}
			var werr error
			select {
			case werr = <-done:
			case <-time.After(hangGuard):
				if waiting != nil {
					cmd.Process.Kill() //nolint:errcheck // it ignored the signal
					<-done
					t.Fatalf("%s ignored during start-up: killed after %s\nstderr:\n%s", sig, hangGuard, stderr.String())
				}
				// Blocked by itself: a signal must still end it.
				cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // checked by the wait below
				select {
				case <-done:
					t.Errorf("start-up blocked until SIGTERM (the FIFO was opened, not refused)\nstderr:\n%s", stderr.String())
				case <-time.After(hangGuard):
					cmd.Process.Kill() //nolint:errcheck // it ignored the signal
					<-done
					t.Fatalf("start-up blocked and SIGTERM ignored: killed\nstderr:\n%s", stderr.String())
				}
				return
			}
			code := 0
			if werr != nil {
				ee, ok := werr.(*exec.ExitError)
				if !ok {
					t.Fatal(werr)
				}
				code = ee.ExitCode() // -1 when a signal killed it (no handler)
			}
			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstderr:\n%s", code, tc.code, stderr.String())
			}
			for _, want := range tc.stderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
		})
	}
}

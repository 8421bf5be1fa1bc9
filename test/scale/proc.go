//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a process the harness started, with its output watched line by
// line (and kept in a log file).
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error

	mu    sync.Mutex
	lines []line
	more  chan struct{} // closed and replaced when a line arrives
	mem   memPeak
}

// memPeak is the largest private (RssAnon) and file-backed (RssFile)
// resident memory seen in /proc/PID/status, in bytes. Peak RSS counts both;
// RssFile is mostly the binary's own code and read-only data, mapped as it
// runs, so a large binary pays it whatever it does.
type memPeak struct{ anon, file int64 }

// memEvery is how often a child's memory is sampled.
const memEvery = 250 * time.Millisecond

type line struct {
	at   time.Time
	text string
}

// startChild runs argv with its output in logPath and watched.
func startChild(name, logPath string, env []string, argv ...string) (*child, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	c := &child{name: name, done: make(chan struct{}), more: make(chan struct{})}
	c.cmd = exec.Command(argv[0], argv[1:]...)
	c.cmd.Env = append(os.Environ(), env...)
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL} // never outlive the harness
	pr, pw := io.Pipe()
	c.cmd.Stdout, c.cmd.Stderr = pw, pw
	if err := c.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var read sync.WaitGroup
	read.Go(func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			t := sc.Text()
			fmt.Fprintln(logf, t)
			c.mu.Lock()
			c.lines = append(c.lines, line{time.Now(), t})
			close(c.more)
			c.more = make(chan struct{})
			c.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, pr)
	})
	stopMem := make(chan struct{})
	go c.watchMemory(stopMem)
	go func() {
		c.err = c.cmd.Wait()
		close(stopMem)
		pw.Close()
		read.Wait()
		logf.Close()
		close(c.done)
	}()
	return c, nil
}

// waitLine returns the first line at or after index from that contains
// one of subs, its index and when it arrived.
func (c *child) waitLine(ctx context.Context, from int, timeout time.Duration, subs ...string) (line, int, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		for i := from; i < len(c.lines); i++ {
			for _, s := range subs {
				if strings.Contains(c.lines[i].text, s) {
					l := c.lines[i]
					c.mu.Unlock()
					return l, i, nil
				}
			}
		}
		from = len(c.lines)
		more := c.more
		c.mu.Unlock()
		select {
		case <-more:
		case <-c.done:
			// the last lines may have arrived with the exit
			c.mu.Lock()
			n := len(c.lines)
			c.mu.Unlock()
			if from == n {
				return line{}, 0, fmt.Errorf("%s exited (%v) before printing %q", c.name, c.err, subs)
			}
		case <-deadline.C:
			return line{}, 0, fmt.Errorf("%s: no %q within %s", c.name, subs, timeout)
		case <-ctx.Done():
			return line{}, 0, errStopped
		}
	}
}

// nlines is how many lines the child has printed.
func (c *child) nlines() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lines)
}

// tail returns the child's last n lines.
func (c *child) tail(n int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, l := range c.lines[max(0, len(c.lines)-n):] {
		b.WriteString("    " + l.text + "\n")
	}
	return b.String()
}

// signal sends sig.
func (c *child) signal(sig syscall.Signal) { _ = c.cmd.Process.Signal(sig) }

// stop sends sig and waits up to d for the exit; then it kills the
// process group.
func (c *child) stop(sig syscall.Signal, d time.Duration) error {
	c.signal(sig)
	select {
	case <-c.done:
		return c.err
	case <-time.After(d):
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.done
		return fmt.Errorf("%s did not exit within %s after %s: killed", c.name, d, sig)
	}
}

// watchMemory samples the child's /proc/PID/status until stop is closed.
func (c *child) watchMemory(stop <-chan struct{}) {
	path := fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid)
	t := time.NewTicker(memEvery)
	defer t.Stop()
	for {
		if b, err := os.ReadFile(path); err == nil {
			anon, file := statusKB(string(b), "RssAnon:")<<10, statusKB(string(b), "RssFile:")<<10
			c.mu.Lock()
			c.mem.anon, c.mem.file = max(c.mem.anon, anon), max(c.mem.file, file)
			c.mu.Unlock()
		}
		select {
		case <-t.C:
		case <-stop:
			return
		}
	}
}

// statusKB is the value of a "Key:  123 kB" line of /proc/PID/status, in
// KiB; 0 when the line is missing or malformed.
func statusKB(status, key string) int64 {
	for l := range strings.Lines(status) {
		if !strings.HasPrefix(l, key) {
			continue
		}
		f := strings.Fields(l[len(key):])
		if len(f) != 2 || f[1] != "kB" {
			return 0
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0
		}
		return n
	}
	return 0
}

// memNote describes the child's sampled memory peaks, for a row's notes.
func (c *child) memNote() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("memory: peak RssAnon %.1f MiB, peak RssFile %.1f MiB (sampled every %s; peak RSS counts both, RssFile is mostly the binary's mapped code)",
		float64(c.mem.anon)/(1<<20), float64(c.mem.file)/(1<<20), memEvery)
}

// maxRSS is the peak resident set of the exited process (getrusage).
func (c *child) maxRSS() int64 {
	if c.cmd.ProcessState == nil {
		return 0
	}
	if ru, ok := c.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return int64(ru.Maxrss) << 10 // KiB on Linux
	}
	return 0
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// cpuSeconds is the process's user + system CPU time so far, all threads,
// from /proc/PID/stat.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("CPU time needs /proc (Linux): %w", err)
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime and stime (fields 14 and 15) of a
// /proc/PID/stat line; the command name (field 2) may hold spaces and
// parentheses, so fields are counted after its last ')'.
func parseStatCPU(s string) (float64, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc stat %q: no command name", s)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc stat: %d fields after the name", len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc stat: utime %q stime %q", f[11], f[12])
	}
	return float64(ut+st) / clockTicks, nil
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// platform is the demo platform process every row probes.
type platform struct {
	c   *child
	url string
}

func startPlatform(ctx context.Context, bin, dir string) (*platform, error) {
	c, err := startChild("platform", dir+"/platform.log", nil, bin, "platform", "--listen", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	l, _, err := c.waitLine(ctx, 0, 30*time.Second, "listening on http://")
	if err != nil {
		_ = c.stop(syscall.SIGKILL, time.Second)
		return nil, err
	}
	rest := l.text[strings.Index(l.text, "http://"):]
	if i := strings.IndexByte(rest, ' '); i > 0 {
		rest = rest[:i]
	}
	return &platform{c: c, url: rest}, nil
}

func (p *platform) stop() { _ = p.c.stop(syscall.SIGTERM, 10*time.Second) }

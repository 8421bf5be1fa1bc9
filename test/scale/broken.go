//go:build linux

package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// brokenEdits are the YAML syntax errors -broken reloads, each made in the
// lines of the middle flow of a config writeConfig wrote: the line that
// holds old gets it replaced by new.
var brokenEdits = []struct{ name, old, new string }{
	{"unclosed [", "status: [200]", "status: [200"},
	{"bad indent", "        steps:", "         steps:"},
	{"tab", "        steps:", "\tsteps:"},
	{"unterminated quote", `station"}`, `station}`},
}

// breakConfig rewrites the config at path with edit made in flow n/2.
func breakConfig(path string, n int, edit int) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	text := string(b)
	at := strings.Index(text, fmt.Sprintf("- name: search-%05d\n", n/2))
	if at < 0 {
		return fmt.Errorf("flow %d not in %s", n/2, path)
	}
	e := brokenEdits[edit]
	i := strings.Index(text[at:], e.old)
	if i < 0 {
		return fmt.Errorf("%q not in flow %d", e.old, n/2)
	}
	i += at
	end := i + strings.IndexByte(text[i:], '\n')
	line := strings.Replace(text[i:end], e.old, e.new, 1)
	return os.WriteFile(path, []byte(text[:i]+line+text[end:]), 0o644)
}

// fileLine is a refusal's FILE:LINE.
var fileLine = regexp.MustCompile(`scale\.yaml:(\d+)`)

// brokenReloads reloads the config at path after each of brokenEdits (and
// once unbroken, first, as the yardstick): each must be refused with the
// file's line and the daemon must keep serving. It returns a note of each:
// the time to the refusal, the process's RSS before the SIGHUP and its peak
// while it read the file (VmHWM, reset before the SIGHUP); and the
// process's peak RSS before the first reset (resets lower what getrusage
// gives at exit: the row's peak is the larger).
func brokenReloads(ctx context.Context, c *child, base, path string, n int, write func(edited bool) error) ([]string, int64, error) {
	var notes []string
	var peak int64
	reload := func(what string, want string) error {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
		if err != nil {
			return err
		}
		peak = max(peak, statusKB(string(b), "VmHWM:")<<10)
		if err := resetPeak(c.cmd.Process.Pid); err != nil {
			return err
		}
		if b, err = os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid)); err != nil {
			return err
		}
		before := statusKB(string(b), "VmRSS:") << 10
		from := c.nlines()
		hup := time.Now()
		c.signal(syscall.SIGHUP)
		l, _, err := c.waitLine(ctx, from, 5*time.Minute, "config reloaded", "reload rejected", "reload failed")
		if err != nil {
			return err
		}
		took := l.at.Sub(hup)
		if b, err = os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid)); err != nil {
			return err
		}
		hwm := statusKB(string(b), "VmHWM:") << 10
		if !strings.Contains(l.text, want) {
			return fmt.Errorf("%s: %s", what, l.text)
		}
		where := ""
		if want != "config reloaded" {
			m := fileLine.FindStringSubmatch(l.text)
			if m == nil {
				return fmt.Errorf("%s: no scale.yaml:LINE in %s", what, l.text)
			}
			where = " at line " + m[1]
			if err := healthy(ctx, base); err != nil {
				return fmt.Errorf("%s: after the refusal: %w", what, err)
			}
		}
		notes = append(notes, fmt.Sprintf("reload of %s%s: %.2f s to the log line, RSS %.1f MiB before, peak %.1f MiB while read (+%.1f)",
			what, where, took.Seconds(), float64(before)/(1<<20), float64(hwm)/(1<<20), float64(hwm-before)/(1<<20)))
		return nil
	}
	if err := write(false); err != nil {
		return nil, 0, err
	}
	if err := reload("the good config", "config reloaded"); err != nil {
		return nil, 0, err
	}
	for i, e := range brokenEdits {
		if err := write(false); err != nil {
			return nil, 0, err
		}
		if err := breakConfig(path, n, i); err != nil {
			return nil, 0, err
		}
		if err := reload("a config with "+e.name+" in flow "+fmt.Sprint(n/2), "reload rejected"); err != nil {
			return nil, 0, err
		}
	}
	return notes, peak, write(false)
}

// resetPeak resets the process's VmHWM to its current RSS.
func resetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// healthy is one /healthz that must answer 200.
func healthy(ctx context.Context, base string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/healthz: %s", resp.Status)
	}
	return nil
}

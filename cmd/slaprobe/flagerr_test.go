package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestFlagErrorOnce: a bad flag's error is printed once, after the usage,
// as "slaprobe NAME: ...": the flag package printed it before the usage
// too, so it was on both sides of it.
func TestFlagErrorOnce(t *testing.T) {
	type row struct {
		name string
		args []string
		code int
		err  string // in stderr once, on its last line
	}
	rows := []row{
		{name: "bad flag value", args: []string{"demo", "--interval", "abc"}, code: exitUsage, err: `slaprobe demo: invalid value "abc" for flag -interval`},
	}
	for _, c := range commands() {
		rows = append(rows, row{name: c.name + " unknown flag", args: []string{c.name, "--no-such-flag"}, code: exitUsage,
			err: "slaprobe " + c.name + ": flag provided but not defined: -no-such-flag"})
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runMain(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstderr: %s", code, tc.code, stderr.String())
			}
			e := stderr.String()
			msg := tc.err[strings.Index(tc.err, ": ")+2:] // the error without its prefix
			if n := strings.Count(e, msg); n != 1 {
				t.Errorf("stderr has %q %d times, want once:\n%s", msg, n, e)
			}
			lines := strings.Split(strings.TrimRight(e, "\n"), "\n")
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, tc.err) {
				t.Errorf("last line of stderr %q, want %q", last, tc.err)
			}
		})
	}
}

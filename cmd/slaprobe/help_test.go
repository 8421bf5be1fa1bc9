package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestHelpOnStdout: help asked for (`slaprobe --help`, `slaprobe CMD
// --help`, `-h`) is the command's output: standard output, exit 0, so that
// `slaprobe report --help | grep -- --month` and a pager work (it went to
// standard error, and the pipe read nothing). Help that comes with bad
// usage (an unknown flag, no command) stays on standard error, exit 2.
func TestHelpOnStdout(t *testing.T) {
	type row struct {
		name       string
		args       []string
		code       int
		stdoutHas  string
		stderrHas  string
		stdoutNone bool
	}
	rows := []row{
		{"top --help", []string{"--help"}, exitOK, "Commands:", "", false},
		{"top -h", []string{"-h"}, exitOK, "Commands:", "", false},
		{"top help", []string{"help"}, exitOK, "Commands:", "", false},
		{"no command", nil, exitUsage, "", "Commands:", true},
		{"unknown command", []string{"frobnicate"}, exitUsage, "", "Commands:", true},
	}
	for _, c := range commands() {
		rows = append(rows,
			row{c.name + " --help", []string{c.name, "--help"}, exitOK, "Usage: slaprobe " + c.name, "", false},
			row{c.name + " -h", []string{c.name, "-h"}, exitOK, "Usage: slaprobe " + c.name, "", false},
			row{c.name + " unknown flag", []string{c.name, "--no-such-flag"}, exitUsage, "", "Usage: slaprobe " + c.name, true},
		)
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runMain(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if tc.stdoutHas != "" {
				if !strings.Contains(stdout.String(), tc.stdoutHas) {
					t.Errorf("stdout lacks %q\nstdout: %s\nstderr: %s", tc.stdoutHas, stdout.String(), stderr.String())
				}
				if stderr.Len() != 0 {
					t.Errorf("help asked for wrote to stderr: %s", stderr.String())
				}
			}
			if tc.stderrHas != "" && !strings.Contains(stderr.String(), tc.stderrHas) {
				t.Errorf("stderr lacks %q\nstderr: %s", tc.stderrHas, stderr.String())
			}
			if tc.stdoutNone && stdout.Len() != 0 {
				t.Errorf("bad usage wrote to stdout: %s", stdout.String())
			}
		})
	}
}

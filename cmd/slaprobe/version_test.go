package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestVersionFlag: `slaprobe --version` (and -version, as Go's flags take
// every flag) is `slaprobe version`, where it was an unknown command, exit
// 2; -v stays one (DESIGN's flags are --long; -v is verbose as often).
func TestVersionFlag(t *testing.T) {
	rows := []struct {
		name   string
		args   []string
		code   int
		stdout string // the whole of it
		stderr string
	}{
		{"version", []string{"version"}, exitOK, "slaprobe " + version + "\n", ""},
		{"--version", []string{"--version"}, exitOK, "slaprobe " + version + "\n", ""},
		{"-version", []string{"-version"}, exitOK, "slaprobe " + version + "\n", ""},
		{"-v", []string{"-v"}, exitUsage, "", `slaprobe: unknown command "-v"`},
		{"--version with an argument", []string{"--version", "x"}, exitUsage, "", `slaprobe version: unexpected argument "x"`},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runMain(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code || stdout.String() != tc.stdout || !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, stderr with %q", code, stdout.String(), stderr.String(), tc.code, tc.stdout, tc.stderr)
			}
		})
	}
}

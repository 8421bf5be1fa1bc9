package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckYAMLSyntaxLine: a YAML syntax error is FILE:LINE: message with
// the line in the file. The YAML parser (not its scanner) numbers the lines
// of its errors from 0, so `check` named the line before: an unclosed `[`
// on line 4 was "c.yaml:3: invalid YAML: did not find expected ',' or ']'".
// Its errors name the line where the construct they were in began (the
// `[`, the `{`, the first `-` of the list), or of the problem (a key out
// of line), or the last line for one at the end of the file; the
// scanner's errors keep theirs.
func TestCheckYAMLSyntaxLine(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"unclosed flow sequence", "location: x\ntimezone: UTC\nservices:\n  - name: [oops\n", ":4: invalid YAML: did not find expected ',' or ']'"},
		{"unclosed flow mapping", "location: x\ntimezone: UTC\nservices:\n  - name: a\n    flows: {x: 1\n", ":5: invalid YAML: did not find expected ',' or '}'"},
		{"list item out of line", "location: x\ntimezone: UTC\nservices:\n  - name: a\n  objective: 0.9\n", ":4: invalid YAML: did not find expected '-' indicator"},
		{"mapping out of line", "location: x\ntimezone: UTC\nstorage:\n  driver: sqlite\n dsn: x.db\n", ":5: invalid YAML: did not find expected key"},
		{"at the end of the file", "location: x\nservices: [a,\n", ":2: invalid YAML: did not find expected node content"},
		{"at the end of a file with no last newline", "location: x\nservices: [a,", ":2: invalid YAML: did not find expected node content"},
		{"on the first line", "location: [x,\n", ":1: invalid YAML: did not find expected node content"},
		{"scanner error", "location: x\ntimezone: UTC\nfoo: bar\n  baz: 1\n", ":4: invalid YAML: mapping values are not allowed in this context"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(path, []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			if code := runMain(context.Background(), []string{"check", "--config", path}, &stdout, &stderr); code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if got := strings.TrimSpace(stderr.String()); got != path+tc.want {
				t.Errorf("check said\n%s\nwant\n%s", got, path+tc.want)
			}
		})
	}
}

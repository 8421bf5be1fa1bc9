package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFileReadsRefuseNonRegular covers #15 finding 3: every file the
// loader reads (the config, ${file:...} secrets, timelines, CA files) must
// be a regular file of bounded size, refused before it is read. The old
// loader blocked forever on a FIFO and read /dev/zero until killed.
func TestFileReadsRefuseNonRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxFileBytes + 1); err != nil { // sparse: costs no disk
		t.Fatal(err)
	}
	f.Close()
	bigSecret := filepath.Join(dir, "big-secret")
	if err := os.WriteFile(bigSecret, []byte(strings.Repeat("s", MaxSecretBytes+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	files := []struct {
		name, path, want string
	}{
		{"a FIFO", fifo, "not a regular file (a FIFO)"},
		{"/dev/zero", "/dev/zero", "not a regular file (a character device)"},
		{"a directory", dir, "not a regular file (a directory)"},
		{"a file over the limit", huge, fmt.Sprintf("larger than %d bytes", MaxFileBytes)},
	}
	uses := []struct {
		name string
		load func(path string) error
	}{
		{"--config", func(path string) error { _, err := Load(path, Options{}); return err }},
		{"${file:}", func(path string) error {
			_, err := Parse(filepath.Join(dir, "c.yaml"), []byte(minimal+"storage: {dsn: \"${file:"+path+"}\"}\n"), Options{})
			return err
		}},
		{"timelines", func(path string) error {
			src := strings.Replace(minimal, "  - name: messaging\n", "  - name: messaging\n    timelines: ["+path+"]\n", 1)
			_, err := Parse(filepath.Join(dir, "c.yaml"), []byte(src), Options{})
			return err
		}},
		{"ca_file", func(path string) error {
			_, err := Parse(filepath.Join(dir, "c.yaml"), []byte(minimal+"defaults: {tls: {ca_file: "+path+"}}\n"), Options{})
			return err
		}},
	}
	for _, u := range uses {
		for _, f := range files {
			t.Run(u.name+" "+f.name, func(t *testing.T) {
				done := make(chan error, 1)
				go func() { done <- u.load(f.path) }()
				select {
				case err := <-done:
					if err == nil || !strings.Contains(err.Error(), f.want) {
						t.Errorf("got %v, want %q", err, f.want)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("still reading after 5 s")
				}
			})
		}
	}
	t.Run("a secret over its limit", func(t *testing.T) {
		_, err := Parse(filepath.Join(dir, "c.yaml"), []byte(minimal+"storage: {dsn: \"${file:"+bigSecret+"}\"}\n"), Options{})
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("larger than %d bytes", MaxSecretBytes)) {
			t.Errorf("got %v", err)
		}
	})
}

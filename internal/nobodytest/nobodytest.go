//go:build unix

// Package nobodytest runs a test again as an unprivileged user (nobody)
// when it runs as root: root opens a file for writing whatever its mode,
// so a test of a process that cannot write a file (a database made 0444,
// its -shm) proves nothing as root, and the suite runs as root in CI.
package nobodytest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// The user and group the test runs as (nobody, nogroup).
const uid, gid = 65534, 65534

// Run is called first in a test whose file modes must hold. As root it
// runs that test alone (-test.run) in a copy of the test binary, as nobody,
// fails t with the child's output if the child failed or did not run the
// test (no silent skip), and returns true: the caller returns. As any
// other user it returns false: the caller goes on, and file modes hold.
// Only top-level tests: their subtests run in the child.
func Run(t *testing.T) bool {
	t.Helper()
	if os.Geteuid() != 0 {
		return false
	}
	if strings.Contains(t.Name(), "/") {
		t.Fatalf("nobodytest.Run in subtest %s: call it at the top of the test", t.Name())
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	// A directory nobody can enter (t.TempDir's are 0700), with the
	// binary and a TMPDIR of its own for the child's t.TempDir.
	dir, err := os.MkdirTemp("", "slaprobe-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{{dir, 0o755}, {tmp, 0o1777}} {
		if err := os.Chmod(c.path, c.mode); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, filepath.Base(exe))
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.count=1", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "HOME="+tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	switch {
	case err != nil:
		t.Fatalf("%s run again as uid %d (root ignores file modes): %v\n%s", t.Name(), uid, err, out)
	case !strings.Contains(string(out), "--- PASS: "+t.Name()+" "):
		t.Fatalf("%s run again as uid %d did not pass (skipped, or not run):\n%s", t.Name(), uid, out)
	}
	t.Logf("run again as uid %d (root ignores file modes): passed\n%s", uid, out)
	return true
}

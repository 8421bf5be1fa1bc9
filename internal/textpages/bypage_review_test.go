//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package textpages

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// openFDs counts the process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// registered registers s alone, or skips the test where the kernel or
// sandbox has no asynchronous write protection.
func registered(t *testing.T, s span) func() error {
	t.Helper()
	stop, _, err := registerWP([]span{s})
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skip("this kernel or sandbox has no userfaultfd with asynchronous write protection:", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return stop
}

// TestRegisterWPHalfway: a registration that fails at its second span
// (a range no longer mapped) closes the userfaultfd (no descriptor left
// open) and leaves the first span unregistered (a registration of it by
// another userfaultfd then works: it is EBUSY while one holds it).
func TestRegisterWPHalfway(t *testing.T) {
	good := spanOf(mapFile(t, 1<<16))
	gone := mapFile(t, 1<<16)
	bad := spanOf(gone)
	if err := syscall.Munmap(gone); err != nil {
		t.Fatal(err)
	}
	registered(t, good)() // supported here, and not held
	before := openFDs(t)
	stop, _, err := registerWP([]span{good, bad})
	if err == nil {
		stop()
		t.Fatal("registering an unmapped range worked")
	}
	t.Log("unmapped range:", err)
	if after := openFDs(t); after != before {
		t.Errorf("%d descriptors open after a failed registration, %d before", after, before)
	}
	if err := registered(t, good)(); err != nil {
		t.Error("stop:", err)
	}
}

// TestRegisterWPHeldTwice: two registrations of the same range in one
// process (two `slaprobe run` in one test binary): the second fails, not
// as unsupported (EBUSY), and leaves no descriptor; once the first ends a
// new one works.
func TestRegisterWPHeldTwice(t *testing.T) {
	s := spanOf(mapFile(t, 1<<16))
	stop := registered(t, s)
	before := openFDs(t)
	_, _, err := registerWP([]span{s})
	if !errors.Is(err, syscall.EBUSY) || errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("second registration: %v, want EBUSY, not unsupported", err)
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d descriptors open after a refused registration, %d before", after, before)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := registered(t, s)(); err != nil {
		t.Error("stop:", err)
	}
}

// TestRegisterWPStopTwice: what ends a registration closes its descriptor
// once. Called again (a deferred stop beside an explicit one) it closed
// the descriptor number again, by then another file's: the file opened
// between the two calls was closed under its owner.
func TestRegisterWPStopTwice(t *testing.T) {
	s := spanOf(mapFile(t, 1<<16))
	stop := registered(t, s)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "other"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_ = stop()
	if _, err := f.Write([]byte("x")); err != nil {
		t.Errorf("a file opened after the first stop, written after the second: %v", err)
	}
}

//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package textpages

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"
)

// mapFile maps a file of size bytes (its pages in the page cache, as an
// executable's are) read-only and private, as the loader maps a binary.
func mapFile(t *testing.T, size int) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "file")
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i / 4096)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Munmap(m) })
	return m
}

func spanOf(b []byte) span {
	lo := uintptr(unsafe.Pointer(&b[0]))
	return span{lo, lo + uintptr(len(b))}
}

// TestRegisterWPMapsOnePage: in a mapping registered by registerWP a read
// maps the page read and none of its neighbours (Linux's fault-around
// maps up to 64 KiB around it otherwise), after a Drop-like MADV_DONTNEED
// too, and the bytes read are the file's.
func TestRegisterWPMapsOnePage(t *testing.T) {
	const size = 1 << 20
	tests := []struct {
		name    string
		touched []int // page numbers read, in order
	}{
		{"one page in the middle of a 64 KiB block", []int{37}},
		{"pages apart", []int{3, 100, 200}},
		{"neighbours", []int{64, 65, 66}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mapFile(t, size)
			s := spanOf(m)
			stop, n, err := registerWP([]span{s})
			if errors.Is(err, errors.ErrUnsupported) {
				t.Skip("this kernel or sandbox has no userfaultfd with asynchronous write protection:", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := stop(); err != nil {
					t.Error("stop:", err)
				}
			}()
			if n != size {
				t.Errorf("registered %d bytes, want %d", n, size)
			}
			for round := range 2 {
				for _, p := range tt.touched {
					if got := m[p*4096+123]; got != byte(p) {
						t.Fatalf("page %d read %d, want %d", p, got, byte(p))
					}
				}
				if got := resident(t, []span{s}); got != len(tt.touched) {
					t.Errorf("round %d: %d pages resident after reading %d, want %d", round, got, len(tt.touched), len(tt.touched))
				}
				if err := syscall.Madvise(m, syscall.MADV_DONTNEED); err != nil {
					t.Fatal(err)
				}
				if got := resident(t, []span{s}); got != 0 {
					t.Errorf("round %d: %d pages resident after MADV_DONTNEED, want 0", round, got)
				}
			}
		})
	}
}

// TestByPage registers the test binary's own read-only mappings, the
// ones Drop unmaps, and ends it; the code runs on after a Drop, and a
// second ByPage after the first ended registers them again.
func TestByPage(t *testing.T) {
	want := 0
	for _, s := range ownReadOnly(t) {
		want += int(s.hi - s.lo)
	}
	for round := range 2 {
		stop, n, err := ByPage()
		if errors.Is(err, errors.ErrUnsupported) {
			t.Skip("this kernel or sandbox has no userfaultfd with asynchronous write protection:", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("round %d: ByPage registered %d bytes, want the read-only mappings' %d", round, n, want)
		}
		if _, err := Drop(); err != nil {
			t.Error(err)
		}
		if err := stop(); err != nil {
			t.Errorf("round %d: stop: %v", round, err)
		}
	}
}

//go:build linux

package textpages

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

// mapping is a mapping's lines in /proc/PID/smaps, with anon kB of
// private copies and swap kB swapped out (-1: no such field).
func mapping(header string, anon, swap int) string {
	s := header + "\nSize:                  4 kB\nRss:                   4 kB\n"
	if anon >= 0 {
		s += fmt.Sprintf("Anonymous:          %3d kB\n", anon)
	}
	s += "LazyFree:              0 kB\n"
	if swap >= 0 {
		s += fmt.Sprintf("Swap:               %3d kB\n", swap)
	}
	return s + "VmFlags: rd mr mw me\n"
}

func TestReadOnly(t *testing.T) {
	smaps := mapping("00400000-012f2000 r-xp 00000000 fe:00 10863061                           /tmp/bin", 0, 0) +
		mapping("012f2000-02201000 r--p 00ef2000 fe:00 10863061                           /tmp/bin", 0, 0) +
		mapping("02201000-02c97000 rw-p 01e01000 fe:00 10863061                           /tmp/bin", 16, 0) +
		mapping("02c97000-04ce5000 rw-p 00000000 00:00 0 ", 1024, 0) +
		mapping("03000000-03001000 r--p 00000000 fe:01 10863061                           /other/device", 0, 0) +
		mapping("04000000-04001000 r--p 00000000 fe:00 42                                 /other/file", 0, 0) +
		mapping("7f6ff7a00000-7f6ff7ab6000 r--p 00000000 00:00 0 ", 0, 0) +
		mapping("7ffd1b5f0000-7ffd1b5f2000 r-xp 00000000 00:00 0                          [vdso]", 0, 0) +
		mapping("05000000-05001000 r--p 00000000 fe:00 10863061                           /tmp/bin (deleted)", 0, 0) +
		// A PIE build's relocated read-only data (RELRO): private
		// copies, or some swapped out, or no field to say.
		mapping("06000000-06026000 r--p 00192000 fe:00 77                                 /tmp/pie", 152, 0) +
		mapping("06026000-06030000 r--p 001b8000 fe:00 77                                 /tmp/pie", 0, 8) +
		mapping("06030000-06031000 r--p 001c2000 fe:00 77                                 /tmp/pie", -1, -1) +
		mapping("06031000-06040000 r-xp 001c3000 fe:00 77                                 /tmp/pie", 0, -1)
	tests := []struct {
		name string
		dev  string
		ino  uint64
		want []span
	}{
		{"code and read-only data, not the data", "fe:00", 10863061,
			[]span{{0x400000, 0x12f2000}, {0x12f2000, 0x2201000}, {0x5000000, 0x5001000}}},
		{"another file", "fe:00", 42, []span{{0x4000000, 0x4001000}}},
		{"another device", "fe:02", 10863061, nil},
		{"anonymous memory never", "00:00", 0, nil},
		{"no mapping with a private copy", "fe:00", 77, []span{{0x6031000, 0x6040000}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readOnly([]byte(smaps), tt.dev, tt.ino)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("readOnly = %x, want %x", got, tt.want)
			}
		})
	}
	if _, err := readOnly([]byte("zz-00 r-xp 0 fe:00 7 /x\n"), "fe:00", 7); err == nil {
		t.Error("a bad address range gave no error")
	}
}

// TestDropInAPIE: in an executable built as a PIE the loader relocates
// the read-only data before it makes it read-only, and Drop must leave
// those pages (a drop put the file's unrelocated bytes back: the next
// interface call through them crashed, SIGSEGV). The program in
// testdata/dropper, built with -buildmode=pie and as a static executable,
// has its pages mapped one at a time (ByPage), drops and then calls
// through type descriptors and interfaces.
func TestDropInAPIE(t *testing.T) {
	for _, mode := range []string{"pie", "exe"} {
		t.Run(mode, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "dropper")
			build := exec.Command("go", "build", "-buildmode="+mode, "-o", bin, "./testdata/dropper")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build -buildmode=%s: %v\n%s", mode, err, out)
			}
			out, err := exec.Command(bin).CombinedOutput()
			if err != nil {
				t.Fatalf("the %s program after Drop: %v\n%s", mode, err, out)
			}
			if !strings.Contains(string(out), "by page: ") || !strings.Contains(string(out), "dropped ") || !strings.HasSuffix(string(out), "still running\n") {
				t.Errorf("the %s program printed %q", mode, out)
			}
		})
	}
}

func TestDevName(t *testing.T) {
	for _, tt := range []struct {
		dev  uint64
		want string
	}{
		{0xfe00, "fe:00"}, {0x803, "08:03"}, {0x10303, "103:03"}, {0x1200834, "08:1234"},
	} {
		if got := devName(tt.dev); got != tt.want {
			t.Errorf("devName(%#x) = %q, want %q", tt.dev, got, tt.want)
		}
	}
	// The test binary's own mapping is found by its device and inode.
	if spans := ownReadOnly(t); len(spans) == 0 {
		t.Fatal("the test binary's read-only mappings: none")
	}
}

// ownReadOnly is readOnly of the test binary's own mappings, as Drop reads
// them.
func ownReadOnly(t *testing.T) []span {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/self/exe", &st); err != nil {
		t.Fatal(err)
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	spans, err := readOnly(smaps, devName(st.Dev), st.Ino)
	if err != nil {
		t.Fatal(err)
	}
	return spans
}

// resident counts the pages of spans present in this process's page table
// (/proc/self/pagemap, bit 63).
func resident(t *testing.T, spans []span) int {
	t.Helper()
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for _, s := range spans {
		buf := make([]byte, (s.hi-s.lo)/4096*8)
		if _, err := f.ReadAt(buf, int64(s.lo/4096*8)); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(buf); i += 8 {
			if binary.LittleEndian.Uint64(buf[i:])&(1<<63) != 0 {
				n++
			}
		}
	}
	return n
}

func TestDropUnmapsTheExecutablesPages(t *testing.T) {
	spans := ownReadOnly(t)
	before := resident(t, spans)
	n, err := Drop()
	if err != nil {
		t.Fatal(err)
	}
	after := resident(t, spans)
	var size uintptr
	for _, s := range spans {
		size += s.hi - s.lo
	}
	t.Logf("advised %d bytes; resident pages of the test binary: %d before Drop, %d after", n, before, after)
	if n != int(size) {
		t.Errorf("Drop advised %d bytes, the read-only mappings are %d", n, size)
	}
	// Init and the testing package map more than the few calls between
	// Drop and the count map back (each fault maps up to 64 KiB: the
	// runtime's allocator, the reads of pagemap): at least 64 pages fewer.
	if after > before-64 {
		t.Errorf("resident pages: %d before Drop, %d after: want at least 64 fewer", before, after)
	}
	// The code still runs, from the page cache, and finds the same
	// mappings.
	if again := ownReadOnly(t); !reflect.DeepEqual(again, spans) {
		t.Errorf("the read-only mappings after Drop: %x, before: %x", again, spans)
	}
}

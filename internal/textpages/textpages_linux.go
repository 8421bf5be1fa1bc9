//go:build linux

package textpages

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

func drop() (int, error) {
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/self/exe", &st); err != nil {
		return 0, fmt.Errorf("textpages: %w", err)
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0, fmt.Errorf("textpages: %w", err)
	}
	spans, err := readOnly(maps, devName(uint64(st.Dev)), uint64(st.Ino))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range spans {
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, s.lo, s.hi-s.lo, syscall.MADV_DONTNEED); e != 0 {
			return n, fmt.Errorf("textpages: madvise %#x-%#x: %w", s.lo, s.hi, e)
		}
		n += int(s.hi - s.lo)
	}
	return n, nil
}

// span is an address range [lo, hi).
type span struct{ lo, hi uintptr }

// devName is a device number as /proc/PID/maps prints it (major:minor,
// hexadecimal, Linux's dev_t encoding).
func devName(dev uint64) string {
	major := (dev>>8)&0xfff | (dev>>32)&^0xfff
	minor := dev&0xff | (dev>>12)&^0xff
	return fmt.Sprintf("%02x:%02x", major, minor)
}

// readOnly returns the mappings in maps (/proc/PID/maps) of the file with
// device dev and inode ino that are private and were never writable: neither write
// permission now nor ever (a mapping made writable and back would show
// rw or r-, so only r-xp and r--p count, which Go's linker makes for
// code and read-only data). Their pages are the file's, with no private
// copy to lose.
func readOnly(maps []byte, dev string, ino uint64) ([]span, error) {
	var out []span
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		// 00400000-012f2000 r-xp 00000000 fe:00 10863061   /path
		f := bytes.Fields(sc.Bytes())
		if len(f) < 6 {
			continue
		}
		perms := string(f[1])
		if perms != "r-xp" && perms != "r--p" {
			continue
		}
		if string(f[3]) != dev {
			continue
		}
		if i, err := strconv.ParseUint(string(f[4]), 10, 64); err != nil || i != ino || i == 0 {
			continue
		}
		lo, hi, ok := bytes.Cut(f[0], []byte("-"))
		if !ok {
			return nil, fmt.Errorf("textpages: bad line in maps: %q", sc.Text())
		}
		l, err1 := strconv.ParseUint(string(lo), 16, 64)
		h, err2 := strconv.ParseUint(string(hi), 16, 64)
		if err1 != nil || err2 != nil || h <= l {
			return nil, fmt.Errorf("textpages: bad line in maps: %q", sc.Text())
		}
		out = append(out, span{uintptr(l), uintptr(h)})
	}
	return out, sc.Err()
}

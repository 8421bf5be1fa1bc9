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
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return 0, fmt.Errorf("textpages: %w", err)
	}
	spans, err := readOnly(smaps, devName(uint64(st.Dev)), uint64(st.Ino))
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

// readOnly returns the mappings in smaps (/proc/PID/smaps) of the file
// with device dev and inode ino that are private, read-only (r-xp, r--p)
// and hold no private copy of a page (Anonymous and Swap 0 kB): only
// those are the file's pages alone, which MADV_DONTNEED lets the next
// access read again as they were. A read-only mapping can hold private
// copies: the dynamic loader writes relocations into a segment before it
// makes it read-only (RELRO: a PIE build's .data.rel.ro, a C library's
// GOT), and dropping those pages would put the file's unrelocated bytes
// back under the running program. Go's linker, building a static
// executable, makes none.
func readOnly(smaps []byte, dev string, ino uint64) ([]span, error) {
	var out []span
	var cur span
	ok, own := false, false // cur is a candidate; it has no private page
	flush := func() {
		if ok && own {
			out = append(out, cur)
		}
		ok = false
	}
	sc := bufio.NewScanner(bytes.NewReader(smaps))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) == 0 {
			continue
		}
		if !bytes.HasSuffix(f[0], []byte(":")) {
			// A mapping's header:
			// 00400000-012f2000 r-xp 00000000 fe:00 10863061   /path
			flush()
			if len(f) < 6 {
				continue
			}
			perms := string(f[1])
			if perms != "r-xp" && perms != "r--p" || string(f[3]) != dev {
				continue
			}
			if i, err := strconv.ParseUint(string(f[4]), 10, 64); err != nil || i != ino || i == 0 {
				continue
			}
			lo, hi, found := bytes.Cut(f[0], []byte("-"))
			if !found {
				return nil, fmt.Errorf("textpages: bad line in smaps: %q", sc.Text())
			}
			l, err1 := strconv.ParseUint(string(lo), 16, 64)
			h, err2 := strconv.ParseUint(string(hi), 16, 64)
			if err1 != nil || err2 != nil || h <= l {
				return nil, fmt.Errorf("textpages: bad line in smaps: %q", sc.Text())
			}
			cur, ok, own = span{uintptr(l), uintptr(h)}, true, false
			continue
		}
		// A field of the mapping. Anonymous comes before Swap; a
		// mapping is its file's alone once Anonymous reads 0 and no
		// Swap says otherwise (a mapping without the field is not).
		switch string(f[0]) {
		case "Anonymous:":
			own = len(f) >= 2 && string(f[1]) == "0"
		case "Swap:":
			own = own && len(f) >= 2 && string(f[1]) == "0"
		}
	}
	flush()
	return out, sc.Err()
}

//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package textpages

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// userfaultfd(2)'s ABI (linux/userfaultfd.h); the ioctl numbers are
// _IOWR(0xAA, nr, struct), as the architectures of the build line encode
// them.
const (
	uffdAPI            = 0xAA
	uffdioAPI          = 0xc018aa3f // _IOWR(0xAA, 0x3F, struct uffdio_api)
	uffdioRegister     = 0xc020aa00 // _IOWR(0xAA, 0x00, struct uffdio_register)
	uffdRegisterModeWP = 1 << 1
	uffdFeatureWPAsync = 1 << 15 // Linux 6.7
	uffdUserModeOnly   = 1       // what an unprivileged process may ask for
)

type uffdioAPIArg struct{ api, features, ioctls uint64 }

type uffdioRegisterArg struct{ start, len, mode, ioctls uint64 }

func byPage() (func() error, int, error) {
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/self/exe", &st); err != nil {
		return nil, 0, fmt.Errorf("textpages: %w", err)
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return nil, 0, fmt.Errorf("textpages: %w", err)
	}
	spans, err := readOnly(smaps, devName(uint64(st.Dev)), uint64(st.Ino))
	if err != nil {
		return nil, 0, err
	}
	return registerWP(spans)
}

// registerWP registers spans with a new userfaultfd for asynchronous
// write protection, which protects nothing (no range is ever
// write-protected, and a write fault in such a range is resolved by the
// kernel as if it were not registered) but turns the kernel's
// fault-around off for the registered mappings (mm/memory.c,
// uffd_disable_fault_around). It returns what closes the userfaultfd
// (which unregisters them) and the bytes registered.
func registerWP(spans []span) (func() error, int, error) {
	fd, _, e := unix.Syscall(unix.SYS_USERFAULTFD, uintptr(syscall.O_CLOEXEC|syscall.O_NONBLOCK|uffdUserModeOnly), 0, 0)
	if e != 0 {
		return nil, 0, fmt.Errorf("textpages: userfaultfd: %w", unsupported(e))
	}
	// Closed once: a second call would close the number again, by then
	// perhaps another file's.
	closeFD := sync.OnceValue(func() error { return syscall.Close(int(fd)) })
	api := uffdioAPIArg{api: uffdAPI, features: uffdFeatureWPAsync}
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, fd, uffdioAPI, uintptr(unsafe.Pointer(&api))); e != 0 {
		closeFD()
		// EINVAL: a kernel before 6.7, without asynchronous write
		// protection.
		return nil, 0, fmt.Errorf("textpages: userfaultfd asynchronous write protection: %w", unsupported(e))
	}
	if api.features&uffdFeatureWPAsync == 0 {
		closeFD()
		return nil, 0, fmt.Errorf("textpages: userfaultfd has no asynchronous write protection: %w", errors.ErrUnsupported)
	}
	n := 0
	for _, s := range spans {
		r := uffdioRegisterArg{start: uint64(s.lo), len: uint64(s.hi - s.lo), mode: uffdRegisterModeWP}
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, fd, uffdioRegister, uintptr(unsafe.Pointer(&r))); e != 0 {
			closeFD()
			return nil, 0, fmt.Errorf("textpages: registering %#x-%#x: %w", s.lo, s.hi, unsupported(e))
		}
		n += int(s.hi - s.lo)
	}
	return closeFD, n, nil
}

// unsupported is e, also errors.ErrUnsupported where it says the kernel
// or the process's sandbox does not offer the call: no such system call
// (ENOSYS), not allowed (EPERM, EACCES: a seccomp filter, or a kernel
// that asks for privilege), no such feature (EINVAL).
func unsupported(e syscall.Errno) error {
	switch e {
	case syscall.ENOSYS, syscall.EPERM, syscall.EACCES, syscall.EINVAL:
		return fmt.Errorf("%w (%w)", e, errors.ErrUnsupported)
	}
	return e
}

// Package textpages lets a process give back the pages of its own
// executable's code and read-only data that it has mapped in.
//
// Linux maps a file's pages 64 KiB around each page fault (fault-around),
// so a function run once maps its neighbours too: at 1,000 flows, slaprobe
// run had 25 MiB of its 56 MB binary mapped (RssFile), 64 KiB blocks all
// or nothing, most of it touched once by package init, the config's parse
// and a report build, where 25 s of probing referenced some 11 MiB. Drop
// unmaps those pages (madvise MADV_DONTNEED on the executable's read-only
// mappings, which hold no private copies); they stay in the page cache,
// and the next call into them maps them again, a minor fault. Nothing is
// lost: only the process's RSS, and the pages the kernel must count as
// mapped, shrink.
package textpages

// Drop unmaps the resident pages of the running executable's read-only
// mappings (code, read-only data, the function table). It returns the
// bytes of address space it advised; on systems other than Linux it does
// nothing. A failure is returned and harmless: the pages stay mapped.
func Drop() (int, error) { return drop() }

// ByPage makes the kernel map the running executable's read-only pages
// (the same mappings Drop unmaps) one 4 KiB page at a time as they are
// touched, not the 64 KiB of the file around each fault that Linux maps
// (fault-around, fault_around_bytes): a Go program's hot code, its type
// descriptors and the function table the collector reads for every
// goroutine's frames lie scattered over the binary, so at 1,000 flows the
// 64 KiB blocks held 19-20 MiB where the pages touched are a fraction of
// it. It registers those mappings with a userfaultfd(2) for asynchronous
// write protection (Linux 6.7 and later), a mode that protects nothing
// until asked to and that turns fault-around off for the ranges
// registered; nothing reads the file descriptor and no fault waits on it.
// It returns the bytes registered and what ends it (closing the
// descriptor unregisters the mappings; a second call does nothing and
// returns the first's error). An error wrapping
// errors.ErrUnsupported means the kernel, the architecture or a sandbox
// does not offer it; the pages are then mapped as before.
func ByPage() (stop func() error, n int, err error) { return byPage() }

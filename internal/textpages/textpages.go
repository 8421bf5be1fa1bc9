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

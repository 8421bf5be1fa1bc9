// Command dropper has its executable's pages mapped one at a time
// (textpages.ByPage, where the kernel offers it), drops its mapped pages
// (textpages.Drop) and then runs code that reads relocated read-only
// data: type descriptors, interface tables, formatted printing.
// TestDropInAPIE builds it as a PIE and as a static executable.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/slaprobe/slaprobe/internal/textpages"
)

type item struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

func main() {
	stop, reg, err := textpages.ByPage()
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		fmt.Println("by page: unsupported")
	case err != nil:
		fmt.Fprintln(os.Stderr, "by page:", err)
		os.Exit(1)
	default:
		defer stop()
		fmt.Printf("by page: %d bytes\n", reg)
	}
	n, err := textpages.Drop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "drop:", err)
		os.Exit(1)
	}
	fmt.Printf("dropped %d bytes\n", n)
	items := []item{{"b", 2}, {"a", 1}}
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	b, err := json.Marshal(items)
	if err != nil {
		fmt.Fprintln(os.Stderr, "json:", err)
		os.Exit(1)
	}
	var v []any
	if err := json.Unmarshal(b, &v); err != nil {
		fmt.Fprintln(os.Stderr, "json:", err)
		os.Exit(1)
	}
	err = fmt.Errorf("wrapped: %w", os.ErrNotExist)
	fmt.Println(string(b), len(v), errors.Is(err, os.ErrNotExist))
	fmt.Println("still running")
}

//go:build !linux || !(amd64 || arm64 || riscv64 || loong64)

package textpages

import "errors"

func byPage() (func() error, int, error) { return nil, 0, errors.ErrUnsupported }

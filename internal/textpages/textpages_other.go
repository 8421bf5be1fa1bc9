//go:build !linux

package textpages

func drop() (int, error) { return 0, nil }

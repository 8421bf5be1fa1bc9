package main

import (
	"runtime/debug"
	"testing"
)

// A reload lowers GOGC to reloadGCPercent for its parse and puts it back;
// a GOGC already lower, or off, stays as it was.
func TestLowerGCPercent(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	for _, tt := range []struct{ before, during int }{
		{100, reloadGCPercent},
		{400, reloadGCPercent},
		{reloadGCPercent - 5, reloadGCPercent - 5},
		{-1, -1}, // off
	} {
		debug.SetGCPercent(tt.before)
		restore := lowerGCPercent(reloadGCPercent)
		during := debug.SetGCPercent(tt.during)
		debug.SetGCPercent(during)
		restore()
		after := debug.SetGCPercent(tt.before)
		if during != tt.during || after != tt.before {
			t.Errorf("GOGC %d: %d during the reload, %d after; want %d and %d", tt.before, during, after, tt.during, tt.before)
		}
	}
}

package daemon

import (
	"strings"
	"testing"
	"time"
)

// TestIntervalFloor covers #15 finding 2 for configs built in Go: New and
// Reload refuse a flow the scheduler would spin on.
func TestIntervalFloor(t *testing.T) {
	for _, iv := range []time.Duration{0, time.Nanosecond, time.Microsecond, 999 * time.Millisecond} {
		if _, err := New(testConfig(iv, "spin"), Deps{Store: &fakeStore{}}); err == nil || !strings.Contains(err.Error(), "below the minimum of 1s") {
			t.Errorf("New with interval %v: %v", iv, err)
		}
	}
	d, err := New(testConfig(time.Minute, "ok"), Deps{Store: &fakeStore{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Reload(testConfig(time.Nanosecond, "ok")); err == nil || !strings.Contains(err.Error(), "below the minimum") {
		t.Errorf("Reload with interval 1ns: %v", err)
	}
}

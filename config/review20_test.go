package config

import (
	"testing"
	"time"
)

// TestHours: the warning's "(N apart)" keeps the seconds of a difference:
// the "0s" trimmed from "30m0s" was trimmed from "30s" and "15m30s" too,
// which read "(3 apart)" and "(15m3 apart)".
func TestHours(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{time.Hour, "an hour"},
		{16 * time.Hour, "16 hours"},
		{30 * time.Minute, "30m"},
		{5*time.Hour + 30*time.Minute, "5h30m"},
		{15*time.Minute + 30*time.Second, "15m30s"},
		{30 * time.Second, "30s"},
		{10 * time.Minute, "10m"},
		{7*time.Minute + 2*time.Second, "7m2s"},
	} {
		if got := hours(tc.d); got != tc.want {
			t.Errorf("hours(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

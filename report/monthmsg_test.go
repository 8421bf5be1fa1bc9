package report

import (
	"strings"
	"testing"
	"time"
)

// TestMonthRangeSaysWhatIsWrong: a month out of 01..12 is named as such,
// not met with the format it already has.
func TestMonthRangeSaysWhatIsWrong(t *testing.T) {
	for _, tc := range []struct{ month, want string }{
		{"2025-13", `month "2025-13": 13 is not a month, want 01 to 12`},
		{"2025-00", `month "2025-00": 00 is not a month, want 01 to 12`},
		{"2025-1", `month "2025-1": want YYYY-MM, e.g. 2022-10`},
		{"25-10", `month "25-10": want YYYY-MM, e.g. 2022-10`},
		{"2025-10-01", `month "2025-10-01": want YYYY-MM, e.g. 2022-10`},
	} {
		t.Run(tc.month, func(t *testing.T) {
			_, _, err := MonthRange(tc.month, time.UTC)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

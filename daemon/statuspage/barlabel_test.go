package statuspage

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/report"
)

// TestBarsLabel: the day bars' label counts the days up in the singular for
// one ("1 day up, 89 without data", on the page of a prober started today;
// it said "1 days up").
func TestBarsLabel(t *testing.T) {
	v := 1.0
	for _, tc := range []struct {
		up   int
		want string
	}{
		{0, `aria-label="0 days up, 90 without data"`},
		{1, `aria-label="1 day up, 89 without data"`},
		{2, `aria-label="2 days up, 88 without data"`},
	} {
		t.Run(fmt.Sprint(tc.up), func(t *testing.T) {
			s := &report.Service{Name: "maps"}
			fa := &report.FunctionAccount{Name: "route"}
			for i := range tc.up {
				fa.Daily = append(fa.Daily, report.FunctionDay{Date: fmt.Sprintf("2026-12-%02d", 5+i), Availability: &v})
			}
			if got := string(bars(nil, nil, s, fa, nil, false, "2026-12-07", time.UTC)); !strings.Contains(got, tc.want) {
				t.Errorf("bars %s, want %s", got, tc.want)
			}
		})
	}
}

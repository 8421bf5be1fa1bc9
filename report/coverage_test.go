package report

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestCreditWithheldOnThinData: a 30-day period whose runs covered one day
// (3.3%), with a 30-minute outage in it, has availability 23.5/24 (97.9%):
// 25% credit under the tiers 95/99/99.9. policy.min_coverage, when set
// above the coverage, withholds the credit (null, with the reason), and the
// printed policy says so; off (the default), or below the coverage, the
// credit is what it was.
func TestCreditWithheldOnThinData(t *testing.T) {
	h := hourStart
	cases := []struct {
		name     string
		min      float64
		credit   float64 // NaN: null
		withheld string
	}{
		{"off", 0, 25, ""},
		{"below the coverage", 0.03, 25, ""},
		{"above the coverage", 0.5, nan(), CreditBelowCoverage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			cfg.Policy.MinCoverage = tc.min
			s := stores()[0].open(t)
			load(t, s, cfg, schedule("seoul-a", h, h.Add(24*time.Hour), time.Minute, failing("fail:send", [2]int{600, 630})))
			rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: h, To: h.Add(30 * 24 * time.Hour), Now: h.Add(31 * 24 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			sv := rep.Services[0]
			if !near(val(sv.Availability), 23.5/24) {
				t.Errorf("availability = %v, want %v", val(sv.Availability), 23.5/24)
			}
			if got := val(sv.CreditPercent); !(near(got, tc.credit) || (got != got && tc.credit != tc.credit)) {
				t.Errorf("credit = %v, want %v", got, tc.credit)
			}
			if sv.CreditWithheld != tc.withheld {
				t.Errorf("credit_withheld = %q, want %q", sv.CreditWithheld, tc.withheld)
			}
			if tc.min == 0 {
				if sv.Coverage != nil {
					t.Errorf("coverage = %v with min_coverage off, want absent", *sv.Coverage)
				}
			} else if !near(val(sv.Coverage), 1.0/30) {
				t.Errorf("coverage = %v, want 1/30", val(sv.Coverage))
			}
			text := strings.Join(rep.Policy.Text, " ")
			if said := strings.Contains(text, "credit is withheld"); said != (tc.min > 0) {
				t.Errorf("policy says the credit can be withheld: %v, want %v:\n%s", said, tc.min > 0, text)
			}
		})
	}
}

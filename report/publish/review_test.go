package publish

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/report"
)

// TestReviewSummaryPercent: the e-mail summary prints availability as the
// reports do (truncated, the objective's decimals). Before, it added 1e-9
// before flooring: 0.9989999999999999 against 99.9% read "99.900% against
// 99.9% (missed)", and 0.9999951 against 99.9995% (met) "99.999%".
func TestReviewSummaryPercent(t *testing.T) {
	for _, tc := range []struct {
		avail, objective float64
		want             string
	}{
		{0.9989999999999999, 0.999, "99.899% against 99.9% (missed)"},
		{0.999, 0.999, "99.900% against 99.9% (met)"},
		{0.9899999999999997, 0.99, "98.999% against 99% (missed)"},
		{0.9999951, 0.999995, "99.9995% against 99.9995% (met)"},
		{0.9999949, 0.999995, "99.9994% against 99.9995% (missed)"},
	} {
		r := &report.Report{Title: "SLA report 2026-03", From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC),
			Services: []report.Service{{Name: "web", Objective: tc.objective, Availability: &tc.avail}}}
		if got := summaryOf(r).Text(); !strings.Contains(got, "web: "+tc.want) {
			t.Errorf("%v against %v:\n%s\nwant %q", tc.avail, tc.objective, got, tc.want)
		}
	}
}

// TestSummaryNamesUnmeasuredTime: the e-mail summary says how much of the
// month the figure does not rest on (unknown time, maintenance): a month the
// prober watched for one minute read "100.000% against 99.9% (met), down
// 0s" like a month watched throughout.
func TestSummaryNamesUnmeasuredTime(t *testing.T) {
	one := 1.0
	for _, tc := range []struct {
		name                 string
		unknown, maintenance float64
		want, not            []string
	}{
		{"watched throughout", 0, 0, nil, []string{"not measured", "maintenance"}},
		{"watched one minute", 30*86400 - 60, 0, []string{"100.000% against 99.9% (met), down 0s, 0 incident(s), not measured 719h59m0s"}, []string{"maintenance"}},
		{"maintenance", 0, 7200, []string{"0 incident(s), maintenance 2h0m0s"}, []string{"not measured"}},
		{"credit withheld", 29 * 86400, 0, []string{"not measured 696h0m0s, SLA credit withheld (coverage below policy.min_coverage)"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &report.Report{Title: "SLA report 2022-09", From: time.Date(2022, 9, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2022, 10, 1, 0, 0, 0, 0, time.UTC),
				Services: []report.Service{{Name: "web", Objective: 0.999, Availability: &one, UnknownSeconds: tc.unknown, MaintenanceSeconds: tc.maintenance}}}
			if tc.name == "credit withheld" {
				r.Services[0].CreditWithheld = report.CreditBelowCoverage
			}
			got := summaryOf(r).Text()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%s\nwant %q", got, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("%s\nsays %q", got, n)
				}
			}
		})
	}
}

// TestSummaryPeriodSaysItsOffsets: the e-mail's period line gives each end's
// offset in the report's zone, the same whether the summary was just made or
// read back from the archive's figures.json (as every delivery reads it).
// Before, it printed the zone's abbreviation ("MST" layout): New York's
// November read "EDT to EST" when made, but the e-mail, built from the JSON
// read back, said "-0400 to -0500" on a UTC host, and on a host whose own
// zone had the offset its abbreviation: a Tokyo report sent from a Seoul
// host said "KST".
func TestSummaryPeriodSaysItsOffsets(t *testing.T) {
	for _, tc := range []struct {
		zone, month, want string
	}{
		{"America/New_York", "2026-11", "SLA report 2026-11 (2026-11-01 00:00 -04:00 to 2026-12-01 00:00 -05:00)"},
		{"Asia/Tokyo", "2026-11", "SLA report 2026-11 (2026-11-01 00:00 +09:00 to 2026-12-01 00:00 +09:00)"},
		{"Asia/Kathmandu", "2026-06", "SLA report 2026-06 (2026-06-01 00:00 +05:45 to 2026-07-01 00:00 +05:45)"},
	} {
		t.Run(tc.zone, func(t *testing.T) {
			loc, err := time.LoadLocation(tc.zone)
			if err != nil {
				t.Fatal(err)
			}
			from, to, err := report.MonthRange(tc.month, loc)
			if err != nil {
				t.Fatal(err)
			}
			one := 1.0
			s := summaryOf(&report.Report{Title: "SLA report " + tc.month, From: from, To: to,
				Services: []report.Service{{Name: "web", Objective: 0.999, Availability: &one}}})
			data, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			var back Summary
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatal(err)
			}
			for name, got := range map[string]string{"made": s.Text(), "read back": back.Text()} {
				if first, _, _ := strings.Cut(got, "\n"); first != tc.want {
					t.Errorf("%s: %q, want %q", name, first, tc.want)
				}
			}
		})
	}
}

package statuspage

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/store/storetest"
)

// TestMonthVerdictSoFar: the page's "This month" line judges a month in
// progress. It said "(missed)" for any figure under the objective, beside
// "error budget 94% left": a service down for two minutes of the first
// three measured ones of a month (32.585%) has missed nothing yet, as the
// rest of the month up would meet 99.9%; the budget (the month's, less
// what was unknown so far) says whether it still can. "missed" is for a
// spent budget, or none to spend (an objective of 100%).
func TestMonthVerdictSoFar(t *testing.T) {
	ratio := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		name             string
		avail, objective float64
		budget           report.Budget
		want, class      string
	}{
		{"at the objective", 0.9995, 0.999, report.Budget{AllowedSeconds: 2182, ConsumedSeconds: 100, RemainingSeconds: 2082, RemainingRatio: ratio(0.954)}, "met so far", "met"},
		{"below with budget left", 0.32585, 0.999, report.Budget{AllowedSeconds: 2182, ConsumedSeconds: 125, RemainingSeconds: 2057, RemainingRatio: ratio(0.94)}, "below so far", "below"},
		{"below, budget just spent", 0.99, 0.999, report.Budget{AllowedSeconds: 2182, ConsumedSeconds: 2182, RemainingSeconds: 0, RemainingRatio: ratio(0)}, "below so far", "below"},
		{"budget overspent", 0.99, 0.999, report.Budget{AllowedSeconds: 2182, ConsumedSeconds: 2500, RemainingSeconds: -318, RemainingRatio: ratio(-0.146)}, "missed", "missed"},
		{"objective 100%: no budget", 0.9999, 1, report.Budget{ConsumedSeconds: 60}, "missed", "missed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := genConfig(1, 1, time.Minute)
			cfg.Services[0].Objective = tc.objective
			now := time.Date(2026, 12, 6, 8, 51, 0, 0, time.UTC)
			v := tc.avail
			fa := report.FunctionAccount{Name: storetest.StepName(0), Availability: &v, Windows: []int{}}
			month := &report.Report{From: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Timezone: "UTC", Provisional: true,
				Services: []report.Service{{Name: cfg.Services[0].Name, Objective: tc.objective, Availability: &v, Runs: 3, ErrorBudget: tc.budget, Functions: []report.FunctionAccount{fa}}}}
			vw := build(cfg, &snapshot{month: month, built: now}, nil, false, nil, now, "", time.Minute)
			if got := vw.Services[0].Verdict; got != tc.want {
				t.Errorf("verdict %q, want %q", got, tc.want)
			}
			tmpl, err := templates()
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := tmpl.ExecuteTemplate(&buf, "page", vw); err != nil {
				t.Fatal(err)
			}
			page := buf.String()
			if want := `<b class="` + tc.class + `">`; !strings.Contains(page, want) {
				t.Errorf("page has no %s", want)
			}
			if want := "(" + tc.want + ")"; !strings.Contains(page, want) {
				i := strings.Index(page, "This month")
				t.Errorf("page says %.200q, want %s", page[max(i, 0):], want)
			}
		})
	}
}

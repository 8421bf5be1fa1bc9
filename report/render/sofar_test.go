package render

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/johnfercher/maroto/v2/pkg/props"
)

// TestVerdictSoFar: a report of a period not over judges its services so
// far. It said "missed" for any figure under the objective, beside an
// error budget mostly left: three days into March, a service at 99.5%
// against 99.9% with 30m of its 44m budget left (the month's, less what
// was unknown) has missed nothing yet; the rest of the month up would meet
// it. "missed" is for a spent budget; the report of a period over keeps
// "met" and "missed".
func TestVerdictSoFar(t *testing.T) {
	const budget = `, "error_budget": {"allowed_seconds": 2678.4, "consumed_seconds": %s, "remaining_seconds": %s, "remaining_ratio": %s}`
	for _, tc := range []struct {
		name        string
		provisional bool
		doc         string
		want        string
		not         []string
	}{
		{"below, budget left", true, `, "availability": 0.995` + fmt.Sprintf(budget, "1296", "1382.4", "0.516"),
			"99.500% against an objective of 99.9%: below so far", []string{": missed", "(missed)"}},
		{"below, budget spent", true, `, "availability": 0.99` + fmt.Sprintf(budget, "2800", "-121.6", "-0.045"),
			"99.000% against an objective of 99.9%: missed", []string{"so far"}},
		{"met so far", true, `, "availability": 0.9995` + fmt.Sprintf(budget, "130", "2548.4", "0.951"),
			"99.950% against an objective of 99.9%: met so far", []string{": missed", "(missed)"}},
		{"over: below is missed", false, `, "availability": 0.995` + fmt.Sprintf(budget, "1296", "1382.4", "0.516"),
			"99.500% against an objective of 99.9%: missed", []string{"so far"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := auditReport(t, tc.doc)
			if tc.provisional {
				r.Provisional = true
				r.Generated = r.From.Add(72 * time.Hour)
			}
			outs := humanText(t, r)
			outs["pdf"] = strings.Join(strings.Fields(pdfText(t, r)), " ")
			for format, out := range outs {
				if !strings.Contains(out, tc.want) {
					i := strings.Index(out, "against an objective")
					t.Errorf("%s: %q not in the report (%.120q)", format, tc.want, out[max(0, i-40):])
				}
				for _, w := range tc.not {
					if strings.Contains(out, w) {
						t.Errorf("%s: %q in the report", format, w)
					}
				}
			}
		})
	}
}

// TestVerdictSoFarColour: a service below its objective so far, its
// budget not spent, is drawn amber ("below"), as the status page draws the
// same month, not in the red of a missed objective beside the words
// "below so far"; one whose budget is spent stays red, one met green.
func TestVerdictSoFarColour(t *testing.T) {
	const budget = `, "error_budget": {"allowed_seconds": 2678.4, "consumed_seconds": %s, "remaining_seconds": %s, "remaining_ratio": %s}`
	for _, tc := range []struct {
		name        string
		provisional bool
		doc         string
		class       string
	}{
		{"below, budget left", true, `, "availability": 0.995` + fmt.Sprintf(budget, "1296", "1382.4", "0.516"), "below"},
		{"below, budget spent", true, `, "availability": 0.99` + fmt.Sprintf(budget, "2800", "-121.6", "-0.045"), "missed"},
		{"met so far", true, `, "availability": 0.9995` + fmt.Sprintf(budget, "130", "2548.4", "0.951"), "met"},
		{"over: below is missed", false, `, "availability": 0.995` + fmt.Sprintf(budget, "1296", "1382.4", "0.516"), "missed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := auditReport(t, tc.doc)
			if tc.provisional {
				r.Provisional = true
				r.Generated = r.From.Add(72 * time.Hour)
			}
			out := humanText(t, r)["html"]
			for _, want := range []string{`<div class="figure ` + tc.class + `">`, `<strong class="` + tc.class + `">Availability`} {
				if !strings.Contains(out, want) {
					t.Errorf("html has no %s", want)
				}
			}
			v := newView(r, time.UTC)
			p := &pdfDoc{c: newPalette()}
			want := map[string]props.Color{"below": p.c.below, "missed": p.c.bad, "met": p.c.ok}[tc.class]
			if got := *p.verdictColor(v.Services[0]); got != want {
				t.Errorf("pdf verdict colour %v, want %v (%s)", got, want, tc.class)
			}
		})
	}
}

package render

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestCreditTiersPrinted: a customer checks the SLA credit against the
// tiers it came from, so the report prints them, and the tier the figure
// came from, beside the credit; before, "SLA credit 25%" stood alone.
func TestCreditTiersPrinted(t *testing.T) {
	tiers := `, "credit_tiers": [{"below": 0.95, "credit_percent": 100}, {"below": 0.99, "credit_percent": 25}, {"below": 0.999, "credit_percent": 10}]`
	tests := []struct {
		name      string
		service   string
		want, not []string
	}{
		{"in the second tier", `, "availability": 0.979, "credit_percent": 25` + tiers,
			[]string{"25% (availability below 99%)", "below 95%: 100%; below 99%: 25%; below 99.9%: 10%"}, nil},
		{"above every tier", `, "availability": 0.9995, "credit_percent": 0` + tiers,
			[]string{"0% (availability not below any tier)", "below 95%: 100%; below 99%: 25%; below 99.9%: 10%"}, nil},
		{"no tiers", `, "availability": 0.9, "credit_percent": 0, "credit_tiers": []`,
			[]string{"none configured"}, []string{"availability below"}},
		{"no data", `, "availability": null, "no_data": true, "credit_percent": null` + tiers,
			[]string{"below 95%: 100%"}, []string{"availability below", "not below any tier"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for format, out := range humanText(t, auditReport(t, tc.service)) {
				i := strings.Index(out, "SLA credit")
				if i < 0 {
					t.Fatalf("%s: no SLA credit", format)
				}
				part := out[i:min(len(out), i+400)]
				for _, w := range tc.want {
					if !strings.Contains(part, w) {
						t.Errorf("%s: %q not in %q", format, w, part)
					}
				}
				for _, w := range tc.not {
					if strings.Contains(part, w) {
						t.Errorf("%s: %q in %q", format, w, part)
					}
				}
			}
		})
	}
}

// TestProvisionalShown: a report of a period not over says so in its header
// and beside every credit, which will change with the rest of the period.
func TestProvisionalShown(t *testing.T) {
	for _, tc := range []struct {
		name      string
		doc       string
		want, not []string
	}{
		{"not over", `, "availability": 0.98, "credit_percent": 25`,
			[]string{"not over: accounted up to", "25% (availability below 99%; provisional)"}, nil},
		{"over", `, "availability": 0.98, "credit_percent": 25`, []string{"25% (availability below 99%)"}, []string{"provisional", "not over"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := auditReport(t, tc.doc+`, "credit_tiers": [{"below": 0.95, "credit_percent": 100}, {"below": 0.99, "credit_percent": 25}]`)
			if tc.name == "not over" {
				r.Provisional = true
				r.Generated = r.From.Add(72 * time.Hour)
			}
			for format, out := range humanText(t, r) {
				for _, w := range tc.want {
					if !strings.Contains(out, w) {
						t.Errorf("%s: %q not in the report", format, w)
					}
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

// TestCreditWithheldShown: a service whose credit policy.min_coverage
// withheld (runs covered too little of the period) says why in every
// human format, rather than a bare "-" that reads as "no credit due"; JSON
// carries the reason and the coverage.
func TestCreditWithheldShown(t *testing.T) {
	r := auditReport(t, `, "availability": 0.979, "credit_percent": null, "coverage": 0.0333, "credit_withheld": "coverage below policy.min_coverage", "credit_tiers": [{"below": 0.95, "credit_percent": 100}, {"below": 0.99, "credit_percent": 25}]`)
	r.Policy.MinCoverage = 0.5
	want := "not computed: runs covered 3.330% of the period, below policy.min_coverage 50%"
	outs := humanText(t, r)
	outs["pdf"] = strings.Join(strings.Fields(pdfText(t, r)), " ")
	for format, out := range outs {
		out = strings.ReplaceAll(out, `\_`, "_") // Markdown escapes it
		if !strings.Contains(out, want) {
			t.Errorf("%s: %q not in the report", format, want)
		}
		if format != "pdf" && !strings.Contains(out, "withheld") {
			t.Errorf("%s: the summary does not say the credit was withheld", format)
		}
	}
	var js bytes.Buffer
	if err := JSON(&js, r); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"credit_percent": null`, `"credit_withheld": "coverage below policy.min_coverage"`, `"coverage": 0.0333`, `"min_coverage": 0.5`} {
		if !strings.Contains(js.String(), w) {
			t.Errorf("JSON lacks %s", w)
		}
	}
}

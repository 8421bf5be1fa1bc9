package report

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// causeList writes a window's causes as "step@HH:MM-HH:MM" ("open" for a
// cause that lasts).
func causeList(w Window) string {
	var parts []string
	for _, c := range w.Causes {
		to := "open"
		if c.To != nil {
			to = c.To.Format("15:04")
		}
		parts = append(parts, c.Step+"@"+c.From.Format("15:04")+"-"+to)
	}
	return strings.Join(parts, ",")
}

func fmtF(f *float64) string {
	if f == nil {
		return "null"
	}
	return time.Duration(*f * float64(time.Second)).String()
}

// Windows carry every change of cause (stored events and a recompute from
// the runs alike) and how far each edge may be off; a window clipped to the
// period keeps the causes inside it and has no measured edge there.
func TestWindowsCausesAndUncertainty(t *testing.T) {
	ctx := context.Background()
	// login fails 10:10-10:20, then receive alone 10:20-10:30.
	runs := schedule("seoul-a", hourStart, hourStart.Add(time.Hour), time.Minute, func(off time.Duration) string {
		switch m := int(off / time.Minute); {
		case m >= 10 && m < 20:
			return "fail:login"
		case m >= 20 && m < 30:
			return "fail:receive"
		}
		return "ok"
	})
	tests := []struct {
		name     string
		from, to time.Time
		want     map[string]string // function -> "causes | start unc | end unc"
	}{
		{"whole", hourStart, hourStart.Add(time.Hour), map[string]string{
			"flow":    "login@10:10-10:20,receive@10:20-10:30 | 1m0s | 1m0s",
			"receive": "login@10:10-10:20,receive@10:20-10:30 | 1m0s | 1m0s",
			"login":   "login@10:10-10:20 | 1m0s | 1m0s",
			"send":    "login@10:10-10:20 | 1m0s | 1m0s",
		}},
		{"clipped at both ends", hourStart.Add(15 * time.Minute), hourStart.Add(25 * time.Minute), map[string]string{
			"flow":    "login@10:15-10:20,receive@10:20-open | null | null",
			"receive": "login@10:15-10:20,receive@10:20-open | null | null",
			"login":   "login@10:15-10:20 | null | 1m0s",
			"send":    "login@10:15-10:20 | null | 1m0s",
		}},
	}
	for _, st := range stores() {
		for _, tc := range tests {
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				cfg := testConfig("UTC", time.Minute)
				s := st.open(t)
				load(t, s, cfg, append([]probe.Run(nil), runs...))
				ws, err := Windows(ctx, Input{Config: cfg, Store: s, From: tc.from, To: tc.to})
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]string{}
				for _, w := range ws {
					got[fnName(w)] = causeList(w) + " | " + fmtF(w.StartUncertaintySeconds) + " | " + fmtF(w.EndUncertaintySeconds)
					if len(w.Causes) > 0 && (w.Causes[0].Step != w.CauseStep || w.Causes[0].Error != w.Error) {
						t.Errorf("%s: first cause %+v differs from cause_step/error %q/%q", fnName(w), w.Causes[0], w.CauseStep, w.Error)
					}
				}
				for fn, want := range tc.want {
					if got[fn] != want {
						t.Errorf("%s: %q, want %q", fn, got[fn], want)
					}
				}
			})
		}
	}
}

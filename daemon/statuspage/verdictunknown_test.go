package statuspage

import (
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/report"
)

// TestVerdictUnknownOfConfigFlows: the verdict's unknown stretches are
// those of the config's flows (a flow a reload removed is stopped by the
// config, not by its data: its counted window's end is its end), the one
// reaching the figures' end open (End zero), an earlier one as it is, a
// pruned one left out.
func TestVerdictUnknownOfConfigFlows(t *testing.T) {
	cfg := fleetConfig("seoul-a")
	now := time.Date(2026, 12, 5, 9, 25, 0, 0, time.UTC)
	at := func(m int) time.Time { return now.Add(time.Duration(m-25) * time.Minute) }
	s := &report.Service{Name: "messaging", Unknown: []report.Span{
		{Flow: "chat", Start: at(18), End: at(20), Reason: report.ReasonNoRun},
		{Flow: "chat", Start: at(22), End: now, Reason: report.ReasonNoRun},
		{Flow: "chat", Start: at(0), End: at(1), Reason: report.ReasonPruned},
		{Flow: "gone", Start: at(15), End: now, Reason: report.ReasonNoRun},
	}}
	got := unknownOf(cfg, s, now)
	if len(got) != 2 {
		t.Fatalf("unknown %+v, want chat's two no-run stretches", got)
	}
	if got[0].Flow != "chat" || got[0].Service != "messaging" || !got[0].Start.Equal(at(18)) || !got[0].End.Equal(at(20)) {
		t.Errorf("first %+v, want chat 09:18-09:20", got[0])
	}
	if !got[1].Start.Equal(at(22)) || !got[1].End.IsZero() {
		t.Errorf("second %+v, want chat from 09:22, open (to the figures' end)", got[1])
	}
}

// TestVerdictUnknownSettling: a stretch whose data resumed less than
// down_after times confirm_every (the interval when it is off) and the
// timeout before the figures' end is handed open: failed runs after it
// are no window yet. Later, as it is.
func TestVerdictUnknownSettling(t *testing.T) {
	now := time.Date(2026, 12, 5, 9, 25, 0, 0, time.UTC)
	cases := []struct {
		name    string
		confirm time.Duration
		resumed time.Duration // before now
		open    bool
	}{
		{"interval, within", 0, 129 * time.Second, true},
		{"interval, past", 0, 131 * time.Second, false},
		{"confirm_every, within", 10 * time.Second, 29 * time.Second, true},
		{"confirm_every, past", 10 * time.Second, 31 * time.Second, false},
		{"confirm_every as long as the interval: the interval", time.Minute, 119 * time.Second, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fleetConfig("seoul-a")
			f := &cfg.Services[0].Flows[0]
			f.ConfirmEvery, f.Timeout = tc.confirm, 10*time.Second
			resumed := now.Add(-tc.resumed)
			s := &report.Service{Name: "messaging", Unknown: []report.Span{{Flow: "chat", Start: now.Add(-5 * time.Minute), End: resumed, Reason: report.ReasonNoRun}}}
			got := unknownOf(cfg, s, now)
			if len(got) != 1 {
				t.Fatalf("unknown %+v, want chat's stretch", got)
			}
			if open := got[0].End.IsZero(); open != tc.open || !open && !got[0].End.Equal(resumed) {
				t.Errorf("data resumed %s before the figures' end (down_after 2, interval 1m, confirm_every %s, timeout 10s): end %s, want open %v", tc.resumed, tc.confirm, got[0].End, tc.open)
			}
		})
	}
}

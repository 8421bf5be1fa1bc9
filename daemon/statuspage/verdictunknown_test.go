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

// TestVerdictUnknownSettling: a stretch the figures say the quorum still
// reads no location reporting after (report.Span.Settling: each location
// whose data resumed after it settling, report.TestUnknownSpanSettling) is
// handed open, as one reaching the figures' end: failed runs after it are
// no window yet. One without, as it is.
func TestVerdictUnknownSettling(t *testing.T) {
	now := time.Date(2026, 12, 5, 9, 25, 0, 0, time.UTC)
	for _, settling := range []bool{true, false} {
		cfg := fleetConfig("seoul-a")
		resumed := now.Add(-30 * time.Second)
		s := &report.Service{Name: "messaging", Unknown: []report.Span{{Flow: "chat", Start: now.Add(-5 * time.Minute), End: resumed, Reason: report.ReasonNoRun, Settling: settling}}}
		got := unknownOf(cfg, s, now)
		if len(got) != 1 {
			t.Fatalf("unknown %+v, want chat's stretch", got)
		}
		if open := got[0].End.IsZero(); open != settling || !open && !got[0].End.Equal(resumed) {
			t.Errorf("settling %v: end %s, want open %v", settling, got[0].End, settling)
		}
	}
}

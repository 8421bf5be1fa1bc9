package config

import (
	"slices"
	"testing"
	"time"
)

func TestMaintenanceCover(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 11, 1, h, m, 0, 0, time.UTC) }
	plan := MaintenancePlan{
		{Service: "payments", Start: at(2, 0), End: at(3, 0), Reason: "database upgrade"},
		{Service: "payments", Start: at(3, 0), End: at(4, 0), Reason: "network"}, // touches the first
		{Service: "*", Start: at(10, 0), End: at(10, 30), Reason: "datacentre"},
		{Service: "maps", Start: at(10, 15), End: at(11, 0)},
		{Service: "", Start: at(20, 0), End: at(21, 0), Reason: "every service"},
	}
	tests := []struct {
		name       string
		service    string
		t          time.Time
		ok         bool
		start, end time.Time
		reasons    []string
	}{
		{"before", "payments", at(1, 59), false, time.Time{}, time.Time{}, nil},
		{"at the start", "payments", at(2, 0), true, at(2, 0), at(4, 0), []string{"database upgrade", "network"}},
		{"in the second of two touching", "payments", at(3, 30), true, at(2, 0), at(4, 0), []string{"database upgrade", "network"}},
		{"at the end: over", "payments", at(4, 0), false, time.Time{}, time.Time{}, nil},
		{"another service", "messaging", at(2, 30), false, time.Time{}, time.Time{}, nil},
		{"a * window", "messaging", at(10, 10), true, at(10, 0), at(10, 30), []string{"datacentre"}},
		{"a * window grown by the service's own", "maps", at(10, 10), true, at(10, 0), at(11, 0), []string{"datacentre"}},
		{"the service's own after the * one", "maps", at(10, 45), true, at(10, 0), at(11, 0), []string{"datacentre"}},
		{"an empty service is every service", "mail", at(20, 30), true, at(20, 0), at(21, 0), []string{"every service"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sp, ok := plan.Cover(tc.service, tc.t)
			if ok != tc.ok || !sp.Start.Equal(tc.start) || !sp.End.Equal(tc.end) || !slices.Equal(sp.Reasons, tc.reasons) {
				t.Errorf("Cover(%s, %s) = %+v, %v; want %s-%s %v, %v", tc.service, tc.t.Format("15:04"), sp, ok, tc.start.Format("15:04"), tc.end.Format("15:04"), tc.reasons, tc.ok)
			}
		})
	}
	for _, c := range []struct{ t, want time.Time }{
		{at(0, 0), at(2, 0)}, {at(2, 0), at(3, 0)}, {at(10, 0), at(10, 15)}, {at(20, 30), at(21, 0)}, {at(21, 0), time.Time{}},
	} {
		if got := plan.NextChange(c.t); !got.Equal(c.want) {
			t.Errorf("NextChange(%s) = %s, want %s", c.t.Format("15:04"), got, c.want)
		}
	}
}

// TestMaintenanceSpans: the stretches of a service that overlap a range,
// merged and with their reasons as Cover gives them, unclipped, in order.
func TestMaintenanceSpans(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 11, 1, h, m, 0, 0, time.UTC) }
	plan := MaintenancePlan{
		{Service: "*", Start: at(10, 0), End: at(10, 30), Reason: "datacentre"},
		{Service: "payments", Start: at(3, 0), End: at(4, 0), Reason: "network"},
		{Service: "payments", Start: at(2, 0), End: at(3, 0), Reason: "database upgrade"}, // touches the one above; reasons stay in config order
		{Service: "maps", Start: at(12, 0), End: at(13, 0)},
	}
	span := func(s, e time.Time, reasons ...string) MaintenanceSpan {
		return MaintenanceSpan{Start: s, End: e, Reasons: reasons}
	}
	tests := []struct {
		name     string
		service  string
		from, to time.Time
		want     []MaintenanceSpan
	}{
		{"the whole day", "payments", at(0, 0), at(24, 0), []MaintenanceSpan{span(at(2, 0), at(4, 0), "network", "database upgrade"), span(at(10, 0), at(10, 30), "datacentre")}},
		{"a range inside a stretch: unclipped", "payments", at(3, 30), at(3, 40), []MaintenanceSpan{span(at(2, 0), at(4, 0), "network", "database upgrade")}},
		{"a range ending at a start: none", "payments", at(0, 0), at(2, 0), nil},
		{"another service", "maps", at(0, 0), at(24, 0), []MaintenanceSpan{span(at(10, 0), at(10, 30), "datacentre"), span(at(12, 0), at(13, 0))}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := plan.Spans(tc.service, tc.from, tc.to)
			if len(got) != len(tc.want) {
				t.Fatalf("Spans = %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if !got[i].Start.Equal(tc.want[i].Start) || !got[i].End.Equal(tc.want[i].End) || !slices.Equal(got[i].Reasons, tc.want[i].Reasons) {
					t.Errorf("Spans[%d] = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

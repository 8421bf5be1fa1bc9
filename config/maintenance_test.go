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

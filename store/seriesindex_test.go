package store

import "testing"

// The series index points into the rows it was built from: each id finds
// its own row whole, an unknown id the zero row.
func TestSeriesIndex(t *testing.T) {
	rows := []seriesRow{
		{ID: 7, Service: "maps", Flow: "search", Location: "seoul-a"},
		{ID: 3, Service: "pay", Flow: "checkout", Location: "busan-b"},
		{ID: 12, Service: "maps", Flow: "route", Location: "seoul-a"},
	}
	x := indexSeries(rows)
	tests := []struct {
		id   int64
		want seriesRow
		ok   bool
	}{
		{7, rows[0], true},
		{3, rows[1], true},
		{12, rows[2], true},
		{0, seriesRow{}, false},
		{4, seriesRow{}, false},
	}
	for _, tt := range tests {
		got, ok := x.get(tt.id)
		if got != tt.want || ok != tt.ok {
			t.Errorf("get(%d) = %+v, %v; want %+v, %v", tt.id, got, ok, tt.want, tt.ok)
		}
		if _, in := x[tt.id]; in != tt.ok {
			t.Errorf("id %d in index: %v, want %v", tt.id, in, tt.ok)
		}
	}
	if len(x) != len(rows) {
		t.Errorf("index of %d rows has %d entries", len(rows), len(x))
	}
}

package publish

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/store"
)

// TestEmptyMonths: a first start and a restart make the same months. The
// archive begins with the first month that has data; every month after it
// is made, data or not (a month the prober was down for entirely says so),
// and the months of reports.backfill before it are not. Before, a first
// start skipped every month without data, before or after the data, and a
// restart 30 s later made and delivered those after it as no-data reports
// (every month after the last one made): a store whose data ended in
// October 2022, started in June 2023 with backfill 12, got October on its
// first start and November to May on its restart.
func TestEmptyMonths(t *testing.T) {
	type step struct {
		fill  [2]string // runs "YYYY-MM-DD" from..to before the cycle; "": none
		at    string    // the cycle's time (a start of the daemon), "YYYY-MM-DD"
		want  string    // months made after it, "YYYY-MM/version ..."
		deliv int       // deliveries queued in all
	}
	afterOctober := "2022-10/1 2022-11/1 2022-12/1 2023-01/1 2023-02/1 2023-03/1 2023-04/1 2023-05/1"
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "restart after a first start", steps: []step{
			{fill: [2]string{"2022-10-01", "2022-11-01"}, at: "2023-06-02", want: afterOctober, deliv: 8},
			{at: "2023-06-02", want: afterOctober, deliv: 8},
		}},
		{name: "data again after months down", steps: []step{
			{fill: [2]string{"2022-10-01", "2022-11-01"}, at: "2023-06-02", want: afterOctober, deliv: 8},
			{fill: [2]string{"2023-06-10", "2023-06-11"}, at: "2023-07-02", want: afterOctober + " 2023-06/1", deliv: 9},
		}},
		{name: "nothing measured yet, then a month", steps: []step{
			{at: "2023-06-02", want: "", deliv: 0},
			{at: "2023-06-03", want: "", deliv: 0},
			{fill: [2]string{"2023-06-10", "2023-06-11"}, at: "2023-07-02", want: "2023-06/1", deliv: 1},
		}},
		{name: "results stored late before the first month made", steps: []step{
			{fill: [2]string{"2023-05-10", "2023-05-11"}, at: "2023-06-02", want: "2023-05/1", deliv: 1},
			// Another prober's March, stored late: the archive begins
			// there now, April (no data) with it.
			{fill: [2]string{"2023-03-10", "2023-03-11"}, at: "2023-06-03", want: "2023-03/1 2023-04/1 2023-05/1", deliv: 3},
		}},
		{name: "data in the middle of the backfill", steps: []step{
			{fill: [2]string{"2023-03-30", "2023-04-02"}, at: "2023-06-02", want: "2023-03/1 2023-04/1 2023-05/1", deliv: 3},
			{at: "2023-06-02", want: "2023-03/1 2023-04/1 2023-05/1", deliv: 3},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			cfg, s, day := backfillYear(t)
			hook := &fakeChannel{kind: "webhook", target: "http://127.0.0.1:1/in"}
			for i, st := range tt.steps {
				if st.fill[0] != "" {
					fill(t, s, day(st.fill[0]), day(st.fill[1]))
				}
				vs, err := cycleAt(t, cfg, s, day(st.at), "", hook)
				if err != nil {
					t.Fatal(err)
				}
				deliv := 0
				for _, v := range vs {
					ds, err := s.Deliveries(ctx, v.Month)
					if err != nil {
						t.Fatal(err)
					}
					for _, d := range ds {
						if d.Version == v.Version && d.State == store.DeliveryPending {
							deliv++
						}
					}
				}
				if g := monthVersions(vs); g != st.want || deliv != st.deliv {
					t.Errorf("start %d at %s: made %q with %d deliveries, want %q with %d", i+1, st.at, g, deliv, st.want, st.deliv)
				}
			}
		})
	}
}

func TestMonthSpans(t *testing.T) {
	for _, tc := range []struct {
		months []string
		want   string
	}{
		{nil, ""},
		{[]string{"2022-11"}, "2022-11"},
		{[]string{"2022-11", "2022-12", "2023-01"}, "2022-11..2023-01"},
		{[]string{"2021-12", "2022-01", "2022-03", "2022-05", "2022-06"}, "2021-12..2022-01, 2022-03, 2022-05..2022-06"},
	} {
		if got := monthSpans(tc.months); got != tc.want {
			t.Errorf("monthSpans(%q) = %q, want %q", tc.months, got, tc.want)
		}
	}
}

// backfillYear is a publisher's config with reports.backfill 12, its
// SQLite store in a temporary directory, and day, which reads
// "YYYY-MM-DD" as that day's start in the config's zone.
func backfillYear(t *testing.T) (*config.Config, *store.SQLite, func(string) time.Time) {
	t.Helper()
	dir := t.TempDir()
	cfg := testConfig(filepath.Join(dir, "reports"))
	cfg.Reports.Backfill = 12
	day := func(d string) time.Time {
		v, err := time.ParseInLocation("2006-01-02", d, cfg.Loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	return cfg, openStore(t, dir), day
}

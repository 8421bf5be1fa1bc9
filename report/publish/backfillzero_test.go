package publish

import "testing"

// TestBackfillZero: reports.backfill 0 makes no month that ended before
// the publisher first started, and every month that ends while it runs
// (the month it first started in included, as measured from then), made at
// the first cycle after its end, on restarts alike. Before, backfill 0 made
// no report at all: the months a cycle looked at were those of backfill
// (none) and those after the first made (none yet), so a daemon started
// with backfill 0 never made a month, however long it ran.
func TestBackfillZero(t *testing.T) {
	type step struct {
		fill [2]string // runs "YYYY-MM-DD" from..to before the cycle; "": none
		at   string    // the cycle's time (a start of the daemon), "YYYY-MM-DD"
		want string    // months made after it, "YYYY-MM/version ..."
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{name: "data last month and this month", steps: []step{
			// May was measured before the first start (reports: added
			// to a running prober): backfill 0 makes none of it.
			{fill: [2]string{"2023-05-10", "2023-06-15"}, at: "2023-06-15", want: ""},
			{fill: [2]string{"2023-06-15", "2023-06-20"}, at: "2023-06-20", want: ""}, // a restart in June
			{fill: [2]string{"2023-06-20", "2023-07-10"}, at: "2023-07-02", want: "2023-06/1"},
			{fill: [2]string{"2023-07-10", "2023-08-01"}, at: "2023-08-02", want: "2023-06/1 2023-07/1"},
		}},
		{name: "down over a month end", steps: []step{
			{fill: [2]string{"2023-05-10", "2023-06-20"}, at: "2023-06-15", want: ""},
			// Down from June 20 until August 2: June and July (no
			// data, the archive has begun) are made by the next start.
			{at: "2023-08-02", want: "2023-06/1 2023-07/1"},
		}},
		{name: "nothing measured in the month of the first start", steps: []step{
			{at: "2023-06-15", want: ""},
			// June had no run: the archive begins with July, the first
			// month with data.
			{fill: [2]string{"2023-07-05", "2023-07-06"}, at: "2023-07-02", want: ""},
			{at: "2023-08-02", want: "2023-07/1"},
			{at: "2023-09-02", want: "2023-07/1 2023-08/1"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, s, day := backfillYear(t)
			cfg.Reports.Backfill = 0
			for i, st := range tc.steps {
				if st.fill[0] != "" {
					fill(t, s, day(st.fill[0]), day(st.fill[1]))
				}
				vs, err := cycleAt(t, cfg, s, day(st.at), "", &fakeChannel{kind: "webhook", target: "http://127.0.0.1:1/in"})
				if err != nil {
					t.Fatal(err)
				}
				if g := monthVersions(vs); g != st.want {
					t.Errorf("start %d at %s: made %q, want %q", i+1, st.at, g, st.want)
				}
			}
		})
	}
}

package publish

import (
	"context"
	"errors"
	"testing"

	"github.com/slaprobe/slaprobe/store"
)

// failMonth is a store that cannot record month's first version once (a
// database that failed a write for a moment).
type failMonth struct {
	Store
	month  string
	failed bool
}

func (s *failMonth) AddReportVersion(ctx context.Context, v store.ReportVersion, ds []store.Delivery) error {
	if v.Month == s.month && !s.failed {
		s.failed = true
		return errors.New("store: begin: database is locked (5)")
	}
	return s.Store.AddReportVersion(ctx, v, ds)
}

// TestFailedMonthMadeLater: a month whose making failed (a store error)
// is made by a later cycle, and the months without data after it too,
// while the months after it with data are made at once, not held back.
// Before, the next cycle made only the months after the last one made:
// the failed month, and on a first start the months without data between
// it and the next with data, were never made, a hole in the archive that
// no later start filled.
func TestFailedMonthMadeLater(t *testing.T) {
	type cycle struct {
		fill [2]string // more runs "YYYY-MM-DD" from..to before it; "": none
		at   string    // "YYYY-MM-DD"
		fail string    // the month whose first version cannot be recorded once; "": none
		want string    // months made after it, "YYYY-MM/version ..."
		err  bool      // Cycle returns an error
	}
	for _, tc := range []struct {
		name   string
		fills  [][2]string // runs "YYYY-MM-DD" from..to
		cycles []cycle
	}{
		{name: "first start, the first month with data fails", fills: [][2]string{{"2023-03-01", "2023-06-01"}}, cycles: []cycle{
			{at: "2023-06-02", fail: "2023-03", want: "2023-04/1 2023-05/1", err: true},
			{at: "2023-06-02", want: "2023-03/1 2023-04/1 2023-05/1"},
		}},
		{name: "first start, a month with data, then one without, then one with", fills: [][2]string{{"2023-03-01", "2023-04-01"}, {"2023-05-01", "2023-06-01"}}, cycles: []cycle{
			// April has no data: not made until March is (the archive
			// begins with it).
			{at: "2023-06-02", fail: "2023-03", want: "2023-05/1", err: true},
			{at: "2023-06-02", want: "2023-03/1 2023-04/1 2023-05/1"},
		}},
		{name: "a later start, a month in the middle fails", fills: [][2]string{{"2023-01-01", "2023-06-01"}}, cycles: []cycle{
			{at: "2023-02-02", want: "2023-01/1"},
			{at: "2023-06-02", fail: "2023-03", want: "2023-01/1 2023-02/1 2023-04/1 2023-05/1", err: true},
			{at: "2023-06-02", want: "2023-01/1 2023-02/1 2023-03/1 2023-04/1 2023-05/1"},
		}},
		{name: "a revision that fails stops no new month", fills: [][2]string{{"2023-01-01", "2023-03-15"}}, cycles: []cycle{
			{at: "2023-04-02", want: "2023-01/1 2023-02/1 2023-03/1"},
			// Late runs in March: its second version (revise 1: March
			// beside April) cannot be recorded; April is made.
			{fill: [2]string{"2023-03-15", "2023-05-01"}, at: "2023-05-02", fail: "2023-03", want: "2023-01/1 2023-02/1 2023-03/1 2023-04/1", err: true},
			{at: "2023-05-02", want: "2023-01/1 2023-02/1 2023-03/1 2023-03/2 2023-04/1"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, s, day := backfillYear(t)
			for _, f := range tc.fills {
				fill(t, s, day(f[0]), day(f[1]))
			}
			for i, c := range tc.cycles {
				if c.fill[0] != "" {
					fill(t, s, day(c.fill[0]), day(c.fill[1]))
				}
				vs, cerr := cycleAt(t, cfg, &failMonth{Store: s, month: c.fail}, day(c.at), "", &fakeChannel{kind: "webhook", target: "http://127.0.0.1:1/in"})
				if g := monthVersions(vs); g != c.want || (cerr != nil) != c.err {
					t.Errorf("cycle %d at %s (%s failing once): made %q, Cycle: %v; want %q, an error: %v", i+1, c.at, c.fail, g, cerr, c.want, c.err)
				}
			}
		})
	}
}

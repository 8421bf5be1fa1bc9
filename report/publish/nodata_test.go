package publish

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/store"
)

// builtMonths is a store that records the months (in loc) its Totals is
// asked about, a report.Build's; earliestErr, when set, is Earliest's
// answer (a database that failed the read).
type builtMonths struct {
	Store
	loc         *time.Location
	earliestErr error

	mu     sync.Mutex
	months []string
}

func (b *builtMonths) Totals(ctx context.Context, q store.Query) ([]store.Rollup, error) {
	b.mu.Lock()
	if m := q.From.In(b.loc).Format("2006-01"); !slices.Contains(b.months, m) {
		b.months = append(b.months, m)
	}
	b.mu.Unlock()
	return b.Store.Totals(ctx, q)
}

func (b *builtMonths) Earliest(ctx context.Context) (time.Time, error) {
	if b.earliestErr != nil {
		return time.Time{}, b.earliestErr
	}
	return b.Store.Earliest(ctx)
}

// TestMonthsBeforeTheFirstRunNotBuilt: the months of reports.backfill
// that ended before the first stored run are known empty from one query
// (store.Earliest) and not built, at every start; the months made are as
// before. Before, every cycle built each of them (a Totals and the rest of
// a report.Build) only to find no run in it: 118 builds a cycle with
// backfill 120 and two months of data (BenchmarkPublishCycle). When the
// query fails, every month is built to tell, as before.
func TestMonthsBeforeTheFirstRunNotBuilt(t *testing.T) {
	for _, tc := range []struct {
		name        string
		fill        [2]string // runs "YYYY-MM-DD" from..to
		at          string    // the cycles' time, "YYYY-MM-DD"
		earliestErr error
		made        string // after the first cycle
		built       string // months built by the second cycle
	}{
		{name: "data in the last two months", fill: [2]string{"2023-04-01", "2023-06-01"}, at: "2023-06-02",
			made: "2023-04/1 2023-05/1", built: "2023-04 2023-05"},
		{name: "data from the middle of a month", fill: [2]string{"2023-04-20", "2023-06-01"}, at: "2023-06-02",
			made: "2023-04/1 2023-05/1", built: "2023-04 2023-05"},
		{name: "no data", at: "2023-06-02", made: "", built: ""},
		{name: "the first run not known", fill: [2]string{"2023-04-01", "2023-06-01"}, at: "2023-06-02", earliestErr: errors.New("store: earliest run: database is locked"),
			made: "2023-04/1 2023-05/1", built: "2022-06 2022-07 2022-08 2022-09 2022-10 2022-11 2022-12 2023-01 2023-02 2023-03 2023-04 2023-05"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, s, day := backfillYear(t)
			if tc.fill[0] != "" {
				fill(t, s, day(tc.fill[0]), day(tc.fill[1]))
			}
			bs := &builtMonths{Store: s, loc: cfg.Loc, earliestErr: tc.earliestErr}
			for start := 1; start <= 2; start++ {
				bs.mu.Lock()
				bs.months = nil
				bs.mu.Unlock()
				vs, err := cycleAt(t, cfg, bs, day(tc.at), "")
				if err != nil {
					t.Fatal(err)
				}
				if got := monthVersions(vs); got != tc.made {
					t.Errorf("start %d made %q, want %q", start, got, tc.made)
				}
			}
			slices.Sort(bs.months)
			if got := strings.Join(bs.months, " "); got != tc.built {
				t.Errorf("the second start built %q, want %q", got, tc.built)
			}
		})
	}
}

package daemon

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/store"
)

// runsCounter counts the Runs calls made to the store under it.
type runsCounter struct {
	*store.SQLite
	runs int
}

func (c *runsCounter) Runs(ctx context.Context, q store.Query) ([]probe.Run, error) {
	c.runs++
	return c.SQLite.Runs(ctx, q)
}

// TestReportStoreReadsRetiredFlowsAtOnce: the store the daemon's periodic
// reports read (the availability gauge's, the status page's) hands the
// report's read of its retired flows' last runs to SQLite and PostgreSQL
// in one batch (RunsEach), as slaprobe report's store does: it embedded
// store.Store, which lacks RunsEach, so every 5 minutes the gauge read a
// retired flow at a time, each read counting the whole series table.
func TestReportStoreReadsRetiredFlowsAtOnce(t *testing.T) {
	ctx := context.Background()
	sq, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "r.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sq.Close() })
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var names []string
	var runs []probe.Run
	for i := range 10 {
		n := fmt.Sprintf("f%d", i)
		names = append(names, n)
		for at := t0; at.Before(t0.Add(time.Hour)); at = at.Add(time.Minute) {
			runs = append(runs, mkRun(n, at, ""))
		}
	}
	if err := sq.AppendRuns(ctx, runs); err != nil {
		t.Fatal(err)
	}
	c := &runsCounter{SQLite: sq}
	rs := newReportStore(c, ClockworkClock(clockwork.NewFakeClockAt(t0.Add(2*time.Hour))))
	got, err := ReportAvailability(ctx, rs, testConfig(time.Minute, names[:5]...), t0, t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if c.runs != 0 {
		t.Errorf("%d Runs calls for 5 retired flows, want none (one RunsEach)", c.runs)
	}
	if _, ok := got["svc"]; !ok {
		t.Errorf("availability %v, want svc's", got)
	}
}

package daemon

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/store"
)

// countingStore counts the runs Runs returns.
type countingStore struct {
	store.Store
	runs int
}

func (c *countingStore) Runs(ctx context.Context, q store.Query) ([]probe.Run, error) {
	rs, err := c.Store.Runs(ctx, q)
	c.runs += len(rs)
	return rs, err
}

// TestRestartReadsEachFlowsOwnLookback: a restart reads, for each flow, about
// its own lookback of runs, not another's. A batch reads one range for all
// its flows, and a flow run every hour (lookback 8 h) that last ran 5
// minutes before the stop shared its batch with the flows run every
// minute (lookback 9 min), whose lookbacks overlap its range: the restart
// read 8 h of every minute flow of the batch, 490 runs each where it needs
// 10, and a batch holds 2,048 flows (a million runs in memory at once).
func TestRestartReadsEachFlowsOwnLookback(t *testing.T) {
	ctx := context.Background()
	s, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "s.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	stop := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	const minuteFlows = 20
	var fss []*flowState
	var runs []probe.Run
	last := map[string]time.Time{}
	add := func(name string, every time.Duration, lastRun time.Time) {
		f := &config.Flow{Name: name, Service: "svc", Interval: every, Timeout: 10 * time.Second, DownAfter: 3, UpAfter: 2}
		fss = append(fss, newFlowState("loc", f, nil))
		last[name] = lastRun
		for at := lastRun.Add(-10 * time.Hour); !at.After(lastRun); at = at.Add(every) {
			runs = append(runs, probe.Run{ID: fmt.Sprintf("%s-%d", name, at.Unix()), Flow: name, Service: "svc", Location: "loc",
				Start: at, Duration: time.Second, Steps: []probe.StepResult{{Step: "s", Status: probe.StatusOK, Duration: time.Second}}})
		}
	}
	add("hourly", time.Hour, stop.Add(-5*time.Minute))
	for i := range minuteFlows {
		add(fmt.Sprintf("m%02d", i), time.Minute, stop.Add(-time.Duration(i)*time.Second))
	}
	if err := s.AppendRuns(ctx, runs); err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{Store: s}
	d := &Daemon{store: cs}
	hist, err := historyOf(ctx, d, fss, last, stop.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, fs := range fss {
		if len(hist[fs.name].runs) == 0 {
			t.Errorf("no history for %s", fs.name)
		}
	}
	t.Logf("the restart read %d runs of %d flows", cs.runs, len(fss))
	// Each flow's lookback holds about 10 of its runs (the hourly one's 9);
	// 20 a flow leaves room for a batch's neighbours.
	if want := 20 * len(fss); cs.runs > want {
		t.Errorf("the restart read %d runs of %d flows, want at most %d", cs.runs, len(fss), want)
	}
}

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

// batchStore records the most runs one Runs call returned, and how many
// histories had been handed on (*handed) at each call.
type batchStore struct {
	store.Store
	most, calls int
	handed      *int
	handedAt    []int
}

func (b *batchStore) Runs(ctx context.Context, q store.Query) ([]probe.Run, error) {
	b.handedAt = append(b.handedAt, *b.handed)
	rs, err := b.Store.Runs(ctx, q)
	b.most, b.calls = max(b.most, len(rs)), b.calls+1
	return rs, err
}

// TestRestartOfSessionFlowsHoldsOneBatch: a restart reads back a ttl of a
// session flow's runs (62 of a flow run every minute with ttl 1h), a batch
// of flows at a time, and hands each batch's histories on before it reads
// the next: a batch holds about resumeBatchRuns runs, not 2,048 flows'
// lookbacks. Before, 600 such flows were one batch of 37,800 runs, and
// every history was kept until all were read: a restart of 5,000 session
// flows peaked at 338 MiB where one without sessions did at 104 (and
// 134 MiB after). Every flow still gets its whole lookback.
func TestRestartOfSessionFlowsHoldsOneBatch(t *testing.T) {
	ctx := context.Background()
	s, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "s.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	stop := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	const flows = 600
	var fss []*flowState
	var runs []probe.Run
	last := map[string]time.Time{}
	for i := range flows {
		name := fmt.Sprintf("f%03d", i)
		f := &config.Flow{Name: name, Service: "svc", Interval: time.Minute, Timeout: 10 * time.Second, DownAfter: 2, UpAfter: 1,
			Session: &config.Session{TTL: time.Hour, Steps: []config.Step{{Name: "login", Function: "login"}}},
			Steps:   []config.Step{{Name: "get", Function: "view"}}}
		fss = append(fss, newFlowState("loc", f, nil))
		lastRun := stop.Add(-time.Duration(i%60) * time.Second)
		last[name] = lastRun
		for at := lastRun.Add(-70 * time.Minute); !at.After(lastRun); at = at.Add(time.Minute) {
			r := probe.Run{ID: fmt.Sprintf("%s-%d", name, at.Unix()), Flow: name, Service: "svc", Location: "loc", Start: at, Duration: time.Second,
				Steps: []probe.StepResult{{Step: "get", Function: "view", Status: probe.StatusOK, Duration: time.Second}}}
			if at.Sub(lastRun)%time.Hour == 0 {
				r.Steps = append([]probe.StepResult{{Step: "login", Function: "login", Status: probe.StatusOK, Duration: time.Second}}, r.Steps...)
			}
			runs = append(runs, r)
		}
	}
	if err := s.AppendRuns(ctx, runs); err != nil {
		t.Fatal(err)
	}
	handed := 0
	bs := &batchStore{Store: s, handed: &handed}
	d := &Daemon{store: bs}
	hist := map[string]history{}
	if err := d.recentHistory(ctx, "loc", fss, last, stop.Add(time.Minute), func(fs *flowState, h history) { hist[fs.name] = h; handed++ }); err != nil {
		t.Fatal(err)
	}
	if bs.calls < 2 || bs.handedAt[1] == 0 {
		t.Errorf("%d batches, histories handed on before each: %v; want the first batch's handed on before the second is read", bs.calls, bs.handedAt)
	}
	for _, fs := range fss {
		h := hist[fs.name]
		if len(h.runs) < 61 || !h.runs[0].Start.Before(last[fs.name].Add(-time.Hour+time.Second)) {
			t.Fatalf("%s: %d runs read back from %v, want its lookback: a ttl (the login at %v) and more", fs.name, len(h.runs), h.runs[0].Start, last[fs.name].Add(-time.Hour))
		}
	}
	if limit := resumeBatchRuns + resumeBatchRuns/4; bs.most > limit {
		t.Errorf("one batch read %d runs (%d batches), want at most about resumeBatchRuns, %d", bs.most, bs.calls, limit)
	}
}

package report

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/store"
	"github.com/slaprobe/slaprobe/store/storetest"
)

// The live benchmark's data: 1,000 flows of three steps at seoul-a over 10
// days, every 10 minutes for the first 4 (the run's interval stored) and
// then every hour for two flows in three (a reload lengthened them; the
// third ran hourly throughout); one flow in twenty stopped 3 hours before
// the end. Runs staggered over the hour.
const (
	liveBenchFlows = 1000
	liveBenchDays  = 10
)

// liveBenchDB returns the path of the live benchmark's SQLite database,
// built once under os.TempDir() (a ".done" file beside it marks it
// complete).
func liveBenchDB(b *testing.B) string {
	name := fmt.Sprintf("slaprobe-bench-report-live-lengthened-%dflows-%ddays", liveBenchFlows, liveBenchDays)
	return storetest.CachedSQLite(b, name, func(ctx context.Context, s *store.SQLite) error {
		end := benchStart.AddDate(0, 0, liveBenchDays)
		reload := benchStart.AddDate(0, 0, 4)
		var batch []probe.Run
		for i := 0; i < liveBenchFlows; i++ {
			stagger := time.Duration(i) * time.Hour / liveBenchFlows
			stop := end
			if i%20 == 19 {
				stop = end.Add(-3 * time.Hour)
			}
			for at := benchStart.Add(stagger); at.Before(stop); {
				ivl := time.Hour
				if i%3 != 0 && at.Before(reload) {
					ivl = 10 * time.Minute
				}
				r := probe.Run{ID: fmt.Sprintf("%d-%d", i, at.UnixNano()), Flow: storetest.FlowName(i), Service: storetest.ServiceName(i), Location: "seoul-a",
					Start: at, Duration: 300 * time.Millisecond, Interval: ivl}
				for j := 0; j < 3; j++ {
					r.Steps = append(r.Steps, probe.StepResult{Step: storetest.StepName(j), Function: storetest.StepName(j), Status: probe.StatusOK, Duration: 100 * time.Millisecond})
				}
				batch = append(batch, r)
				if len(batch) == 5000 {
					if err := s.AppendRuns(ctx, batch); err != nil {
						return err
					}
					batch = batch[:0]
				}
				at = at.Add(ivl)
			}
		}
		return s.AppendRuns(ctx, batch)
	})
}

// BenchmarkLiveAfterLengthening is the build of the availability gauge and
// the status page (the period ends now) as of the data's end over
// liveBenchDB, the config at 1 h for every flow: what a running daemon
// pays at every build after a reload lengthened most flows' interval.
// last-runs/op is how many last runs the build read (lastRunsAtEnd): the
// 50 stopped flows' are needed.
//
//	go test ./report/ -run '^$' -bench LiveAfterLengthening -benchmem -count 6
func BenchmarkLiveAfterLengthening(b *testing.B) {
	path := liveBenchDB(b)
	st, err := store.OpenSQLite(context.Background(), path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s := &lastReadStore{Store: st}
	cfg := benchConfig(liveBenchFlows, time.Hour)
	end := benchStart.AddDate(0, 0, liveBenchDays)
	in := Input{Config: cfg, Store: s, From: benchStart, To: end, Now: end}
	ctx := context.Background()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		rep, err := Build(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Services) != len(cfg.Services) {
			b.Fatalf("services %d", len(rep.Services))
		}
		n++
	}
	b.ReportMetric(float64(s.last)/float64(n), "last-runs/op")
}

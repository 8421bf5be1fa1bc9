package report

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/store"
)

// lastReadStore counts the last runs a report reads (lastQuery's
// one-nanosecond ranges, by Runs or RunsEach).
type lastReadStore struct {
	store.Store
	last int
}

func (s *lastReadStore) count(qs ...store.Query) {
	for _, q := range qs {
		if q.To.Sub(q.From) == time.Nanosecond {
			s.last++
		}
	}
}

func (s *lastReadStore) Runs(ctx context.Context, q store.Query) ([]probe.Run, error) {
	s.count(q)
	return s.Store.Runs(ctx, q)
}

func (s *lastReadStore) RunsEach(ctx context.Context, qs []store.Query) ([][]probe.Run, error) {
	s.count(qs...)
	return store.RunsEach(ctx, s.Store, qs)
}

// TestLiveFiguresReadOnlyStoppedLocationsLastRuns: figures made as of now
// (the gauge's, the status page's: the period ends now) read the last run
// of a location only where that run's own interval says it stopped (no run
// for more than two of it: Span.LastInterval, kept with the rollups), not
// where the shortest interval its runs had in the period does: after a
// reload that lengthened a flow's interval (10 s to 60 s at 10:30), a
// location still running every 60 s was read at every build for the rest
// of the period (the shortest, 10 s, said it may have stopped 20 s after
// its last run). A flow moved from one service to another at a location is
// judged by the later series' last run, not read for the older one's. The
// figures are those of the state machine either way, and once the raw runs
// are pruned too (the rollups' interval of the last run: before, the
// config's, and no unknown after a run every 10 s stopped 25 s before). Config 60 s, the
// period 10:00 to now (11:00). SQLite, the in-memory store and PostgreSQL.
func TestLiveFiguresReadOnlyStoppedLocationsLastRuns(t *testing.T) {
	h := hourStart
	type leg struct {
		ivl      time.Duration
		from, to time.Duration // runs at from, from+ivl, ... up to and including to, after 10:00
		service  string        // "" messaging
	}
	tests := []struct {
		name    string
		legs    []leg
		reads   int
		unknown float64
		pruned  bool // the raw runs pruned: the rollups' interval judges
	}{
		{"10s to 60s, running", []leg{{10 * time.Second, -10*time.Minute + 5*time.Second, 29*time.Minute + 55*time.Second, ""}, {time.Minute, 30*time.Minute + 5*time.Second, 59*time.Minute + 5*time.Second, ""}}, 0, 0, false},
		// Last run 10:50:05, of 60 s: unknown from 10:51:05.
		{"10s to 60s, stopped at 10:50", []leg{{10 * time.Second, -10*time.Minute + 5*time.Second, 29*time.Minute + 55*time.Second, ""}, {time.Minute, 30*time.Minute + 5*time.Second, 50*time.Minute + 5*time.Second, ""}}, 1, 535, false},
		// Last run 10:59:35, of 10 s (the reload had not reached it):
		// unknown from 10:59:45.
		{"10s, stopped 25s before now", []leg{{10 * time.Second, -10*time.Minute + 5*time.Second, 59*time.Minute + 35*time.Second, ""}}, 1, 15, false},
		{"10s, stopped 25s before now, pruned", []leg{{10 * time.Second, -10*time.Minute + 5*time.Second, 59*time.Minute + 35*time.Second, ""}}, 1, 15, true},
		{"60s to 10s, running", []leg{{time.Minute, -10*time.Minute + 5*time.Second, 29*time.Minute + 5*time.Second, ""}, {10 * time.Second, 29*time.Minute + 15*time.Second, 59*time.Minute + 55*time.Second, ""}}, 0, 0, false},
		{"60s, running", []leg{{time.Minute, -10*time.Minute + 5*time.Second, 59*time.Minute + 5*time.Second, ""}}, 0, 0, false},
		// Under "legacy" every 10 s until 10:20, then under messaging
		// every 60 s: the location is messaging's, running.
		{"moved from another service, 10s to 60s, running", []leg{{10 * time.Second, -10*time.Minute + 5*time.Second, 19*time.Minute + 55*time.Second, "legacy"}, {time.Minute, 20*time.Minute + 5*time.Second, 59*time.Minute + 5*time.Second, ""}}, 0, 0, false},
	}
	for _, st := range confirmStores() {
		for _, tc := range tests {
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				s := &lastReadStore{Store: st.open(t)}
				var runs []probe.Run
				var ivls []time.Duration
				for _, l := range tc.legs {
					for at := h.Add(l.from); !at.After(h.Add(l.to)); at = at.Add(l.ivl) {
						r := mkRun("seoul-a", at, "ok")
						if l.service != "" {
							r.Service = l.service
						}
						runs = append(runs, r)
						ivls = append(ivls, l.ivl)
					}
				}
				loadRanAt(t, s.Store, testConfig("UTC", time.Minute), runs, ivls, true)
				now := h.Add(time.Hour)
				if tc.pruned {
					if _, err := s.Prune(context.Background(), store.Cutoffs{Runs: now}, 1000); err != nil {
						t.Fatal(err)
					}
				}
				rep, err := Build(context.Background(), Input{Config: testConfig("UTC", time.Minute), Store: s, From: h, To: now, Now: now})
				if err != nil {
					t.Fatal(err)
				}
				if s.last != tc.reads {
					t.Errorf("read %d last runs, want %d", s.last, tc.reads)
				}
				if got := rep.Services[0].UnknownSeconds; !near(got, tc.unknown) {
					t.Errorf("unknown %v s, want %v", got, tc.unknown)
				}
			})
		}
	}
}

package store

import (
	"context"
	"sort"
	"time"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

// Store keeps run results, rollups and state events. SQLite and PostgreSQL
// implement it; one contract test suite runs against both.
//
// Append* calls are synchronous and transactional: when they return nil the
// data is committed and survives a crash. The daemon does not call them per
// result; it goes through a Writer, which batches.
type Store interface {
	// AppendRuns commits runs (and their step results) in one transaction,
	// and folds them into the minute and hour rollups in the same transaction.
	AppendRuns(ctx context.Context, runs []probe.Run) error
	// AppendEvents commits state events in one transaction.
	AppendEvents(ctx context.Context, events []state.Event) error

	// Runs returns the runs that started in [q.From, q.To), ordered by flow,
	// location and start, with their steps.
	Runs(ctx context.Context, q Query) ([]probe.Run, error)
	// Rollups returns the rollup rows of the given granularity whose bucket
	// starts in [q.From, q.To).
	Rollups(ctx context.Context, g Granularity, q Query) ([]Rollup, error)
	// Totals returns, per flow, location and step (and per flow and
	// location for whole runs, Step ""), the results of the runs that
	// started in [q.From, q.To) summed over the range, Bucket q.From: hour
	// rollups for the whole hours inside it, minute rollups for the whole
	// minutes at its edges, raw runs for the partial minutes at its very
	// edges (see Horizon for what pruning has removed). Its memory does not
	// grow with the length of the range. A row's Hist may stop before the
	// last slot (nil when no duration was counted): the slots past its end
	// are zero (a step's durations fill a few of the hundred slots).
	Totals(ctx context.Context, q Query) ([]Rollup, error)
	// Windows returns the windows (down, degraded, unknown) that overlap
	// [q.From, q.To), rebuilt from the stored events; open ones have a zero End.
	Windows(ctx context.Context, q Query) ([]state.Window, error)
	// OpenWindows returns the windows still open at location (for a restart).
	OpenWindows(ctx context.Context, location string) ([]state.Window, error)
	// LastRuns returns, per flow, the start of its last stored run at location
	// (for a restart: the scheduler resumes each flow's rhythm from there).
	LastRuns(ctx context.Context, location string) (map[string]time.Time, error)
	// Coverage returns, per flow and location, the first and last run start
	// in [q.From, q.To) and the number of runs, read as Totals reads: First
	// is never before q.From, Last never at or after q.To.
	Coverage(ctx context.Context, q Query) ([]Span, error)

	// Prune deletes, in one short transaction, at most batch rows older
	// than the cutoffs, oldest first: raw runs, then minute rollups, then
	// hour rollups and the events of windows that ended before c.Hour. It
	// returns how many rows it deleted; fewer than batch means nothing more
	// is due. Every delete is an index range scan, however large the table.
	Prune(ctx context.Context, c Cutoffs, batch int) (int, error)
	// Horizon returns from when on each kind of data is complete: before
	// it, Prune has deleted some.
	Horizon(ctx context.Context) (Horizon, error)
	// Earliest returns a time no stored run started before, raw or rolled
	// up, at most an hour before the earliest: the start of the hour
	// rollup's bucket that holds it (else the minute's, else its start);
	// zero when no run is stored. Three index reads, whatever the store's
	// size: that a range before it holds nothing is known without reading
	// the range.
	Earliest(ctx context.Context) (time.Time, error)
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close flushes and closes the database.
	Close() error
}

// Cutoffs say what Prune deletes; a zero time deletes nothing of its kind.
type Cutoffs struct {
	Runs   time.Time // raw runs that started before it
	Minute time.Time // minute rollups whose bucket starts before it
	Hour   time.Time // hour rollups whose bucket starts before it, and windows that ended before it
}

// Horizon is from when on each kind of data is complete; zero: nothing of
// that kind was ever pruned.
type Horizon struct {
	Runs, Minute, Hour time.Time
}

// Query selects a time range and, optionally, flows and a location.
type Query struct {
	From, To time.Time
	Flows    []string // empty: all
	Location string   // "": all
	// RunsOnly asks Totals for the run-level rows alone (Step ""), without
	// histograms: the counts an availability figure needs. The per-step
	// rows and every histogram are most of what Totals reads and builds,
	// and the status page and the availability gauge show no latency.
	RunsOnly bool
}

// Span is the first and last run of a flow at a location in a range
// (confirm runs included), its scheduled runs (Runs) and its confirm runs
// (Confirm, see probe.Run.Confirm), and LastInterval, the interval its run
// at Last was made with (probe.Run.Interval, kept in the rollups since
// schema version 16; of two runs at Last, the longer): what a report
// judges the stretch after Last by, read at no cost, 0 where it is not
// known (stored before schema version 15, or rolled up before 16).
type Span struct {
	Flow, Service, Location string
	First, Last             time.Time
	Runs                    int64
	Confirm                 int64
	LastInterval            time.Duration
}

// JoinLast is the Last and LastInterval of two spans of one series (or of
// one location's series) joined: the later Last's interval, the longer of
// two at the same Last, 0 meaning not known.
func JoinLast(aLast time.Time, aIvl time.Duration, bLast time.Time, bIvl time.Duration) (time.Time, time.Duration) {
	ivl := time.Duration(lastInterval(aLast.UnixNano(), int64(aIvl), bLast.UnixNano(), int64(bIvl)))
	if bLast.After(aLast) {
		return bLast, ivl
	}
	return aLast, ivl
}

// Granularity of a rollup.
type Granularity string

// Rollup granularities.
const (
	Minute Granularity = "minute"
	Hour   Granularity = "hour"
)

// Rollup aggregates the results of one step (or, with Step "", whole runs) of
// one flow at one location over one bucket.
type Rollup struct {
	Bucket   time.Time // start of the minute or hour, UTC
	Service  string
	Flow     string
	Step     string // "" for the run-level row
	Function string // "" for the run-level row
	Location string
	OK       int64
	Failed   int64
	Degraded int64
	NotRun   int64
	// Hist counts durations by LatencyBounds: Hist[i] counts durations <=
	// LatencyBounds()[i] (and > the bound before); the last extra element
	// counts everything above the last bound.
	Hist       []int64
	SumSeconds float64
	// Confirm, on the run-level row, counts the confirm runs (probe.Run.Confirm)
	// the row leaves out: OK, Failed, Degraded, NotRun and Hist count
	// scheduled runs only, on every row. 0 on step rows.
	Confirm int64
}

// Runs is the number of results the row counts. For the run-level row
// (Step "") that is the number of scheduled runs (Confirm counts the others); for a step, the runs that reached
// it and those that stopped before it (NotRun). This is the one definition of
// "runs" of a rollup: reports and Coverage both count it.
func (r *Rollup) Runs() int64 { return runsOf(r.OK, r.Failed, r.Degraded, r.NotRun) }

// SortTotals sorts rows in the order Totals returns them: by flow,
// location, service and step.
func SortTotals(rows []Rollup) {
	sort.Slice(rows, func(i, j int) bool { // by index: a Rollup is too large to compare by value
		a, b := &rows[i], &rows[j]
		if a.Flow != b.Flow {
			return a.Flow < b.Flow
		}
		if a.Location != b.Location {
			return a.Location < b.Location
		}
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return a.Step < b.Step
	})
}

func runsOf(ok, failed, degraded, notRun int64) int64 { return ok + failed + degraded + notRun }

// LatencyBounds are the upper bounds of the rollup latency histogram, from
// 1 ms to 60 s, roughly 12% apart, so that p50/p95/p99 read from rollups are
// within about 6% of the exact value.
func LatencyBounds() []time.Duration {
	out := make([]time.Duration, 0, 100)
	for d := float64(time.Millisecond); d <= float64(60*time.Second)*1.0001; d *= 1.12 {
		out = append(out, time.Duration(d))
	}
	return out
}

// Quantile returns the q-quantile (0..1) of a histogram laid out as in Rollup,
// interpolated inside the bucket it falls in; 0 when the histogram is empty.
func Quantile(hist []int64, bounds []time.Duration, q float64) time.Duration {
	var total int64
	for _, c := range hist {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var seen float64
	for i, c := range hist {
		if c == 0 {
			continue
		}
		if seen+float64(c) >= rank {
			lo := time.Duration(0)
			if i > 0 {
				lo = bounds[i-1]
			}
			hi := lo
			if i < len(bounds) {
				hi = bounds[i]
			}
			frac := (rank - seen) / float64(c)
			return lo + time.Duration(frac*float64(hi-lo))
		}
		seen += float64(c)
	}
	return bounds[len(bounds)-1]
}

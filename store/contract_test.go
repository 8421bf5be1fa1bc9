package store

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// mkRun builds a realistic run of flow at location starting at start: login,
// send, receive; failAt >= 0 makes that step fail and the later ones not run.
// Each step that ran ends d after the one before it (StepResult.Ended).
func mkRun(flow, loc string, start time.Time, failAt int, d time.Duration) probe.Run {
	steps := []struct{ step, fn string }{{"login", "login"}, {"send", "send"}, {"receive", "receive"}}
	r := probe.Run{ID: fmt.Sprintf("%s-%s-%d", flow, loc, start.UnixNano()), Flow: flow, Service: "messaging", Location: loc, Start: start}
	for i, s := range steps {
		sr := probe.StepResult{Step: s.step, Function: s.fn, Status: probe.StatusOK, HTTPStatus: 200, Duration: d, Attempts: 1,
			Phases: probe.Phases{Resolve: time.Millisecond, Connect: 2 * time.Millisecond, TLS: 3 * time.Millisecond, Processing: d / 2, Transfer: time.Microsecond}}
		switch {
		case failAt >= 0 && i == failAt:
			sr.Status, sr.HTTPStatus, sr.Error = probe.StatusFailed, 503, "status 503, want 200"
		case failAt >= 0 && i > failAt:
			sr = probe.StepResult{Step: s.step, Function: s.fn, Status: probe.StatusNotRun}
		}
		if sr.Status != probe.StatusNotRun {
			r.Duration += sr.Duration
			sr.Ended = r.Duration // kept as it is (stepsFormat), in both stores
		}
		r.Steps = append(r.Steps, sr)
	}
	return r
}

func flows(rs []probe.Run) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Flow+"@"+r.Location+"@"+r.Start.Format("15:04:05"))
	}
	return out
}

// testStore is the contract every Store implementation must meet. open
// returns a fresh, empty store that the test owns.
func testStore(t *testing.T, open func(t *testing.T) Store) {
	ctx := context.Background()

	// RunsEach (SQLite and PostgreSQL) is Runs of each query, the point
	// queries of a report's last runs (From to From+1ns) read many to a
	// statement: 250 of them (more than one statement's pointsPerRead, the
	// last statement padded), a flow in two services at one location, a
	// point with no run, the same point twice, and range queries between.
	t.Run("runs each is runs of each query", func(t *testing.T) {
		s := open(t)
		b, ok := s.(interface {
			RunsEach(context.Context, []Query) ([][]probe.Run, error)
		})
		if !ok {
			t.Skip("this store has no RunsEach: reports call Runs for each query (report.runsAt)")
		}
		var runs []probe.Run
		var qs []Query
		for i := range 125 {
			at := t0.Add(time.Duration(i) * time.Minute)
			r := mkRun(fmt.Sprintf("f%03d", i%40), "seoul", at, i%3-1, time.Duration(i)*time.Millisecond)
			other := r
			other.ID, other.Service = r.ID+"-maps", "maps"
			runs = append(runs, r, other)
			qs = append(qs, Query{From: at, To: at.Add(time.Nanosecond), Flows: []string{r.Flow}, Location: "seoul"})
			qs = append(qs, Query{From: at.Add(time.Second), To: at.Add(time.Second + time.Nanosecond), Flows: []string{r.Flow}, Location: "seoul"}) // no run
			if i%50 == 0 {
				qs = append(qs, qs[len(qs)-2], Query{From: t0, To: at.Add(time.Minute), Flows: []string{r.Flow, "f007"}})
			}
		}
		if err := s.AppendRuns(ctx, runs); err != nil {
			t.Fatal(err)
		}
		got, err := b.RunsEach(ctx, qs)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(qs) {
			t.Fatalf("%d answers for %d queries", len(got), len(qs))
		}
		points := 0
		for i, q := range qs {
			want, err := s.Runs(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if q.To.Sub(q.From) == time.Nanosecond && len(want) > 0 {
				points++
			}
			if !reflect.DeepEqual(got[i], want) {
				t.Errorf("query %d (%s %s..%s): RunsEach gave %d runs %v, Runs %d %v", i, q.Flows, q.From.Format("15:04:05"), q.To.Format("15:04:05"), len(got[i]), got[i], len(want), want)
			}
		}
		if points != 128 {
			t.Errorf("%d point queries found runs, want 128 (125 and the 3 asked twice)", points)
		}
	})

	t.Run("runs round trip and filters", func(t *testing.T) {
		s := open(t)
		var runs []probe.Run
		for i := 0; i < 6; i++ {
			at := t0.Add(time.Duration(i) * time.Minute)
			runs = append(runs, mkRun("b-flow", "seoul", at, -1, 40*time.Millisecond))
			runs = append(runs, mkRun("a-flow", "busan", at, i%3-1, 80*time.Millisecond))
			runs = append(runs, mkRun("a-flow", "seoul", at.Add(time.Second), -1, time.Second))
		}
		nosteps := probe.Run{ID: "empty", Flow: "c-flow", Service: "maps", Location: "seoul", Start: t0.Add(90 * time.Second), Duration: time.Millisecond}
		runs = append(runs, nosteps)
		if err := s.AppendRuns(ctx, runs[:7]); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendRuns(ctx, runs[7:]); err != nil {
			t.Fatal(err)
		}
		all, err := s.Runs(ctx, Query{From: t0, To: t0.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != len(runs) {
			t.Fatalf("got %d runs, want %d", len(all), len(runs))
		}
		byID := map[string]probe.Run{}
		for _, r := range all {
			byID[r.ID] = r
		}
		for _, want := range runs {
			got := byID[want.ID]
			if !got.Start.Equal(want.Start) {
				t.Errorf("run %s start %v, want %v", want.ID, got.Start, want.Start)
			}
			got.Start = want.Start
			if !reflect.DeepEqual(got, want) {
				t.Errorf("run %s:\n got %+v\nwant %+v", want.ID, got, want)
			}
		}
		tests := []struct {
			name string
			q    Query
			want []string
		}{
			{"one flow", Query{From: t0, To: t0.Add(2 * time.Minute), Flows: []string{"b-flow"}},
				[]string{"b-flow@seoul@00:00:00", "b-flow@seoul@00:01:00"}},
			{"location", Query{From: t0.Add(time.Minute), To: t0.Add(2 * time.Minute), Location: "seoul"},
				[]string{"a-flow@seoul@00:01:01", "b-flow@seoul@00:01:00", "c-flow@seoul@00:01:30"}},
			{"ordered by flow, location, start; To exclusive", Query{From: t0, To: t0.Add(time.Minute + time.Second)},
				[]string{"a-flow@busan@00:00:00", "a-flow@busan@00:01:00", "a-flow@seoul@00:00:01", "b-flow@seoul@00:00:00", "b-flow@seoul@00:01:00"}},
			{"two flows", Query{From: t0.Add(5 * time.Minute), To: t0.Add(time.Hour), Flows: []string{"a-flow", "c-flow"}},
				[]string{"a-flow@busan@00:05:00", "a-flow@seoul@00:05:01"}},
			{"unknown flow", Query{From: t0, To: t0.Add(time.Hour), Flows: []string{"nope"}}, nil},
			{"empty range", Query{From: t0.Add(time.Hour), To: t0.Add(2 * time.Hour)}, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.Runs(ctx, tc.q)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(flows(got), tc.want) {
					t.Errorf("got %v, want %v", flows(got), tc.want)
				}
			})
		}
	})

	t.Run("bad input", func(t *testing.T) {
		s := open(t)
		bad := mkRun("f", "seoul", t0, -1, time.Millisecond)
		bad.Steps[1].Status = "exploded"
		tests := []struct {
			name string
			err  error
			want string
		}{
			{"no flow", s.AppendRuns(ctx, []probe.Run{{ID: "x", Location: "l", Start: t0}}), "no flow"},
			{"no location", s.AppendRuns(ctx, []probe.Run{{ID: "x", Flow: "f", Start: t0}}), "no location"},
			{"bad status", s.AppendRuns(ctx, []probe.Run{bad}), `unknown status "exploded"`},
			{"year 1900", s.AppendRuns(ctx, []probe.Run{mkRun("f", "l", time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), -1, 0)}), "outside"},
			{"bad op", s.AppendEvents(ctx, []state.Event{{Op: "flip"}}), "unknown op"},
			{"bad kind", s.AppendEvents(ctx, []state.Event{{Op: state.OpOpen, Window: state.Window{Kind: "sideways"}}}), "unknown window kind"},
			{"close without end", s.AppendEvents(ctx, []state.Event{{Op: state.OpClose, Window: state.Window{Key: state.Key{Flow: "f", Location: "l"}, Kind: state.KindDown, Start: t0}}}), "no end"},
			{"granularity", func() error { _, err := s.Rollups(ctx, "fortnight", Query{}); return err }(), "unknown rollup granularity"},
			{"prune batch", func() error { _, err := s.Prune(ctx, Cutoffs{Runs: t0}, 0); return err }(), "batch must be positive"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
					t.Errorf("error %v, want one containing %q", tc.err, tc.want)
				}
			})
		}
		if got, err := s.Runs(ctx, Query{}); err != nil || len(got) != 0 {
			t.Errorf("after rejected appends: %d runs, %v; want none stored", len(got), err)
		}
	})

	t.Run("rollups", func(t *testing.T) {
		s := open(t)
		// 10 runs in minute 0 (two batches, so the upsert merges), 4 of them
		// failing at send; 1 run in minute 1; one run in the next hour.
		var b1, b2 []probe.Run
		for i := 0; i < 10; i++ {
			fail := -1
			if i < 4 {
				fail = 1
			}
			r := mkRun("f", "seoul", t0.Add(time.Duration(i)*5*time.Second), fail, time.Duration(10*(i+1))*time.Millisecond)
			if i%2 == 0 {
				b1 = append(b1, r)
			} else {
				b2 = append(b2, r)
			}
		}
		b2 = append(b2, mkRun("f", "seoul", t0.Add(time.Minute), -1, 500*time.Millisecond))
		b2 = append(b2, mkRun("f", "seoul", t0.Add(time.Hour+time.Second), -1, 500*time.Millisecond))
		deg := mkRun("f", "seoul", t0.Add(time.Minute+time.Second), -1, 3*time.Second)
		deg.Steps[0].Status = probe.StatusDegraded
		b2 = append(b2, deg)
		for _, b := range [][]probe.Run{b1, b2} {
			if err := s.AppendRuns(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		mins, err := s.Rollups(ctx, Minute, Query{From: t0, To: t0.Add(2 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		get := func(rs []Rollup, bucket time.Time, step string) Rollup {
			t.Helper()
			for _, r := range rs {
				if r.Bucket.Equal(bucket) && r.Step == step {
					return r
				}
			}
			t.Fatalf("no rollup for %v step %q in %d rows", bucket, step, len(rs))
			return Rollup{}
		}
		bounds := LatencyBounds()
		tests := []struct {
			name                        string
			r                           Rollup
			fn                          string
			ok, failed, degraded, notRn int64
			sum                         float64
			p50                         time.Duration
		}{
			{"minute run level", get(mins, t0, ""), "", 6, 4, 0, 0, 2*0.1 + 3*0.45, 0}, // failing runs took 2 steps
			{"minute login", get(mins, t0, "login"), "login", 10, 0, 0, 0, 0.55, 55 * time.Millisecond},
			{"minute send", get(mins, t0, "send"), "send", 6, 4, 0, 0, 0.55, 55 * time.Millisecond},
			{"minute receive", get(mins, t0, "receive"), "receive", 6, 0, 0, 4, 0.45, 80 * time.Millisecond},
			{"second minute run level", get(mins, t0.Add(time.Minute), ""), "", 1, 0, 1, 0, 1.5 + 9, 0},
			{"second minute login", get(mins, t0.Add(time.Minute), "login"), "login", 1, 0, 1, 0, 3.5, 0},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := tc.r
				if r.Flow != "f" || r.Service != "messaging" || r.Location != "seoul" || r.Function != tc.fn {
					t.Errorf("labels %+v", r)
				}
				if r.OK != tc.ok || r.Failed != tc.failed || r.Degraded != tc.degraded || r.NotRun != tc.notRn {
					t.Errorf("counts ok=%d failed=%d degraded=%d not_run=%d, want %d %d %d %d", r.OK, r.Failed, r.Degraded, r.NotRun, tc.ok, tc.failed, tc.degraded, tc.notRn)
				}
				if len(r.Hist) != len(bounds)+1 {
					t.Fatalf("hist has %d slots, want %d", len(r.Hist), len(bounds)+1)
				}
				var n int64
				for _, c := range r.Hist {
					n += c
				}
				if n != r.OK+r.Failed+r.Degraded {
					t.Errorf("hist counts %d samples, want %d", n, r.OK+r.Failed+r.Degraded)
				}
				if tc.sum > 0 && (r.SumSeconds < tc.sum*0.999 || r.SumSeconds > tc.sum*1.001) {
					t.Errorf("sum %v s, want %v", r.SumSeconds, tc.sum)
				}
				if tc.p50 > 0 {
					got := Quantile(r.Hist, bounds, 0.5)
					if d := float64(got-tc.p50) / float64(tc.p50); d < -0.13 || d > 0.13 {
						t.Errorf("p50 %v, want about %v", got, tc.p50)
					}
				}
			})
		}
		hours, err := s.Rollups(ctx, Hour, Query{From: t0, To: t0.Add(2 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if h := get(hours, t0, ""); h.OK != 7 || h.Failed != 4 || h.Degraded != 1 {
			t.Errorf("hour run level %d/%d/%d, want 7/4/1", h.OK, h.Failed, h.Degraded)
		}
		if h := get(hours, t0.Add(time.Hour), "receive"); h.OK != 1 {
			t.Errorf("second hour receive ok=%d, want 1", h.OK)
		}
		if len(hours) != 8 {
			t.Errorf("%d hour rows, want 8 (2 hours x run + 3 steps)", len(hours))
		}
		filtered, err := s.Rollups(ctx, Minute, Query{From: t0, To: t0.Add(2 * time.Hour), Location: "elsewhere"})
		if err != nil || len(filtered) != 0 {
			t.Errorf("location filter: %d rows, %v", len(filtered), err)
		}
		ranged, err := s.Rollups(ctx, Minute, Query{From: t0.Add(time.Minute), To: t0.Add(time.Hour)})
		if err != nil || len(ranged) != 4 {
			t.Errorf("range filter: %d rows, %v; want 4", len(ranged), err)
		}
	})

	t.Run("windows and open windows", func(t *testing.T) {
		s := open(t)
		key := state.Key{Service: "messaging", Flow: "f", Location: "seoul"}
		fkey := key
		fkey.Function = "receive"
		other := key
		other.Location = "busan"
		w1 := state.Window{Key: key, Kind: state.KindDown, Start: t0.Add(10 * time.Minute), Confirmed: t0.Add(11 * time.Minute), CauseStep: "send", Error: "status 503"}
		w1c := w1
		w1c.End = t0.Add(20 * time.Minute)
		w2 := state.Window{Key: fkey, Kind: state.KindDown, Start: t0.Add(30 * time.Minute), Confirmed: t0.Add(31 * time.Minute), CauseStep: "receive", Error: "message never arrived"}
		unk := state.Window{Key: key, Kind: state.KindUnknown, Start: t0.Add(40 * time.Minute), End: t0.Add(45 * time.Minute), Confirmed: t0.Add(40 * time.Minute)}
		w3 := state.Window{Key: other, Kind: state.KindDegraded, Start: t0.Add(50 * time.Minute), Confirmed: t0.Add(51 * time.Minute), CauseStep: "login", Error: "slow"}
		evs := []state.Event{{Op: state.OpOpen, Window: w1}, {Op: state.OpOpen, Window: w2}}
		if err := s.AppendEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendEvents(ctx, []state.Event{{Op: state.OpClose, Window: w1c}, {Op: state.OpClose, Window: unk}, {Op: state.OpOpen, Window: w3}}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			q    Query
			want []state.Window
		}{
			{"all", Query{From: t0, To: t0.Add(time.Hour)}, []state.Window{w1c, w2, unk, w3}},
			{"closed before range is left out, open ones stay", Query{From: t0.Add(25 * time.Minute), To: t0.Add(time.Hour)}, []state.Window{w2, unk, w3}},
			{"starting after range is left out", Query{From: t0, To: t0.Add(15 * time.Minute)}, []state.Window{w1c}},
			{"end is exclusive of From", Query{From: t0.Add(20 * time.Minute), To: t0.Add(25 * time.Minute)}, nil},
			{"location", Query{From: t0, To: t0.Add(time.Hour), Location: "busan"}, []state.Window{w3}},
			{"flow", Query{From: t0, To: t0.Add(time.Hour), Flows: []string{"g"}}, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.Windows(ctx, tc.q)
				if err != nil {
					t.Fatal(err)
				}
				assertWindows(t, got, tc.want)
			})
		}
		open, err := s.OpenWindows(ctx, "seoul")
		if err != nil {
			t.Fatal(err)
		}
		assertWindows(t, open, []state.Window{w2})
		open, err = s.OpenWindows(ctx, "busan")
		if err != nil {
			t.Fatal(err)
		}
		assertWindows(t, open, []state.Window{w3})
	})

	t.Run("causes and edge runs survive a restart", func(t *testing.T) {
		s := open(t)
		key := state.Key{Service: "messaging", Flow: "f", Function: "media", Location: "seoul"}
		at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
		login := state.Cause{Step: "login", Error: "login: connection refused", From: at(10)}
		media := state.Cause{Step: "media", Error: "media: status 503, want 201", From: at(30)}
		thumb := state.Cause{Step: "thumb", Error: "thumb: timeout after 5s", From: at(40)}
		w := state.Window{Key: key, Kind: state.KindDown, Start: at(10), Confirmed: at(11), CauseStep: login.Step, Error: login.Error,
			LastBefore: at(9), Causes: []state.Cause{login}}
		// The window opened with one cause, another came while it was
		// open, then the daemon restarted: OpenWindows must give both.
		l2 := login
		l2.To = media.From
		w2 := w
		w2.Causes = []state.Cause{l2, media}
		if err := s.AppendEvents(ctx, []state.Event{{Op: state.OpOpen, Window: w}, {Op: state.OpCause, Window: w2}}); err != nil {
			t.Fatal(err)
		}
		open, err := s.OpenWindows(ctx, "seoul")
		if err != nil {
			t.Fatal(err)
		}
		assertWindows(t, open, []state.Window{w2})
		// After the restart a third cause, then the close.
		m2 := media
		m2.To = thumb.From
		w3 := w2
		w3.Causes = []state.Cause{l2, m2, thumb}
		wc := w3
		wc.End, wc.LastIn = at(50), at(49)
		wc.Causes = []state.Cause{l2, m2, {Step: thumb.Step, Error: thumb.Error, From: thumb.From, To: at(50)}}
		// An open with several causes at once (they changed before
		// down_after was reached) stores them all.
		k2 := key
		k2.Function = ""
		v := state.Window{Key: k2, Kind: state.KindDown, Start: at(10), Confirmed: at(12), CauseStep: login.Step, Error: login.Error,
			Causes: []state.Cause{l2, media}}
		if err := s.AppendEvents(ctx, []state.Event{{Op: state.OpCause, Window: w3}, {Op: state.OpClose, Window: wc}, {Op: state.OpOpen, Window: v}}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Windows(ctx, Query{From: t0, To: at(60)})
		if err != nil {
			t.Fatal(err)
		}
		assertWindows(t, got, []state.Window{v, wc})
		// The close settled the closed window's cause rows too: only the
		// flow window is still open.
		open, err = s.OpenWindows(ctx, "seoul")
		if err != nil {
			t.Fatal(err)
		}
		assertWindows(t, open, []state.Window{v})
		// A cause event without a cause is refused.
		bad := w
		bad.Causes = nil
		if err := s.AppendEvents(ctx, []state.Event{{Op: state.OpCause, Window: bad}}); err == nil {
			t.Error("a cause event without a cause was stored")
		}
	})

	t.Run("last runs and coverage", func(t *testing.T) {
		s := open(t)
		var runs []probe.Run
		// f at seoul every minute from 00:00:30 to 02:59:30; g at seoul only in
		// the first half hour; f at busan once.
		for i := 0; i < 180; i++ {
			at := t0.Add(time.Duration(i)*time.Minute + 30*time.Second)
			runs = append(runs, mkRun("f", "seoul", at, -1, time.Millisecond))
			if i < 30 {
				runs = append(runs, mkRun("g", "seoul", at, 0, time.Millisecond))
			}
		}
		runs = append(runs, mkRun("f", "busan", t0.Add(5*time.Hour), -1, time.Millisecond))
		if err := s.AppendRuns(ctx, runs); err != nil {
			t.Fatal(err)
		}
		last, err := s.LastRuns(ctx, "seoul")
		if err != nil {
			t.Fatal(err)
		}
		wantLast := map[string]time.Time{"f": t0.Add(179*time.Minute + 30*time.Second), "g": t0.Add(29*time.Minute + 30*time.Second)}
		if len(last) != 2 || !last["f"].Equal(wantLast["f"]) || !last["g"].Equal(wantLast["g"]) {
			t.Errorf("LastRuns = %v, want %v", last, wantLast)
		}
		if none, err := s.LastRuns(ctx, "nowhere"); err != nil || len(none) != 0 {
			t.Errorf("LastRuns(nowhere) = %v, %v", none, err)
		}
		tests := []struct {
			name string
			q    Query
			want []Span
		}{
			{"hour aligned", Query{From: t0, To: t0.Add(3 * time.Hour), Location: "seoul"}, []Span{
				{Flow: "f", Service: "messaging", Location: "seoul", First: t0.Add(30 * time.Second), Last: wantLast["f"], Runs: 180},
				{Flow: "g", Service: "messaging", Location: "seoul", First: t0.Add(30 * time.Second), Last: wantLast["g"], Runs: 30},
			}},
			{"unaligned edges", Query{From: t0.Add(10 * time.Minute), To: t0.Add(2*time.Hour + 5*time.Minute), Flows: []string{"f"}}, []Span{
				{Flow: "f", Service: "messaging", Location: "seoul", First: t0.Add(10*time.Minute + 30*time.Second), Last: t0.Add(2*time.Hour + 4*time.Minute + 30*time.Second), Runs: 115},
			}},
			{"inside one hour", Query{From: t0.Add(10 * time.Minute), To: t0.Add(20 * time.Minute), Flows: []string{"g"}}, []Span{
				{Flow: "g", Service: "messaging", Location: "seoul", First: t0.Add(10*time.Minute + 30*time.Second), Last: t0.Add(19*time.Minute + 30*time.Second), Runs: 10},
			}},
			{"all locations", Query{From: t0, To: t0.Add(6 * time.Hour), Flows: []string{"f"}}, []Span{
				{Flow: "f", Service: "messaging", Location: "busan", First: t0.Add(5 * time.Hour), Last: t0.Add(5 * time.Hour), Runs: 1},
				{Flow: "f", Service: "messaging", Location: "seoul", First: t0.Add(30 * time.Second), Last: wantLast["f"], Runs: 180},
			}},
			{"nothing", Query{From: t0.Add(10 * time.Hour), To: t0.Add(11 * time.Hour)}, []Span{}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.Coverage(ctx, tc.q)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tc.want) {
					t.Fatalf("got %+v, want %+v", got, tc.want)
				}
				for i := range got {
					g, w := got[i], tc.want[i]
					if g.Flow != w.Flow || g.Service != w.Service || g.Location != w.Location || !g.First.Equal(w.First) || !g.Last.Equal(w.Last) || g.Runs != w.Runs {
						t.Errorf("span %d = %+v, want %+v", i, g, w)
					}
				}
			})
		}
	})

	t.Run("prune keeps rollups and events", func(t *testing.T) {
		s := open(t)
		var runs []probe.Run
		for i := 0; i < 50; i++ {
			runs = append(runs, mkRun("f", "seoul", t0.Add(time.Duration(i)*time.Minute), -1, time.Millisecond))
		}
		if err := s.AppendRuns(ctx, runs); err != nil {
			t.Fatal(err)
		}
		w := state.Window{Key: state.Key{Flow: "f", Location: "seoul"}, Kind: state.KindDown, Start: t0, End: t0.Add(time.Minute), Confirmed: t0}
		if err := s.AppendEvents(ctx, []state.Event{{Op: state.OpClose, Window: w}}); err != nil {
			t.Fatal(err)
		}
		before, err := s.Rollups(ctx, Minute, Query{})
		if err != nil {
			t.Fatal(err)
		}
		cutoff := t0.Add(30 * time.Minute)
		steps := []struct {
			batch, want int
		}{{12, 12}, {12, 12}, {12, 6}, {12, 0}}
		for _, st := range steps {
			n, err := s.Prune(ctx, Cutoffs{Runs: cutoff}, st.batch)
			if err != nil {
				t.Fatal(err)
			}
			if n != st.want {
				t.Errorf("Prune(batch %d) = %d, want %d", st.batch, n, st.want)
			}
		}
		left, err := s.Runs(ctx, Query{})
		if err != nil {
			t.Fatal(err)
		}
		if len(left) != 20 || !left[0].Start.Equal(cutoff) || len(left[0].Steps) != 3 {
			t.Errorf("after prune: %d runs from %v, want 20 from %v with steps", len(left), left[0].Start, cutoff)
		}
		after, err := s.Rollups(ctx, Minute, Query{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(before, after) {
			t.Errorf("rollups changed by prune: %d rows before, %d after", len(before), len(after))
		}
		ws, err := s.Windows(ctx, Query{})
		if err != nil || len(ws) != 1 {
			t.Errorf("windows after prune: %v, %v", ws, err)
		}
		if err := s.Ping(ctx); err != nil {
			t.Error(err)
		}
	})
}

func assertWindows(t *testing.T, got, want []state.Window) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d windows %+v, want %d %+v", len(got), got, len(want), want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if !g.Start.Equal(w.Start) || !g.End.Equal(w.End) || !g.Confirmed.Equal(w.Confirmed) {
			t.Errorf("window %d times %v..%v (confirmed %v), want %v..%v (%v)", i, g.Start, g.End, g.Confirmed, w.Start, w.End, w.Confirmed)
		}
		if !g.LastBefore.Equal(w.LastBefore) || !g.LastIn.Equal(w.LastIn) {
			t.Errorf("window %d edge runs %v, %v, want %v, %v", i, g.LastBefore, g.LastIn, w.LastBefore, w.LastIn)
		}
		if gc, wc := causesOf(g), causesOf(w); !sameCauses(gc, wc) {
			t.Errorf("window %d causes %+v, want %+v", i, gc, wc)
		}
		g.Start, g.End, g.Confirmed, g.LastBefore, g.LastIn, g.Causes = w.Start, w.End, w.Confirmed, w.LastBefore, w.LastIn, w.Causes
		if !reflect.DeepEqual(g, w) {
			t.Errorf("window %d = %+v, want %+v", i, g, w)
		}
	}
}

// causesOf is a window's causes; a down or degraded window that lists none
// has its first cause for its whole span.
func causesOf(w state.Window) []state.Cause {
	if len(w.Causes) > 0 || w.Kind == state.KindUnknown {
		return w.Causes
	}
	return []state.Cause{{Step: w.CauseStep, Error: w.Error, From: w.Start, To: w.End}}
}

func sameCauses(a, b []state.Cause) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Step != b[i].Step || a[i].Error != b[i].Error || !a[i].From.Equal(b[i].From) || !a[i].To.Equal(b[i].To) {
			return false
		}
	}
	return true
}

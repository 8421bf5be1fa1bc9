package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
)

// fakeGOGC is the process's GOGC for gcPhases in tests.
type fakeGOGC struct {
	mu  sync.Mutex
	cur int
}

func (f *fakeGOGC) set(p int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.cur
	f.cur = p
	return old
}

func (f *fakeGOGC) get() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cur
}

// Heavy phases run at heavyGCPercent, or lower if GOGC already is (or off),
// and GOGC is what it was once the last of them has ended, whatever the
// order they end in; an end called twice ends one phase.
func TestGCPhases(t *testing.T) {
	const p = heavyGCPercent
	// Steps: "b" begins a phase, "eN" ends the N-th begun (0-based).
	for _, tt := range []struct {
		name   string
		before int
		steps  []string
		want   []int // GOGC after each step
	}{
		{"one", 100, []string{"b", "e0"}, []int{p, 100}},
		{"from 400", 400, []string{"b", "e0"}, []int{p, 400}},
		{"lower already", p - 5, []string{"b", "e0"}, []int{p - 5, p - 5}},
		{"off", -1, []string{"b", "e0"}, []int{-1, -1}},
		{"nested", 100, []string{"b", "b", "e1", "e0"}, []int{p, p, p, 100}},
		{"overlapping", 100, []string{"b", "b", "e0", "e1"}, []int{p, p, p, 100}},
		{"end twice", 100, []string{"b", "b", "e0", "e0", "e1"}, []int{p, p, p, p, 100}},
		{"again after", 200, []string{"b", "e0", "b", "e1"}, []int{p, 200, p, 200}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeGOGC{cur: tt.before}
			g := &gcPhases{percent: p, set: f.set}
			playPhases(t, g, f, tt.steps, tt.want)
		})
	}
}

// Concurrent phases (a reload during a report build) leave GOGC lowered
// while any runs and put the original back after the last (run with -race).
func TestGCPhasesConcurrent(t *testing.T) {
	f := &fakeGOGC{cur: 100}
	g := &gcPhases{percent: heavyGCPercent, set: f.set}
	outer := g.begin()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for range 100 {
				end := g.begin()
				if got := f.get(); got != heavyGCPercent {
					t.Errorf("GOGC %d during a phase, want %d", got, heavyGCPercent)
				}
				end()
			}
		})
	}
	wg.Wait()
	if got := f.get(); got != heavyGCPercent {
		t.Errorf("GOGC %d while the outer phase runs, want %d", got, heavyGCPercent)
	}
	outer()
	if got := f.get(); got != 100 {
		t.Errorf("GOGC %d after every phase, want 100", got)
	}
}

// newGCPhases sets the process's GOGC, smallHeavyGCPercent on a test
// binary's heap (a few MB live).
func TestGCPhasesRuntime(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	runtime.GC()
	if live := liveHeap(); live > smallHeap {
		t.Skipf("%d bytes live, more than smallHeap", live)
	}
	end := newGCPhases(heavyGCPercent).begin()
	during := debug.SetGCPercent(smallHeavyGCPercent)
	end()
	if after := debug.SetGCPercent(100); during != smallHeavyGCPercent || after != 100 {
		t.Errorf("GOGC %d during a phase and %d after, want %d and 100", during, after, smallHeavyGCPercent)
	}
}

// A heavy phase that begins on a small heap (at most smallHeap live) runs
// at smallHeavyGCPercent, below the steadyGCPercent such a daemon has
// between phases; on a larger one at heavyGCPercent. The heap is read as
// the first of phases running at once begins; overlaps go to
// overlapGCPercent at most, a GOGC already lower (or off) stays, and what
// GOGC was comes back after the last.
func TestGCPhasesSmallHeap(t *testing.T) {
	const p, s, o = heavyGCPercent, smallHeavyGCPercent, overlapGCPercent
	for _, tt := range []struct {
		name   string
		before int
		live   []uint64 // the heap each "b" finds live
		steps  []string
		want   []int // GOGC after each step
	}{
		{"small", steadyGCPercent, []uint64{5 << 20}, []string{"b", "e0"}, []int{s, steadyGCPercent}},
		{"at the bound", steadyGCPercent, []uint64{smallHeap}, []string{"b", "e0"}, []int{s, steadyGCPercent}},
		{"over the bound", 100, []uint64{smallHeap + 1}, []string{"b", "e0"}, []int{p, 100}},
		{"large", 100, []uint64{190 << 20}, []string{"b", "e0"}, []int{p, 100}},
		{"small from 100", 100, []uint64{5 << 20}, []string{"b", "e0"}, []int{s, 100}},
		{"lower already", 10, []uint64{5 << 20}, []string{"b", "e0"}, []int{10, 10}},
		{"off", -1, []uint64{5 << 20}, []string{"b", "e0"}, []int{-1, -1}},
		{"overlap small", steadyGCPercent, []uint64{5 << 20, 30 << 20}, []string{"b", "b", "e0", "e1"}, []int{s, min(s, o), s, steadyGCPercent}},
		{"overlap large", 100, []uint64{190 << 20, 5 << 20}, []string{"b", "b", "e1", "e0"}, []int{p, o, p, 100}},
		{"grown between", steadyGCPercent, []uint64{5 << 20, 40 << 20}, []string{"b", "e0", "b", "e1"}, []int{s, steadyGCPercent, p, steadyGCPercent}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeGOGC{cur: tt.before}
			g := newGCPhases(p)
			g.set = f.set
			reads := 0
			g.live = func() uint64 {
				if reads >= len(tt.live) {
					t.Fatalf("heap read %d times, want at most %d", reads+1, len(tt.live))
				}
				reads++
				return tt.live[reads-1]
			}
			playPhases(t, g, f, tt.steps, tt.want)
		})
	}
}

// While heavy phases overlap (a SIGHUP reload reading its file beside a
// report build in the making), GOGC is overlapGCPercent, back to
// heavyGCPercent when one is left, to what it was after the last; never
// above what it was before the first. newGCPhases lowers it so.
func TestGCPhasesOverlap(t *testing.T) {
	const p, o = heavyGCPercent, overlapGCPercent
	for _, tt := range []struct {
		name   string
		before int
		steps  []string
		want   []int // GOGC after each step
	}{
		{"one", 100, []string{"b", "e0"}, []int{p, 100}},
		{"nested", 100, []string{"b", "b", "e1", "e0"}, []int{p, o, p, 100}},
		{"overlapping", 100, []string{"b", "b", "e0", "e1"}, []int{p, o, p, 100}},
		{"three", 100, []string{"b", "b", "b", "e0", "e2", "e1"}, []int{p, o, o, o, p, 100}},
		{"end twice", 100, []string{"b", "b", "e0", "e0", "e1"}, []int{p, o, p, p, 100}},
		{"between", o + 5, []string{"b", "b", "e0", "e1"}, []int{o + 5, o, o + 5, o + 5}},
		{"lower already", o - 5, []string{"b", "b", "e0", "e1"}, []int{o - 5, o - 5, o - 5, o - 5}},
		{"off", -1, []string{"b", "b", "e0", "e1"}, []int{-1, -1, -1, -1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeGOGC{cur: tt.before}
			g := newGCPhases(p)
			g.set = f.set
			g.live = func() uint64 { return 190 << 20 } // a large heap (TestGCPhasesSmallHeap: a small one)
			playPhases(t, g, f, tt.steps, tt.want)
		})
	}
}

// playPhases plays steps on g and checks f's GOGC after each against want.
func playPhases(t *testing.T, g *gcPhases, f *fakeGOGC, steps []string, want []int) {
	t.Helper()
	runPhases(g, steps, func(i int) {
		if got := f.get(); got != want[i] {
			t.Errorf("after %v: GOGC %d, want %d", steps[:i+1], got, want[i])
		}
	})
}

// runPhases plays steps on g ("b" begins a phase, "eN" ends the N-th
// begun) and calls after with each step's index once it is played.
func runPhases(g *gcPhases, steps []string, after func(i int)) {
	var ends []func()
	for i, s := range steps {
		if s == "b" {
			ends = append(ends, g.begin())
		} else {
			ends[s[1]-'0']()
		}
		after(i)
	}
}

// idle is called once each time the last phase running ends (run gives the
// binary's mapped code back then, dropText), never while one still runs,
// and not for an end called twice.
func TestGCPhasesIdle(t *testing.T) {
	// Steps as TestGCPhases'; want: the idle calls after each step.
	for _, tt := range []struct {
		name  string
		steps []string
		want  []int
	}{
		{"one", []string{"b", "e0"}, []int{0, 1}},
		{"nested", []string{"b", "b", "e1", "e0"}, []int{0, 0, 0, 1}},
		{"overlapping", []string{"b", "b", "e0", "e1"}, []int{0, 0, 0, 1}},
		{"end twice", []string{"b", "e0", "e0"}, []int{0, 1, 1}},
		{"again after", []string{"b", "e0", "b", "e1"}, []int{0, 1, 1, 2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeGOGC{cur: 100}
			calls := 0
			g := &gcPhases{percent: heavyGCPercent, set: f.set, idle: func() { calls++ }}
			runPhases(g, tt.steps, func(i int) {
				if calls != tt.want[i] {
					t.Fatalf("after step %d (%s): idle called %d times, want %d", i, tt.steps[i], calls, tt.want[i])
				}
			})
		})
	}
}

// The binary's pages are dropped as the first of the heavy phases running
// at once begins, and, after the heap's free pages are returned, again as
// the last ends (phaseHooks).
func TestGCPhasesHooks(t *testing.T) {
	for _, tt := range []struct {
		name  string
		steps []string
		want  []string // what the hooks did by each step
	}{
		{"one", []string{"b", "e0"}, []string{"drop", "drop free drop"}},
		{"nested", []string{"b", "b", "e1", "e0"}, []string{"drop", "drop", "drop", "drop free drop"}},
		{"overlapping", []string{"b", "b", "e0", "e1"}, []string{"drop", "drop", "drop", "drop free drop"}},
		{"end twice", []string{"b", "e0", "e0"}, []string{"drop", "drop free drop", "drop free drop"}},
		{"again after", []string{"b", "e0", "b", "e1"}, []string{"drop", "drop free drop", "drop free drop drop", "drop free drop drop free drop"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeGOGC{cur: 100}
			var did []string
			g := &gcPhases{percent: heavyGCPercent, set: f.set}
			g.busy, g.idle = phaseHooks(func() { did = append(did, "free") }, func() { did = append(did, "drop") })
			runPhases(g, tt.steps, func(i int) {
				if got := strings.Join(did, " "); got != tt.want[i] {
					t.Fatalf("after step %d (%s): hooks did %q, want %q", i, tt.steps[i], got, tt.want[i])
				}
			})
		})
	}
}

// Between heavy phases the daemon runs at steadyGCPercent when the heap
// live after the config's load is small, unless the GOGC environment
// variable is set: then the runtime's reading of it stands, whatever it says.
func TestSteadyGC(t *testing.T) {
	for _, tc := range []struct {
		env  string
		live uint64
		want int // GOGC after steadyGC; 100 is what the fake starts at
	}{
		{"", 1 << 20, steadyGCPercent},
		{"", smallHeap, steadyGCPercent},
		{"", smallHeap + 1, 100},
		{"", 200 << 20, 100},
		{"100", 1 << 20, 100},
		{"200", 1 << 20, 100},
		{"off", 1 << 20, 100},
		{"25", 1 << 20, 100},
	} {
		t.Run(fmt.Sprintf("GOGC=%s,live=%d", tc.env, tc.live), func(t *testing.T) {
			f := &fakeGOGC{cur: 100}
			steadyGC(func(k string) string {
				if k != "GOGC" {
					t.Errorf("read %q, want GOGC", k)
				}
				return tc.env
			}, f.set, tc.live)
			if got := f.get(); got != tc.want {
				t.Errorf("GOGC %d after steadyGC with GOGC=%q in the environment and %d bytes live, want %d", got, tc.env, tc.live, tc.want)
			}
		})
	}
}

// liveHeap reads the runtime's live heap: some, in a test binary.
func TestLiveHeap(t *testing.T) {
	keep := make([]byte, 4<<20)
	runtime.GC()
	if got := liveHeap(); got < 4<<20 {
		t.Errorf("liveHeap %d bytes with 4 MiB held, want at least that", got)
	}
	runtime.KeepAlive(keep)
}

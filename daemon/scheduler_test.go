package daemon

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// fireLog records the fake-clock times at which the scheduler called fire.
type fireLog struct {
	fc *clockwork.FakeClock
	mu sync.Mutex
	at map[string][]time.Time
}

func (l *fireLog) fire(fs *flowState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.at[fs.name] = append(l.at[fs.name], l.fc.Now())
}

func (l *fireLog) times(name string) []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.at[name])
}

// armed waits until the scheduler's n timers are set on the fake clock (a
// job is re-armed asynchronously after its timer fires).
func armed(t *testing.T, fc *clockwork.FakeClock, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := fc.BlockUntilContext(ctx, n); err != nil {
		t.Fatalf("waiting for %d timers on the fake clock: %v", n, err)
	}
}

func newTestScheduler(t *testing.T, fc *clockwork.FakeClock, fire func(*flowState), timeout time.Duration) *scheduler {
	t.Helper()
	s, err := newScheduler(fc, fire, timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown() })
	return s
}

// TestSchedulerDueTimes: the first run at the anchor, or at the first
// anchor + k*interval from now on when the anchor has passed; then every
// interval on that grid; due times missed while the clock jumped are
// skipped, not caught up.
func TestSchedulerDueTimes(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const iv = 10 * time.Second
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	cases := []struct {
		name   string
		anchor time.Time
		steps  []time.Duration // clock moves; each is expected to end on a due time
		want   []time.Time
	}{
		{"anchor ahead", at(3 * time.Second), []time.Duration{3 * time.Second, iv, iv},
			[]time.Time{at(3 * time.Second), at(13 * time.Second), at(23 * time.Second)}},
		{"anchor now", t0, []time.Duration{0, iv},
			[]time.Time{t0, at(iv)}},
		{"anchor passed", at(-25 * time.Second), []time.Duration{5 * time.Second, iv},
			[]time.Time{at(5 * time.Second), at(15 * time.Second)}},
		// 1 s, then a jump over the due times at 11, 21 and 31 s to 36 s: one
		// run at the jump, the next at 41 s (the grid), not three at once.
		{"missed due times skipped", at(time.Second), []time.Duration{time.Second, 35 * time.Second, 5 * time.Second, iv},
			[]time.Time{at(time.Second), at(36 * time.Second), at(41 * time.Second), at(51 * time.Second)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fc := clockwork.NewFakeClockAt(t0)
			l := &fireLog{fc: fc, at: map[string][]time.Time{}}
			s := newTestScheduler(t, fc, l.fire, time.Second)
			if _, err := s.add(&flowState{name: "f"}, tc.anchor, iv); err != nil {
				t.Fatal(err)
			}
			s.Start()
			for i, step := range tc.steps {
				armed(t, fc, 1)
				fc.Advance(step)
				waitFor(t, "fire", func() bool { return len(l.times("f")) >= i+1 })
			}
			armed(t, fc, 1)
			if got := l.times("f"); !slices.Equal(got, tc.want) {
				t.Errorf("fired at %v, want %v", got, tc.want)
			}
		})
	}
}

// TestSchedulerLongRunDoesNotDelay: a fire call still in progress does not
// hold the next due time back (fire itself skips overlapping runs).
func TestSchedulerLongRunDoesNotDelay(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const iv = 10 * time.Second
	fc := clockwork.NewFakeClockAt(t0)
	release := make(chan struct{})
	var calls, active, most atomic.Int32
	fire := func(*flowState) {
		calls.Add(1)
		n := active.Add(1)
		defer active.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
	}
	s := newTestScheduler(t, fc, fire, 5*time.Second)
	if _, err := s.add(&flowState{name: "slow"}, t0.Add(iv), iv); err != nil {
		t.Fatal(err)
	}
	s.Start()
	for i := range int32(3) {
		armed(t, fc, 1)
		fc.Advance(iv)
		waitFor(t, "a fire call per due time", func() bool { return calls.Load() == i+1 })
	}
	close(release)
	if got := most.Load(); got != 3 {
		t.Errorf("%d fire calls in progress at once, want 3 (one per due time, none held back)", got)
	}
}

// TestSchedulerRemove: a removed job fires no more; the others go on.
func TestSchedulerRemove(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const iv = 10 * time.Second
	fc := clockwork.NewFakeClockAt(t0)
	l := &fireLog{fc: fc, at: map[string][]time.Time{}}
	s := newTestScheduler(t, fc, l.fire, time.Second)
	a, err := s.add(&flowState{name: "a"}, t0.Add(iv), iv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.add(&flowState{name: "b"}, t0.Add(iv), iv); err != nil {
		t.Fatal(err)
	}
	s.Start()
	armed(t, fc, 2)
	if err := s.remove(a); err != nil {
		t.Fatal(err)
	}
	armed(t, fc, 1)
	var names []string
	for _, j := range s.Jobs() {
		names = append(names, j.Name())
	}
	if !slices.Equal(names, []string{"b"}) {
		t.Errorf("jobs after removing a: %v, want [b]", names)
	}
	for i := range 2 {
		fc.Advance(iv)
		waitFor(t, "b fires", func() bool { return len(l.times("b")) == i+1 })
		armed(t, fc, 1)
	}
	if got := l.times("a"); len(got) != 0 {
		t.Errorf("removed job fired at %v", got)
	}
	if err := s.remove(a); err != nil {
		t.Errorf("removing a job twice: %v", err)
	}
}

// TestSchedulerShutdown: Shutdown starts no fire call once it has begun and
// waits for the one in progress (returning nil when it returns in time, an
// error when it outlives the timeout); no job is left after it.
func TestSchedulerShutdown(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		release bool // the fire call in progress returns while Shutdown waits
		wantErr string
	}{
		{"fire call returns in time", 5 * time.Second, true, ""},
		{"fire call outlives the timeout", 50 * time.Millisecond, false, "still in progress"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			const iv = 10 * time.Second
			fc := clockwork.NewFakeClockAt(t0)
			release := make(chan struct{})
			var calls atomic.Int32
			var returned atomic.Bool
			fire := func(*flowState) {
				if calls.Add(1) == 1 {
					<-release
					returned.Store(true)
				}
			}
			s, err := newScheduler(fc, fire, tc.timeout)
			if err != nil {
				t.Fatal(err)
			}
			defer close(release)
			if _, err := s.add(&flowState{name: "f"}, t0.Add(iv), iv); err != nil {
				t.Fatal(err)
			}
			s.Start()
			armed(t, fc, 1)
			fc.Advance(iv)
			waitFor(t, "the first fire call", func() bool { return calls.Load() == 1 })

			done := make(chan error, 1)
			go func() { done <- s.Shutdown() }()
			waitFor(t, "Shutdown to begin", func() bool {
				s.mu.Lock()
				defer s.mu.Unlock()
				return s.stopped
			})
			// The next due time comes while Shutdown waits: gocron still
			// fires it (it is shut down last), the scheduler refuses it.
			armed(t, fc, 1)
			fc.Advance(iv)
			if tc.release {
				armed(t, fc, 1) // re-armed: the task is under way
				release <- struct{}{}
			}
			err = <-done
			if tc.wantErr == "" && err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("Shutdown: %v, want an error with %q", err, tc.wantErr)
			}
			if tc.release && !returned.Load() {
				t.Error("Shutdown returned before the fire call in progress")
			}
			if got := calls.Load(); got != 1 {
				t.Errorf("%d fire calls, want 1 (none once Shutdown began)", got)
			}
			if jobs := s.Jobs(); len(jobs) != 0 {
				t.Errorf("%d jobs after Shutdown", len(jobs))
			}
			if _, err := s.add(&flowState{name: "g"}, t0, iv); err == nil {
				t.Error("add after Shutdown: no error")
			}
		})
	}
}

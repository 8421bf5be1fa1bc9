package gocron

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"
)

// TestRunInFlightAtStopAndShutdown is the review of patches 3 and 5 (see
// PATCHES.md) in gocron's other modes: a run held either before it sends its
// start to the scheduler (in a BeforeJobRuns listener) or in its task, while
// the scheduler is stopped (StopJobs, then started again) or shut down. With
// patch 5 the start is one unbuffered message: it must not block forever once
// the scheduler's loop is stopped or gone, and with patch 3 the run's
// goroutine is the one that fetched the job: nothing may be left running once
// the held run is let go and the scheduler is shut down. Passes unpatched
// (upstream v2.21.2) too: a regression test, not a bug found.
func TestRunInFlightAtStopAndShutdown(t *testing.T) {
	modes := []struct {
		name   string
		sched  []SchedulerOption
		jobOpt []JobOption
	}{
		{name: "standard"},
		{name: "limit-reschedule", sched: []SchedulerOption{WithLimitConcurrentJobs(1, LimitModeReschedule)}},
		{name: "limit-wait", sched: []SchedulerOption{WithLimitConcurrentJobs(1, LimitModeWait)}},
		{name: "singleton-reschedule", jobOpt: []JobOption{WithSingletonMode(LimitModeReschedule)}},
		{name: "singleton-wait", jobOpt: []JobOption{WithSingletonMode(LimitModeWait)}},
		{name: "interval-from-completion", jobOpt: []JobOption{WithIntervalFromCompletion()}},
	}
	for _, m := range modes {
		for _, holdInHook := range []bool{false, true} {
			for _, shutdown := range []bool{false, true} {
				name := m.name + map[bool]string{false: "/task", true: "/hook"}[holdInHook] +
					map[bool]string{false: "/stop", true: "/shutdown"}[shutdown]
				t.Run(name, func(t *testing.T) {
					defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
					s, err := NewScheduler(append([]SchedulerOption{WithStopTimeout(50 * time.Millisecond)}, m.sched...)...)
					if err != nil {
						t.Fatal(err)
					}
					held, release := make(chan struct{}, 1), make(chan struct{})
					hold := func() {
						select {
						case held <- struct{}{}:
							<-release
						default: // a later run is not held
						}
					}
					task := hold
					opts := append([]JobOption{WithStartAt(WithStartImmediately())}, m.jobOpt...)
					if holdInHook {
						task = func() {}
						opts = append(opts, WithEventListeners(BeforeJobRuns(func(uuid.UUID, string) { hold() })))
					}
					if _, err := s.NewJob(DurationJob(time.Hour), NewTask(task), opts...); err != nil {
						t.Fatal(err)
					}
					s.Start()
					<-held // a run is in flight
					if shutdown {
						_ = s.Shutdown() // times out: the run is held
						close(release)
						return // goleak: the released run must end
					}
					_ = s.StopJobs()
					close(release)
					// The stopped scheduler's loop still answers. (Not started
					// again: a restart while a timed-out run still reads e.ctx
					// is a data race upstream v2.21.2 has too.)
					if got := len(s.Jobs()); got != 1 {
						t.Errorf("%d jobs after StopJobs, want 1", got)
					}
					if err := s.Shutdown(); err != nil {
						t.Errorf("Shutdown of a stopped scheduler: %v", err)
					}
				})
			}
		}
	}
}

// TestRecoveredPanicEndsTheRun: with patch 3 the task runs on the goroutine
// that fetched its job; a panic recovered by an AfterJobRunsWithPanic
// listener still ends the run (standardJobsWg done, so Shutdown does not time
// out) and the listener is called with it.
func TestRecoveredPanicEndsTheRun(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s, err := NewScheduler(WithStopTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	recovered := make(chan any, 1)
	_, err = s.NewJob(DurationJob(time.Hour), NewTask(func() { panic("boom") }),
		WithStartAt(WithStartImmediately()),
		WithEventListeners(AfterJobRunsWithPanic(func(_ uuid.UUID, _ string, v any) { recovered <- v })))
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if v := <-recovered; v != "boom" {
		t.Errorf("recovered %v, want boom", v)
	}
	if err := s.Shutdown(); err != nil {
		t.Errorf("Shutdown after a recovered panic: %v, want nil (the run ended)", err)
	}
}

// TestRunNowIsNotRescheduled: patch 5 sends reschedule only when the run came
// from its timer; a RunNow run leaves the job's one next run as it was and
// sets its last run, as upstream's completed message did. (Its start time is
// set before the task is called with the patch; upstream sent it on a
// buffered channel after the completed message, so it could lag the task.)
func TestRunNowIsNotRescheduled(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s, err := NewScheduler()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Shutdown() }()
	ran := make(chan struct{}, 1)
	j, err := s.NewJob(DurationJob(time.Hour), NewTask(func() { ran <- struct{}{} }))
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	next, _ := j.NextRun()
	if err := j.RunNow(); err != nil {
		t.Fatal(err)
	}
	<-ran
	in := requestJob(j.ID(), s.(*scheduler).jobOutRequestCh)
	if len(in.nextScheduled) != 1 || !in.nextScheduled[0].Equal(next) {
		t.Errorf("after RunNow next runs %v, want [%v]", in.nextScheduled, next)
	}
	if in.lastRun.IsZero() || in.lastRunStartedAt.IsZero() {
		t.Errorf("after RunNow last run %v, started %v, want both set", in.lastRun, in.lastRunStartedAt)
	}
}

// TestLimitedRunsRemovedAfterTheTask: patch 5 handles the completed message
// (which counts WithLimitedRuns' runs) with the start; the job must still be
// removed only once its task returned (upstream #925): the task sees its
// context live, and it is cancelled after.
func TestLimitedRunsRemovedAfterTheTask(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s, err := NewScheduler()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Shutdown() }()
	ctxs := make(chan context.Context, 1)
	_, err = s.NewJob(DurationJob(time.Hour), NewTask(func(ctx context.Context) {
		if ctx.Err() != nil {
			t.Errorf("task's context done while it runs: %v", ctx.Err())
		}
		ctxs <- ctx
	}), WithStartAt(WithStartImmediately()), WithLimitedRuns(1))
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	<-(<-ctxs).Done() // removed after its one run
	if got := len(s.Jobs()); got != 0 {
		t.Errorf("%d jobs after the one limited run, want 0", got)
	}
}

type flakyLeader struct{ calls atomic.Int64 }

func (f *flakyLeader) IsLeader(context.Context) error {
	if f.calls.Add(1) == 1 {
		return errors.New("not the leader yet")
	}
	return nil
}

type flakyLocker struct {
	calls    atomic.Int64
	unlocked chan struct{}
}

func (f *flakyLocker) Lock(context.Context, string) (Lock, error) {
	if f.calls.Add(1) == 1 {
		return nil, errors.New("locked elsewhere")
	}
	return f, nil
}

func (f *flakyLocker) Unlock(context.Context) error {
	select {
	case f.unlocked <- struct{}{}:
	default:
	}
	return nil
}

// TestDistributedSkipIsRescheduled: a run skipped by an elector or a locker
// (the paths patch 5 leaves on their own messages) is still rescheduled from
// its timer, so the job runs at a later due time; a locked run unlocks.
func TestDistributedSkipIsRescheduled(t *testing.T) {
	for _, name := range []string{"elector", "locker"} {
		t.Run(name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			locker := &flakyLocker{unlocked: make(chan struct{}, 1)}
			opt := WithDistributedLocker(locker)
			if name == "elector" {
				opt = WithDistributedElector(&flakyLeader{})
			}
			s, err := NewScheduler(opt)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = s.Shutdown() }()
			ran := make(chan struct{}, 1)
			_, err = s.NewJob(DurationJob(10*time.Millisecond), NewTask(func() {
				select {
				case ran <- struct{}{}:
				default:
				}
			}))
			if err != nil {
				t.Fatal(err)
			}
			s.Start()
			<-ran // the first due run was skipped, a later one ran
			if name == "locker" {
				<-locker.unlocked
			}
		})
	}
}

// TestRemoveJobWhileItsRunIsInFlight: a job removed while a run is held
// before its start message (patch 5) or in its task is not brought back by
// that run's reschedule, and the run ends once let go.
func TestRemoveJobWhileItsRunIsInFlight(t *testing.T) {
	for _, holdInHook := range []bool{false, true} {
		t.Run(map[bool]string{false: "task", true: "hook"}[holdInHook], func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			s, err := NewScheduler()
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = s.Shutdown() }()
			held, release, ended := make(chan struct{}), make(chan struct{}), make(chan struct{})
			hold := func() { held <- struct{}{}; <-release }
			task := func() { hold(); close(ended) }
			opts := []JobOption{WithStartAt(WithStartImmediately())}
			if holdInHook {
				task = func() { close(ended) }
				opts = append(opts, WithEventListeners(BeforeJobRuns(func(uuid.UUID, string) { hold() })))
			}
			j, err := s.NewJob(DurationJob(time.Hour), NewTask(task), opts...)
			if err != nil {
				t.Fatal(err)
			}
			s.Start()
			<-held
			if err := s.RemoveJob(j.ID()); err != nil {
				t.Fatal(err)
			}
			close(release)
			<-ended
			if got := len(s.Jobs()); got != 0 {
				t.Errorf("%d jobs after RemoveJob and the run's end, want 0", got)
			}
		})
	}
}
